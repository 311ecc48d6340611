"""The aiohttp side of ``zoomingonline serve``: the request handler and the application.

The decisions (which file, which status, which bytes, which headers) are made by
:mod:`zoomingonline.serve.http`; this module reads the request from aiohttp, opens the
file and sends the answer: small files with their headers in one write, large ones with
``sendfile``.

Importing this module imports aiohttp; :mod:`zoomingonline.serve` imports it only when a
handler is made.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from collections.abc import Awaitable, Callable, Iterable, Mapping

from aiohttp import web

from zoomingonline.serve import http
from zoomingonline.stores import DEFAULT_VIEWER

__all__ = ["READ_LIMIT", "Handler", "create_app", "create_handler"]

log = logging.getLogger(__name__)

#: Files up to this size are read and sent with their headers in one write; larger ones
#: go out with sendfile.
READ_LIMIT = 256 * 1024
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


def _pread(fd: int, count: int, offset: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fd, count, offset)
    os.lseek(fd, offset, os.SEEK_SET)  # Windows has no pread
    return os.read(fd, count)


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
        tag = http.etag(fst)
        mtime = int(fst.st_mtime)
        size = fst.st_size
        status, start, count = http.plan_response(request.method, request.headers, size, tag, mtime)
        headers = {
            **extra,
            "ETag": tag,
            "Last-Modified": http.http_date(mtime),
            # Revalidate (a cheap 304) rather than trust a cached copy: stores change when
            # they are converted again.
            "Cache-Control": "no-cache",
        }
        if status in (304, 412):
            return web.Response(status=status, headers=headers)
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


def create_handler(
    directory: str | os.PathLike[str],
    *,
    allow_origins: str | Iterable[str] = (),
    viewer: str = DEFAULT_VIEWER,
    listing: bool = False,
) -> Handler:
    """The request handler that serves ``directory``, for aiohttp's low-level server.

    Every response it returns carries the CORS headers the request's origin is entitled
    to, errors included. :func:`zoomingonline.serve.serve` runs it on
    ``aiohttp.web.Server``; :func:`create_app` wraps it in an application. The
    parameters are those of :func:`create_app`.
    """
    http.require_aiohttp()
    root = str(http.check_directory(directory))
    policy = http.OriginPolicy.build(allow_origins, viewer)

    async def listing_response(raw_path: str, parts: list[str], folder: str) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        try:
            names = await loop.run_in_executor(None, http.listing_names, root, parts, folder)
        except OSError:
            names = None
        if names is None:
            raise web.HTTPNotFound()
        location = http.listing_location(parts)
        if raw_path != location:
            raise web.HTTPMovedPermanently(location=location)
        page = http.listing_page("/" + "".join(name + "/" for name in parts), names)
        return web.Response(
            text=page, content_type="text/html", headers={"Cache-Control": "no-cache"}
        )

    async def respond(request: web.BaseRequest, cors: dict[str, str]) -> web.StreamResponse:
        if request.method == "OPTIONS":
            return web.Response(status=204, headers=policy.preflight(request.headers))
        if request.method not in ("GET", "HEAD"):
            raise web.HTTPMethodNotAllowed(request.method, http.ALLOWED_METHODS)
        raw_path = request.rel_url.raw_path
        parts = http.split_path(raw_path)
        if parts is None:
            raise web.HTTPForbidden(text="403: Forbidden")
        # File system calls run on the event loop, as in nginx: a stat or an open of a
        # local file takes microseconds, a hop to a worker thread costs more.
        found = http.locate(root, parts)
        if found is None:
            raise web.HTTPNotFound()
        path, st = found
        if stat.S_ISDIR(st.st_mode):
            if listing:
                return await listing_response(raw_path, parts, path)
            raise web.HTTPNotFound()
        # Only the files of stores: anything else is as good as missing.
        if not http.exposed(root, parts, path):
            raise web.HTTPNotFound()
        if not stat.S_ISREG(st.st_mode):
            raise web.HTTPForbidden(text="403: Forbidden")
        return await _file_response(request, path, st, http.content_type(parts[-1]), cors)

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        # The CORS headers this request's origin is entitled to, on every answer.
        cors = policy.headers(request.headers.get("Origin"))
        try:
            response = await respond(request, cors)
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
    directory: str | os.PathLike[str],
    *,
    allow_origins: str | Iterable[str] = (),
    viewer: str = DEFAULT_VIEWER,
    listing: bool = False,
) -> web.Application:
    """The aiohttp application that serves ``directory``.

    Run it with aiohttp's runners (``web.run_app``, ``AppRunner``) or mount it in a larger
    application; :func:`zoomingonline.serve.serve` and
    :func:`~zoomingonline.serve.serve_in_thread` use the same handler on aiohttp's
    low-level server, which skips the routing.

    Parameters
    ----------
    directory : path-like
        The folder to serve. Only the files of the Zarr stores under it are served (see
        :func:`zoomingonline.serve.http.exposed`).
    allow_origins : str or iterable of str
        Origins (``https://example.org``) whose pages may read the files, besides the
        viewer's and those of pages on this machine; ``"*"`` lets every page read them.
    viewer : str
        The viewer's URL: its origin may read the files.
    listing : bool
        Answer requests for folders with a list of the stores and the folders leading to
        them (otherwise 404).

    Returns
    -------
    aiohttp.web.Application

    Raises
    ------
    ZoomingOnlineError
        If aiohttp is missing, ``directory`` is not a readable folder, or an origin is
        not one.
    """
    handler = create_handler(directory, allow_origins=allow_origins, viewer=viewer, listing=listing)
    app = web.Application()
    app.router.add_route("*", "/{path:.*}", handler)
    return app
