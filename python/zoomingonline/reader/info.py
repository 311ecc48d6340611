"""What a store holds, as one JSON-ready dictionary (``zoomingonline info``)."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from zoomingonline.stores import served_url, viewer_url

if TYPE_CHECKING:
    from zoomingonline.reader.recording import Recording

__all__ = ["describe", "store_size"]

log = logging.getLogger(__name__)


def _codec(array: Any) -> dict[str, Any] | None:
    compressor = getattr(array.metadata, "compressor", None)
    return None if compressor is None else dict(compressor.get_config())


def _node(path: str, array: Any) -> dict[str, Any]:
    shape = [int(x) for x in array.shape]
    chunks = [int(x) for x in array.chunks]
    per_segment = -(-shape[-1] // chunks[-1])
    return {
        "path": path,
        "shape": shape,
        "chunks": chunks,
        "dtype": str(array.dtype),
        "codec": _codec(array),
        "chunks_per_segment": per_segment,
    }


def store_size(rec: Recording) -> tuple[int, int] | None:
    """Bytes and objects of the store on disk or in the bucket; None over plain HTTP."""
    loc = rec.location
    if loc.kind == "local" and loc.path is not None:
        total = files = 0
        for folder, _, names in os.walk(loc.path):
            for name in names:
                try:
                    total += os.stat(os.path.join(folder, name)).st_size  # noqa: PTH116, PTH118
                except OSError:
                    continue
                files += 1
        return total, files
    if loc.kind == "s3":
        import obstore

        total = files = 0
        try:
            for batch in obstore.list(loc.store.store, chunk_size=1000):
                for meta in batch:
                    total += int(meta["size"])
                    files += 1
        except Exception as exc:  # noqa: BLE001 - a listing refused is not fatal for info
            log.info("cannot list %s: %s", loc.text, exc)
            return None
        return total, files
    return None


def describe(rec: Recording) -> dict[str, Any]:
    """Shape, dtype, chunks, codec, levels (coarsest first), size, attributes, viewer link.

    The keys ``shape``, ``dtype``, ``chunks``, ``levels`` (each with ``path``, ``bin`` and
    ``bins``) and ``attributes`` are what scripts can rely on.
    """
    loc = rec.location
    tree = [_node("raw", rec.raw)]
    levels = []
    for level in rec.levels:
        array = rec._array(level.path)
        tree.append(_node(level.path, array))
        levels.append({**level.as_dict(), "chunks_per_segment": tree[-1]["chunks_per_segment"]})
    size = store_size(rec)
    if loc.http_url is not None:
        viewer: str | None = viewer_url(loc.http_url)
        serve = None
    else:
        viewer = viewer_url(served_url(loc.name))
        serve = f"zoomingonline serve {loc.path.parent if loc.path else '.'}"
    return {
        "location": loc.text,
        "kind": loc.kind,
        "shape": list(rec.shape),
        "dtype": str(rec.dtype),
        "chunks": [int(x) for x in rec.raw.chunks],
        "codec": _codec(rec.raw),
        "horiz_interval": rec.horiz_interval,
        "duration": rec.duration,
        "format_version": rec.own.get("format_version"),
        "levels": levels,
        "tree": tree,
        "size_bytes": None if size is None else size[0],
        "objects": None if size is None else size[1],
        "attributes": rec.attributes,
        "viewer": viewer,
        "serve": serve,
    }
