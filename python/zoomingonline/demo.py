"""A small synthetic recording for the demo: one command from nothing to a viewable store."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from zoomingonline.errors import ZoomingOnlineError

__all__ = ["write_demo_hdf5"]

HORIZ_INTERVAL = 2e-9
GAIN = 1e-4
OFFSET = -0.2


def _segment(rng: np.random.Generator, n: int, channel: int, gain: float) -> np.ndarray:
    t = np.arange(n) * HORIZ_INTERVAL
    duration = n * HORIZ_INTERVAL
    # A few periods of a carrier over the segment, a decaying burst in the middle and noise.
    volts = 0.1 * np.sin(2 * np.pi * (5 / duration) * t + rng.uniform(0, 2 * np.pi))
    t0 = duration * rng.uniform(0.4, 0.6)
    after = t >= t0
    tau = duration / 50
    volts[after] += (
        0.5 * np.exp(-(t[after] - t0) / tau) * np.sin(2 * np.pi * (40 / duration) * (t[after] - t0))
    )
    volts += rng.normal(0.0, 0.01, n) + 0.05 * channel
    # Three single-sample glitches, one of them in the very last samples.
    for where in (*rng.integers(0, n, 2), n - 1 - int(rng.integers(0, min(n, 10)))):
        volts[where] += rng.choice((-1.0, 1.0)) * 1.5
    counts = np.round((volts + OFFSET) / gain)
    return np.clip(counts, -32768, 32767).astype(np.int16)


def write_demo_hdf5(
    path: str | os.PathLike[str],
    *,
    channels: int = 2,
    trcs: int = 1,
    segments: int = 3,
    samples: int = 10_000_000,
    seed: int = 0,
) -> Path:
    """Write a synthetic recording in the layout of the users' HDF5 files.

    The file holds ``samples`` (int16, shape (channels, trcs, segments, samples)),
    ``vertical_gain`` and ``vertical_offset`` (channels, trcs) and the root attribute
    ``horiz_interval``. Segments are written one at a time.
    """
    import h5py

    if min(channels, trcs, segments, samples) < 1:
        raise ZoomingOnlineError("demo sizes must be positive")
    out = Path(path)
    rng = np.random.default_rng(seed)
    gains = GAIN * (1 + rng.uniform(-0.02, 0.02, (channels, trcs)))
    tmp = out.with_name(f".{out.name}.partial")
    try:
        with h5py.File(tmp, "w") as f:
            dset = f.create_dataset(
                "samples",
                shape=(channels, trcs, segments, samples),
                dtype=np.int16,
                chunks=(1, 1, 1, min(samples, 1 << 20)),
            )
            for c in range(channels):
                for t in range(trcs):
                    for s in range(segments):
                        dset[c, t, s] = _segment(rng, samples, c, gains[c, t])
            f["vertical_gain"] = gains
            f["vertical_offset"] = np.full((channels, trcs), OFFSET)
            f.attrs["horiz_interval"] = HORIZ_INTERVAL
            f.attrs["description"] = "zoomingonline demo recording"
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ZoomingOnlineError(f"cannot write {out}: {exc}") from None
    return out
