"""The defaults of the store format (docs/format.md) and its pyramid, in one place.

Plain values with no imports, so that the command line can show them in ``--help``
without loading numpy; :mod:`zoomingonline.store` and :mod:`zoomingonline.pyramid` take
them from here.
"""

#: Blosc compressors the viewer's Zarr library decodes.
CNAMES = ("zstd", "lz4", "lz4hc", "blosclz", "zlib")
#: Blosc's shuffle filter codes.
SHUFFLES = {"bit": 2, "byte": 1, "none": 0}
#: Codec of ``raw``: (compressor, level, shuffle).
RAW_CODEC = ("zstd", 3, "bit")
#: Codec of the overview levels: lz4 compresses min/max rows almost as well as zstd (they
#: are noisy) at several times the speed, and the viewer reads overview/0 whole.
OVERVIEW_CODEC = ("lz4", 5, "bit")
#: Samples per raw chunk: 2 MiB of int16, what the viewer downloads per zoom step.
RAW_CHUNK = 1 << 20
#: The pyramid's plan: most bins in overview/0, the factor between levels, the finest bin.
DEFAULT_TARGET = 4000
DEFAULT_FACTOR = 4
DEFAULT_MIN_BIN = 64
