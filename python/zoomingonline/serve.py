"""``zoomingonline serve``: a concurrent HTTP server with CORS for stores on a local disk.

The hosted ZoomingOnline viewer opens ``<viewer>?data=http://127.0.0.1:8000/x.zarr`` and
reads the store with zarr.js in the browser: metadata files, then one chunk per request,
many at once. This module serves a folder for it with aiohttp: event loops (one per worker
process) that each hold many connections, so a slow or stalled client delays no other
request:

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
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import email.utils
import errno
import functools
import html
import json
import logging
import mimetypes
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.stores import DEFAULT_VIEWER, viewer_url

if TYPE_CHECKING:
    from aiohttp import web

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

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
#: The logger of the access log (one INFO record per request).
ACCESS_LOGGER = "zoomingonline.access"

#: Zarr metadata documents, sent as JSON; every other extension-less or numeric name (the
#: chunk keys ``0.0.0.1``, ``c/0/1``) is sent as bytes.
JSON_NAMES = frozenset({".zgroup", ".zarray", ".zattrs", ".zmetadata", "zarr.json"})
ALLOWED_METHODS = ("GET", "HEAD", "OPTIONS")
#: Headers a reader may send cross-origin when the preflight does not list its own.
ALLOWED_REQUEST_HEADERS = (
    "Range, If-None-Match, If-Modified-Since, If-Match, If-Unmodified-Since, If-Range, "
    "Cache-Control"
)
#: Response headers a cross-origin script may read (readers size files and check ranges).
EXPOSED_HEADERS = "Content-Length, Content-Range, ETag, Last-Modified, Accept-Ranges"
PREFLIGHT_MAX_AGE = 600
#: Seconds a shutdown waits for responses in flight (a stalled client must not hold it).
SHUTDOWN_TIMEOUT = 1.0
KEEPALIVE_TIMEOUT = 15.0
LISTEN_BACKLOG = 1024
#: Seconds between a worker's checks that its parent is still there.
ORPHAN_CHECK = 1.0
#: How deep :func:`find_stores` looks for stores, and how many folders it opens at most.
STORE_SEARCH_DEPTH = 4
STORE_SEARCH_DIRS = 20_000

_TOKEN_LIST = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*,\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*$")
#: Characters no path segment may hold (a drive letter would make a path absolute on Windows).
_FORBIDDEN_CHARS = "/\\\0" + (":" if os.name == "nt" else "")
_SINGLE_BYTE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$", re.ASCII | re.IGNORECASE)
#: Files up to this size are read and sent with their headers in one write; larger ones
#: go out with sendfile.
READ_LIMIT = 256 * 1024
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


@dataclass(frozen=True)
class StoreLink:
    """A store found under the served folder.

    Attributes
    ----------
    path : str
        The store's folder relative to the served one, with ``/`` separators (``.`` if the
        served folder is itself the store).
    url : str
        Where the store is served.
    viewer : str
        The viewer link that opens it.
    """

    path: str
    url: str
    viewer: str


@dataclass(frozen=True)
class ServerInfo:
    """A running server: where it listens and what it serves.

    Attributes
    ----------
    directory : Path
        The served folder, resolved.
    host : str
        The address it is bound to.
    port : int
        The port it listens on (the real one when 0 was asked for).
    url : str
        Base URL for a browser on this machine, ending with ``/``.
    stores : list of StoreLink
        The stores found under ``directory`` at start.
    workers : int
        Processes answering requests.
    """

    directory: Path
    host: str
    port: int
    url: str
    stores: list[StoreLink] = field(default_factory=list)
    workers: int = 1


def _require_aiohttp() -> None:
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        raise ZoomingOnlineError(
            "serving needs aiohttp, which is not installed: pip install 'zoomingonline[serve]'"
        ) from None


def _check_directory(directory: str | os.PathLike[str]) -> Path:
    path = Path(directory)
    try:
        root = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise ZoomingOnlineError(f"cannot serve {path}: no such folder") from None
    if not root.is_dir():
        raise ZoomingOnlineError(f"cannot serve {path}: not a folder")
    if not os.access(root, os.R_OK | os.X_OK):
        raise ZoomingOnlineError(f"cannot serve {path}: the folder is not readable")
    return root


# --------------------------------------------------------------------------------------------
# Stores
# --------------------------------------------------------------------------------------------


def _is_store(path: Path) -> bool:
    return (path / ".zgroup").is_file() or (path / "zarr.json").is_file()


def find_stores(
    directory: str | os.PathLike[str],
    base_url: str = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}/",
    viewer: str = DEFAULT_VIEWER,
    *,
    max_depth: int = STORE_SEARCH_DEPTH,
) -> list[StoreLink]:
    """The stores under ``directory``, with the URLs they are served at.

    A store is a folder holding ``.zgroup`` (Zarr format 2) or ``zarr.json`` (format 3).
    The search does not enter stores, hidden folders (such as the temporary ``.x.zarr.partial-*``
    of a conversion in progress) or symlinked folders, and stops ``max_depth`` levels down.

    Parameters
    ----------
    directory : path-like
        The served folder.
    base_url : str
        The URL of ``directory`` on the server.
    viewer : str
        Viewer base URL; a store opens as ``<viewer>?data=<store url>``.
    max_depth : int
        How many folder levels below ``directory`` to look into.

    Returns
    -------
    list of StoreLink
        Sorted by path.
    """
    root = Path(directory)
    base = base_url if base_url.endswith("/") else base_url + "/"

    def link(rel: PurePosixPath) -> StoreLink:
        if not rel.parts:
            return StoreLink(".", base, viewer_url(base, viewer))
        url = base + "/".join(quote(part) for part in rel.parts)
        return StoreLink(rel.as_posix(), url, viewer_url(url, viewer))

    if _is_store(root):
        return [link(PurePosixPath())]
    found: list[StoreLink] = []
    frontier = [(root, PurePosixPath())]
    opened = 0
    for _ in range(max_depth):
        deeper = []
        for folder, rel in frontier:
            opened += 1
            if opened > STORE_SEARCH_DIRS:
                log.warning("stopped looking for stores after %d folders", STORE_SEARCH_DIRS)
                return sorted(found, key=lambda s: s.path)
            try:
                entries = list(os.scandir(folder))
            except OSError as exc:
                log.debug("cannot list %s: %s", folder, exc)
                continue
            for entry in entries:
                if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
                    continue
                child = Path(entry.path)
                if _is_store(child):
                    found.append(link(rel / entry.name))
                else:
                    deeper.append((child, rel / entry.name))
        frontier = deeper
    return sorted(found, key=lambda s: s.path)


# --------------------------------------------------------------------------------------------
# Requests to files
# --------------------------------------------------------------------------------------------


def _split_path(raw_path: str) -> list[str] | None:
    """The decoded segments of a request path, or None if it must be refused.

    Each segment is percent-decoded on its own, so an encoded ``/`` (``%2F``) cannot join
    segments; ``.``/``..`` (plain or encoded), backslashes, NUL and undecodable bytes are
    refused rather than interpreted. Empty segments (``//``) are skipped, so a path never
    becomes absolute.
    """
    parts = []
    for segment in raw_path.split("/"):
        if not segment:
            continue
        try:
            name = unquote(segment, errors="strict")
        except UnicodeDecodeError:
            return None
        if name in (".", "..") or any(c in name for c in _FORBIDDEN_CHARS):
            return None
        parts.append(name)
    return parts


def _inside(root: str, real: str) -> bool:
    return real == root or real.startswith(root if root.endswith(os.sep) else root + os.sep)


def _locate(root: str, parts: list[str]) -> tuple[str, os.stat_result] | None:
    """The path under ``root`` that ``parts`` name and its stat, or None if there is none.

    Each component is checked with ``lstat``: as long as none is a symlink the path is
    under ``root`` by construction. A symlink is followed, and then the real path must
    still be ``root`` or below it: a link that leads outside is as good as missing.
    Strings and ``os`` calls, not ``Path``: this runs for every request.
    """
    path = root
    st = None
    try:
        for name in parts:
            path = os.path.join(path, name)  # noqa: PTH118
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                real = os.path.realpath(os.path.join(root, *parts), strict=True)  # noqa: PTH118
                if not _inside(root, real):
                    log.debug("refused /%s: it leads outside %s", "/".join(parts), root)
                    return None
                return real, os.stat(real)  # noqa: PTH116
        return path, st if st is not None else os.stat(root)  # noqa: PTH116
    except (OSError, RuntimeError, ValueError):
        return None


def _content_type(name: str) -> str:
    """The Content-Type of a file served under ``name``.

    Zarr metadata is JSON; chunk keys (no extension or a numeric one) are bytes, as is
    anything compressed, which is sent as it is, never with a Content-Encoding.
    """
    if name in JSON_NAMES:
        return "application/json"
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem or suffix.isdigit():
        return "application/octet-stream"
    guessed, encoding = mimetypes.guess_type(name, strict=False)
    if guessed is None or encoding is not None:
        return "application/octet-stream"
    return guessed


def _etag(st: os.stat_result) -> str:
    return f'"{st.st_mtime_ns:x}-{st.st_size:x}"'


@functools.lru_cache(maxsize=4096)
def _http_date(seconds: int) -> str:
    return email.utils.formatdate(seconds, usegmt=True)


def _parse_http_date(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return when.timestamp()


def _etag_matches(header: str, etag: str, *, weak: bool) -> bool:
    """Whether an If-Match (strong) or If-None-Match (weak) list names ``etag``."""
    for tag in (t.strip() for t in header.split(",")):
        if tag == "*":
            return True
        if tag.startswith("W/"):
            if weak and tag[2:] == etag:
                return True
        elif tag == etag:
            return True
    return False


def _if_range_holds(value: str, etag: str, mtime: int) -> bool:
    value = value.strip()
    if value.startswith(("W/", '"')):
        return value == etag  # a strong comparison: a weak tag never holds
    return _parse_http_date(value) == mtime


def _plan_response(
    method: str, headers: Mapping[str, str], st: os.stat_result
) -> tuple[int, int, int]:
    """The status of a GET or HEAD for a file, and the bytes to send: ``(status, start, count)``.

    Preconditions are evaluated in the order of RFC 9110 (13.2.2): If-Match, else
    If-Unmodified-Since (412); If-None-Match, else If-Modified-Since (304); then If-Range
    and Range. One byte range is honoured (``a-b``, ``a-``, ``-n``: 206, or 416 when it
    starts past the end or asks for the last 0 bytes); a server may ignore a Range header
    (RFC 9110, 14.2), and here other units, several ranges, malformed ones and a Range
    on HEAD are ignored: the whole file, 200.
    """
    size = st.st_size
    whole = (200, 0, size)
    etag = _etag(st)
    mtime = int(st.st_mtime)
    if (if_match := headers.get("If-Match")) is not None:
        if not _etag_matches(if_match, etag, weak=False):
            return (412, 0, 0)
    elif (since := _parse_http_date(headers.get("If-Unmodified-Since"))) is not None and (
        mtime > since
    ):
        return (412, 0, 0)
    if (if_none := headers.get("If-None-Match")) is not None:
        if _etag_matches(if_none, etag, weak=True):
            return (304, 0, 0)
    elif (since := _parse_http_date(headers.get("If-Modified-Since"))) is not None and (
        mtime <= since
    ):
        return (304, 0, 0)
    if method != "GET" or (spec := headers.get("Range")) is None:
        return whole
    if (if_range := headers.get("If-Range")) is not None and not _if_range_holds(
        if_range, etag, mtime
    ):
        return whole
    match = _SINGLE_BYTE_RANGE.match(spec.strip())
    if match is None:
        return whole
    first, last = match.groups()
    if first:
        start = int(first)
        if last and int(last) < start:
            return whole  # an invalid range
        if start >= size:
            return (416, 0, 0)
        end = min(int(last), size - 1) if last else size - 1
        return (206, start, end - start + 1)
    if not last:
        return whole
    suffix = int(last)
    if suffix == 0 or size == 0:
        return (416, 0, 0)
    start = max(0, size - suffix)
    return (206, start, size - start)


def _pread(fd: int, count: int, offset: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fd, count, offset)
    os.lseek(fd, offset, os.SEEK_SET)  # Windows has no pread
    return os.read(fd, count)


def _listing_page(path: str, folder: str) -> str:
    names = []
    with os.scandir(folder) as it:
        for entry in it:
            try:
                slash = "/" if entry.is_dir() else ""
            except OSError:  # a symlink loop, an entry gone
                slash = ""
            names.append(entry.name + slash)
    names.sort()
    title = html.escape(path)
    items = "".join(
        f'<li><a href="{html.escape(quote(name))}">{html.escape(name)}</a></li>\n' for name in names
    )
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{title}</title></head>\n"
        f"<body><h1>{title}</h1>\n<ul>\n{items}</ul></body></html>\n"
    )


async def _file_response(
    request: web.BaseRequest,
    path: str,
    st: os.stat_result,
    mime: str,
    extra: Mapping[str, str],
) -> web.StreamResponse:
    """Answer a GET or HEAD for the regular file ``path`` found with stat ``st``.

    ``extra`` headers (CORS) go on every response: the large ones are sent from here.
    """
    from aiohttp import web

    try:
        fd = os.open(path, _OPEN_FLAGS)
    except PermissionError:
        raise web.HTTPForbidden(text="403: Forbidden") from None
    except OSError:
        raise web.HTTPNotFound() from None
    try:
        fst = os.fstat(fd)
        # Replaced between lstat and open (a FIFO would not even block: O_NONBLOCK)?
        if not stat.S_ISREG(fst.st_mode) or (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino):
            raise web.HTTPNotFound()
        status, start, count = _plan_response(request.method, request.headers, fst)
        headers = {
            **extra,
            "ETag": _etag(fst),
            "Last-Modified": _http_date(int(fst.st_mtime)),
            # Revalidate (a cheap 304) rather than trust a cached copy: stores change when
            # they are converted again.
            "Cache-Control": "no-cache",
        }
        if status in (304, 412):
            return web.Response(status=status, headers=headers)
        size = fst.st_size
        headers["Accept-Ranges"] = "bytes"
        if status == 416:
            headers["Content-Range"] = f"bytes */{size}"
            return web.Response(status=416, headers=headers)
        headers["Content-Type"] = mime
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{start + count - 1}/{size}"
        if request.method == "HEAD":
            headers["Content-Length"] = str(count)
            return web.Response(status=status, headers=headers)
        if count <= READ_LIMIT:
            # Small files (most chunks) go out with their headers in one write.
            body = _pread(fd, count, start)
            return web.Response(status=status, headers=headers, body=body)
        response = web.StreamResponse(status=status, headers=headers)
        response.content_length = count
        try:
            await response.prepare(request)
            transport = request.transport
            if transport is None:
                raise ConnectionResetError("the client went away")
            with open(fd, "rb", buffering=0, closefd=False) as f:
                sent = await asyncio.get_running_loop().sendfile(transport, f, start, count)
            if sent < count:  # the file shrank meanwhile: the reader must not wait for more
                response.force_close()
        except ConnectionError:
            # The reader went away mid-file (a browser cancels reads it no longer needs):
            # not an error of the server. aiohttp logs the request and closes.
            response.force_close()
        return response
    finally:
        os.close(fd)


Handler = Callable[["web.BaseRequest"], Awaitable["web.StreamResponse"]]


def create_handler(
    directory: str | os.PathLike[str], *, allow_origin: str = "*", listing: bool = False
) -> Handler:
    """The request handler that serves ``directory``, for aiohttp's low-level server.

    Every response it returns carries the CORS headers, errors included. :func:`serve`
    runs it on ``aiohttp.web.Server``; :func:`create_app` wraps it in an application.
    The parameters are those of :func:`create_app`.
    """
    _require_aiohttp()
    from aiohttp import web

    root = str(_check_directory(directory))
    cors = {
        "Access-Control-Allow-Origin": allow_origin,
        "Access-Control-Expose-Headers": EXPOSED_HEADERS,
    }
    if allow_origin != "*":
        cors["Vary"] = "Origin"

    def preflight(request: web.BaseRequest) -> web.StreamResponse:
        headers = {
            "Allow": ", ".join(ALLOWED_METHODS),
            "Access-Control-Allow-Methods": ", ".join(ALLOWED_METHODS),
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE),
        }
        # A read-only server may allow whatever headers a reader asks for; keep the list
        # well-formed all the same.
        asked = request.headers.get("Access-Control-Request-Headers", "").strip()
        headers["Access-Control-Allow-Headers"] = (
            asked if _TOKEN_LIST.match(asked) else ALLOWED_REQUEST_HEADERS
        )
        # Chrome's Private Network Access: a public page (the hosted viewer) may read from
        # this loopback server only if the preflight says so.
        if request.headers.get("Access-Control-Request-Private-Network", "").lower() == "true":
            headers["Access-Control-Allow-Private-Network"] = "true"
        return web.Response(status=204, headers=headers)

    async def listing_response(raw_path: str, folder: str) -> web.StreamResponse:
        if not raw_path.endswith("/"):
            raise web.HTTPMovedPermanently(location=raw_path + "/")
        loop = asyncio.get_running_loop()
        try:
            page = await loop.run_in_executor(None, _listing_page, unquote(raw_path), folder)
        except OSError:
            raise web.HTTPNotFound() from None
        return web.Response(
            text=page, content_type="text/html", headers={"Cache-Control": "no-cache"}
        )

    async def respond(request: web.BaseRequest) -> web.StreamResponse:
        if request.method == "OPTIONS":
            return preflight(request)
        if request.method not in ("GET", "HEAD"):
            raise web.HTTPMethodNotAllowed(request.method, ALLOWED_METHODS)
        raw_path = request.rel_url.raw_path
        parts = _split_path(raw_path)
        if parts is None:
            raise web.HTTPForbidden(text="403: Forbidden")
        # File system calls run on the event loop, as in nginx: a stat or an open of a
        # local file takes microseconds, a hop to a worker thread costs more.
        found = _locate(root, parts)
        if found is None:
            raise web.HTTPNotFound()
        path, st = found
        if stat.S_ISDIR(st.st_mode):
            if listing:
                return await listing_response(raw_path, path)
            raise web.HTTPNotFound()
        if not stat.S_ISREG(st.st_mode):
            raise web.HTTPForbidden(text="403: Forbidden")
        return await _file_response(request, path, st, _content_type(parts[-1]), cors)

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        try:
            response = await respond(request)
        except web.HTTPException as exc:
            exc.headers.update(cors)
            raise
        except Exception:  # a bug: the reader must still see an error it can read (CORS)
            log.exception("error answering %s %s", request.method, request.raw_path)
            raise web.HTTPInternalServerError(headers=cors) from None
        if not response.prepared:
            response.headers.update(cors)
        return response

    return handle


def create_app(
    directory: str | os.PathLike[str], *, allow_origin: str = "*", listing: bool = False
) -> web.Application:
    """The aiohttp application that serves ``directory``.

    Run it with aiohttp's runners (``web.run_app``, ``AppRunner``) or mount it in a larger
    application; :func:`serve` and :func:`serve_in_thread` use the same handler on
    aiohttp's low-level server, which skips the routing.

    Parameters
    ----------
    directory : path-like
        The folder to serve; only regular files under it are readable.
    allow_origin : str
        The ``Access-Control-Allow-Origin`` of every response: ``*`` or one origin such as
        ``https://datamedsci.github.io``.
    listing : bool
        Answer requests for folders with a list of their entries (otherwise 404).

    Returns
    -------
    aiohttp.web.Application

    Raises
    ------
    ZoomingOnlineError
        If aiohttp is missing, or ``directory`` is not a readable folder.
    """
    handler = create_handler(directory, allow_origin=allow_origin, listing=listing)
    from aiohttp import web

    app = web.Application()
    app.router.add_route("*", "/{path:.*}", handler)
    return app


# --------------------------------------------------------------------------------------------
# Running a server
# --------------------------------------------------------------------------------------------


def _browser_host(host: str) -> str:
    if host in ("", "0.0.0.0"):  # noqa: S104 - naming the wildcard, not binding it
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _bind_error(exc: OSError, host: str, port: int) -> ZoomingOnlineError:
    if exc.errno == errno.EADDRINUSE:
        why = "the port is already in use; stop the other server or choose another with --port"
    elif exc.errno == errno.EACCES:
        why = "permission denied; ports below 1024 need privileges, choose another with --port"
    elif exc.errno == errno.EADDRNOTAVAIL:
        why = "no such address on this machine; check --host"
    else:
        why = exc.strerror or str(exc)
    return ZoomingOnlineError(f"cannot listen on {host}:{port}: {why}")


def _access_logger_class() -> type:
    from aiohttp.abc import AbstractAccessLogger

    class AccessLogger(AbstractAccessLogger):
        """One line per request: client, request line as received, status, body bytes, seconds.

        Leaner than aiohttp's configurable one, and skipped entirely when no handler
        wants INFO records. The body bytes are the Content-Length (sendfile bypasses the
        writer that counts bytes).
        """

        def log(self, request: Any, response: Any, time: float) -> None:
            version = request.version
            length = 0 if request.method == "HEAD" else response.content_length or 0
            self.logger.info(
                '%s "%s %s HTTP/%d.%d" %d %d %.6fs',
                request.remote,
                request.method,
                request.raw_path,
                version.major,
                version.minor,
                response.status,
                length,
                time,
            )

        @property
        def enabled(self) -> bool:
            return self.logger.isEnabledFor(logging.INFO)

    return AccessLogger


def auto_workers() -> int:
    """Processes for ``workers=0``: one per core, at most 4 (1 where fds cannot be passed)."""
    if os.name != "posix":
        return 1
    return max(1, min(os.cpu_count() or 1, 4))


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on the first address ``host`` resolves to, shared by every worker."""
    try:
        family, _, _, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.create_server(address[:2], family=family, backlog=LISTEN_BACKLOG)
    except OSError as exc:
        raise _bind_error(exc, host, port) from None
    sock.setblocking(False)
    return sock


class _Server:
    """The handler on aiohttp's low-level server, on a socket, in the running event loop."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        host: str,
        port: int,
        *,
        allow_origin: str,
        listing: bool,
        viewer: str,
        access_log: bool,
    ) -> None:
        self.root = _check_directory(directory)
        self.handler = create_handler(self.root, allow_origin=allow_origin, listing=listing)
        self.allow_origin = allow_origin
        self.listing = listing
        self.host = host
        self.port = port
        self.viewer = viewer
        self.access_log = access_log
        self.runner: Any = None
        self.sock: socket.socket | None = None

    async def start(self, sock: socket.socket | None = None) -> ServerInfo:
        """Listen (on ``sock``, else on a new socket) and answer; where, and the stores."""
        _require_aiohttp()
        from aiohttp import web

        self.sock = sock if sock is not None else _listen(self.host, self.port)
        # The low-level server: no router, middlewares or signals between a request and
        # the handler, which answers every path itself.
        server = web.Server(
            self.handler,
            access_log=logging.getLogger(ACCESS_LOGGER) if self.access_log else None,
            access_log_class=_access_logger_class(),
            keepalive_timeout=KEEPALIVE_TIMEOUT,
        )
        runner = web.ServerRunner(server, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await runner.setup()
        await web.SockSite(runner, self.sock).start()
        self.runner = runner
        port = int(self.sock.getsockname()[1])
        url = f"http://{_browser_host(self.host)}:{port}/"
        if sock is not None:  # a worker: the parent has listed the stores
            return ServerInfo(self.root, self.host, port, url)
        loop = asyncio.get_running_loop()
        stores = await loop.run_in_executor(None, find_stores, self.root, url, self.viewer)
        info = ServerInfo(self.root, self.host, port, url, stores)
        log.info("serving %s at %s", self.root, url)
        for store in stores:
            log.info("store %s: %s", store.path, store.viewer)
        return info

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None
            log.info("server stopped")
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def spawn_workers(self, count: int) -> list[subprocess.Popen[bytes]]:
        """Start ``count`` worker processes answering on this server's socket.

        Fresh interpreters (not forks: the parent may have threads), each with its own
        event loop; the kernel hands each new connection to one of the processes. Their
        access log goes to stderr.
        """
        if self.sock is None:
            raise RuntimeError("the server is not listening")
        fd = self.sock.fileno()
        config = {
            "fd": fd,
            "root": str(self.root),
            "allow_origin": self.allow_origin,
            "listing": self.listing,
            "access_log": self.access_log
            and logging.getLogger(ACCESS_LOGGER).isEnabledFor(logging.INFO),
            "parent": os.getpid(),
        }
        code = "from zoomingonline.serve import _worker_main; _worker_main()"
        command = [sys.executable, "-c", code, json.dumps(config)]
        started = []
        for _ in range(count):
            try:
                # This interpreter and this module, no shell: nothing from outside runs.
                started.append(subprocess.Popen(command, pass_fds=(fd,)))  # noqa: S603
            except OSError as exc:
                log.warning("cannot start a worker process (%s); serving with fewer", exc)
                break
        return started


def _stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for proc in workers:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 2 * SHUTDOWN_TIMEOUT + 5
    for proc in workers:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("worker %d did not stop; killing it", proc.pid)
            proc.kill()
            proc.wait()


def _worker_main() -> None:
    """Entry point of a worker process started by :meth:`_Server.spawn_workers`."""
    config = json.loads(sys.argv[1])
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if config["access_log"]:
        access = logging.getLogger(ACCESS_LOGGER)
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access.addHandler(handler)
        access.setLevel(logging.INFO)
        access.propagate = False
    server = _Server(
        config["root"],
        "",
        0,
        allow_origin=config["allow_origin"],
        listing=config["listing"],
        viewer=DEFAULT_VIEWER,
        access_log=config["access_log"],
    )
    sock = socket.socket(fileno=config["fd"])

    async def run() -> None:
        await server.start(sock)
        try:
            stop = asyncio.Event()
            with _stop_on_signals(stop.set):
                # Orphaned (the parent was killed): stop rather than hold the port.
                while not stop.is_set() and os.getppid() == config["parent"]:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), ORPHAN_CHECK)
        finally:
            await server.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


def serve(
    directory: str | os.PathLike[str] = ".",
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    allow_origin: str = "*",
    listing: bool = False,
    viewer: str = DEFAULT_VIEWER,
    access_log: bool = True,
    workers: int = 1,
    ready: Callable[[ServerInfo], None] | None = None,
) -> None:
    """Serve ``directory`` over HTTP with CORS until Ctrl-C (SIGINT) or SIGTERM.

    Parameters
    ----------
    directory : path-like
        The folder to serve; only regular files under it are readable.
    host : str
        The address to bind: loopback by default, so only this machine can connect.
        ``0.0.0.0`` serves every network the machine is on.
    port : int
        The port; 0 picks a free one (see ``ready``).
    allow_origin : str
        ``Access-Control-Allow-Origin`` of every response.
    listing : bool
        List folders' entries (otherwise a folder is a 404).
    viewer : str
        Viewer base URL of the links in :attr:`ServerInfo.stores`.
    access_log : bool
        Log one INFO record per request to the ``zoomingonline.access`` logger (from
        worker processes: to their stderr, when that logger is enabled for INFO here).
    workers : int
        Processes answering requests, each an event loop with many connections: 1 is
        plenty for a browser; more share the load of many clients over the cores. 0 is
        one per core, at most 4. On systems without fd passing (Windows), always 1.
    ready : callable, optional
        Called once with the :class:`ServerInfo` when the server accepts connections.

    Raises
    ------
    ZoomingOnlineError
        If aiohttp is missing, ``directory`` is not a readable folder, or the address
        cannot be bound (a port in use, for one).
    """
    server = _Server(
        directory,
        host,
        port,
        allow_origin=allow_origin,
        listing=listing,
        viewer=viewer,
        access_log=access_log,
    )
    if workers < 0:
        raise ZoomingOnlineError(f"workers must be 0 (one per core) or more, not {workers}")
    count = auto_workers() if workers == 0 else workers
    if count > 1 and os.name != "posix":
        log.warning("worker processes need POSIX; serving with one")
        count = 1

    async def run() -> None:
        info = await server.start()
        spawned = server.spawn_workers(count - 1) if count > 1 else []
        info = dataclasses.replace(info, workers=1 + len(spawned))
        try:
            stop = asyncio.Event()
            with _stop_on_signals(stop.set):
                if ready is not None:
                    ready(info)
                await stop.wait()
        finally:
            if spawned:
                await asyncio.get_running_loop().run_in_executor(None, _stop_workers, spawned)
            await server.stop()

    # Without signal handlers (not the main thread), Ctrl-C arrives as KeyboardInterrupt:
    # asyncio.run cancels run(), which still stops the server in its finally.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


@contextlib.contextmanager
def _stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """Make SIGINT and SIGTERM call ``stop``, then restore the handlers.

    Only in the main thread, and where the loop supports it (not on Windows); elsewhere
    Ctrl-C stays a KeyboardInterrupt.
    """
    loop = asyncio.get_running_loop()
    sigs = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.getsignal(sig) for sig in sigs}
    installed = []
    if threading.current_thread() is threading.main_thread():
        for sig in sigs:
            try:
                loop.add_signal_handler(sig, stop)
            except (NotImplementedError, RuntimeError, ValueError):
                break
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
            signal.signal(sig, previous[sig])


@contextlib.contextmanager
def serve_in_thread(
    directory: str | os.PathLike[str] = ".",
    host: str = DEFAULT_HOST,
    port: int = 0,
    *,
    allow_origin: str = "*",
    listing: bool = False,
    viewer: str = DEFAULT_VIEWER,
    access_log: bool = True,
) -> Iterator[ServerInfo]:
    """Serve ``directory`` from a background thread for the duration of a ``with`` block.

    The parameters are those of :func:`serve`, except that ``port`` defaults to 0 (a free
    port). The server is stopped when the block ends.

    Yields
    ------
    ServerInfo
        Where the server listens and the stores it found.

    Examples
    --------
    >>> with serve_in_thread("stores") as info:  # doctest: +SKIP
    ...     print(info.url)
    """
    server = _Server(
        directory,
        host,
        port,
        allow_origin=allow_origin,
        listing=listing,
        viewer=viewer,
        access_log=access_log,
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="zoomingonline-serve", daemon=True)
    thread.start()

    def call(coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    try:
        info = call(server.start())
        try:
            yield info
        finally:
            call(server.stop())
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
