"""``zoomingonline.open`` and windows: every answer equals a numpy reference from raw.

Stores of every dtype (floats with NaN, all-NaN bins and infinities), odd segment
lengths and partial last bins are written by the package's writer with small chunks;
windows over random spans and ``max_points`` are compared with bins computed by
``tests/reference.py`` straight from the samples, read from the folder, over
``zoomingonline serve`` on loopback and from a SeaweedFS bucket.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr
import zoomingonline
from readhelpers import (
    DTYPES,
    HORIZ,
    assert_same,
    expected_window,
    make_samples,
    store_levels,
    write_store,
)
from s3server import SeaweedS3
from zarr.storage import LocalStore, WrapperStore
from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.reader import Recording
from zoomingonline.reader._location import Location
from zoomingonline.s3 import resolve_config, upload_store
from zoomingonline.serve import serve_in_thread

SHAPE = (2, 1, 2, 10_007)  # odd length: partial last bins at every level
MAX_POINTS = (1, 2, 3, 7, 20, 100, 640, 2000, 20_000)


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """One store per dtype in one folder, and the samples each holds."""
    root = tmp_path_factory.mktemp("stores")
    data = {}
    for k, dtype in enumerate(DTYPES):
        x = make_samples(SHAPE, dtype, seed=k)
        write_store(root / f"{dtype}.zarr", x)
        data[dtype] = x
    return root, data


def spans(n: int, rng: np.random.Generator, count: int) -> list[tuple[int, int, int]]:
    """(a, e, max_points): edge cases first, then random spans."""
    out = [(0, n, 2000), (0, n, 1), (0, 1, 2000), (n - 1, n, 1), (1024, 2048, 4), (0, n, 20_000)]
    while len(out) < count:
        a = int(rng.integers(0, n - 1))
        e = int(rng.integers(a + 1, n + 1))
        out.append((a, e, int(rng.choice(MAX_POINTS))))
    return out


def check_windows(rec: Recording, x: np.ndarray, levels: list[dict[str, Any]], count: int) -> set:
    rng = np.random.default_rng(count)
    seen = set()
    n = x.shape[3]
    for i, (a, e, mp) in enumerate(spans(n, rng, count)):
        c, s = i % x.shape[0], (i // 2) % x.shape[2]
        seg = x[c, 0, s]
        whole = (a, e) == (0, n) and i % 2 == 0
        t0, t1 = (None, None) if whole else (a * HORIZ, e * HORIZ)
        w = rec.window(c, 0, s, t0, t1, max_points=mp)
        level, b, first, lo, hi = expected_window(seg, levels, a, e, mp)
        assert (w.level, w.bin, w.first) == (level, b, first), (a, e, mp)
        assert_same(w.min, lo)
        assert_same(w.max, hi)
        assert w.stop == min(first + b * len(lo), n)
        np.testing.assert_allclose(w.time, (first + np.arange(len(lo)) * b) * HORIZ)
        # The bins cover the span and reach less than one bin beyond each end.
        assert w.first <= a < w.first + b
        assert e <= w.stop < e + b or w.stop == n
        seen.add(level)
    return seen


@pytest.mark.parametrize("dtype", DTYPES)
def test_windows_equal_numpy_locally(stores: tuple[Path, dict[str, Any]], dtype: str) -> None:
    root, data = stores
    rec = zoomingonline.open(root / f"{dtype}.zarr")
    levels = store_levels(root / f"{dtype}.zarr")
    seen = check_windows(rec, data[dtype], levels, 80)
    # The spans reach raw and several levels, the coarsest included.
    assert "raw" in seen
    assert "overview/0" in seen
    assert len(seen) >= 4


def test_windows_over_serve(stores: tuple[Path, dict[str, Any]]) -> None:
    root, data = stores
    with serve_in_thread(root, access_log=False) as info:
        for dtype in DTYPES:
            rec = zoomingonline.open(f"{info.url}{dtype}.zarr")
            assert rec.location.kind == "http"
            check_windows(rec, data[dtype], store_levels(root / f"{dtype}.zarr"), 12)


def test_windows_from_seaweedfs(
    s3: SeaweedS3, bucket: str, env: dict[str, str], stores: tuple[Path, dict[str, Any]]
) -> None:
    root, data = stores
    config = resolve_config(bucket, prefix="runs/a", environ=s3.env(), env_file=os.devnull)
    chosen = ("int16", "uint64", "float32")
    for dtype in chosen:
        assert upload_store(root / f"{dtype}.zarr", config=config).ok
    for dtype in chosen:
        rec = zoomingonline.open(f"s3://{bucket}/runs/a/{dtype}.zarr")
        assert rec.location.kind == "s3"
        assert rec.shape == SHAPE
        check_windows(rec, data[dtype], store_levels(root / f"{dtype}.zarr"), 12)
    # A store that is not there: one clear error.
    with pytest.raises(ZoomingOnlineError, match="not a zoomingonline store"):
        zoomingonline.open(f"s3://{bucket}/runs/a/none.zarr")


# -- metadata --------------------------------------------------------------------------------


def test_metadata(tmp_path: Path) -> None:
    x = make_samples((2, 3, 2, 5000), "int16")
    gains = [[1e-3, 2e-3, 3e-3], [4e-3, 5e-3, 6e-3]]
    offsets = [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]
    hoff = np.arange(12, dtype=float).reshape(2, 3, 2).tolist()
    path = write_store(tmp_path / "m.zarr", x, gains=gains, offsets=offsets, horiz_offset=hoff)
    rec = zoomingonline.open(str(path))
    assert (rec.channels, rec.trcs, rec.segments, rec.n_samples) == (2, 3, 2, 5000)
    assert rec.shape == x.shape
    assert rec.dtype == np.dtype("int16")
    assert rec.horiz_interval == HORIZ
    assert rec.duration == pytest.approx(5000 * HORIZ)
    np.testing.assert_array_equal(rec.gains, gains)
    np.testing.assert_array_equal(rec.offsets, offsets)
    assert rec.time_offset(1, 2, 1) == hoff[1][2][1]
    assert rec.attributes["zoomingonline"]["source"] == "test"
    assert [lv.as_dict() | {"chunk": 0} for lv in rec.levels] == [
        {**lv, "chunk": 0} for lv in store_levels(path)
    ]
    w = rec.window(1, 2, 1)
    assert w.time_offset == hoff[1][2][1]
    assert (w.gain, w.offset) == (gains[1][2], offsets[1][2])


@pytest.mark.parametrize("form", ["number", "per trc"])
def test_horiz_offset_forms(tmp_path: Path, form: str) -> None:
    x = make_samples((2, 2, 1, 300), "int8")
    value: Any = 1.5e-6 if form == "number" else [[1.0, 2.0], [3.0, 4.0]]
    rec = zoomingonline.open(write_store(tmp_path / "h.zarr", x, horiz_offset=value))
    want = 1.5e-6 if form == "number" else 4.0
    assert rec.time_offset(1, 1, 0) == want
    assert rec.window(1, 1, 0).time_offset == want


def test_levels_inferred_when_the_attribute_is_missing(stores: tuple[Path, Any]) -> None:
    root, data = stores
    copy = root.parent / f"bare-{uuid.uuid4().hex[:6]}.zarr"
    shutil.copytree(root / "int16.zarr", copy)
    attrs = json.loads((copy / ".zattrs").read_text())
    del attrs["zoomingonline"]
    (copy / ".zattrs").write_text(json.dumps(attrs))
    rec = zoomingonline.open(copy)
    want = zoomingonline.open(root / "int16.zarr").levels
    assert rec.levels == want
    check_windows(rec, data["int16"], store_levels(root / "int16.zarr"), 10)


def test_samples_and_volts(tmp_path: Path) -> None:
    x = make_samples((1, 2, 1, 3000), "int16")
    path = write_store(tmp_path / "v.zarr", x, gains=[[2e-3, -1e-3]], offsets=[[0.5, -0.25]])
    rec = zoomingonline.open(path)
    s = rec.samples(0, 0, 0, 17, 1017)
    assert s.is_raw
    assert_same(s.samples, x[0, 0, 0, 17:1017])
    np.testing.assert_allclose(s.time, np.arange(17, 1017) * HORIZ)
    np.testing.assert_allclose(s.volts()[0], 2e-3 * x[0, 0, 0, 17:1017].astype(float) - 0.5)
    # A negative gain: the minimum in counts is the upper edge in volts.
    w = rec.window(0, 1, 0, max_points=10)
    assert not w.is_raw
    lo, hi = w.volts()
    assert (lo <= hi).all()
    np.testing.assert_allclose(hi, -1e-3 * w.min.astype(float) + 0.25)
    np.testing.assert_allclose(lo, -1e-3 * w.max.astype(float) + 0.25)
    with pytest.raises(ZoomingOnlineError, match="not samples"):
        _ = w.samples


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda r: r.window(2, 0, 0), "channel must be 0 to 1"),
        (lambda r: r.window(0, 1, 0), "trc must be 0 to 0"),
        (lambda r: r.window(0, 0, -1), "segment must be 0 to 1"),
        (lambda r: r.window(0, 0, 0, t0=1.0), "past the end"),
        (lambda r: r.window(0, 0, 0, t0=2e-6, t1=1e-6), "must be after"),
        (lambda r: r.window(0, 0, 0, t1=-1e-6), "before the segment"),
        (lambda r: r.window(0, 0, 0, max_points=0), "max_points must be at least 1"),
        (lambda r: r.window(0, 0, 0, t0=float("nan")), "not a finite"),
        (lambda r: r.samples(0, 0, 0, 5, 5), "not within"),
        (lambda r: r.samples(0, 0, 0, 0, 10_008), "not within"),
    ],
)
def test_bad_requests_are_one_clear_error(
    stores: tuple[Path, Any], call: Any, message: str
) -> None:
    rec = zoomingonline.open(stores[0] / "int16.zarr")
    with pytest.raises(ZoomingOnlineError, match=message):
        call(rec)


def test_bad_locations(tmp_path: Path, stores: tuple[Path, Any]) -> None:
    (tmp_path / "file.zarr").write_text("x")
    (tmp_path / "folder").mkdir()
    for location, message in [
        (tmp_path / "none.zarr", "no such store"),
        (tmp_path / "file.zarr", "is a file"),
        (tmp_path / "folder", "not a Zarr store"),
        ("ftp://host/x.zarr", "cannot read ftp://"),
        ("s3://bucket-only", "expected s3://BUCKET"),
        ("http://127.0.0.1:1/run.zarr", "cannot read http://127.0.0.1:1/run.zarr: Generic HTTP"),
    ]:
        with pytest.raises(ZoomingOnlineError, match=message):
            zoomingonline.open(location)
    with (
        serve_in_thread(stores[0], access_log=False) as info,
        pytest.raises(ZoomingOnlineError, match="not a zoomingonline store"),
    ):
        zoomingonline.open(f"{info.url}missing.zarr")


# -- what a window reads ------------------------------------------------------------------------


class CountingStore(WrapperStore[LocalStore]):
    """A local store that records the keys read through it."""

    def __init__(self, store: LocalStore) -> None:
        super().__init__(store)
        self.keys: list[str] = []

    def _with_store(self, store: LocalStore) -> CountingStore:
        return CountingStore(store)

    async def get(self, key: str, prototype: Any, byte_range: Any = None) -> Any:
        self.keys.append(key)
        return await self._store.get(key, prototype, byte_range)


def test_a_window_reads_at_most_two_chunks_of_its_level(tmp_path: Path) -> None:
    n = 3_000_000
    x = make_samples((1, 1, 1, n), "int16")
    path = write_store(
        tmp_path / "big.zarr",
        x,
        raw_chunk=262_144,
        target=4000,
        min_bin=64,
        overview_chunk=16_384,
    )
    counting = CountingStore(LocalStore(path, read_only=True))
    rec = Recording(Location(str(path), "local", counting, path=path))
    assert [lv.chunk for lv in rec.levels][-1] == 16_384
    rng = np.random.default_rng(5)
    levels = set()
    todo = [(0, n), (n - 2_100_000, n), (1, 2_000_002)]
    for _ in range(60):
        a = int(rng.integers(0, n - 1))
        todo.append((a, int(rng.integers(a + 1, min(n, a + int(10 ** rng.uniform(1, 6.5))) + 1))))
    for a, e in todo:
        counting.keys.clear()
        w = rec.window(0, 0, 0, a * HORIZ, e * HORIZ, max_points=2000)
        chunks = [k for k in counting.keys if not k.rsplit("/", 1)[-1].startswith(".")]
        assert all(k.startswith(w.level + "/") for k in chunks), chunks
        assert 1 <= len(chunks) <= 2, (a, e, w.level, chunks)
        assert len(chunks) == w.chunks
        levels.add(w.level)
    assert {"raw", "overview/0"} < levels


def test_zarr_sees_the_same_samples(stores: tuple[Path, Any]) -> None:
    """The reader and plain zarr agree (the reader adds nothing to the values)."""
    root, data = stores
    rec = zoomingonline.open(root / "float64.zarr")
    group = zarr.open_group(root / "float64.zarr", mode="r")
    s = rec.samples(1, 0, 1, 0, SHAPE[3])
    assert_same(s.samples, np.asarray(group["raw"][1, 0, 1]))
    assert_same(s.samples, data["float64"][1, 0, 1])
    assert math.isclose(rec.horiz_interval, HORIZ)
