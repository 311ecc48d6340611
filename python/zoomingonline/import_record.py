"""The record import keeps beside each local store it makes, and how it recognises them.

Beside ``NAME.zarr`` import writes ``.NAME.zarr.import.json``: the fingerprint of the
input and of the conversion options (:func:`fingerprint`) and the input's path. A re-run
reuses a store whose fingerprint matches, and import replaces or deletes a local store
only when :func:`made_for` says it made it from that very input.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from zoomingonline.store import FORMAT_VERSION
from zoomingonline.stores import is_own_store, partial_path

__all__ = ["fingerprint", "made_for", "read_record", "record_path", "write_record"]


def fingerprint(src: Path, options: Mapping[str, Any]) -> str:
    """Size and mtime of the input, and the conversion options: what makes the store.

    The compressor threads (``jobs``) do not change the store and are left out.
    """
    st = src.stat()
    opts = json.dumps(
        {k: v for k, v in sorted(options.items()) if k != "jobs"}, sort_keys=True, default=str
    )
    digest = hashlib.sha256(opts.encode()).hexdigest()[:16]
    return f"v{FORMAT_VERSION}-{st.st_size}-{st.st_mtime_ns}-{digest}"


def record_path(store: Path) -> Path:
    """Where import's record of ``store`` lives: ``.NAME.zarr.import.json`` beside it."""
    return store.with_name(f".{store.name}.import.json")


def read_record(store: Path) -> dict[str, Any] | None:
    """Import's record beside ``store`` (a regular file holding a JSON object), if any."""
    side = record_path(store)
    if side.is_symlink() or not side.is_file():
        return None
    try:
        record = json.loads(side.read_text())
    except (OSError, ValueError):
        return {}  # there, but unreadable: it names no input
    return record if isinstance(record, dict) else {}


def write_record(store: Path, record: Mapping[str, Any]) -> None:
    """Write import's record beside ``store`` whole or not at all (temporary name, rename)."""
    side = record_path(store)
    tmp = partial_path(side)
    tmp.write_text(json.dumps(record))
    tmp.replace(side)


def made_for(store: Path, record: Mapping[str, Any], src: Path) -> bool:
    """Whether ``store`` is this package's store and ``record`` says import made it from ``src``."""
    if not is_own_store(store):
        return False
    try:
        return Path(record["input"]).resolve() == src.resolve()
    except (KeyError, TypeError, OSError, ValueError):
        return False
