"""``convert --quantize int16`` for float inputs, and the warning for raw dtypes the viewer
cannot show zoomed in.

The expected codes, gains, offsets and largest error are computed here with numpy from the
whole array at once, following docs/trc.md: per (channel, trc) the range [lo, hi] maps to
codes -32767..32767 with step (hi - lo) / 65534 around mid = (hi + lo) / 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt
import pytest
import zarr
import zoomingonline
from clihelpers import assert_one_error, run
from reference import reference_level
from zoomingonline import ZoomingOnlineError


def write_h5(path: Path, samples: npt.NDArray[Any], **datasets: Any) -> Path:
    with h5py.File(path, "w") as f:
        f["samples"] = samples
        f.attrs["horiz_interval"] = 1e-9
        for key, value in datasets.items():
            f[key] = value
    return path


def expected(
    x: npt.NDArray[Any],
    gains: npt.NDArray[np.float64],
    offsets: npt.NDArray[np.float64],
    bounds: tuple[float, float] | None = None,
) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.float64], npt.NDArray[np.float64], float]:
    """Codes, store gains, store offsets and largest error in volts, from the whole array."""
    xf = x.astype(np.float64)
    if bounds is None:
        lo = xf.min(axis=(2, 3))
        hi = xf.max(axis=(2, 3))
    else:
        lo = np.full(x.shape[:2], bounds[0])
        hi = np.full(x.shape[:2], bounds[1])
    step = np.where(hi > lo, (hi - lo) / 65534, 1.0)
    mid = (hi + lo) / 2
    codes = np.rint((xf - mid[:, :, None, None]) / step[:, :, None, None])
    assert np.abs(codes).max() <= 32767
    store_gain = gains * step
    store_offset = offsets - gains * mid
    volts_in = gains[:, :, None, None] * xf - offsets[:, :, None, None]
    volts_out = store_gain[:, :, None, None] * codes - store_offset[:, :, None, None]
    return (
        codes.astype(np.int16),
        store_gain,
        store_offset,
        float(np.abs(volts_out - volts_in).max()),
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_quantize_matches_numpy(tmp_path: Path, dtype: str) -> None:
    rng = np.random.default_rng(3)
    x = (rng.normal(0, 0.2, (2, 3, 2, 5001)) + np.arange(3)[None, :, None, None]).astype(dtype)
    x[1, 2] = 0.125  # a constant (channel, trc): step 1, every code 0
    gains = np.array([[1.0, 2.0, 0.5], [1.5, 1.0, 1.0]])
    offsets = np.array([[0.0, 0.1, -0.2], [0.3, 0.0, 0.0]])
    src = write_h5(tmp_path / "f.h5", x, vertical_gain=gains, vertical_offset=offsets)
    summary = zoomingonline.convert(src, quantize="int16", raw_chunk=1000, min_bin=8, target=40)
    codes, g, o, err = expected(x, gains, offsets)
    group = zarr.open_group(str(summary.output), mode="r", zarr_format=2)
    raw = group["raw"][...]
    assert raw.dtype == np.int16
    np.testing.assert_array_equal(raw, codes)
    attrs = json.loads((summary.output / ".zattrs").read_text())
    np.testing.assert_array_equal(np.array(attrs["vertical_gains"]), g)
    np.testing.assert_array_equal(np.array(attrs["vertical_offsets"]), o)
    assert attrs["quantized"]["source_dtype"] == dtype
    assert summary.quantization_error == pytest.approx(err, rel=1e-9)
    assert 0 < err < 0.5 * g.max() * 1.0001
    assert summary.dtype == "int16"
    assert summary.warnings == []
    for level in attrs["zoomingonline"]["pyramid"]["levels"]:
        arr = group[level["path"]][...]
        for c, t, s in np.ndindex(raw.shape[:3]):
            np.testing.assert_array_equal(arr[c, t, s], reference_level(raw[c, t, s], level["bin"]))


def test_quantize_stated_range(tmp_path: Path) -> None:
    x = np.linspace(-0.5, 0.7, 4000, dtype=np.float32).reshape(1, 1, 2, 2000)
    src = write_h5(tmp_path / "f.h5", x)
    summary = zoomingonline.convert(src, quantize="int16", quantize_range=(-1.0, 1.0))
    codes, g, o, err = expected(x, np.ones((1, 1)), np.zeros((1, 1)), (-1.0, 1.0))
    raw = zarr.open_group(str(summary.output), mode="r", zarr_format=2)["raw"][...]
    np.testing.assert_array_equal(raw, codes)
    assert summary.quantization_error == pytest.approx(err, rel=1e-9)
    attrs = json.loads((summary.output / ".zattrs").read_text())
    assert attrs["quantized"]["stated"] is True
    assert attrs["vertical_gains"] == g.tolist()
    assert attrs["vertical_offsets"] == o.tolist()


def test_quantize_refusals(tmp_path: Path) -> None:
    x = np.linspace(-0.5, 0.7, 4000, dtype=np.float32).reshape(1, 1, 2, 2000)
    src = write_h5(tmp_path / "f.h5", x)
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(ZoomingOnlineError, match="outside --quantize-range"):
        zoomingonline.convert(src, quantize="int16", quantize_range=(-0.1, 0.1))
    with pytest.raises(ZoomingOnlineError, match="LOW < HIGH"):
        zoomingonline.convert(src, quantize="int16", quantize_range=(1.0, 1.0))
    with pytest.raises(ZoomingOnlineError, match="needs --quantize"):
        zoomingonline.convert(src, quantize_range=(0.0, 1.0))
    with pytest.raises(ZoomingOnlineError, match="cannot quantise to 'int8'"):
        zoomingonline.convert(src, quantize="int8")
    ints = write_h5(tmp_path / "i.h5", np.zeros((1, 1, 1, 10), np.int32))
    with pytest.raises(ZoomingOnlineError, match="holds int32; --quantize is for float"):
        zoomingonline.convert(ints, quantize="int16")
    y = x.copy()
    y[0, 0, 1, 7] = np.nan
    nan = write_h5(tmp_path / "n.h5", y)
    with pytest.raises(ZoomingOnlineError, match="NaN or infinite"):
        zoomingonline.convert(nan, quantize="int16")
    with pytest.raises(ZoomingOnlineError, match="NaN or infinite"):
        zoomingonline.convert(nan, quantize="int16", quantize_range=(-1.0, 1.0))
    after = sorted(p for p in tmp_path.rglob("*") if p.suffix != ".h5")
    assert after == [p for p in before if p.suffix != ".h5"]


def test_cli_warns_and_quantizes(tmp_path: Path) -> None:
    x = np.linspace(-0.5, 0.7, 4000, dtype=np.float32).reshape(1, 1, 2, 2000)
    src = write_h5(tmp_path / "f.h5", x)
    result = run("convert", src, tmp_path / "plain.zarr")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1
    assert "float32" in warnings[0]
    assert "--quantize int16" in warnings[0]
    result = run("convert", src, tmp_path / "q.zarr", "--quantize", "int16")
    assert result.exit_code == 0, result.output
    assert "Warning:" not in result.output
    assert "quantised to int16: largest error" in result.output
    result = run(
        "convert", src, tmp_path / "r.zarr", "--quantize", "int16", "--quantize-range", "-1", "1"
    )
    assert result.exit_code == 0, result.output
    line = assert_one_error(
        run(
            "convert",
            src,
            tmp_path / "s.zarr",
            "--quantize",
            "int16",
            "--quantize-range",
            "0",
            "0.1",
        )
    )
    assert "outside --quantize-range" in line
    assert not (tmp_path / "s.zarr").exists()


@pytest.mark.parametrize(
    ("dtype", "warned"),
    [("int8", False), ("uint8", False), ("int16", False), ("uint16", True), ("int32", True)],
)
def test_warning_only_for_dtypes_the_viewer_cannot_show(
    tmp_path: Path, dtype: str, warned: bool
) -> None:
    src = write_h5(tmp_path / "f.h5", np.zeros((1, 1, 1, 100), dtype))
    result = run("convert", src, "--quiet")
    assert result.exit_code == 0, result.output
    assert ("Warning:" in result.output) == warned
    summary = zoomingonline.convert(src, tmp_path / "again.zarr")
    assert bool(summary.warnings) == warned
