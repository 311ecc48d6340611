"""Writing ``.trc`` files (``generate --format trc`` and the tests), streaming the codes."""

from __future__ import annotations

import datetime as _dt
import os
import struct
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from zoomingonline import interrupts
from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.outputs import AtomicOutput
from zoomingonline.trc.header import TEMPLATE, WAVEDESC_SIZE

__all__ = ["Fill", "descriptor", "write_run", "write_trc"]

#: ``read_into(c, t, s, start, out)`` fills the int16 ``out`` with codes of segment (c, t, s).
ReadInto = Callable[[int, int, int, int, npt.NDArray[np.int16]], None]

# --------------------------------------------------------------------------------------------
# Writing (generate --format trc and the tests)
# --------------------------------------------------------------------------------------------

#: ``fill(s, start, out)`` fills ``out`` with the codes of segment s from ``start``.
Fill = Callable[[int, int, npt.NDArray[Any]], None]


def descriptor(
    *,
    segments: int,
    samples: int,
    dtype: npt.DTypeLike = np.int16,
    byte_order: str = "<",
    vertical_gain: float = 1e-4,
    vertical_offset: float = 0.0,
    horiz_interval: float = 2e-9,
    horiz_offset: float = 0.0,
    nominal_bits: int = 8,
    instrument: str = "LECROYWAVEPRO",
    vertical_unit: str = "V",
    horizontal_unit: str = "S",
    acquisition_time: _dt.datetime | None = None,
    user_text: bytes = b"",
    wave_source: int = 0,
    record_type: int = 0,
    prefix: bool = True,
) -> bytes:
    """The bytes of a ``#9`` prefix (optional), a WAVEDESC, USER_TEXT and TRIGTIME header
    for a file without RES blocks; WAVE_ARRAY_1 follows. Trigger times and offsets are
    left as zeros: :func:`write_trc` fills them in."""
    order = byte_order
    kind = np.dtype(dtype)
    comm_type = 0 if kind.itemsize == 1 else 1
    trig = 16 * segments if segments > 1 else 0
    wave1 = segments * samples * kind.itemsize
    d = bytearray(WAVEDESC_SIZE)
    d[0:8] = b"WAVEDESC"
    d[16 : 16 + len(TEMPLATE)] = TEMPLATE.encode()

    def put(fmt: str, off: int, value: Any) -> None:
        struct.pack_into(order + fmt, d, off, value)

    put("h", 32, comm_type)
    put("h", 34, 1 if order == "<" else 0)
    put("i", 36, WAVEDESC_SIZE)
    put("i", 40, len(user_text))
    put("i", 48, trig)
    put("i", 60, wave1)
    name = instrument.encode("latin-1")[:16]
    d[76 : 76 + len(name)] = name
    put("i", 116, segments * samples)
    put("i", 120, samples)
    put("i", 124, 0)
    put("i", 128, samples - 1)
    put("i", 136, 1)
    put("i", 140, segments * samples)
    put("i", 144, segments)
    put("f", 156, vertical_gain)
    put("f", 160, vertical_offset)
    put("h", 172, nominal_bits)
    put("f", 176, horiz_interval)
    put("d", 180, horiz_offset)
    for off, unit in ((196, vertical_unit), (244, horizontal_unit)):
        raw = unit.encode("latin-1")[:47]
        d[off : off + len(raw)] = raw
    stamp = acquisition_time or _dt.datetime(2026, 1, 1)
    secs = stamp.second + stamp.microsecond / 1e6
    struct.pack_into(
        order + "dBBBBhh",
        d,
        296,
        secs,
        stamp.minute,
        stamp.hour,
        stamp.day,
        stamp.month,
        stamp.year,
        0,
    )
    put("h", 316, record_type)
    put("h", 322, 1)
    put("h", 344, wave_source)
    body = bytes(d) + user_text
    total = len(body) + trig + wave1
    head = f"#9{total:09d}".encode() if prefix and total < 10**9 else b""
    return head + body + bytes(trig)


def write_trc(
    path: str | os.PathLike[str],
    *,
    segments: int,
    samples: int,
    fill: Fill,
    dtype: npt.DTypeLike = np.int16,
    byte_order: str = "<",
    trigger_times: Sequence[float] | None = None,
    trigger_offsets: Sequence[float] | None = None,
    block: int = 1 << 22,
    check: Callable[[], None] | None = None,
    **desc: Any,
) -> int:
    """Write one ``.trc`` file, streaming the codes block by block; return its size.

    Parameters
    ----------
    path : path-like
        The file to write (replaced if it exists: callers choose a temporary name).
    segments, samples : int
        SUBARRAY_COUNT and samples per segment (sequence mode when ``segments > 1``).
    fill : callable
        ``fill(s, start, out)`` fills ``out`` (native byte order, ``dtype``) with codes.
    dtype : dtype
        int8 or int16.
    byte_order : str
        ``"<"`` or ``">"``: COMM_ORDER and the byte order of every field and code.
    trigger_times, trigger_offsets : sequence of float, optional
        Per segment, for the TRIGTIME block of a sequence (zeros and ``horiz_offset``
        by default).
    block : int
        Samples per block.
    check : callable, optional
        Called between blocks (e.g. :func:`zoomingonline.interrupts.check`).
    **desc
        Descriptor fields for :func:`descriptor` (gain, offset, interval, names...).
    """
    kind = np.dtype(dtype)
    if kind not in (np.dtype(np.int8), np.dtype(np.int16)):
        raise ZoomingOnlineError(f".trc files hold int8 or int16 codes, not {kind}")
    head = bytearray(
        descriptor(segments=segments, samples=samples, dtype=kind, byte_order=byte_order, **desc)
    )
    if segments > 1:
        times = np.zeros(segments) if trigger_times is None else np.asarray(trigger_times, float)
        h_off = float(desc.get("horiz_offset", 0.0))
        offs = (
            np.full(segments, h_off)
            if trigger_offsets is None
            else np.asarray(trigger_offsets, float)
        )
        pairs = np.empty((segments, 2), np.dtype(byte_order + "f8"))
        pairs[:, 0] = times
        pairs[:, 1] = offs
        head[len(head) - 16 * segments :] = pairs.tobytes()
    disk = kind.newbyteorder(byte_order)
    buf = np.empty(min(block, samples), kind)
    with Path(path).open("wb") as f:
        f.write(head)
        for s in range(segments):
            for start in range(0, samples, buf.size):
                if check is not None:
                    check()
                out = buf[: min(buf.size, samples - start)]
                fill(s, start, out)
                f.write(out.astype(disk, copy=False).tobytes() if disk != kind else out.tobytes())
        return f.tell()


def write_run(
    dst: str | os.PathLike[str],
    shape: tuple[int, int, int, int],
    read_into: ReadInto,
    *,
    dtype: npt.DTypeLike,
    byte_order: str,
    gains: npt.NDArray[np.float64],
    offsets: npt.NDArray[np.float64],
    horiz_interval: float,
    nominal_bits: int,
    user_text: str = "",
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, list[Path]]:
    """A run folder ``dst`` of ``.trc`` files, one per (channel, trc), built under a
    temporary name and renamed when complete; returns the bytes written and the files.

    The files are named as LeCroy names them, ``C<channel>--<name>--<number>.trc``, and
    hold ``shape[2]`` segments each (sequence mode when more than one), 1 ms apart, each
    starting 10 % of its length before its trigger. ``read_into`` gives int16 codes; for
    int8 files they are 8-bit codes left-justified in int16 (the top byte is written) and
    the gains are per int16 count (the files' are 256 times larger).
    """
    target = Path(dst)
    kind = np.dtype(dtype)
    cn, tn, sn, n = shape
    output = AtomicOutput(target, "store", overwrite=overwrite)
    tmp = output.begin()
    title = target.name.split(".")[0] or "run"
    text = user_text.encode("latin-1", "replace")
    narrow = kind.itemsize == 1
    trigger_offset = -0.1 * n * horiz_interval
    wide = np.empty(min(1 << 22, n), np.int16) if narrow else None
    total = 0
    names: list[str] = []
    try:
        tmp.mkdir()
        for c in range(cn):
            for t in range(tn):

                def fill(s: int, start: int, out: npt.NDArray[Any], c: int = c, t: int = t) -> None:
                    if wide is None:
                        read_into(c, t, s, start, out)
                    else:
                        w = wide[: out.size]
                        read_into(c, t, s, start, w)
                        np.right_shift(w, 8, out=out, casting="unsafe")
                    if progress is not None:
                        progress(out.size)

                name = f"C{c + 1}--{title}--{t:05d}.trc"
                total += write_trc(
                    tmp / name,
                    segments=sn,
                    samples=n,
                    fill=fill,
                    dtype=kind,
                    byte_order=byte_order,
                    trigger_times=[1e-3 * s for s in range(sn)],
                    trigger_offsets=[trigger_offset] * sn,
                    check=interrupts.check,
                    vertical_gain=float(gains[c, t]) * (256 if narrow else 1),
                    vertical_offset=float(offsets[c, t]),
                    horiz_interval=horiz_interval,
                    horiz_offset=trigger_offset,
                    nominal_bits=nominal_bits,
                    instrument="ZOOMINGONLINE",
                    acquisition_time=_dt.datetime(2026, 1, 1, 12, 0, t % 60),
                    user_text=text,
                    wave_source=c,
                )
                names.append(name)
        output.publish()
    except OSError as exc:
        raise ZoomingOnlineError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        output.discard()
    return total, [target / name for name in names]
