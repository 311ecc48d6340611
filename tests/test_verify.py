"""``zoomingonline verify``: good stores pass, and each kind of damage is caught and named.

Stores are written by the package and then damaged on disk the way a failed copy, a bad
disk or a buggy writer would: a chunk removed, a chunk's bytes replaced, one minimum of
one level changed (and re-encoded, so the chunk itself is sound), metadata that
disagrees with the arrays, an input file that differs from raw. Local stores, stores
served by ``zoomingonline serve`` and stores in SeaweedFS are checked alike.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import h5py
import numcodecs
import numpy as np
import pytest
from clihelpers import assert_one_error, run
from readhelpers import make_samples, write_store
from s3server import SeaweedS3
from zoomingonline.interrupts import Interrupted, handling_signals
from zoomingonline.reader import verify
from zoomingonline.reader.verify import MAX_KEPT
from zoomingonline.s3 import resolve_config, upload_store
from zoomingonline.serve import serve_in_thread

SHAPE = (2, 1, 2, 10_007)


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A converted HDF5 recording: the store and, beside it, its source."""
    root = tmp_path_factory.mktemp("good")
    x = np.random.default_rng(3).integers(-3000, 3000, size=SHAPE, dtype=np.int16)
    with h5py.File(root / "run.h5", "w") as f:
        f["samples"] = x
        f.attrs["horiz_interval"] = 2e-9
    write_store(root / "run.zarr", x)
    return root


@pytest.fixture
def store(good: Path, tmp_path: Path) -> Path:
    """A fresh copy of the good store, to damage."""
    out = tmp_path / "run.zarr"
    shutil.copytree(good / "run.zarr", out)
    return out


def codec_of(array_dir: Path) -> Any:
    return numcodecs.get_codec(json.loads((array_dir / ".zarray").read_text())["compressor"])


def test_good_stores_pass(good: Path) -> None:
    report = verify(good / "run.zarr", source=good / "run.h5")
    assert report.ok, report.problems
    assert report.samples == int(np.prod(SHAPE))
    # Every chunk of every array, counted from the files.
    files = [p for p in (good / "run.zarr").rglob("*") if p.is_file() and "." in p.name[1:]]
    chunks = [p for p in files if not p.name.startswith(".")]
    assert report.chunks == len(chunks) == 4 * (11 + 1 + 1 + 3 + 10 + 10)
    assert "OK" in report.verdict()
    assert "raw equal to run.h5" in report.verdict()


@pytest.mark.parametrize("dtype", ["uint8", "int64", "float32", "float64"])
def test_good_stores_of_other_dtypes_pass(tmp_path: Path, dtype: str) -> None:
    x = make_samples((1, 2, 1, 5003), dtype)
    report = verify(write_store(tmp_path / "s.zarr", x, raw_chunk=777))
    assert report.ok, report.problems


def test_missing_raw_chunk(store: Path) -> None:
    (store / "raw" / "1.0.1.3").unlink()
    report = verify(store)
    assert not report.ok
    assert report.problems == ["raw/1.0.1.3: chunk missing"]


def test_missing_overview_chunk(store: Path) -> None:
    (store / "overview" / "4" / "0.0.1.0.2").unlink()
    report = verify(store)
    assert report.problems == ["overview/4/0.0.1.0.2: chunk missing"]


def test_corrupted_chunk_that_does_not_decode(store: Path) -> None:
    chunk = store / "raw" / "0.0.0.4"
    chunk.write_bytes(os.urandom(chunk.stat().st_size))
    report = verify(store)
    assert not report.ok
    assert any(p.startswith("raw/0.0.0.4: chunk does not decode") for p in report.problems)


def test_corrupted_chunk_that_still_decodes(store: Path) -> None:
    # Blosc has no checksum: a changed byte in an uncompressed chunk decodes to other samples.
    chunk = store / "raw" / "0.0.1.7"
    codec = codec_of(store / "raw")
    x = np.frombuffer(codec.decode(chunk.read_bytes()), np.int16).copy()
    x[123] = np.int16(-32768)  # lower than any sample: the new minimum of its bins
    chunk.write_bytes(codec.encode(x))
    report = verify(store)
    assert not report.ok
    bad = [p for p in report.problems if "[0, 0, 1, 0," in p]
    assert bad, report.problems
    assert all("-32768" in p for p in bad)


def test_one_wrong_minimum_in_one_level(store: Path) -> None:
    level = store / "overview" / "3"
    chunk = level / "1.0.0.0.0"
    codec = codec_of(level)
    shape = json.loads((level / ".zarray").read_text())["chunks"][-1]
    x = np.frombuffer(codec.decode(chunk.read_bytes()), np.int16).reshape(2, shape).copy()
    x[0, 37] += 1
    chunk.write_bytes(codec.encode(x))
    report = verify(store)
    assert report.n_problems == 1, report.problems
    (problem,) = report.problems
    assert problem.startswith("overview/3[1, 0, 0, 0, 37] is ")
    assert f"the min of samples {37 * 16} to {38 * 16 - 1} is {x[0, 37] - 1}" in problem


def test_metadata_shape_disagrees_with_the_arrays(store: Path) -> None:
    zarray = store / "overview" / "2" / ".zarray"
    meta = json.loads(zarray.read_text())
    meta["shape"][-1] += 1
    zarray.write_text(json.dumps(meta))
    report = verify(store)
    assert not report.ok
    assert any(p.startswith("overview/2: shape (2, 1, 2, 2, ") for p in report.problems)


def test_levels_attribute_disagrees_with_the_samples(store: Path) -> None:
    zattrs = store / ".zattrs"
    attrs = json.loads(zattrs.read_text())
    attrs["zoomingonline"]["pyramid"]["levels"][1]["bins"] += 5
    zattrs.write_text(json.dumps(attrs))
    report = verify(store)
    assert not report.ok
    assert any("levels[1].bins is" in p for p in report.problems), report.problems


def test_other_metadata_invariants(store: Path) -> None:
    zattrs = store / ".zattrs"
    attrs = json.loads(zattrs.read_text())
    attrs["horiz_interval"] = -1
    attrs["vertical_gains"] = [[1.0]]
    attrs["zoomingonline"]["format_version"] = 2
    attrs["zoomingonline"]["pyramid"]["levels"][2]["bin"] = 63
    attrs["setup"] = {"temperature": float("nan")}
    zattrs.write_text(json.dumps(attrs))
    problems = "\n".join(verify(store).problems)
    assert "horiz_interval is -1" in problems
    assert "vertical_gains is not a [2][1] list" in problems
    assert "format_version is 2" in problems
    assert "levels[1].bin is 256, not factor 4 x the next level's 63" in problems
    assert "attribute setup holds NaN or infinity" in problems


def test_raw_differs_from_the_source(good: Path, tmp_path: Path) -> None:
    h5 = tmp_path / "run.h5"
    shutil.copy(good / "run.h5", h5)
    with h5py.File(h5, "r+") as f:
        was = int(f["samples"][1, 0, 0, 9999])
        f["samples"][1, 0, 0, 9999] = was + 1
    report = verify(good / "run.zarr", source=h5)
    assert report.n_problems == 1, report.problems
    assert report.problems[0].startswith(f"raw[1, 0, 0, 9999] is {was} but run.h5 has {was + 1}")


def test_source_of_another_shape(good: Path, tmp_path: Path) -> None:
    with h5py.File(tmp_path / "small.h5", "w") as f:
        f["samples"] = np.zeros((1, 1, 1, 10), np.int16)
    report = verify(good / "run.zarr", source=tmp_path / "small.h5")
    assert "but small.h5 has (1, 1, 1, 10)" in report.problems[0]


def test_many_problems_are_counted_beyond_those_kept(store: Path) -> None:
    for chunk in sorted((store / "raw").glob("*.*.*.*")):
        chunk.unlink()
    report = verify(store)
    assert report.n_problems == 44
    assert all(p.endswith(": chunk missing") for p in report.problems)


def test_kept_problems_are_bounded(tmp_path: Path) -> None:
    x = make_samples((1, 1, 1, 200_000), "int16")
    path = write_store(tmp_path / "many.zarr", x, raw_chunk=1000)
    for chunk in (path / "raw").glob("*.*.*.*"):
        chunk.unlink()
    report = verify(path)
    assert report.n_problems == 200
    assert len(report.problems) == MAX_KEPT


# -- command line ----------------------------------------------------------------------------


def test_cli_good_store_is_one_line(good: Path) -> None:
    result = run("verify", good / "run.zarr", "--source", good / "run.h5")
    assert result.exit_code == 0, result.output
    (line,) = result.output.splitlines()
    assert "OK" in line
    assert "raw equal to run.h5" in line


def test_cli_lists_the_first_problems_then_a_count(store: Path) -> None:
    for j in range(11):
        (store / "raw" / f"0.0.0.{j}").unlink()
        (store / "raw" / f"0.0.1.{j}").unlink()
    result = run("verify", store)
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[:10] == [f"  raw/0.0.0.{j}: chunk missing" for j in range(10)]
    assert lines[10] == "  ... and 12 more problems"
    assert lines[11].endswith(": 22 problems")
    assert len(lines) == 12


def test_cli_not_a_store(tmp_path: Path) -> None:
    line = assert_one_error(run("verify", tmp_path / "none.zarr"))
    assert "no such store" in line


# -- HTTP and S3 ---------------------------------------------------------------------------------


def test_over_serve(good: Path, store: Path) -> None:
    (store / "raw" / "1.0.0.2").unlink()
    with serve_in_thread(store.parent, access_log=False) as damaged:
        report = verify(f"{damaged.url}run.zarr")
        assert report.problems == ["raw/1.0.0.2: chunk missing"]
    with serve_in_thread(good, access_log=False) as info:
        report = verify(f"{info.url}run.zarr", source=good / "run.h5")
        assert report.ok, report.problems
        result = run("verify", f"{info.url}run.zarr")
        assert result.exit_code == 0, result.output


def test_from_seaweedfs(
    s3: SeaweedS3, client: Any, bucket: str, env: dict[str, str], good: Path
) -> None:
    config = resolve_config(bucket, prefix="pub", environ=s3.env(), env_file=os.devnull)
    assert upload_store(good / "run.zarr", config=config).ok
    report = verify(f"s3://{bucket}/pub/run.zarr", source=good / "run.h5")
    assert report.ok, report.problems
    # A chunk lost in the bucket is found.
    client.delete_object(Bucket=bucket, Key="pub/run.zarr/overview/4/1.0.1.0.4")
    report = verify(f"s3://{bucket}/pub/run.zarr")
    assert report.problems == ["overview/4/1.0.1.0.4: chunk missing"]
    result = run("verify", f"s3://{bucket}/pub/run.zarr")
    assert result.exit_code == 1
    assert s3.secret_key not in result.output


def test_a_signal_stops_verify_at_the_next_block(tmp_path: Path) -> None:
    path = write_store(tmp_path / "sig.zarr", make_samples((1, 1, 6, 20_000), "int16"))
    calls: list[int] = []

    def progress(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)

    with handling_signals(), pytest.raises(Interrupted) as info:
        verify(path, progress=progress, jobs=1)
    assert info.value.exit_code == 130
    assert calls == [20_000]  # one block of six, then the stop
