"""A store opened for reading: its metadata, windows at the right level, raw samples.

:func:`open` takes a local path, an ``http(s)://`` URL or an ``s3://`` address and returns
a :class:`Recording`. :meth:`Recording.window` picks, for a span of a segment, the
coarsest level that still has ``max_points`` bins over the span (the rule of
``docs/format.md``, "Choosing a level for a window"), reads only the chunks that cover
the span (zarr fetches them concurrently) and returns the stored bins unchanged.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.reader._location import Location, parse_location

__all__ = ["Level", "Recording", "Window", "open"]

log = logging.getLogger(__name__)

#: The format version this reader is written for.
READS_FORMAT = 1
#: Points a window holds at least, unless the span has fewer samples.
DEFAULT_MAX_POINTS = 2000
#: Relative tolerance when a time falls on a sample: 1e-6 of a sample interval.
_ON_SAMPLE = 1e-6


@dataclass(frozen=True)
class Level:
    """One overview level: ``path`` (``"overview/k"``), ``bin`` samples per bin, ``bins``
    bins per segment and ``chunk`` bins per chunk."""

    path: str
    bin: int
    bins: int
    chunk: int

    def as_dict(self) -> dict[str, Any]:
        """The level as the ``zoomingonline`` attribute lists it, with its chunk length."""
        return {"path": self.path, "bin": self.bin, "bins": self.bins, "chunk": self.chunk}


@dataclass(frozen=True)
class Window:
    """A view of samples ``first`` to ``stop - 1`` of one segment, as stored.

    Attributes
    ----------
    level : str
        ``"overview/k"``, or ``"raw"`` for samples.
    bin : int
        Samples per bin (1 for raw). The last bin of a segment may hold fewer.
    first, stop : int
        The samples the bins cover: from ``first`` (the first sample of the first bin) up
        to, not including, ``stop``.
    min, max : numpy.ndarray
        The stored minima and maxima, in the store's dtype (ADC counts); for raw both are
        the samples themselves.
    time : numpy.ndarray
        Seconds from the segment's first sample to each bin's first sample (float64).
    time_offset : float
        ``horiz_offset`` of the segment (0 when the store has none): add it to ``time``
        for the oscilloscope's own time axis.
    gain, offset : float
        ``vertical_gains[c][t]`` and ``vertical_offsets[c][t]``: volts = gain x counts -
        offset.
    channel, trc, segment : int
        Which segment.
    n_samples : int
        Samples in the whole segment.
    horiz_interval : float
        Seconds between two samples.
    chunks : int
        Chunks of the level that were read.
    """

    level: str
    bin: int
    first: int
    stop: int
    min: npt.NDArray[Any]
    max: npt.NDArray[Any]
    time: npt.NDArray[np.float64]
    time_offset: float
    gain: float
    offset: float
    channel: int
    trc: int
    segment: int
    n_samples: int
    horiz_interval: float
    chunks: int

    def __len__(self) -> int:
        return int(self.min.shape[0])

    @property
    def is_raw(self) -> bool:
        """Whether the window holds samples rather than min/max bins."""
        return self.level == "raw"

    @property
    def samples(self) -> npt.NDArray[Any]:
        """The samples, in counts (raw windows only).

        Raises
        ------
        ZoomingOnlineError
            If the window holds bins of an overview level.
        """
        if not self.is_raw:
            raise ZoomingOnlineError(
                f"this window holds bins of {self.level}, not samples; use min and max"
            )
        return self.min

    @property
    def t0(self) -> float:
        """Seconds from the segment's first sample to the window's first sample."""
        return self.first * self.horiz_interval

    @property
    def t1(self) -> float:
        """Seconds from the segment's first sample to just past the window's last sample."""
        return self.stop * self.horiz_interval

    def to_volts(self, counts: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Counts of this window's channel and trc file in volts (float64)."""
        return self.gain * np.asarray(counts, dtype=np.float64) - self.offset

    def volts(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The lower and upper edge of each bin in volts (float64).

        A negative gain turns the minimum into the upper edge; the edges are returned in
        the right order either way. For raw windows both are the samples in volts.
        """
        lo = self.to_volts(self.min)
        hi = self.to_volts(self.max)
        if self.gain < 0:
            lo, hi = hi, lo
        return lo, hi


def _plan_levels(
    n: int, counts: Sequence[int], chunks: Sequence[int], factor: int | None
) -> list[Level]:
    """Bins of levels known only by their counts (stores without the attribute).

    Several bin sizes can give the same count; the writers' bins are ``min_bin`` times
    powers of ``factor``, so the one chosen is consistent across levels, a power of two
    when one fits, else the smallest.
    """
    n_levels = len(counts)
    if factor is None:
        factor = (
            max(2, round((counts[-1] / counts[0]) ** (1 / (n_levels - 1)))) if n_levels > 1 else 4
        )
    lo, hi = 1, n
    for k, c in enumerate(counts):
        scale = factor ** (n_levels - 1 - k)
        # ceil(n / b) == c  <=>  n / c <= b < n / (c - 1)
        b_lo = -(-n // c)
        b_hi = (n - 1) // (c - 1) if c > 1 else n * 2
        lo = max(lo, -(-b_lo // scale))
        hi = min(hi, b_hi // scale)
    if lo > hi:
        raise ZoomingOnlineError(
            f"the overview levels' lengths {list(counts)} fit no pyramid of {n} samples"
        )
    powers = [1 << p for p in range(64) if lo <= (1 << p) <= hi]
    m = powers[0] if powers else lo
    return [
        Level(f"overview/{k}", m * factor ** (n_levels - 1 - k), c, ch)
        for k, (c, ch) in enumerate(zip(counts, chunks, strict=True))
    ]


def _segment_value(value: Any, c: int, t: int, s: int) -> float:
    """``horiz_offset`` of one segment, from any of its three forms."""
    if value is None:
        return 0.0
    if isinstance(value, int | float):
        return float(value)
    try:
        v = value[c][t]
        if isinstance(v, list):
            v = v[s]
        return float(v)
    except (IndexError, TypeError, ValueError):
        log.warning("horiz_offset has an unexpected form; times start at 0")
        return 0.0


class Recording:
    """A store opened for reading (see :func:`open`).

    Attributes
    ----------
    location : Location
        Where the store is.
    shape : tuple of int
        ``(channels, trcs, segments, samples)``.
    dtype : numpy.dtype
        The samples' dtype.
    raw_chunk : int
        Samples per raw chunk.
    levels : list of Level
        The overview levels, coarsest first.
    attributes : dict
        The root attributes, as stored.
    horiz_interval : float
        Seconds between two samples.
    gains, offsets : numpy.ndarray
        ``(channels, trcs)`` float64: volts = gain x counts - offset.
    """

    def __init__(self, location: Location) -> None:
        import zarr

        self.location = location
        try:
            group = zarr.open_group(location.store, mode="r", zarr_format=2)
            raw = group["raw"]
        except (FileNotFoundError, KeyError, ValueError, TypeError) as exc:
            raise ZoomingOnlineError(
                f"{location.text} is not a zoomingonline store: {_reason(exc, 'no raw array')}"
            ) from None
        except Exception as exc:
            if not is_read_error(exc):
                raise
            raise ZoomingOnlineError(f"cannot read {location.text}: {one_line(exc)}") from None
        if not isinstance(raw, zarr.Array) or raw.ndim != 4:
            raise ZoomingOnlineError(
                f"{location.text}: raw is not a 4-D array (channels, trcs, segments, samples)"
            )
        self.group = group
        self.raw = raw
        self.attributes: dict[str, Any] = dict(group.attrs.asdict())
        self.shape: tuple[int, int, int, int] = tuple(int(x) for x in raw.shape)  # type: ignore[assignment]
        self.dtype: np.dtype[Any] = np.dtype(raw.dtype)
        self.raw_chunk = int(raw.chunks[3])
        own = self.attributes.get("zoomingonline")
        self.own: dict[str, Any] = own if isinstance(own, dict) else {}
        version = self.own.get("format_version")
        if self.own and version != READS_FORMAT:
            log.warning(
                "%s has format version %r; this reader knows version %d and may misread it",
                location.text,
                version,
                READS_FORMAT,
            )
        self._arrays: dict[str, Any] = {}
        self.levels = self._find_levels()
        h = self.attributes.get("horiz_interval")
        if not isinstance(h, int | float) or isinstance(h, bool) or not h > 0:
            log.warning("%s has no valid horiz_interval; 1 s per sample assumed", location.text)
            h = 1.0
        self.horiz_interval = float(h)
        self.gains = self._per_channel_trc("vertical_gains", 1.0)
        self.offsets = self._per_channel_trc("vertical_offsets", 0.0)

    def _per_channel_trc(self, name: str, default: float) -> npt.NDArray[np.float64]:
        shape = self.shape[:2]
        value = self.attributes.get(name)
        if value is None:
            return np.full(shape, default)
        try:
            return np.broadcast_to(np.asarray(value, dtype=np.float64), shape).copy()
        except (ValueError, TypeError):
            log.warning("%s of %s has no (channels, trcs) form; %g used", name, self, default)
            return np.full(shape, default)

    def _array(self, path: str) -> Any:
        arr = self._arrays.get(path)
        if arr is None:
            arr = self.group[path]
            self._arrays[path] = arr
        return arr

    def _find_levels(self) -> list[Level]:
        pyramid = self.own.get("pyramid")
        listed = pyramid.get("levels") if isinstance(pyramid, dict) else None
        if isinstance(listed, list) and listed:
            levels = []
            for entry in listed:
                try:
                    path, b, n = str(entry["path"]), int(entry["bin"]), int(entry["bins"])
                    arr = self._array(path)
                except (KeyError, TypeError, ValueError, FileNotFoundError):
                    raise ZoomingOnlineError(
                        f"{self.location.text}: level {entry!r} of the attributes is not in"
                        " the store"
                    ) from None
                levels.append(Level(path, b, n, int(arr.chunks[-1])))
            return levels
        # No attribute: probe overview/0, 1, ... and infer the bins from the lengths.
        counts, chunks = [], []
        for k in range(64):
            try:
                arr = self._array(f"overview/{k}")
            except (KeyError, FileNotFoundError):
                break
            counts.append(int(arr.shape[-1]))
            chunks.append(int(arr.chunks[-1]))
        if not counts:
            return []
        factor = pyramid.get("factor") if isinstance(pyramid, dict) else None
        return _plan_levels(self.shape[3], counts, chunks, factor)

    # -- what the recording is -------------------------------------------------------------

    def __repr__(self) -> str:
        return f"<Recording {self.location.text} {self.shape} {self.dtype}>"

    @property
    def channels(self) -> int:
        """Number of channels."""
        return self.shape[0]

    @property
    def trcs(self) -> int:
        """Number of trc files (captures) per channel."""
        return self.shape[1]

    @property
    def segments(self) -> int:
        """Number of segments per trc file."""
        return self.shape[2]

    @property
    def n_samples(self) -> int:
        """Samples per segment."""
        return self.shape[3]

    @property
    def duration(self) -> float:
        """Seconds a segment spans: samples x horiz_interval."""
        return self.n_samples * self.horiz_interval

    @property
    def horiz_offset(self) -> Any:
        """``horiz_offset`` as stored (a number, [C][T] or [C][T][S]), or None."""
        return self.attributes.get("horiz_offset")

    def time_offset(self, channel: int, trc: int, segment: int) -> float:
        """Time of a segment's first sample (``horiz_offset``; 0 when the store has none)."""
        self._check_segment(channel, trc, segment)
        return _segment_value(self.horiz_offset, channel, trc, segment)

    def gain(self, channel: int, trc: int) -> float:
        """Volts per count of a channel and trc file."""
        return float(self.gains[channel, trc])

    def offset(self, channel: int, trc: int) -> float:
        """Volt offset of a channel and trc file (volts = gain x counts - offset)."""
        return float(self.offsets[channel, trc])

    def level_for(self, span: int, max_points: int = DEFAULT_MAX_POINTS) -> Level | None:
        """The coarsest level with at least ``max_points`` bins over ``span`` samples, or
        None when even the finest level has fewer (then raw samples are read)."""
        if max_points < 1:
            raise ZoomingOnlineError(f"max_points must be at least 1, not {max_points}")
        for level in self.levels:
            if level.bin * max_points <= span:
                return level
        return None

    # -- reading ---------------------------------------------------------------------------

    def _check_segment(self, channel: int, trc: int, segment: int) -> None:
        for name, value, n in (
            ("channel", channel, self.shape[0]),
            ("trc", trc, self.shape[1]),
            ("segment", segment, self.shape[2]),
        ):
            if not isinstance(value, int | np.integer) or not 0 <= value < n:
                raise ZoomingOnlineError(f"{name} must be 0 to {n - 1}, not {value!r}")

    def _index(self, t: float, rounding: Any) -> int:
        x = float(t) / self.horiz_interval
        if not math.isfinite(x):
            raise ZoomingOnlineError(f"time {t!r} is not a finite number of seconds")
        near = round(x)
        i = near if abs(x - near) <= _ON_SAMPLE else rounding(x)
        return min(max(int(i), 0), self.n_samples)

    def span(self, t0: float | None = None, t1: float | None = None) -> tuple[int, int]:
        """The samples ``[a, e)`` whose times fall in ``[t0, t1)`` (seconds from a segment's
        first sample; the whole segment by default), at least one sample."""
        a = 0 if t0 is None else self._index(t0, math.ceil)
        e = self.n_samples if t1 is None else self._index(t1, math.ceil)
        if t0 is not None and t1 is not None and not t1 > t0:
            raise ZoomingOnlineError(f"t1 ({t1!r} s) must be after t0 ({t0!r} s)")
        if a >= self.n_samples:
            raise ZoomingOnlineError(
                f"t0 = {t0!r} s is past the end of the segment ({self.duration:g} s)"
            )
        if e <= a:
            if t1 is not None and float(t1) <= 0:
                raise ZoomingOnlineError(f"t1 = {t1!r} s is before the segment's first sample")
            e = a + 1
        return a, e

    def window(
        self,
        channel: int = 0,
        trc: int = 0,
        segment: int = 0,
        t0: float | None = None,
        t1: float | None = None,
        max_points: int = DEFAULT_MAX_POINTS,
    ) -> Window:
        """The samples of a segment between ``t0`` and ``t1``, at the right level.

        Parameters
        ----------
        channel, trc, segment : int
            Which segment.
        t0, t1 : float, optional
            Seconds from the segment's first sample; the samples at ``t0`` and up to, not
            including, ``t1`` (the whole segment by default).
        max_points : int
            The window holds at least this many bins: the coarsest level that has that
            many over the span is read, or the raw samples when even the finest has fewer.

        Returns
        -------
        Window
            The stored bins (or samples) covering the span, unchanged. Bins reach at most
            one bin beyond each end of the span.

        Raises
        ------
        ZoomingOnlineError
            For a segment that does not exist, an empty span or ``max_points < 1``.
        """
        self._check_segment(channel, trc, segment)
        a, e = self.span(t0, t1)
        level = self.level_for(e - a, max_points)
        if level is None:
            return self._raw_window(channel, trc, segment, a, e)
        b = level.bin
        i0, i1 = a // b, min(-(-e // b), level.bins)
        data = self._read(
            self._array(level.path), (channel, trc, segment, slice(None), slice(i0, i1))
        )
        n = self.n_samples
        return Window(
            level=level.path,
            bin=b,
            first=i0 * b,
            stop=min(i1 * b, n),
            min=data[0],
            max=data[1],
            time=(i0 * b + np.arange(i1 - i0, dtype=np.float64) * b) * self.horiz_interval,
            time_offset=_segment_value(self.horiz_offset, channel, trc, segment),
            gain=self.gain(channel, trc),
            offset=self.offset(channel, trc),
            channel=channel,
            trc=trc,
            segment=segment,
            n_samples=n,
            horiz_interval=self.horiz_interval,
            chunks=(i1 - 1) // level.chunk - i0 // level.chunk + 1,
        )

    def samples(self, channel: int, trc: int, segment: int, start: int, stop: int) -> Window:
        """Raw samples ``start`` to ``stop - 1`` of a segment, as a raw :class:`Window`.

        ``window.samples`` holds the counts, ``window.to_volts(window.samples)`` or
        ``window.volts()[0]`` the volts, ``window.time`` the seconds of each sample.

        Raises
        ------
        ZoomingOnlineError
            For a segment that does not exist or indices outside ``0 <= start < stop <= N``.
        """
        self._check_segment(channel, trc, segment)
        n = self.n_samples
        if not (0 <= start < stop <= n):
            raise ZoomingOnlineError(
                f"samples {start} to {stop} are not within the segment's 0 to {n}"
            )
        return self._raw_window(channel, trc, segment, int(start), int(stop))

    def _raw_window(self, c: int, t: int, s: int, a: int, e: int) -> Window:
        data = self._read(self.raw, (c, t, s, slice(a, e)))
        r = self.raw_chunk
        return Window(
            level="raw",
            bin=1,
            first=a,
            stop=e,
            min=data,
            max=data,
            time=np.arange(a, e, dtype=np.float64) * self.horiz_interval,
            time_offset=_segment_value(self.horiz_offset, c, t, s),
            gain=self.gain(c, t),
            offset=self.offset(c, t),
            channel=c,
            trc=t,
            segment=s,
            n_samples=self.n_samples,
            horiz_interval=self.horiz_interval,
            chunks=(e - 1) // r - a // r + 1,
        )

    def _read(self, array: Any, selection: tuple[Any, ...]) -> npt.NDArray[Any]:
        try:
            return np.asarray(array[selection])
        except Exception as exc:
            if not is_read_error(exc):
                raise
            raise ZoomingOnlineError(f"cannot read {self.location.text}: {one_line(exc)}") from None

    # -- description -----------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """What ``zoomingonline info --json`` prints: shape, dtype, chunks, codec, levels
        (coarsest first), size, attributes and the viewer link."""
        from zoomingonline.reader.info import describe

        return describe(self)


def is_read_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a failed read (a file system or an obstore HTTP/S3 error)."""
    return isinstance(exc, OSError) or type(exc).__module__.startswith("obstore")


def one_line(exc: BaseException, limit: int = 240) -> str:
    """The first line of an error's message, shortened (obstore's span many lines)."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _reason(exc: BaseException, default: str) -> str:
    text = str(exc).strip().strip("'\"")
    return text or default


def open(
    location: str | os.PathLike[str], *, env_file: str | os.PathLike[str] | None = None
) -> Recording:
    """Open a store for reading.

    Parameters
    ----------
    location : str or path-like
        A local folder (``run42.zarr``), an ``http(s)://`` URL (one ``zoomingonline serve``
        serves, a public bucket) or ``s3://BUCKET/PREFIX/NAME.zarr``, whose credentials
        and endpoint come from the environment and ``.env`` as ``upload`` takes them.
    env_file : path-like, optional
        The ``.env`` file for S3 (default ``.env`` in the current folder, if any).

    Returns
    -------
    Recording

    Raises
    ------
    ZoomingOnlineError
        If the location cannot be read or holds no store.

    Examples
    --------
    >>> rec = zoomingonline.open("run42.zarr")  # doctest: +SKIP
    >>> w = rec.window(0, 0, 0, t0=0.0, t1=1e-3)  # doctest: +SKIP
    >>> lo, hi = w.volts()  # doctest: +SKIP
    """
    return Recording(parse_location(location, env_file=env_file))
