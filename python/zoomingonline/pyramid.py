"""Min/max pyramids: the level plan of the store format and the Rust kernel's Python face."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import SupportsIndex

import numpy as np
import numpy.typing as npt

from zoomingonline import _core
from zoomingonline._core import minmax_pyramid_into, n_bins
from zoomingonline._defaults import DEFAULT_FACTOR, DEFAULT_MIN_BIN, DEFAULT_TARGET

__all__ = [
    "MAX_OVERSHOOT",
    "MAX_SIZE",
    "SHORT_BIN",
    "SUPPORTED_DTYPES",
    "PyramidPlan",
    "longest_bin",
    "minmax_pyramid",
    "minmax_pyramid_into",
    "n_bins",
    "plan_pyramid",
]

#: The sample types the kernel and the store accept (the Rust core's list).
SUPPORTED_DTYPES: tuple[np.dtype[np.generic], ...] = tuple(
    np.dtype(name) for name in _core.SUPPORTED_DTYPES
)

#: Largest size anywhere in a store: Zarr shapes and chunks and numpy sizes are int64.
MAX_SIZE = 2**63 - 1
#: Bins may be at most this many times longer than the segment (see :func:`longest_bin`).
MAX_OVERSHOOT = 16
#: Bins of up to this many samples are accepted whatever the segment's length.
SHORT_BIN = 1 << 16


@dataclass(frozen=True)
class PyramidPlan:
    """The overview levels of a segment of ``n_samples`` samples.

    Attributes
    ----------
    n_samples : int
        Samples per segment.
    factor, target, min_bin : int
        The parameters the plan was made from.
    bins : tuple of int
        Bin size of each level, coarsest (``overview/0``) first.
    """

    n_samples: int
    factor: int
    target: int
    min_bin: int
    bins: tuple[int, ...]

    @property
    def counts(self) -> tuple[int, ...]:
        """Number of bins of each level, coarsest first (the last bin may be partial)."""
        return tuple(-(-self.n_samples // b) for b in self.bins)


def _whole(name: str, value: object) -> int:
    """``value`` as an int, for a whole number (Python or numpy, not bool)."""
    if isinstance(value, bool) or not isinstance(value, SupportsIndex):
        raise ValueError(f"{name} must be a whole number, not {value!r}")
    return operator.index(value)


def longest_bin(n_samples: int) -> int:
    """The longest bin allowed in a plan for segments of ``n_samples`` samples.

    A bin may be longer than the segment, and then holds all of it: a short segment with
    the default ``min_bin`` has one, and so has a coarsest level that overshoots when
    ``factor`` jumps past ``target`` (by less than ``factor``). Beyond that a longer bin
    only costs memory (the store writer holds buffers of a coarsest bin), so bins are
    limited to :data:`MAX_OVERSHOOT` times the segment, at least :data:`SHORT_BIN` and at
    most :data:`MAX_SIZE` samples.
    """
    return min(MAX_SIZE, max(MAX_OVERSHOOT * n_samples, SHORT_BIN))


def plan_pyramid(
    n_samples: int,
    *,
    target: int = DEFAULT_TARGET,
    factor: int = DEFAULT_FACTOR,
    min_bin: int = DEFAULT_MIN_BIN,
) -> PyramidPlan:
    """Plan the overview levels for segments of ``n_samples`` samples.

    The finest level has bins of ``min_bin`` samples; each coarser level multiplies the
    bin by ``factor``, until the coarsest level has at most ``target`` bins. A short
    segment gets a single level.

    Every argument is a whole number from its least value (1 sample, 1 bin, a factor of
    2, 1 sample) up to :data:`MAX_SIZE`, and no bin may be longer than
    :func:`longest_bin` of the segment: the plan is checked before anything is allocated
    for it, so an absurd factor or ``min_bin`` is an error, not a huge buffer.

    Raises
    ------
    ValueError
        If a parameter is out of range, with one line saying which and why.
    """
    n = _whole("the segment length", n_samples)
    target = _whole("target", target)
    factor = _whole("factor", factor)
    min_bin = _whole("min_bin", min_bin)
    if n < 1:
        raise ValueError(f"segments must hold at least one sample, not {n}")
    if target < 1:
        raise ValueError(f"target must be at least 1 bin, not {target}")
    if factor < 2:
        raise ValueError(f"factor must be at least 2, not {factor}")
    if min_bin < 1:
        raise ValueError(f"min_bin must be at least 1 sample, not {min_bin}")
    if n > MAX_SIZE:
        raise ValueError(f"segments must hold at most 2**63 - 1 samples, not {n}")
    for name, value in (("target", target), ("factor", factor)):
        if value > MAX_SIZE:
            raise ValueError(f"{name} must be at most 2**63 - 1, not {value}")
    longest = longest_bin(n)
    if min_bin > longest:
        raise ValueError(
            f"min_bin must be at most {longest:,} samples for segments of {n:,} samples,"
            f" not {min_bin:,}"
        )
    bins = [min_bin]
    while -(-n // bins[-1]) > target:
        coarser = bins[-1] * factor
        if coarser > longest:
            raise ValueError(
                f"factor {factor:,} makes bins of {coarser:,} samples for segments of {n:,}"
                f" samples (at most {longest:,}); choose a smaller factor or a larger target"
            )
        bins.append(coarser)
    # A level covers whole bins: its last bin's end must still be an int64 sample index.
    for b in bins:
        if -(-n // b) * b > MAX_SIZE:
            raise ValueError(
                f"bins of {b:,} samples over segments of {n:,} samples end past 2**63 - 1"
            )
    return PyramidPlan(
        n_samples=n,
        factor=factor,
        target=target,
        min_bin=min_bin,
        bins=tuple(reversed(bins)),
    )


def minmax_pyramid(
    x: npt.ArrayLike, bins: Sequence[int], *, parallel: bool = False
) -> list[npt.NDArray[np.generic]]:
    """Compute every level of the min/max pyramid of a 1-D array in one pass.

    Parameters
    ----------
    x : array_like
        One-dimensional samples of a supported dtype (see ``SUPPORTED_DTYPES``).
    bins : sequence of int
        Bin sizes, coarsest first, each an integer multiple of the next.
    parallel : bool, optional
        Spread the work over all cores; the result is identical to the serial one.

    Returns
    -------
    list of numpy.ndarray
        One array per level, shape ``(2, ceil(len(x) / bins[k]))`` and the dtype of ``x``:
        row 0 holds the minima, row 1 the maxima. NaN is ignored; a bin of only NaN
        gives NaN.

    Examples
    --------
    >>> import numpy as np
    >>> [lvl.tolist() for lvl in minmax_pyramid(np.array([3, 1, 4, 1, 5], np.int16), [4, 2])]
    [[[1, 5], [4, 5]], [[1, 1, 5], [3, 4, 5]]]
    """
    arr = np.ascontiguousarray(x)
    if arr.ndim != 1:
        raise ValueError(f"x must be one-dimensional, not {arr.ndim}-D")
    if arr.dtype.newbyteorder("=") not in SUPPORTED_DTYPES:
        raise TypeError(f"unsupported dtype {arr.dtype}")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    bins = [int(b) for b in bins]
    outs = [np.empty((2, n_bins(arr.size, b)), dtype=arr.dtype) for b in bins]
    minmax_pyramid_into(arr, bins, outs, parallel)
    return outs
