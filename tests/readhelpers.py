"""Stores of known samples for the reader, verify and plot tests, and their numpy answers."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from reference import DTYPE_NAMES, reference_level
from zoomingonline.store import StoreLayout, StoreWriter, read_into_fn

#: Every dtype of the format.
DTYPES = DTYPE_NAMES
HORIZ = 2e-9


def make_samples(shape: tuple[int, ...], dtype: str, seed: int = 0) -> npt.NDArray[Any]:
    """Random samples over most of the dtype's range; floats with NaN runs, lone NaN and
    infinities, so that all-NaN bins and NaN-ignoring bins both occur."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        lo, hi = max(info.min, -(2**40)), min(info.max, 2**40)
        return rng.integers(lo, hi, size=shape, endpoint=True, dtype=dt)
    x = (rng.standard_normal(shape) * 1000).astype(dt)
    flat = x.reshape(-1, shape[-1])
    for row in flat:
        n = row.size
        row[rng.integers(0, n, size=max(1, n // 50))] = np.nan
        start = int(rng.integers(0, max(1, n - 300)))
        row[start : start + 300] = np.nan  # whole bins of NaN at the finest levels
        row[int(rng.integers(0, n))] = np.inf
        row[int(rng.integers(0, n))] = -np.inf
    return x


def write_store(
    path: Path,
    data: npt.NDArray[Any],
    *,
    raw_chunk: int = 1000,
    target: int = 20,
    factor: int = 4,
    min_bin: int = 4,
    overview_chunk: int = 64,
    gains: Any = None,
    offsets: Any = None,
    horiz_offset: Any = None,
) -> Path:
    """A store of ``data`` written by the package's own writer, with small chunks so that
    levels have several chunks per segment."""
    layout = StoreLayout.create(
        data.shape,
        data.dtype,
        raw_chunk=raw_chunk,
        target=target,
        factor=factor,
        min_bin=min_bin,
        overview_chunk=overview_chunk,
    )
    c, t = data.shape[:2]
    attrs: dict[str, Any] = {
        "horiz_interval": HORIZ,
        "vertical_gains": (np.full((c, t), 1e-3) if gains is None else np.asarray(gains)).tolist(),
        "vertical_offsets": (
            np.full((c, t), 0.25) if offsets is None else np.asarray(offsets)
        ).tolist(),
    }
    if horiz_offset is not None:
        attrs["horiz_offset"] = horiz_offset
    with StoreWriter(path, layout, attrs, source="test", jobs=2) as writer:
        writer.write_all(read_into_fn(data))
    return path


def store_levels(path: Path) -> list[dict[str, Any]]:
    """The levels as the store's ``.zattrs`` lists them (read as JSON, not by the reader)."""
    attrs = json.loads((path / ".zattrs").read_text())
    return list(attrs["zoomingonline"]["pyramid"]["levels"])


def expected_window(
    seg: npt.NDArray[Any], levels: list[dict[str, Any]], a: int, e: int, max_points: int
) -> tuple[str, int, int, npt.NDArray[Any], npt.NDArray[Any]]:
    """(level, bin, first, min, max) of samples a..e-1 of ``seg`` by the rule of
    docs/format.md: the coarsest level with bin x max_points <= e - a, else raw."""
    for level in levels:
        b = int(level["bin"])
        if b * max_points <= e - a:
            ref = reference_level(seg, b)
            i0, i1 = a // b, min(math.ceil(e / b), ref.shape[1])
            return str(level["path"]), b, i0 * b, ref[0, i0:i1], ref[1, i0:i1]
    return "raw", 1, a, seg[a:e], seg[a:e]


def assert_same(got: npt.NDArray[Any], want: npt.NDArray[Any]) -> None:
    """Equal values and dtype; NaN equals NaN."""
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert np.array_equal(got, want, equal_nan=want.dtype.kind == "f")
