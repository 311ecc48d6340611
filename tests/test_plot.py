"""``zoomingonline plot``: the PNG shows the band where the signal is.

The store holds a step: +1 V for the first half of the segment, -1 V for the second.
The picture is read back and its pixel columns are checked: band-coloured pixels high on
the left, low on the right, across the plot's width; zoomed in, the raw trace's colour.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from clihelpers import assert_one_error, run
from matplotlib.colors import to_rgb
from matplotlib.image import imread
from readhelpers import HORIZ, write_store
from zoomingonline.reader import open as open_store
from zoomingonline.reader.plot import BAND_COLOR, TRACE_COLOR, plot_window, unit_for

N = 400_000


@pytest.fixture(scope="module")
def step(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(1)
    x = np.empty((1, 1, 2, N), np.int16)
    x[..., : N // 2] = 1000
    x[..., N // 2 :] = -1000
    x += rng.integers(-20, 21, size=x.shape, dtype=np.int16)
    x[0, 0, 1] = -x[0, 0, 1]  # segment 1: the step the other way
    root = tmp_path_factory.mktemp("plot")
    return write_store(
        root / "step.zarr",
        x,
        raw_chunk=65_536,
        target=200,
        min_bin=16,
        gains=[[1e-3]],
        offsets=[[0]],
    )


def pixels(path: Path, color: str) -> np.ndarray:
    """(rows, cols) mask of the pixels of ``color`` in a PNG."""
    img = imread(path)[..., :3]
    return np.abs(img - np.array(to_rgb(color))).max(axis=2) < 0.06


def rows_by_column(mask: np.ndarray) -> dict[int, np.ndarray]:
    return {int(c): np.flatnonzero(mask[:, c]) for c in np.flatnonzero(mask.any(axis=0))}


@pytest.mark.parametrize(("segment", "left_high"), [(0, True), (1, False)])
def test_band_is_where_the_signal_is(
    step: Path, tmp_path: Path, segment: int, left_high: bool
) -> None:
    out = tmp_path / "whole.png"
    w = plot_window(open_store(step), out, 0, 0, segment)
    assert not w.is_raw
    band = pixels(out, BAND_COLOR)
    cols = rows_by_column(band)
    assert cols, "no band pixels"
    first, last = min(cols), max(cols)
    width = last - first
    assert width > 0.7 * band.shape[1]  # the band spans the plot
    # Columns with band pixels are contiguous: the band has no holes.
    assert len(cols) >= 0.98 * (width + 1)
    top = min(r.min() for r in cols.values())
    bottom = max(r.max() for r in cols.values())
    middle = (top + bottom) / 2
    left = [c for c in cols if c < first + 0.4 * width]
    right = [c for c in cols if c > first + 0.6 * width]
    for c in left + right:
        high = c in left if left_high else c in right
        rows = cols[c]
        # A thin band (40 counts of noise in a 2000-count step) on its side of the middle.
        assert rows.max() - rows.min() < 0.1 * (bottom - top), c
        assert (rows < middle).all() if high else (rows > middle).all(), c
    assert not pixels(out, TRACE_COLOR).any()  # too far out for the raw trace


def test_zoomed_in_shows_the_raw_trace(step: Path, tmp_path: Path) -> None:
    rec = open_store(step)
    out = tmp_path / "zoom.png"
    w = plot_window(rec, out, 0, 0, 0, t0=1000 * HORIZ, t1=6000 * HORIZ)
    assert w.is_raw
    trace = pixels(out, TRACE_COLOR)
    cols = rows_by_column(trace)
    assert max(cols) - min(cols) > 0.7 * trace.shape[1]
    assert not pixels(out, BAND_COLOR).any()
    # The band and the trace together: bins of the level, samples over them.
    both = tmp_path / "both.png"
    w = plot_window(rec, both, 0, 0, 0, t0=190_000 * HORIZ, t1=205_000 * HORIZ, max_points=100)
    assert not w.is_raw
    assert pixels(both, BAND_COLOR).any()
    assert pixels(both, TRACE_COLOR).any()


def test_units() -> None:
    seconds = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))
    assert unit_for(2.5e-3, seconds) == (1e-3, "ms")
    assert unit_for(10e-6, seconds) == (1e-6, "µs")
    assert unit_for(3.0, seconds) == (1.0, "s")
    assert unit_for(0.0, seconds) == (1e-9, "ns")


def test_cli_plot(step: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli.png"
    result = run("plot", step, "-o", out, "--segment", "1", "--t0", "0", "--t1", f"{N * HORIZ}")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{out}: overview/")
    cols = rows_by_column(pixels(out, BAND_COLOR))
    left, right = min(cols), max(cols)
    # Segment 1 steps up: the left edge's band is lower than the right edge's.
    assert cols[left + 2].mean() > cols[right - 2].mean()


def test_cli_plot_bad_selection(step: Path, tmp_path: Path) -> None:
    line = assert_one_error(run("plot", step, "-o", tmp_path / "x.png", "--segment", "5"))
    assert "segment must be 0 to 1" in line
    assert not (tmp_path / "x.png").exists()


def test_demo_writes_a_picture(tmp_path: Path) -> None:
    out = tmp_path / "demo.png"
    result = run("demo", tmp_path / "d", "--samples", "50000", "--quiet", "--plot", out)
    assert result.exit_code == 0, result.output
    # 50,000 samples are fewer than 2000 bins of the finest level: the raw trace.
    trace: Any = pixels(out, TRACE_COLOR)
    assert trace.any(axis=0).sum() > 0.7 * trace.shape[1]
