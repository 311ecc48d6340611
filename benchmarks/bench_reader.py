"""The reader against reading raw spans, and ``verify`` against decoding every chunk once.

Run from the repository root (the optimised build, as ``uv sync`` makes it)::

    uv run python benchmarks/bench_reader.py                       # both parts, full size
    uv run python benchmarks/bench_reader.py --samples 2e7 --verify-samples 5e7   # smoke run
    uv run python benchmarks/bench_reader.py --part windows        # or --part verify

Windows
    A synthetic recording of one segment of ``--samples`` (1e8) int16 samples, 2 ns
    apart (``zoomingonline generate``), converted with the default options, is served by
    ``zoomingonline serve`` (the command, in a subprocess) on 127.0.0.1. The store is
    opened over HTTP through zarr's ObjectStore (obstore), wrapped in a store that counts
    the bytes and the chunks fetched. For the whole segment and for windows of 1 ms and
    10 us (in the middle of the segment), ``max_points=2000``: the level chosen, the
    chunks and bytes read and the time (best of ``--repeat``), against reading the raw
    span (whole raw chunks over the same HTTP path, what the deployed viewer does when
    zoomed in). Targets: at most two chunks of the level used; at least 20x fewer bytes
    than the raw span for spans of 1 ms and more. The same windows are then measured on
    a store whose overview chunks hold ``--overview-chunk`` (8192) bins instead of the
    writer's 65536: an overview chunk is a single Blosc block, so a window pays for the
    whole chunk, and the chunk length decides the bytes of zoomed-in windows.

Verify
    A store of about 1.2 GB on disk (``--verify-samples``, 9e8 int16 samples of the
    generator's sine with noise, 2 channels x 3 segments) in a temporary folder, in the
    page cache (read once before measuring). ``verify`` (metadata, every chunk, every
    bin) against the baseline: fetching and Blosc-decoding every chunk once through the
    same zarr store, on a thread pool of two threads per core, doing nothing else. Target:
    verify at least 0.8x the baseline's speed. Both are run ``--repeat`` times,
    alternating, and the best of each kept; CPU seconds are reported too, since they
    depend little on the other tenants of a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import zoomingonline
from zarr.storage import LocalStore, ObjectStore, WrapperStore
from zoomingonline.convert import convert
from zoomingonline.generate import generate
from zoomingonline.reader import Recording, verify
from zoomingonline.reader._location import Location
from zoomingonline.store import StoreLayout, StoreWriter, read_into_fn

HORIZ = 2e-9


class CountingStore(WrapperStore[Any]):
    """Any zarr store, counting the chunks and bytes fetched through it."""

    def __init__(self, store: Any) -> None:
        super().__init__(store)
        self.bytes = 0
        self.chunks = 0

    def _with_store(self, store: Any) -> CountingStore:
        return CountingStore(store)

    async def get(self, key: str, prototype: Any, byte_range: Any = None) -> Any:
        value = await self._store.get(key, prototype, byte_range)
        if value is not None and not key.rsplit("/", 1)[-1].startswith("."):
            self.bytes += len(value)
            self.chunks += 1
        return value

    def reset(self) -> None:
        self.bytes = self.chunks = 0


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_store(
    folder: Path, name: str, shape: tuple[int, int, int, int], overview_chunk: int | None = None
) -> Path:
    """Generate a recording and convert it with the defaults (or another overview chunk
    length, through the writer itself, since ``convert`` does not expose it)."""
    import h5py

    h5 = folder / f"{name}.h5"
    store = folder / f"{name}.zarr"
    c, t, s, n = shape
    t0 = time.perf_counter()
    generate(h5, channels=c, trcs=t, segments=s, samples=n, seed=1, overwrite=True)
    if overview_chunk is None:
        convert(h5, store, overwrite=True)
    else:
        with h5py.File(h5, "r") as f:
            dset = f["samples"]
            layout = StoreLayout.create(dset.shape, dset.dtype, overview_chunk=overview_chunk)
            attrs = {
                "horiz_interval": HORIZ,
                "vertical_gains": np.asarray(f["vertical_gain"]).tolist(),
                "vertical_offsets": np.asarray(f["vertical_offset"]).tolist(),
            }
            with StoreWriter(store, layout, attrs, overwrite=True) as writer:
                writer.write_all(read_into_fn(dset))
    h5.unlink()
    print(f"  made {store.name} {shape} in {time.perf_counter() - t0:.0f} s", flush=True)
    return store


def best(f: Any, repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return min(times), out


def bench_windows(folder: Path, samples: int, repeat: int, overview_chunk: int | None) -> bool:
    from obstore.store import HTTPStore

    chunking = "default" if overview_chunk is None else f"{overview_chunk}"
    print(
        f"windows: 1 segment of {samples:,} int16 samples, overview chunks: {chunking},"
        " served by zoomingonline serve"
    )
    shutil.rmtree(folder / "win.zarr", ignore_errors=True)
    make_store(folder, "win", (1, 1, 1, samples), overview_chunk)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "zoomingonline.cli", "serve", str(folder), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ok = True
    try:
        url = f"http://127.0.0.1:{port}/win.zarr"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/.zgroup", timeout=1).read()  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        http = ObjectStore(
            HTTPStore.from_url(url, client_options={"allow_http": True}), read_only=True
        )
        counting = CountingStore(http)
        rec = Recording(Location(url, "http", counting, http_url=url))
        mid = samples * HORIZ / 2
        print(
            f"  {'window':<8} {'level':<11} {'bins':>6} {'chunks':>6} {'bytes':>10} {'ms':>7}"
            f"   raw span: {'chunks':>6} {'bytes':>11} {'ms':>7}   bytes ratio"
        )
        for label, t0, t1 in (
            ("whole", None, None),
            ("1 ms", mid, mid + 1e-3),
            ("10 us", mid, mid + 10e-6),
        ):
            counting.reset()
            seconds, w = best(lambda t0=t0, t1=t1: rec.window(0, 0, 0, t0, t1), repeat)
            nbytes, nchunks = counting.bytes // repeat, counting.chunks // repeat
            a, e = rec.span(t0, t1)
            counting.reset()
            raw_s, _ = best(lambda a=a, e=e: rec.raw[0, 0, 0, a:e], repeat)
            raw_bytes, raw_chunks = counting.bytes // repeat, counting.chunks // repeat
            ratio = raw_bytes / nbytes
            print(
                f"  {label:<8} {w.level:<11} {len(w):>6} {nchunks:>6} {nbytes:>10,}"
                f" {seconds * 1e3:>7.2f}   {'':>9} {raw_chunks:>6} {raw_bytes:>11,}"
                f" {raw_s * 1e3:>7.2f}   {ratio:>8.1f}x"
            )
            if nchunks > 2:
                print(f"  MISSED: {label} read {nchunks} chunks of {w.level}")
                ok = False
            if label != "10 us" and ratio < 20:
                print(f"  MISSED: {label} reads only {ratio:.1f}x fewer bytes than the raw span")
                ok = False
    finally:
        server.terminate()
        server.wait(10)
    return ok


def decode_all(store: Any, rec: Recording, workers: int) -> int:
    """Fetch and decode every chunk of the store once; the decoded bytes."""
    import numcodecs
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync

    paths = ["raw", *(lv.path for lv in rec.levels)]
    jobs: list[tuple[Any, str]] = []
    for path in paths:
        array = rec._array(path)
        codec = numcodecs.get_codec(dict(array.metadata.compressor.get_config()))
        grid = [range(-(-s // c)) for s, c in zip(array.shape, array.chunks, strict=True)]
        jobs.extend(
            (codec, f"{path}/{'.'.join(str(i) for i in idx)}")
            for idx in np.ndindex(*(len(g) for g in grid))
        )
    proto = default_buffer_prototype()

    def one(batch: list[tuple[Any, str]]) -> int:
        async def get_all() -> list[Any]:
            return await asyncio.gather(*(store.get(k, prototype=proto) for _, k in batch))

        return sum(
            len(codec.decode(v.as_numpy_array()))
            for (codec, _), v in zip(batch, sync(get_all()), strict=True)
        )

    batches = [jobs[i : i + 4] for i in range(0, len(jobs), 4)]
    with ThreadPoolExecutor(workers) as pool:
        return sum(pool.map(one, batches))


def bench_verify(folder: Path, samples: int, repeat: int) -> bool:
    per = -(-samples // 6)
    print(f"verify: 2 channels x 3 segments x {per:,} int16 samples")
    store = make_store(folder, "ver", (2, 1, 3, per))
    size = sum(p.stat().st_size for p in store.rglob("*") if p.is_file())
    for p in store.rglob("*"):
        if p.is_file():
            p.read_bytes()
    print(f"  store: {size / 1e9:.2f} GB on disk")
    rec = zoomingonline.open(store)
    workers = 2 * (os.cpu_count() or 1)
    base_t: list[tuple[float, float]] = []
    ver_t: list[tuple[float, float]] = []
    decoded = 0
    for _ in range(repeat):
        t, cpu = time.perf_counter(), time.process_time()
        decoded = decode_all(LocalStore(store, read_only=True), rec, workers)
        base_t.append((time.perf_counter() - t, time.process_time() - cpu))
        t, cpu = time.perf_counter(), time.process_time()
        report = verify(rec)
        ver_t.append((time.perf_counter() - t, time.process_time() - cpu))
        if not report.ok:
            print("  verify found problems in a good store:", report.problems[:3])
            return False
    b, v = min(x[0] for x in base_t), min(x[0] for x in ver_t)
    bc, vc = min(x[1] for x in base_t), min(x[1] for x in ver_t)
    print(
        f"  decode every chunk once: {b:.2f} s, {bc:.2f} CPU s ({size / b / 1e6:,.0f} MB/s"
        f" stored, {decoded / b / 1e6:,.0f} MB/s decoded)"
    )
    print(
        f"  verify:                  {v:.2f} s, {vc:.2f} CPU s ({size / v / 1e6:,.0f} MB/s stored)"
    )
    print(f"  verify speed / decode speed: {b / v:.2f} wall, {bc / vc:.2f} CPU (target >= 0.8)")
    return b / v >= 0.8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=float, default=1e8, help="samples of the window store")
    parser.add_argument("--verify-samples", type=float, default=9e8, help="samples to verify")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--overview-chunk",
        type=int,
        default=8192,
        help="also measure windows of a store with overview chunks of this many bins (0: no)",
    )
    parser.add_argument("--part", choices=("windows", "verify", "both"), default="both")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-reader-"))
    ok = True
    try:
        if args.part in ("windows", "both"):
            ok &= bench_windows(folder, int(args.samples), args.repeat, None)
            if args.overview_chunk:
                bench_windows(folder, int(args.samples), args.repeat, args.overview_chunk)
        if args.part in ("verify", "both"):
            ok &= bench_verify(folder, int(args.verify_samples), args.repeat)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print("all targets met" if ok else "some targets missed")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
