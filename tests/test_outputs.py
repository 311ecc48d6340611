"""Outputs replace only what this tool wrote, and leftovers of dead runs are cleaned up.

The probes of the overwrite rule run through the command line (one ``Error:`` line, exit 1,
nothing touched) and through the library; the leftovers tests kill a real writer with
SIGKILL and hold a live writer's lock from this process.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import zoomingonline
from clihelpers import assert_one_error, run
from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.outputs import AtomicOutput, check_target, remove_stale_partials


def write_h5(path: Path, shape: tuple[int, int, int, int] = (1, 1, 2, 3000)) -> Path:
    data = np.random.default_rng(0).integers(-100, 100, size=shape, dtype=np.int16)
    with h5py.File(path, "w") as f:
        f["samples"] = data
        f.attrs["horiz_interval"] = 1e-9
    return path


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` with its bytes (None for folders)."""
    out: dict[str, bytes | None] = {}
    for p in sorted(folder.rglob("*")):
        out[str(p.relative_to(folder))] = None if p.is_dir() else p.read_bytes()
    return out


def partials(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial-" in p.name)


# -- the overwrite rule ------------------------------------------------------------------------


def test_folder_holding_the_input_is_never_replaced(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    src = write_h5(folder / "run.h5")
    (folder / "notes.txt").write_text("campaign notes")
    before = snapshot(folder)
    line = assert_one_error(run("convert", src, folder, "--overwrite", "-q"))
    assert "holds the input" in line
    assert snapshot(folder) == before
    assert partials(tmp_path) == []


def test_a_plain_file_is_never_replaced(tmp_path: Path) -> None:
    src = write_h5(tmp_path / "run.h5")
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    line = assert_one_error(run("convert", src, notes, "--overwrite", "-q"))
    assert "notes.txt is a file, not a store" in line
    assert notes.read_text() == "mine"
    assert partials(tmp_path) == []


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_targets_are_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    src = write_h5(work / "run.h5")
    monkeypatch.chdir(work)
    before = snapshot(tmp_path)
    line = assert_one_error(run("convert", src, name, "--overwrite", "-q"))
    assert "is not a name for a new store" in line
    assert snapshot(tmp_path) == before


def test_the_current_folder_and_its_parents_are_never_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Even when they look like this tool's stores.
    outer = tmp_path / "outer.zarr"
    zoomingonline.convert(write_h5(tmp_path / "a.h5"), outer, min_bin=4, target=10)
    inner = outer / "raw"
    monkeypatch.chdir(inner)
    line = assert_one_error(run("convert", tmp_path / "a.h5", outer, "--overwrite", "-q"))
    assert "a parent of the current folder; it is never replaced" in line
    monkeypatch.chdir(outer)
    line = assert_one_error(run("convert", tmp_path / "a.h5", outer, "--overwrite", "-q"))
    assert "the current folder; it is never replaced" in line
    assert (outer / ".zgroup").is_file()


def test_home_root_and_mount_points_are_never_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home.zarr"
    zoomingonline.convert(write_h5(tmp_path / "a.h5"), home, min_bin=4, target=10)
    monkeypatch.setenv("HOME", str(home))
    with pytest.raises(ZoomingOnlineError, match="the home folder; it is never replaced"):
        check_target(home, "store", overwrite=True)
    with pytest.raises(ZoomingOnlineError, match="'/' is not a name for a new store"):
        check_target("/", "store", overwrite=True)
    with pytest.raises(ZoomingOnlineError, match="a mount point"):
        check_target("/proc", "store", overwrite=True)


def test_folders_that_are_not_this_tools_stores_are_never_replaced(tmp_path: Path) -> None:
    src = write_h5(tmp_path / "run.h5")
    other = tmp_path / "other.zarr"  # a Zarr group another tool wrote
    other.mkdir()
    (other / ".zgroup").write_text('{"zarr_format": 2}')
    (other / ".zattrs").write_text('{"title": "theirs"}')
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "data.bin").write_bytes(b"\x00" * 10)
    for target, fragment in ((other, "not a zoomingonline store"), (plain, "not a zoomingonline")):
        before = snapshot(target)
        line = assert_one_error(run("convert", src, target, "--overwrite", "-q"))
        assert fragment in line
        assert snapshot(target) == before
    assert partials(tmp_path) == []


def test_symlinks_are_never_replaced(tmp_path: Path) -> None:
    src = write_h5(tmp_path / "run.h5")
    real = tmp_path / "real.zarr"
    zoomingonline.convert(src, real, min_bin=4, target=10)
    link = tmp_path / "link.zarr"
    link.symlink_to(real)
    line = assert_one_error(run("convert", src, link, "--overwrite", "-q"))
    assert "is a symbolic link" in line
    assert link.is_symlink()


def test_only_hdf5_files_generate_wrote_are_replaced(tmp_path: Path) -> None:
    theirs = write_h5(tmp_path / "theirs.h5")
    before = theirs.read_bytes()
    line = assert_one_error(run("generate", "-o", theirs, "--overwrite", "--samples", "1000", "-q"))
    assert "not an HDF5 file written by zoomingonline" in line
    assert theirs.read_bytes() == before
    ours = tmp_path / "ours.h5"
    args = ("generate", "-o", ours, "--samples", "1000", "--segments", "1", "-q")
    assert run(*args, "--seed", "1").exit_code == 0
    first = ours.read_bytes()
    assert run(*args, "--seed", "2", "--overwrite").exit_code == 0
    assert ours.read_bytes() != first
    assert partials(tmp_path) == []


def test_the_demo_runs_twice(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    assert run("demo", folder, "--samples", "2000", "-q").exit_code == 0
    assert run("demo", folder, "--samples", "3000", "-q", "--overwrite").exit_code == 0
    assert sorted(p.name for p in folder.iterdir()) == ["demo.h5", "demo.zarr"]


def test_a_name_too_long_is_assert_one_error(tmp_path: Path) -> None:
    src = write_h5(tmp_path / "run.h5")
    line = assert_one_error(run("convert", src, tmp_path / ("x" * 250 + ".zarr"), "-q"))
    assert "name is" in line
    assert "this file system allows" in line


# -- leftovers of dead runs --------------------------------------------------------------------


def _start_generate(out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "zoomingonline.cli",
            "-v",
            "generate",
            "-o",
            str(out),
            "--samples",
            "30000000",
            "--segments",
            "4",
            "--seed",
            "1",
            "-q",
        ],
        stderr=subprocess.DEVNULL,
    )


def _wait_for_partial(folder: Path, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while len(partials(folder)) < 2:  # the output and its owner record
        assert proc.poll() is None, "the writer ended before its partial appeared"
        assert time.monotonic() < deadline
        time.sleep(0.01)


@pytest.mark.parametrize("suffix", [".h5", ".zarr"])
def test_leftovers_of_a_killed_run_are_removed_by_the_next(
    tmp_path: Path, suffix: str, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / f"big{suffix}"
    proc = _start_generate(out)
    _wait_for_partial(tmp_path, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = partials(tmp_path)
    assert len(left) == 2  # the partial output and its owner record
    assert not out.exists()
    result = run("-v", "generate", "-o", tmp_path / f"small{suffix}", "--samples", "1000", "-q")
    assert result.exit_code == 0, result.output
    said = [r.getMessage() for r in caplog.records if "temporary output" in r.getMessage()]
    assert len(said) == 1
    assert said[0].startswith("removed 1 temporary output(s)")
    assert partials(tmp_path) == []


def test_a_live_writers_partial_is_never_touched(tmp_path: Path) -> None:
    live = AtomicOutput(tmp_path / "live.zarr", "store", overwrite=False)
    tmp = live.begin()
    tmp.mkdir()
    (tmp / ".zgroup").write_text("{}")
    try:
        assert remove_stale_partials(tmp_path) == []
        # Another process (whose lock cannot be taken while we hold it) leaves it too.
        proc = subprocess.run(
            [sys.executable, "-c", "import sys; from zoomingonline.outputs import *;"
             " print(len(remove_stale_partials(sys.argv[1])))", str(tmp_path)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert proc.stdout.strip() == "0"
        assert (tmp / ".zgroup").is_file()
    finally:
        live.discard()
    assert partials(tmp_path) == []


def test_partials_without_an_owner_record_are_left_alone(tmp_path: Path) -> None:
    foreign = tmp_path / ".x.zarr.partial-12345678"
    foreign.mkdir()
    record = tmp_path / ".y.zarr.partial-12345678.owner"
    record.write_text('{"host": "another-host", "pid": 1}')
    (tmp_path / ".y.zarr.partial-12345678").mkdir()
    assert remove_stale_partials(tmp_path) == []
    assert foreign.is_dir()
    assert record.is_file()
