"""HDF5 to Zarr: the raw samples plus exact min/max pyramids, streamed in bounded memory."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.pyramid import DEFAULT_FACTOR, DEFAULT_MIN_BIN, DEFAULT_TARGET
from zoomingonline.store import (
    DEFAULT_RAW_CHUNK,
    FORMAT_ATTRS,
    CodecSpec,
    RunProgress,
    StoreLayout,
    StoreWriter,
    progress_counter,
    to_json_attrs,
)

__all__ = ["ConvertSummary", "convert", "convert_hdf5_to_zarr", "find_samples_dataset"]

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
    """``run42.h5`` -> ``run42.zarr`` beside it."""
    return Path(input_path).with_suffix(".zarr")


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
    progress: ConvertProgress | None = None,
) -> ConvertSummary:
    """Convert an HDF5 recording to a zoomingonline store (Zarr format 2).

    The samples are streamed block by block: memory stays bounded whatever the segment
    length. Every overview level is the exact min/max of its bins, the partial last bin
    included. The store is built under a temporary name beside ``output`` and renamed when
    complete, so a failed or interrupted run leaves nothing under ``output``.

    Parameters
    ----------
    input : path-like
        HDF5 file with a 4-D dataset (channels, trc files, segments, samples).
    output : path-like, optional
        Store to write; default: ``input`` with the suffix ``.zarr``.
    dataset : str, optional
        Dataset to convert; default ``samples``, else the only 4-D numeric dataset.
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
    with _open_h5(src) as h5:
        dset = find_samples_dataset(h5, dataset)
        dset_name = dset.name.lstrip("/")
        layout = StoreLayout.create(
            dset.shape,
            dset.dtype,
            raw_chunk=raw_chunk,
            target=target,
            factor=factor,
            min_bin=min_bin,
        )
        attrs, raw_attrs, skipped = read_metadata(h5, dset, horiz_interval=horiz_interval)
        total = layout.n_samples
        log.info(
            "converting %s[%s] %s %s -> %s (%d levels)",
            src,
            dset.name,
            layout.shape,
            layout.dtype,
            dst,
            len(layout.plan.bins),
        )

        def read_into(c: int, t: int, s: int, start: int, out: npt.NDArray[Any]) -> None:
            try:
                dset.read_direct(out, np.s_[c, t, s, start : start + out.size])
            except OSError as exc:
                raise ZoomingOnlineError(
                    f"cannot read {src} at [{c}, {t}, {s}, {start}]: {exc}"
                ) from None

        writer = StoreWriter(
            dst,
            layout,
            attrs,
            raw_attrs=raw_attrs,
            codec=spec,
            overview_codec=ov_spec,
            overwrite=overwrite,
            jobs=jobs,
            source=src.name,
            inputs=(src,),
        )
        with writer:
            writer.write_all(read_into, progress_counter(total, progress))
    summary = ConvertSummary(
        input=src,
        output=getattr(dst, "url", dst),
        dataset=dset_name,
        shape=layout.shape,
        dtype=str(layout.dtype),
        levels=layout.levels,
        bytes_in=total * layout.dtype.itemsize,
        bytes_out=writer.bytes_out,
        seconds=time.perf_counter() - t0,
        skipped_metadata=skipped,
    )
    log.info(
        "wrote %s: %.1f MB in, %.1f MB out, %.2f s",
        dst,
        summary.bytes_in / 1e6,
        summary.bytes_out / 1e6,
        summary.seconds,
    )
    return summary


#: The name the original converter script gave this function.
convert_hdf5_to_zarr = convert
