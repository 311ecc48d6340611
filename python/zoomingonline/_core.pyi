from collections.abc import Sequence
from typing import final

import numpy as np
import numpy.typing as npt

__all__ = [
    "MAX_HORIZ_INTERVAL",
    "SIGNALS",
    "SUPPORTED_DTYPES",
    "SynthRecording",
    "__version__",
    "minmax_pyramid_into",
    "n_bins",
    "synth_event",
    "synth_glitches",
    "synth_vertical",
]

__version__: str
#: numpy names of the sample types the pyramid kernel accepts.
SUPPORTED_DTYPES: tuple[str, ...]
#: Names of the base signals of synthetic recordings.
SIGNALS: tuple[str, ...]
#: Longest sampling interval of synthetic recordings, s.
MAX_HORIZ_INTERVAL: float

def minmax_pyramid_into(
    x: npt.NDArray[np.generic],
    bins: Sequence[int],
    outs: list[npt.NDArray[np.generic]],
    parallel: bool = False,
) -> None: ...
def n_bins(n: int, bin: int) -> int: ...

# -- synthetic recordings (zoomingonline generate) --
@final
class SynthRecording:
    def __new__(
        cls, seed: int, signal: str, n_samples: int, horiz_interval: float
    ) -> SynthRecording: ...
    def fill(
        self,
        out: npt.NDArray[np.int16],
        segment: tuple[int, int, int],
        start: int,
        parallel: bool = False,
    ) -> None: ...

def synth_vertical(seed: int, channel: int, trc: int) -> tuple[float, float]: ...
def synth_glitches(
    seed: int, n_samples: int, channel: int, trc: int, segment: int
) -> list[tuple[int, float]]: ...
def synth_event(n_samples: int, horiz_interval: float) -> tuple[int, list[float]]: ...
