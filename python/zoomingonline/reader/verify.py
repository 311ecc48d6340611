"""Check a store against ``docs/format.md``: metadata, every chunk, every bin, the source.

:func:`verify` works on local, HTTP and S3 stores alike. It checks the metadata (root
attributes, the ``zoomingonline`` entry, the level plan's invariants, every array's
shape, dtype, chunks and codec), then streams each segment in blocks of whole coarsest
bins: a thread pool fetches and decodes the raw chunks of a block (a missing or
undecodable chunk is a problem, never read as zeros), recomputes every level from them
with the Rust kernel and compares each stored bin; with a source it also compares the
samples with the input. Memory stays at a few blocks per thread whatever the store's
size.

A *source* is anything with ``name``, ``shape``, ``dtype`` and ``read_into(c, t, s,
start, out)`` (filling ``out`` with ``samples[c, t, s, start:start + len(out)]``), the
same hook the store writer reads through: :func:`hdf5_source` makes one for an HDF5
recording, and other inputs (``.trc`` files) plug in the same way.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeGuard

import numpy as np
import numpy.typing as npt

from zoomingonline import interrupts
from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.reader.recording import READS_FORMAT, Recording, one_line
from zoomingonline.reader.recording import open as open_store

__all__ = ["MAX_KEPT", "Source", "VerifyReport", "hdf5_source", "verify"]

log = logging.getLogger(__name__)

#: Problems kept in full; the others are only counted.
MAX_KEPT = 100
#: Samples per block, rounded to whole coarsest bins (and to raw chunks where they nest).
BLOCK_SAMPLES = 1 << 22
#: Decoded overview chunks kept per level while the blocks of a segment go by.
CACHE_PER_LEVEL = 8

#: ``progress(done, total)`` in samples.
Progress = Callable[[int, int], None]


class Source(Protocol):
    """An input to compare ``raw`` with (see the module docstring)."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype[Any]

    def read_into(self, c: int, t: int, s: int, start: int, out: npt.NDArray[Any]) -> None:
        """Fill ``out`` with ``samples[c, t, s, start:start + len(out)]``."""


@dataclass
class _HDF5Source:
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    dataset: Any
    lock: threading.Lock = field(default_factory=threading.Lock)

    def read_into(self, c: int, t: int, s: int, start: int, out: npt.NDArray[Any]) -> None:
        with self.lock:
            try:
                self.dataset.read_direct(out, np.s_[c, t, s, start : start + out.size])
            except OSError as exc:
                raise ZoomingOnlineError(
                    f"cannot read {self.name} at [{c}, {t}, {s}, {start}]: {exc}"
                ) from None


@contextmanager
def hdf5_source(path: str | os.PathLike[str], dataset: str | None = None) -> Iterator[Source]:
    """The samples of an HDF5 recording as a :class:`Source` (the dataset ``convert``
    would take, or ``dataset``), open for the duration of the ``with`` block."""
    from zoomingonline.convert import _open_h5, find_samples_dataset

    p = Path(path)
    f = _open_h5(p)
    try:
        dset = find_samples_dataset(f, dataset)
        yield _HDF5Source(p.name, tuple(dset.shape), np.dtype(dset.dtype), dset)
    finally:
        f.close()


@contextmanager
def _source_from(source: Any) -> Iterator[Source | None]:
    if source is None or hasattr(source, "read_into"):
        yield source
        return
    p = Path(source)
    if p.suffix.lower() == ".trc":
        raise ZoomingOnlineError(f"{p}: comparing with .trc files is not supported yet")
    with hdf5_source(p) as src:
        yield src


@dataclass
class VerifyReport:
    """What :func:`verify` found.

    Attributes
    ----------
    location : str
        The store checked.
    problems : list of str
        The first :data:`MAX_KEPT` problems, one line each.
    n_problems : int
        All problems found.
    chunks, bytes : int
        Chunks checked and their compressed bytes.
    samples : int
        Samples checked.
    seconds : float
        Time taken.
    source : str, optional
        The input raw was compared with.
    """

    location: str
    problems: list[str] = field(default_factory=list)
    n_problems: int = 0
    chunks: int = 0
    bytes: int = 0
    samples: int = 0
    seconds: float = 0.0
    source: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the store passed every check."""
        return self.n_problems == 0

    def add(self, problem: str) -> None:
        """Record a problem (kept in full while fewer than :data:`MAX_KEPT` are)."""
        self.n_problems += 1
        if len(self.problems) < MAX_KEPT:
            self.problems.append(problem)

    def verdict(self) -> str:
        """One line: the store is good, or how many problems it has."""
        if not self.ok:
            n = self.n_problems
            return f"{self.location}: {n} problem{'s' if n != 1 else ''}"
        also = f", raw equal to {self.source}" if self.source else ""
        rate = self.bytes / self.seconds / 1e6 if self.seconds > 0 else 0.0
        return (
            f"{self.location}: OK: metadata, {self.chunks:,} chunks and every bin of"
            f" {self.samples:,} samples checked{also} ({self.bytes / 1e6:,.1f} MB in"
            f" {self.seconds:.1f} s, {rate:,.0f} MB/s)"
        )


# -- metadata ------------------------------------------------------------------------------


def _is_number(x: Any) -> TypeGuard[int | float]:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _is_int(x: Any) -> TypeGuard[int]:
    return isinstance(x, int) and not isinstance(x, bool)


def _check_matrix(report: VerifyReport, attrs: dict[str, Any], name: str, c: int, t: int) -> None:
    value = attrs.get(name)
    if value is None:
        report.add(f"attribute {name} is missing")
        return
    ok = (
        isinstance(value, list)
        and len(value) == c
        and all(isinstance(row, list) and len(row) == t for row in value)
        and all(_is_number(x) for row in value for x in row)
    )
    if not ok:
        report.add(f"attribute {name} is not a [{c}][{t}] list of finite numbers")


def _check_horiz_offset(report: VerifyReport, value: Any, shape: tuple[int, ...]) -> None:
    c, t, s = shape[:3]
    if value is None or _is_number(value):
        return
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.shape not in ((c, t), (c, t, s)) or not np.isfinite(arr).all():
        report.add(
            f"attribute horiz_offset is neither a number, [{c}][{t}] nor [{c}][{t}][{s}]"
            " finite numbers"
        )


def _array_meta(
    report: VerifyReport, path: str, array: Any, shape: tuple[int, ...], dtype: Any
) -> bool:
    """Check one array's metadata; whether its data can be checked."""
    meta = array.metadata.to_dict()
    usable = True
    if tuple(meta["shape"]) != tuple(shape):
        report.add(f"{path}: shape {tuple(meta['shape'])} in .zarray, expected {tuple(shape)}")
        usable = False
    if np.dtype(array.dtype) != dtype:
        report.add(f"{path}: dtype {array.dtype}, expected {dtype} (raw's)")
        usable = False
    for key, want in (("order", "C"), ("filters", None), ("dimension_separator", ".")):
        if meta.get(key) != want:
            report.add(f"{path}: {key} is {meta.get(key)!r}, expected {want!r}")
    if meta.get("fill_value") != 0:
        report.add(f"{path}: fill_value is {meta.get('fill_value')!r}, expected 0")
    comp = meta.get("compressor")
    if not isinstance(comp, dict) or comp.get("id") != "blosc":
        report.add(f"{path}: compressor is {comp!r}, expected Blosc")
        usable = usable and comp is not None
    return usable


def _check_metadata(report: VerifyReport, rec: Recording) -> dict[str, Any]:
    """Every invariant of the metadata; the arrays whose data can then be checked."""
    from zoomingonline.pyramid import SUPPORTED_DTYPES

    attrs = rec.attributes
    c, t, s, n = rec.shape
    usable: dict[str, Any] = {}
    h = attrs.get("horiz_interval")
    if not (_is_number(h) and h > 0):
        report.add(f"attribute horiz_interval is {h!r}, not a number > 0")
    _check_matrix(report, attrs, "vertical_gains", c, t)
    _check_matrix(report, attrs, "vertical_offsets", c, t)
    _check_horiz_offset(report, attrs.get("horiz_offset"), rec.shape)
    for key, value in attrs.items():
        try:
            json.dumps(value, allow_nan=False)
        except ValueError:
            report.add(f"attribute {key} holds NaN or infinity, which JSON cannot hold")
    own = attrs.get("zoomingonline")
    if not isinstance(own, dict):
        report.add("attribute zoomingonline is missing: not a zoomingonline store")
        own = {}
    elif own.get("format_version") != READS_FORMAT:
        report.add(
            f"zoomingonline.format_version is {own.get('format_version')!r}, this checker"
            f" knows {READS_FORMAT}"
        )
    for key in ("software_version", "created", "source"):
        if own and not isinstance(own.get(key), str):
            report.add(f"zoomingonline.{key} is missing or not text")
    pyramid: dict[str, Any] = own["pyramid"] if isinstance(own.get("pyramid"), dict) else {}
    if own and not pyramid:
        report.add("zoomingonline.pyramid is missing")
    params: dict[str, int | None] = {}
    for key in ("factor", "target", "min_bin"):
        value = pyramid.get(key)
        if pyramid and not (_is_int(value) and value >= 1):
            report.add(f"zoomingonline.pyramid.{key} is {value!r}, not a positive integer")
        params[key] = value if _is_int(value) else None
    if np.dtype(rec.dtype) not in SUPPORTED_DTYPES:
        report.add(f"raw: dtype {rec.dtype} is not one of the format's")
    if _array_meta(report, "raw", rec.raw, rec.shape, rec.dtype):
        usable["raw"] = rec.raw
    raw_chunks = tuple(int(x) for x in rec.raw.chunks)
    if raw_chunks[:3] != (1, 1, 1) or raw_chunks[3] > n:
        report.add(f"raw: chunks {raw_chunks}, expected (1, 1, 1, R) with R <= {n}")
        usable.pop("raw", None)

    levels = pyramid.get("levels")
    if pyramid and not (isinstance(levels, list) and levels):
        report.add("zoomingonline.pyramid.levels is missing or empty")
    levels = levels if isinstance(levels, list) else []
    factor, target, min_bin = params["factor"], params["target"], params["min_bin"]
    bins: list[int | None] = []
    for k, entry in enumerate(levels):
        where = f"zoomingonline.pyramid.levels[{k}]"
        if not isinstance(entry, dict):
            report.add(f"{where} is not an object")
            bins.append(None)
            continue
        if entry.get("path") != f"overview/{k}":
            report.add(f"{where}.path is {entry.get('path')!r}, expected 'overview/{k}'")
        b, nb = entry.get("bin"), entry.get("bins")
        if not (_is_int(b) and b >= 1) or not _is_int(nb):
            report.add(f"{where} has no integer bin and bins")
            bins.append(None)
            continue
        bins.append(b)
        if nb != -(-n // b):
            report.add(f"{where}.bins is {nb}, but {n} samples in bins of {b} make {-(-n // b)}")
        if k + 1 < len(levels) and factor is not None:
            finer = levels[k + 1].get("bin") if isinstance(levels[k + 1], dict) else None
            if _is_int(finer) and b != factor * finer:
                report.add(f"{where}.bin is {b}, not factor {factor} x the next level's {finer}")
    if bins and bins[-1] is not None and min_bin is not None and bins[-1] != min_bin:
        report.add(f"the finest level's bin is {bins[-1]}, not min_bin {min_bin}")
    if bins and bins[0] is not None and target is not None:
        if -(-n // bins[0]) > target:
            report.add(f"overview/0 has {-(-n // bins[0])} bins, more than target {target}")
        if len(bins) > 1 and bins[1] is not None and -(-n // bins[1]) <= target:
            report.add(f"overview/1 already has at most target {target} bins: too many levels")

    for k, b in enumerate(bins):
        path = f"overview/{k}"
        try:
            array = rec._array(path)
        except (KeyError, FileNotFoundError):
            report.add(f"{path}: listed in the attributes but not in the store")
            continue
        if b is None:
            continue
        nb = -(-n // b)
        if not _array_meta(report, path, array, (c, t, s, 2, nb), rec.dtype):
            continue
        chunks = tuple(int(x) for x in array.chunks)
        ck = chunks[4]
        coarsest = bins[0]
        if chunks[:4] != (1, 1, 1, 2):
            report.add(f"{path}: chunks {chunks}, expected (1, 1, 1, 2, c)")
            continue
        if k == 0 and ck != nb:
            report.add(f"{path}: chunks of {ck} bins, expected one chunk of {nb} per segment")
            continue
        if k > 0 and ck != nb and coarsest is not None and (ck * b) % coarsest:
            report.add(
                f"{path}: chunks of {ck} bins ({ck * b} samples) do not nest in the coarsest"
                f" bins of {coarsest}"
            )
        usable[path] = (array, b, ck)
    extra = f"overview/{len(bins)}"
    try:
        rec._array(extra)
    except (KeyError, FileNotFoundError):
        pass
    else:
        report.add(f"{extra}: an array the attributes do not list")
    return usable


# -- data ----------------------------------------------------------------------------------


def _codec(array: Any) -> Any:
    import numcodecs

    return numcodecs.get_codec(dict(array.metadata.compressor.get_config()))


def _key(path: str, coords: tuple[int, ...]) -> str:
    return f"{path}/{'.'.join(str(x) for x in coords)}"


def _fetch(store: Any, keys: list[str]) -> list[Any]:
    """The bytes of ``keys`` (None for a missing one, the exception for a failed read),
    fetched concurrently on zarr's event loop."""
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync

    proto = default_buffer_prototype()

    async def get_all() -> list[Any]:
        return await asyncio.gather(
            *(store.get(k, prototype=proto) for k in keys), return_exceptions=True
        )

    # The store's own buffers (a numpy view for local and obstore stores): no copy.
    return [v.as_numpy_array() if hasattr(v, "as_numpy_array") else v for v in sync(get_all())]


def _text(value: Any) -> str:
    """A sample value as plain text (``-3000``, ``nan``), not a numpy repr."""
    return str(value.item() if hasattr(value, "item") else value)


def _equal(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    same = a == b
    if a.dtype.kind == "f":
        same |= np.isnan(a) & np.isnan(b)
    return same


@dataclass
class _Result:
    problems: list[str] = field(default_factory=list)
    chunks: int = 0
    bytes: int = 0
    samples: int = 0


class _Checker:
    """The data checks of one store, shared by the worker threads."""

    def __init__(self, rec: Recording, usable: dict[str, Any], source: Source | None) -> None:
        self.rec = rec
        self.store = rec.location.store
        self.source = source
        self.n = rec.shape[3]
        self.dtype = rec.dtype
        self.raw_chunk = int(rec.raw.chunks[3])
        self.raw_codec = _codec(rec.raw)
        self.levels = [
            (path, value[0], value[1], value[2], _codec(value[0]))
            for path, value in usable.items()
            if path != "raw"
        ]
        self.levels.sort(key=lambda lv: -lv[2])
        self.check_raw = "raw" in usable
        coarsest = max((lv[2] for lv in self.levels), default=1)
        r = self.raw_chunk
        both = math.lcm(coarsest, r)
        unit = both if both <= 8 * max(coarsest, r) else coarsest
        self.block = max(1, BLOCK_SAMPLES // unit) * unit
        self._cache: dict[str, OrderedDict[tuple[int, ...], Any]] = {
            lv[0]: OrderedDict() for lv in self.levels
        }
        self._lock = threading.Lock()

    def blocks(self) -> list[tuple[int, int, int, int]]:
        """Every (c, t, s, start) block, in store order."""
        c, t, s, _ = self.rec.shape
        return [
            (ci, ti, si, p)
            for ci in range(c)
            for ti in range(t)
            for si in range(s)
            for p in range(0, self.n, self.block)
        ]

    def _decode(
        self,
        codec: Any,
        data: Any,
        key: str,
        nbytes: int,
        out: _Result,
        into: npt.NDArray[Any] | None = None,
    ) -> npt.NDArray[Any] | None:
        """The decoded chunk (in ``into`` when given and the chunk fits it exactly), or
        None with the problem recorded."""
        if data is None:
            out.problems.append(f"{key}: chunk missing")
            return None
        if isinstance(data, BaseException):
            out.problems.append(f"{key}: cannot be read ({one_line(data)})")
            return None
        out.chunks += 1
        out.bytes += data.nbytes if hasattr(data, "nbytes") else len(data)
        if into is not None and into.nbytes == nbytes:
            try:
                codec.decode(data, out=into)
            except Exception:  # noqa: BLE001, S110 - decoded again below, for the message
                pass
            else:
                return into
        try:
            decoded = codec.decode(data)
        except Exception as exc:  # noqa: BLE001 - any decoder failure is the same finding
            out.problems.append(f"{key}: chunk does not decode ({exc})")
            return None
        arr = np.frombuffer(decoded, dtype=self.dtype)
        if arr.nbytes != nbytes:
            out.problems.append(f"{key}: chunk decodes to {arr.nbytes} bytes, expected {nbytes}")
            return None
        return arr

    def _overview_chunk(
        self,
        path: str,
        array: Any,
        codec: Any,
        coords: tuple[int, ...],
        ck: int,
        out: _Result,
        fetched: dict[str, Any],
    ) -> Any:
        cache = self._cache[path]
        with self._lock:
            if coords in cache:
                cache.move_to_end(coords)
                return cache[coords]
        key = _key(path, coords)
        data = fetched[key] if key in fetched else _fetch(self.store, [key])[0]
        mine = _Result()
        arr = self._decode(codec, data, key, 2 * ck * self.dtype.itemsize, mine)
        value = None if arr is None else arr.reshape(2, ck)
        if value is not None:
            nb = int(array.shape[4])
            used = nb - coords[4] * ck
            if used < ck and value[:, used:].any():
                mine.problems.append(f"{key}: the padding beyond bin {nb - 1} is not zero")
        with self._lock:
            if coords in cache:
                return cache[coords]
            cache[coords] = value
            if len(cache) > CACHE_PER_LEVEL:
                cache.popitem(last=False)
        out.problems += mine.problems
        out.chunks += mine.chunks
        out.bytes += mine.bytes
        return value

    def _overview_keys(self, c: int, t: int, s: int, p: int, q: int) -> list[str]:
        """The overview chunks that block [p, q) needs and the cache does not hold."""
        keys: list[str] = []
        with self._lock:
            for path, _, b, ck, _ in self.levels:
                cached = self._cache[path]
                keys.extend(
                    _key(path, (c, t, s, 0, j))
                    for j in range((p // b) // ck, ((q - 1) // b) // ck + 1)
                    if (c, t, s, 0, j) not in cached
                )
        return keys

    def run(self, c: int, t: int, s: int, p: int) -> _Result:
        out = _Result()
        n, r = self.n, self.raw_chunk
        q = min(p + self.block, n)
        first, last = p // r, (q - 1) // r
        x: npt.NDArray[Any] | None = None
        overview: dict[str, Any] = {}
        if self.check_raw:
            keys = [_key("raw", (c, t, s, j)) for j in range(first, last + 1)]
            more = self._overview_keys(c, t, s, p, q)
            # Raw and overview chunks in one round of concurrent requests.
            got = _fetch(self.store, keys + more)
            fetched, overview = got[: len(keys)], dict(zip(more, got[len(keys) :], strict=True))
            x = np.empty(q - p, self.dtype)
            for j, key, data in zip(range(first, last + 1), keys, fetched, strict=True):
                # A chunk shared with the previous block is that block's to report.
                owner = j * r >= p
                mine = _Result()
                inside = x is not None and p <= j * r and (j + 1) * r <= q
                into = x[j * r - p : (j + 1) * r - p] if inside and x is not None else None
                chunk = self._decode(self.raw_codec, data, key, r * self.dtype.itemsize, mine, into)
                if owner:
                    out.problems += mine.problems
                    out.chunks += mine.chunks
                    out.bytes += mine.bytes
                if chunk is None:
                    x = None
                    if not owner:
                        out.problems.append(f"raw[{c}, {t}, {s}]: samples from {p} unreadable")
                    continue
                if owner and j == (n - 1) // r and (n - j * r) < r and chunk[n - j * r :].any():
                    out.problems.append(f"{key}: the padding beyond sample {n - 1} is not zero")
                if x is not None and chunk is not into:
                    lo, hi = max(p, j * r), min(q, (j + 1) * r)
                    x[lo - p : hi - p] = chunk[lo - j * r : hi - j * r]
        if x is None:
            return out
        out.samples = q - p
        if self.source is not None:
            self._compare_source(c, t, s, p, x, out)
        if self.levels:
            self._compare_levels(c, t, s, p, x, out, overview)
        return out

    def _compare_source(
        self, c: int, t: int, s: int, p: int, x: npt.NDArray[Any], out: _Result
    ) -> None:
        if self.source is None:
            return
        y = np.empty(x.size, self.source.dtype)
        self.source.read_into(c, t, s, p, y)
        same = x == y if x.dtype != y.dtype else _equal(x, y)
        if not same.all():
            bad = np.flatnonzero(~same)
            i = int(bad[0])
            out.problems.append(
                f"raw[{c}, {t}, {s}, {p + i}] is {_text(x[i])} but {self.source.name} has"
                f" {_text(y[i])}"
                f" ({bad.size} samples of {p} to {p + x.size - 1} differ)"
            )

    def _compare_levels(
        self,
        c: int,
        t: int,
        s: int,
        p: int,
        x: npt.NDArray[Any],
        out: _Result,
        fetched: dict[str, Any],
    ) -> None:
        from zoomingonline.pyramid import minmax_pyramid

        bins = [lv[2] for lv in self.levels]
        computed = minmax_pyramid(x, bins)
        for (path, array, b, ck, codec), want in zip(self.levels, computed, strict=True):
            i0 = p // b
            m = want.shape[1]
            got = np.empty_like(want)
            missing = False
            for j in range(i0 // ck, (i0 + m - 1) // ck + 1):
                coords = (c, t, s, 0, j)
                chunk = self._overview_chunk(path, array, codec, coords, ck, out, fetched)
                lo, hi = max(i0, j * ck), min(i0 + m, (j + 1) * ck)
                if chunk is None:
                    missing = True
                    continue
                got[:, lo - i0 : hi - i0] = chunk[:, lo - j * ck : hi - j * ck]
            if missing:
                continue
            for row, what in ((0, "min"), (1, "max")):
                same = _equal(got[row], want[row])
                if same.all():
                    continue
                bad = np.flatnonzero(~same)
                i = int(bad[0])
                a = (i0 + i) * b
                e = min(a + b, self.n)
                more = f" ({bad.size - 1} more bins of this block differ)" if bad.size > 1 else ""
                out.problems.append(
                    f"{path}[{c}, {t}, {s}, {row}, {i0 + i}] is {_text(got[row, i])}, but the"
                    f" {what} of samples {a} to {e - 1} is {_text(want[row, i])}{more}"
                )


def verify(
    location: str | os.PathLike[str] | Recording,
    *,
    source: str | os.PathLike[str] | Source | None = None,
    jobs: int = 0,
    progress: Progress | None = None,
    env_file: str | os.PathLike[str] | None = None,
) -> VerifyReport:
    """Check a store: metadata, every chunk present and decodable, every bin exact.

    Parameters
    ----------
    location : str, path-like or Recording
        A local store, an ``http(s)://`` URL or an ``s3://`` address (see
        :func:`~zoomingonline.reader.open`).
    source : path-like or Source, optional
        The input the store was made from (an HDF5 file, or any :class:`Source`); raw is
        then compared with it sample by sample.
    jobs : int
        Worker threads (0: two per core, as fetching and decoding overlap).
    progress : callable, optional
        ``progress(done, total)`` in samples, called from the calling thread.
    env_file : path-like, optional
        The ``.env`` file for S3 credentials.

    Returns
    -------
    VerifyReport
        ``ok`` when no problem was found; ``problems`` lists the first ones.

    Raises
    ------
    ZoomingOnlineError
        If the location holds no store that can be opened, or the source cannot be read.
    """
    start = time.perf_counter()
    rec = location if isinstance(location, Recording) else open_store(location, env_file=env_file)
    report = VerifyReport(rec.location.text)
    usable = _check_metadata(report, rec)
    with _source_from(source) as given:
        src = given
        if given is not None:
            report.source = given.name
            if tuple(given.shape) != rec.shape:
                report.add(f"raw has shape {rec.shape} but {given.name} has {tuple(given.shape)}")
                src = None
        if "raw" in usable:
            _check_data(report, _Checker(rec, usable, src), jobs, progress)
        else:
            report.add("raw cannot be read, so no chunk or bin was checked")
    report.seconds = time.perf_counter() - start
    return report


def _check_data(
    report: VerifyReport, checker: _Checker, jobs: int, progress: Progress | None
) -> None:
    """Run the blocks on a thread pool, a bounded number in flight, and take their results
    in store order (so the problems are listed in a stable order)."""
    workers = jobs if jobs > 0 else 2 * (os.cpu_count() or 1)
    rec = checker.rec
    total = rec.shape[0] * rec.shape[1] * rec.shape[2] * checker.n
    done = 0
    pending: deque[tuple[int, Future[_Result]]] = deque()
    todo = iter(checker.blocks())
    with ThreadPoolExecutor(workers, thread_name_prefix="zoomingonline-verify") as pool:
        try:
            while True:
                while len(pending) < 2 * workers:
                    block = next(todo, None)
                    if block is None:
                        break
                    size = min(checker.block, checker.n - block[3])
                    pending.append((size, pool.submit(checker.run, *block)))
                if not pending:
                    break
                size, fut = pending[0]
                try:
                    result = fut.result(timeout=0.25)
                except FutureTimeout:
                    interrupts.check()
                    continue
                pending.popleft()
                interrupts.check()
                for problem in result.problems:
                    report.add(problem)
                report.chunks += result.chunks
                report.bytes += result.bytes
                report.samples += result.samples
                done += size
                if progress is not None:
                    progress(done, total)
        except BaseException:
            for _, fut in pending:
                fut.cancel()
            raise
