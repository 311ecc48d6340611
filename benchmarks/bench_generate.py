"""Speed and memory of ``zoomingonline generate`` next to the original generator.

Run from the repository root::

    uv run python benchmarks/bench_generate.py               # 1e7 samples per segment
    uv run python benchmarks/bench_generate.py --quick       # a smoke run
    uv run python benchmarks/bench_generate.py --samples 3e7 --rounds 5

The baseline is a re-implementation, written for this benchmark, of the original
``generate_data.py``'s per-segment loop, numpy operation for numpy operation: time axis
``arange(n) * 2 ns``, gaussian timing jitter (``rng.normal`` per sample), the base signal
of the jittered time, the event (``linspace``, ``exp``, ``sin`` over 126 samples), the
two drift sines, gaussian noise (``rng.normal`` per sample), three glitches, the channel
offset, the division by the gain, ``clip`` and ``astype(int16)``. Its ``save_zarr`` is
re-implemented with zarr 3.1 the way the original wrote (zarr format 2, raw chunks of
100,000 samples, Blosc zstd level 5 bit-shuffle, one overview level, tail dropped, the
whole recording in memory).

Part 1, per core: one segment of ``--samples`` samples, in this process, one thread,
for each signal: ours is ``SyntheticRecording.read_into(..., parallel=False)`` into a
fresh array, the baseline the loop body above. Both are called once untimed, then
interleaved over ``--rounds`` rounds (order rotated); the best wall time of each is kept,
and the process CPU time of that same call is reported too (it is not inflated by other
tenants of a shared machine). Ours with ``parallel=True`` (every core) is shown for
information. Target: ours / baseline >= 10 per core for every signal.

Part 2, end to end: each run in a fresh Python process (imports done before the clock
starts): ``generate(OUT, channels=2, trcs=1, segments=3, samples=N)`` to ``.zarr`` and
to ``.h5``, and the baseline's whole script to ``.zarr`` (generate everything, then
save). Wall time, the child's CPU seconds (all its threads) and its peak RSS (``VmHWM`` of
``/proc/self/status``, read by the child at the end: on Linux ``ru_maxrss`` of a child keeps
the peak of the parent it was forked from). Per-core throughput is sample bytes / CPU
seconds.

Part 3, memory: the peak RSS of ``generate`` to ``.zarr`` and ``.h5`` at ``--samples``
and at ``--big`` samples (default 1e8, the default dataset, 1.2 GB); flat means the
difference is below 64 MB. Outputs go to ``bench-data/generate/`` (git-ignored) and are
deleted after each run.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from zoomingonline._core import SIGNALS

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "bench-data" / "generate"
SHAPE = (2, 1, 3)  # channels, trcs, segments: the original's default
TARGET_PER_CORE = 10.0
FLAT_RSS_MB = 64.0


# -- the original generator, re-implemented -------------------------------------------------


def baseline_signal(signal: str, t: np.ndarray) -> np.ndarray:
    f = 50.0
    if signal == "sine":
        return 0.1 * np.sin(2 * np.pi * f * t)
    if signal == "square":
        return 0.1 * np.sign(np.sin(2 * np.pi * f * t))
    if signal == "sawtooth":
        return 0.1 * (2 * (t * f - np.floor(0.5 + t * f)))
    period = 1 / f
    return np.where(t % period < period / 20, 0.2, 0.0)


def baseline_segment(
    rng: np.random.Generator, n: int, signal: str, channel: int, gain: float, offset: float
) -> np.ndarray:
    """One segment, operation for operation as the original's per-segment loop."""
    dt = 2e-9
    t = np.arange(n) * dt
    jittered = t + rng.normal(0, dt * 0.05, size=n)
    v = baseline_signal(signal, jittered)
    step = t[1] - t[0] if n > 1 else dt
    a, b = int(443.5e-6 / step), int(443.75e-6 / step)
    if b <= n:
        u = np.linspace(0, 20, b - a)
        v[a:b] += -0.05 * np.exp(-u) * np.sin(2 * np.pi * 50 * u)
    v = v + (0.01 * np.sin(2 * np.pi * 0.1 * t) + 0.005 * np.sin(2 * np.pi * 0.5 * t))
    v += rng.normal(0, 0.01, size=n)
    for _ in range(3):
        i = rng.integers(0, n)
        v[i] += rng.choice([-1, 1]) * rng.uniform(0.05, 0.15)
    adc = (v + channel * 0.05 + offset) / gain
    return np.clip(adc, -32768, 32767).astype("int16")


def baseline_generate(shape: tuple[int, int, int, int], signal: str = "sine") -> tuple[Any, ...]:
    """The original ``generate_realistic_data``: everything in memory."""
    cn, tn, sn, n = shape
    rng = np.random.default_rng()
    gains = np.zeros((cn, tn), "float32")
    offsets = np.zeros((cn, tn), "float32")
    data = np.zeros(shape, "int16")
    for c in range(cn):
        for t in range(tn):
            gain = 1e-4 * rng.uniform(0.98, 1.02)
            offset = -0.2 + rng.uniform(-0.01, 0.01)
            gains[c, t], offsets[c, t] = gain, offset
            for s in range(sn):
                data[c, t, s] = baseline_segment(rng, n, signal, c, gain, offset)
    return data, 2e-9, gains, offsets


def baseline_save_zarr(path: str, data: np.ndarray, hi: float, gains: Any, offsets: Any) -> None:
    """The original ``save_zarr``, with the zarr 3.1 API."""
    import numcodecs
    import zarr

    if Path(path).exists():
        shutil.rmtree(path)
    root = zarr.open_group(path, mode="w", zarr_format=2)
    root.attrs.update(
        {
            "horiz_interval": hi,
            "vertical_gains": gains.tolist(),
            "vertical_offsets": offsets.tolist(),
        }
    )
    blosc = numcodecs.Blosc(cname="zstd", clevel=5, shuffle=numcodecs.Blosc.BITSHUFFLE)
    raw = root.create_array(
        "raw", shape=data.shape, dtype=data.dtype, chunks=(1, 1, 1, 100_000), compressors=blosc
    )
    raw[...] = data
    factor = max(1, data.shape[-1] // 4000)
    ov_shape = (*data.shape[:-1], 2, data.shape[-1] // factor)
    ov = np.zeros(ov_shape, "int16")
    for idx in np.ndindex(data.shape[:3]):
        x = data[idx]
        fit = len(x) - len(x) % factor
        r = x[:fit].reshape(-1, factor)
        ov[idx] = np.stack([r.min(axis=1), r.max(axis=1)])
    arr = root.create_array(
        "overview/0",
        shape=ov.shape,
        dtype=ov.dtype,
        chunks=(1, 1, 1, 2, ov_shape[-1]),
        compressors=blosc,
    )
    arr[...] = ov


# -- part 1: per core -------------------------------------------------------------------------


def time_call(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall, process CPU) seconds of one call."""
    c0, t0 = time.process_time(), time.perf_counter()
    result = fn()
    t1, c1 = time.perf_counter(), time.process_time()
    del result
    return t1 - t0, c1 - c0


def per_core(n: int, rounds: int) -> dict[str, float]:
    from zoomingonline.generate import SyntheticRecording

    print(f"== per core: one segment of {n:,} samples ({2 * n / 1e6:,.0f} MB int16), one thread")
    variants: dict[str, Callable[[], object]] = {}
    for signal in SIGNALS:
        rec = SyntheticRecording((1, 1, 1, n), signal=signal, seed=1)
        rng = np.random.default_rng(1)

        def ours(rec: SyntheticRecording = rec, parallel: bool = False) -> object:
            out = np.empty(n, np.int16)
            rec.read_into(0, 0, 0, 0, out, parallel=parallel)
            return out

        def base(rng: np.random.Generator = rng, signal: str = signal) -> object:
            return baseline_segment(rng, n, signal, 0, 1e-4, -0.2)

        variants[f"ours {signal}"] = ours
        variants[f"baseline {signal}"] = base
        variants[f"ours {signal}, all cores"] = lambda rec=rec: ours(rec, True)
    for fn in variants.values():
        fn()
    best = {k: (float("inf"), float("inf")) for k in variants}
    names = list(variants)
    gc.disable()
    try:
        for r in range(rounds):
            k = r % len(names)
            for name in names[k:] + names[:k]:
                wall, cpu = time_call(variants[name])
                if wall < best[name][0]:
                    best[name] = (wall, cpu)
    finally:
        gc.enable()
    mb = 2 * n / 1e6
    print(f"{'variant':<32} {'best ms':>9} {'MB/s':>8} {'cpu ms':>9}")
    for name in names:
        wall, cpu = best[name]
        print(f"{name:<32} {wall * 1e3:>9.1f} {mb / wall:>8.0f} {cpu * 1e3:>9.1f}")
    print()
    ratios = {}
    print(
        f"{'signal':<10} {'ours MB/s':>10} {'base MB/s':>10}"
        f" {'ratio (wall)':>13} {'ratio (cpu)':>12}"
    )
    for signal in SIGNALS:
        o, b = best[f"ours {signal}"], best[f"baseline {signal}"]
        ratios[signal] = b[0] / o[0]
        print(
            f"{signal:<10} {mb / o[0]:>10.0f} {mb / b[0]:>10.1f} {b[0] / o[0]:>12.1f}x"
            f" {b[1] / o[1]:>11.1f}x"
        )
    print()
    return ratios


# -- parts 2 and 3: subprocesses --------------------------------------------------------------

CHILD = r"""
import json, os, resource, sys, time
args = json.loads(sys.argv[1])
import numpy as np, zarr, h5py, numcodecs
from zoomingonline.generate import generate
sys.path.insert(0, args["bench_dir"])
import bench_generate as bench

def hwm_kb():
    # The peak RSS of this program: VmHWM starts afresh at exec, where ru_maxrss on
    # Linux keeps the forked parent's peak.
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))

rss0 = hwm_kb()
c0 = resource.getrusage(resource.RUSAGE_SELF)
t0 = time.perf_counter()
if args["mode"] == "ours":
    generate(args["out"], samples=args["n"], seed=1, overwrite=True, jobs=0)
else:
    data, hi, g, o = bench.baseline_generate(tuple(args["shape"]))
    bench.baseline_save_zarr(args["out"], data, hi, g, o)
wall = time.perf_counter() - t0
c1 = resource.getrusage(resource.RUSAGE_SELF)
cpu = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
print(json.dumps({"wall": wall, "cpu": cpu, "rss_after_imports_kb": rss0, "rss_kb": hwm_kb()}))
"""


def run_child(mode: str, out: Path, n: int) -> dict[str, Any]:
    """Run one measurement in a fresh process, which reports its own peak RSS (VmHWM)."""
    args = {
        "mode": mode,
        "out": str(out),
        "n": n,
        "shape": [*SHAPE, n],
        "bench_dir": str(Path(__file__).resolve().parent),
    }
    with tempfile.TemporaryFile("w+") as out_f, tempfile.TemporaryFile("w+") as err_f:
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, json.dumps(args)], stdout=out_f, stderr=err_f, text=True
        )
        proc.wait()
        out_f.seek(0)
        err_f.seek(0)
        stdout, stderr = out_f.read(), err_f.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} {out} failed:\n{stderr}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["rss_mb"] = result["rss_kb"] / 1024
    result["bytes_out"] = size_of(out)
    remove(out)
    return result


def size_of(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.exists() else 0


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def end_to_end(n: int, rounds: int, with_baseline: bool) -> None:
    total = 2 * np.prod(SHAPE) * n
    print(f"== end to end: {SHAPE[0]} x {SHAPE[1]} x {SHAPE[2]} x {n:,} ({total / 1e6:,.0f} MB)")
    runs = [("ours", "ours.zarr"), ("ours", "ours.h5")]
    if with_baseline:
        runs.append(("baseline", "baseline.zarr"))
    best: dict[str, dict[str, Any]] = {}
    for r in range(rounds):
        for mode, name in runs[r % len(runs) :] + runs[: r % len(runs)]:
            res = run_child(mode, DATA_DIR / name, n)
            key = f"{mode} -> {name.split('.')[1]}"
            if key not in best or res["wall"] < best[key]["wall"]:
                best[key] = res
    print(
        f"{'run':<18} {'wall s':>8} {'MB/s':>8} {'cpu s':>8} {'MB/s per core':>14}"
        f" {'peak RSS MB':>12} {'written MB':>11}"
    )
    for key, res in best.items():
        print(
            f"{key:<18} {res['wall']:>8.2f} {total / res['wall'] / 1e6:>8.0f} {res['cpu']:>8.2f}"
            f" {total / res['cpu'] / 1e6:>14.0f} {res['rss_mb']:>12.0f}"
            f" {res['bytes_out'] / 1e6:>11.1f}"
        )
    if with_baseline:
        b = best["baseline -> zarr"]
        o = best["ours -> zarr"]
        print(
            f"ours / baseline to .zarr: {b['wall'] / o['wall']:.1f}x wall,"
            f" {b['cpu'] / o['cpu']:.1f}x per core (cpu seconds)"
        )
    print()


def memory(small: int, big: int) -> bool:
    print(f"== peak RSS of generate at {small:,} and {big:,} samples per segment")
    flat = True
    print(
        f"{'output':<8} {'samples':>13} {'peak RSS MB':>12} {'after imports MB':>17} {'wall s':>8}"
    )
    for ext in ("zarr", "h5"):
        rss = []
        for n in (small, big):
            res = run_child("ours", DATA_DIR / f"mem.{ext}", n)
            rss.append(res["rss_mb"])
            print(
                f"{ext:<8} {n:>13,} {res['rss_mb']:>12.0f}"
                f" {res['rss_after_imports_kb'] / 1024:>17.0f} {res['wall']:>8.2f}"
            )
        grows = rss[1] - rss[0]
        flat &= grows < FLAT_RSS_MB
        print(f"{ext:<8} growth {grows:+.0f} MB for {big / small:.0f}x the samples")
    print()
    return flat


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:  # noqa: PTH123
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--samples", type=float, default=1e7, help="samples per segment")
    parser.add_argument("--big", type=float, default=1e8, help="larger size for the RSS check")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (best kept)")
    parser.add_argument("--quick", action="store_true", help="1e6 samples, 1e7 big, 2 rounds")
    parser.add_argument("--no-baseline-e2e", action="store_true", help="skip the slow baseline")
    args = parser.parse_args()
    n, big, rounds = int(args.samples), int(args.big), args.rounds
    if args.quick:
        n, big, rounds = 1_000_000, 10_000_000, 2
    if n < 2 or big <= n or rounds < 1:
        parser.error("need --samples >= 2, --big > --samples and --rounds >= 1")
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    need = 2 * 2 * np.prod(SHAPE) * big
    if shutil.disk_usage(DATA_DIR).free < need:
        sys.exit(f"need {need / 1e9:.1f} GB free in {DATA_DIR}")

    import zoomingonline

    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores; Python {platform.python_version()}")
    print(f"zoomingonline {zoomingonline.__version__}, numpy {np.__version__}; load {load()}")
    print()
    ratios = per_core(n, rounds)
    end_to_end(n, rounds, with_baseline=not args.no_baseline_e2e)
    flat = memory(n, big)
    print(f"load average at the end: {load()}")
    worst = min(ratios.values())
    verdict = "met" if worst >= TARGET_PER_CORE else "MISSED"
    print(
        f"target: ours / baseline per core >= {TARGET_PER_CORE:.0f}x: worst {worst:.1f}x  {verdict}"
    )
    print(f"target: peak RSS flat (< {FLAT_RSS_MB:.0f} MB growth): {'met' if flat else 'MISSED'}")


if __name__ == "__main__":
    main()
