"""Min/max pyramids: the level plan of the store format and the Rust kernel's Python face."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zoomingonline._core import minmax_pyramid_into, n_bins
from zoomingonline._defaults import DEFAULT_FACTOR, DEFAULT_MIN_BIN, DEFAULT_TARGET

__all__ = [
    "SUPPORTED_DTYPES",
    "PyramidPlan",
    "minmax_pyramid",
    "minmax_pyramid_into",
    "n_bins",
    "plan_pyramid",
]

#: The sample types the kernel and the store accept.
SUPPORTED_DTYPES: tuple[np.dtype[np.generic], ...] = tuple(
    np.dtype(t)
    for t in (
        "int8",
        "uint8",
        "int16",
        "uint16",
        "int32",
        "uint32",
        "int64",
        "uint64",
        "float32",
        "float64",
    )
)


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

    Raises
    ------
    ValueError
        If a parameter is out of range.
    """
    if n_samples < 1:
        raise ValueError(f"segments must hold at least one sample, not {n_samples}")
    if target < 1:
        raise ValueError(f"target must be at least 1 bin, not {target}")
    if factor < 2:
        raise ValueError(f"factor must be at least 2, not {factor}")
    if min_bin < 1:
        raise ValueError(f"min_bin must be at least 1 sample, not {min_bin}")
    bins = [min_bin]
    while -(-n_samples // bins[-1]) > target:
        bins.append(bins[-1] * factor)
    return PyramidPlan(
        n_samples=n_samples,
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
