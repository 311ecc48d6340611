"""Every bad input is one error line and a non-zero exit: never a traceback or a hang."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import zoomingonline
from clihelpers import assert_one_error, run
from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.store import to_json_attrs


def write_h5(path: Path, **attrs: object) -> Path:
    with h5py.File(path, "w") as f:
        f["samples"] = np.arange(2 * 300, dtype=np.int16).reshape(1, 1, 2, 300)
        for key, value in attrs.items():
            f.attrs[key] = value
    return path


def test_a_fifo_as_input_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "run.h5"
    os.mkfifo(fifo)
    proc = subprocess.run(
        [sys.executable, "-m", "zoomingonline.cli", "convert", str(fifo), "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"Error: {fifo} is not a regular file"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.h5"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("vertical_gain", np.array([b"high", b"low"])),
        ("vertical_gain", "0.5 V"),
        ("vertical_offset", np.array(["a"], dtype=h5py.string_dtype())),
        ("horiz_offset", "yesterday"),
    ],
)
def test_metadata_of_strings_is_assert_one_error(tmp_path: Path, name: str, value: object) -> None:
    src = write_h5(tmp_path / "run.h5", **{name: value})
    line = assert_one_error(run("convert", src, "-q"))
    assert f"{name} is not numbers" in line
    assert not (tmp_path / "run.zarr").exists()


def test_invalid_utf8_attributes_are_reported_not_mangled(tmp_path: Path) -> None:
    src = tmp_path / "run.h5"
    write_h5(src, good="fine")
    with h5py.File(src, "a") as f:
        f.attrs.create("bad_bytes", np.array(b"caf\xe9 au lait", dtype="S14"))
        tid = h5py.h5t.C_S1.copy()
        tid.set_size(4)
        tid.set_cset(h5py.h5t.CSET_UTF8)
        space = h5py.h5s.create(h5py.h5s.SCALAR)
        attr = h5py.h5a.create(f.id, b"bad_utf8", tid, space)
        attr.write(np.array(b"\xff\xfe\xfd\xfc", dtype="S4"), mtype=tid)
    result = run("convert", src)
    assert result.exit_code == 0, result.output
    attrs = json.loads((tmp_path / "run.zarr" / ".zattrs").read_text())
    assert attrs["good"] == "fine"
    assert "bad_bytes" not in attrs
    assert "bad_utf8" not in attrs
    assert "\ufffd" not in json.dumps(attrs)
    not_copied = [line for line in result.output.splitlines() if "not copied:" in line]
    assert any("bad_bytes" in line for line in not_copied), result.output
    assert any("bad_utf8" in line for line in not_copied), result.output


def test_metadata_that_json_cannot_hold_is_refused(tmp_path: Path) -> None:
    src = write_h5(tmp_path / "run.h5")
    with h5py.File(src, "a") as f:
        f["horiz_offset"] = np.array([[[0.0, np.nan]]])
    line = assert_one_error(run("convert", src, "-q"))
    assert "horiz_offset holds NaN or infinite values" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.h5"]


@pytest.mark.parametrize(
    ("horiz_interval", "gains", "fragment"),
    [
        (-1e-9, [[1.0]], "horiz_interval must be a positive number"),
        (float("nan"), [[1.0]], "horiz_interval must be a positive number"),
        (1e-9, [[float("nan")]], "vertical_gains holds NaN"),
        (1e-9, [[1.0, 2.0]], "vertical_gains has shape (1, 2); expected (1, 1)"),
    ],
)
def test_save_zarr_checks_the_format_attributes(
    tmp_path: Path, horiz_interval: float, gains: list[list[float]], fragment: str
) -> None:
    data = np.zeros((1, 1, 1, 100), np.int16)
    with pytest.raises(ZoomingOnlineError) as info:
        zoomingonline.save_zarr(tmp_path / "x.zarr", data, horiz_interval, gains, [[0.0]])
    assert fragment in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_generate_attrs_cannot_replace_the_recordings_own(tmp_path: Path) -> None:
    with pytest.raises(ZoomingOnlineError, match="attrs may not set horiz_interval"):
        zoomingonline.generate(
            tmp_path / "x.zarr", samples=100, segments=1, attrs={"horiz_interval": 1.0}
        )
    assert list(tmp_path.iterdir()) == []


def test_undecodable_text_is_not_copied_as_surrogates() -> None:
    # h5py hands back undecodable bytes of UTF-8 strings as lone surrogates.
    skipped: list[str] = []
    attrs = to_json_attrs({"note": "caf\udce9", "fine": "café"}, skipped, "attribute ")
    assert attrs == {"fine": "café"}
    assert len(skipped) == 1
    assert skipped[0].startswith("attribute note (")
