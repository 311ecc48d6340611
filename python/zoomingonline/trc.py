"""LeCroy ``.trc`` files: parse, check, stream their samples, and write them for tests.

A ``.trc`` file holds one channel of one capture: an optional ``#9`` plus nine ASCII
digits, the 346-byte ``WAVEDESC`` descriptor (template ``LECROY_2_3``), then the blocks
whose lengths the descriptor gives, in order: USER_TEXT, RES_DESC1, TRIGTIME (16 bytes
per segment: trigger time and trigger offset, float64), RIS_TIME, RES_ARRAY1,
WAVE_ARRAY_1 (the samples, int8 or int16 codes) and WAVE_ARRAY_2. The descriptor's
``COMM_ORDER`` gives the byte order of the whole file.

:func:`read_header` validates every length and offset against the file's size before
using any of them, so a corrupt header gives one :class:`ZoomingOnlineError` line naming
the file and the field, never a huge allocation. :class:`TrcReader` then copies the codes
of any block of any segment into a caller's buffer with positioned reads, in the
machine's byte order, unchanged: nothing is converted to floats and the file is never
held in memory.

:func:`find_run` groups a folder of files named like LeCroy's default
``C<channel>--<title>--<number>.trc`` into (channels, trc files); :func:`write_trc`
writes files in the same format (used by ``generate --format trc`` and the tests).
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
import os
import re
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from zoomingonline.errors import ZoomingOnlineError

__all__ = [
    "DEFAULT_PATTERN",
    "TEMPLATE",
    "TrcHeader",
    "TrcReader",
    "TrcRun",
    "find_run",
    "find_trc_inputs",
    "is_trc_file",
    "read_header",
    "write_trc",
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


# --------------------------------------------------------------------------------------------
# Runs: files grouped into (channels, trc files)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrcRun:
    """The files of one recording, as a (channels, trc files) grid of headers.

    Attributes
    ----------
    source : Path
        The file or folder given.
    headers : list of list of TrcHeader
        ``headers[c][t]``: channel c (sorted by channel number), capture t (sorted).
    channels, numbers : list of int
        The channel and capture numbers, sorted (``[1]`` and ``[0]`` for a single file).
    ignored : list of str
        Names in the folder that are not part of the run.
    """

    source: Path
    headers: list[list[TrcHeader]]
    channels: list[int]
    numbers: list[int]
    ignored: list[str] = field(default_factory=list)

    @property
    def first(self) -> TrcHeader:
        """The header every other file is compared with."""
        return self.headers[0][0]

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(channels, trc files, segments, samples)."""
        h = self.first
        return (len(self.headers), len(self.headers[0]), h.segments, h.samples)

    @property
    def dtype(self) -> np.dtype[Any]:
        """The codes' dtype in the machine's byte order."""
        return self.first.dtype.newbyteorder("=")

    def paths(self) -> list[Path]:
        """Every file of the run, channel by channel."""
        return [h.path for row in self.headers for h in row]

    def attrs(self) -> dict[str, Any]:
        """The store's root attributes (docs/format.md, docs/trc.md)."""
        hs = self.headers

        def grid(get: Callable[[TrcHeader], Any]) -> list[list[Any]]:
            return [[get(h) for h in row] for row in hs]

        return {
            "horiz_interval": self.first.horiz_interval,
            "vertical_gains": grid(lambda h: h.vertical_gain),
            "vertical_offsets": grid(lambda h: h.vertical_offset),
            "horiz_offset": grid(lambda h: h.trigger_offsets.tolist()),
            "trc": {
                "files": grid(lambda h: h.path.name),
                "trigger_times": grid(lambda h: h.trigger_times.tolist()),
                "acquisition_times": grid(lambda h: h.acquisition_time),
                "instruments": grid(lambda h: h.instrument),
                "nominal_bits": grid(lambda h: h.nominal_bits),
                "vertical_units": grid(lambda h: h.vertical_unit),
                "horizontal_units": grid(lambda h: h.horizontal_unit),
                "user_texts": grid(lambda h: h.user_text),
                "wave_sources": grid(lambda h: h.wave_source),
                "channels": list(self.channels),
                "numbers": list(self.numbers),
            },
        }


def _check_same(first: TrcHeader, other: TrcHeader) -> None:
    for what, a, b in (
        ("segments", first.segments, other.segments),
        ("samples per segment", first.samples, other.samples),
        ("sample type", first.kind, other.kind),
        ("HORIZ_INTERVAL", first.horiz_interval, other.horiz_interval),
    ):
        if a != b:
            raise ZoomingOnlineError(
                f"{other.path.name} differs from {first.path.name}: {what} {b}, not {a}"
            )


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        rx = re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ZoomingOnlineError(
            f"--pattern {pattern!r} is not a regular expression: {exc}"
        ) from None
    if not {"channel", "number"} <= set(rx.groupindex):
        raise ZoomingOnlineError(
            f"--pattern {pattern!r} needs the named groups (?P<channel>...) and (?P<number>...)"
        )
    return rx


def _group(
    folder: Path, names: Iterable[str], pattern: str
) -> tuple[dict[tuple[int, int], str], list[str]]:
    rx = _compile(pattern)
    found: dict[tuple[int, int], str] = {}
    ignored: list[str] = []
    for name in sorted(names):
        m = rx.fullmatch(name)
        if m is None or not (folder / name).is_file():
            ignored.append(name)
            continue
        try:
            key = (int(m.group("channel")), int(m.group("number")))
        except (TypeError, ValueError):
            ignored.append(name)
            continue
        if key in found:
            raise ZoomingOnlineError(
                f"{folder}: {found[key]} and {name} are both channel {key[0]}, capture {key[1]}"
            )
        found[key] = name
    return found, ignored


def find_run(path: str | os.PathLike[str], pattern: str = DEFAULT_PATTERN) -> TrcRun:
    """The run in a folder of ``.trc`` files, or a single ``.trc`` file as a 1 x 1 run.

    Files whose names match ``pattern`` (a regular expression with the named groups
    ``channel`` and ``number``, matched against the whole name, case-insensitively) are
    grouped by channel and capture number, both sorted; other names are ignored and
    listed in :attr:`TrcRun.ignored`.

    Raises
    ------
    ZoomingOnlineError
        For a folder without matching files, an incomplete grid (a channel lacking a
        capture), a file this reader refuses, or files that disagree on segments,
        samples, sample type or HORIZ_INTERVAL (naming the first that differs).
    """
    src = Path(path)
    if not src.exists():
        raise ZoomingOnlineError(f"{src}: no such file or folder")
    if src.is_file():
        h = read_header(src)
        return TrcRun(source=src, headers=[[h]], channels=[h.wave_source + 1], numbers=[0])
    if not src.is_dir():
        raise ZoomingOnlineError(f"{src} is not a regular file or folder")
    try:
        names = [e.name for e in os.scandir(src)]
    except OSError as exc:
        raise ZoomingOnlineError(f"cannot list {src}: {exc.strerror or exc}") from None
    found, ignored = _group(src, names, pattern)
    if not found:
        raise ZoomingOnlineError(
            f"{src} holds no .trc files named like {pattern!r} ({len(ignored)} other entries)"
        )
    channels = sorted({c for c, _ in found})
    numbers = sorted({n for _, n in found})
    for c in channels:
        for n in numbers:
            if (c, n) not in found:
                raise ZoomingOnlineError(
                    f"{src}: channel {c} has no capture {n} (other channels have it)"
                )
    headers: list[list[TrcHeader]] = []
    first: TrcHeader | None = None
    for c in channels:
        row = []
        for n in numbers:
            h = read_header(src / found[(c, n)])
            if first is None:
                first = h
            else:
                _check_same(first, h)
            row.append(h)
        headers.append(row)
    for name in ignored:
        log.info("%s: %s is not part of the run; ignored", src, name)
    return TrcRun(source=src, headers=headers, channels=channels, numbers=numbers, ignored=ignored)


def find_trc_inputs(
    paths: Sequence[str | os.PathLike[str]], pattern: str = DEFAULT_PATTERN
) -> list[Path]:
    """The ``.trc`` inputs among ``paths`` and in the folders they name, for ``import``.

    A folder that directly holds files matching ``pattern`` is one run (one input);
    single ``.trc`` files that match no run pattern are inputs of their own. Folders are
    searched recursively; hidden names are skipped. The result is sorted and holds no
    duplicates.
    """
    rx = _compile(pattern)
    out: set[Path] = set()
    for given in paths:
        root = Path(given)
        if root.is_file():
            if is_trc_file(root):
                out.add(root)
            continue
        if not root.is_dir():
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not d.endswith(".zarr"))
            visible = [f for f in files if not f.startswith(".")]
            if any(rx.fullmatch(f) for f in visible):
                out.add(Path(folder))
                for name in visible:
                    if name.lower().endswith(".trc") and not rx.fullmatch(name):
                        out.add(Path(folder) / name)
            else:
                out.update(Path(folder) / f for f in visible if f.lower().endswith(".trc"))
    return sorted(out)


# --------------------------------------------------------------------------------------------
# Reading samples
# --------------------------------------------------------------------------------------------


class TrcReader:
    """A ``read_into(c, t, s, start, out)`` over a run: positioned reads, one file open.

    The codes are read straight into ``out`` (native byte order); from a file of the
    other byte order they are read into a scratch buffer and copied into ``out`` swapped.
    Use it as a context manager, or call :meth:`close`.
    """

    def __init__(self, run: TrcRun) -> None:
        self.run = run
        self._fd: int | None = None
        self._open: tuple[int, int] | None = None
        self._scratch: npt.NDArray[Any] = np.empty(0, np.uint8)

    def __enter__(self) -> TrcReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the open file, if any."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self._open = None

    def _file(self, c: int, t: int) -> int:
        if self._open != (c, t) or self._fd is None:
            self.close()
            path = self.run.headers[c][t].path
            try:
                self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
            except OSError as exc:
                raise ZoomingOnlineError(f"cannot read {path}: {exc.strerror or exc}") from None
            self._open = (c, t)
        return self._fd

    def __call__(self, c: int, t: int, s: int, start: int, out: npt.NDArray[Any]) -> None:
        """Fill ``out`` with the codes ``start : start + len(out)`` of segment ``s``."""
        h = self.run.headers[c][t]
        fd = self._file(c, t)
        item = h.dtype.itemsize
        offset = h.data_offset + (s * h.samples + start) * item
        swap = item > 1 and h.byte_order != _NATIVE
        if swap:
            # Read the file's bytes aside, then one vectorised byte-swapping copy: about
            # four times faster than swapping in place.
            nbytes = out.size * item
            if self._scratch.size < nbytes:
                self._scratch = np.empty(nbytes, np.uint8)
            dest = self._scratch[:nbytes].view(h.dtype)
        else:
            dest = out
        view = memoryview(dest).cast("B")
        done = 0
        while done < len(view):
            try:
                n = os.preadv(fd, [view[done:]], offset + done)
            except OSError as exc:
                raise ZoomingOnlineError(f"cannot read {h.path}: {exc.strerror or exc}") from None
            if n == 0:
                raise ZoomingOnlineError(f"{h.path} became shorter while it was read")
            done += n
        if swap:
            np.copyto(out, dest, casting="equiv")


_NATIVE = "<" if np.little_endian else ">"


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
