"""Import of 8 files on a Dask LocalCluster (2 worker processes) next to one process.

Run from the repository root::

    uv run python benchmarks/bench_cluster.py               # 8 files, 2 rounds
    uv run python benchmarks/bench_cluster.py --files 16 --samples 16000000 --rounds 3

The inputs are ``write_demo_hdf5`` recordings (2 channels x 1 trc x 2 segments x
``--samples`` int16 samples each, different seeds), written under
``bench-data/cluster/`` (git-ignored) and reused by later runs. The S3 server is
SeaweedFS (``weed mini``) on loopback, started with the helper of the tests
(``tests/s3server.py``) and stopped at the end.

Variants, each importing all the files to a fresh prefix (nothing can be skipped), the
local stores in a fresh folder and deleted after their verified upload:

sequential
    ``import_paths(files)`` in this process: the files converted one after another
    (each conversion compressing with one thread per core), each upload overlapping the
    next conversion. The baseline.
dask local:2
    ``import_paths(files, dask="local:2")``: a LocalCluster of 2 single-threaded worker
    processes started and stopped by the call (its start-up counted), each file one task;
    each conversion compresses with one thread (``jobs=1``), so 2 workers use 2 cores.
dask, cluster up
    The same with a LocalCluster started beforehand (``dask=<address>``): what a
    cluster that is already running costs per batch.

The variants are interleaved, the order rotated every round; the best wall time of each
is kept and the ratio to the sequential best is printed. On a 2-core machine the
sequential import already keeps both cores compressing, so the ratio shows the cost of
the scheduling, not a speed-up; the speed-up of the cluster comes from more machines.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from s3server import SeaweedS3  # noqa: E402
from zoomingonline.demo import write_demo_hdf5  # noqa: E402
from zoomingonline.importer import import_paths  # noqa: E402
from zoomingonline.s3 import S3Config  # noqa: E402

DATA = ROOT / "bench-data" / "cluster"


def inputs(files: int, samples: int) -> list[Path]:
    """The recordings, written once per size and reused."""
    folder = DATA / f"{files}x{samples}"
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(files):
        path = folder / f"run{i:02d}.h5"
        if not path.is_file():
            tmp = folder / f".run{i:02d}.h5"
            write_demo_hdf5(tmp, segments=2, samples=samples, seed=i)
            tmp.replace(path)
        out.append(path)
    return out


def main() -> None:
    """Measure and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--samples", type=int, default=8_000_000, help="per segment")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from distributed import LocalCluster

    # distributed configures its own loggers at INFO; keep the output to the figures.
    logging.getLogger("distributed").setLevel(logging.WARNING)

    files = inputs(args.files, args.samples)
    size = sum(p.stat().st_size for p in files)
    print(
        f"{len(files)} files, {size / 1e6:,.0f} MB of HDF5; {os.cpu_count()} cores;"
        f" load average {os.getloadavg()[0]:.2f}"
    )
    server = SeaweedS3.start()
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    try:
        s3 = server.client()
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        s3.create_bucket(Bucket=bucket)
        config = S3Config(
            bucket=bucket,
            endpoint_url=server.endpoint_url,
            region=server.region,
            access_key_id=server.access_key,
            secret_access_key=server.secret_key,
        )

        def run(dask: str | None, options: dict[str, Any]) -> Callable[[], None]:
            def go() -> None:
                with tempfile.TemporaryDirectory(dir=DATA) as out:
                    summary = import_paths(
                        files,
                        config=dataclasses.replace(config, prefix=uuid.uuid4().hex[:8]),
                        output_dir=out,
                        convert_options=options,
                        dask=dask,
                    )
                assert summary.ok, [f.error for f in summary.failed]
                assert {f.status for f in summary.files} == {"uploaded"}

            return go

        variants: dict[str, Callable[[], None]] = {
            "sequential": run(None, {}),
            "dask local:2": run("local:2", {"jobs": 1}),
            "dask, cluster up": run(cluster.scheduler_address, {"jobs": 1}),
        }
        best: dict[str, float] = {}
        names = list(variants)
        for r in range(args.rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                t0 = time.perf_counter()
                variants[name]()
                wall = time.perf_counter() - t0
                best[name] = min(best.get(name, wall), wall)
                print(f"  round {r + 1}: {name:<18} {wall:6.2f} s")
    finally:
        cluster.close()
        server.stop()
    base = best["sequential"]
    print(f"best of {args.rounds} rounds ({size / 1e6 / base:,.0f} MB/s of HDF5 sequentially):")
    for name, wall in best.items():
        print(f"  {name:<18} {wall:6.2f} s   speed {base / wall:4.2f}x sequential")


if __name__ == "__main__":
    main()
