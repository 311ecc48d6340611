"""HDF5 or LeCroy ``.trc`` to Zarr: raw samples plus exact min/max pyramids, streamed.

:func:`convert` takes an HDF5 file with a 4-D dataset, a single ``.trc`` file or a folder
of ``.trc`` files (a run, see :mod:`zoomingonline.trc`), and writes a store through the
one :class:`~zoomingonline.store.StoreWriter`. Samples are read block by block, so memory
stays bounded whatever the input's size. ``quantize="int16"`` turns float samples into
int16 codes with a gain and offset per (channel, trc), which the deployed viewer can show.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from zoomingonline import interrupts
from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.pyramid import DEFAULT_FACTOR, DEFAULT_MIN_BIN, DEFAULT_TARGET
from zoomingonline.store import (
    DEFAULT_BLOCK_SAMPLES,
    DEFAULT_RAW_CHUNK,
    FORMAT_ATTRS,
    CodecSpec,
    RunProgress,
    StoreLayout,
    StoreWriter,
    progress_counter,
    to_json_attrs,
)

__all__ = [
    "ConvertSummary",
    "convert",
    "convert_hdf5_to_zarr",
    "find_samples_dataset",
    "is_trc_input",
    "viewer_warning",
]

log = logging.getLogger(__name__)

#: ``progress(done, total)``: samples written so far and in all.
ConvertProgress = RunProgress

#: Names the store format gives to metadata found in the users' files.
GAIN_NAMES = ("vertical_gain", "vertical_gains")
OFFSET_NAMES = ("vertical_offset", "vertical_offsets")
HORIZ_OFFSET_NAMES = ("horiz_offset",)
HORIZ_INTERVAL_NAMES = ("horiz_interval",)
RESERVED = FORMAT_ATTRS
#: Larger datasets are not copied into the attributes (they would bloat .zattrs).
MAX_ATTR_ELEMENTS = 65536
#: HDF5 chunk cache while converting, so chunked inputs are decompressed once.
CHUNK_CACHE_BYTES = 64 << 20
#: Raw dtypes the deployed viewer draws when zoomed in (it reads raw as 16-bit integers).
VIEWER_DTYPES = ("int8", "uint8", "int16")
#: What ``quantize`` accepts.
QUANTIZE_DTYPES = ("int16",)
#: Largest int16 code used by ``quantize``: the range is symmetric, -32767 to 32767.
QUANT_MAX = 32767
#: Suffixes that make a folder an (invalid) HDF5 input rather than a .trc run.
HDF5_SUFFIXES = (".h5", ".hdf5", ".he5")


@dataclass
class ConvertSummary:
    """What a conversion did.

    Attributes
    ----------
    input, output : Path
        The HDF5 file and the store written.
    dataset : str
        The HDF5 dataset the samples came from.
    shape : tuple of int
        (channels, trc files, segments, samples).
    dtype : str
        The samples' dtype, unchanged.
    levels : list of dict
        ``{"path", "bin", "bins"}`` for each overview level, coarsest first.
    bytes_in, bytes_out : int
        Uncompressed sample bytes read, compressed chunk bytes written.
    seconds : float
        Wall time.
    skipped_metadata : list of str
        Source metadata that has no exact JSON form and was not copied, with the reason.
    ignored : list of str
        Entries of a run folder that are not part of the run.
    quantization_error : float or None
        With ``quantize``: the largest difference, in volts (the input's units times
        its gain), between a quantised sample and its float value.
    warnings : list of str
        What the command line should say, e.g. a raw dtype the deployed viewer cannot show.
    """

    input: Path
    output: Path
    dataset: str
    shape: tuple[int, ...]
    dtype: str
    levels: list[dict[str, Any]]
    bytes_in: int
    bytes_out: int
    seconds: float
    skipped_metadata: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    quantization_error: float | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        """Compression ratio of the samples (overview levels included in the output)."""
        return self.bytes_in / self.bytes_out if self.bytes_out else float("inf")

    @property
    def throughput(self) -> float:
        """Input bytes per second."""
        return self.bytes_in / self.seconds if self.seconds > 0 else float("inf")


def _open_h5(path: Path) -> Any:
    import h5py
    import hdf5plugin  # noqa: F401  (registers the Blosc, LZ4, Zstd... HDF5 filters)

    if not path.exists():
        raise ZoomingOnlineError(f"{path}: no such file")
    if path.is_dir():
        raise ZoomingOnlineError(f"{path} is a folder, not an HDF5 file")
    if not path.is_file():
        # A FIFO, socket or device: reading it could wait forever.
        raise ZoomingOnlineError(f"{path} is not a regular file")
    if not h5py.is_hdf5(path):
        raise ZoomingOnlineError(f"{path} is not an HDF5 file")
    try:
        return h5py.File(path, "r", rdcc_nbytes=CHUNK_CACHE_BYTES)
    except OSError as exc:
        raise ZoomingOnlineError(f"cannot open {path}: {exc}") from None


def _is_numeric(dtype: np.dtype[Any]) -> bool:
    return dtype.kind in "iuf"


def find_samples_dataset(h5: Any, name: str | None = None) -> Any:
    """The dataset holding the samples: ``name``, else ``samples``, else the only 4-D one.

    Raises
    ------
    ZoomingOnlineError
        If there is no such dataset, several candidates, or the one named is not 4-D
        numeric data with samples on every axis.
    """
    import h5py

    datasets: dict[str, Any] = {}
    h5.visititems(
        lambda key, obj: datasets.__setitem__(key, obj) if isinstance(obj, h5py.Dataset) else None
    )
    fname = Path(h5.filename).name
    if name is not None:
        obj = h5.get(name)
        if not isinstance(obj, h5py.Dataset):
            listing = ", ".join(sorted(datasets)) or "none"
            raise ZoomingOnlineError(f"{fname} has no dataset {name!r} (datasets: {listing})")
        dset = obj
    elif isinstance(h5.get("samples"), h5py.Dataset):
        dset = h5["samples"]
    else:
        found = [d for d in datasets.values() if d.ndim == 4 and _is_numeric(d.dtype)]
        if not found:
            listing = ", ".join(f"{k} {v.shape}" for k, v in sorted(datasets.items())) or "none"
            raise ZoomingOnlineError(
                f"{fname} has no 4-D numeric dataset (channels, trc files, segments, samples);"
                f" datasets: {listing}"
            )
        if len(found) > 1:
            names = ", ".join(d.name.lstrip("/") for d in found)
            raise ZoomingOnlineError(
                f"{fname} has several 4-D numeric datasets ({names}); choose one with --dataset"
            )
        dset = found[0]
        log.info("using dataset %s of %s", dset.name, fname)
    label = dset.name.lstrip("/")
    if dset.ndim != 4:
        raise ZoomingOnlineError(
            f"dataset {label!r} of {fname} is {dset.ndim}-D {dset.shape}; expected 4-D"
            " (channels, trc files, segments, samples)"
        )
    if not _is_numeric(dset.dtype):
        raise ZoomingOnlineError(
            f"dataset {label!r} of {fname} holds {dset.dtype}, not numeric samples"
        )
    if min(dset.shape) == 0:
        raise ZoomingOnlineError(f"dataset {label!r} of {fname} is empty: shape {dset.shape}")
    return dset


def _lookup(h5: Any, dset: Any, names: tuple[str, ...]) -> tuple[str, Any] | None:
    """A metadata value by one of its names: a dataset, a root or a samples attribute."""
    import h5py

    for name in names:
        obj = h5.get(name)
        if isinstance(obj, h5py.Dataset) and obj is not dset:
            return name, obj[()]
        for attrs in (h5.attrs, dset.attrs):
            if name in attrs:
                return name, attrs[name]
    return None


def _numbers(value: Any, what: str) -> npt.NDArray[np.float64]:
    """``value`` as float64 numbers, or one error line saying what it holds instead."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        shown = repr(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise ZoomingOnlineError(f"{what} is not numbers: {shown}") from None


def _per_channel_trc(value: Any, shape: tuple[int, int], what: str) -> list[list[float]]:
    arr = _numbers(value, what)
    try:
        full = np.broadcast_to(arr, shape)
    except ValueError:
        raise ZoomingOnlineError(
            f"{what} has shape {arr.shape}; expected (channels, trc files) = {shape}"
        ) from None
    if not np.isfinite(full).all():
        raise ZoomingOnlineError(f"{what} holds NaN or infinite values")
    return [[float(v) for v in row] for row in full]


def read_metadata(
    h5: Any, dset: Any, *, horiz_interval: float | None = None
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """Map the file's metadata to store attributes (docs/format.md).

    Returns the root attributes, the ``raw`` array's attributes (the samples dataset's own)
    and the list of what could not be copied.
    """
    import h5py

    c, t, s, _ = dset.shape
    skipped: list[str] = []
    attrs: dict[str, Any] = {}
    used: set[str] = set()

    if horiz_interval is None:
        found = _lookup(h5, dset, HORIZ_INTERVAL_NAMES)
        if found is None:
            skipped.append("horiz_interval (missing; 1.0 written)")
            horiz_interval = 1.0
        else:
            used.add(found[0])
            try:
                horiz_interval = float(np.asarray(found[1]).reshape(-1)[0])
            except (TypeError, ValueError, IndexError):
                raise ZoomingOnlineError(f"horiz_interval is not a number: {found[1]!r}") from None
    if not (np.isfinite(horiz_interval) and horiz_interval > 0):
        raise ZoomingOnlineError(f"horiz_interval must be a positive number, not {horiz_interval}")
    attrs["horiz_interval"] = float(horiz_interval)

    for names, key, default in (
        (GAIN_NAMES, "vertical_gains", 1.0),
        (OFFSET_NAMES, "vertical_offsets", 0.0),
    ):
        found = _lookup(h5, dset, names)
        if found is None:
            attrs[key] = _per_channel_trc(default, (c, t), key)
        else:
            used.add(found[0])
            attrs[key] = _per_channel_trc(found[1], (c, t), found[0])

    found = _lookup(h5, dset, HORIZ_OFFSET_NAMES)
    if found is not None:
        used.add(found[0])
        arr = _numbers(found[1], found[0])
        if arr.ndim == 0 or arr.size == 1:
            attrs["horiz_offset"] = float(arr.reshape(-1)[0])
        elif arr.shape in ((c, t), (c, t, s)):
            attrs["horiz_offset"] = arr.tolist()
        else:
            skipped.append(
                f"horiz_offset (shape {arr.shape} is not (C, T) = {(c, t)} or (C, T, S))"
            )

    for key, value in to_json_attrs(
        {k: v for k, v in h5.attrs.items() if k not in used}, skipped, "attribute "
    ).items():
        if key in RESERVED:
            skipped.append(f"attribute {key} (name reserved by the store format)")
        else:
            attrs[key] = value

    def visit(name: str, obj: Any) -> None:
        if not isinstance(obj, h5py.Dataset) or obj == dset or name in used:
            return
        if name in RESERVED or name in attrs:
            skipped.append(f"dataset {name} (name taken by another attribute)")
        elif obj.size > MAX_ATTR_ELEMENTS:
            skipped.append(f"dataset {name} ({obj.size} values, too many for an attribute)")
        else:
            try:
                value = obj[()]
            except (OSError, TypeError) as exc:
                skipped.append(f"dataset {name} ({exc})")
                return
            attrs.update(to_json_attrs({name: value}, skipped, "dataset "))

    h5.visititems(visit)
    raw_attrs = to_json_attrs(dict(dset.attrs.items()), skipped, f"{dset.name} attribute ")
    for item in skipped:
        # Also in the summary, which the command line prints.
        log.info("metadata not copied: %s", item)
    return attrs, raw_attrs, skipped


def default_output(input_path: str | os.PathLike[str]) -> Path:
    """``run42.h5`` -> ``run42.zarr`` beside it; a run folder ``run42/`` -> ``run42.zarr``."""
    p = Path(input_path)
    if p.is_dir():
        return p.with_name(p.name + ".zarr")
    return p.with_suffix(".zarr")


def is_trc_input(path: str | os.PathLike[str]) -> bool:
    """Whether ``convert`` reads ``path`` as LeCroy ``.trc`` (a file or a run folder)."""
    from zoomingonline.trc import is_trc_file

    p = Path(path)
    if p.is_dir():
        return p.suffix.lower() not in HDF5_SUFFIXES
    return is_trc_file(p)


def viewer_warning(name: str, dtype: npt.DTypeLike) -> str | None:
    """The one-line warning for a raw dtype the deployed viewer cannot show zoomed in."""
    dt = np.dtype(dtype)
    if dt.name in VIEWER_DTYPES:
        return None
    hint = "; --quantize int16 stores int16 codes instead" if dt.kind == "f" else ""
    return (
        f"{name}: raw will be {dt.name}; the deployed viewer reads raw as 16-bit integers and"
        f" draws every zoomed chart of it as a flat line at 0 V{hint}"
    )


@dataclass
class _Quantizer:
    """Float samples to int16 codes: ``x ~ step * code + mid`` per (channel, trc).

    With the file's gain G and offset O (volts = G x - O) the store's gain is ``G step``
    and its offset ``O - G mid``, so volts = gain x code - offset as before.
    """

    lo: npt.NDArray[np.float64]
    hi: npt.NDArray[np.float64]
    stated: bool
    file_gains: npt.NDArray[np.float64]
    file_offsets: npt.NDArray[np.float64]
    where: str
    max_error: float = 0.0
    scratch: npt.NDArray[np.float64] | None = None

    @property
    def step(self) -> npt.NDArray[np.float64]:
        span = self.hi - self.lo
        return np.where(span > 0, span / (2 * QUANT_MAX), 1.0)

    @property
    def mid(self) -> npt.NDArray[np.float64]:
        return (self.hi + self.lo) / 2

    def gains(self) -> list[list[float]]:
        return (self.file_gains * self.step).tolist()

    def offsets(self) -> list[list[float]]:
        return (self.file_offsets - self.file_gains * self.mid).tolist()

    def into(self, c: int, t: int, x: npt.NDArray[Any], out: npt.NDArray[np.int16]) -> None:
        """Codes of the float block ``x`` into ``out``; keeps the largest error."""
        step = float(self.step[c, t])
        mid = float(self.mid[c, t])
        if self.scratch is None or self.scratch.size < x.size:
            self.scratch = np.empty(x.size, np.float64)
        q = self.scratch[: x.size]
        q[...] = x  # float64 arithmetic throughout, also for float32 samples
        q -= mid
        q /= step
        np.rint(q, out=q)
        if not np.isfinite(q).all():
            raise ZoomingOnlineError(f"{self.where}: samples hold NaN or infinite values")
        if q.size and (q.min() < -QUANT_MAX or q.max() > QUANT_MAX):
            bad = x[np.abs(q) > QUANT_MAX][0]
            raise ZoomingOnlineError(
                f"{self.where}: sample {float(bad)!r} of channel {c}, trc {t} is outside"
                f" --quantize-range {self.lo[c, t]!r} {self.hi[c, t]!r}"
            )
        out[...] = q
        # The store's volts minus the input's, in volts.
        g = float(self.file_gains[c, t])
        q *= step
        q += mid
        q -= x
        err = abs(g) * float(np.abs(q).max()) if q.size else 0.0
        self.max_error = max(self.max_error, err)


def _float_range(
    read: Any, shape: tuple[int, int, int, int], dtype: np.dtype[Any], where: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per (channel, trc) minimum and maximum of the samples: a first streaming pass."""
    cn, tn, sn, n = shape
    lo = np.full((cn, tn), np.inf)
    hi = np.full((cn, tn), -np.inf)
    buf = np.empty(min(n, DEFAULT_BLOCK_SAMPLES), dtype)
    for c in range(cn):
        for t in range(tn):
            for s in range(sn):
                for start in range(0, n, buf.size):
                    interrupts.check()
                    block = buf[: min(buf.size, n - start)]
                    read(c, t, s, start, block)
                    bmin, bmax = float(block.min()), float(block.max())
                    if not (np.isfinite(bmin) and np.isfinite(bmax)):
                        raise ZoomingOnlineError(
                            f"{where}: samples of channel {c}, trc {t}, segment {s} hold NaN"
                            " or infinite values; they cannot be quantised"
                        )
                    lo[c, t] = min(lo[c, t], bmin)
                    hi[c, t] = max(hi[c, t], bmax)
    return lo, hi


def convert(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str] | None = None,
    *,
    dataset: str | None = None,
    codec: str = "zstd",
    clevel: int = 3,
    shuffle: str = "bit",
    overview_codec: str = "lz4",
    overview_clevel: int = 5,
    raw_chunk: int = DEFAULT_RAW_CHUNK,
    target: int = DEFAULT_TARGET,
    factor: int = DEFAULT_FACTOR,
    min_bin: int = DEFAULT_MIN_BIN,
    overwrite: bool = False,
    jobs: int = 0,
    horiz_interval: float | None = None,
    pattern: str | None = None,
    quantize: str | None = None,
    quantize_range: tuple[float, float] | None = None,
    progress: ConvertProgress | None = None,
) -> ConvertSummary:
    """Convert an HDF5 recording or LeCroy ``.trc`` files to a zoomingonline store.

    The samples are streamed block by block: memory stays bounded whatever the segment
    length. Every overview level is the exact min/max of its bins, the partial last bin
    included. The store is built under a temporary name beside ``output`` and renamed when
    complete, so a failed or interrupted run leaves nothing under ``output``.

    Parameters
    ----------
    input : path-like
        An HDF5 file with a 4-D dataset (channels, trc files, segments, samples); a
        LeCroy ``.trc`` file; or a folder of ``.trc`` files named like
        ``C<channel>--<title>--<number>.trc`` (see ``pattern``), one run.
    output : path-like, optional
        Store to write; default: ``input`` with the suffix ``.zarr`` (a folder: its name
        plus ``.zarr``, beside it).
    dataset : str, optional
        HDF5 dataset to convert; default ``samples``, else the only 4-D numeric dataset.
    codec, clevel, shuffle : str, int, str
        Blosc compressor of ``raw`` (zstd, lz4, lz4hc, blosclz, zlib), level 0-9 and
        shuffle (bit, byte, none).
    overview_codec, overview_clevel : str, int
        Blosc compressor and level of the overview levels (same shuffle): lz4 by default,
        several times faster than zstd on min/max rows for about the same size.
    raw_chunk : int
        Samples per chunk of ``raw``.
    target, factor, min_bin : int
        The pyramid: at most ``target`` bins in ``overview/0``, levels finer by
        ``factor``, the finest with bins of ``min_bin`` samples.
    overwrite : bool
        Replace an existing ``output`` once the new store is complete.
    jobs : int
        Compressor threads; 0 means one per core.
    horiz_interval : float, optional
        Seconds between samples, overriding the file's ``horiz_interval``.
    pattern : str, optional
        For a run folder: a regular expression matched against whole file names, with
        the named groups ``channel`` and ``number`` (default: LeCroy's naming).
    quantize : {"int16"}, optional
        Store float samples as int16 codes with a gain and offset per (channel, trc)
        from the range of the samples (a first pass over the data), so that the deployed
        viewer, which reads raw as 16-bit integers, can show them.
    quantize_range : (float, float), optional
        With ``quantize``: the range of the samples (in the input's units) instead of
        the first pass; a sample outside it is an error.
    progress : callable, optional
        Called as ``progress(done, total)`` in samples.

    Returns
    -------
    ConvertSummary

    Raises
    ------
    ZoomingOnlineError
        For every bad input, an existing output without ``overwrite``, or a failed write.
    """
    t0 = time.perf_counter()
    src = Path(input)
    # An s3:// address, or an object sink made by the caller (import --direct).
    remote = (isinstance(output, str) and output.startswith("s3://")) or hasattr(output, "commit")
    dst: Any = output if remote else Path(output) if output is not None else default_output(src)
    spec = CodecSpec(cname=codec, clevel=clevel, shuffle=shuffle)
    ov_spec = CodecSpec(cname=overview_codec, clevel=overview_clevel, shuffle=shuffle)
    bounds = _check_quantize(quantize, quantize_range)
    write = _Writer(
        dst,
        codecs=(spec, ov_spec),
        overwrite=overwrite,
        jobs=jobs,
        plan={"raw_chunk": raw_chunk, "target": target, "factor": factor, "min_bin": min_bin},
        progress=progress,
    )
    if is_trc_input(src):
        if dataset is not None:
            raise ZoomingOnlineError(f"{src} is .trc input; --dataset is for HDF5 files")
        if quantize is not None:
            raise ZoomingOnlineError(
                f"{src} holds int8/int16 codes already; --quantize is for float samples"
            )
        summary = _convert_trc(src, write, pattern, horiz_interval)
    else:
        if pattern is not None:
            raise ZoomingOnlineError(f"{src} is not a .trc run folder; --pattern is for those")
        summary = _convert_hdf5(src, write, dataset, horiz_interval, quantize, bounds)
    summary.seconds = time.perf_counter() - t0
    log.info(
        "wrote %s: %.1f MB in, %.1f MB out, %.2f s",
        dst,
        summary.bytes_in / 1e6,
        summary.bytes_out / 1e6,
        summary.seconds,
    )
    return summary


def _check_quantize(
    quantize: str | None, quantize_range: tuple[float, float] | None
) -> tuple[float, float] | None:
    if quantize is not None and quantize not in QUANTIZE_DTYPES:
        raise ZoomingOnlineError(
            f"cannot quantise to {quantize!r}; choose {', '.join(QUANTIZE_DTYPES)}"
        )
    if quantize_range is None:
        return None
    if quantize is None:
        raise ZoomingOnlineError("--quantize-range needs --quantize int16")
    try:
        lo, hi = (float(v) for v in quantize_range)
    except (TypeError, ValueError):
        raise ZoomingOnlineError(
            f"--quantize-range must be two numbers, not {quantize_range!r}"
        ) from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ZoomingOnlineError(
            f"--quantize-range must be two finite numbers LOW < HIGH, not {lo!r} {hi!r}"
        )
    return lo, hi


@dataclass
class _Writer:
    """What every input shares: the output, codecs, plan and progress."""

    dst: Any  # a Path, an s3:// address or an object sink
    codecs: tuple[CodecSpec, CodecSpec]
    overwrite: bool
    jobs: int
    plan: dict[str, int]
    progress: ConvertProgress | None

    def layout(self, shape: tuple[int, ...], dtype: npt.DTypeLike) -> StoreLayout:
        return StoreLayout.create(shape, dtype, **self.plan)

    def __call__(
        self,
        layout: StoreLayout,
        attrs: dict[str, Any],
        raw_attrs: dict[str, Any],
        read_into: Any,
        source: str,
        inputs: tuple[Path, ...],
    ) -> int:
        writer = StoreWriter(
            self.dst,
            layout,
            attrs,
            raw_attrs=raw_attrs,
            codec=self.codecs[0],
            overview_codec=self.codecs[1],
            overwrite=self.overwrite,
            jobs=self.jobs,
            source=source,
            inputs=inputs,
        )
        with writer:
            writer.write_all(read_into, progress_counter(layout.n_samples, self.progress))
        return writer.bytes_out


def _convert_trc(
    src: Path, write: _Writer, pattern: str | None, horiz_interval: float | None
) -> ConvertSummary:
    from zoomingonline.trc import DEFAULT_PATTERN, TrcReader, find_run

    run = find_run(src, pattern or DEFAULT_PATTERN)
    layout = write.layout(run.shape, run.dtype)
    attrs = run.attrs()
    if horiz_interval is not None:
        if not (math.isfinite(horiz_interval) and horiz_interval > 0):
            raise ZoomingOnlineError(
                f"horiz_interval must be a positive number, not {horiz_interval}"
            )
        attrs["horiz_interval"] = float(horiz_interval)
    log.info(
        "converting %s: %d .trc file(s) %s %s -> %s (%d levels)",
        src,
        len(run.paths()),
        layout.shape,
        layout.dtype,
        write.dst,
        len(layout.plan.bins),
    )
    with TrcReader(run) as reader:
        bytes_out = write(layout, attrs, {}, reader, src.name, (src, *run.paths()))
    return ConvertSummary(
        input=src,
        output=getattr(write.dst, "url", write.dst),
        dataset="WAVE_ARRAY_1",
        shape=layout.shape,
        dtype=str(layout.dtype),
        levels=layout.levels,
        bytes_in=layout.n_samples * layout.dtype.itemsize,
        bytes_out=bytes_out,
        seconds=0.0,
        ignored=list(run.ignored),
    )


def _convert_hdf5(
    src: Path,
    write: _Writer,
    dataset: str | None,
    horiz_interval: float | None,
    quantize: str | None,
    bounds: tuple[float, float] | None,
) -> ConvertSummary:
    with _open_h5(src) as h5:
        dset = find_samples_dataset(h5, dataset)
        dset_name = dset.name.lstrip("/")
        in_dtype = dset.dtype.newbyteorder("=")
        if quantize is not None and in_dtype.kind != "f":
            raise ZoomingOnlineError(
                f"{src.name}[{dset_name}] holds {in_dtype}; --quantize is for float samples"
            )
        layout = write.layout(dset.shape, quantize or dset.dtype)
        attrs, raw_attrs, skipped = read_metadata(h5, dset, horiz_interval=horiz_interval)
        total = layout.n_samples
        log.info(
            "converting %s[%s] %s %s -> %s (%d levels)",
            src,
            dset.name,
            layout.shape,
            layout.dtype,
            write.dst,
            len(layout.plan.bins),
        )

        def read_raw(c: int, t: int, s: int, start: int, out: npt.NDArray[Any]) -> None:
            try:
                dset.read_direct(out, np.s_[c, t, s, start : start + out.size])
            except OSError as exc:
                raise ZoomingOnlineError(
                    f"cannot read {src} at [{c}, {t}, {s}, {start}]: {exc}"
                ) from None

        quant: _Quantizer | None = None
        warnings: list[str] = []
        if quantize is None:
            read_into = read_raw
            line = viewer_warning(src.name, layout.dtype)
            if line is not None:
                log.info("%s", line)  # the command line prints it before converting
                warnings.append(line)
        else:
            quant = _quantizer(src.name, layout.shape, in_dtype, attrs, bounds, read_raw)
            read_into = _quantized_reader(quant, in_dtype, read_raw)
            attrs["vertical_gains"] = quant.gains()
            attrs["vertical_offsets"] = quant.offsets()
            if "quantized" in attrs:
                skipped.append("attribute quantized (name taken by the quantisation record)")
            attrs["quantized"] = {
                "source_dtype": in_dtype.name,
                "ranges": np.stack([quant.lo, quant.hi], axis=-1).tolist(),
                "stated": quant.stated,
            }
        bytes_out = write(layout, attrs, raw_attrs, read_into, src.name, (src,))
    return ConvertSummary(
        input=src,
        output=getattr(write.dst, "url", write.dst),
        dataset=dset_name,
        shape=layout.shape,
        dtype=str(layout.dtype),
        levels=layout.levels,
        bytes_in=total * in_dtype.itemsize,
        bytes_out=bytes_out,
        seconds=0.0,
        skipped_metadata=skipped,
        quantization_error=None if quant is None else quant.max_error,
        warnings=warnings,
    )


def _quantizer(
    name: str,
    shape: tuple[int, int, int, int],
    dtype: np.dtype[Any],
    attrs: dict[str, Any],
    bounds: tuple[float, float] | None,
    read: Any,
) -> _Quantizer:
    cn, tn = shape[:2]
    if bounds is None:
        lo, hi = _float_range(read, shape, dtype, name)
    else:
        lo, hi = np.full((cn, tn), bounds[0]), np.full((cn, tn), bounds[1])
    quant = _Quantizer(
        lo=lo,
        hi=hi,
        stated=bounds is not None,
        file_gains=np.asarray(attrs["vertical_gains"], np.float64),
        file_offsets=np.asarray(attrs["vertical_offsets"], np.float64),
        where=name,
    )
    log.info("quantising %s to int16: steps %s", name, quant.step.tolist())
    return quant


def _quantized_reader(quant: _Quantizer, dtype: np.dtype[Any], read: Any) -> Any:
    scratch: list[npt.NDArray[Any]] = [np.empty(0, dtype)]

    def read_into(c: int, t: int, s: int, start: int, out: npt.NDArray[Any]) -> None:
        if scratch[0].size < out.size:
            scratch[0] = np.empty(out.size, dtype)
        x = scratch[0][: out.size]
        read(c, t, s, start, x)
        quant.into(c, t, x, out)

    return read_into


#: The name the original converter script gave this function.
convert_hdf5_to_zarr = convert
