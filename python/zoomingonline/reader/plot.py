"""A picture of a window: the min/max band, or the raw trace when zoomed in far enough.

Drawn with matplotlib's Agg canvas (no display, no global backend switched), in the
optional extra ``plot``. Times are in seconds from the segment's first sample and volts,
each in a unit that keeps the tick labels short.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.reader.recording import DEFAULT_MAX_POINTS, Recording, Window

__all__ = ["BAND_COLOR", "TRACE_COLOR", "plot_window", "unit_for"]

#: Colours of the band and the raw trace (the tests look for them in the pixels).
BAND_COLOR = "#1f77b4"
TRACE_COLOR = "#d62728"
#: A window of at most this many samples is drawn with its raw trace over the band.
RAW_TRACE_SAMPLES = 20_000

_TIME_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"), (1e-12, "ps"))
_VOLT_UNITS = ((1.0, "V"), (1e-3, "mV"), (1e-6, "µV"), (1e-9, "nV"))


def unit_for(magnitude: float, units: tuple[tuple[float, str], ...]) -> tuple[float, str]:
    """The largest unit in which ``magnitude`` is at least 1 (the smallest unit for 0)."""
    for scale, name in units:
        if abs(magnitude) >= scale:
            return scale, name
    return units[-1]


def _matplotlib() -> tuple[Any, Any]:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ZoomingOnlineError(
            "plotting needs matplotlib: pip install 'zoomingonline[plot]'"
        ) from None
    return Figure, FigureCanvasAgg


def draw_window(rec: Recording, w: Window, raw: Window | None, path: Path, size: Any) -> None:
    """Draw ``w`` (and the samples ``raw`` over it) into the PNG ``path``."""
    figure_cls, canvas_cls = _matplotlib()
    fig = figure_cls(figsize=size, dpi=100)
    canvas_cls(fig)
    ax = fig.add_subplot()
    span = (w.stop - w.first) * w.horiz_interval
    t_scale, t_unit = unit_for(span, _TIME_UNITS)
    lo, hi = w.volts()
    finite = np.concatenate([lo[np.isfinite(lo)], hi[np.isfinite(hi)]])
    peak = float(np.abs(finite).max()) if finite.size else 0.0
    v_scale, v_unit = unit_for(peak, _VOLT_UNITS)
    if w.is_raw:
        ax.plot(w.time / t_scale, lo / v_scale, color=TRACE_COLOR, linewidth=1.0)
        what = "raw samples"
    else:
        edges = np.append(w.time, w.stop * w.horiz_interval) / t_scale
        ax.fill_between(
            edges,
            np.append(lo, lo[-1]) / v_scale,
            np.append(hi, hi[-1]) / v_scale,
            step="post",
            color=BAND_COLOR,
            linewidth=0,
        )
        what = f"{w.level}, min/max of {w.bin} samples"
        if raw is not None:
            ax.plot(raw.time / t_scale, raw.volts()[0] / v_scale, color=TRACE_COLOR, lw=0.8)
            what += " and raw samples"
    ax.set_xlim(w.first * w.horiz_interval / t_scale, w.stop * w.horiz_interval / t_scale)
    ax.set_xlabel(f"time from the segment's first sample ({t_unit})")
    ax.set_ylabel(f"voltage ({v_unit})")
    ax.grid(alpha=0.3)
    ax.set_title(
        f"{rec.location.name}: channel {w.channel}, trc {w.trc}, segment {w.segment}\n"
        f"{w.first * w.horiz_interval / t_scale:g} to {w.stop * w.horiz_interval / t_scale:g}"
        f" {t_unit} ({what})",
        fontsize=10,
    )
    fig.tight_layout()
    try:
        fig.savefig(path, format="png")
    except OSError as exc:
        raise ZoomingOnlineError(f"cannot write {path}: {exc.strerror or exc}") from None


def plot_window(
    rec: Recording,
    output: str | os.PathLike[str],
    channel: int = 0,
    trc: int = 0,
    segment: int = 0,
    t0: float | None = None,
    t1: float | None = None,
    *,
    max_points: int = DEFAULT_MAX_POINTS,
    size: tuple[float, float] = (10.0, 4.0),
) -> Window:
    """Write a PNG of a window of ``rec`` to ``output``.

    The band spans each bin's minimum to maximum; when the span holds at most
    :data:`RAW_TRACE_SAMPLES` samples the raw trace is drawn over it (or alone, when the
    window itself is raw). The title names the store and the selection.

    Returns
    -------
    Window
        The window drawn.

    Raises
    ------
    ZoomingOnlineError
        If matplotlib is missing, the selection does not exist or the file cannot be
        written.
    """
    _matplotlib()
    w = rec.window(channel, trc, segment, t0, t1, max_points=max_points)
    raw = None
    if not w.is_raw:
        a, e = rec.span(t0, t1)
        if e - a <= RAW_TRACE_SAMPLES:
            raw = rec.samples(channel, trc, segment, a, e)
    draw_window(rec, w, raw, Path(output), size)
    return w
