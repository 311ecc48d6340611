"""Synthetic oscilloscope recordings: realistic, fast, reproducible from a seed.

The waveforms are the original ZoomingOnline generator's: int16 ADC samples of shape
(channels, trc files, segments, samples), sampled every 2 ns, made of a 50 Hz base signal
(sine, square, sawtooth or pulse, 0.1 V) with gaussian timing jitter, a decaying
oscillation between 443.5 and 443.75 us, DC drift, 0.01 V of gaussian noise, three
glitches per segment, a channel offset of 0.05 V x channel, and a vertical gain
(1e-4 V/count +- 2 %) and offset (-0.2 V +- 0.01 V) per (channel, trc). The Rust core
(``rust/generate.rs``) computes them block by block; its module documentation has the
exact model.

With ``bits`` (8, 12 or 14) the same volts are digitised by :class:`ScopeModel`, an
oscilloscope's ADC: a 0.4 V screen, ENOB below the nominal, band-limited ADC noise,
8-bit codes left-justified in int16, so the codes compress like real captures.

Every sample is a function of the seed, the options and its position only: the same
seed and options give the same bytes, whatever the block size or the number of threads.
:func:`generate` streams the samples straight into an HDF5 file in the users' layout or
into a zoomingonline store (through the same :class:`~zoomingonline.store.StoreWriter`
as ``convert``), so memory stays at a few blocks whatever the size.

>>> from zoomingonline.generate import generate
>>> summary = generate("demo.zarr", minimal=True, seed=7)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from zoomingonline import _core, interrupts
from zoomingonline._core import MAX_HORIZ_INTERVAL, SIGNALS, __version__
from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.outputs import AtomicOutput, check_target
from zoomingonline.pyramid import DEFAULT_FACTOR, DEFAULT_MIN_BIN, DEFAULT_TARGET
from zoomingonline.scope import SCOPE_ENOB, ScopeModel
from zoomingonline.store import (
    DEFAULT_RAW_CHUNK,
    FORMAT_ATTRS,
    OVERVIEW_CODEC,
    CodecSpec,
    RunProgress,
    StoreLayout,
    StoreWriter,
    progress_counter,
)

__all__ = [
    "DEFAULT_SHAPE",
    "HORIZ_INTERVAL",
    "MINIMAL_SHAPE",
    "SIGNALS",
    "GenerateSummary",
    "SyntheticRecording",
    "generate",
    "generate_realistic_data",
    "save_zarr",
]

log = logging.getLogger(__name__)

#: Seconds between samples (the original's 2 ns).
HORIZ_INTERVAL = 2e-9
#: (channels, trcs, segments, samples) by default: 1.2 GB of int16.
DEFAULT_SHAPE = (2, 1, 3, 100_000_000)
#: The same for ``minimal=True``: 60 MB, made in about a second.
MINIMAL_SHAPE = (2, 3, 5, 1_000_000)
#: Samples generated per block when writing HDF5 (8 MB of int16).
BLOCK_SAMPLES = 1 << 22
#: Largest seed: seeds are unsigned 64-bit integers.
MAX_SEED = 2**64 - 1
#: Largest size of an axis (the disk runs out long before).
MAX_COUNT = 2**62
#: Output suffixes and what they make.
HDF5_SUFFIXES = (".h5", ".hdf5")
ZARR_SUFFIXES = (".zarr",)
#: What ``format`` chooses: a store, an HDF5 file, or a folder of LeCroy .trc files.
FORMATS = ("zarr", "h5", "trc")
#: Sample types of ``format="trc"``.
TRC_DTYPES = ("int16", "int8")
#: Byte orders of ``format="trc"``.
BYTE_ORDERS = {"little": "<", "big": ">"}

#: ``progress(done, total)``: samples written so far and in all.
GenerateProgress = RunProgress


@dataclass(frozen=True)
class SyntheticRecording:
    """A synthetic recording, defined by its shape, base signal and seed.

    Nothing is held in memory: any block of any segment is computed on demand, and is
    the same whenever and however it is asked for.

    Parameters
    ----------
    shape : tuple of int
        (channels, trc files, segments, samples per segment), each at least 1.
    signal : str
        Base signal: ``"sine"``, ``"square"``, ``"sawtooth"`` or ``"pulse"``.
    seed : int
        0 to 2**64 - 1.
    horiz_interval : float
        Seconds between samples (2 ns; at most 1 us).
    bits : {None, 8, 12, 14}
        None: the original model's int16 codes (gain about 1e-4 V per count). 8, 12 or 14:
        the same volts digitised by a scope model (see :class:`ScopeModel`).

    Raises
    ------
    ZoomingOnlineError
        For a bad shape, signal, seed or bits.
    """

    shape: tuple[int, int, int, int]
    signal: str = "sine"
    seed: int = 0
    horiz_interval: float = HORIZ_INTERVAL
    bits: int | None = None
    _synth: _core.SynthRecording = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = ("channels", "trcs", "segments", "samples")
        if len(self.shape) != len(names):
            raise ZoomingOnlineError(
                f"shape must be (channels, trcs, segments, samples), not {self.shape}"
            )
        for name, value in zip(names, self.shape, strict=True):
            _check_count(name, value)
        object.__setattr__(self, "shape", tuple(int(v) for v in self.shape))
        _check_signal(self.signal)
        _check_seed(self.seed)
        if not (
            isinstance(self.horiz_interval, int | float)
            and 0 < self.horiz_interval <= MAX_HORIZ_INTERVAL
        ):
            raise ZoomingOnlineError(
                f"horiz_interval must be more than 0 and at most {MAX_HORIZ_INTERVAL:g} s,"
                f" not {self.horiz_interval}"
            )
        if self.bits is not None and self.bits not in SCOPE_ENOB:
            choices = ", ".join(str(b) for b in SCOPE_ENOB)
            raise ZoomingOnlineError(f"bits must be one of {choices}, not {self.bits!r}")
        synth = _core.SynthRecording(self.seed, self.signal, self.n_samples, self.horiz_interval)
        object.__setattr__(self, "_synth", synth)

    @property
    def scope(self) -> ScopeModel | None:
        """The scope model digitising the volts, if ``bits`` is set."""
        return None if self.bits is None else ScopeModel(self.bits)

    @property
    def n_samples(self) -> int:
        """Samples per segment."""
        return self.shape[3]

    @property
    def nbytes(self) -> int:
        """Bytes of all the int16 samples."""
        return 2 * math.prod(self.shape)

    def read_into(
        self, c: int, t: int, s: int, start: int, out: npt.NDArray[np.int16], parallel: bool = True
    ) -> None:
        """Fill ``out`` with samples ``start : start + len(out)`` of segment ``(c, t, s)``.

        The signature is the ``read_into`` callback of
        :meth:`~zoomingonline.store.StoreWriter.write_segment`. ``out`` must be a
        C-contiguous 1-D int16 array. With ``parallel`` the work is spread over all cores
        (the bytes are the same); the GIL is released meanwhile.
        """
        scope = self.scope
        if scope is not None:
            base = np.empty(out.size, np.int16)
            self._fill(c, t, s, start, base, parallel)
            gain, offset = _core.synth_vertical(self.seed, c, t)
            scope.digitise(self.signal, self.seed, c, t, s, start, base * gain - offset, out)
            return
        self._fill(c, t, s, start, out, parallel)

    def _fill(
        self, c: int, t: int, s: int, start: int, out: npt.NDArray[np.int16], parallel: bool
    ) -> None:
        self._synth.fill(out, (c, t, s), start, parallel)

    def segment(self, c: int, t: int, s: int) -> npt.NDArray[np.int16]:
        """The whole segment ``(c, t, s)`` as a new array."""
        out = np.empty(self.n_samples, np.int16)
        self.read_into(c, t, s, 0, out)
        return out

    def vertical(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Gains (V per count) and offsets (V), each of shape (channels, trcs).

        Volts are ``adc * gain - offset``.
        """
        cn, tn = self.shape[:2]
        scope = self.scope
        if scope is not None:
            gains = np.full((cn, tn), scope.gain)
            offsets = np.array([[-scope.centre(self.signal, c)] * tn for c in range(cn)])
            return gains, offsets
        pairs = [_core.synth_vertical(self.seed, c, t) for c in range(cn) for t in range(tn)]
        gains = np.array([g for g, _ in pairs], np.float64).reshape(cn, tn)
        offsets = np.array([o for _, o in pairs], np.float64).reshape(cn, tn)
        return gains, offsets

    def glitches(self, c: int, t: int, s: int) -> list[tuple[int, float]]:
        """The glitches of segment ``(c, t, s)``: ``(sample index, volts added)``."""
        return _core.synth_glitches(self.seed, self.n_samples, c, t, s)

    def event(self) -> tuple[int, npt.NDArray[np.float64]]:
        """The event: its first sample index and the volts it adds from there.

        The array is empty when the segments end before the event does.
        """
        start, volts = _core.synth_event(self.n_samples, self.horiz_interval)
        return start, np.asarray(volts, np.float64)

    def attrs(self) -> dict[str, Any]:
        """Root attributes describing the recording (HDF5- and JSON-compatible)."""
        out: dict[str, Any] = {
            "horiz_interval": float(self.horiz_interval),
            "generator": f"zoomingonline {__version__} generate",
            "signal": self.signal,
            "seed": int(self.seed),
            "description": f"synthetic oscilloscope recording ({self.signal}, seed {self.seed})",
        }
        if self.bits is not None:
            out["scope_bits"] = self.bits
            out["scope_enob"] = SCOPE_ENOB[self.bits]
        return out


@dataclass
class GenerateSummary:
    """What :func:`generate` wrote.

    Attributes
    ----------
    output : Path
        The file, store or folder of .trc files written.
    kind : str
        ``"hdf5"``, ``"zarr"`` or ``"trc"``.
    shape : tuple of int
        (channels, trcs, segments, samples).
    signal : str
        The base signal.
    seed : int
        The seed: the same seed and options give the same bytes.
    bytes_samples : int
        Bytes of the int16 samples.
    bytes_out : int
        Bytes written: the file's size, or the store's compressed chunks.
    seconds : float
        Wall time.
    levels : list of dict
        For a store, ``{"path", "bin", "bins"}`` of each overview level, coarsest first.
    """

    output: Path
    kind: Literal["hdf5", "zarr", "trc"]
    shape: tuple[int, int, int, int]
    signal: str
    seed: int
    bytes_samples: int
    bytes_out: int
    seconds: float
    levels: list[dict[str, Any]] = field(default_factory=list)
    dtype: str = "int16"
    files: list[Path] = field(default_factory=list)
    byte_order: str = "little"
    bits: int | None = None

    @property
    def throughput(self) -> float:
        """Sample bytes per second."""
        return self.bytes_samples / self.seconds if self.seconds > 0 else float("inf")


def _check_count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ZoomingOnlineError(f"{name} must be a whole number, not {value!r}")
    if value < 1:
        raise ZoomingOnlineError(f"{name} must be at least 1, not {value}")
    if value > MAX_COUNT:
        raise ZoomingOnlineError(f"{name} must be at most 2**62, not {value}")


def _check_signal(signal: object) -> None:
    if signal not in SIGNALS:
        raise ZoomingOnlineError(
            f"unknown signal type {signal!r}; choose one of {', '.join(SIGNALS)}"
        )


def _check_seed(seed: object) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ZoomingOnlineError(f"seed must be a whole number, not {seed!r}")
    if not 0 <= seed <= MAX_SEED:
        raise ZoomingOnlineError(f"seed must be between 0 and 2**64 - 1, not {seed}")


def _resolve_shape(
    channels: int | None, trcs: int | None, segments: int | None, samples: int | None, minimal: bool
) -> tuple[int, int, int, int]:
    base = MINIMAL_SHAPE if minimal else DEFAULT_SHAPE
    given = (channels, trcs, segments, samples)
    shape = tuple(b if v is None else v for v, b in zip(given, base, strict=True))
    for name, value in zip(("channels", "trcs", "segments", "samples"), shape, strict=True):
        _check_count(name, value)
    return (int(shape[0]), int(shape[1]), int(shape[2]), int(shape[3]))


def _output_kind(path: Path, format: str | None = None) -> Literal["hdf5", "zarr", "trc"]:
    if format is not None:
        if format not in FORMATS:
            raise ZoomingOnlineError(
                f"unknown format {format!r}; choose one of {', '.join(FORMATS)}"
            )
        return "hdf5" if format == "h5" else format  # type: ignore[return-value]
    suffix = path.suffix.lower()
    if suffix in HDF5_SUFFIXES:
        return "hdf5"
    if suffix in ZARR_SUFFIXES:
        return "zarr"
    raise ZoomingOnlineError(
        f"cannot tell what to write from {path.name!r}: name it *.zarr (a store for the"
        " viewer) or *.h5 (an HDF5 recording for convert), or give --format trc"
    )


def _needed_bytes(layout_or_shape: StoreLayout | tuple[int, ...]) -> int:
    """Most bytes the output can take: the samples, and for a store its overview levels
    and Blosc's 16-byte header per chunk (Blosc never stores more than that)."""
    if isinstance(layout_or_shape, StoreLayout):
        return layout_or_shape.max_bytes()
    return 2 * math.prod(layout_or_shape) + (1 << 20)


def _check_space(path: Path, needed: int) -> None:
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError as exc:
        raise ZoomingOnlineError(f"cannot write {path}: {exc.strerror or exc}") from None
    if needed > free:
        raise ZoomingOnlineError(
            f"{path.name} needs up to {_size(needed)} but {path.parent} has {_size(free)} free;"
            " choose fewer or shorter segments, or another place"
        )


def _size(n: int) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n} bytes"


def generate(
    output: str | os.PathLike[str],
    *,
    channels: int | None = None,
    trcs: int | None = None,
    segments: int | None = None,
    samples: int | None = None,
    signal: str = "sine",
    seed: int | None = None,
    minimal: bool = False,
    overwrite: bool = False,
    codec: str = "zstd",
    clevel: int = 3,
    shuffle: str = "bit",
    overview_codec: str = OVERVIEW_CODEC.cname,
    overview_clevel: int = OVERVIEW_CODEC.clevel,
    raw_chunk: int = DEFAULT_RAW_CHUNK,
    target: int = DEFAULT_TARGET,
    factor: int = DEFAULT_FACTOR,
    min_bin: int = DEFAULT_MIN_BIN,
    jobs: int = 0,
    attrs: Mapping[str, Any] | None = None,
    format: str | None = None,
    trc_dtype: str = "int16",
    byte_order: str = "little",
    bits: int | None = None,
    progress: GenerateProgress | None = None,
) -> GenerateSummary:
    """Write a synthetic recording to an HDF5 file or a zoomingonline store.

    The samples are computed block by block and written as they come, so memory stays
    at a few blocks whatever the size. The output is built under a temporary name
    beside ``output`` and renamed when complete: a failed or interrupted run leaves
    nothing under ``output``. Everything that can be checked (sizes, signal, seed, path,
    free disk space) is checked before anything is written.

    Parameters
    ----------
    output : path-like
        ``*.h5`` (or ``*.hdf5``): an HDF5 file in the users' layout (``samples``,
        ``vertical_gain``, ``vertical_offset``, ``horiz_offset``, attribute
        ``horiz_interval``), which ``convert`` reads with no options. ``*.zarr``: a
        store with every overview level, written like ``convert`` writes one.
    channels, trcs, segments, samples : int, optional
        The shape; by default (2, 1, 3, 100,000,000), or (2, 3, 5, 1,000,000) with
        ``minimal``. Sizes given explicitly win over ``minimal``.
    signal : str
        Base signal: ``"sine"``, ``"square"``, ``"sawtooth"`` or ``"pulse"``.
    seed : int, optional
        0 to 2**64 - 1. The same seed and options give the same bytes. By default a
        random 32-bit seed, recorded in the output's attributes and the summary.
    minimal : bool
        A small recording made in about a second.
    overwrite : bool
        Replace an existing ``output`` once the new one is complete.
    codec, clevel, shuffle, overview_codec, overview_clevel, raw_chunk, target, factor, \
min_bin, jobs
        For a store: as in :func:`zoomingonline.convert`. Ignored for HDF5.
    attrs : mapping, optional
        Extra root attributes (numbers, strings, lists), e.g. a ``description``.
    format : {"zarr", "h5", "trc"}, optional
        What to write; by default chosen by the suffix of ``output``. ``"trc"``: a folder
        ``output`` of LeCroy ``.trc`` files, one per channel and trc, named
        ``C<channel>--<name>--<number>.trc`` as the oscilloscopes name them, in
        sequence mode when there are several segments (``convert`` reads the folder).
    trc_dtype : {"int16", "int8"}
        For ``"trc"``: the codes' type. int8 needs the 8-bit scope model (``bits=8``,
        the default then).
    byte_order : {"little", "big"}
        For ``"trc"``: COMM_ORDER, the byte order of the whole file.
    bits : {None, 8, 12, 14}
        Digitise the volts with the scope model (:class:`ScopeModel`) of an 8-, 12- or
        14-bit oscilloscope instead of the original model's int16 codes.
    progress : callable, optional
        Called as ``progress(done, total)`` in samples.

    Returns
    -------
    GenerateSummary

    Raises
    ------
    ZoomingOnlineError
        For bad sizes, an unknown signal, a bad seed, an unknown suffix, an output that
        exists without ``overwrite``, an unwritable folder, too little free disk space,
        or a failed write.
    """
    t0 = time.perf_counter()
    shape = _resolve_shape(channels, trcs, segments, samples, minimal)
    _check_signal(signal)
    if seed is None:
        seed = secrets.randbits(32)
        log.info("random seed %d", seed)
    dst = Path(output)
    kind = _output_kind(dst, format)
    if kind == "trc" and trc_dtype == "int8":
        if bits is None:
            bits = 8
        elif bits != 8:
            raise ZoomingOnlineError(f"int8 .trc files hold 8-bit codes, not {bits}-bit ones")
    rec = SyntheticRecording(shape, signal=signal, seed=seed, bits=bits)
    if kind == "trc":
        if trc_dtype not in TRC_DTYPES:
            raise ZoomingOnlineError(
                f"unknown .trc sample type {trc_dtype!r}; choose one of {', '.join(TRC_DTYPES)}"
            )
        if byte_order not in BYTE_ORDERS:
            raise ZoomingOnlineError(
                f"unknown byte order {byte_order!r}; choose one of {', '.join(BYTE_ORDERS)}"
            )
    check_target(dst, "hdf5" if kind == "hdf5" else "store", overwrite=overwrite)
    root_attrs = rec.attrs()
    if attrs:
        taken = sorted(set(attrs) & FORMAT_ATTRS)
        if taken:
            raise ZoomingOnlineError(
                f"attrs may not set {', '.join(taken)}: the recording defines them"
            )
        root_attrs.update(attrs)
    log.info(
        "generating %s %s %s seed %d -> %s", "x".join(map(str, shape)), signal, kind, seed, dst
    )
    files: list[Path] = []
    dtype = "int16"
    if kind == "hdf5":
        _check_space(dst, _needed_bytes(shape))
        levels: list[dict[str, Any]] = []
        bytes_out = _write_hdf5(rec, dst, root_attrs, overwrite=overwrite, progress=progress)
    elif kind == "trc":
        dtype = trc_dtype
        _check_space(dst, _needed_bytes(shape))
        levels = []
        bytes_out, files = _write_trc_run(
            rec,
            dst,
            np.dtype(trc_dtype),
            BYTE_ORDERS[byte_order],
            root_attrs,
            overwrite=overwrite,
            progress=progress,
        )
    else:
        spec = CodecSpec(cname=codec, clevel=clevel, shuffle=shuffle)
        ov_spec = CodecSpec(cname=overview_codec, clevel=overview_clevel, shuffle=shuffle)
        layout = StoreLayout.create(
            shape, np.int16, raw_chunk=raw_chunk, target=target, factor=factor, min_bin=min_bin
        )
        _check_space(dst, _needed_bytes(layout))
        bytes_out = _write_store(
            rec,
            dst,
            layout,
            root_attrs,
            (spec, ov_spec),
            overwrite=overwrite,
            jobs=jobs,
            progress=progress,
        )
        levels = layout.levels
    summary = GenerateSummary(
        output=dst,
        kind=kind,
        shape=shape,
        signal=signal,
        seed=seed,
        bytes_samples=rec.nbytes // (2 // np.dtype(dtype).itemsize),
        bytes_out=bytes_out,
        seconds=time.perf_counter() - t0,
        levels=levels,
        dtype=dtype,
        files=files,
        byte_order=byte_order,
        bits=rec.bits,
    )
    log.info(
        "wrote %s: %.1f MB of samples, %.1f MB written, %.2f s",
        dst,
        summary.bytes_samples / 1e6,
        summary.bytes_out / 1e6,
        summary.seconds,
    )
    return summary


def _vertical_attrs(rec: SyntheticRecording) -> dict[str, Any]:
    gains, offsets = rec.vertical()
    return {
        "vertical_gains": gains.tolist(),
        "vertical_offsets": offsets.tolist(),
        "horiz_offset": np.zeros(rec.shape[:3]).tolist(),
    }


def _write_store(
    rec: SyntheticRecording,
    dst: Path,
    layout: StoreLayout,
    attrs: Mapping[str, Any],
    codecs: tuple[CodecSpec, CodecSpec],
    *,
    overwrite: bool,
    jobs: int,
    progress: GenerateProgress | None,
) -> int:
    store_attrs = {**attrs, **_vertical_attrs(rec)}
    writer = StoreWriter(
        dst,
        layout,
        store_attrs,
        codec=codecs[0],
        overview_codec=codecs[1],
        overwrite=overwrite,
        jobs=jobs,
        source="zoomingonline generate",
    )
    with writer:
        writer.write_all(rec.read_into, progress_counter(layout.n_samples, progress))
    return writer.bytes_out


def _write_hdf5(
    rec: SyntheticRecording,
    dst: Path,
    attrs: Mapping[str, Any],
    *,
    overwrite: bool,
    progress: GenerateProgress | None,
) -> int:
    import h5py

    output = AtomicOutput(dst, "hdf5", overwrite=overwrite)
    tmp = output.begin()
    step = progress_counter(math.prod(rec.shape), progress)
    gains, offsets = rec.vertical()
    try:
        with h5py.File(tmp, "w") as f:
            # Contiguous, uncompressed: what the oscilloscope exports hold, and what
            # convert reads fastest.
            dset = f.create_dataset("samples", shape=rec.shape, dtype=np.int16)
            f["vertical_gain"] = gains
            f["vertical_offset"] = offsets
            f["horiz_offset"] = np.zeros(rec.shape[:3])
            for key, value in attrs.items():
                f.attrs[key] = value
            for where, block in _blocks_ahead(rec):
                interrupts.check()
                dset.write_direct(block, dest_sel=where)
                step(block.size)
        output.publish()
    except OSError as exc:
        raise ZoomingOnlineError(f"cannot write {dst}: {exc.strerror or exc}") from None
    finally:
        output.discard()
    return dst.stat().st_size


def _write_trc_run(
    rec: SyntheticRecording,
    dst: Path,
    dtype: np.dtype[Any],
    order: str,
    attrs: Mapping[str, Any],
    *,
    overwrite: bool,
    progress: GenerateProgress | None,
) -> tuple[int, list[Path]]:
    from zoomingonline.trc import write_run

    gains, offsets = rec.vertical()
    return write_run(
        dst,
        rec.shape,
        rec.read_into,
        dtype=dtype,
        byte_order=order,
        gains=gains,
        offsets=offsets,
        horiz_interval=rec.horiz_interval,
        nominal_bits=rec.bits or 16,
        user_text=str(attrs.get("description", "")),
        overwrite=overwrite,
        progress=progress_counter(math.prod(rec.shape), progress),
    )


def _blocks_ahead(
    rec: SyntheticRecording,
) -> Iterator[tuple[tuple[int | slice, ...], npt.NDArray[np.int16]]]:
    """Every block of the recording in order, as ``(selection, samples)``, each computed
    in a helper thread while the caller writes the one before (two buffers in turn)."""
    from concurrent.futures import Future, ThreadPoolExecutor

    cn, tn, sn, n = rec.shape
    size = min(BLOCK_SAMPLES, n)
    places = (
        (c, t, s, start)
        for c in range(cn)
        for t in range(tn)
        for s in range(sn)
        for start in range(0, n, size)
    )
    buffers = [np.empty(size, np.int16), np.empty(size, np.int16)]

    def make(k: int, c: int, t: int, s: int, start: int) -> npt.NDArray[np.int16]:
        out = buffers[k % 2][: min(size, n - start)]
        rec.read_into(c, t, s, start, out)
        return out

    with ThreadPoolExecutor(1, thread_name_prefix="zoomingonline-generate") as pool:
        first = next(places)
        pending: tuple[tuple[int, int, int, int], Future[npt.NDArray[np.int16]]] | None = (
            first,
            pool.submit(make, 0, *first),
        )
        k = 0
        while pending is not None:
            (c, t, s, start), fut = pending
            block = fut.result()
            k += 1
            nxt = next(places, None)
            pending = None if nxt is None else (nxt, pool.submit(make, k, *nxt))
            yield (c, t, s, slice(start, start + block.size)), block


# -- the original script's functions -------------------------------------------------------


def generate_realistic_data(
    num_samples: int = 1_000_000,
    num_channels: int = 3,
    num_trc_files: int = 2,
    num_segments: int = 5,
    signal_type: str = "sine",
    *,
    seed: int | None = None,
) -> tuple[npt.NDArray[np.int16], float, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The original generator's function: a whole recording in memory.

    Returns ``(samples, horiz_interval, vertical_gains, vertical_offsets)`` with
    ``samples`` of shape (num_channels, num_trc_files, num_segments, num_samples), int16,
    and gains and offsets of shape (num_channels, num_trc_files) (float64, where the
    original returned float32). The samples are those :func:`generate` writes with the
    same seed. It holds everything in memory: for anything large use :func:`generate`.

    Raises
    ------
    ZoomingOnlineError
        For bad sizes, an unknown signal type or a bad seed.
    """
    shape = (num_channels, num_trc_files, num_segments, num_samples)
    for name, value in zip(
        ("num_channels", "num_trc_files", "num_segments", "num_samples"), shape, strict=True
    ):
        _check_count(name, value)
    rec = SyntheticRecording(
        shape,  # type: ignore[arg-type]
        signal=signal_type,
        seed=secrets.randbits(32) if seed is None else seed,
    )
    data = np.empty(rec.shape, np.int16)
    for c, t, s in np.ndindex(rec.shape[:3]):
        rec.read_into(c, t, s, 0, data[c, t, s])
    gains, offsets = rec.vertical()
    return data, rec.horiz_interval, gains, offsets


def save_zarr(
    path: str | os.PathLike[str],
    data: npt.ArrayLike,
    horiz_interval: float,
    vertical_gains: npt.ArrayLike,
    vertical_offsets: npt.ArrayLike,
    *,
    overwrite: bool = True,
    codec: str = "zstd",
    clevel: int = 3,
    shuffle: str = "bit",
    raw_chunk: int = DEFAULT_RAW_CHUNK,
    jobs: int = 0,
) -> Path:
    """The original generator's function: write an in-memory recording as a store.

    Writes the 4-D ``data`` (channels, trcs, segments, samples) with every overview
    level, through the same writer as :func:`zoomingonline.convert`. Like the original,
    it replaces an existing store (``overwrite=False`` refuses instead), but only once the
    new one is complete.

    Returns
    -------
    Path
        The store written.

    Raises
    ------
    ZoomingOnlineError
        For data that is not 4-D numeric, metadata of the wrong shape, or a failed write.
    """
    from zoomingonline.store import read_into_fn

    arr = np.asarray(data)
    layout = StoreLayout.create(arr.shape, arr.dtype, raw_chunk=raw_chunk)
    cn, tn, _, _ = layout.shape
    attrs: dict[str, Any] = {"horiz_interval": float(horiz_interval)}
    for key, value in (("vertical_gains", vertical_gains), ("vertical_offsets", vertical_offsets)):
        v = np.asarray(value, np.float64)
        if v.shape != (cn, tn):
            raise ZoomingOnlineError(f"{key} has shape {v.shape}; expected {(cn, tn)}")
        attrs[key] = v.tolist()
    dst = Path(path)
    if dst.exists() and overwrite:
        log.warning("replacing %s", dst)
    with StoreWriter(
        dst,
        layout,
        attrs,
        codec=CodecSpec(cname=codec, clevel=clevel, shuffle=shuffle),
        overwrite=overwrite,
        jobs=jobs,
        source="zoomingonline save_zarr",
    ) as writer:
        writer.write_all(read_into_fn(arr))
    return dst
