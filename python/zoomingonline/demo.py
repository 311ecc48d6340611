"""The demo: one call from nothing to a viewable store."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from zoomingonline.errors import ZoomingOnlineError

if TYPE_CHECKING:
    from zoomingonline.convert import ConvertSummary

__all__ = ["run_demo", "write_demo_hdf5"]


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
    existing demo file at ``path`` (one that zoomingonline wrote) is replaced.
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


def run_demo(
    directory: str | os.PathLike[str],
    *,
    samples: int = 10_000_000,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ConvertSummary:
    """Write ``directory/demo.h5`` and convert it to ``directory/demo.zarr``.

    Parameters
    ----------
    directory : path-like
        Created if missing.
    samples : int
        Samples per segment (2 channels x 1 trc x 3 segments).
    overwrite : bool
        Replace a demo store left by an earlier run.
    progress : callable, optional
        ``progress(done, total)`` of the conversion, in samples.

    Raises
    ------
    ZoomingOnlineError
        If the folder cannot be used or a step fails.
    """
    from zoomingonline.convert import convert

    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ZoomingOnlineError(f"cannot use {folder}: {exc.strerror or exc}") from None
    h5 = write_demo_hdf5(folder / "demo.h5", samples=samples)
    return convert(h5, folder / "demo.zarr", overwrite=overwrite, progress=progress)
