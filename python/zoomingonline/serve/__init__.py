"""``zoomingonline serve``: a concurrent HTTP server with CORS for stores on a local disk.

The hosted ZoomingOnline viewer opens ``<viewer>?data=http://127.0.0.1:8000/x.zarr`` and
reads the store with zarr.js in the browser: metadata files, then one chunk per request,
many at once. This package serves a folder for it with aiohttp: event loops (one per
worker process) that each hold many connections, so a slow or stalled client delays no
other request:

- CORS on every response, errors included (a missing chunk must reach the reader as a 404,
  which zarr.js turns into the fill value, not as a CORS failure); preflights answered.
- GET and HEAD with Range (206, 416), ETag and Last-Modified (304), the file's bytes as
  they are on disk (never re-compressed; large files with sendfile).
- Only regular files under the folder: ``..``, encoded separators, backslashes, NUL and
  symlinks that lead outside are refused (403 or 404); no listings unless asked.

aiohttp does the HTTP (parsing, keep-alive, timeouts, the event loop); the files are
answered here rather than by ``web.FileResponse``, which mishandles a few ranges
(``bytes=-0``, several ranges, other units), ignores an If-Range ETag, may send a ``.gz``
sibling instead of the file, and hops to a worker thread three times per request.

:func:`serve` runs until Ctrl-C; :func:`serve_in_thread` runs a server in the background
(tests, notebooks); :func:`create_app` builds an aiohttp application for other runners.

The modules:

- :mod:`zoomingonline.serve.http`: the decisions, pure functions without aiohttp (paths,
  content types, validators, conditional requests, ranges, preflights, listings);
- :mod:`zoomingonline.serve.handler`: the aiohttp handler and application;
- :mod:`zoomingonline.serve.runner`: sockets, worker processes, signals, :func:`serve`
  and :func:`serve_in_thread`.

Importing this package does not import aiohttp: that happens when a server or a handler
is made (``create_app`` and ``create_handler`` load the handler module on first use).

The package object is callable: ``zoomingonline.serve(...)`` is :func:`serve`. The name
``zoomingonline.serve`` is this package (Python binds a subpackage to its name in the
parent when it is imported, and ``import zoomingonline.serve.http`` needs it to be the
package), and ``zoomingonline`` has always offered ``zoomingonline.serve(folder)``; a
callable package gives both, whatever the order of imports.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from zoomingonline.serve.runner import (
    ACCESS_LOGGER,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_VIEWER,
    ServerInfo,
    StoreLink,
    auto_workers,
    find_stores,
    serve,
    serve_in_thread,
)

if TYPE_CHECKING:
    from zoomingonline.serve.handler import create_app, create_handler

__all__ = [
    "ACCESS_LOGGER",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "DEFAULT_VIEWER",
    "ServerInfo",
    "StoreLink",
    "auto_workers",
    "create_app",
    "create_handler",
    "find_stores",
    "serve",
    "serve_in_thread",
]

_FROM_HANDLER = frozenset({"create_app", "create_handler"})


def __getattr__(name: str) -> Any:
    """``create_app`` and ``create_handler``, whose module imports aiohttp, on first use."""
    if name in _FROM_HANDLER:
        from zoomingonline.serve.http import require_aiohttp

        require_aiohttp()
        return getattr(importlib.import_module("zoomingonline.serve.handler"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _FROM_HANDLER)


class _CallablePackage(types.ModuleType):
    """This package, callable as :func:`serve`."""

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        serve(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
