"""The generator's oscilloscope model: the recording's volts digitised as a scope does.

See :class:`ScopeModel` and docs/generate.md ("The scope model").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["SCOPE_DIVISIONS", "SCOPE_ENOB", "SCOPE_NOISE_TILE", "SCOPE_VOLTS_PER_DIV", "ScopeModel"]

#: The scope model's ADC resolutions and their effective number of bits (ENOB), below
#: the nominal as measured on real oscilloscopes at full bandwidth.
SCOPE_ENOB = {8: 7.0, 12: 9.0, 14: 10.5}
#: The scope model's screen: volts per division and divisions (full scale 0.4 V).
SCOPE_VOLTS_PER_DIV = 0.05
SCOPE_DIVISIONS = 8
#: Samples per tile of the scope model's ADC noise (each tile has its own keyed stream).
SCOPE_NOISE_TILE = 1 << 16
#: The front end's low-pass on the ADC noise: a 3-tap filter, scaled to unit variance.
_SCOPE_FIR = (0.25 / math.sqrt(0.375), 0.5 / math.sqrt(0.375))


@dataclass(frozen=True)
class ScopeModel:
    """An oscilloscope's digitiser, applied to the recording's volts.

    The screen spans :data:`SCOPE_DIVISIONS` divisions of :data:`SCOPE_VOLTS_PER_DIV`
    (0.4 V), centred on the channel's signal (``0.05 V * channel``, plus 0.1 V for
    pulses); the ADC has ``bits`` bits over that span, so one step (LSB) is
    ``0.4 V / 2**bits``, and saturates at its end codes. Its own noise makes the
    effective number of bits :data:`SCOPE_ENOB` (7.0, 9.0, 10.5): gaussian noise of
    ``sqrt(4**(bits - enob) - 1) / sqrt(12)`` LSB, added to the quantisation's own, low-pass
    filtered by the front end (a 3-tap filter ``[1, 2, 1]``, so the spectrum falls towards
    Nyquist), from streams keyed by the seed, the segment and the tile of
    :data:`SCOPE_NOISE_TILE` samples. The codes are stored in int16 as the scopes store
    them: 8-bit codes left-justified (times 256), 12- and 14-bit codes as they are.
    Volts = gain x code - offset with gain ``LSB`` (``LSB / 256`` for 8 bits) and
    offset ``-centre``.
    """

    bits: int

    @property
    def enob(self) -> float:
        """Effective number of bits."""
        return SCOPE_ENOB[self.bits]

    @property
    def lsb(self) -> float:
        """Volts per ADC step."""
        return SCOPE_VOLTS_PER_DIV * SCOPE_DIVISIONS / 2**self.bits

    @property
    def shift(self) -> int:
        """Left shift of the codes in int16: 8 for 8-bit codes, else 0."""
        return 8 if self.bits == 8 else 0

    @property
    def gain(self) -> float:
        """Volts per stored int16 count."""
        return self.lsb / 2**self.shift

    @property
    def noise_lsb(self) -> float:
        """Standard deviation of the ADC's own noise, in LSB."""
        return math.sqrt(max(0.0, 4.0 ** (self.bits - self.enob) - 1.0) / 12.0)

    @staticmethod
    def centre(signal: str, channel: int) -> float:
        """The volts at the middle of the screen for ``channel``."""
        return 0.05 * channel + (0.1 if signal == "pulse" else 0.0)

    def noise(self, seed: int, c: int, t: int, s: int, start: int, n: int) -> npt.NDArray[Any]:
        """The filtered unit-variance noise of samples ``start : start + n``."""
        tile = SCOPE_NOISE_TILE
        first = (start - 1) // tile
        last = (start + n) // tile
        white = np.empty((last - first + 1) * tile)
        for j, k in enumerate(range(first, last + 1)):
            gen = np.random.Generator(
                np.random.Philox(np.random.SeedSequence([seed, 6, c, t, s, k + 1]))
            )
            gen.standard_normal(out=white[j * tile : (j + 1) * tile])
        i0 = start - first * tile
        a, b = _SCOPE_FIR
        w = white[i0 - 1 : i0 + n + 1]
        out = np.add(w[:-2], w[2:])
        out *= a / b
        out += w[1:-1]
        out *= b
        return out

    def digitise(
        self,
        signal: str,
        seed: int,
        c: int,
        t: int,
        s: int,
        start: int,
        volts: npt.NDArray[np.float64],
        out: npt.NDArray[np.int16],
    ) -> None:
        """The stored int16 codes of ``volts`` (samples ``start...`` of segment (c, t, s));
        ``volts`` is overwritten."""
        x = volts  # a fresh array of the caller's, worked on in place
        x -= self.centre(signal, c)
        x /= self.lsb
        noise = self.noise(seed, c, t, s, start, volts.size)
        noise *= self.noise_lsb
        x += noise
        np.rint(x, out=x)
        np.clip(x, -(2 ** (self.bits - 1)), 2 ** (self.bits - 1) - 1, out=x)
        if self.shift:
            x *= 2**self.shift
        out[...] = x
