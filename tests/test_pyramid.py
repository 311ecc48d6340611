"""Tests of the min/max pyramid kernel and the level plan, against the numpy oracle."""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import hypothesis.extra.numpy as hnp
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import DTYPE_NAMES, reference_level, reference_pyramid
from zoomingonline.pyramid import (
    SUPPORTED_DTYPES,
    minmax_pyramid,
    minmax_pyramid_into,
    n_bins,
    plan_pyramid,
)

DTYPES = tuple(np.dtype(name) for name in DTYPE_NAMES)
FLOAT_DTYPES = tuple(d for d in DTYPES if d.kind == "f")

# Arrays of a few thousand samples: no deadline, and generating them is allowed to be slowish.
SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --------------------------------------------------------------------------------------------
# Helpers and strategies
# --------------------------------------------------------------------------------------------


def assert_levels_equal(
    got: list[npt.NDArray[np.generic]], want: list[npt.NDArray[np.generic]]
) -> None:
    """Same number of levels; per level same dtype, shape, values and NaN positions."""
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g.dtype == w.dtype, f"level {k}: dtype {g.dtype} != {w.dtype}"
        assert g.shape == w.shape, f"level {k}: shape {g.shape} != {w.shape}"
        np.testing.assert_array_equal(g, w, err_msg=f"level {k}", strict=True)


def special_values(dtype: np.dtype[np.generic]) -> list[np.generic]:
    """The values at the edges of a dtype's range (and the awkward floats)."""
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        vals = [info.min, info.max, info.min + 1, info.max - 1, 0, 1]
        if dtype.kind == "i":
            vals.append(-1)
        return [dtype.type(v) for v in vals]
    finfo = np.finfo(dtype)
    vals = [
        np.nan,
        np.inf,
        -np.inf,
        finfo.max,
        -finfo.max,
        finfo.tiny,
        -finfo.tiny,
        finfo.smallest_subnormal,
        -finfo.smallest_subnormal,
        0.0,
        -0.0,
        1.0,
    ]
    return [dtype.type(v) for v in vals]


@st.composite
def nested_bins(
    draw: st.DrawFn, max_finest: int = 70, max_factor: int = 5, max_levels: int = 4
) -> list[int]:
    """Bin sizes, coarsest first, each a multiple of the next."""
    finest = draw(st.integers(1, max_finest))
    factors = draw(st.lists(st.integers(2, max_factor), max_size=max_levels - 1))
    bins = [finest]
    for f in factors:
        bins.append(bins[-1] * f)
    return bins[::-1]


@st.composite
def hnp_samples(draw: st.DrawFn, max_len: int = 5000) -> npt.NDArray[np.generic]:
    """Arrays from hypothesis.extra.numpy: any value of the dtype, NaN and inf included."""
    dtype = draw(st.sampled_from(DTYPES))
    n = draw(st.integers(0, max_len))
    return draw(hnp.arrays(dtype, n, elements=hnp.from_dtype(dtype)))


@st.composite
def dense_samples(draw: st.DrawFn, max_len: int = 5000) -> npt.NDArray[np.generic]:
    """Dense random arrays over the whole range of the dtype, with edge values (and for
    floats NaN, sparse or in runs long enough to make all-NaN bins) at drawn positions."""
    dtype = draw(st.sampled_from(DTYPES))
    n = draw(st.integers(0, max_len))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        x = rng.integers(info.min, info.max, size=n, dtype=dtype, endpoint=True)
    else:
        scale = 10.0 ** rng.uniform(-30, 30, size=n)
        x = (rng.standard_normal(n) * scale).astype(dtype)
        nan_fraction = draw(st.sampled_from([0.0, 0.01, 0.5, 0.97, 1.0]))
        x[rng.random(n) < nan_fraction] = np.nan
        for start, length in draw(
            st.lists(st.tuples(st.integers(0, max_len), st.integers(1, 300)), max_size=3)
        ):
            x[start : start + length] = np.nan
    if n:
        for pos, value in draw(
            st.lists(
                st.tuples(st.integers(0, n - 1), st.sampled_from(special_values(dtype))),
                max_size=12,
            )
        ):
            x[pos] = value
    return x


# --------------------------------------------------------------------------------------------
# The oracle itself, on hand-computed cases
# --------------------------------------------------------------------------------------------


def test_oracle_on_hand_computed_cases() -> None:
    x = np.array([3, 1, 4, 1, 5, 9, 2], np.int16)
    got = reference_pyramid(x, [4, 2])
    assert got[0].tolist() == [[1, 2], [4, 9]]
    assert got[1].tolist() == [[1, 1, 5, 2], [3, 4, 9, 2]]
    y = np.array([np.nan, 2.0, np.nan, np.nan, -1.0], np.float32)
    lvl = reference_level(y, 2)
    np.testing.assert_array_equal(lvl, [[2.0, np.nan, -1.0], [2.0, np.nan, -1.0]])
    assert reference_level(np.zeros(0, np.uint8), 5).shape == (2, 0)


# --------------------------------------------------------------------------------------------
# Correctness against the oracle
# --------------------------------------------------------------------------------------------


def test_supported_dtypes_are_the_documented_ones() -> None:
    assert set(SUPPORTED_DTYPES) == set(DTYPES)


def test_docstring_example() -> None:
    got = minmax_pyramid(np.array([3, 1, 4, 1, 5], np.int16), [4, 2])
    assert [lvl.tolist() for lvl in got] == [[[1, 5], [4, 5]], [[1, 1, 5], [3, 4, 5]]]


@SETTINGS
@given(x=hnp_samples(), bins=nested_bins(), parallel=st.booleans())
def test_matches_oracle_hypothesis_arrays(
    x: npt.NDArray[np.generic], bins: list[int], parallel: bool
) -> None:
    assert_levels_equal(minmax_pyramid(x, bins, parallel=parallel), reference_pyramid(x, bins))


@SETTINGS
@given(x=dense_samples(), bins=nested_bins(), parallel=st.booleans())
def test_matches_oracle_dense_arrays(
    x: npt.NDArray[np.generic], bins: list[int], parallel: bool
) -> None:
    assert_levels_equal(minmax_pyramid(x, bins, parallel=parallel), reference_pyramid(x, bins))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("n", [1, 2, 31, 32, 33, 64, 65, 1000, 1029])
def test_extremes_at_every_position_of_a_bin(dtype: np.dtype[np.generic], n: int) -> None:
    """The dtype's extremes, placed at each offset within a bin (and in the partial last
    bin), must come out; a kernel that skips a lane or the tail of a bin fails this."""
    specials = special_values(dtype)
    lo, hi = specials[:2] if dtype.kind in "iu" else (dtype.type(-np.inf), dtype.type(np.inf))
    mid = dtype.type(1)
    bins = [96, 32, 8, 1] if n > 64 else [8, 1]
    for pos in range(min(n, 97)):
        x = np.full(n, mid, dtype)
        x[pos] = lo
        x[(pos * 7 + 3) % n] = hi
        assert_levels_equal(minmax_pyramid(x, bins), reference_pyramid(x, bins))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_nan_semantics_hand_computed(dtype: np.dtype[np.generic]) -> None:
    nan = np.nan
    x = np.array([nan, 1.0, nan, nan, nan, nan, -0.5, 2.0, nan, nan, nan, nan, 7.0], dtype)
    got = minmax_pyramid(x, [4, 2])
    want4 = [[1.0, -0.5, nan, 7.0], [1.0, 2.0, nan, 7.0]]
    want2 = [[1.0, nan, nan, -0.5, nan, nan, 7.0], [1.0, nan, nan, 2.0, nan, nan, 7.0]]
    np.testing.assert_array_equal(got[0], np.array(want4, dtype))
    np.testing.assert_array_equal(got[1], np.array(want2, dtype))
    all_nan = minmax_pyramid(np.full(100, nan, dtype), [50, 10])
    assert all(np.isnan(lvl).all() for lvl in all_nan)
    inf = minmax_pyramid(np.array([nan, -np.inf, np.inf, nan], dtype), [4])[0]
    assert inf.tolist() == [[-np.inf], [np.inf]]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_empty_input_gives_empty_levels(dtype: np.dtype[np.generic]) -> None:
    got = minmax_pyramid(np.zeros(0, dtype), [16, 4])
    assert [(g.shape, g.dtype) for g in got] == [((2, 0), dtype), ((2, 0), dtype)]


def test_input_shorter_than_a_bin_gives_one_partial_bin() -> None:
    got = minmax_pyramid(np.array([9, 3, 7], np.uint16), [4096, 64, 1])
    assert [g.tolist() for g in got] == [[[3], [9]], [[3], [9]], [[9, 3, 7], [9, 3, 7]]]


def test_strided_and_list_inputs_are_accepted_by_the_wrapper() -> None:
    base = np.random.default_rng(1).integers(-1000, 1000, 3001).astype(np.int32)
    x = base[::3]
    assert_levels_equal(minmax_pyramid(x, [40, 10]), reference_pyramid(x.copy(), [40, 10]))
    got = minmax_pyramid([5.0, -1.0, 2.0], [2])[0]
    assert got.dtype == np.float64
    assert got.tolist() == [[-1.0, 2.0], [5.0, 2.0]]


@pytest.mark.parametrize(
    "alias", [np.byte, np.ubyte, np.short, np.ushort, np.intc, np.uintc, np.longlong, np.ulonglong]
)
def test_c_type_aliases_are_accepted(alias: type[np.integer]) -> None:
    x = np.array([7, 2, 9, 4, 4], alias)
    assert [g.tolist() for g in minmax_pyramid(x, [2])] == [[[2, 4, 4], [7, 9, 4]]]


# --------------------------------------------------------------------------------------------
# Serial and parallel
# --------------------------------------------------------------------------------------------


def _large_inputs() -> list[tuple[npt.NDArray[np.generic], list[int]]]:
    rng = np.random.default_rng(20240601)
    n = 1_000_003  # not a multiple of any bin: the last piece and last bins are partial
    ints = rng.integers(-(2**15), 2**15, n, dtype=np.int16)
    floats = rng.standard_normal(n).astype(np.float32)
    floats[rng.random(n) < 0.3] = np.nan
    floats[10_000:20_000] = np.nan  # whole bins of NaN
    floats[rng.integers(0, n, 50)] = -0.0
    u64 = rng.integers(0, 2**64, n, dtype=np.uint64, endpoint=False)
    return [
        (ints, [4096, 1024, 256, 64]),
        (ints, [3000, 300, 30, 3]),
        (floats, [5 * 7 * 9, 7 * 9, 9]),
        (u64, [65536, 1]),
        (ints[:-2], [1_000_000, 1000]),  # fewer coarsest bins than pieces
    ]


@pytest.mark.parametrize(("x", "bins"), _large_inputs())
def test_parallel_is_byte_identical_to_serial(x: npt.NDArray[np.generic], bins: list[int]) -> None:
    serial = minmax_pyramid(x, bins, parallel=False)
    parallel = minmax_pyramid(x, bins, parallel=True)
    for s, p in zip(serial, parallel, strict=True):
        assert s.shape == p.shape
        assert s.dtype == p.dtype
        assert s.tobytes() == p.tobytes()
    assert_levels_equal(parallel, reference_pyramid(x, bins))


# --------------------------------------------------------------------------------------------
# Writing into slices of bigger arrays, and streaming
# --------------------------------------------------------------------------------------------


def _random_bytes_array(
    rng: np.random.Generator, shape: tuple[int, int], dtype: np.dtype[np.generic]
) -> npt.NDArray[np.generic]:
    nbytes = math.prod(shape) * dtype.itemsize
    return rng.integers(0, 256, nbytes, dtype=np.uint8).view(dtype).reshape(shape)


@SETTINGS
@given(
    x=dense_samples(max_len=3000),
    bins=nested_bins(),
    before=st.integers(0, 40),
    after=st.integers(0, 40),
    parallel=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_into_column_slices_leaves_neighbours_untouched(
    x: npt.NDArray[np.generic],
    bins: list[int],
    before: int,
    after: int,
    parallel: bool,
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    counts = [n_bins(x.size, b) for b in bins]
    # One bigger (2, M) buffer per level, filled with random bytes (a NaN sentinel would
    # hide a stray NaN write, a constant one a stray constant write).
    bigs = [_random_bytes_array(rng, (2, before + c + after), x.dtype) for c in counts]
    originals = [big.copy() for big in bigs]
    outs = [big[:, before : before + c] for big, c in zip(bigs, counts, strict=True)]
    minmax_pyramid_into(x, bins, outs, parallel)
    assert_levels_equal([o.copy() for o in outs], reference_pyramid(x, bins))
    for big, orig, c in zip(bigs, originals, counts, strict=True):
        assert big[:, :before].tobytes() == orig[:, :before].tobytes()
        assert big[:, before + c :].tobytes() == orig[:, before + c :].tobytes()


def test_into_refuses_two_levels_in_one_shared_buffer() -> None:
    # Documented: each level needs an array of its own (numpy's borrow check works on
    # whole buffers), and the refusal leaves the buffer untouched.
    x = np.arange(100, dtype=np.int16)
    big = np.full((2, 20), -1, np.int16)
    with pytest.raises(ValueError, match="distinct"):
        minmax_pyramid_into(x, [40, 10], [big[:, 0:3], big[:, 5:15]], False)
    assert (big == -1).all()


@SETTINGS
@given(
    x=dense_samples(max_len=5000),
    bins=nested_bins(max_finest=16, max_factor=4, max_levels=3),
    multiples=st.lists(st.integers(1, 5), min_size=1, max_size=40),
)
def test_streaming_blocks_aligned_to_the_coarsest_bin(
    x: npt.NDArray[np.generic], bins: list[int], multiples: list[int]
) -> None:
    whole = minmax_pyramid(x, bins)
    # Blocks of whole coarsest bins; whatever is left over is the last block.
    edges = [0]
    for m in multiples:
        if edges[-1] >= x.size:
            break
        edges.append(min(edges[-1] + m * bins[0], x.size))
    if edges[-1] < x.size:
        edges.append(x.size)
    # (a) Separate results per block, concatenated.
    parts = [minmax_pyramid(x[a:b], bins) for a, b in itertools.pairwise(edges)]
    joined = [
        np.concatenate([p[k] for p in parts], axis=1) if parts else np.empty((2, 0), x.dtype)
        for k in range(len(bins))
    ]
    assert_levels_equal(joined, whole)
    # (b) Each block written into its place of preallocated whole-segment outputs.
    into = [np.empty((2, n_bins(x.size, b)), x.dtype) for b in bins]
    for a, b in itertools.pairwise(edges):
        outs = [
            o[:, a // bin_ : a // bin_ + n_bins(b - a, bin_)]
            for o, bin_ in zip(into, bins, strict=True)
        ]
        minmax_pyramid_into(x[a:b], bins, outs, False)
    assert_levels_equal(into, whole)
    assert_levels_equal(whole, reference_pyramid(x, bins))


# --------------------------------------------------------------------------------------------
# The level plan
# --------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(1, 10**13),
    target=st.integers(1, 20_000),
    factor=st.integers(2, 8),
    min_bin=st.integers(1, 4096),
)
def test_plan_properties(n: int, target: int, factor: int, min_bin: int) -> None:
    plan = plan_pyramid(n, target=target, factor=factor, min_bin=min_bin)
    bins = plan.bins
    assert (plan.n_samples, plan.target, plan.factor, plan.min_bin) == (
        n,
        target,
        factor,
        min_bin,
    )
    assert len(bins) >= 1
    assert bins[-1] == min_bin
    for coarse, fine in itertools.pairwise(bins):
        assert coarse == fine * factor
    assert plan.counts == tuple(-(-n // b) for b in bins)
    assert plan.counts[0] <= target
    # The coarsest level is the first that fits: one level finer would not.
    if len(bins) > 1:
        assert plan.counts[1] > target
    # Short segments get a single level.
    assert (len(bins) == 1) == (-(-n // min_bin) <= target)


def test_plan_for_the_default_parameters() -> None:
    # 1e8 / 65536 = 1525.9 <= 4000 bins, while 1e8 / 16384 = 6103.5 > 4000.
    plan = plan_pyramid(10**8)
    assert plan.bins == (65536, 16384, 4096, 1024, 256, 64)
    assert plan.counts[0] == 1526
    assert plan_pyramid(1).bins == (64,)
    assert plan_pyramid(4000 * 64).bins == (64,)
    assert plan_pyramid(4000 * 64 + 1).bins == (256, 64)


@pytest.mark.parametrize(
    ("n", "kwargs"),
    [
        (0, {}),
        (-5, {}),
        (100, {"target": 0}),
        (100, {"target": -1}),
        (100, {"factor": 1}),
        (100, {"factor": 0}),
        (100, {"min_bin": 0}),
        (100, {"min_bin": -64}),
    ],
)
def test_plan_rejects_bad_parameters(n: int, kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="at least"):
        plan_pyramid(n, **kwargs)


# --------------------------------------------------------------------------------------------
# Error paths
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bins", [[10, 4], [4, 16], [12, 8, 2], [0], [8, 0], []])
def test_bad_bins_raise_value_error(bins: list[int]) -> None:
    with pytest.raises(ValueError, match="bin"):
        minmax_pyramid(np.arange(50, dtype=np.int16), bins)


def test_negative_bin_is_refused() -> None:
    with pytest.raises((ValueError, OverflowError)):
        minmax_pyramid(np.arange(50, dtype=np.int16), [-4])


@pytest.mark.parametrize(
    "dtype", ["float16", "bool", "complex64", "complex128", "longdouble", "object", "U3", "M8[s]"]
)
def test_unsupported_dtypes_raise_type_error(dtype: str) -> None:
    if np.dtype(dtype) in DTYPES:  # longdouble is float64 on some platforms
        pytest.skip(f"{dtype} is a supported dtype here")
    x = np.zeros(10, dtype=dtype)
    with pytest.raises(TypeError):
        minmax_pyramid(x, [2])
    # The compiled function checks too.
    with pytest.raises(TypeError):
        minmax_pyramid_into(x, [2], [np.empty((2, 5), dtype=dtype)], False)


def test_non_native_byte_order_is_accepted_by_the_wrapper() -> None:
    x = np.array([3, 1, 4, 1, 5], dtype=np.dtype(np.int16).newbyteorder())
    got = minmax_pyramid(x, [4, 2])
    assert [lvl.tolist() for lvl in got] == [[[1, 5], [4, 5]], [[1, 1, 5], [3, 4, 5]]]


def test_two_dimensional_input_raises_value_error() -> None:
    x = np.zeros((4, 8), np.int16)
    with pytest.raises(ValueError, match="one-dimensional"):
        minmax_pyramid(x, [2])
    with pytest.raises(ValueError, match="one-dimensional"):
        minmax_pyramid_into(x, [2], [np.empty((2, 16), np.int16)], False)


def test_into_rejects_non_array_and_non_contiguous_input() -> None:
    with pytest.raises(TypeError):
        minmax_pyramid_into([1, 2, 3], [1], [np.empty((2, 3), np.int64)], False)
    x = np.arange(20, dtype=np.int16)[::2]
    with pytest.raises(ValueError, match="contiguous"):
        minmax_pyramid_into(x, [2], [np.empty((2, 5), np.int16)], False)


@pytest.mark.parametrize("shape", [(2, 9), (2, 11), (2, 0), (3, 10), (1, 10)])
def test_wrong_output_shape_raises_value_error(shape: tuple[int, int]) -> None:
    x = np.arange(100, dtype=np.int16)  # bins of 10 -> shape (2, 10)
    out = np.full(shape, 77, np.int16)
    with pytest.raises(ValueError, match="output"):
        minmax_pyramid_into(x, [10], [out], False)
    assert (out == 77).all()  # nothing written on error


def test_wrong_output_dtype_or_rank_or_count_raises() -> None:
    x = np.arange(100, dtype=np.int16)
    with pytest.raises(TypeError):
        minmax_pyramid_into(x, [10], [np.empty((2, 10), np.int32)], False)
    with pytest.raises((TypeError, ValueError)):
        minmax_pyramid_into(x, [10], [np.empty(20, np.int16)], False)
    with pytest.raises(ValueError, match="output"):
        minmax_pyramid_into(x, [20, 10], [np.empty((2, 5), np.int16)], False)
    with pytest.raises(ValueError, match="output"):
        minmax_pyramid_into(x, [10], [np.empty((2, 10), np.int16)] * 2, False)


def test_non_writeable_output_raises_value_error() -> None:
    x = np.arange(100, dtype=np.int16)
    out = np.zeros((2, 10), np.int16)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        minmax_pyramid_into(x, [10], [out], False)
    assert (out == 0).all()


def test_non_contiguous_output_rows_raise_value_error() -> None:
    x = np.arange(100, dtype=np.int16)
    fortran = np.zeros((2, 10), np.int16, order="F")
    with pytest.raises(ValueError, match="contiguous"):
        minmax_pyramid_into(x, [10], [fortran], False)
    strided = np.zeros((2, 20), np.int16)[:, ::2]
    with pytest.raises(ValueError, match="contiguous"):
        minmax_pyramid_into(x, [10], [strided], False)


def test_aliased_outputs_are_refused() -> None:
    x = np.arange(100, dtype=np.int16)
    out = np.zeros((2, 10), np.int16)
    with pytest.raises(ValueError, match="distinct"):
        minmax_pyramid_into(x, [10, 10], [out, out], False)
    with pytest.raises(ValueError, match="distinct"):
        minmax_pyramid_into(x, [10, 10], [out, out[:, :]], False)


# --------------------------------------------------------------------------------------------
# Absurd parameters: one clean error or a sound plan, never a huge allocation
# --------------------------------------------------------------------------------------------

INT64_MAX = 2**63 - 1

#: Integers where plans break if anything does: tiny, around the int64 and uint64 limits,
#: far beyond them, and negative.
absurd_ints = st.one_of(
    st.integers(-3, 70),
    st.integers(1, 10**7),
    st.integers(2**31, 2**34),
    st.sampled_from([2**53, 2**62, INT64_MAX - 1, INT64_MAX, 2**63, 2**64 - 1, 2**64, 10**30]),
    st.integers(-(2**70), 2**200),
)
not_whole = st.sampled_from([2.5, 4.0, float("nan"), float("inf"), True, False, "4", None])


def expected_plan_error(n: object, target: object, factor: object, min_bin: object) -> bool:
    """Whether plan_pyramid must refuse these, from the documented rule alone: whole
    numbers from their least value to 2**63 - 1, and no bin longer than 16 times the
    segment (or 65,536 samples) nor ending past 2**63 - 1."""
    values = (n, target, factor, min_bin)
    if any(isinstance(v, bool) or not isinstance(v, int) for v in values):
        return True
    assert isinstance(n, int)
    assert isinstance(target, int)
    assert isinstance(factor, int)
    assert isinstance(min_bin, int)
    if n < 1 or target < 1 or factor < 2 or min_bin < 1:
        return True
    if max(n, target, factor) > INT64_MAX:
        return True
    longest = min(INT64_MAX, max(16 * n, 65536))
    bins = [min_bin]
    while -(-n // bins[-1]) > target and bins[-1] <= longest:
        bins.append(bins[-1] * factor)
    return any(b > longest or -(-n // b) * b > INT64_MAX for b in bins)


@settings(max_examples=1000, deadline=None)
@given(
    n=st.one_of(absurd_ints, not_whole),
    target=st.one_of(absurd_ints, absurd_ints, not_whole),
    factor=st.one_of(absurd_ints, absurd_ints, not_whole),
    min_bin=st.one_of(absurd_ints, absurd_ints, not_whole),
)
def test_plan_over_absurd_parameters_is_sound_or_one_clean_error(
    n: object, target: object, factor: object, min_bin: object
) -> None:
    kwargs = {"target": target, "factor": factor, "min_bin": min_bin}
    try:
        plan = plan_pyramid(n, **kwargs)  # type: ignore[arg-type]
    except ValueError as exc:
        message = str(exc)
        assert message
        assert "\n" not in message
        assert len(message) < 250
        assert expected_plan_error(n, target, factor, min_bin), message
        return
    assert not expected_plan_error(n, target, factor, min_bin), (n, kwargs, plan.bins)
    assert isinstance(n, int)
    bins = plan.bins
    assert bins[-1] == min_bin
    for coarse, fine in itertools.pairwise(bins):
        assert coarse == fine * plan.factor
    assert plan.counts[0] <= plan.target
    # What the store writer allocates from a plan stays proportionate to the segment.
    assert bins[0] <= max(16 * n, 65536)
    assert all(-(-n // b) * b <= INT64_MAX for b in bins)


@pytest.mark.parametrize(
    ("n", "kwargs", "match"),
    [
        (10**6, {"factor": 2**32}, "factor 4,294,967,296 makes bins of"),
        (10**6, {"min_bin": INT64_MAX}, "min_bin must be at most 16,000,000 samples"),
        (10**6, {"target": 10**30}, "target must be at most 2\\*\\*63 - 1"),
        (10**6, {"factor": 2**64}, "factor must be at most 2\\*\\*63 - 1"),
        (2**63, {}, "segments must hold at most 2\\*\\*63 - 1 samples"),
        (100, {"min_bin": 65537}, "min_bin must be at most 65,536 samples"),
        (100, {"factor": 4.0}, "factor must be a whole number"),
        (100, {"target": True}, "target must be a whole number"),
        (INT64_MAX, {"min_bin": 2**62, "target": 1}, "factor 4 makes bins of"),
    ],
)
def test_plan_refuses_absurd_values_in_one_line(
    n: int, kwargs: dict[str, object], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        plan_pyramid(n, **kwargs)  # type: ignore[arg-type]


def test_plan_keeps_huge_factors_that_fit_and_short_segments_with_defaults() -> None:
    # A factor is absurd only where it makes a bin absurd: a trillion-sample segment
    # takes a factor of 2**32, and a single-level plan never uses its factor.
    assert plan_pyramid(10**12, factor=2**32).bins == (64 * 2**32, 64)
    assert plan_pyramid(1000, factor=2**62).bins == (64,)
    # Bins longer than the segment, within bounds: short segments, and target 1.
    assert plan_pyramid(1, min_bin=65536).bins == (65536,)
    assert plan_pyramid(10, target=1, factor=8, min_bin=1).bins == (64, 8, 1)
    assert plan_pyramid(10**6, target=1, factor=16, min_bin=1).bins[0] == 16**5


# Run in a child process under an address-space limit of 512 MiB above what the imports
# take: a plan that makes the writer allocate a huge buffer fails there with MemoryError.
_LIMITED_CHILD = """
import json, resource, sys
import zoomingonline
from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.generate import generate

def vm_size():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize:"))

src, out, cases = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
resource.setrlimit(resource.RLIMIT_AS, (vm_size() + (512 << 20), resource.RLIM_INFINITY))
tools = {
    "convert": lambda k, kw: zoomingonline.convert(src, f"{out}/c{k}.zarr", jobs=1, **kw),
    "generate": lambda k, kw: generate(
        f"{out}/g{k}.zarr", minimal=True, samples=5_001, seed=k, jobs=1, **kw
    ),
}
outcomes = []
for k, kwargs in enumerate(cases):
    for name, tool in tools.items():
        try:
            tool(k, kwargs)
            outcomes.append("ok")
        except ZoomingOnlineError as exc:
            outcomes.append(f"{name}: {exc}")
print(json.dumps(outcomes))
"""


def _run_limited(tmp_path: Path, cases: list[dict[str, int]]) -> list[tuple[str, str]]:
    """``convert`` then ``generate`` with each of ``cases`` (segments of 5,001 samples)
    in the limited child: ``(convert outcome, generate outcome)`` per case, each "ok" or
    the error's message."""
    import h5py

    src = tmp_path / "in.h5"
    if not src.exists():
        with h5py.File(src, "w") as f:
            f["samples"] = np.arange(2 * 5_001, dtype=np.int16).reshape(1, 1, 2, 5_001)
    out = tmp_path / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    env = {**os.environ, "MALLOC_ARENA_MAX": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", _LIMITED_CHILD, str(src), str(out), json.dumps(cases)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    shutil.rmtree(out)
    outcomes: list[str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return list(zip(outcomes[::2], outcomes[1::2], strict=True))


_ABSURD_CASES: list[dict[str, int]] = [
    {"factor": 2**32, "target": 10},
    {"min_bin": INT64_MAX},
    {"min_bin": 2**40},
    {"factor": 2**62, "target": 1},
    {"target": 10**30},
    {"factor": 2**64},
    {"raw_chunk": 10**30},
    {"target": 1, "factor": 16, "min_bin": 1},
]


def test_absurd_parameters_fail_cleanly_in_bounded_memory(tmp_path: Path) -> None:
    outcomes = _run_limited(tmp_path, _ABSURD_CASES)
    for kwargs, pair in zip(_ABSURD_CASES, outcomes, strict=True):
        refused = plan_error(5_001, kwargs)
        for outcome in pair:
            assert (outcome != "ok") == refused, (kwargs, outcome)
            assert "\n" not in outcome
    assert outcomes[-2:] == [("ok", "ok"), ("ok", "ok")]
    assert outcomes[0][0].startswith("convert: factor 4,294,967,296 makes bins of")
    assert outcomes[1][1].startswith("generate: min_bin must be at most 80,016 samples")


def plan_error(n: int, kwargs: dict[str, int]) -> bool:
    """Whether the plan of these convert/generate arguments is refused, by the oracle."""
    plan_kwargs = {
        k: kwargs.get(k, d) for k, d in (("target", 4000), ("factor", 4), ("min_bin", 64))
    }
    return expected_plan_error(n, **plan_kwargs)


@settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cases=st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "target": st.one_of(st.integers(1, 20), absurd_ints.filter(lambda v: v >= 1)),
                "factor": st.one_of(st.integers(2, 40), absurd_ints.filter(lambda v: v >= 2)),
                "min_bin": st.one_of(st.integers(1, 40), absurd_ints.filter(lambda v: v >= 1)),
            },
        ),
        min_size=4,
        max_size=6,
    )
)
def test_drawn_parameters_fail_cleanly_or_convert_in_bounded_memory(
    tmp_path: Path, cases: list[dict[str, int]]
) -> None:
    outcomes = _run_limited(tmp_path, cases)
    for kwargs, pair in zip(cases, outcomes, strict=True):
        refused = plan_error(5_001, kwargs)
        assert pair[0].startswith("convert: ") if refused else pair[0] == "ok", (kwargs, pair)
        assert pair[1].startswith("generate: ") if refused else pair[1] == "ok", (kwargs, pair)
