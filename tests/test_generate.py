"""Tests of ``zoomingonline generate``: determinism, layout, the signal's features, errors.

The features are checked against a numpy oracle of the original generator's formulas,
written here from its description (base signals at 50 Hz, drift, the event's linspace,
gains and offsets), sharing no code with the Rust generator. Pyramids are checked with
the independent oracle of ``tests/reference.py``.
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
from click.testing import CliRunner, Result
from reference import reference_pyramid
from zoomingonline import ZoomingOnlineError
from zoomingonline.cli import main
from zoomingonline.demo import write_demo_hdf5
from zoomingonline.generate import (
    SIGNALS,
    SyntheticRecording,
    generate,
    generate_realistic_data,
    save_zarr,
)

DT = 2e-9
F = 50.0
NOISE = 0.01


# -- oracle ----------------------------------------------------------------------------------


def base_oracle(signal: str, t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The original's base signals (without jitter)."""
    if signal == "sine":
        return 0.1 * np.sin(2 * np.pi * F * t)
    if signal == "square":
        return 0.1 * np.sign(np.sin(2 * np.pi * F * t))
    if signal == "sawtooth":
        return 0.1 * (2 * (t * F - np.floor(0.5 + t * F)))
    period = 1 / F
    return np.where(t % period < period / 20, 0.2, 0.0)


def edges_oracle(signal: str, t: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Samples within 2 ns of a jump of the base signal (where jitter may act)."""
    if signal == "sine":
        return np.zeros(t.shape, bool)
    phases = {"square": (0.0, 0.5), "sawtooth": (0.5,), "pulse": (0.0, 0.05)}[signal]
    cycles = t * F
    near = np.zeros(t.shape, bool)
    for p in phases:
        d = (cycles - p) - np.round(cycles - p)
        near |= np.abs(d / F) <= DT
    return near


def event_oracle(n: int) -> tuple[int, npt.NDArray[np.float64]]:
    """The original's add_feature (indices, envelope), ringing at 50 MHz: indices, values.

    The original's ``sin(2 pi 50 u)`` is zero at every sample (u steps by 8 cycles).
    """
    start, end = int(443.5e-6 / DT), int(443.75e-6 / DT)
    if end > n:
        return start, np.zeros(0)
    u = np.linspace(0, 20, end - start)
    tau = np.arange(end - start) * DT
    return start, -0.05 * np.exp(-u) * np.sin(2 * np.pi * 50e6 * tau)


def deterministic_volts(signal: str, channel: int, n: int) -> npt.NDArray[np.float64]:
    """Base signal + event + drift + channel offset, the part without randomness."""
    t = np.arange(n) * DT
    v = base_oracle(signal, t)
    start, event = event_oracle(n)
    v[start : start + event.size] += event
    v += 0.01 * np.sin(2 * np.pi * 0.1 * t) + 0.005 * np.sin(2 * np.pi * 0.5 * t)
    return v + 0.05 * channel


def residual(rec: SyntheticRecording, c: int, t: int, s: int) -> npt.NDArray[np.float64]:
    """Measured volts minus the deterministic part: noise, glitches and jitter."""
    gains, offsets = rec.vertical()
    volts = rec.segment(c, t, s) * gains[c, t] - offsets[c, t]
    return volts - deterministic_volts(rec.signal, c, rec.n_samples)


def h5_contents(path: Path) -> dict[str, Any]:
    with h5py.File(path, "r") as f:
        out: dict[str, Any] = {k: f[k][()] for k in f}
        out["attrs"] = dict(f.attrs)
    return out


def chunk_files(store: Path) -> dict[str, bytes]:
    return {str(p.relative_to(store)): p.read_bytes() for p in store.rglob("*") if p.is_file()}


# -- determinism -----------------------------------------------------------------------------


def test_same_seed_same_bytes_hdf5(tmp_path: Path) -> None:
    kw: dict[str, Any] = {"channels": 2, "trcs": 2, "segments": 2, "samples": 70_000}
    a = generate(tmp_path / "a.h5", seed=11, **kw)
    b = generate(tmp_path / "b.h5", seed=11, **kw)
    assert (a.seed, b.seed) == (11, 11)
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()
    generate(tmp_path / "c.h5", seed=12, **kw)
    first, other = h5_contents(tmp_path / "a.h5"), h5_contents(tmp_path / "c.h5")
    for key in ("samples", "vertical_gain", "vertical_offset"):
        assert not np.array_equal(first[key], other[key]), key
    # Every segment differs from every other.
    segs = first["samples"].reshape(-1, kw["samples"])
    assert len({seg.tobytes() for seg in segs}) == len(segs)


def test_same_seed_same_bytes_zarr(tmp_path: Path) -> None:
    kw: dict[str, Any] = {"channels": 1, "trcs": 2, "segments": 2, "samples": 300_001, "seed": 3}
    generate(tmp_path / "a.zarr", raw_chunk=65_536, **kw)
    generate(tmp_path / "b.zarr", raw_chunk=65_536, jobs=1, **kw)
    a, b = chunk_files(tmp_path / "a.zarr"), chunk_files(tmp_path / "b.zarr")
    # Chunks and array metadata are identical; the root attributes differ only in the
    # creation time.
    attrs = [json.loads(files.pop(".zattrs")) for files in (a, b)]
    assert a == b
    for d in attrs:
        d["zoomingonline"].pop("created")
    assert attrs[0] == attrs[1]
    assert attrs[0]["seed"] == 3
    raw = zarr.open_array(str(tmp_path / "a.zarr/raw"), mode="r")[...]
    generate(tmp_path / "c.zarr", **{**kw, "seed": 4})
    assert not np.array_equal(raw, zarr.open_array(str(tmp_path / "c.zarr/raw"), mode="r")[...])
    # Another raw chunk size: other blocks, the same samples.
    generate(tmp_path / "d.zarr", raw_chunk=1000, **kw)
    np.testing.assert_array_equal(
        zarr.open_array(str(tmp_path / "d.zarr/raw"), mode="r")[...], raw, strict=True
    )


@pytest.mark.parametrize("signal", SIGNALS)
def test_blocks_and_threads_do_not_change_samples(signal: str) -> None:
    rec = SyntheticRecording((1, 1, 2, 200_003), signal=signal, seed=99)
    whole = rec.segment(0, 0, 1)
    for block, parallel in ((1 << 16, True), (4099, False), (65_537, True), (200_003, False)):
        joined = np.empty_like(whole)
        for start in range(0, whole.size, block):
            rec.read_into(0, 0, 1, start, joined[start : start + block], parallel=parallel)
        np.testing.assert_array_equal(joined, whole, strict=True)
    one = np.empty(3, np.int16)
    rec.read_into(0, 0, 1, 131_071, one)
    np.testing.assert_array_equal(one, whole[131_071:131_074])


def test_random_seed_is_recorded_and_reproduces(tmp_path: Path) -> None:
    a = generate(tmp_path / "a.h5", samples=5000, segments=1)
    with h5py.File(tmp_path / "a.h5", "r") as f:
        assert int(f.attrs["seed"]) == a.seed
        first = f["samples"][...]
    generate(tmp_path / "b.h5", samples=5000, segments=1, seed=a.seed)
    with h5py.File(tmp_path / "b.h5", "r") as f:
        np.testing.assert_array_equal(f["samples"][...], first)


# -- layout ----------------------------------------------------------------------------------


def test_hdf5_layout(tmp_path: Path) -> None:
    summary = generate(tmp_path / "rec.h5", channels=3, trcs=2, segments=4, samples=1234, seed=1)
    assert summary.kind == "hdf5"
    assert summary.shape == (3, 2, 4, 1234)
    assert summary.bytes_samples == 2 * 3 * 2 * 4 * 1234
    assert summary.bytes_out == (tmp_path / "rec.h5").stat().st_size
    with h5py.File(tmp_path / "rec.h5", "r") as f:
        assert sorted(f) == ["horiz_offset", "samples", "vertical_gain", "vertical_offset"]
        assert f["samples"].shape == (3, 2, 4, 1234)
        assert f["samples"].dtype == np.int16
        assert f["vertical_gain"].shape == (3, 2)
        assert f["vertical_offset"].shape == (3, 2)
        assert f["vertical_gain"].dtype == np.float64
        assert f["horiz_offset"].shape == (3, 2, 4)
        assert float(f.attrs["horiz_interval"]) == DT
        assert f.attrs["signal"] == "sine"
    assert [p.name for p in tmp_path.iterdir()] == ["rec.h5"]


def test_zarr_layout(tmp_path: Path) -> None:
    summary = generate(tmp_path / "rec.zarr", samples=100_000, segments=2, seed=1)
    assert summary.kind == "zarr"
    g = zarr.open_group(str(tmp_path / "rec.zarr"), mode="r")
    assert g["raw"].shape == (2, 1, 2, 100_000)
    assert g["raw"].dtype == np.int16
    assert g.metadata.zarr_format == 2
    levels = g.attrs["zoomingonline"]["pyramid"]["levels"]
    assert levels == summary.levels
    assert g.attrs["horiz_interval"] == DT
    assert np.asarray(g.attrs["vertical_gains"]).shape == (2, 1)
    assert np.asarray(g.attrs["horiz_offset"]).shape == (2, 1, 2)
    raw = g["raw"][...]
    for lv in levels:
        level = g[lv["path"]][...]
        assert level.dtype == np.int16
        for idx in np.ndindex(raw.shape[:3]):
            expected = reference_pyramid(raw[idx], [lv["bin"]])[0]
            np.testing.assert_array_equal(level[idx], expected, strict=True)


def test_minimal_and_explicit_sizes(tmp_path: Path) -> None:
    s = generate(tmp_path / "m.h5", minimal=True, seed=2)
    assert s.shape == (2, 3, 5, 1_000_000)
    s = generate(tmp_path / "n.h5", minimal=True, samples=1000, trcs=1, seed=2)
    assert s.shape == (2, 1, 5, 1000)


@pytest.mark.parametrize("name", ["p.h5", "p.zarr"])
def test_progress_reaches_the_total(tmp_path: Path, name: str) -> None:
    calls: list[tuple[int, int]] = []
    generate(
        tmp_path / name,
        samples=9_000_000,
        segments=1,
        channels=1,
        seed=0,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls[-1] == (9_000_000, 9_000_000)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert len(calls) >= 3


# -- the signal's features -------------------------------------------------------------------


@pytest.mark.parametrize("signal", SIGNALS)
def test_noise_level_and_the_deterministic_part(signal: str) -> None:
    n = 600_000
    rec = SyntheticRecording((2, 1, 1, n), signal=signal, seed=5)
    t = np.arange(n) * DT
    start, event = event_oracle(n)
    keep = ~edges_oracle(signal, t)
    keep[start : start + event.size] = False
    for c in range(2):
        res = residual(rec, c, 0, 0)
        mask = keep.copy()
        mask[[i for i, _ in rec.glitches(c, 0, 0)]] = False
        r = res[mask]
        # 0.01 V of noise, plus the ADC's rounding (gain^2 / 12, negligible).
        assert abs(r.mean()) < 1e-4
        assert r.std() == pytest.approx(NOISE, rel=0.01)
        # Gaussian: the share beyond 3 sigma.
        assert np.mean(np.abs(r) > 3 * NOISE) == pytest.approx(0.0027, abs=0.0005)


def test_the_event_is_where_the_original_put_it() -> None:
    n = 400_000
    start, values = event_oracle(n)
    rec = SyntheticRecording((1, 1, 12, n), seed=8)
    got_start, got = rec.event()
    assert (got_start, got.size) == (start, values.size) == (221_749, 126)
    np.testing.assert_allclose(got, values, rtol=1e-12, atol=1e-15)
    # In the data: the residual without the event, projected on the event's shape, is
    # the event's amplitude (1) at its place and nothing 10 us later.
    t = np.arange(n) * DT
    base = deterministic_volts("sine", 0, n)
    base[start : start + values.size] -= values
    gains, offsets = rec.vertical()
    at, later = [], []
    for s in range(12):
        r = rec.segment(0, 0, s) * gains[0, 0] - offsets[0, 0] - base
        for i, _ in rec.glitches(0, 0, s):
            r[i] = 0.0
        at.append(r[start : start + values.size] @ values / (values @ values))
        shifted = start + 5000
        later.append(r[shifted : shifted + values.size] @ values / (values @ values))
    assert np.mean(at) == pytest.approx(1.0, abs=0.15)
    assert abs(np.mean(later)) < 0.15
    assert t[start] == pytest.approx(443.5e-6, abs=DT)
    # A segment that ends before the event has none.
    assert SyntheticRecording((1, 1, 1, 200_000)).event()[1].size == 0


def test_glitches_are_there() -> None:
    rec = SyntheticRecording((1, 2, 6, 50_000), signal="sawtooth", seed=4)
    for t in range(2):
        for s in range(6):
            glitches = rec.glitches(0, t, s)
            assert len(glitches) == 3
            res = residual(rec, 0, t, s)
            for i, volts in glitches:
                assert 0 <= i < 50_000
                assert 0.05 <= abs(volts) <= 0.15
                if sum(1 for j, _ in glitches if j == i) == 1:
                    assert res[i] == pytest.approx(volts, abs=5 * NOISE)
    heights = [v for t in range(2) for s in range(40) for _, v in rec.glitches(0, t, s)]
    assert min(heights) < 0 < max(heights)


def test_square_edges_are_jittered() -> None:
    # The square wave changes sign at 10 ms, sample 5,000,000: with 0.1 ns of jitter that
    # sample lands on either side; its neighbours never move.
    rec = SyntheticRecording((1, 1, 40, 6_000_000), signal="square", seed=6)
    gains, offsets = rec.vertical()
    signs = set()
    block = np.empty(5, np.int16)
    for s in range(40):
        rec.read_into(0, 0, s, 4_999_998, block)
        volts = block * gains[0, 0] - offsets[0, 0]
        assert volts[1] > 0.05
        assert volts[3] < -0.05
        signs.add(bool(volts[2] > 0))
    assert signs == {True, False}


def test_pulse_is_high_for_a_twentieth_of_the_period() -> None:
    rec = SyntheticRecording((1, 1, 1, 1_000_000), signal="pulse", seed=1)
    gains, offsets = rec.vertical()
    volts = rec.segment(0, 0, 0) * gains[0, 0] - offsets[0, 0]
    # High for 1 ms = 500,000 samples.
    assert volts[1000:499_000].mean() == pytest.approx(0.2, abs=0.005)
    assert volts[501_000:].mean() == pytest.approx(0.0, abs=0.005)


def test_gains_and_offsets_within_their_ranges() -> None:
    rec = SyntheticRecording((30, 20, 1, 10), seed=12)
    gains, offsets = rec.vertical()
    assert gains.shape == offsets.shape == (30, 20)
    assert ((gains >= 0.98e-4) & (gains <= 1.02e-4)).all()
    assert ((offsets >= -0.21) & (offsets <= -0.19)).all()
    # Spread over the whole range, not a constant.
    assert gains.min() < 0.985e-4
    assert gains.max() > 1.015e-4
    assert offsets.min() < -0.2075
    assert offsets.max() > -0.1925
    assert len(np.unique(gains)) == gains.size


def test_channel_offset() -> None:
    rec = SyntheticRecording((4, 1, 1, 100_000), seed=3)
    gains, offsets = rec.vertical()
    means = [(rec.segment(c, 0, 0) * gains[c, 0] - offsets[c, 0]).mean() for c in range(4)]
    np.testing.assert_allclose(np.diff(means), 0.05, atol=0.001)


# -- convert round trip ----------------------------------------------------------------------


def test_hdf5_converts_with_no_options_and_exact_pyramids(tmp_path: Path) -> None:
    kw: dict[str, Any] = {"channels": 2, "trcs": 1, "segments": 2, "samples": 333_333, "seed": 21}
    generate(tmp_path / "rec.h5", signal="square", **kw)
    summary = zoomingonline.convert(tmp_path / "rec.h5")
    assert summary.dataset == "samples"
    assert summary.skipped_metadata == []
    store = tmp_path / "rec.zarr"
    g = zarr.open_group(str(store), mode="r")
    with h5py.File(tmp_path / "rec.h5", "r") as f:
        data = f["samples"][...]
        assert g.attrs["vertical_gains"] == f["vertical_gain"][...].tolist()
        assert g.attrs["vertical_offsets"] == f["vertical_offset"][...].tolist()
    assert g.attrs["horiz_interval"] == DT
    assert g.attrs["seed"] == 21
    raw = g["raw"][...]
    np.testing.assert_array_equal(raw, data, strict=True)
    levels = g.attrs["zoomingonline"]["pyramid"]["levels"]
    assert len(levels) > 1
    for lv in levels:
        level = g[lv["path"]][...]
        for idx in np.ndindex(data.shape[:3]):
            np.testing.assert_array_equal(
                level[idx], reference_pyramid(data[idx], [lv["bin"]])[0], strict=True
            )
    # Generating the store directly gives the same chunks, byte for byte.
    generate(tmp_path / "direct.zarr", signal="square", **kw)
    direct = chunk_files(tmp_path / "direct.zarr")
    converted = chunk_files(store)
    for key in converted:
        if key.endswith(".zattrs"):
            continue
        assert direct[key] == converted[key], key
    da = json.loads(direct[".zattrs"])
    ca = json.loads(converted[".zattrs"])
    for d in (da, ca):
        d.pop("zoomingonline")
    assert da == ca


# -- the original functions and the demo -----------------------------------------------------


def test_generate_realistic_data_and_save_zarr(tmp_path: Path) -> None:
    data, hi, gains, offsets = generate_realistic_data(5000, 2, 1, 3, "pulse", seed=9)
    assert data.shape == (2, 1, 3, 5000)
    assert data.dtype == np.int16
    assert hi == DT
    assert gains.shape == offsets.shape == (2, 1)
    generate(
        tmp_path / "same.h5", channels=2, trcs=1, segments=3, samples=5000, signal="pulse", seed=9
    )
    with h5py.File(tmp_path / "same.h5", "r") as f:
        np.testing.assert_array_equal(f["samples"][...], data)
        np.testing.assert_array_equal(f["vertical_gain"][...], gains)
    out = save_zarr(tmp_path / "o.zarr", data, hi, gains, offsets)
    g = zarr.open_group(str(out), mode="r")
    np.testing.assert_array_equal(g["raw"][...], data)
    assert g.attrs["vertical_gains"] == gains.tolist()
    # Replaces an existing store, like the original.
    save_zarr(tmp_path / "o.zarr", data[:, :, :1], hi, gains, offsets)
    assert zarr.open_group(str(out), mode="r")["raw"].shape == (2, 1, 1, 5000)
    with pytest.raises(ZoomingOnlineError, match="exists"):
        save_zarr(tmp_path / "o.zarr", data, hi, gains, offsets, overwrite=False)
    with pytest.raises(ZoomingOnlineError, match="shape"):
        save_zarr(tmp_path / "p.zarr", data, hi, gains[:1], offsets)


def test_demo_file_is_the_generator_sine(tmp_path: Path) -> None:
    write_demo_hdf5(tmp_path / "demo.h5", samples=3000, seed=0)
    write_demo_hdf5(tmp_path / "demo.h5", samples=3000, seed=0)  # replaces
    generate(tmp_path / "g.h5", samples=3000, seed=0)
    a, b = h5_contents(tmp_path / "demo.h5"), h5_contents(tmp_path / "g.h5")
    np.testing.assert_array_equal(a["samples"], b["samples"])
    assert a["attrs"]["description"] == "zoomingonline demo recording"
    with pytest.raises(ZoomingOnlineError):
        write_demo_hdf5(tmp_path / "x.h5", samples=0)


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"samples": 0}, "samples must be at least 1, not 0"),
        ({"channels": -2}, "channels must be at least 1, not -2"),
        ({"segments": 1.5}, "segments must be a whole number"),
        ({"trcs": True}, "trcs must be a whole number"),
        ({"samples": 2**70}, "samples must be at most"),
        ({"signal": "triangle"}, "unknown signal type 'triangle'"),
        ({"seed": -1}, "seed must be between 0 and 2\\*\\*64 - 1"),
        ({"seed": 2**64}, "seed must be between"),
        ({"seed": 1.0}, "seed must be a whole number"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ZoomingOnlineError, match=message):
        generate(tmp_path / "x.h5", **{"samples": 100, **kwargs})
    assert list(tmp_path.iterdir()) == []


def test_bad_paths(tmp_path: Path) -> None:
    with pytest.raises(ZoomingOnlineError, match="name it"):
        generate(tmp_path / "x.npy", samples=10)
    with pytest.raises(ZoomingOnlineError, match="does not exist"):
        generate(tmp_path / "no" / "x.h5", samples=10)
    (tmp_path / "file").write_text("")
    with pytest.raises(ZoomingOnlineError, match="not a folder"):
        generate(tmp_path / "file" / "x.zarr", samples=10)
    generate(tmp_path / "x.h5", samples=10)
    with pytest.raises(ZoomingOnlineError, match="exists; use --overwrite"):
        generate(tmp_path / "x.h5", samples=10)
    generate(tmp_path / "x.h5", samples=20, overwrite=True)
    (tmp_path / "d.h5").mkdir()
    with pytest.raises(ZoomingOnlineError, match="is a folder"):
        generate(tmp_path / "d.h5", samples=10, overwrite=True)


def test_too_little_disk_is_refused_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    real = shutil.disk_usage

    def small(path: Any) -> Any:
        return real(path)._replace(free=10_000_000)

    monkeypatch.setattr(shutil, "disk_usage", small)
    for name in ("big.h5", "big.zarr"):
        with pytest.raises(
            ZoomingOnlineError, match=r"needs up to 1\d\.\d MB but .* has 10\.0 MB free"
        ):
            generate(tmp_path / name, samples=1_000_000, seed=0)
    assert list(tmp_path.iterdir()) == []
    generate(tmp_path / "fits.h5", samples=100_000, seed=0)


@pytest.mark.parametrize("name", ["x.h5", "x.zarr"])
def test_a_failed_run_leaves_nothing(tmp_path: Path, name: str) -> None:
    def fail(done: int, total: int) -> None:
        if done > total // 2:
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        generate(tmp_path / name, samples=5_000_000, channels=1, segments=2, progress=fail)
    assert list(tmp_path.iterdir()) == []


# -- command line ----------------------------------------------------------------------------


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, ["generate", *(str(a) for a in args)])


def one_error(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    return lines[0]


def test_cli_help() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for option in (
        "--output",
        "--channels",
        "--trcs",
        "--segments",
        "--samples",
        "--signal",
        "--seed",
        "--minimal",
        "--overwrite",
        "--quiet",
    ):
        assert option in result.output


def test_cli_minimal_zarr_prints_summary_and_link(tmp_path: Path) -> None:
    out = tmp_path / "m.zarr"
    result = run("-o", out, "--minimal", "--seed", "5", "--samples", "1e5")
    assert result.exit_code == 0, result.output
    assert "2 x 3 x 5 x 100,000 int16 samples, sine, seed 5" in result.output
    assert "?data=http://127.0.0.1:8000/m.zarr" in result.output
    assert "--seed 5" in result.output
    g = zarr.open_group(str(out), mode="r")
    assert g["raw"].shape == (2, 3, 5, 100_000)
    rec = SyntheticRecording((2, 3, 5, 100_000), seed=5)
    np.testing.assert_array_equal(g["raw"][1, 2, 4], rec.segment(1, 2, 4))


def test_cli_hdf5_quiet(tmp_path: Path) -> None:
    out = tmp_path / "r.h5"
    result = run("-o", out, "--samples", "2000", "--signal", "sawtooth", "--seed", "1", "-q")
    assert result.exit_code == 0, result.output
    assert result.output == ""
    with h5py.File(out, "r") as f:
        assert f["samples"].shape == (2, 1, 3, 2000)
        assert f.attrs["signal"] == "sawtooth"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--samples", "0"], "samples must be at least 1"),
        (["--samples", "-5"], "samples must be at least 1, not -5"),
        (["--channels", "0"], "channels must be at least 1"),
        (["--signal", "noise"], "unknown signal type 'noise'"),
        (["--samples", "1e16"], "needs up to"),
        (["--seed", "-1"], "seed must be between"),
    ],
)
def test_cli_errors_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    line = one_error(run("-o", tmp_path / "x.h5", *args))
    assert message in line
    assert list(tmp_path.iterdir()) == []


def test_cli_path_errors_are_one_line(tmp_path: Path) -> None:
    assert "does not exist" in one_error(run("-o", tmp_path / "a" / "b.zarr", "--minimal"))
    assert "name it" in one_error(run("-o", tmp_path / "b.csv", "--minimal"))
    (tmp_path / "x.h5").write_text("")
    assert "--overwrite" in one_error(run("-o", tmp_path / "x.h5", "--samples", "10"))


def test_cli_hdf5_summary_and_number_forms(tmp_path: Path) -> None:
    out = tmp_path / "r.h5"
    result = run("-o", out, "--samples", "2_000", "--segments", "1e0", "--seed", "7")
    assert result.exit_code == 0, result.output
    assert "2 x 1 x 1 x 2,000 int16 samples, sine, seed 7" in result.output
    assert f"zoomingonline convert {out}" in result.output
    result = run("-o", tmp_path / "s.h5", "--samples", "many")
    assert result.exit_code == 2
    assert "'many' is not a whole number" in result.output


def test_core_refuses_bad_buffers_and_ranges() -> None:
    from zoomingonline import _core

    rec = _core.SynthRecording(1, "sine", 100, DT)
    with pytest.raises(TypeError, match="int16"):
        rec.fill(np.empty(10, np.int32), (0, 0, 0), 0)
    with pytest.raises(ValueError, match="C-contiguous"):
        rec.fill(np.empty(20, np.int16)[::2], (0, 0, 0), 0)
    with pytest.raises(ValueError, match="outside the segment"):
        rec.fill(np.empty(10, np.int16), (0, 0, 0), 95)
    with pytest.raises(ValueError, match="unknown signal type"):
        _core.SynthRecording(1, "noise", 100, DT)
    with pytest.raises(ValueError, match="sampling interval"):
        _core.SynthRecording(1, "sine", 100, 1.0)
