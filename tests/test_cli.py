"""Tests of the ``zoomingonline`` command line, through click's CliRunner."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt
import pytest
import zarr
import zoomingonline
from clihelpers import assert_one_error, run

DEFAULT_VIEWER = "https://datamedsci.github.io/ZoomingOnline/"


def samples(shape: tuple[int, int, int, int] = (2, 1, 3, 2500), seed: int = 0) -> npt.NDArray[Any]:
    rng = np.random.default_rng(seed)
    data = rng.integers(-3000, 3000, size=shape, dtype=np.int16)
    data[..., -1] = 32767  # in the partial last bin
    return data


def write_h5(path: Path, data: npt.NDArray[Any], name: str = "samples") -> Path:
    with h5py.File(path, "w") as f:
        f[name] = data
        f["vertical_gain"] = np.full(data.shape[:2], 1e-4)
        f["vertical_offset"] = np.full(data.shape[:2], -0.2)
        f.attrs["horiz_interval"] = 2e-9
    return path


def min_max(x: npt.NDArray[Any], b: int) -> npt.NDArray[Any]:
    starts = np.arange(0, x.size, b)
    return np.stack([np.minimum.reduceat(x, starts), np.maximum.reduceat(x, starts)])


def assert_store_matches(store: Path, data: npt.NDArray[Any]) -> Any:
    g = zarr.open_group(str(store), mode="r")
    np.testing.assert_array_equal(g["raw"][...], data, strict=True)
    for lv in g.attrs["zoomingonline"]["pyramid"]["levels"]:
        level = g[lv["path"]][...]
        for idx in np.ndindex(data.shape[:3]):
            np.testing.assert_array_equal(level[idx], min_max(data[idx], lv["bin"]), strict=True)
    return g


def raw_chunks(store: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (store / "raw").glob("[0-9]*")}


# -- help and version --------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_group_help(flag: str) -> None:
    result = run(flag)
    assert result.exit_code == 0
    assert "Usage:" in result.output
    for command in ("convert", "demo", "generate", "import", "serve", "upload"):
        assert f"  {command} " in result.output
    assert "--version" in result.output


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (
            "convert",
            [
                "--dataset",
                "--horiz-interval",
                "--codec",
                "--clevel",
                "--shuffle",
                "--raw-chunk",
                "--target",
                "--factor",
                "--min-bin",
                "--jobs",
                "--overwrite",
                "--quiet",
                "--viewer",
            ],
        ),
        ("demo", ["--samples", "--overwrite", "--quiet", "--viewer"]),
    ],
)
def test_command_help(command: str, options: list[str]) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0
    assert result.output.startswith("Usage:")
    for option in options:
        assert option in result.output


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(flag: str) -> None:
    result = run(flag)
    assert result.exit_code == 0
    assert result.output == f"zoomingonline, version {zoomingonline.__version__}\n"


# -- convert -----------------------------------------------------------------------------------


def test_convert_writes_store_and_prints_summary(tmp_path: Path) -> None:
    data = samples()
    src = write_h5(tmp_path / "rec.h5", data)
    result = run("convert", src, "--min-bin", "4", "--target", "50", "--raw-chunk", "1000")
    assert result.exit_code == 0, result.output
    store = tmp_path / "rec.zarr"  # the default output, beside the input
    g = assert_store_matches(store, data)
    assert g.attrs["vertical_gains"] == [[1e-4], [1e-4]]
    assert g.attrs["horiz_interval"] == 2e-9
    out = result.output
    assert f"{src} [samples] -> {store}" in out
    assert "shape (2, 1, 3, 2500) int16" in out
    n_levels = len(g.attrs["zoomingonline"]["pyramid"]["levels"])
    assert f"{n_levels} overview levels" in out
    assert f"{DEFAULT_VIEWER}?data=http://127.0.0.1:8000/rec.zarr" in out
    assert str(tmp_path.resolve()) in out  # the folder to serve
    assert "Error" not in out


def test_convert_options_reach_the_store(tmp_path: Path) -> None:
    data = samples((1, 2, 1, 3001), seed=1)
    src = write_h5(tmp_path / "gen.h5", data, name="data")
    out = tmp_path / "custom.zarr"
    result = run(
        "convert",
        src,
        out,
        "--dataset",
        "data",
        "--horiz-interval",
        "5e-10",
        "--codec",
        "lz4",
        "--clevel",
        "5",
        "--shuffle",
        "byte",
        "--raw-chunk",
        "700",
        "--target",
        "10",
        "--factor",
        "3",
        "--min-bin",
        "2",
        "-j",
        "2",
        "--viewer",
        "https://example.org/view/",
    )
    assert result.exit_code == 0, result.output
    g = assert_store_matches(out, data)
    assert g.attrs["horiz_interval"] == 5e-10
    pyramid = g.attrs["zoomingonline"]["pyramid"]
    assert (pyramid["factor"], pyramid["target"], pyramid["min_bin"]) == (3, 10, 2)
    assert pyramid["levels"][0]["bins"] <= 10
    raw = json.loads((out / "raw" / ".zarray").read_text())
    assert raw["chunks"] == [1, 1, 1, 700]
    assert raw["compressor"]["cname"] == "lz4"
    assert raw["compressor"]["clevel"] == 5
    assert raw["compressor"]["shuffle"] == 1
    assert "https://example.org/view/?data=http://127.0.0.1:8000/custom.zarr" in result.output
    assert "[data]" in result.output


def test_convert_quiet_prints_nothing(tmp_path: Path) -> None:
    data = samples()
    src = write_h5(tmp_path / "rec.h5", data)
    result = run("convert", src, tmp_path / "q.zarr", "-q", "--min-bin", "4")
    assert result.exit_code == 0, result.output
    assert result.output == ""
    assert_store_matches(tmp_path / "q.zarr", data)


def test_convert_overwrite(tmp_path: Path) -> None:
    first, second = samples(seed=1), samples(seed=2)
    out = tmp_path / "out.zarr"
    assert run("convert", write_h5(tmp_path / "a.h5", first), out, "-q").exit_code == 0
    src = write_h5(tmp_path / "b.h5", second)
    before = raw_chunks(out)
    assert len(before) == 6

    line = assert_one_error(run("convert", src, out))
    assert "exists" in line
    assert "--overwrite" in line
    assert raw_chunks(out) == before

    result = run("convert", src, out, "--overwrite", "-q")
    assert result.exit_code == 0, result.output
    assert_store_matches(out, second)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.h5", "b.h5", "out.zarr"]


def _missing(d: Path) -> list[str | Path]:
    return ["convert", d / "nope.h5"]


def _not_hdf5(d: Path) -> list[str | Path]:
    (d / "notes.h5").write_text("hello\n")
    return ["convert", d / "notes.h5"]


def _no_4d(d: Path) -> list[str | Path]:
    with h5py.File(d / "flat.h5", "w") as f:
        f["x"] = np.zeros((3, 4))
    return ["convert", d / "flat.h5"]


def _missing_dataset(d: Path) -> list[str | Path]:
    return ["convert", write_h5(d / "rec.h5", samples()), "--dataset", "nope"]


def _output_parent_missing(d: Path) -> list[str | Path]:
    return ["convert", write_h5(d / "rec.h5", samples()), d / "no" / "out.zarr"]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (_missing, "no such file"),
        (_not_hdf5, "not an HDF5 file"),
        (_no_4d, "no 4-D numeric dataset"),
        (_missing_dataset, "no dataset 'nope'"),
        (_output_parent_missing, "does not exist"),
    ],
    ids=["missing", "not-hdf5", "no-4d", "missing-dataset", "output-parent-missing"],
)
def test_convert_errors(tmp_path: Path, build: Any, message: str) -> None:
    args = build(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    line = assert_one_error(run(*args))
    assert message in line
    assert sorted(tmp_path.rglob("*")) == before  # nothing written


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--codec", "gzip"], "--codec"),
        (["--clevel", "10"], "--clevel"),
        (["--shuffle", "twice"], "--shuffle"),
        (["--factor", "1"], "--factor"),
        (["--raw-chunk", "0"], "--raw-chunk"),
    ],
)
def test_convert_usage_errors(tmp_path: Path, args: list[str], option: str) -> None:
    src = write_h5(tmp_path / "rec.h5", samples())
    result = run("convert", src, *args)
    line = assert_one_error(result, exit_code=2)
    assert option in line
    assert "Usage:" in result.output
    assert not (tmp_path / "rec.zarr").exists()


def test_input_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dir.h5").mkdir()
    result = run("convert", tmp_path / "dir.h5")
    assert result.exit_code != 0
    assert_one_error(result, exit_code=result.exit_code)


# -- demo --------------------------------------------------------------------------------------


def test_demo_quiet(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    result = run("demo", folder, "--samples", "20000", "-q")
    assert result.exit_code == 0, result.output
    assert result.output == ""
    assert sorted(p.name for p in folder.iterdir()) == ["demo.h5", "demo.zarr"]
    with h5py.File(folder / "demo.h5", "r") as f:
        data = f["samples"][...]
        gains = f["vertical_gain"][...]
        offsets = f["vertical_offset"][...]
        interval = float(f.attrs["horiz_interval"])
    assert data.shape == (2, 1, 3, 20000)
    assert data.dtype == np.int16
    g = assert_store_matches(folder / "demo.zarr", data)
    assert g.attrs["vertical_gains"] == gains.tolist()
    assert g.attrs["vertical_offsets"] == offsets.tolist()
    assert g.attrs["horiz_interval"] == interval
    assert g.attrs["zoomingonline"]["source"] == "demo.h5"


def test_demo_prints_link_and_needs_overwrite_to_redo(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    result = run("demo", folder, "--samples", "5000")
    assert result.exit_code == 0, result.output
    assert "demo.h5" in result.output
    assert f"{DEFAULT_VIEWER}?data=http://127.0.0.1:8000/demo.zarr" in result.output
    line = assert_one_error(run("demo", folder, "--samples", "5000", "-q"))
    assert "--overwrite" in line
    result = run("demo", folder, "--samples", "6000", "-q", "--overwrite")
    assert result.exit_code == 0, result.output
    g = zarr.open_group(str(folder / "demo.zarr"), mode="r")
    assert g["raw"].shape == (2, 1, 3, 6000)


# -- the installed entry point -----------------------------------------------------------------


def _script() -> str:
    found = shutil.which("zoomingonline")
    if found is None:
        beside = Path(sys.executable).with_name("zoomingonline")
        found = str(beside) if beside.exists() else None
    if found is None:
        pytest.fail("the zoomingonline console script is not installed")
    return found


def test_console_script_help() -> None:
    proc = subprocess.run(
        [_script(), "--help"], capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "Usage: zoomingonline" in proc.stdout
    assert "convert" in proc.stdout
    assert "demo" in proc.stdout


def test_module_entry_version() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "zoomingonline.cli", "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(f"version {zoomingonline.__version__}")


def test_console_script_error_has_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [_script(), "convert", str(tmp_path / "nope.h5")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [f"Error: {tmp_path / 'nope.h5'}: no such file"]


def test_overwrite_of_a_regular_file_is_clean(tmp_path: Path) -> None:
    src = write_h5(tmp_path / "rec.h5", samples())
    out = tmp_path / "out.zarr"
    out.write_text("not a store")
    result = run("convert", src, out, "--overwrite", "-q")
    if result.exit_code:
        assert_one_error(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.zarr", "rec.h5"]
