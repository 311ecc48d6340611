"""The ``WAVEDESC`` descriptor of a ``.trc`` file: parsed and checked against the file's size.

Every length and offset is checked before it is used, so a corrupt header gives one
:class:`~zoomingonline.errors.ZoomingOnlineError` line naming the file and the field,
never a huge allocation or a read past the end.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from zoomingonline.errors import ZoomingOnlineError

__all__ = [
    "DEFAULT_PATTERN",
    "MAX_USER_TEXT",
    "TEMPLATE",
    "WAVEDESC_SIZE",
    "TrcHeader",
    "is_trc_file",
    "read_header",
]

log = logging.getLogger(__name__)

#: The only descriptor template read (and written).
TEMPLATE = "LECROY_2_3"
#: Bytes of a LECROY_2_3 descriptor.
WAVEDESC_SIZE = 346
#: LeCroy's default file names: ``C1--run--00000.trc``.
DEFAULT_PATTERN = r"C(?P<channel>\d+)--(?P<title>.*)--(?P<number>\d+)\.trc"
#: Longest user text copied into the store's attributes.
MAX_USER_TEXT = 1 << 16
#: RECORD_TYPE values of random interleaved sampling.
_RIS_RECORD_TYPES = (1, 8)
#: Block names in the order they follow the descriptor, with their length fields' offsets.
_BLOCKS = (
    ("USER_TEXT", 40),
    ("RES_DESC1", 44),
    ("TRIGTIME_ARRAY", 48),
    ("RIS_TIME_ARRAY", 52),
    ("RES_ARRAY1", 56),
    ("WAVE_ARRAY_1", 60),
    ("WAVE_ARRAY_2", 64),
)


def _text(raw: bytes) -> str:
    """A fixed-size char field: up to the first NUL, Latin-1 (exact for any byte)."""
    return raw.split(b"\0", 1)[0].decode("latin-1").strip()


@dataclass(frozen=True)
class TrcHeader:
    """What a ``.trc`` file's descriptor and small blocks say, validated.

    Attributes
    ----------
    path : Path
        The file.
    byte_order : str
        ``"<"`` (COMM_ORDER 1) or ``">"`` (COMM_ORDER 0).
    dtype : numpy.dtype
        The codes' dtype in the file's byte order: int8 (COMM_TYPE 0) or int16 (1).
    data_offset : int
        Offset of WAVE_ARRAY_1 from the start of the file.
    segments, samples : int
        SUBARRAY_COUNT (at least 1) and samples per segment.
    vertical_gain, vertical_offset : float
        Volts = gain x code - offset.
    horiz_interval, horiz_offset : float
        Seconds between samples; the first sample's time of a single sweep.
    trigger_times, trigger_offsets : numpy.ndarray
        Per segment (float64): the trigger time since the first trigger and the time of
        the first sample after the trigger. A single sweep without TRIGTIME has
        ``[0.0]`` and ``[horiz_offset]``.
    nominal_bits : int
        NOMINAL_BITS (the ADC's resolution).
    instrument : str
        INSTRUMENT_NAME.
    vertical_unit, horizontal_unit : str
        VERTUNIT, HORUNIT.
    acquisition_time : str or None
        TRIGGER_TIME as ISO 8601 (no time zone; the scope's clock), or None if invalid.
    user_text : str
        USER_TEXT (Latin-1; empty if longer than :data:`MAX_USER_TEXT`).
    wave_source : int
        WAVE_SOURCE (0 is channel 1).
    record_type : int
        RECORD_TYPE (not reliable for sequence mode).
    """

    path: Path
    byte_order: str
    dtype: np.dtype[Any]
    data_offset: int
    segments: int
    samples: int
    vertical_gain: float
    vertical_offset: float
    horiz_interval: float
    horiz_offset: float
    trigger_times: npt.NDArray[np.float64]
    trigger_offsets: npt.NDArray[np.float64]
    nominal_bits: int
    instrument: str
    vertical_unit: str
    horizontal_unit: str
    acquisition_time: str | None
    user_text: str
    wave_source: int
    record_type: int

    @property
    def kind(self) -> str:
        """``"int8"`` or ``"int16"``, whatever the byte order."""
        return "int8" if self.dtype.itemsize == 1 else "int16"

    @property
    def nbytes(self) -> int:
        """Bytes of WAVE_ARRAY_1."""
        return self.segments * self.samples * self.dtype.itemsize


def _refuse(path: Path, what: str) -> ZoomingOnlineError:
    return ZoomingOnlineError(f"{path}: {what}")


def _timestamp(raw: bytes, order: str) -> str | None:
    seconds, minutes, hours, day, month, year, _ = struct.unpack(order + "dBBBBhh", raw)
    if not (math.isfinite(seconds) and 0 <= seconds < 61):
        return None
    try:
        whole = int(seconds)
        micro = min(999_999, round((seconds - whole) * 1e6))
        stamp = _dt.datetime(year, month, day, hours, minutes, min(whole, 59), micro)
    except (ValueError, OverflowError):
        return None
    return stamp.isoformat()


def read_header(path: str | os.PathLike[str]) -> TrcHeader:
    """Parse and check the descriptor and small blocks of a ``.trc`` file.

    Every length and offset is checked against the file's size before it is used.

    Raises
    ------
    ZoomingOnlineError
        One line naming the file and the field, for anything this reader refuses: not a
        WAVEDESC file, an unknown template, a file shorter than its blocks say,
        WAVE_ARRAY_COUNT that disagrees with WAVE_ARRAY_1, FIRST_POINT or
        SPARSING_FACTOR subsets, RIS, a second wave array.
    """
    p = Path(path)
    if not p.exists():
        raise ZoomingOnlineError(f"{p}: no such file")
    if not p.is_file():
        raise ZoomingOnlineError(f"{p} is not a regular file")
    try:
        with p.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(11 + WAVEDESC_SIZE)
            return _parse(p, f, size, head)
    except OSError as exc:
        raise ZoomingOnlineError(f"cannot read {p}: {exc.strerror or exc}") from None


def _descriptor_start(p: Path, head: bytes) -> int:
    if head[:8] == b"WAVEDESC":
        return 0
    if head[:2] == b"#9" and head[2:11].isdigit() and head[11:19] == b"WAVEDESC":
        return 11
    raise _refuse(p, "not a LeCroy .trc file (no WAVEDESC descriptor)")


def _parse(p: Path, f: Any, size: int, head: bytes) -> TrcHeader:
    start = _descriptor_start(p, head)
    desc = head[start : start + WAVEDESC_SIZE]
    if len(desc) < WAVEDESC_SIZE:
        raise _refuse(p, f"file ends inside WAVEDESC ({size} bytes)")
    template = _text(desc[16:32])
    if template != TEMPLATE:
        raise _refuse(p, f"unknown TEMPLATE_NAME {template[:20]!r}; only {TEMPLATE} is read")
    (order_code,) = struct.unpack("<h", desc[34:36])
    if order_code == 1:
        order = "<"
    elif order_code == 0:
        order = ">"
    else:
        raise _refuse(p, f"COMM_ORDER is {order_code}, not 0 (big-endian) or 1 (little-endian)")

    def num(fmt: str, off: int) -> Any:
        return struct.unpack_from(order + fmt, desc, off)[0]

    comm_type = num("h", 32)
    if comm_type not in (0, 1):
        raise _refuse(p, f"COMM_TYPE is {comm_type}, not 0 (int8) or 1 (int16)")
    dtype = np.dtype(order + ("i1" if comm_type == 0 else "i2"))
    wave_descriptor = num("i", 36)
    if wave_descriptor < WAVEDESC_SIZE:
        raise _refuse(p, f"WAVE_DESCRIPTOR length is {wave_descriptor}, less than {WAVEDESC_SIZE}")
    lengths = {}
    pos = start + wave_descriptor
    offsets = {}
    for name, off in _BLOCKS:
        n = num("i", off)
        if n < 0:
            raise _refuse(p, f"{name} length is negative ({n})")
        lengths[name] = n
        offsets[name] = pos
        pos += n
    if pos > size:
        raise _refuse(
            p, f"file is {size} bytes, shorter than its blocks say ({pos} bytes to WAVE_ARRAY_2)"
        )
    if pos < size:
        log.debug("%s: %d bytes after the last block ignored", p, size - pos)
    if lengths["WAVE_ARRAY_2"]:
        raise _refuse(p, "holds a second wave array (WAVE_ARRAY_2): math or complex traces")
    record_type = num("h", 316)
    ris_sweeps = num("h", 322)
    if lengths["RIS_TIME_ARRAY"] or ris_sweeps > 1 or record_type in _RIS_RECORD_TYPES:
        raise _refuse(p, "is a RIS (random interleaved sampling) recording, which is not read")
    first_point = num("i", 132)
    sparsing = num("i", 136)
    if first_point != 0:
        raise _refuse(p, f"FIRST_POINT is {first_point}: a subset of the record is not read")
    if sparsing not in (0, 1):
        raise _refuse(p, f"SPARSING_FACTOR is {sparsing}: a sparsed record is not read")
    item = dtype.itemsize
    wave1 = lengths["WAVE_ARRAY_1"]
    if wave1 == 0 or wave1 % item:
        raise _refuse(p, f"WAVE_ARRAY_1 length {wave1} is not a whole number of {dtype.name}")
    count = num("i", 116)
    if count != wave1 // item:
        raise _refuse(
            p, f"WAVE_ARRAY_COUNT is {count}, but WAVE_ARRAY_1 holds {wave1 // item} samples"
        )
    subarrays = num("i", 144)
    if subarrays < 0:
        raise _refuse(p, f"SUBARRAY_COUNT is negative ({subarrays})")
    segments = max(subarrays, 1)
    if count % segments:
        raise _refuse(p, f"WAVE_ARRAY_COUNT {count} is not a multiple of SUBARRAY_COUNT {segments}")
    gain = float(num("f", 156))
    offset = float(num("f", 160))
    if not (math.isfinite(gain) and gain != 0):
        raise _refuse(p, f"VERTICAL_GAIN is {gain}")
    if not math.isfinite(offset):
        raise _refuse(p, f"VERTICAL_OFFSET is {offset}")
    interval = float(num("f", 176))
    if not (math.isfinite(interval) and interval > 0):
        raise _refuse(p, f"HORIZ_INTERVAL is {interval}, not a positive number")
    horiz_offset = float(num("d", 180))
    if not math.isfinite(horiz_offset):
        raise _refuse(p, f"HORIZ_OFFSET is {horiz_offset}")

    trig = lengths["TRIGTIME_ARRAY"]
    if trig == 16 * segments:
        f.seek(offsets["TRIGTIME_ARRAY"])
        raw = f.read(trig)
        if len(raw) != trig:
            raise _refuse(p, "file ends inside TRIGTIME_ARRAY")
        pairs = np.frombuffer(raw, order + "f8").reshape(segments, 2).astype(np.float64)
        if not np.isfinite(pairs).all():
            raise _refuse(p, "TRIGTIME_ARRAY holds NaN or infinite times")
        times, toffs = pairs[:, 0].copy(), pairs[:, 1].copy()
    elif trig == 0 and segments == 1:
        times, toffs = np.zeros(1), np.array([horiz_offset])
    else:
        raise _refuse(
            p, f"TRIGTIME_ARRAY is {trig} bytes; {segments} segment(s) need {16 * segments}"
        )
    text = ""
    n_text = lengths["USER_TEXT"]
    if 0 < n_text <= MAX_USER_TEXT:
        f.seek(offsets["USER_TEXT"])
        text = f.read(n_text).split(b"\0", 1)[0].decode("latin-1")
    elif n_text:
        log.info("%s: USER_TEXT of %d bytes not copied", p, n_text)
    return TrcHeader(
        path=p,
        byte_order=order,
        dtype=dtype,
        data_offset=offsets["WAVE_ARRAY_1"],
        segments=segments,
        samples=count // segments,
        vertical_gain=gain,
        vertical_offset=offset,
        horiz_interval=interval,
        horiz_offset=horiz_offset,
        trigger_times=times,
        trigger_offsets=toffs,
        nominal_bits=int(num("h", 172)),
        instrument=_text(desc[76:92]),
        vertical_unit=_text(desc[196:244]),
        horizontal_unit=_text(desc[244:292]),
        acquisition_time=_timestamp(desc[296:312], order),
        user_text=text,
        wave_source=int(num("h", 344)),
        record_type=int(record_type),
    )


def is_trc_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a regular file that starts like a ``.trc`` file (or is named so)."""
    p = Path(path)
    if not p.is_file():
        return False
    if p.suffix.lower() == ".trc":
        return True
    try:
        with p.open("rb") as f:
            head = f.read(19)
    except OSError:
        return False
    return head[:8] == b"WAVEDESC" or (head[:2] == b"#9" and head[11:19] == b"WAVEDESC")
