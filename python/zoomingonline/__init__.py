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
import sys
import types
from typing import TYPE_CHECKING, Any

from zoomingonline._core import __version__
from zoomingonline.errors import ZoomingOnlineError

if TYPE_CHECKING:
    from zoomingonline.convert import ConvertSummary, convert, convert_hdf5_to_zarr
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

#: Where each public name lives; each is imported on first use.
_LAZY = {
    "ConvertSummary": "zoomingonline.convert",
    "convert": "zoomingonline.convert",
    "convert_hdf5_to_zarr": "zoomingonline.convert",
    "GenerateSummary": "zoomingonline.generate",
    "SyntheticRecording": "zoomingonline.generate",
    "generate": "zoomingonline.generate",
    "generate_realistic_data": "zoomingonline.generate",
    "save_zarr": "zoomingonline.generate",
    "minmax_pyramid": "zoomingonline.pyramid",
    "minmax_pyramid_into": "zoomingonline.pyramid",
    "plan_pyramid": "zoomingonline.pyramid",
    "serve": "zoomingonline.serve",
    "batch_convert": "zoomingonline.importer",
    "import_paths": "zoomingonline.importer",
    "upload_store": "zoomingonline.s3",
    "upload_to_s3": "zoomingonline.s3",
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
    imported = importlib.import_module(module)
    # `serve` is a callable package: the package itself, so its submodules stay importable.
    value = imported if name == "serve" else getattr(imported, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


#: Modules whose main function has their name: ``zoomingonline.convert`` is the function.
_SHADOWED = frozenset(("convert", "generate"))


class _Package(types.ModuleType):
    """The package module: ``convert`` and ``generate`` name functions here.

    Importing a submodule binds it as an attribute of its package. For the modules whose
    main function has their name, that binding is skipped, so the attribute stays free for
    :func:`__getattr__` to bind the function (as an eager ``from ... import`` would); the
    modules themselves stay reachable through ``sys.modules`` and imports.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
