"""Peak RSS of ``zoomingonline.convert`` must not grow with the segment length.

Run from the repository root::

    uv run python benchmarks/bench_memory.py                   # N = 1e7, 1e8, 1e9
    uv run python benchmarks/bench_memory.py --sizes 1e7,1e8   # smaller
    uv run python benchmarks/bench_memory.py --keep            # keep the generated files

For each N, an int16 HDF5 file of shape (1, 1, 1, N) (one segment of N samples; 1e9 makes
2 GB) is generated block by block under ``bench-data/`` with the content of
``bench_convert.py``, read once into the page cache, then converted with default options in
a fresh process whose own peak RSS (``VmHWM``) is reported, with its RSS after the imports.
For contrast, the original-style converter of ``bench_convert.py`` (whole segments in
memory) is measured the same way; ``--no-baseline`` skips it. Sizes whose file and outputs
do not fit on the free disk are skipped. The files are deleted afterwards unless
``--keep``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import bench_convert as bc

DEFAULT_SIZES = "1e7,1e8,1e9"
#: Flat means: the largest size's peak RSS at most this much above the smallest's, in MB.
FLAT_MB = 50.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=DEFAULT_SIZES, help=f"default {DEFAULT_SIZES}")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--no-baseline", action="store_true", help="skip the original-style run")
    ap.add_argument("--data-dir", type=Path, default=bc.DATA_DIR)
    args = ap.parse_args(argv)

    sizes = [int(float(x)) for x in args.sizes.split(",")]
    data_dir: Path = args.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    modes = ["convert"] + ([] if args.no_baseline else ["baseline"])
    rows = []
    for n in sizes:
        shape = (1, 1, 1, n)
        path = data_dir / f"bench_memory_{n}.h5"
        out = data_dir / "bench_memory_out.zarr"
        nbytes = 2 * n
        need = (0 if bc.input_ok(path, shape) else nbytes) + nbytes + (1 << 30)
        free = bc.disk_free(data_dir)
        if free < need:
            print(f"N={n:.0e}: skipped, {free / 1e9:.1f} GB free < {need / 1e9:.1f} GB needed")
            continue
        bc.ensure_input(path, shape)
        print(f"warm-up read: {bc.warm_cache(path):.2f} GB/s", flush=True)
        row: dict[str, dict] = {}
        for m in modes:
            row[m] = bc.run_child(m, path, out)
            r = row[m]
            print(
                f"N={n:.0e} {m}: {r['seconds']:.2f} s, peak RSS {r['rss_mb']:.0f} MB"
                f" (others' load {r['others']:.0%})",
                flush=True,
            )
            shutil.rmtree(out, ignore_errors=True)
        rows.append((n, row))
        if not args.keep:
            path.unlink()
            print(f"deleted {path}")

    if not rows:
        print("nothing measured", file=sys.stderr)
        return 1
    print()
    head = f"{'N':>8}{'GB':>7}{'convert s':>11}{'GB/s':>7}{'peak RSS':>10}{'imports':>9}"
    head += f"{'work':>7}"
    if not args.no_baseline:
        head += f"{'baseline s':>12}{'baseline RSS':>14}"
    print(head + "   (RSS in MB; work = peak - after imports)")
    for n, row in rows:
        c = row["convert"]
        line = (
            f"{n:>8.0e}{2 * n / 1e9:>7.2f}{c['seconds']:>11.2f}"
            f"{c['bytes_in'] / 1e9 / c['seconds']:>7.3f}{c['rss_mb']:>10.0f}"
            f"{c['rss_imports_mb']:>9.0f}{c['rss_mb'] - c['rss_imports_mb']:>7.0f}"
        )
        if "baseline" in row:
            b = row["baseline"]
            line += f"{b['seconds']:>12.2f}{b['rss_mb']:>14.0f}"
        print(line)
    peaks = [row["convert"]["rss_mb"] for _, row in rows]
    growth = peaks[-1] - peaks[0]
    verdict = "flat" if growth <= FLAT_MB else "GROWS"
    print(
        f"convert peak RSS from N={rows[0][0]:.0e} to N={rows[-1][0]:.0e}:"
        f" {peaks[0]:.0f} -> {peaks[-1]:.0f} MB ({growth:+.0f} MB, x{peaks[-1] / peaks[0]:.2f}):"
        f" {verdict} (flat = at most {FLAT_MB:.0f} MB more)"
    )
    return 0 if verdict == "flat" else 2


if __name__ == "__main__":
    sys.exit(main())
