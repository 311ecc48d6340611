"""Finding and recognising stores on disk: the facts that serve, upload and import share.

A store is a folder holding a Zarr group: ``.zgroup`` (Zarr format 2, what
:mod:`zoomingonline.store` writes, see ``docs/format.md``) or ``zarr.json`` (format 3).
A store this package wrote also carries the ``zoomingonline`` root attribute. Stores being
written live under a hidden temporary name (``.NAME.partial-XXXXXXXX``) beside their
target until they are complete.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path, PurePosixPath
from urllib.parse import quote

__all__ = [
    "DEFAULT_VIEWER",
    "METADATA_NAMES",
    "PARTIAL_TAG",
    "ROOT_MARKERS",
    "SERVE_HOST",
    "SERVE_PORT",
    "find_stores",
    "is_own_store",
    "is_partial_name",
    "is_store",
    "partial_path",
    "served_url",
    "viewer_url",
]

log = logging.getLogger(__name__)

#: Zarr's own metadata file names (formats 2 and 3).
METADATA_NAMES = frozenset((".zgroup", ".zarray", ".zattrs", ".zmetadata", "zarr.json"))
#: The files that make a folder the root of a store, in the order they are looked for.
ROOT_MARKERS = (".zgroup", "zarr.json")
#: What marks the temporary name of a store (or file) being written.
PARTIAL_TAG = ".partial-"
#: Where ``zoomingonline serve`` listens by default; the printed viewer links use it.
SERVE_HOST = "127.0.0.1"
SERVE_PORT = 8000
#: The deployed ZoomingOnline viewer; a store opens as ``<viewer>?data=<store url>``.
DEFAULT_VIEWER = "https://datamedsci.github.io/ZoomingOnline/"
#: How deep and how wide :func:`find_stores` looks.
SEARCH_DEPTH = 4
SEARCH_DIRS = 20_000


def is_store(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is the root folder of a Zarr store (format 2 or 3)."""
    p = Path(path)
    return any((p / name).is_file() for name in ROOT_MARKERS)


def is_own_store(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a store this package could have written.

    That is a real folder (not a symlink) holding a Zarr group whose root attributes carry
    the ``zoomingonline`` entry (format 2: ``.zgroup`` and ``.zattrs``; format 3: the
    group's ``zarr.json``).
    """
    p = Path(path)
    if p.is_symlink() or not p.is_dir():
        return False
    try:
        if (p / ".zgroup").is_file():
            attrs = json.loads((p / ".zattrs").read_bytes())
        elif (p / "zarr.json").is_file():
            meta = json.loads((p / "zarr.json").read_bytes())
            if not isinstance(meta, dict) or meta.get("node_type") != "group":
                return False
            attrs = meta.get("attributes", {})
        else:
            return False
    except (OSError, ValueError):
        return False
    return isinstance(attrs, dict) and isinstance(attrs.get("zoomingonline"), dict)


def is_partial_name(name: str) -> bool:
    """Whether a file or folder name is the temporary name of an output being written."""
    return name.startswith(".") and PARTIAL_TAG in name


def partial_path(target: str | os.PathLike[str]) -> Path:
    """A fresh temporary name beside ``target``: ``.NAME.partial-XXXXXXXX``."""
    t = Path(target)
    return t.parent / f".{t.name}{PARTIAL_TAG}{uuid.uuid4().hex[:8]}"


def find_stores(
    directory: str | os.PathLike[str],
    *,
    max_depth: int = SEARCH_DEPTH,
    max_dirs: int = SEARCH_DIRS,
) -> list[PurePosixPath]:
    """The stores under ``directory``, as paths relative to it, sorted.

    ``directory`` itself is the one result when it is a store. The search does not enter
    stores, hidden folders (such as partial stores) or symlinked folders, stops
    ``max_depth`` levels down, and gives up (with a warning) after ``max_dirs`` folders.
    """
    root = Path(directory)
    if is_store(root):
        return [PurePosixPath()]
    found: list[PurePosixPath] = []
    frontier = [(root, PurePosixPath())]
    opened = 0
    for _ in range(max_depth):
        deeper = []
        for folder, rel in frontier:
            opened += 1
            if opened > max_dirs:
                log.warning("stopped looking for stores after %d folders", max_dirs)
                return sorted(found)
            try:
                entries = list(os.scandir(folder))
            except OSError as exc:
                log.debug("cannot list %s: %s", folder, exc)
                continue
            for entry in entries:
                if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
                    continue
                child = Path(entry.path)
                if is_store(child):
                    found.append(rel / entry.name)
                else:
                    deeper.append((child, rel / entry.name))
        frontier = deeper
    return sorted(found)


def served_url(path: str, host: str = SERVE_HOST, port: int = SERVE_PORT) -> str:
    """The URL of ``path`` (relative to the served folder) on a local ``serve``."""
    return f"http://{host}:{port}/{quote(path.lstrip('/'))}"


def viewer_url(store_url: str, viewer: str = DEFAULT_VIEWER) -> str:
    """The viewer link that opens the store at ``store_url``."""
    return f"{viewer}?data={quote(store_url, safe=':/@')}"
