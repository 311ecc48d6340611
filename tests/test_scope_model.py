"""The generator's scope model (``bits=8|12|14``): codes, noise, determinism.

Expectations are computed here from the model's stated parameters (docs/generate.md):
the 0.4 V screen, 2**bits steps, the ENOB table, the [1, 2, 1] front-end filter.
"""

from __future__ import annotations

import math
from pathlib import Path

import h5py
import numpy as np
import pytest
import zoomingonline
from clihelpers import assert_one_error, run
from zoomingonline import ZoomingOnlineError
from zoomingonline._core import synth_vertical
from zoomingonline.generate import ScopeModel, SyntheticRecording

ENOB = {8: 7.0, 12: 9.0, 14: 10.5}


@pytest.mark.parametrize("bits", [8, 12, 14])
def test_codes_range_and_justification(bits: int) -> None:
    rec = SyntheticRecording((3, 1, 1, 300_000), signal="pulse", seed=9, bits=bits)
    for c in range(3):
        x = rec.segment(c, 0, 0).astype(np.int64)
        if bits == 8:
            assert (x % 256 == 0).all()
            x //= 256
        assert x.min() >= -(2 ** (bits - 1))
        assert x.max() <= 2 ** (bits - 1) - 1
        assert np.unique(x).size > 50  # many codes in use, not a handful


@pytest.mark.parametrize("bits", [12, 14])
def test_volts_and_noise_level(bits: int) -> None:
    """Reconstructed volts follow the original model's, off by the ADC's noise only."""
    n = 400_000
    rec = SyntheticRecording((1, 1, 1, n), signal="sine", seed=3, bits=bits)
    base = SyntheticRecording((1, 1, 1, n), signal="sine", seed=3)
    gain, offset = synth_vertical(3, 0, 0)
    volts = base.segment(0, 0, 0) * gain - offset
    g, o = rec.vertical()
    lsb = 0.4 / 2**bits
    assert g[0, 0] == pytest.approx(lsb)
    assert o[0, 0] == 0.0  # channel 0, sine: the screen is centred on 0 V
    err = rec.segment(0, 0, 0) * g[0, 0] - o[0, 0] - volts
    assert abs(err.mean()) < 0.05 * lsb * 2 ** (bits - ENOB[bits])
    # Total error of an ideal ADC with that ENOB: 2**(bits - enob) / sqrt(12) LSB.
    expected = 2 ** (bits - ENOB[bits]) / math.sqrt(12) * lsb
    assert err.std() == pytest.approx(expected, rel=0.05)


def test_noise_spectrum_and_tiles() -> None:
    model = ScopeModel(12)
    whole = model.noise(5, 0, 0, 0, 0, 300_000)
    assert whole.std() == pytest.approx(1.0, abs=0.01)
    # [1, 2, 1] filter: neighbours correlate by 2/3, two apart by 1/6, then not at all.
    for lag, rho in ((1, 2 / 3), (2, 1 / 6), (3, 0.0)):
        r = np.corrcoef(whole[:-lag], whole[lag:])[0, 1]
        assert r == pytest.approx(rho, abs=0.01)
    # Any block is the same, wherever the blocks start (tile boundaries at 65536).
    for start, n in ((65535, 2), (65536, 1), (131000, 70000), (1, 65536)):
        np.testing.assert_array_equal(model.noise(5, 0, 0, 0, start, n), whole[start : start + n])
    assert not np.array_equal(model.noise(6, 0, 0, 0, 0, 1000), whole[:1000])


def test_blocks_and_seed_determinism() -> None:
    rec = SyntheticRecording((1, 1, 2, 200_000), seed=11, bits=14)
    whole = rec.segment(0, 0, 1)
    pieces = np.empty_like(whole)
    for a in range(0, whole.size, 70_001):
        b = min(whole.size, a + 70_001)
        rec.read_into(0, 0, 1, a, pieces[a:b], parallel=False)
    np.testing.assert_array_equal(pieces, whole)
    again = SyntheticRecording((1, 1, 2, 200_000), seed=11, bits=14).segment(0, 0, 1)
    np.testing.assert_array_equal(again, whole)
    other = SyntheticRecording((1, 1, 2, 200_000), seed=12, bits=14).segment(0, 0, 1)
    assert not np.array_equal(other, whole)


def test_generate_bits_to_h5_and_refusals(tmp_path: Path) -> None:
    out = tmp_path / "s.h5"
    result = run("generate", "-o", out, "--channels", "1", "--trcs", "1", "--segments", "1",
                 "--samples", "1e5", "--seed", "4", "--bits", "14")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "--bits 14" in result.output
    with h5py.File(out, "r") as f:
        expected = SyntheticRecording((1, 1, 1, 100_000), seed=4, bits=14).segment(0, 0, 0)
        np.testing.assert_array_equal(f["samples"][0, 0, 0], expected)
        assert f["vertical_gain"][0, 0] == pytest.approx(0.4 / 2**14)
        assert f.attrs["scope_bits"] == 14
    with pytest.raises(ZoomingOnlineError, match="bits must be one of 8, 12, 14"):
        SyntheticRecording((1, 1, 1, 10), bits=10)
    with pytest.raises(ZoomingOnlineError, match=r"int8 \.trc files hold 8-bit codes"):
        zoomingonline.generate(
            tmp_path / "r", format="trc", trc_dtype="int8", bits=12, minimal=True
        )
    line = assert_one_error(
        run("generate", "-o", tmp_path / "x.h5", "--minimal", "--bits", "9"), exit_code=2
    )
    assert "'9' is not one of '8', '12', '14'" in line
    assert not (tmp_path / "x.h5").exists()
