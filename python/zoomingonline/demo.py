"""A small synthetic recording for the demo: one command from nothing to a viewable store."""

from __future__ import annotations

import os
from pathlib import Path

from zoomingonline.errors import ZoomingOnlineError

__all__ = ["write_demo_hdf5"]


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
    ``vertical_gain`` and ``vertical_offset`` (channels, trcs), ``horiz_offset`` and the
    root attribute ``horiz_interval``: the sine recording of
    :func:`zoomingonline.generate.generate` with ``seed``, streamed in blocks. An
    existing file at ``path`` is replaced.
    """
    from zoomingonline.generate import generate

    if min(channels, trcs, segments, samples) < 1:
        raise ZoomingOnlineError("demo sizes must be positive")
    out = Path(path)
    generate(
        out,
        channels=channels,
        trcs=trcs,
        segments=segments,
        samples=samples,
        signal="sine",
        seed=seed,
        overwrite=True,
        attrs={"description": "zoomingonline demo recording"},
    )
    return out
