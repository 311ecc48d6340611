"""zoomingonline: put huge oscilloscope recordings on the web.

Convert HDF5 recordings (channels x trc files x segments x samples) into Zarr stores
with the raw samples and exact min/max pyramids, ready for the ZoomingOnline viewer.

>>> import zoomingonline
>>> summary = zoomingonline.convert("run42.h5", "run42.zarr")  # doctest: +SKIP
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from zoomingonline.convert import ConvertSummary, convert, convert_hdf5_to_zarr
from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.generate import (
    GenerateSummary,
    SyntheticRecording,
    generate,
    generate_realistic_data,
    save_zarr,
)
from zoomingonline.importer import batch_convert, import_paths
from zoomingonline.pyramid import minmax_pyramid, minmax_pyramid_into, plan_pyramid
from zoomingonline.s3 import upload_store, upload_to_s3
from zoomingonline.serve import serve

try:
    __version__ = version("zoomingonline")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    from zoomingonline._core import __version__

__all__ = [
    "ConvertSummary",
    "GenerateSummary",
    "SyntheticRecording",
    "ZoomingOnlineError",
    "__version__",
    "batch_convert",
    "convert",
    "convert_hdf5_to_zarr",
    "generate",
    "generate_realistic_data",
    "import_paths",
    "minmax_pyramid",
    "minmax_pyramid_into",
    "plan_pyramid",
    "save_zarr",
    "serve",
    "upload_store",
    "upload_to_s3",
]
