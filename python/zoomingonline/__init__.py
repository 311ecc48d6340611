"""zoomingonline: put huge oscilloscope recordings on the web.

Convert HDF5 recordings (channels x trc files x segments x samples) into Zarr stores
with the raw samples and exact min/max pyramids, ready for the ZoomingOnline viewer.
The store format is specified in ``docs/format.md``.

>>> import zoomingonline
>>> summary = zoomingonline.convert("run42.h5", "run42.zarr")  # doctest: +SKIP

``import zoomingonline`` stays cheap: the names whose modules need the HTTP server, the S3
client or Dask are imported on first use (PEP 562).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from zoomingonline._core import __version__

# Eager: they need numpy alone, and their functions share their modules' names.
from zoomingonline.convert import ConvertSummary, convert, convert_hdf5_to_zarr
from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.generate import (
    GenerateSummary,
    SyntheticRecording,
    generate,
    generate_realistic_data,
    save_zarr,
)
from zoomingonline.pyramid import minmax_pyramid, minmax_pyramid_into, plan_pyramid

if TYPE_CHECKING:
    from zoomingonline.serve import serve
    from zoomingonline.upload import batch_convert, import_paths, upload_store, upload_to_s3

#: Where each public name lives.
_LAZY = {
    "serve": "zoomingonline.serve",
    "batch_convert": "zoomingonline.upload",
    "import_paths": "zoomingonline.upload",
    "upload_store": "zoomingonline.upload",
    "upload_to_s3": "zoomingonline.upload",
}

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'zoomingonline' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    # Cached, and it wins over a submodule of the same name (`serve`) that the import
    # has just set as an attribute of the package.
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
