from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["__version__", "minmax_pyramid_into", "n_bins"]

__version__: str

def minmax_pyramid_into(
    x: npt.NDArray[np.generic],
    bins: Sequence[int],
    outs: list[npt.NDArray[np.generic]],
    parallel: bool = False,
) -> None: ...
def n_bins(n: int, bin: int) -> int: ...
