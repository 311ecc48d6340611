"""The compiled core's argument checks: sizes and counts from Python that do not fit.

Every integer argument of ``zoomingonline._core`` is an unsigned 64-bit (or ``usize``)
count. A negative or too large one must be a ``ValueError`` (what the library's callers
catch), never an ``OverflowError``, a panic or an allocation; a non-integer stays a
``TypeError``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from zoomingonline import _core

U64_MAX = 2**64 - 1
DT = 2e-9
#: The bindings' message for an integer outside the unsigned 64-bit range.
OUT_OF_RANGE = r"whole number from 0 to 2\*\*64 - 1"

#: Integers on both sides of the unsigned 64-bit range.
ints = st.one_of(
    st.integers(-5, 10_000),
    st.sampled_from([-(2**63), -1, 2**63 - 1, 2**63, U64_MAX, 2**64, 2**100]),
    st.integers(-(2**80), 2**80),
)


def fits(*values: int) -> bool:
    return all(0 <= v <= U64_MAX for v in values)


@settings(max_examples=300, deadline=None)
@given(n=ints, bin_=ints)
def test_n_bins_counts_or_refuses_with_value_error(n: int, bin_: int) -> None:
    if fits(n, bin_) and bin_ > 0:
        assert _core.n_bins(n, bin_) == -(-n // bin_)
        return
    with pytest.raises(ValueError, match=f"{OUT_OF_RANGE}|positive"):
        _core.n_bins(n, bin_)


@settings(max_examples=200, deadline=None)
@given(bins=st.lists(ints, min_size=1, max_size=3))
def test_kernel_bins_out_of_range_are_value_errors(bins: list[int]) -> None:
    # In range, the kernel's own checks decide (nesting, output shapes): tested elsewhere.
    assume(not all(fits(b) and b > 0 for b in bins))
    x = np.arange(10, dtype=np.int16)
    outs = [np.empty((2, 1), np.int16) for _ in bins]
    with pytest.raises(ValueError, match=f"{OUT_OF_RANGE}|positive"):
        _core.minmax_pyramid_into(x, bins, outs, False)


@settings(max_examples=200, deadline=None)
@given(
    seed=ints,
    n_samples=ints,
    place=st.tuples(ints, ints, ints),
    start=ints,
)
def test_synthetic_sizes_out_of_range_are_value_errors(
    seed: int, n_samples: int, place: tuple[int, int, int], start: int
) -> None:
    out = np.empty(4, np.int16)
    recording = _core.SynthRecording(1, "sine", 100, DT)
    c, t, s = place
    calls = [
        (lambda: _core.SynthRecording(seed, "sine", n_samples, DT), fits(seed, n_samples)),
        (lambda: recording.fill(out, (c, t, s), start), fits(c, t, s, start)),
        (lambda: _core.synth_vertical(seed, c, t), fits(seed, c, t)),
        (lambda: _core.synth_glitches(seed, n_samples, c, t, s), fits(seed, n_samples, c, t, s)),
        (lambda: _core.synth_event(n_samples, DT), fits(n_samples)),
    ]
    for call, in_range in calls:
        if in_range:
            # The algorithm may refuse (no samples, a block past the end), but not the
            # conversion of the arguments.
            try:
                call()
                refusal = ""
            except ValueError as exc:
                refusal = str(exc)
            assert "whole number" not in refusal
        else:
            with pytest.raises(ValueError, match=OUT_OF_RANGE):
                call()


def test_non_integers_stay_type_errors() -> None:
    with pytest.raises(TypeError):
        _core.n_bins(10.5, 2)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _core.synth_vertical("1", 0, 0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _core.minmax_pyramid_into(np.zeros(4, np.int16), [2.0], [np.empty((2, 2), np.int16)])  # type: ignore[list-item]
