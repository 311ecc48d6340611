"""End-to-end tests of HDF5 -> Zarr conversion and of the store writer.

Every store is read back with zarr and compared with the input and with a small numpy
oracle written here (``np.fmin.reduceat``/``np.fmax.reduceat`` over the bin starts), which
shares no code with the package nor with ``tests/reference.py``.
"""

from __future__ import annotations

import datetime as dt
import importlib
import itertools
import json
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import hdf5plugin
import numpy as np
import numpy.typing as npt
import pytest
import zarr
import zoomingonline
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import reference_level
from zoomingonline import ZoomingOnlineError
from zoomingonline.store import CodecSpec, StoreLayout, StoreWriter, read_into_fn

#: The sample types the store format promises (docs/format.md), spelled out here.
DTYPES = ("int8", "uint8", "int16", "uint16", "int32", "float32", "float64")
HI = 1e-9  # horiz_interval written into the test files


# -- helpers ---------------------------------------------------------------------------------


def convert(*args: Any, **kwargs: Any) -> Any:
    """The public entry point, ``zoomingonline.convert``, looked up at each call."""
    return zoomingonline.convert(*args, **kwargs)


def native(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    return a.astype(a.dtype.newbyteorder("="))


def make_samples(
    shape: tuple[int, int, int, int], dtype: str, seed: int = 0, nan_tail: int = 7
) -> npt.NDArray[Any]:
    """Random samples with the dtype's extremes planted; for floats NaN runs and all-NaN bins."""
    rng = np.random.default_rng(seed)
    d = np.dtype(dtype)
    n = shape[3]
    if d.kind in "iu":
        info = np.iinfo(d)
        # The bulk stays inside half the range so the planted extremes are the only ones.
        x = rng.integers(info.min // 2, info.max // 2, size=shape, dtype=d, endpoint=True)
        flat = x.reshape(-1, n)
        for i, seg in enumerate(flat):
            seg[rng.integers(n)] = info.min
            seg[rng.integers(n)] = info.max
            seg[-1] = info.max if i % 2 else info.min  # in the partial last bin
        return x
    finfo = np.finfo(d)
    x = rng.normal(0.0, 1000.0, size=shape).astype(d)
    flat = x.reshape(-1, n)
    for i, seg in enumerate(flat):
        seg[rng.integers(n, size=max(1, n // 50))] = np.nan  # scattered NaN
        seg[rng.integers(n)] = finfo.max
        seg[rng.integers(n)] = finfo.min
        seg[rng.integers(n)] = np.inf if i % 2 else -np.inf
        kind = i % 3
        if kind == 0:
            seg[n // 4 : n // 4 + n // 3] = np.nan  # a long run: whole bins of NaN
        elif kind == 1:
            seg[-nan_tail:] = np.nan  # the partial last bin only NaN
    if flat.shape[0] > 2:
        flat[2] = np.nan  # a whole segment of NaN: every bin of every level is NaN
    return x


def write_h5(
    path: Path,
    samples: npt.ArrayLike,
    *,
    name: str = "samples",
    attrs: dict[str, Any] | None = None,
    datasets: dict[str, Any] | None = None,
    **dset_kwargs: Any,
) -> Path:
    attrs = {"horiz_interval": HI} if attrs is None else attrs
    with h5py.File(path, "w") as f:
        f.create_dataset(name, data=samples, **dset_kwargs)
        for key, value in attrs.items():
            f.attrs[key] = value
        for key, value in (datasets or {}).items():
            f[key] = value
    return path


def chunk_files(store: Path) -> dict[str, bytes]:
    """Every chunk file of a store (not the dot metadata files), by relative path."""
    return {
        p.relative_to(store).as_posix(): p.read_bytes()
        for p in sorted(store.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def check_store(
    path: Path,
    data: npt.NDArray[Any],
    *,
    factor: int,
    target: int,
    min_bin: int,
) -> Any:
    """Raw equals ``data`` exactly and every level equals the oracle; returns the group."""
    g = zarr.open_group(str(path), mode="r")
    expected = native(data)
    c, t, s, n = data.shape
    raw = g["raw"][...]
    np.testing.assert_array_equal(raw, expected, strict=True)

    pyramid = g.attrs["zoomingonline"]["pyramid"]
    assert (pyramid["factor"], pyramid["target"], pyramid["min_bin"]) == (factor, target, min_bin)
    levels = pyramid["levels"]
    bins = [lv["bin"] for lv in levels]
    assert [lv["path"] for lv in levels] == [f"overview/{k}" for k in range(len(levels))]
    assert bins[-1] == min_bin
    for coarse, fine in itertools.pairwise(bins):
        assert coarse == factor * fine  # bins nest
    assert [lv["bins"] for lv in levels] == [math.ceil(n / b) for b in bins]
    assert levels[0]["bins"] <= target
    assert len(levels) == 1 or levels[1]["bins"] > target  # no level coarser than needed
    on_disk = sorted(p.name for p in (path / "overview").iterdir() if p.is_dir())
    assert on_disk == sorted(str(k) for k in range(len(levels)))

    for k, b in enumerate(bins):
        level = g[f"overview/{k}"][...]
        assert level.shape == (c, t, s, 2, math.ceil(n / b))
        assert level.dtype == expected.dtype
        for idx in np.ndindex(c, t, s):
            np.testing.assert_array_equal(
                level[idx], reference_level(expected[idx], b), strict=True
            )
    return g


def plain_attrs(c: int, t: int) -> dict[str, Any]:
    return {
        "horiz_interval": HI,
        "vertical_gains": [[1.0] * t for _ in range(c)],
        "vertical_offsets": [[0.0] * t for _ in range(c)],
    }


def write_with_writer(
    path: Path,
    data: npt.NDArray[Any],
    *,
    raw_chunk: int,
    target: int,
    factor: int,
    min_bin: int,
    overview_chunk: int,
    block_samples: int,
    jobs: int = 2,
) -> StoreWriter:
    layout = StoreLayout.create(
        data.shape,
        data.dtype,
        raw_chunk=raw_chunk,
        target=target,
        factor=factor,
        min_bin=min_bin,
        overview_chunk=overview_chunk,
    )
    read_into = read_into_fn(data)
    with StoreWriter(
        path,
        layout,
        plain_attrs(*data.shape[:2]),
        jobs=jobs,
        source="test",
        block_samples=block_samples,
    ) as writer:
        for c, t, s in np.ndindex(data.shape[:3]):
            writer.write_segment(c, t, s, read_into)
    return writer


def leftovers(folder: Path) -> list[str]:
    """Temporary names the writer may leave beside a target."""
    return sorted(p.name for p in folder.iterdir() if ".partial" in p.name or ".old-" in p.name)


# -- exactness ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_convert_is_exact_for_every_dtype(tmp_path: Path, dtype: str) -> None:
    # N = 5003 is prime: no multiple of raw_chunk (256) nor of any bin (192, 48, 12, 3).
    data = make_samples((2, 2, 3, 5003), dtype, seed=DTYPES.index(dtype))
    src = write_h5(tmp_path / "rec.h5", data)
    summary = convert(src, tmp_path / "rec.zarr", raw_chunk=256, min_bin=3, target=50, factor=4)
    g = check_store(tmp_path / "rec.zarr", data, factor=4, target=50, min_bin=3)
    assert [lv["bin"] for lv in g.attrs["zoomingonline"]["pyramid"]["levels"]] == [192, 48, 12, 3]
    assert summary.dtype == dtype
    assert g["raw"].dtype == np.dtype(dtype)
    assert len(list((tmp_path / "rec.zarr" / "raw").glob("[0-9]*"))) == 12 * math.ceil(5003 / 256)


@pytest.mark.parametrize("factor", [3, 5])
def test_convert_other_factors(tmp_path: Path, factor: int) -> None:
    data = make_samples((1, 2, 2, 10007), "int16", seed=factor)
    src = write_h5(tmp_path / "rec.h5", data)
    summary = convert(src, raw_chunk=999, min_bin=2, target=30, factor=factor)
    check_store(tmp_path / "rec.zarr", data, factor=factor, target=30, min_bin=2)
    bins = [lv["bin"] for lv in summary.levels]
    assert len(bins) >= 3
    assert bins == [2 * factor**k for k in reversed(range(len(bins)))]


def test_convert_defaults_several_blocks_and_overview_chunks(tmp_path: Path) -> None:
    # With the default parameters this segment spans two read blocks (4 Mi samples each)
    # and its finest level (65601 bins of 64) two overview chunks.
    n = (1 << 22) + 4099
    rng = np.random.default_rng(7)
    data = rng.integers(-2000, 2000, size=(1, 1, 1, n), dtype=np.int16)
    data[0, 0, 0, (1 << 22) - 1] = -32768  # last sample of the first block
    data[0, 0, 0, 1 << 22] = 32767  # first sample of the second block
    data[0, 0, 0, -1] = 32767  # the very last sample, in a partial bin
    src = write_h5(tmp_path / "big.h5", data, chunks=(1, 1, 1, 1 << 18))
    summary = convert(src)
    g = check_store(tmp_path / "big.zarr", data, factor=4, target=4000, min_bin=64)
    assert [lv["bin"] for lv in summary.levels] == [4096, 1024, 256, 64]
    finest = g["overview/3"]
    assert finest.shape[-1] == 65601
    assert finest.chunks[-1] < finest.shape[-1]
    assert len(list((tmp_path / "big.zarr" / "overview" / "3").glob("[0-9]*"))) > 1
    assert g["raw"].chunks == (1, 1, 1, 1 << 20)


@pytest.mark.parametrize("dtype", ["int16", "uint8", "float32", "float64"])
def test_writer_small_chunks_are_exact(tmp_path: Path, dtype: str) -> None:
    data = make_samples((1, 2, 3, 5003), dtype, seed=11)
    store = tmp_path / "w.zarr"
    writer = write_with_writer(
        store,
        data,
        raw_chunk=256,
        target=20,
        factor=4,
        min_bin=3,
        overview_chunk=5,
        block_samples=700,  # several blocks per segment, not aligned to any bin
    )
    g = check_store(store, data, factor=4, target=20, min_bin=3)
    levels = g.attrs["zoomingonline"]["pyramid"]["levels"]
    assert len(levels) >= 4
    n_seg = 6
    # overview/0 is one chunk per segment; finer levels have several chunks along the last axis.
    zero = read_json(store / "overview" / "0" / ".zarray")
    assert zero["chunks"] == [1, 1, 1, 2, levels[0]["bins"]]
    assert len(list((store / "overview" / "0").glob("[0-9]*"))) == n_seg
    for k, lv in enumerate(levels[1:], start=1):
        meta = read_json(store / "overview" / str(k) / ".zarray")
        assert meta["chunks"][:4] == [1, 1, 1, 2]
        ck = meta["chunks"][4]
        assert ck < lv["bins"]
        files = list((store / "overview" / str(k)).glob("[0-9]*"))
        assert len(files) == n_seg * math.ceil(lv["bins"] / ck) > n_seg
    assert writer.bytes_out == sum(len(b) for b in chunk_files(store).values())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 3000),
    cts=st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 2)),
    raw_chunk=st.integers(1, 700),
    min_bin=st.integers(1, 50),
    factor=st.integers(2, 6),
    target=st.integers(1, 40),
    overview_chunk=st.integers(1, 40),
    block_samples=st.integers(1, 2000),
    dtype=st.sampled_from(["int8", "uint16", "int32", "float32", "float64"]),
    jobs=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_writer_matches_oracle_random(
    n: int,
    cts: tuple[int, int, int],
    raw_chunk: int,
    min_bin: int,
    factor: int,
    target: int,
    overview_chunk: int,
    block_samples: int,
    dtype: str,
    jobs: int,
    seed: int,
) -> None:
    raw_chunk = max(raw_chunk, n // 40)  # keep the number of chunk files small
    rng = np.random.default_rng(seed)
    d = np.dtype(dtype)
    shape = (*cts, n)
    if d.kind in "iu":
        info = np.iinfo(d)
        data = rng.integers(info.min, info.max, size=shape, dtype=d, endpoint=True)
    else:
        data = rng.normal(0, 10, size=shape).astype(d)
        data[rng.random(shape) < 0.2] = np.nan
        a = int(rng.integers(n))
        data[..., a : a + int(rng.integers(1, 200))] = np.nan
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "h.zarr"
        writer = write_with_writer(
            store,
            data,
            raw_chunk=raw_chunk,
            target=target,
            factor=factor,
            min_bin=min_bin,
            overview_chunk=overview_chunk,
            block_samples=block_samples,
            jobs=jobs,
        )
        check_store(store, data, factor=factor, target=target, min_bin=min_bin)
        assert writer.bytes_out == sum(len(b) for b in chunk_files(store).values())
        assert leftovers(Path(tmp)) == []


# -- format ------------------------------------------------------------------------------------


def test_format_zarr_v2_blosc_zstd_bitshuffle(tmp_path: Path) -> None:
    data = make_samples((2, 1, 2, 1500), "int16")
    src = write_h5(tmp_path / "rec.h5", data)
    convert(src, tmp_path / "s.zarr", raw_chunk=400, min_bin=4, target=10)
    store = tmp_path / "s.zarr"
    groups = [store, store / "overview"]
    for grp in groups:
        assert read_json(grp / ".zgroup") == {"zarr_format": 2}
    arrays = sorted(p.parent for p in store.rglob(".zarray"))
    assert arrays[0] == store / "overview" / "0"
    assert store / "raw" in arrays
    assert not list(store.rglob("zarr.json"))  # no Zarr v3 metadata
    for arr in arrays:
        meta = read_json(arr / ".zarray")
        assert meta["zarr_format"] == 2
        assert meta["dtype"] == "<i2"
        comp = meta["compressor"]
        # raw: zstd 3; the overview levels: lz4 5; both with bit shuffle (2).
        expected = ("zstd", 3) if arr == store / "raw" else ("lz4", 5)
        assert (comp["id"], comp["cname"], comp["clevel"], comp["shuffle"]) == (
            "blosc",
            *expected,
            2,  # numcodecs.Blosc.BITSHUFFLE
        )
        assert not meta.get("filters")
    raw = read_json(store / "raw" / ".zarray")
    assert raw["shape"] == [2, 1, 2, 1500]
    assert raw["chunks"] == [1, 1, 1, 400]
    levels = zarr.open_group(str(store), mode="r").attrs["zoomingonline"]["pyramid"]["levels"]
    zero = read_json(store / "overview" / "0" / ".zarray")
    assert zero["shape"] == [2, 1, 2, 2, levels[0]["bins"]]
    assert zero["chunks"] == [1, 1, 1, 2, levels[0]["bins"]]
    assert sorted(p.name for p in (store / "overview" / "0").glob("[0-9]*")) == [
        "0.0.0.0.0",
        "0.0.1.0.0",
        "1.0.0.0.0",
        "1.0.1.0.0",
    ]


def test_raw_chunk_larger_than_segment(tmp_path: Path) -> None:
    data = make_samples((1, 1, 2, 300), "int16")
    src = write_h5(tmp_path / "rec.h5", data)
    convert(src, min_bin=4, target=10)  # default raw_chunk, 1 Mi samples
    assert read_json(tmp_path / "rec.zarr" / "raw" / ".zarray")["chunks"] == [1, 1, 1, 300]
    check_store(tmp_path / "rec.zarr", data, factor=4, target=10, min_bin=4)


@pytest.mark.parametrize(
    ("codec", "clevel", "shuffle", "blosc_shuffle"),
    [
        ("lz4", 7, "byte", 1),
        ("blosclz", 0, "none", 0),
        ("zlib", 9, "bit", 2),
        ("lz4hc", 1, "bit", 2),
    ],
)
def test_codec_options_in_zarray(
    tmp_path: Path, codec: str, clevel: int, shuffle: str, blosc_shuffle: int
) -> None:
    data = make_samples((1, 1, 2, 2000), "float32")
    src = write_h5(tmp_path / "rec.h5", data)
    # The overview levels take their own codec and level, and the shuffle of raw.
    ov_codec, ov_clevel = ("zstd", 2) if codec == "lz4" else ("lz4", 9 - clevel)
    convert(
        src,
        codec=codec,
        clevel=clevel,
        shuffle=shuffle,
        overview_codec=ov_codec,
        overview_clevel=ov_clevel,
        min_bin=8,
        target=20,
    )
    store = tmp_path / "rec.zarr"
    arrays = sorted(p.parent for p in store.rglob(".zarray"))
    assert len(arrays) > 2
    for arr in arrays:
        comp = read_json(arr / ".zarray")["compressor"]
        expected = (codec, clevel) if arr == store / "raw" else (ov_codec, ov_clevel)
        assert (comp["id"], comp["cname"], comp["clevel"], comp["shuffle"]) == (
            "blosc",
            *expected,
            blosc_shuffle,
        )
    check_store(store, data, factor=4, target=20, min_bin=8)


def test_root_attrs_defaults_and_zoomingonline_object(tmp_path: Path) -> None:
    data = make_samples((2, 3, 1, 1000), "int16")
    src = write_h5(tmp_path / "run42.h5", data, attrs={"horiz_interval": np.float64(2.5e-9)})
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    convert(src, tmp_path / "out.zarr", min_bin=5, target=30, factor=3)
    after = dt.datetime.now(dt.UTC)
    zattrs = read_json(tmp_path / "out.zarr" / ".zattrs")
    assert zattrs["horiz_interval"] == 2.5e-9
    assert zattrs["vertical_gains"] == [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    assert zattrs["vertical_offsets"] == [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    assert "horiz_offset" not in zattrs
    meta = zattrs["zoomingonline"]
    assert meta["format_version"] == 1
    assert meta["software_version"] == zoomingonline.__version__
    assert meta["source"] == "run42.h5"
    created = dt.datetime.fromisoformat(meta["created"])
    assert created.tzinfo is not None
    assert before <= created <= after
    pyr = meta["pyramid"]
    assert (pyr["factor"], pyr["target"], pyr["min_bin"]) == (3, 30, 5)
    assert pyr["levels"] == [
        {"path": "overview/0", "bin": 45, "bins": 23},
        {"path": "overview/1", "bin": 15, "bins": 67},
        {"path": "overview/2", "bin": 5, "bins": 200},
    ]


def test_gains_and_offsets_indexed_channel_then_trc(tmp_path: Path) -> None:
    c, t = 2, 3
    gains = 1e-4 * (1 + np.arange(c * t).reshape(c, t))
    offsets = -0.1 * np.arange(c * t).reshape(c, t)
    data = make_samples((c, t, 1, 100), "int16")
    src = write_h5(
        tmp_path / "rec.h5",
        data,
        datasets={"vertical_gain": gains, "vertical_offset": offsets},
    )
    summary = convert(src, min_bin=4, target=10)
    g = zarr.open_group(str(tmp_path / "rec.zarr"), mode="r")
    assert g.attrs["vertical_gains"] == gains.tolist()
    assert g.attrs["vertical_offsets"] == offsets.tolist()
    # The datasets became these attributes; they are not copied a second time.
    assert "vertical_gain" not in g.attrs
    assert "vertical_offset" not in g.attrs
    assert summary.skipped_metadata == []


def test_gains_broadcast_from_scalars(tmp_path: Path) -> None:
    data = make_samples((2, 2, 1, 100), "int16")
    src = write_h5(
        tmp_path / "rec.h5",
        data,
        attrs={"horiz_interval": HI, "vertical_gain": 2.5},
        datasets={"vertical_offset": np.float32(0.25)},
    )
    convert(src, min_bin=4, target=10)
    g = zarr.open_group(str(tmp_path / "rec.zarr"), mode="r")
    assert g.attrs["vertical_gains"] == [[2.5, 2.5], [2.5, 2.5]]
    assert g.attrs["vertical_offsets"] == [[0.25, 0.25], [0.25, 0.25]]


def test_gain_of_wrong_shape_is_refused(tmp_path: Path) -> None:
    data = make_samples((2, 2, 1, 100), "int16")
    src = write_h5(tmp_path / "rec.h5", data, datasets={"vertical_gain": np.ones(3)})
    with pytest.raises(ZoomingOnlineError, match="vertical_gain"):
        convert(src)
    assert not (tmp_path / "rec.zarr").exists()


@pytest.mark.parametrize("form", ["scalar", "ct", "cts"])
def test_horiz_offset_forms(tmp_path: Path, form: str) -> None:
    c, t, s = 2, 2, 3
    data = make_samples((c, t, s, 100), "int16")
    values = {
        "scalar": np.float64(-1.5e-6),
        "ct": np.arange(c * t, dtype=float).reshape(c, t) * 1e-6,
        "cts": np.arange(c * t * s, dtype=float).reshape(c, t, s) * -1e-7,
    }[form]
    if form == "scalar":
        src = write_h5(
            tmp_path / "rec.h5", data, attrs={"horiz_interval": HI, "horiz_offset": values}
        )
    else:
        src = write_h5(tmp_path / "rec.h5", data, datasets={"horiz_offset": values})
    summary = convert(src, min_bin=4, target=10)
    got = zarr.open_group(str(tmp_path / "rec.zarr"), mode="r").attrs["horiz_offset"]
    assert got == (float(values) if form == "scalar" else values.tolist())
    assert summary.skipped_metadata == []


def test_horiz_offset_of_wrong_shape_is_reported(tmp_path: Path) -> None:
    data = make_samples((2, 2, 1, 100), "int16")
    src = write_h5(tmp_path / "rec.h5", data, datasets={"horiz_offset": np.zeros(5)})
    summary = convert(src, min_bin=4, target=10)
    assert "horiz_offset" not in zarr.open_group(str(tmp_path / "rec.zarr"), mode="r").attrs
    assert any("horiz_offset" in item for item in summary.skipped_metadata)


def test_other_metadata_copied_as_json(tmp_path: Path) -> None:
    data = make_samples((1, 2, 1, 100), "int16")
    with h5py.File(tmp_path / "rec.h5", "w") as f:
        dset = f.create_dataset("samples", data=data)
        f.attrs["horiz_interval"] = HI
        f.attrs["n_shots"] = np.int32(5)
        f.attrs["scale"] = np.float32(0.5)
        f.attrs["thresholds"] = np.array([1, 2, 3], dtype=np.uint16)
        f.attrs["grid"] = np.arange(6, dtype=np.float64).reshape(2, 3) / 4
        f.attrs["operator"] = "ada"
        f.attrs["raw_label"] = np.bytes_(b"bytes here")
        f.attrs["labels"] = np.array([b"ch1", b"ch2"])
        f["trigger_times"] = np.array([0.5, 1.5])
        dset.attrs["units"] = np.bytes_(b"adc")
        dset.attrs["bits"] = np.int8(12)
    summary = convert(tmp_path / "rec.h5", min_bin=4, target=10)
    store = tmp_path / "rec.zarr"
    zattrs = read_json(store / ".zattrs")
    assert zattrs["n_shots"] == 5
    assert isinstance(zattrs["n_shots"], int)
    assert zattrs["scale"] == 0.5
    assert zattrs["thresholds"] == [1, 2, 3]
    assert zattrs["grid"] == [[0.0, 0.25, 0.5], [0.75, 1.0, 1.25]]
    assert zattrs["operator"] == "ada"
    assert zattrs["raw_label"] == "bytes here"
    assert zattrs["labels"] == ["ch1", "ch2"]
    assert zattrs["trigger_times"] == [0.5, 1.5]
    assert read_json(store / "raw" / ".zattrs") == {"units": "adc", "bits": 12}
    assert summary.skipped_metadata == []


def test_unjsonable_metadata_reported_not_dropped(tmp_path: Path) -> None:
    data = make_samples((1, 1, 1, 100), "int16")
    with h5py.File(tmp_path / "rec.h5", "w") as f:
        dset = f.create_dataset("samples", data=data)
        f.attrs["horiz_interval"] = HI
        f.attrs["bad_nan"] = np.nan
        f.attrs["bad_complex"] = np.complex128(1 + 2j)
        f.attrs["bad_ref"] = dset.ref
        f.attrs["zoomingonline"] = "a name the format reserves"
        f.attrs["fine"] = 1
        dset.attrs["bad_inf"] = np.float32(np.inf)
        dset.attrs["ok"] = 2
    summary = convert(tmp_path / "rec.h5", min_bin=4, target=10)
    zattrs = read_json(tmp_path / "rec.zarr" / ".zattrs")
    raw_attrs = read_json(tmp_path / "rec.zarr" / "raw" / ".zattrs")
    skipped = " | ".join(summary.skipped_metadata)
    for name in ("bad_nan", "bad_complex", "bad_ref", "bad_inf"):
        assert name in skipped
        assert name not in zattrs
        assert name not in raw_attrs
    assert "zoomingonline (name reserved" in skipped
    assert zattrs["zoomingonline"]["format_version"] == 1
    assert zattrs["fine"] == 1
    assert raw_attrs == {"ok": 2}
    assert len(summary.skipped_metadata) == 5


def test_compound_attribute_not_silently_reduced(tmp_path: Path) -> None:
    data = make_samples((1, 1, 1, 100), "int16")
    value = np.array((1, 2.5), dtype=[("count", "i4"), ("level", "f8")])
    src = write_h5(tmp_path / "rec.h5", data, attrs={"horiz_interval": HI, "setup": value})
    summary = convert(src, min_bin=4, target=10)
    zattrs = read_json(tmp_path / "rec.zarr" / ".zattrs")
    skipped = any("setup" in item for item in summary.skipped_metadata)
    exact = zattrs.get("setup") == {"count": 1, "level": 2.5}
    assert skipped != ("setup" in zattrs)
    assert skipped or exact


def test_horiz_interval_missing_or_overridden(tmp_path: Path) -> None:
    data = make_samples((1, 1, 1, 100), "int16")
    src = write_h5(tmp_path / "rec.h5", data, attrs={})
    summary = convert(src, tmp_path / "a.zarr", min_bin=4, target=10)
    assert read_json(tmp_path / "a.zarr" / ".zattrs")["horiz_interval"] == 1.0
    assert any("horiz_interval" in item for item in summary.skipped_metadata)
    summary = convert(src, tmp_path / "b.zarr", min_bin=4, target=10, horiz_interval=4e-10)
    assert read_json(tmp_path / "b.zarr" / ".zattrs")["horiz_interval"] == 4e-10
    assert summary.skipped_metadata == []
    with pytest.raises(ZoomingOnlineError, match="horiz_interval"):
        convert(src, tmp_path / "c.zarr", horiz_interval=0.0)
    assert not (tmp_path / "c.zarr").exists()


def test_horiz_interval_on_the_samples_dataset(tmp_path: Path) -> None:
    data = make_samples((1, 1, 1, 100), "int16")
    with h5py.File(tmp_path / "rec.h5", "w") as f:
        f.create_dataset("samples", data=data).attrs["horiz_interval"] = 8e-10
    convert(tmp_path / "rec.h5", min_bin=4, target=10)
    assert read_json(tmp_path / "rec.zarr" / ".zattrs")["horiz_interval"] == 8e-10


# -- input -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["data", "scope/data"])
def test_single_4d_dataset_found_by_itself(tmp_path: Path, name: str) -> None:
    data = make_samples((2, 1, 2, 777), "int16")
    src = write_h5(
        tmp_path / "gen.h5",
        data,
        name=name,
        datasets={"vertical_gain": np.full((2, 1), 0.5), "notes": np.arange(3)},
    )
    summary = convert(src, min_bin=4, target=20)
    assert summary.dataset == name
    g = check_store(tmp_path / "gen.zarr", data, factor=4, target=20, min_bin=4)
    assert g.attrs["vertical_gains"] == [[0.5], [0.5]]
    assert g.attrs["notes"] == [0, 1, 2]


def test_dataset_option_picks_the_named_one(tmp_path: Path) -> None:
    a = make_samples((1, 1, 2, 300), "int16", seed=1)
    b = make_samples((1, 2, 1, 500), "float32", seed=2)
    src = write_h5(tmp_path / "two.h5", a, datasets={"other": b})
    summary = convert(src, tmp_path / "b.zarr", dataset="other", min_bin=4, target=20)
    assert summary.dataset == "other"
    assert summary.shape == (1, 2, 1, 500)
    check_store(tmp_path / "b.zarr", b, factor=4, target=20, min_bin=4)
    # Without the option, `samples` is the one.
    summary = convert(src, tmp_path / "a.zarr", min_bin=4, target=20)
    assert summary.dataset == "samples"
    check_store(tmp_path / "a.zarr", a, factor=4, target=20, min_bin=4)


@pytest.mark.parametrize(
    "compression",
    [
        {"compression": "gzip", "compression_opts": 4, "shuffle": True},
        dict(hdf5plugin.Blosc(cname="zstd", clevel=5, shuffle=hdf5plugin.Blosc.SHUFFLE)),
        dict(hdf5plugin.LZ4()),
        dict(hdf5plugin.Zstd()),
    ],
    ids=["gzip", "blosc", "lz4", "zstd"],
)
def test_compressed_chunked_inputs(tmp_path: Path, compression: dict[str, Any]) -> None:
    data = make_samples((2, 1, 2, 3001), "int16", seed=3)
    src = write_h5(tmp_path / "c.h5", data, chunks=(1, 1, 2, 333), **compression)
    with h5py.File(src, "r") as f:
        assert f["samples"].id.get_create_plist().get_nfilters() >= 1
    convert(src, raw_chunk=500, min_bin=4, target=20)
    check_store(tmp_path / "c.zarr", data, factor=4, target=20, min_bin=4)


def test_big_endian_input_stored_native(tmp_path: Path) -> None:
    data = make_samples((1, 2, 2, 999), "int16", seed=4).astype(">i2")
    src = write_h5(tmp_path / "be.h5", data)
    with h5py.File(src, "r") as f:
        assert f["samples"].dtype == np.dtype(">i2")
    summary = convert(src, raw_chunk=100, min_bin=4, target=20)
    store = tmp_path / "be.zarr"
    for arr in store.rglob(".zarray"):
        assert read_json(arr)["dtype"] == "<i2"
    assert summary.dtype == "int16"
    check_store(store, data, factor=4, target=20, min_bin=4)


# -- atomic writes -----------------------------------------------------------------------------


def test_writer_failure_midway_leaves_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "x.zarr"
    data = make_samples((1, 1, 3, 1000), "int16")
    layout = StoreLayout.create(data.shape, data.dtype, raw_chunk=50, target=10, min_bin=4)
    good = read_into_fn(data)
    calls = 0

    def failing(c: int, t: int, s: int, start: int, out: npt.NDArray[Any]) -> None:
        nonlocal calls
        calls += 1
        if calls > 4:
            raise RuntimeError("the disk went away")
        good(c, t, s, start, out)

    def build() -> None:
        with StoreWriter(target, layout, plain_attrs(1, 1), jobs=2, block_samples=300) as w:
            w.write_segment(0, 0, 0, failing)
            # Mid-way: the store is built under a temporary name, the target is absent.
            assert not target.exists()
            # The temporary store and its owner record, held locked by this run.
            (tmp,) = (name for name in leftovers(folder) if not name.endswith(".owner"))
            assert leftovers(folder) == [tmp, f"{tmp}.owner"]
            w.write_segment(0, 0, 1, failing)

    with pytest.raises(RuntimeError, match="the disk went away"):
        build()
    assert calls == 5
    assert list(folder.iterdir()) == []


def _corrupt_last_chunk(path: Path) -> None:
    with h5py.File(path, "r") as f:
        info = f["samples"].id.get_chunk_info_by_coord((0, 0, 2, 0))
    with path.open("r+b") as fh:
        fh.seek(info.byte_offset)
        fh.write(b"\xa5" * info.size)


def test_convert_failing_source_leaves_nothing(tmp_path: Path) -> None:
    data = make_samples((1, 1, 3, 4000), "int16")
    src = write_h5(tmp_path / "bad.h5", data, chunks=(1, 1, 1, 4000), compression="gzip")
    _corrupt_last_chunk(src)
    with pytest.raises(ZoomingOnlineError, match="cannot read"):
        convert(src, tmp_path / "bad.zarr")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.h5"]


def test_failing_overwrite_keeps_the_old_store(tmp_path: Path) -> None:
    good = make_samples((1, 1, 3, 4000), "int16", seed=1)
    convert(write_h5(tmp_path / "good.h5", good), tmp_path / "out.zarr", min_bin=16)
    before = chunk_files(tmp_path / "out.zarr")
    src = write_h5(tmp_path / "bad.h5", good + 1, chunks=(1, 1, 1, 4000), compression="gzip")
    _corrupt_last_chunk(src)
    with pytest.raises(ZoomingOnlineError):
        convert(src, tmp_path / "out.zarr", overwrite=True, min_bin=16)
    assert chunk_files(tmp_path / "out.zarr") == before
    assert leftovers(tmp_path) == []


def test_existing_target_not_replaced(tmp_path: Path) -> None:
    data = make_samples((1, 1, 1, 100), "int16")
    src = write_h5(tmp_path / "rec.h5", data)
    target = tmp_path / "rec.zarr"
    target.mkdir()
    (target / "keep.txt").write_text("precious")
    with pytest.raises(ZoomingOnlineError, match="exists"):
        convert(src)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    assert (target / "keep.txt").read_text() == "precious"
    assert leftovers(tmp_path) == []
    layout = StoreLayout.create(data.shape, data.dtype)
    with pytest.raises(ZoomingOnlineError, match="exists"):
        StoreWriter(target, layout, plain_attrs(1, 1))
    assert (target / "keep.txt").read_text() == "precious"


def test_overwrite_replaces_the_store(tmp_path: Path) -> None:
    first = make_samples((1, 1, 2, 500), "int16", seed=1)
    second = make_samples((2, 1, 1, 700), "int16", seed=2)
    out = tmp_path / "out.zarr"
    convert(write_h5(tmp_path / "a.h5", first), out, min_bin=4, target=20)
    convert(write_h5(tmp_path / "b.h5", second), out, min_bin=4, target=20, overwrite=True)
    check_store(out, second, factor=4, target=20, min_bin=4)
    assert read_json(out / ".zattrs")["zoomingonline"]["source"] == "b.h5"
    assert leftovers(tmp_path) == []


def test_overwrite_refuses_a_store_holding_other_files(tmp_path: Path) -> None:
    first = make_samples((1, 1, 2, 500), "int16", seed=1)
    out = tmp_path / "out.zarr"
    convert(write_h5(tmp_path / "a.h5", first), out, min_bin=4, target=20)
    (out / "raw" / "notes.txt").write_text("the user's own")
    with pytest.raises(ZoomingOnlineError, match=r"holds raw/notes\.txt.*not replaced"):
        convert(write_h5(tmp_path / "b.h5", first), out, min_bin=4, target=20, overwrite=True)
    assert (out / "raw" / "notes.txt").read_text() == "the user's own"
    check_store(out, first, factor=4, target=20, min_bin=4)
    assert leftovers(tmp_path) == []


def test_overwrite_of_a_regular_file(tmp_path: Path) -> None:
    data = make_samples((1, 1, 1, 100), "int16")
    src = write_h5(tmp_path / "rec.h5", data)
    out = tmp_path / "out.zarr"
    out.write_text("not a store")
    with pytest.raises(ZoomingOnlineError, match="is a file, not a store; not replaced"):
        convert(src, out, overwrite=True, min_bin=4, target=10)
    assert out.read_text() == "not a store"
    assert leftovers(tmp_path) == []


# -- bad inputs --------------------------------------------------------------------------------


def _h5_with(path: Path, **datasets: Any) -> Path:
    with h5py.File(path, "w") as f:
        for name, value in datasets.items():
            f[name] = value
    return path


BadCase = Callable[[Path], tuple[Path, dict[str, Any]]]


def _missing(d: Path) -> tuple[Path, dict[str, Any]]:
    return d / "nope.h5", {}


def _text(d: Path) -> tuple[Path, dict[str, Any]]:
    p = d / "notes.h5"
    p.write_text("this is not HDF5\n")
    return p, {}


def _folder(d: Path) -> tuple[Path, dict[str, Any]]:
    p = d / "folder.h5"
    p.mkdir()
    return p, {}


def _no_4d(d: Path) -> tuple[Path, dict[str, Any]]:
    return _h5_with(d / "f.h5", x=np.zeros((2, 3, 4)), y=np.zeros(5)), {}


def _two_4d(d: Path) -> tuple[Path, dict[str, Any]]:
    return _h5_with(d / "f.h5", alpha=np.zeros((1, 1, 1, 4)), beta=np.ones((1, 1, 1, 4))), {}


def _missing_named(d: Path) -> tuple[Path, dict[str, Any]]:
    return _h5_with(d / "f.h5", samples=np.zeros((1, 1, 1, 4), np.int16)), {"dataset": "nope"}


def _rank3(d: Path) -> tuple[Path, dict[str, Any]]:
    return _h5_with(d / "f.h5", samples=np.zeros((1, 2, 4), np.int16)), {}


def _strings(d: Path) -> tuple[Path, dict[str, Any]]:
    return _h5_with(d / "f.h5", samples=np.full((1, 1, 1, 4), b"ab")), {}


def _bools(d: Path) -> tuple[Path, dict[str, Any]]:
    return _h5_with(d / "f.h5", samples=np.zeros((1, 1, 1, 4), bool)), {}


def _only_bool_4d(d: Path) -> tuple[Path, dict[str, Any]]:
    return _h5_with(d / "f.h5", flags=np.zeros((1, 1, 1, 4), bool)), {}


def _complex(d: Path) -> tuple[Path, dict[str, Any]]:
    return _h5_with(d / "f.h5", samples=np.zeros((1, 1, 1, 4), np.complex64)), {}


def _float16(d: Path) -> tuple[Path, dict[str, Any]]:
    return _h5_with(d / "f.h5", samples=np.zeros((1, 1, 1, 4), np.float16)), {}


def _empty_axis(d: Path) -> tuple[Path, dict[str, Any]]:
    return _h5_with(d / "f.h5", samples=np.zeros((2, 1, 0, 8), np.int16)), {}


def _good(d: Path) -> Path:
    return write_h5(d / "good.h5", np.zeros((1, 1, 1, 16), np.int16))


def _parent_is_file(d: Path) -> tuple[Path, dict[str, Any]]:
    (d / "afile").write_text("x")
    return _good(d), {"output": d / "afile" / "out.zarr"}


def _parent_missing(d: Path) -> tuple[Path, dict[str, Any]]:
    return _good(d), {"output": d / "no" / "such" / "out.zarr"}


def _target_exists(d: Path) -> tuple[Path, dict[str, Any]]:
    (d / "good.zarr").mkdir()
    return _good(d), {}


def _same_as_input(d: Path) -> tuple[Path, dict[str, Any]]:
    return _good(d), {"output": d / "good.h5", "overwrite": True}


def _kw(**kwargs: Any) -> BadCase:
    return lambda d: (_good(d), kwargs)


BAD_CASES: dict[str, tuple[BadCase, str]] = {
    "missing-file": (_missing, "nope.h5: no such file"),
    "not-hdf5": (_text, "not an HDF5 file"),
    "folder": (_folder, "is a folder"),
    "no-4d": (_no_4d, "no 4-D numeric dataset"),
    "two-4d": (_two_4d, r"several 4-D numeric datasets \(alpha, beta\).*--dataset"),
    "named-missing": (_missing_named, "no dataset 'nope'.*samples"),
    "rank-3": (_rank3, "'samples'.*3-D"),
    "strings": (_strings, "not numeric"),
    "bool": (_bools, "holds bool, not numeric"),
    "only-bool-4d": (_only_bool_4d, "no 4-D numeric dataset"),
    "complex": (_complex, "not numeric"),
    "float16": (_float16, "float16 are not supported"),
    "empty-axis": (_empty_axis, r"empty: shape \(2, 1, 0, 8\)"),
    "parent-is-file": (_parent_is_file, "cannot write .*afile"),
    "parent-missing": (_parent_missing, "folder .*such does not exist"),
    "target-exists": (_target_exists, "good.zarr exists; use --overwrite"),
    "same-as-input": (_same_as_input, "would replace the input"),
    "bad-codec": (_kw(codec="gzip"), "unknown codec 'gzip'"),
    "clevel-10": (_kw(clevel=10), "level must be 0 to 9, not 10"),
    "clevel-negative": (_kw(clevel=-1), "level must be 0 to 9"),
    "bad-shuffle": (_kw(shuffle="twice"), "unknown shuffle 'twice'"),
    "raw-chunk-0": (_kw(raw_chunk=0), "raw chunk"),
    "factor-1": (_kw(factor=1), "factor"),
    "target-0": (_kw(target=0), "target"),
    "min-bin-0": (_kw(min_bin=0), "min_bin"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_inputs_raise_clear_errors(tmp_path: Path, case: str) -> None:
    build, pattern = BAD_CASES[case]
    src, kwargs = build(tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(ZoomingOnlineError, match=pattern) as info:
        convert(src, **kwargs)
    assert "\n" not in str(info.value)  # one line for the command line
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


# -- summary, progress, threads ----------------------------------------------------------------


def test_summary(tmp_path: Path) -> None:
    data = make_samples((2, 3, 2, 1234), "int32")
    src = write_h5(tmp_path / "run.h5", data)
    summary = convert(src, raw_chunk=300, min_bin=4, target=19, factor=2)
    out = tmp_path / "run.zarr"
    assert summary.input == src
    assert summary.output == out
    assert summary.dataset == "samples"
    assert summary.shape == (2, 3, 2, 1234)
    assert summary.dtype == "int32"
    assert summary.levels == read_json(out / ".zattrs")["zoomingonline"]["pyramid"]["levels"]
    assert [lv["bin"] for lv in summary.levels] == [128, 64, 32, 16, 8, 4]
    assert summary.bytes_in == 2 * 3 * 2 * 1234 * 4
    files = chunk_files(out)
    assert summary.bytes_out == sum(len(b) for b in files.values())
    assert summary.bytes_out == sum(p.stat().st_size for p in out.rglob("[0-9]*") if p.is_file())
    assert summary.seconds > 0
    assert summary.ratio == summary.bytes_in / summary.bytes_out
    assert summary.skipped_metadata == []


def test_progress_reaches_the_total(tmp_path: Path) -> None:
    data = make_samples((2, 1, 3, 2000), "int16")
    src = write_h5(tmp_path / "p.h5", data)
    calls: list[tuple[int, int]] = []
    convert(src, min_bin=4, progress=lambda done, total: calls.append((done, total)))
    total = 2 * 3 * 2000
    assert calls
    assert all(t == total for _, t in calls)
    dones = [d for d, _ in calls]
    assert dones == sorted(dones)
    assert dones[-1] == total


def test_jobs_give_identical_chunks(tmp_path: Path) -> None:
    data = make_samples((2, 2, 2, 3001), "float32", seed=5)
    src = write_h5(tmp_path / "j.h5", data)
    kw: dict[str, Any] = {"raw_chunk": 128, "min_bin": 2, "target": 20}
    convert(src, tmp_path / "one.zarr", jobs=1, **kw)
    convert(src, tmp_path / "three.zarr", jobs=3, **kw)
    one = chunk_files(tmp_path / "one.zarr")
    three = chunk_files(tmp_path / "three.zarr")
    assert len(one) > 100
    assert one.keys() == three.keys()
    assert [k for k in one if one[k] != three[k]] == []
    for meta in (tmp_path / "one.zarr").rglob(".zarray"):
        twin = tmp_path / "three.zarr" / meta.relative_to(tmp_path / "one.zarr")
        assert meta.read_bytes() == twin.read_bytes()


def test_codec_spec_default_is_zstd_3_bitshuffle() -> None:
    blosc = CodecSpec().numcodecs().get_config()
    assert (blosc["id"], blosc["cname"], blosc["clevel"], blosc["shuffle"]) == (
        "blosc",
        "zstd",
        3,
        2,
    )


# -- the public API ----------------------------------------------------------------------------


def test_public_convert_is_the_function(tmp_path: Path) -> None:
    # The submodule zoomingonline.convert must not shadow the function of the same name.
    importlib.import_module("zoomingonline.convert")
    from zoomingonline import convert as public

    assert callable(zoomingonline.convert)
    assert callable(public)
    src = write_h5(tmp_path / "rec.h5", np.zeros((1, 1, 1, 10), np.int16))
    assert public(src).shape == (1, 1, 1, 10)
