"""Converting a sequence-mode .trc run against the same samples in an uncompressed HDF5 file.

Run from the repository root (after ``uv sync``, which builds the optimised extension)::

    uv run python benchmarks/bench_trc.py                    # about 1 GB, best of 3
    uv run python benchmarks/bench_trc.py --gb 0.1 --repeat 1
    uv run python benchmarks/bench_trc.py --gb 0.1,1         # peak RSS at two sizes: flat?
    uv run python benchmarks/bench_trc.py --ratios           # generate's compression ratios

For each size, ``generate`` writes under ``bench-data/`` a run of 2 channels x 1 trc file in
sequence mode (segments of 1e6 int16 samples, big-endian, so every block is byte-swapped)
and, from the same seed, a contiguous uncompressed HDF5 file holding the same samples. Both
are read once into the page cache; then each is converted with the default options in a
fresh process, alternately, ``--repeat`` times. Every child reports its wall time, its
CPU time and its peak RSS (``VmHWM``); the best wall and CPU times of each are kept and
the ratios (HDF5 / .trc: at least 0.9 wanted) are printed, with the largest peak RSS of
both. On a shared machine the CPU ratio is the steadier one. The files are
deleted afterwards unless ``--keep``.

``--ratios`` instead prints the Blosc compression ratios (zstd level 3 and lz4 level 5,
both with bit shuffle) of generated samples, for the original model and the scope model
of 8, 12 and 14 bits, on buffers of 100,002 samples (the length of the real 14-bit
capture quoted in docs/generate.md), 100,000 and 1,048,576 (a raw chunk), averaged over
two channels and three places in a segment.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "bench-data"
SAMPLES = 1_000_000
CHANNELS = 2
SEED = 2024


def _vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(inp: Path, out: Path) -> None:
    """Convert ``inp`` to ``out`` and print one JSON line with time and peak RSS."""
    import zoomingonline

    rss_imports = _vm_hwm_mb()
    t0 = time.perf_counter()
    c0 = time.process_time()
    summary = zoomingonline.convert(inp, out)
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu": cpu,
                "bytes_in": summary.bytes_in,
                "bytes_out": summary.bytes_out,
                "rss_mb": _vm_hwm_mb(),
                "rss_imports_mb": rss_imports,
            }
        )
    )


def ratios() -> None:
    """Compression ratios of generated samples, per model, signal and buffer length."""
    import numcodecs
    import numpy as np
    from zoomingonline.generate import SyntheticRecording

    codecs = {
        "zstd-3": numcodecs.Blosc("zstd", 3, numcodecs.Blosc.BITSHUFFLE),
        "lz4-5": numcodecs.Blosc("lz4", 5, numcodecs.Blosc.BITSHUFFLE),
    }
    print(f"{'model':>9}{'signal':>10}{'samples':>11}" + "".join(f"{k:>9}" for k in codecs))
    for bits in (None, 8, 12, 14):
        for signal in ("sine", "square", "sawtooth", "pulse"):
            rec = SyntheticRecording((2, 1, 1, 10_000_000), signal=signal, seed=1, bits=bits)
            for n in (100_002, 100_000, 1_048_576):
                got: dict[str, list[float]] = {k: [] for k in codecs}
                for c in range(2):
                    for start in (0, 3_000_000, 8_000_000):
                        x = np.empty(n, np.int16)
                        rec.read_into(c, 0, 0, start, x)
                        for k, codec in codecs.items():
                            got[k].append(x.nbytes / len(codec.encode(x)))
                model = "original" if bits is None else f"{bits}-bit"
                print(
                    f"{model:>9}{signal:>10}{n:>11,}"
                    + "".join(f"{sum(v) / len(v):>9.2f}" for v in got.values())
                )


def make_inputs(folder: Path, segments: int) -> tuple[Path, Path]:
    """The .trc run and the HDF5 file with the same samples (kept if already there)."""
    from zoomingonline.generate import generate

    trc = folder / f"bench_trc_{segments}"
    h5 = folder / f"bench_trc_{segments}.h5"
    common = {"channels": CHANNELS, "trcs": 1, "segments": segments, "samples": SAMPLES}
    if not trc.exists():
        generate(trc, format="trc", byte_order="big", seed=SEED, **common)
    if not h5.exists():
        generate(h5, seed=SEED, **common)
    return trc, h5


def warm(path: Path) -> None:
    files = [path] if path.is_file() else sorted(path.iterdir())
    for f in files:
        with f.open("rb") as fh:
            while fh.read(1 << 24):
                pass


def run_child(inp: Path, out: Path) -> dict[str, float]:
    if out.exists():
        shutil.rmtree(out)
    os.sync()
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(inp), str(out)]
    text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    shutil.rmtree(out, ignore_errors=True)
    return json.loads(text.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gb", default="1", help="sizes in GB of samples, comma-separated")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each, best kept")
    ap.add_argument("--keep", action="store_true", help="keep the generated inputs")
    ap.add_argument("--data-dir", type=Path, default=DATA_DIR)
    ap.add_argument("--ratios", action="store_true", help="print compression ratios only")
    ap.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.ratios:
        ratios()
        return 0
    if args.child:
        child(*args.child)
        return 0

    folder: Path = args.data_dir
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for gb in (float(x) for x in args.gb.split(",")):
        segments = max(1, round(gb * 1e9 / (2 * SAMPLES * CHANNELS)))
        trc, h5 = make_inputs(folder, segments)
        warm(trc)
        warm(h5)
        best: dict[str, dict[str, float]] = {}
        for k in range(args.repeat):
            for name, inp in (("trc", trc), ("hdf5", h5)):
                r = run_child(inp, folder / "bench_trc_out.zarr")
                print(
                    f"{gb:g} GB {name} run {k + 1}: {r['seconds']:.2f} s, {r['cpu']:.2f} CPU s,"
                    f" peak RSS {r['rss_mb']:.0f} MB",
                    flush=True,
                )
                if name not in best:
                    best[name] = r
                b = best[name]
                b["rss_mb"] = max(b["rss_mb"], r["rss_mb"])
                b["cpu"] = min(b["cpu"], r["cpu"])
                b["seconds"] = min(b["seconds"], r["seconds"])
        rows.append((gb, segments, best))
        if not args.keep:
            shutil.rmtree(trc)
            h5.unlink()

    print()
    print(
        f"{'GB':>5}{'segments':>10}{'trc s':>8}{'trc GB/s':>10}{'h5 s':>8}{'h5 GB/s':>9}"
        f"{'speed trc/h5':>14}{'CPU trc/h5':>12}{'trc RSS MB':>12}{'h5 RSS MB':>11}"
    )
    for gb, segments, best in rows:
        t, h = best["trc"], best["hdf5"]
        print(
            f"{gb:>5g}{segments:>10}{t['seconds']:>8.2f}{t['bytes_in'] / 1e9 / t['seconds']:>10.3f}"
            f"{h['seconds']:>8.2f}{h['bytes_in'] / 1e9 / h['seconds']:>9.3f}"
            f"{h['seconds'] / t['seconds']:>14.2f}{h['cpu'] / t['cpu']:>12.2f}"
            f"{t['rss_mb']:>12.0f}{h['rss_mb']:>11.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
