"""LeCroy .trc input: parsing, runs, refusals, fuzzing, conversion, the writer and generate.

The files are built here byte by byte from the WAVEDESC table (``build_trc``), sharing no
code with ``zoomingonline.trc``; the package's own writer is checked against the same
reader separately. Stores are read back with zarr and compared with the codes written and
with the numpy oracle of ``tests/reference.py``.
"""

from __future__ import annotations

import json
import struct
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import zarr
import zoomingonline
from clihelpers import assert_one_error, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import reference_level
from zoomingonline import ZoomingOnlineError
from zoomingonline.generate import SyntheticRecording
from zoomingonline.trc import TrcReader, find_run, find_trc_inputs, read_header, write_trc

# -- an independent writer, straight from the format's table ---------------------------------


def build_trc(
    codes: npt.NDArray[Any],
    *,
    order: str = "<",
    gain: float = 0.5,
    offset: float = 0.25,
    interval: float = 1e-9,
    horiz_offset: float = -2e-7,
    trig: npt.NDArray[np.float64] | None = None,
    prefix: bool = True,
    user_text: bytes = b"hello",
    template: bytes = b"LECROY_2_3",
    overrides: dict[int, tuple[str, Any]] | None = None,
    extra: dict[str, int] | None = None,
    tail: bytes = b"",
) -> bytes:
    """A .trc file holding ``codes`` of shape (segments, samples), int8 or int16."""
    codes = np.asarray(codes)
    segs = codes.shape[0]
    item = codes.dtype.itemsize
    trig_len = 16 * segs if segs > 1 else 0
    lengths = {"user": len(user_text), "res1": 0, "trig": trig_len, "ris": 0, "resa": 0}
    lengths.update(extra or {})
    d = bytearray(346)
    d[0:8] = b"WAVEDESC"
    d[16 : 16 + len(template)] = template
    fields: dict[int, tuple[str, Any]] = {
        32: ("h", 0 if item == 1 else 1),
        34: ("h", 1 if order == "<" else 0),
        36: ("i", 346),
        40: ("i", lengths["user"]),
        44: ("i", lengths["res1"]),
        48: ("i", lengths["trig"]),
        52: ("i", lengths["ris"]),
        56: ("i", lengths["resa"]),
        60: ("i", codes.size * item),
        64: ("i", lengths.get("wave2", 0)),
        116: ("i", codes.size),
        132: ("i", 0),
        136: ("i", 1),
        144: ("i", segs),
        156: ("f", gain),
        160: ("f", offset),
        172: ("h", 12),
        176: ("f", interval),
        180: ("d", horiz_offset),
        316: ("h", 0),
        322: ("h", 1),
        344: ("h", 2),
    }
    fields.update(overrides or {})
    for off, (fmt, value) in fields.items():
        struct.pack_into(order + fmt, d, off, value)
    d[76:86] = b"WAVEPROHD0"
    d[196:197] = b"V"
    d[244:245] = b"S"
    struct.pack_into(order + "dBBBBhh", d, 296, 12.5, 34, 10, 24, 12, 2025, 0)
    blocks = bytes(d) + user_text + bytes(lengths["res1"])
    if trig_len:
        t = np.zeros((segs, 2)) if trig is None else trig
        blocks += np.asarray(t, order + "f8").tobytes()
    blocks += bytes(lengths["ris"]) + bytes(lengths["resa"])
    blocks += codes.astype(codes.dtype.newbyteorder(order)).tobytes()
    blocks += bytes(lengths.get("wave2", 0)) + tail
    head = f"#9{len(blocks):09d}".encode() if prefix else b""
    return head + blocks


def random_codes(shape: tuple[int, int], dtype: str, seed: int = 0) -> npt.NDArray[Any]:
    info = np.iinfo(dtype)
    rng = np.random.default_rng(seed)
    x = rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    x[0, 0] = info.min
    x[-1, -1] = info.max  # the last sample of the last segment: the partial bin's extreme
    return x


def read_store(path: Path) -> tuple[npt.NDArray[Any], dict[str, Any]]:
    group = zarr.open_group(str(path), mode="r", zarr_format=2)
    return group["raw"][...], json.loads((path / ".zattrs").read_text())


def check_pyramid(path: Path) -> None:
    group = zarr.open_group(str(path), mode="r", zarr_format=2)
    raw = group["raw"][...]
    levels = json.loads((path / ".zattrs").read_text())["zoomingonline"]["pyramid"]["levels"]
    for level in levels:
        arr = group[level["path"]][...]
        assert arr.dtype == raw.dtype
        for c, t, s in np.ndindex(raw.shape[:3]):
            np.testing.assert_array_equal(arr[c, t, s], reference_level(raw[c, t, s], level["bin"]))


TRIG = np.array([[0.0, -1.5e-7], [1e-3, -1.25e-7], [2.5e-3, -1.75e-7]])


# -- single files ----------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("dtype", ["int8", "int16"])
@pytest.mark.parametrize("segments", [1, 3])
@pytest.mark.parametrize("prefix", [True, False])
def test_single_file_converts_exactly(
    tmp_path: Path, order: str, dtype: str, segments: int, prefix: bool
) -> None:
    codes = random_codes((segments, 3001), dtype, seed=segments)
    src = tmp_path / "C3--shot--00007.trc"
    trig = TRIG[:segments] if segments > 1 else None
    src.write_bytes(build_trc(codes, order=order, trig=trig, prefix=prefix))
    summary = zoomingonline.convert(src, raw_chunk=700, min_bin=8, target=50)
    out = tmp_path / "C3--shot--00007.zarr"
    assert summary.output == out
    assert summary.shape == (1, 1, segments, 3001)
    assert summary.dtype == dtype
    raw, attrs = read_store(out)
    assert raw.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(raw[0, 0], codes)
    check_pyramid(out)
    assert attrs["vertical_gains"] == [[0.5]]
    assert attrs["vertical_offsets"] == [[0.25]]
    assert attrs["horiz_interval"] == float(np.float32(1e-9))
    expected_offsets = TRIG[:, 1].tolist() if segments > 1 else [-2e-7]
    assert attrs["horiz_offset"] == [[expected_offsets]]
    trc = attrs["trc"]
    assert trc["files"] == [[src.name]]
    assert trc["trigger_times"] == [[TRIG[:, 0].tolist() if segments > 1 else [0.0]]]
    assert trc["instruments"] == [["WAVEPROHD0"]]
    assert trc["nominal_bits"] == [[12]]
    assert trc["vertical_units"] == [["V"]]
    assert trc["horizontal_units"] == [["S"]]
    assert trc["acquisition_times"] == [["2025-12-24T10:34:12.500000"]]
    assert trc["user_texts"] == [["hello"]]
    assert attrs["zoomingonline"]["source"] == src.name


def test_header_fields(tmp_path: Path) -> None:
    codes = random_codes((3, 100), "int16")
    p = tmp_path / "a.trc"
    p.write_bytes(build_trc(codes, order=">", trig=TRIG, gain=2.0, offset=-1.0))
    h = read_header(p)
    assert h.byte_order == ">"
    assert h.dtype == np.dtype(">i2")
    assert (h.segments, h.samples) == (3, 100)
    assert h.data_offset == 11 + 346 + 5 + 48
    assert (h.vertical_gain, h.vertical_offset) == (2.0, -1.0)
    np.testing.assert_array_equal(h.trigger_offsets, TRIG[:, 1])
    assert h.wave_source == 2


def test_codes_stay_left_justified(tmp_path: Path) -> None:
    """8-bit scopes storing int16 multiples of 256: the codes are kept as they are."""
    codes = (random_codes((2, 512), "int8").astype(np.int16) * 256).astype(np.int16)
    p = tmp_path / "C1--lj--00000.trc"
    p.write_bytes(build_trc(codes, trig=TRIG[:2]))
    zoomingonline.convert(p)
    raw, _ = read_store(tmp_path / "C1--lj--00000.zarr")
    np.testing.assert_array_equal(raw[0, 0], codes)
    assert (raw % 256 == 0).all()


def test_reader_streams_blocks_in_native_order(tmp_path: Path) -> None:
    codes = random_codes((3, 1000), "int16")
    p = tmp_path / "C1--r--00000.trc"
    p.write_bytes(build_trc(codes, order=">", trig=TRIG))
    run_ = find_run(p)
    out = np.empty(333, np.int16)
    with TrcReader(run_) as reader:
        reader(0, 0, 2, 667, out)
    np.testing.assert_array_equal(out, codes[2, 667:1000])


# -- runs ------------------------------------------------------------------------------------


def write_run(folder: Path, channels: list[int], numbers: list[int], **kw: Any) -> dict[Any, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for c in channels:
        for n in numbers:
            codes = random_codes((3, 257), "int16", seed=100 * c + n)
            gain = 0.001 * c + 0.0001 * n
            (folder / f"C{c}--title--{n:05d}.trc").write_bytes(
                build_trc(codes, gain=gain, order="<" if (c + n) % 2 else ">", trig=TRIG, **kw)
            )
            written[c, n] = (codes, gain)
    return written


def test_run_folder_grouped_and_sorted(tmp_path: Path) -> None:
    folder = tmp_path / "run42"
    written = write_run(folder, [10, 2, 1], [9, 10, 0])
    (folder / "notes.txt").write_text("x")
    (folder / "C1--title--00003.trc.bak").write_text("x")
    summary = zoomingonline.convert(folder, min_bin=4, target=20)
    out = tmp_path / "run42.zarr"
    assert summary.output == out
    assert summary.shape == (3, 3, 3, 257)
    assert summary.ignored == ["C1--title--00003.trc.bak", "notes.txt"]
    raw, attrs = read_store(out)
    for ci, c in enumerate([1, 2, 10]):
        for ti, n in enumerate([0, 9, 10]):
            codes, gain = written[c, n]
            np.testing.assert_array_equal(raw[ci, ti], codes)
            assert attrs["vertical_gains"][ci][ti] == float(np.float32(gain))
            assert attrs["trc"]["files"][ci][ti] == f"C{c}--title--{n:05d}.trc"
    assert attrs["trc"]["channels"] == [1, 2, 10]
    assert attrs["trc"]["numbers"] == [0, 9, 10]
    check_pyramid(out)


def test_pattern_option(tmp_path: Path) -> None:
    folder = tmp_path / "custom"
    folder.mkdir()
    a = random_codes((1, 100), "int8", 1)
    b = random_codes((1, 100), "int8", 2)
    (folder / "scope_ch2_shot1.trc").write_bytes(build_trc(a))
    (folder / "scope_ch1_shot1.trc").write_bytes(build_trc(b))
    with pytest.raises(ZoomingOnlineError, match=r"no \.trc files named like"):
        zoomingonline.convert(folder)
    pattern = r"scope_ch(?P<channel>\d+)_shot(?P<number>\d+)\.trc"
    result = run("convert", folder, "--pattern", pattern, "--quiet")
    assert result.exit_code == 0, result.output
    raw, _ = read_store(tmp_path / "custom.zarr")
    np.testing.assert_array_equal(raw[:, 0, 0], np.stack([b[0], a[0]]))
    line = assert_one_error(run("convert", folder, tmp_path / "x.zarr", "--pattern", "(x"))
    assert "not a regular expression" in line
    line = assert_one_error(run("convert", folder, tmp_path / "x.zarr", "--pattern", r".*\.trc"))
    assert "named groups" in line


def _differ(folder: Path, **kw: Any) -> None:
    codes = kw.pop("codes", random_codes((3, 257), "int16"))
    (folder / "C2--title--00001.trc").write_bytes(build_trc(codes, trig=kw.pop("trig", TRIG), **kw))


MIXED = {
    "segments": (
        lambda d: _differ(d, codes=random_codes((2, 257), "int16"), trig=TRIG[:2]),
        "segments 2, not 3",
    ),
    "samples": (lambda d: _differ(d, codes=random_codes((3, 256), "int16")), "samples per segment"),
    "dtype": (lambda d: _differ(d, codes=random_codes((3, 257), "int8")), "sample type int8"),
    "interval": (lambda d: _differ(d, interval=2e-9), "HORIZ_INTERVAL"),
}


@pytest.mark.parametrize("case", list(MIXED))
def test_mixed_run_refused(tmp_path: Path, case: str) -> None:
    folder = tmp_path / "run"
    write_run(folder, [1, 2], [0, 1])
    make, message = MIXED[case]
    make(folder)
    before = sorted(tmp_path.rglob("*"))
    line = assert_one_error(run("convert", folder))
    assert "C2--title--00001.trc differs from C1--title--00000.trc" in line
    assert message in line
    assert sorted(tmp_path.rglob("*")) == before


def test_incomplete_and_duplicate_runs_refused(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    write_run(folder, [1, 2], [0, 1])
    (folder / "C2--title--00001.trc").unlink()
    with pytest.raises(ZoomingOnlineError, match="channel 2 has no capture 1"):
        zoomingonline.convert(folder)
    (folder / "C2--other--1.trc").write_bytes((folder / "C2--title--00000.trc").read_bytes())
    (folder / "C2--title--00001.trc").write_bytes((folder / "C2--title--00000.trc").read_bytes())
    with pytest.raises(ZoomingOnlineError, match="both channel 2, capture 1"):
        zoomingonline.convert(folder)
    assert not (tmp_path / "run.zarr").exists()


# -- refusals --------------------------------------------------------------------------------

C = random_codes((2, 64), "int16")

REFUSED: dict[str, tuple[bytes, str]] = {
    "not-wavedesc": (b"hello world" * 40, "no WAVEDESC descriptor"),
    "template": (build_trc(C, trig=TRIG[:2], template=b"LECROY_1_0"), "unknown TEMPLATE_NAME"),
    "truncated": (build_trc(C, trig=TRIG[:2])[:-1], "shorter than its blocks say"),
    "short-desc": (build_trc(C, trig=TRIG[:2])[:200], "ends inside WAVEDESC"),
    "count": (
        build_trc(C, trig=TRIG[:2], overrides={116: ("i", 127)}),
        "WAVE_ARRAY_COUNT is 127, but WAVE_ARRAY_1 holds 128",
    ),
    "first-point": (build_trc(C, trig=TRIG[:2], overrides={132: ("i", 5)}), "FIRST_POINT"),
    "sparsing": (build_trc(C, trig=TRIG[:2], overrides={136: ("i", 4)}), "SPARSING_FACTOR"),
    "ris-array": (build_trc(C, trig=TRIG[:2], extra={"ris": 16}), "RIS"),
    "ris-sweeps": (build_trc(C, trig=TRIG[:2], overrides={322: ("h", 4)}), "RIS"),
    "ris-type": (build_trc(C, trig=TRIG[:2], overrides={316: ("h", 1)}), "RIS"),
    "wave2": (build_trc(C, trig=TRIG[:2], extra={"wave2": 8}), "second wave array"),
    "comm-type": (build_trc(C, trig=TRIG[:2], overrides={32: ("h", 2)}), "COMM_TYPE is 2"),
    "comm-order": (build_trc(C, trig=TRIG[:2], overrides={34: ("h", 7)}), "COMM_ORDER is 7"),
    "negative": (build_trc(C, trig=TRIG[:2], overrides={44: ("i", -5)}), "RES_DESC1 length"),
    "huge": (
        build_trc(C, trig=TRIG[:2], overrides={40: ("i", 2**31 - 1)}),
        "shorter than its blocks say",
    ),
    "trigtime": (build_trc(C, trig=TRIG[:2], overrides={144: ("i", 4)}), "TRIGTIME_ARRAY"),
    "gain": (build_trc(C, trig=TRIG[:2], gain=float("nan")), "VERTICAL_GAIN"),
    "interval": (build_trc(C, trig=TRIG[:2], interval=0.0), "HORIZ_INTERVAL"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_with_one_line(tmp_path: Path, case: str) -> None:
    content, message = REFUSED[case]
    p = tmp_path / "C1--bad--00000.trc"
    p.write_bytes(content)
    before = sorted(tmp_path.rglob("*"))
    line = assert_one_error(run("convert", p))
    assert message in line
    assert str(p) in line
    assert sorted(tmp_path.rglob("*")) == before


# -- fuzzing ---------------------------------------------------------------------------------

GOOD = build_trc(random_codes((3, 50), "int16"), trig=TRIG)
GOOD8 = build_trc(random_codes((1, 77), "int8"), order=">", prefix=False)
FUZZ_COUNTS = {"parsed": 0, "refused": 0}


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from([GOOD, GOOD8])))
    start = 11 if data[:2] == b"#9" else 0
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["byte", "int32", "int16", "float"]))
        # Mostly the descriptor, where every field lives; sometimes anywhere.
        hi = start + 346 if draw(st.booleans()) else len(data)
        off = draw(st.integers(0, hi - 1))
        if kind == "byte":
            data[off] = draw(st.integers(0, 255))
        elif kind == "int32" and off + 4 <= len(data):
            value = draw(st.sampled_from([0, 1, -1, 2**31 - 1, -(2**31), 16, 346]) | st.integers())
            data[off : off + 4] = struct.pack(
                "<i", value % 2**32 - (value % 2**32 >= 2**31) * 2**32
            )
        elif kind == "int16" and off + 2 <= len(data):
            data[off : off + 2] = struct.pack("<h", draw(st.integers(-(2**15), 2**15 - 1)))
        elif off + 4 <= len(data):
            data[off : off + 4] = struct.pack("<f", draw(st.floats(width=32)))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


@settings(
    max_examples=1500,
    deadline=2000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(content=mutated())
def test_fuzz_clean_error_or_correct_parse(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "fuzz.trc"
    p.write_bytes(content)
    message = ""
    tracemalloc.start()
    try:
        h = read_header(p)
    except ZoomingOnlineError as exc:
        message = str(exc)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 1 << 20, peak  # never an allocation a header asked for
    if message:
        assert "\n" not in message
        assert str(p) in message
        FUZZ_COUNTS["refused"] += 1
        return
    # A parse: everything it describes lies inside the file, and reads back.
    assert h.data_offset + h.nbytes <= len(content)
    assert h.segments * h.samples * h.dtype.itemsize == h.nbytes
    out = np.empty(h.samples, h.dtype.newbyteorder("="))
    with TrcReader(find_run(p)) as reader:
        reader(0, 0, h.segments - 1, 0, out)
    end = h.data_offset + h.nbytes
    expect = np.frombuffer(content[end - h.samples * h.dtype.itemsize : end], h.dtype)
    np.testing.assert_array_equal(out, expect)
    FUZZ_COUNTS["parsed"] += 1


def test_fuzz_counts_reported() -> None:
    """Runs after the fuzz test (file order): both outcomes were exercised."""
    print(f"fuzz: {FUZZ_COUNTS}")
    if sum(FUZZ_COUNTS.values()):
        assert FUZZ_COUNTS["parsed"] > 0
        assert FUZZ_COUNTS["refused"] > 0


# -- the package's writer and generate --format trc -----------------------------------------


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("dtype", [np.int8, np.int16])
def test_writer_round_trip(tmp_path: Path, order: str, dtype: Any) -> None:
    codes = random_codes((4, 1001), np.dtype(dtype).name)

    def fill(s: int, start: int, out: npt.NDArray[Any]) -> None:
        out[...] = codes[s, start : start + out.size]

    p = tmp_path / "w.trc"
    size = write_trc(
        p,
        segments=4,
        samples=1001,
        fill=fill,
        dtype=dtype,
        byte_order=order,
        block=300,
        trigger_offsets=[1.0, 2.0, 3.0, 4.0],
        vertical_gain=0.125,
    )
    assert size == p.stat().st_size
    h = read_header(p)
    assert (h.segments, h.samples, h.byte_order, h.vertical_gain) == (4, 1001, order, 0.125)
    np.testing.assert_array_equal(h.trigger_offsets, [1.0, 2.0, 3.0, 4.0])
    disk = np.frombuffer(p.read_bytes()[h.data_offset :], h.dtype).reshape(4, 1001)
    np.testing.assert_array_equal(disk, codes)


@pytest.mark.parametrize(("dtype", "order"), [("int16", "big"), ("int8", "little")])
def test_generate_trc_run_converts_to_the_model(tmp_path: Path, dtype: str, order: str) -> None:
    out = tmp_path / "gen"
    result = run(
        "generate", "-o", out, "--format", "trc", "--channels", "2", "--trcs", "2",
        "--segments", "3", "--samples", "5000", "--seed", "5", "--trc-dtype", dtype,
        "--byte-order", order,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "--format trc" in result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"C{c}--gen--{t:05d}.trc" for c in (1, 2) for t in (0, 1)]
    h = read_header(out / names[0])
    assert h.byte_order == ("<" if order == "little" else ">")
    assert h.kind == dtype
    summary = zoomingonline.convert(out)
    raw, attrs = read_store(summary.output)
    rec = SyntheticRecording((2, 2, 3, 5000), seed=5, bits=8 if dtype == "int8" else None)
    gains, _ = rec.vertical()
    for c, t, s in np.ndindex(2, 2, 3):
        model = rec.segment(c, t, s)
        if dtype == "int8":
            assert (model % 256 == 0).all()  # left-justified 8-bit codes
            model = (model // 256).astype(np.int8)
        np.testing.assert_array_equal(raw[c, t, s], model)
    scale = 256 if dtype == "int8" else 1
    assert attrs["vertical_gains"] == np.float32(gains * scale).astype(float).tolist()
    assert attrs["trc"]["nominal_bits"] == [[8 if dtype == "int8" else 16] * 2] * 2
    check_pyramid(summary.output)
    # The same seed, the same bytes.
    again = tmp_path / "again"
    zoomingonline.generate(
        again, format="trc", channels=2, trcs=2, segments=3, samples=5000, seed=5,
        trc_dtype=dtype, byte_order=order,
    )  # fmt: skip
    for name in names:
        assert (again / name.replace("gen", "again")).read_bytes()[11 + 346 :] == (
            out / name
        ).read_bytes()[11 + 346 :]


def test_generate_trc_refuses_existing_folder(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    line = assert_one_error(run("generate", "-o", tmp_path / "run", "--format", "trc", "--minimal"))
    assert "exists" in line


# -- import's finder -------------------------------------------------------------------------


def test_find_trc_inputs(tmp_path: Path) -> None:
    write_run(tmp_path / "a" / "run1", [1], [0, 1])
    single = tmp_path / "a" / "loose.trc"
    single.write_bytes(GOOD)
    (tmp_path / "a" / "x.h5").write_bytes(b"")
    found = find_trc_inputs([tmp_path])
    assert found == [single, tmp_path / "a" / "run1"]


def test_cli_summary_lists_ignored_files(tmp_path: Path) -> None:
    folder = tmp_path / "run7"
    write_run(folder, [1, 2], [3])
    (folder / "notes.txt").write_text("x")
    result = run("convert", folder)
    assert result.exit_code == 0, result.output
    assert f"{folder} [WAVE_ARRAY_1] -> {tmp_path / 'run7.zarr'}" in result.output
    assert "shape (2, 1, 3, 257) int16" in result.output
    assert "ignored (not part of the run): notes.txt" in result.output
    assert "Warning:" not in result.output


def test_import_finds_and_converts_trc_runs(tmp_path: Path) -> None:
    from zoomingonline.importer import find_inputs, import_paths

    root = tmp_path / "recordings"
    written = write_run(root / "run1", [1, 2], [0])
    loose = root / "loose.trc"
    loose.write_bytes(GOOD)
    assert find_inputs([root]) == [loose, root / "run1"]
    import_paths([root], skip_upload=True)
    raw, _ = read_store(root / "run1.zarr")
    np.testing.assert_array_equal(raw[1, 0], written[2, 0][0])
    raw, _ = read_store(root / "loose.zarr")
    assert raw.shape == (1, 1, 3, 50)
    # Stores are not inputs: a second search finds the same two.
    assert find_inputs([root]) == [loose, root / "run1"]
