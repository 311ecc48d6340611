"""Throughput of the Rust min/max kernel next to numpy and tsdownsample, single-threaded.

Run from the repository root::

    uv run python benchmarks/bench_kernel.py                 # 1e8 int16 samples
    uv run python benchmarks/bench_kernel.py --quick         # 1e7: a smoke run
    uv run python benchmarks/bench_kernel.py --n 300000000 --rounds 7

All variants run in this one process on the same random int16 array (uniform over the
whole int16 range), one thread each:

ours, all levels
    ``minmax_pyramid_into(x, plan.bins, outs, parallel=False)`` with
    ``plan = plan_pyramid(n)`` (finest bin 64, factor 4, coarsest <= 4000 bins): every
    level in one pass over the samples, into preallocated outputs.
ours, bin b
    The same kernel for the single level ``[b]``.
numpy, bin b
    ``x[: n // b * b].reshape(-1, b).min(1)`` and ``.max(1)`` (two passes, tail dropped).
tsdownsample, bin b / n_out=8000
    ``MinMaxDownsampler().downsample(x, n_out=2 * ceil(n / b), parallel=False)``: it
    returns the *indices* of the minima and maxima (gathering the values is not timed).
    n_out=8000 (4000 bins) is its best case, the fewest bins.

Every variant is called once untimed first (page faults of fresh outputs, lazy
initialisation), then the variants are interleaved over ``--rounds`` rounds and the best
time of each is kept. Throughput is input bytes (2 bytes per sample) per second; ratios
come from this same run.

Targets: ours all levels / tsdownsample n_out=8000 >= 1/3; ours bin 16 / numpy bin 16
>= 20; ours all levels >= 10 GB/s.
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tsdownsample
from tsdownsample import MinMaxDownsampler
from zoomingonline.pyramid import minmax_pyramid_into, n_bins, plan_pyramid

#: tests/, home of the numpy oracle (reference.py) the results are checked against.
TESTS = Path(__file__).resolve().parent.parent / "tests"
BINS = (16, 64, 256, 4096)
TSD_BEST_N_OUT = 8000

TARGET_VS_TSD = 1 / 3
TARGET_VS_NUMPY = 20.0
TARGET_GBS = 10.0


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:  # noqa: PTH123
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def ours(x: np.ndarray, bins: list[int]) -> Callable[[], object]:
    outs = [np.empty((2, n_bins(x.size, b)), dtype=x.dtype) for b in bins]

    def run() -> object:
        minmax_pyramid_into(x, bins, outs, False)
        return outs

    return run


def numpy_reshape(x: np.ndarray, b: int) -> Callable[[], object]:
    def run() -> object:
        v = x[: x.size // b * b].reshape(-1, b)
        return v.min(axis=1), v.max(axis=1)

    return run


def tsd(x: np.ndarray, n_out: int) -> Callable[[], object]:
    ds = MinMaxDownsampler()

    def run() -> object:
        return ds.downsample(x, n_out=n_out, parallel=False)

    return run


def check_results(x: np.ndarray) -> None:
    """Sanity check before timing: ours agrees with the tests' numpy oracle."""
    sys.path.insert(0, str(TESTS))
    from reference import reference_level

    for b in (16, 4096):
        lvl = np.empty((2, n_bins(x.size, b)), dtype=x.dtype)
        minmax_pyramid_into(x, [b], [lvl], False)
        assert np.array_equal(lvl, reference_level(x, b)), f"level of bin {b} differs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=float, default=1e8, help="samples (default 1e8)")
    parser.add_argument("--quick", action="store_true", help="smoke run: n = 1e7, 3 rounds")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (default 5)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    n = int(1e7) if args.quick else int(args.n)
    rounds = 3 if args.quick else args.rounds
    if n < 1 or rounds < 1:
        parser.error("--n and --rounds must be positive")

    rng = np.random.default_rng(args.seed)
    x = rng.integers(-(2**15), 2**15, size=n, dtype=np.int16)
    plan = plan_pyramid(n)
    gb = x.nbytes / 1e9

    print(f"CPU: {cpu_name()}; Python {platform.python_version()}")
    print(f"numpy {np.__version__}, tsdownsample {tsdownsample.__version__}")
    print(f"n = {n:,} int16 samples ({x.nbytes / 1e6:,.0f} MB), {rounds} timed rounds, best kept")
    print(f"plan_pyramid(n).bins = {plan.bins} (counts {plan.counts})")
    print()

    check_results(x)

    variants: dict[str, Callable[[], object]] = {
        "ours, all levels": ours(x, list(plan.bins)),
    }
    variants.update({f"ours, bin {b}": ours(x, [b]) for b in BINS})
    variants.update({f"numpy, bin {b}": numpy_reshape(x, b) for b in BINS})
    variants.update({f"tsdownsample, bin {b}": tsd(x, 2 * n_bins(n, b)) for b in BINS})
    variants[f"tsdownsample, n_out={TSD_BEST_N_OUT}"] = tsd(x, TSD_BEST_N_OUT)

    for run in variants.values():  # warm-up: page faults, lazy initialisation
        run()

    best = dict.fromkeys(variants, float("inf"))
    names = list(variants)
    gc.disable()
    try:
        for r in range(rounds):
            # Interleave, rotating the order so no variant always follows the same one.
            k = r % len(names)
            for name in names[k:] + names[:k]:
                t0 = time.perf_counter()
                result = variants[name]()
                dt = time.perf_counter() - t0
                del result
                best[name] = min(best[name], dt)
    finally:
        gc.enable()

    def gbs(name: str) -> float:
        return gb / best[name]

    ref = "ours, all levels"
    print(f"{'variant':<28} {'best ms':>10} {'GB/s':>8} {'ours all levels / this':>23}")
    print("-" * 72)
    for name in names:
        print(
            f"{name:<28} {best[name] * 1e3:>10.2f} {gbs(name):>8.2f} {gbs(ref) / gbs(name):>22.2f}x"
        )
    print()
    print(
        f"{'bin':>6} {'ours GB/s':>10} {'numpy GB/s':>11} {'tsd GB/s':>9} "
        f"{'ours/numpy':>11} {'ours/tsd':>9}"
    )
    for b in BINS:
        o, npy, t = gbs(f"ours, bin {b}"), gbs(f"numpy, bin {b}"), gbs(f"tsdownsample, bin {b}")
        print(f"{b:>6} {o:>10.2f} {npy:>11.2f} {t:>9.2f} {o / npy:>10.1f}x {o / t:>8.2f}x")
    print()

    vs_tsd = gbs(ref) / gbs(f"tsdownsample, n_out={TSD_BEST_N_OUT}")
    vs_numpy = gbs("ours, bin 16") / gbs("numpy, bin 16")
    checks = [
        (
            f"ours all levels / tsdownsample n_out={TSD_BEST_N_OUT}",
            vs_tsd,
            TARGET_VS_TSD,
            f"{vs_tsd:.2f}x",
            ">= 0.33x",
        ),
        ("ours bin 16 / numpy bin 16", vs_numpy, TARGET_VS_NUMPY, f"{vs_numpy:.1f}x", ">= 20x"),
        ("ours all levels, absolute", gbs(ref), TARGET_GBS, f"{gbs(ref):.2f} GB/s", ">= 10 GB/s"),
    ]
    print(f"{'target':<44} {'measured':>12} {'goal':>11}  verdict")
    for label, value, goal, shown, goal_shown in checks:
        verdict = "met" if value >= goal else "MISSED"
        print(f"{label:<44} {shown:>12} {goal_shown:>11}  {verdict}")


if __name__ == "__main__":
    main()
