"""``zoomingonline serve`` next to the original server and nginx, under 32 concurrent clients.

Run from the repository root::

    uv run python benchmarks/bench_serve.py                 # 10 s per server
    uv run python benchmarks/bench_serve.py --duration 3    # a smoke run
    uv run python benchmarks/bench_serve.py --rounds 3      # interleaved rounds, medians

The served folder holds a store-like tree, ``bench.zarr/raw/0.0.0.<i>``, of ``--files``
(256) chunks of ``--size`` (64 KiB) random bytes each (incompressible, like compressed
chunks), in a temporary folder on the local disk, read once before measuring so every
server finds it in the page cache. Every request is a GET of one whole chunk, cycling
through the files, by ``--connections`` (32) concurrent clients over loopback, with the
``Origin`` header a browser sends from the deployed viewer's pages (``ORIGIN``), so that
``zoomingonline serve`` does its CORS work (checking and echoing the origin) as it does
for the viewer.

Servers, each a separate process on its own 127.0.0.1 port, all measured in one run:

ours
    ``zoomingonline serve DIR --port P``, the command as users run it: access log on (to
    stderr, which goes to /dev/null), ``--workers 0``, one process per core (at most 4),
    so 2 on the 2-core reference machine.
ours-w1
    The same with ``--workers 1``: one process, one event loop.
original
    A faithful re-implementation of the original ``cors_server.py``: a
    ``SimpleHTTPRequestHandler`` whose ``end_headers`` adds ``Access-Control-Allow-Origin:
    *``, served by ``socketserver.TCPServer`` (one request at a time, HTTP/1.0, a new
    connection per request, listen backlog 5), logging every request to stderr (/dev/null).
    It is bound to 127.0.0.1 rather than every interface, the only change.
nginx
    The Debian package (``apt-get install -y nginx``), run in the foreground
    (``daemon off``) with a temporary configuration: ``worker_processes auto``,
    ``sendfile on``, the same ``Access-Control-Allow-Origin: *`` header on every response,
    an access log to a file; stopped at the end.

Load generator: wrk (Debian package) when it is on PATH, with ``--timeout 2s``, a Lua
script cycling through the chunk URLs, and its ``done`` hook printing the counts and the
latency percentiles as JSON; else a Python asyncio generator (one process, HTTP/1.1
keep-alive, reconnecting when the server closes, a request not answered in 2 s counted as
a timeout). wrk starts its latency clock when a request is written, so the time a client
waits to connect is not counted in its latency: this flatters the original, which needs a
new connection per request, and its backlog overflows show as timeouts and tail latency.

Each server gets a warm-up of ``--warmup`` seconds, then ``--duration`` seconds measured;
with ``--rounds N`` the servers are interleaved (order rotated) and the medians kept. CPU
seconds used by each server (all its processes) are read from /proc: CPU microseconds per
request is little affected by the other tenants of a shared machine.

Targets (issue "zoomingonline serve"): for ours, zero errors and timeouts, p99 at most
1/10 of the original's, throughput at least 1.5x the original's; the ratio to nginx is
reported.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERVERS = ("original", "ours", "ours-w1", "nginx")
REQUEST_TIMEOUT = 2.0
START_TIMEOUT = 15.0
#: The origin of the viewer's pages, sent with every request.
ORIGIN = "https://datamedsci.github.io"
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass
class Result:
    """One measured run of one server."""

    requests: int = 0
    seconds: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    errors: int = 0  # connect, read, write errors and non-2xx responses
    timeouts: int = 0
    cpu_seconds: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_us_per_request(self) -> float:
        return 1e6 * self.cpu_seconds / self.requests if self.requests else float("nan")


# -- the served folder ------------------------------------------------------------------------


def make_folder(root: Path, files: int, size: int) -> list[str]:
    """The chunk files; their URL paths."""
    raw = root / "bench.zarr" / "raw"
    raw.mkdir(parents=True)
    (root / "bench.zarr" / ".zgroup").write_text('{"zarr_format": 2}')
    paths = []
    for i in range(files):
        (raw / f"0.0.0.{i}").write_bytes(os.urandom(size))
        paths.append(f"/bench.zarr/raw/0.0.0.{i}")
    # Readable by nginx's unprivileged workers, whoever runs this.
    for folder, _, names in os.walk(root):
        Path(folder).chmod(0o755)
        for name in names:
            (Path(folder) / name).chmod(0o644)
    for path in raw.iterdir():  # into the page cache
        path.read_bytes()
    return paths


# -- servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_original(directory: str, port: int) -> None:
    """The original cors_server.py, bound to loopback: one request at a time."""
    import socketserver
    from http.server import SimpleHTTPRequestHandler

    class CORSRequestHandler(SimpleHTTPRequestHandler):
        def end_headers(self) -> None:
            self.send_header("Access-Control-Allow-Origin", "*")
            super().end_headers()

    os.chdir(directory)
    with socketserver.TCPServer(("127.0.0.1", port), CORSRequestHandler) as httpd:
        httpd.serve_forever()


NGINX_CONF = """\
worker_processes auto;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
{user}
events {{ worker_connections 1024; }}
http {{
    access_log {tmp}/access.log;
    sendfile on;
    tcp_nopush on;
    types {{ application/json zgroup zarray zattrs json; }}
    default_type application/octet-stream;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ add_header Access-Control-Allow-Origin * always; }}
    }}
}}
"""


@contextlib.contextmanager
def start_server(name: str, root: Path, work: Path) -> Iterator[tuple[int, int]]:
    """Start a server on a free loopback port; yield (its pid, the port); stop it."""
    port = free_port()
    if name.startswith("ours"):
        code = "import sys; from zoomingonline.cli import main; main(['serve', *sys.argv[1:]])"
        cmd = [sys.executable, "-c", code, str(root), "--port", str(port)]
        if name == "ours-w1":
            cmd += ["--workers", "1"]
    elif name == "original":
        cmd = [sys.executable, __file__, "--run-original", str(root), str(port)]
    else:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        tmp = work / f"nginx-{port}"
        tmp.mkdir()
        tmp.chmod(0o755)
        user = "user root root;" if os.geteuid() == 0 else ""
        conf = tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=tmp, port=port, root=root, user=user))
        cmd = [nginx, "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "error.log")]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(proc, port)
        yield proc.pid, port
    finally:
        # nginx: SIGTERM is its fast shutdown; the Python servers stop on it too.
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_ready(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    url = f"http://127.0.0.1:{port}/bench.zarr/.zgroup"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server {proc.args} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server {proc.args} did not answer in {START_TIMEOUT} s")


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and its live children (nginx's workers)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is the state; ppid is fields[1], utime and stime fields[11], fields[12].
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


# -- load generators -----------------------------------------------------------------------

WRK_SCRIPT = """\
local paths = {%(paths)s}
local counter = 0
function setup(thread)
  thread:set("offset", counter * 37)
  counter = counter + 1
end
function init(args)
  n = offset
end
function request()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1], {["Origin"] = "%(origin)s"})
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %%d, "duration_us": %%d, "connect": %%d, "read": %%d, ' ..
    '"write": %%d, "status": %%d, "timeout": %%d, "p50_us": %%d, "p99_us": %%d, "max_us": %%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def run_wrk(port: int, paths: list[str], seconds: float, connections: int, work: Path) -> Result:
    script = work / "paths.lua"
    listed = ", ".join(f'"{p}"' for p in paths)
    script.write_text(WRK_SCRIPT % {"paths": listed, "origin": ORIGIN})
    threads = min(2, connections)
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={REQUEST_TIMEOUT:g}s",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}/",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=seconds + 60)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("WRKJSON "))
    data = json.loads(line.removeprefix("WRKJSON "))
    return Result(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1e3,
        p99_ms=data["p99_us"] / 1e3,
        max_ms=data["max_us"] / 1e3,
        errors=data["connect"] + data["read"] + data["write"] + data["status"],
        timeouts=data["timeout"],
        detail=data,
    )


async def _python_load(
    port: int, paths: list[str], seconds: float, connections: int
) -> dict[str, Any]:
    """32 clients, each GETting chunks in turn over one keep-alive connection."""
    latencies: list[float] = []
    counts = {"errors": 0, "timeouts": 0}
    stop_at = time.perf_counter() + seconds

    async def client(k: int) -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        n = k * 37
        while time.perf_counter() < stop_at:
            n += 1
            path = paths[n % len(paths)]
            began = time.perf_counter()
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    if writer is None:
                        reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    assert reader is not None
                    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: {ORIGIN}\r\n\r\n"
                    writer.write(request.encode())
                    head = await reader.readuntil(b"\r\n\r\n")
                    lines = head.decode("latin-1").split("\r\n")
                    status = int(lines[0].split()[1])
                    headers = {
                        k.strip().lower(): v.strip()
                        for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)
                    }
                    await reader.readexactly(int(headers.get("content-length", "0")))
                    close = headers.get("connection", "").lower() == "close" or lines[0].startswith(
                        "HTTP/1.0"
                    )
            except TimeoutError:
                counts["timeouts"] += 1
                close = True
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                counts["errors"] += 1
                close = True
            else:
                latencies.append(time.perf_counter() - began)
                if not 200 <= status < 300:
                    counts["errors"] += 1
            if close and writer is not None:
                writer.close()
                writer = reader = None
        if writer is not None:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(connections)))
    elapsed = time.perf_counter() - began
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else 0.0

    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "p50": pct(0.50),
        "p99": pct(0.99),
        "max": latencies[-1] if latencies else 0.0,
        **counts,
    }


def run_python_load(port: int, paths: list[str], seconds: float, connections: int) -> Result:
    # In its own process, so the generator and this script do not share a GIL.
    cmd = [
        sys.executable,
        __file__,
        "--run-load",
        str(port),
        str(seconds),
        str(connections),
        json.dumps(paths),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=seconds + 60)
    data = json.loads(proc.stdout)
    return Result(
        requests=data["requests"],
        seconds=data["seconds"],
        p50_ms=1e3 * data["p50"],
        p99_ms=1e3 * data["p99"],
        max_ms=1e3 * data["max"],
        errors=data["errors"],
        timeouts=data["timeouts"],
        detail=data,
    )


# -- the run -------------------------------------------------------------------------------


def measure(
    name: str, root: Path, work: Path, paths: list[str], args: argparse.Namespace
) -> Result:
    with start_server(name, root, work) as (pid, port):

        def drive(seconds: float) -> Result:
            if args.loadgen == "wrk":
                return run_wrk(port, paths, seconds, args.connections, work)
            return run_python_load(port, paths, seconds, args.connections)

        if args.warmup > 0:
            drive(args.warmup)
        cpu0 = process_tree_cpu(pid)
        result = drive(args.duration)
        result.cpu_seconds = process_tree_cpu(pid) - cpu0
    return result


def median_result(results: list[Result]) -> Result:
    med = statistics.median
    return Result(
        requests=round(med(r.requests for r in results)),
        seconds=med(r.seconds for r in results),
        p50_ms=med(r.p50_ms for r in results),
        p99_ms=med(r.p99_ms for r in results),
        max_ms=max(r.max_ms for r in results),
        errors=sum(r.errors for r in results),
        timeouts=sum(r.timeouts for r in results),
        cpu_seconds=med(r.cpu_seconds for r in results),
    )


def report(results: dict[str, list[Result]], args: argparse.Namespace) -> None:
    print()
    print(
        f"{args.connections} concurrent clients, GET of {args.size // 1024} KiB chunks "
        f"({args.files} files), {args.duration:g} s per server"
        + (f", {args.rounds} rounds (medians; errors summed)" if args.rounds > 1 else "")
    )
    header = (
        f"{'server':<9} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'errors':>7} {'timeouts':>8} {'cpu us/req':>10}"
    )
    print(header)
    print("-" * len(header))
    summary = {}
    for name, runs in results.items():
        r = runs[0] if len(runs) == 1 else median_result(runs)
        summary[name] = r
        print(
            f"{name:<9} {r.rps:>9,.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} {r.max_ms:>8.1f} "
            f"{r.errors:>7} {r.timeouts:>8} {r.cpu_us_per_request:>10.0f}"
        )
    ours = summary.get("ours")
    original = summary.get("original")
    nginx = summary.get("nginx")
    print()
    if ours and original:
        thr = ours.rps / original.rps if original.rps else float("inf")
        tail = original.p99_ms / ours.p99_ms if ours.p99_ms else float("inf")
        cpu = original.cpu_us_per_request / ours.cpu_us_per_request
        print(f"throughput ours / original      {thr:6.2f}x   (target >= 1.5)")
        print(f"p99 original / ours             {tail:6.2f}x   (target >= 10)")
        print(f"cpu per request original / ours {cpu:6.2f}x")
    if ours:
        clean = ours.errors == 0 and ours.timeouts == 0
        print(
            f"errors + timeouts, ours         {ours.errors + ours.timeouts:6d}    "
            f"(target 0: {'met' if clean else 'NOT met'})"
        )
    if ours and nginx:
        print(f"throughput ours / nginx         {ours.rps / nginx.rps:6.2f}x")
        print(f"p99 nginx / ours                {nginx.p99_ms / ours.p99_ms:6.2f}x")
    single = summary.get("ours-w1")
    if single and original:
        print(f"throughput ours-w1 / original   {single.rps / original.rps:6.2f}x")
        print(f"p99 original / ours-w1          {original.p99_ms / single.p99_ms:6.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds (medians)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--files", type=int, default=256)
    parser.add_argument("--size", type=int, default=64 * 1024, help="bytes per chunk")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--servers", default=",".join(SERVERS), help="comma-separated, of " + ",".join(SERVERS)
    )
    args = parser.parse_args()
    if args.loadgen == "auto":
        args.loadgen = "wrk" if shutil.which("wrk") else "python"
    servers = [s for s in args.servers.split(",") if s]
    if "nginx" in servers and not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        print("nginx not found (apt-get install -y nginx): measured without it")
        servers.remove("nginx")

    print(f"load generator: {args.loadgen}; load average before: {load_average()}")
    if args.loadgen == "python":
        print("  (wrk not found: apt-get install -y wrk; Python client figures are lower)")
    results: dict[str, list[Result]] = {name: [] for name in servers}
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)
        root = work / "served"
        paths = make_folder(root, args.files, args.size)
        for k in range(args.rounds):
            order = servers[k % len(servers) :] + servers[: k % len(servers)]
            for name in order:
                r = measure(name, root, work, paths, args)
                results[name].append(r)
                print(
                    f"  round {k + 1} {name:<9} {r.rps:>9,.0f} req/s  p50 {r.p50_ms:.2f} ms"
                    f"  p99 {r.p99_ms:.2f} ms  errors {r.errors}  timeouts {r.timeouts}"
                    f"  cpu {r.cpu_seconds:.1f} s"
                )
    report(results, args)
    print(f"\nload average after: {load_average()}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--run-original":
        run_original(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 6 and sys.argv[1] == "--run-load":
        out = asyncio.run(
            _python_load(
                int(sys.argv[2]), json.loads(sys.argv[5]), float(sys.argv[3]), int(sys.argv[4])
            )
        )
        print(json.dumps(out))
    else:
        main()
