"""The zoomingonline store format (version 1), written in one place.

The format's contract is ``docs/format.md``. A store is a Zarr group (format 2) holding
``raw`` (C, T, S, N), the samples unchanged, and ``overview/k`` (C, T, S, 2, n_k), the exact
min/max of bins of ``raw``, coarsest level first. :class:`StoreWriter` builds one under a
temporary name (:class:`~zoomingonline.outputs.AtomicOutput`), streaming segments block by
block through the Rust kernel and a pool of compressor threads, and renames it into place
only when it is complete.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
import os
import threading
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from zoomingonline import _defaults, interrupts
from zoomingonline._core import __version__
from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.outputs import AtomicOutput
from zoomingonline.pyramid import (
    DEFAULT_FACTOR,
    DEFAULT_MIN_BIN,
    DEFAULT_TARGET,
    SUPPORTED_DTYPES,
    PyramidPlan,
    minmax_pyramid_into,
    n_bins,
    plan_pyramid,
)

__all__ = [
    "DEFAULT_RAW_CHUNK",
    "FORMAT_VERSION",
    "CodecSpec",
    "StoreLayout",
    "StoreWriter",
    "read_into_fn",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
#: Samples per raw chunk: 2 MiB of int16, what the viewer downloads per zoom step.
DEFAULT_RAW_CHUNK = _defaults.RAW_CHUNK
#: Bins per chunk of the finer overview levels (rounded so chunks nest in coarsest bins):
#: a reader's window of any span then reads at most two chunks of about 30 kB.
DEFAULT_OVERVIEW_CHUNK = 1 << 14
#: Samples read per block: a few raw chunks.
DEFAULT_BLOCK_SAMPLES = 1 << 22

#: Blosc's shuffle filter codes.
SHUFFLES = _defaults.SHUFFLES
#: Blosc compressors the viewer's Zarr library decodes.
CNAMES = _defaults.CNAMES

#: The root attributes the format defines (docs/format.md); copied metadata never uses them.
FORMAT_ATTRS = frozenset(
    (
        "zoomingonline",
        "horiz_interval",
        "vertical_gains",
        "vertical_offsets",
        "horiz_offset",
        "trc",
        "quantized",
    )
)

#: ``read_into(c, t, s, start, out)`` fills ``out`` with ``raw[c, t, s, start:start+len(out)]``.
ReadInto = Callable[[int, int, int, int, npt.NDArray[Any]], None]
#: ``progress(samples)`` is called with each increment of samples written.
Progress = Callable[[int], None]
#: ``progress(done, total)``: samples written so far and in all, what the jobs report.
RunProgress = Callable[[int, int], None]


def progress_counter(total: int, progress: RunProgress | None) -> Progress:
    """A :data:`Progress` that adds up increments and reports ``progress(done, total)``."""
    done = 0

    def step(k: int) -> None:
        nonlocal done
        done += k
        if progress is not None:
            progress(done, total)

    return step


@dataclass(frozen=True)
class CodecSpec:
    """A Blosc codec: Blosc is the one the viewer's Zarr library decodes.

    The raw samples default to zstd level 3 with bit shuffle; the overview levels to
    :data:`OVERVIEW_CODEC`.
    """

    cname: str = _defaults.RAW_CODEC[0]
    clevel: int = _defaults.RAW_CODEC[1]
    shuffle: str = _defaults.RAW_CODEC[2]

    def __post_init__(self) -> None:
        if self.cname not in CNAMES:
            raise ZoomingOnlineError(
                f"unknown codec {self.cname!r}; choose one of {', '.join(CNAMES)}"
            )
        if not 0 <= self.clevel <= 9:
            raise ZoomingOnlineError(f"compression level must be 0 to 9, not {self.clevel}")
        if self.shuffle not in SHUFFLES:
            raise ZoomingOnlineError(
                f"unknown shuffle {self.shuffle!r}; choose one of {', '.join(SHUFFLES)}"
            )

    def numcodecs(self) -> Any:
        """The numcodecs Blosc instance for this spec."""
        import numcodecs

        return numcodecs.Blosc(cname=self.cname, clevel=self.clevel, shuffle=SHUFFLES[self.shuffle])


#: The overview levels' codec (see :data:`zoomingonline._defaults.OVERVIEW_CODEC`).
OVERVIEW_CODEC = CodecSpec(*_defaults.OVERVIEW_CODEC)


@dataclass(frozen=True)
class StoreLayout:
    """Shape, dtype, chunking and pyramid of a store."""

    shape: tuple[int, int, int, int]
    dtype: np.dtype[Any]
    plan: PyramidPlan
    raw_chunk: int
    overview_chunks: tuple[int, ...]

    @classmethod
    def create(
        cls,
        shape: tuple[int, ...],
        dtype: npt.DTypeLike,
        *,
        raw_chunk: int = DEFAULT_RAW_CHUNK,
        target: int = DEFAULT_TARGET,
        factor: int = DEFAULT_FACTOR,
        min_bin: int = DEFAULT_MIN_BIN,
        overview_chunk: int = DEFAULT_OVERVIEW_CHUNK,
    ) -> StoreLayout:
        """Validate the parameters and plan chunks and levels.

        Raises
        ------
        ZoomingOnlineError
            If the shape, dtype or a parameter cannot make a store.
        """
        if len(shape) != 4:
            raise ZoomingOnlineError(
                f"samples must be 4-D (channels, trc files, segments, samples), not {len(shape)}-D"
            )
        if min(shape) < 1:
            raise ZoomingOnlineError(f"every axis needs at least one element; shape is {shape}")
        dt = np.dtype(dtype)
        native = dt.newbyteorder("=")
        if native not in SUPPORTED_DTYPES:
            names = ", ".join(str(d) for d in SUPPORTED_DTYPES)
            raise ZoomingOnlineError(f"samples of dtype {dt} are not supported; supported: {names}")
        if raw_chunk < 1:
            raise ZoomingOnlineError(f"raw chunk must be at least 1 sample, not {raw_chunk}")
        if overview_chunk < 1:
            raise ZoomingOnlineError(f"overview chunk must be at least 1 bin, not {overview_chunk}")
        try:
            plan = plan_pyramid(shape[3], target=target, factor=factor, min_bin=min_bin)
        except ValueError as exc:
            raise ZoomingOnlineError(str(exc)) from None
        coarsest = plan.bins[0]
        chunks = []
        for k, (b, n) in enumerate(zip(plan.bins, plan.counts, strict=True)):
            if k == 0:
                chunks.append(n)
                continue
            # Chunks of every level cover whole coarsest bins, so one block aligned to the
            # coarsest bin never straddles the chunk of any level.
            step = coarsest // b
            chunks.append(min(n, math.ceil(overview_chunk / step) * step))
        s = (int(shape[0]), int(shape[1]), int(shape[2]), int(shape[3]))
        return cls(
            shape=s,
            dtype=native,
            plan=plan,
            raw_chunk=min(raw_chunk, s[3]),
            overview_chunks=tuple(chunks),
        )

    @property
    def n_segments(self) -> int:
        """Number of segments, C x T x S."""
        return self.shape[0] * self.shape[1] * self.shape[2]

    @property
    def n_samples(self) -> int:
        """Samples in the whole store."""
        return self.n_segments * self.shape[3]

    def level_paths(self) -> list[str]:
        """Array paths of the overview levels, coarsest first."""
        return [f"overview/{k}" for k in range(len(self.plan.bins))]

    @property
    def levels(self) -> list[dict[str, Any]]:
        """The levels as the ``zoomingonline`` attribute lists them: path, bin and bins."""
        return [
            {"path": path, "bin": b, "bins": n}
            for path, b, n in zip(self.level_paths(), self.plan.bins, self.plan.counts, strict=True)
        ]

    def segments(self) -> list[tuple[int, int, int]]:
        """Every (channel, trc, segment) index, in the order the writer streams them."""
        return [
            (c, t, s)
            for c in range(self.shape[0])
            for t in range(self.shape[1])
            for s in range(self.shape[2])
        ]

    def max_bytes(self) -> int:
        """Most bytes a store of this layout can take on disk: every chunk at Blosc's worst
        (16 header bytes more than the data) and a MiB for metadata."""
        segs = self.n_segments
        item = self.dtype.itemsize
        total = segs * n_bins(self.shape[3], self.raw_chunk) * (self.raw_chunk * item + 16)
        for n, chunk in zip(self.plan.counts, self.overview_chunks, strict=True):
            total += segs * n_bins(n, chunk) * (2 * chunk * item + 16)
        return total + (1 << 20)


def _finite_numbers(value: Any, shape: tuple[int, ...], key: str) -> None:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ZoomingOnlineError(f"attribute {key} is not numbers") from None
    if arr.shape != shape:
        raise ZoomingOnlineError(f"attribute {key} has shape {arr.shape}; expected {shape}")
    if not np.isfinite(arr).all():
        raise ZoomingOnlineError(f"attribute {key} holds NaN or infinite values")


def check_attrs(layout: StoreLayout, attrs: Mapping[str, Any]) -> None:
    """Check the root attributes against the format (docs/format.md) before anything is written.

    ``horiz_interval`` must be a positive finite number; ``vertical_gains`` and
    ``vertical_offsets`` finite numbers of shape [C][T]; ``horiz_offset``, if present, a
    finite number or finite numbers of shape [C][T] or [C][T][S]; every value valid JSON
    (no NaN or infinity, which JSON cannot hold and the viewer's reader then drops).

    Raises
    ------
    ZoomingOnlineError
        Naming the first attribute that breaks a rule.
    """
    import json

    c, t, s, _ = layout.shape
    hi = attrs.get("horiz_interval")
    if (
        isinstance(hi, bool)
        or not isinstance(hi, int | float)
        or not (math.isfinite(hi) and hi > 0)
    ):
        raise ZoomingOnlineError(f"horiz_interval must be a positive number of seconds, not {hi!r}")
    for key in ("vertical_gains", "vertical_offsets"):
        if key not in attrs:
            raise ZoomingOnlineError(f"attribute {key} is missing")
        _finite_numbers(attrs[key], (c, t), key)
    if "horiz_offset" in attrs:
        arr = np.asarray(attrs["horiz_offset"], dtype=object)
        shape = next((sh for sh in ((), (c, t), (c, t, s)) if arr.shape == sh), (c, t, s))
        _finite_numbers(attrs["horiz_offset"], shape, "horiz_offset")
    for key, value in attrs.items():
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise ZoomingOnlineError(
                f"attribute {key} has no exact JSON form (NaN, infinity or an object)"
            ) from None


def _jsonable(value: Any) -> Any:
    """``value`` as plain JSON, or raise TypeError/ValueError if it cannot be one exactly."""
    if isinstance(value, bytes):
        return value.decode("utf-8")  # invalid UTF-8: a ValueError, so reported as not copied
    if isinstance(value, np.ndarray) and value.dtype.names:
        return [_jsonable(v) for v in value.reshape(-1)] if value.ndim else _jsonable(value[()])
    if isinstance(value, np.void) and value.dtype.names:
        return {name: _jsonable(value[name]) for name in value.dtype.names}
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()] if value.ndim else _jsonable(value.item())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("non-finite number")
    if isinstance(value, str):
        value.encode("utf-8")  # lone surrogates (undecodable bytes h5py let through) raise
        return value
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    raise TypeError(f"{type(value).__name__} has no JSON form")


def to_json_attrs(attrs: Mapping[str, Any], skipped: list[str], where: str = "") -> dict[str, Any]:
    """Keep the attributes that have an exact JSON form; name the others in ``skipped``."""
    out = {}
    for key, value in attrs.items():
        try:
            out[str(key)] = _jsonable(value)
        except (TypeError, ValueError) as exc:
            skipped.append(f"{where}{key} ({exc})")
    return out


@dataclass
class _Stats:
    bytes_out: int = 0
    chunks: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, n: int) -> None:
        with self.lock:
            self.bytes_out += n
            self.chunks += 1


class FolderSink:
    """A store written as a local folder: built under a temporary name, then renamed.

    The local one of the writer's two sinks (the other is
    :class:`zoomingonline.s3.sink.ObjectSink`); both take the same calls: :meth:`open`
    gives the folder where the writer puts the metadata documents, :meth:`write` takes a
    chunk, :meth:`commit` publishes the store, :meth:`abort` drops it. The output rules
    (what may be replaced, owner records) are :class:`~zoomingonline.outputs.AtomicOutput`'s.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        overwrite: bool,
        inputs: tuple[str | os.PathLike[str], ...] = (),
    ) -> None:
        self._output = AtomicOutput(path, "store", overwrite=overwrite, inputs=inputs)
        self.url: Path = self._output.target
        self._tmp: Path | None = None

    def open(self) -> Path:
        """Claim the temporary store folder (the writer creates it with the metadata)."""
        self._tmp = self._output.begin()
        return self._tmp

    def write(self, key: str, data: bytes) -> None:
        """Write the chunk ``key`` (a path inside the store)."""
        if self._tmp is None:
            raise RuntimeError("the sink is not open")
        try:
            with (self._tmp / key).open("wb") as f:
                f.write(data)
        except OSError as exc:
            raise ZoomingOnlineError(f"cannot write {self.url}: {exc.strerror or exc}") from None

    def commit(self) -> None:
        """Rename the finished store into place."""
        self._output.publish()
        self._tmp = None

    def abort(self) -> None:
        """Remove the temporary store; the target stays as it was."""
        self._output.discard()
        self._tmp = None


class StoreWriter:
    """Build a store under a temporary name beside ``path``; publish it with :meth:`commit`.

    Use it as a context manager: leaving the block with an exception removes the
    temporary store and leaves the target untouched.

    Parameters
    ----------
    path : path-like
        The store to create (a directory named ``*.zarr`` by convention).
    layout : StoreLayout
        Shape, dtype, chunking and pyramid.
    attrs : mapping
        Root attributes (``horiz_interval``, ``vertical_gains``, ... see docs/format.md). The
        ``zoomingonline`` entry is added by the writer.
    codec : CodecSpec
        Compression of ``raw``.
    overview_codec : CodecSpec
        Compression of the overview levels (default :data:`OVERVIEW_CODEC`).
    overwrite : bool
        Replace an existing store at ``path`` when the new one is complete (only a store
        this tool wrote; see :func:`zoomingonline.outputs.check_target`).
    jobs : int
        Compressor threads (0: one per core).
    source : str
        Name of the input, recorded in the attributes.
    inputs : tuple of path-like
        The input files, which the target must not be or hold.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        layout: StoreLayout,
        attrs: Mapping[str, Any],
        *,
        codec: CodecSpec | None = None,
        overview_codec: CodecSpec | None = None,
        overwrite: bool = False,
        jobs: int = 0,
        source: str = "",
        raw_attrs: Mapping[str, Any] | None = None,
        block_samples: int = DEFAULT_BLOCK_SAMPLES,
        inputs: tuple[str | os.PathLike[str], ...] = (),
    ) -> None:
        check_attrs(layout, attrs)
        #: Where the store goes (see :class:`FolderSink`): a local folder, an object store.
        self._sink: Any
        if hasattr(path, "commit") and hasattr(path, "write"):  # a sink made by the caller
            self._sink = path
        elif isinstance(path, str) and path.startswith("s3://"):
            from zoomingonline.s3.sink import ObjectSink

            self._sink = ObjectSink(path, overwrite=overwrite)
        else:
            self._sink = FolderSink(path, overwrite=overwrite, inputs=inputs)
        self.path: Any = self._sink.url
        self.layout = layout
        self.codec = codec or CodecSpec()
        self.overview_codec = overview_codec or OVERVIEW_CODEC
        self.overwrite = overwrite
        self.jobs = jobs if jobs > 0 else (os.cpu_count() or 1)
        self.attrs = dict(attrs)
        self.raw_attrs = dict(raw_attrs or {})
        self.source = source
        n = layout.shape[3]
        coarsest = layout.plan.bins[0]
        # Blocks: whole raw chunks, about block_samples long.
        per_block = max(1, block_samples // layout.raw_chunk)
        self._block = min(per_block, n_bins(n, layout.raw_chunk)) * layout.raw_chunk
        self._carry = coarsest
        self._stats = _Stats()
        #: Block buffers, allocated for the first segment and reused by the others.
        self._buffers: list[npt.NDArray[Any]] = []
        self._tmp: Path | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._compressors = [self.codec.numcodecs(), self.overview_codec.numcodecs()]

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> StoreWriter:
        self.open()
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.abort()
            return
        try:
            self.commit()
        except BaseException:
            self.abort()
            raise

    def open(self) -> None:
        """Open the sink and write every array's and the group's metadata documents."""
        tmp = self._sink.open()
        self._tmp = tmp
        try:
            self._create_arrays(tmp)
        except OSError as exc:
            self.abort()
            raise ZoomingOnlineError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        self._pool = ThreadPoolExecutor(self.jobs, thread_name_prefix="zoomingonline-compress")

    def _create_arrays(self, tmp: Path) -> None:
        import zarr

        lay = self.layout
        comp, ov_comp = self._compressors
        group = zarr.open_group(str(tmp), mode="w-", zarr_format=2)
        attrs = dict(self.attrs)
        attrs["zoomingonline"] = {
            "format_version": FORMAT_VERSION,
            "software_version": __version__,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "source": self.source,
            "pyramid": {
                "factor": lay.plan.factor,
                "target": lay.plan.target,
                "min_bin": lay.plan.min_bin,
                "levels": lay.levels,
            },
        }
        group.attrs.update(attrs)
        raw = group.create_array(
            "raw",
            shape=lay.shape,
            chunks=(1, 1, 1, lay.raw_chunk),
            dtype=lay.dtype,
            compressors=comp,
            fill_value=0,
        )
        if self.raw_attrs:
            raw.attrs.update(self.raw_attrs)
        self._keys: list[Any] = [raw.metadata]
        ov = group.create_group("overview")
        for k, (n, chunk) in enumerate(zip(lay.plan.counts, lay.overview_chunks, strict=True)):
            arr = ov.create_array(
                str(k),
                shape=(*lay.shape[:3], 2, n),
                chunks=(1, 1, 1, 2, chunk),
                dtype=lay.dtype,
                compressors=ov_comp,
                fill_value=0,
            )
            self._keys.append(arr.metadata)

    def commit(self) -> None:
        """Wait for every chunk, then move the finished store to its name."""
        if self._tmp is None:
            raise RuntimeError("the store was not opened")
        self._shutdown(wait=True)
        self._sink.commit()
        self._tmp = None

    def abort(self) -> None:
        """Stop the compressors and drop what the sink holds; the target stays as it was."""
        self._shutdown(wait=True, cancel=True)
        self._sink.abort()
        self._tmp = None

    def _shutdown(self, *, wait: bool, cancel: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=cancel)
            self._pool = None

    @property
    def bytes_out(self) -> int:
        """Compressed bytes written so far."""
        return self._stats.bytes_out

    # -- chunks ----------------------------------------------------------------------------

    def _put(self, array: int, coords: tuple[int, ...], data: npt.NDArray[Any]) -> Future[None]:
        if self._pool is None or self._tmp is None:
            raise RuntimeError("the store is not open")
        prefix = "raw" if array == 0 else f"overview/{array - 1}"
        key = f"{prefix}/{self._keys[array].encode_chunk_key(coords)}"
        compressor = self._compressors[min(array, 1)]
        return self._pool.submit(self._encode_write, compressor, key, data)

    def _encode_write(self, compressor: Any, key: str, data: npt.NDArray[Any]) -> None:
        # numcodecs compresses with the GIL released and one thread per call when it is
        # called from a worker thread: the pool size is the number of busy cores.
        encoded = bytes(compressor.encode(data))
        self._sink.write(key, encoded)
        self._stats.add(len(encoded))

    # -- segments --------------------------------------------------------------------------

    def write_all(self, read_into: ReadInto, progress: Progress | None = None) -> None:
        """Stream every segment of the layout, in order (see :meth:`write_segment`)."""
        for c, t, s in self.layout.segments():
            self.write_segment(c, t, s, read_into, progress)

    def write_segment(
        self, c: int, t: int, s: int, read_into: ReadInto, progress: Progress | None = None
    ) -> None:
        """Stream one segment: read blocks, compute every level, compress every chunk.

        ``read_into(c, t, s, start, out)`` must fill ``out`` with the samples starting at
        ``start``. Blocks are read while the compressor threads work on earlier ones.
        """
        if self._pool is None:
            raise RuntimeError("the store was not opened")
        lay = self.layout
        n = lay.shape[3]
        dtype = lay.dtype
        bins = list(lay.plan.bins)
        coarsest = bins[0]
        counts = lay.plan.counts
        oc = lay.overview_chunks
        covers = [chunk * b for chunk, b in zip(oc, bins, strict=True)]
        stages = [np.zeros((2, chunk), dtype) for chunk in oc]

        carry = self._carry
        block = self._block
        # Blocks in flight: enough to keep every thread busy (a block holds several raw
        # chunks), few enough that memory stays small on machines with many cores.
        if not self._buffers:
            nbuf = min(self.jobs, 8) + 2
            self._buffers = [np.empty(carry + block, dtype) for _ in range(nbuf)]
        # Every buffer is free again when the previous segment has returned.
        free = list(self._buffers)
        inflight: deque[tuple[npt.NDArray[Any], list[Future[None]]]] = deque()
        carry_len = 0
        carry_buf = np.empty(carry, dtype)

        def recycle() -> npt.NDArray[Any]:
            buf, futs = inflight.popleft()
            for fut in futs:
                fut.result()
            return buf

        pos = 0
        while pos < n:
            interrupts.check()
            buf = free.pop() if free else recycle()
            r = min(block, n - pos)
            data = buf[carry : carry + r]
            read_into(c, t, s, pos, data)
            futs: list[Future[None]] = []
            # Raw chunks straight from the block; only the segment's last one is padded.
            raw_chunk = lay.raw_chunk
            for j0 in range(0, r, raw_chunk):
                piece = data[j0 : j0 + raw_chunk]
                if piece.size < raw_chunk:
                    padded = np.zeros(raw_chunk, dtype)
                    padded[: piece.size] = piece
                    piece = padded
                futs.append(self._put(0, (c, t, s, (pos + j0) // raw_chunk), piece))
            # The pyramid runs over whole coarsest bins; the rest waits for the next block.
            start = pos - carry_len
            span = buf[carry - carry_len : carry + r]
            if carry_len:
                span[:carry_len] = carry_buf[:carry_len]
            last = pos + r == n
            aligned = span.size if last else (span.size // coarsest) * coarsest
            a = 0
            while a < aligned:
                absolute = start + a
                stop = min(aligned, min(((absolute // cv) + 1) * cv for cv in covers) - start)
                outs = []
                for k, b in enumerate(bins):
                    off = (absolute % covers[k]) // b
                    outs.append(stages[k][:, off : off + n_bins(stop - a, b)])
                minmax_pyramid_into(span[a:stop], bins, outs)
                end = start + stop
                for k, cv in enumerate(covers):
                    if end % cv == 0 or end == n:
                        idx = (end - 1) // cv
                        used = counts[k] - idx * oc[k] if end == n else oc[k]
                        stage = stages[k]
                        if used < oc[k]:
                            stage[:, used:] = 0
                        futs.append(self._put(k + 1, (c, t, s, 0, idx), stage))
                        stages[k] = np.zeros((2, oc[k]), dtype)
                a = stop
            carry_len = span.size - aligned
            carry_buf[:carry_len] = span[aligned:]
            inflight.append((buf, futs))
            pos += r
            if progress is not None:
                progress(r)
        while inflight:
            recycle()


def read_into_fn(array: Any) -> ReadInto:
    """A ``read_into`` for any 4-D array-like that supports numpy slicing (tests, demos)."""

    def read_into(c: int, t: int, s: int, start: int, out: npt.NDArray[Any]) -> None:
        out[...] = array[c, t, s, start : start + out.size]

    return read_into
