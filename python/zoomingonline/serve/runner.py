"""Running ``zoomingonline serve``: sockets, worker processes, signals, what a server reports.

:func:`serve` listens, starts the worker processes and runs until SIGINT or SIGTERM;
:func:`serve_in_thread` runs a server on an event loop in a background thread. Both put
the handler of :mod:`zoomingonline.serve.handler` on aiohttp's low-level server.
aiohttp is imported when a server starts, not with this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from zoomingonline import stores
from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.serve import http
from zoomingonline.stores import DEFAULT_VIEWER, viewer_url

__all__ = [
    "ACCESS_LOGGER",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "DEFAULT_VIEWER",
    "KEEPALIVE_TIMEOUT",
    "LISTEN_BACKLOG",
    "SHUTDOWN_GRACE",
    "STOP_BOUND",
    "ServerInfo",
    "StoreLink",
    "auto_workers",
    "find_stores",
    "serve",
    "serve_in_thread",
]

log = logging.getLogger(__name__)

DEFAULT_HOST = stores.SERVE_HOST
DEFAULT_PORT = stores.SERVE_PORT
#: The logger of the access log (one INFO record per request).
ACCESS_LOGGER = "zoomingonline.access"
#: Seconds responses in flight get to finish when the server stops; then they are cut
#: off, so that a stalled reader cannot hold the shutdown. aiohttp waits twice this long
#: at most: for the handlers to finish, then for them to end once cancelled.
SHUTDOWN_GRACE = 1.0
#: A stopped server has exited within this many seconds (the documented bound).
STOP_BOUND = 2.0
KEEPALIVE_TIMEOUT = 15.0
LISTEN_BACKLOG = 1024
#: Seconds between a worker's checks that its parent is still there.
ORPHAN_CHECK = 1.0
#: How deep :func:`find_stores` looks for stores.
STORE_SEARCH_DEPTH = stores.SEARCH_DEPTH


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
    origins : tuple of str
        The origins whose pages may read the stores: ``("*",)`` for every one, else the
        named ones, then the loopback patterns (``http://localhost:*``...).
    """

    directory: Path
    host: str
    port: int
    url: str
    stores: list[StoreLink] = field(default_factory=list)
    workers: int = 1
    origins: tuple[str, ...] = ()


def find_stores(
    directory: str | os.PathLike[str],
    base_url: str = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}/",
    viewer: str = DEFAULT_VIEWER,
    *,
    max_depth: int = STORE_SEARCH_DEPTH,
) -> list[StoreLink]:
    """The stores under ``directory``, with the URLs they are served at.

    The stores are those of :func:`zoomingonline.stores.find_stores`: folders holding
    ``.zgroup`` (Zarr format 2) or ``zarr.json`` (format 3), not looked for inside stores,
    hidden folders (such as the temporary ``.x.zarr.partial-*`` of a conversion in
    progress) or symlinked folders, nor more than ``max_depth`` levels down.

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
    base = base_url if base_url.endswith("/") else base_url + "/"

    def link(rel: PurePosixPath) -> StoreLink:
        if not rel.parts:
            return StoreLink(".", base, viewer_url(base, viewer))
        url = base + "/".join(quote(part) for part in rel.parts)
        return StoreLink(rel.as_posix(), url, viewer_url(url, viewer))

    found = stores.find_stores(directory, max_depth=max_depth)
    return sorted((link(rel) for rel in found), key=lambda s: s.path)


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


def _check_port(port: int) -> None:
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ZoomingOnlineError(f"port must be a number from 0 to 65535, not {port!r}")


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
        allow_origins: str | Iterable[str],
        listing: bool,
        viewer: str,
        access_log: bool,
    ) -> None:
        _check_port(port)
        self.root = http.check_directory(directory)
        self.allow_origins = (
            [allow_origins] if isinstance(allow_origins, str) else list(allow_origins)
        )
        self.policy = http.OriginPolicy.build(self.allow_origins, viewer)
        http.require_aiohttp()
        from zoomingonline.serve.handler import create_handler

        self.handler = create_handler(
            self.root, allow_origins=self.allow_origins, viewer=viewer, listing=listing
        )
        self.listing = listing
        self.host = host
        self.port = port
        self.viewer = viewer
        self.access_log = access_log
        self.runner: Any = None
        self.sock: socket.socket | None = None

    async def start(self, sock: socket.socket | None = None) -> ServerInfo:
        """Listen (on ``sock``, else on a new socket) and answer; where, and the stores."""
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
        runner = web.ServerRunner(server, shutdown_timeout=SHUTDOWN_GRACE / 2)
        await runner.setup()
        # The backlog again: the site listens anew, with 128 unless told.
        await web.SockSite(runner, self.sock, backlog=LISTEN_BACKLOG).start()
        self.runner = runner
        port = int(self.sock.getsockname()[1])
        url = f"http://{_browser_host(self.host)}:{port}/"
        origins = self.policy.describe()
        if sock is not None:  # a worker: the parent has listed the stores
            return ServerInfo(self.root, self.host, port, url, origins=origins)
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(None, find_stores, self.root, url, self.viewer)
        info = ServerInfo(self.root, self.host, port, url, found, origins=origins)
        log.info("serving %s at %s", self.root, url)
        for store in found:
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
            "allow_origins": self.allow_origins,
            "viewer": self.viewer,
            "listing": self.listing,
            "access_log": self.access_log
            and logging.getLogger(ACCESS_LOGGER).isEnabledFor(logging.INFO),
            "parent": os.getpid(),
        }
        code = "from zoomingonline.serve.runner import worker_main; worker_main()"
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


def _signal_workers(workers: list[subprocess.Popen[bytes]]) -> float:
    """Ask the workers to stop; the time by which they must have."""
    for proc in workers:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    # Their own grace, and a little to exit, within the bound of the whole server.
    return time.monotonic() + (SHUTDOWN_GRACE + STOP_BOUND) / 2


def _reap_workers(workers: list[subprocess.Popen[bytes]], deadline: float) -> None:
    """Wait for the signalled workers until ``deadline``; kill those still running then."""
    for proc in workers:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("worker %d did not stop; killing it", proc.pid)
            proc.kill()
            proc.wait()


def worker_main() -> None:
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
        allow_origins=config["allow_origins"],
        listing=config["listing"],
        viewer=config["viewer"],
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
    allow_origins: str | Iterable[str] = (),
    listing: bool = False,
    viewer: str = DEFAULT_VIEWER,
    access_log: bool = True,
    workers: int = 1,
    ready: Callable[[ServerInfo], None] | None = None,
) -> None:
    """Serve the stores under ``directory`` over HTTP with CORS until SIGINT or SIGTERM.

    On either signal the server stops: responses in flight get :data:`SHUTDOWN_GRACE`
    seconds to finish, and the call returns within :data:`STOP_BOUND` seconds, however
    the clients behave.

    Parameters
    ----------
    directory : path-like
        The folder to serve. Only the files of the Zarr stores under it are served (no
        other file, no dotfile but Zarr's metadata, nothing of a store being written).
    host : str
        The address to bind: loopback by default, so only this machine can connect.
        ``0.0.0.0`` serves every network the machine is on.
    port : int
        The port, 0 to 65535; 0 picks a free one (see ``ready``).
    allow_origins : str or iterable of str
        Origins (``https://example.org``) whose pages may read the stores, besides the
        viewer's (the origin of ``viewer`` and of the deployed viewer) and pages on this
        machine (``http://localhost:*``, ``http://127.0.0.1:*``, ``http://[::1]:*``).
        ``"*"`` lets every web page read them. Other pages get no CORS headers.
    listing : bool
        Answer folders with a list of the stores and the folders leading to them
        (otherwise a folder is a 404).
    viewer : str
        Viewer base URL of the links in :attr:`ServerInfo.stores`; its origin may read.
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
        If aiohttp is missing, ``directory`` is not a readable folder, the port is out
        of range, an origin is not one, or the address cannot be bound (a port in use,
        for one).
    """
    server = _Server(
        directory,
        host,
        port,
        allow_origins=allow_origins,
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
            # The workers stop in parallel with this process's own connections.
            deadline = _signal_workers(spawned)
            await server.stop()
            if spawned:
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(None, _reap_workers, spawned, deadline)

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
    allow_origins: str | Iterable[str] = (),
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
        allow_origins=allow_origins,
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
