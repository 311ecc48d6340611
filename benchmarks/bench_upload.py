"""Upload speed of ``zoomingonline.s3.upload_store`` next to a sequential put_object loop.

Run from the repository root::

    uv run python benchmarks/bench_upload.py                  # ~1,000 objects, 3 rounds
    uv run python benchmarks/bench_upload.py --rounds 5 --jobs 32
    uv run python benchmarks/bench_upload.py --latency 0      # loopback only

The store is a real one: ``write_demo_hdf5`` (2 channels x 1 trc x 3 segments) converted
with ``raw_chunk=12288``, which makes about 1,000 objects of ~16 kB (16 MB in all), the
shape of a store with many small chunks. It is written under ``bench-data/upload/``
(git-ignored) and reused by later runs.

The server is SeaweedFS (``weed mini``) on loopback, started by this script with the
helper of the tests (``tests/s3server.py``) and stopped at the end.

Variants, each uploading the whole store to a fresh prefix (nothing can be skipped):

sequential
    A plain loop: ``client.put_object(Bucket=..., Key=..., Body=path.read_bytes())`` for
    every file, one at a time, with one boto3 client. The client has the same settings as
    upload_store's (checksums when required, path-style addressing), so the comparison is
    of the method, not of the client options.
upload_store
    ``upload_store(store, config=..., jobs=--jobs)``: everything it does is timed, the
    bucket check, the listing, hashing, the parallel uploads with Content-MD5, the
    metadata last and the final listing that verifies the store.

Both run in this process, interleaved, the order swapped every round; the best wall
time of each is kept and the ratio of the best times is reported with the per-round
ratios. With ``--latency MS`` (default 10) the same comparison is repeated through a
proxy, in its own process, that delays every PUT by MS milliseconds: what a network
between the client and the service adds, and what parallel uploads hide.

CPU accounting: on loopback both ends share the machine's cores, so the script also
prints the CPU seconds of this process and of the server for each variant, the load
average left by other processes, and the ratio that the parallel variant would reach if
it kept every core busy with its own CPU time ("CPU ceiling"): when the sequential loop
already needs as much CPU as its wall time, no amount of parallelism can go beyond it.

Target: upload_store >= 4x the sequential loop, on loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from s3server import SeaweedS3  # noqa: E402
from zoomingonline.convert import convert  # noqa: E402
from zoomingonline.demo import write_demo_hdf5  # noqa: E402
from zoomingonline.s3 import S3Config, resolve_config, upload_store  # noqa: E402

TARGET = 4.0
SAMPLES = 2_000_000
RAW_CHUNK = 12288
DATA = ROOT / "bench-data" / "upload"


@dataclass
class Run:
    wall: float
    client_cpu: float
    server_cpu: float


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process, from /proc."""
    with Path(f"/proc/{pid}/stat").open() as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def make_store() -> Path:
    """The benchmark store, made once and reused while its parameters match."""
    store = DATA / "bench.zarr"
    stamp = DATA / "params.json"
    params = {"samples": SAMPLES, "raw_chunk": RAW_CHUNK, "version": 1}
    if store.is_dir() and stamp.is_file() and json.loads(stamp.read_text()) == params:
        return store
    DATA.mkdir(parents=True, exist_ok=True)
    h5 = write_demo_hdf5(DATA / "bench.h5", samples=SAMPLES)
    convert(h5, store, raw_chunk=RAW_CHUNK, overwrite=True)
    h5.unlink()
    stamp.write_text(json.dumps(params))
    return store


def measure(pid: int, fn: Callable[[], Any]) -> Run:
    s0 = server_cpu(pid)
    c0 = time.process_time()
    t0 = time.perf_counter()
    fn()
    wall = time.perf_counter() - t0
    return Run(wall, time.process_time() - c0, server_cpu(pid) - s0)


def compare(
    label: str,
    server: SeaweedS3,
    cfg: S3Config,
    store: Path,
    files: list[tuple[Path, str]],
    rounds: int,
    jobs: int,
) -> tuple[float, float]:
    client = cfg.client()
    seq: list[Run] = []
    par: list[Run] = []

    def sequential(prefix: str) -> None:
        for path, rel in files:
            client.put_object(Bucket=cfg.bucket, Key=f"{prefix}/{rel}", Body=path.read_bytes())

    def parallel(prefix: str) -> None:
        summary = upload_store(store, config=cfg, prefix=prefix, jobs=jobs)
        if not summary.ok or summary.uploaded != len(files):
            raise SystemExit(f"upload_store failed: {summary.problem()}")

    print(f"\n== {label}")
    print("round  variant        wall s  client cpu s  server cpu s")
    for r in range(rounds):
        order = [("sequential", sequential, seq), ("upload_store", parallel, par)]
        if r % 2:
            order.reverse()
        for name, fn, runs in order:
            prefix = f"{label.split(maxsplit=1)[0]}-r{r}-{name}"
            run = measure(server.pid, lambda fn=fn, prefix=prefix: fn(prefix))
            runs.append(run)
            print(
                f"{r:5d}  {name:<13s} {run.wall:7.2f}  {run.client_cpu:12.2f}"
                f"  {run.server_cpu:12.2f}"
            )
    best_seq = min(r.wall for r in seq)
    best_par = min(r.wall for r in par)
    ratios = [s.wall / p.wall for s, p in zip(seq, par, strict=True)]
    cores = os.cpu_count() or 1
    ceilings = [
        s.wall / max((p.client_cpu + p.server_cpu) / cores, 1e-9)
        for s, p in zip(seq, par, strict=True)
    ]
    ratio = best_seq / best_par
    print(
        f"best: sequential {best_seq:.2f} s ({len(files) / best_seq:,.0f} objects/s),"
        f" upload_store {best_par:.2f} s ({len(files) / best_par:,.0f} objects/s)"
    )
    print(
        f"ratio of best times {ratio:.2f}x; per round {', '.join(f'{x:.2f}' for x in ratios)}"
        f" (median {statistics.median(ratios):.2f}x)"
    )
    print(
        f"CPU ceiling on {cores} cores (sequential wall / (upload_store client + server CPU"
        f" / cores)): median {statistics.median(ceilings):.2f}x"
    )
    return ratio, statistics.median(ceilings)


def start_proxy(upstream: str, delay: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests" / "s3server.py"),
            "proxy",
            upstream,
            "--delay",
            str(delay),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        proc.kill()
        raise SystemExit("the delay proxy did not start")
    return proc, url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=16, help="upload_store's jobs")
    parser.add_argument(
        "--latency", type=float, default=10.0, help="ms added to each PUT in the second part"
    )
    args = parser.parse_args()

    store = make_store()
    files = sorted(
        (p, f"{store.name}/{p.relative_to(store).as_posix()}")
        for p in store.rglob("*")
        if p.is_file()
    )
    size = sum(p.stat().st_size for p, _ in files)
    import boto3

    print(
        f"store: {len(files):,} objects, {size / 1e6:.1f} MB"
        f" (mean {size / len(files) / 1e3:.1f} kB); boto3 {boto3.__version__};"
        f" {os.cpu_count()} cores; jobs {args.jobs}; rounds {args.rounds}"
    )
    print(f"load average before: {load_average()}")
    with SeaweedS3.start() as server:
        print(f"server: SeaweedFS weed mini, pid {server.pid}, {server.endpoint_url}")
        server.client().create_bucket(Bucket="bench")
        cfg = resolve_config("bench", environ=server.env(), env_file=os.devnull)
        # Warm-up: the server allocates its volumes, both code paths are imported.
        upload_store(store, config=cfg, prefix="warmup", jobs=args.jobs)
        ratio, ceiling = compare("loopback", server, cfg, store, files, args.rounds, args.jobs)
        if args.latency > 0:
            proxy, url = start_proxy(server.endpoint_url, args.latency / 1000)
            try:
                slow = resolve_config(
                    "bench", environ={**server.env(), "S3_ENDPOINT_URL": url}, env_file=os.devnull
                )
                compare(
                    f"latency +{args.latency:g} ms per PUT (proxy)",
                    server,
                    slow,
                    store,
                    files,
                    max(1, args.rounds - 1),
                    args.jobs,
                )
            finally:
                proxy.terminate()
                proxy.wait(10)
    print(f"\nload average after: {load_average()}")
    verdict = "met" if ratio >= TARGET else "NOT met"
    print(
        f"target upload_store >= {TARGET:g}x sequential on loopback: {verdict}"
        f" ({ratio:.2f}x; CPU ceiling here {ceiling:.2f}x)"
    )


if __name__ == "__main__":
    main()
