"""A plain-numpy oracle for min/max pyramids, written independently of the package.

Every level is computed straight from the samples (no reduction from a finer level): the
samples are padded up to a whole number of bins with the identity of the reduction, reshaped
to ``(n_bins, bin)`` and reduced along the rows. NaN is ignored the ``np.fmin``/``np.fmax``
way, and a bin of only NaN gives NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

#: Every sample type of the store format, spelled out here rather than taken from the
#: package, so that a dtype dropped from the package is noticed.
DTYPE_NAMES = (
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


def _identities(dtype: np.dtype[np.generic]) -> tuple[np.generic, np.generic]:
    """Padding values that cannot change the result: (for the minimum, for the maximum)."""
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return dtype.type(info.max), dtype.type(info.min)
    if dtype.kind == "f":
        # fmin/fmax ignore NaN, so NaN is the identity of both (and an all-NaN bin stays NaN).
        return dtype.type(np.nan), dtype.type(np.nan)
    raise TypeError(f"the oracle does not handle dtype {dtype}")


def reference_level(x: npt.NDArray[np.generic], bin_size: int) -> npt.NDArray[np.generic]:
    """The ``(2, ceil(len(x) / bin_size))`` min/max level of the 1-D array ``x``."""
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError("the oracle takes 1-D arrays")
    if bin_size < 1:
        raise ValueError("bin sizes must be positive")
    n = x.size
    n_bins = -(-n // bin_size)
    pad = n_bins * bin_size - n
    lo_id, hi_id = _identities(x.dtype)
    lo = np.concatenate([x, np.full(pad, lo_id, dtype=x.dtype)]).reshape(n_bins, bin_size)
    hi = np.concatenate([x, np.full(pad, hi_id, dtype=x.dtype)]).reshape(n_bins, bin_size)
    out = np.empty((2, n_bins), dtype=x.dtype)
    if x.dtype.kind == "f":
        # Not np.nanmin: it warns on all-NaN rows. fmin.reduce ignores NaN silently.
        out[0] = np.fmin.reduce(lo, axis=1)
        out[1] = np.fmax.reduce(hi, axis=1)
    else:
        out[0] = lo.min(axis=1)
        out[1] = hi.max(axis=1)
    return out


def reference_pyramid(
    x: npt.NDArray[np.generic], bins: Sequence[int]
) -> list[npt.NDArray[np.generic]]:
    """One ``(2, ceil(len(x) / b))`` array per bin size ``b`` of ``bins``, in that order."""
    return [reference_level(x, int(b)) for b in bins]
