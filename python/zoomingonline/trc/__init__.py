"""LeCroy ``.trc`` files: parse, check, stream their samples, and write them for tests.

A ``.trc`` file holds one channel of one capture: an optional ``#9`` plus nine ASCII
digits, the 346-byte ``WAVEDESC`` descriptor (template ``LECROY_2_3``), then the blocks
whose lengths the descriptor gives, in order: USER_TEXT, RES_DESC1, TRIGTIME (16 bytes
per segment: trigger time and trigger offset, float64), RIS_TIME, RES_ARRAY1,
WAVE_ARRAY_1 (the samples, int8 or int16 codes) and WAVE_ARRAY_2. The descriptor's
``COMM_ORDER`` gives the byte order of the whole file.

:func:`read_header` (in :mod:`.header`) validates every length and offset against the
file's size before using any of them, so a corrupt header gives one
:class:`ZoomingOnlineError` line naming the file and the field, never a huge allocation.
:class:`TrcReader` (in :mod:`.runs`) then copies the codes of any block of any segment
into a caller's buffer with positioned reads, in the machine's byte order, unchanged:
nothing is converted to floats and the file is never held in memory.

:func:`find_run` (in :mod:`.runs`) groups a folder of files named like LeCroy's default
``C<channel>--<title>--<number>.trc`` into (channels, trc files); :func:`write_trc` and
:func:`write_run` (in :mod:`.writer`) write files in the same format (``generate --format
trc`` and the tests).
"""

from __future__ import annotations

from zoomingonline.trc.header import (
    DEFAULT_PATTERN,
    MAX_USER_TEXT,
    TEMPLATE,
    WAVEDESC_SIZE,
    TrcHeader,
    is_trc_file,
    read_header,
)
from zoomingonline.trc.runs import TrcReader, TrcRun, find_run, find_trc_inputs
from zoomingonline.trc.writer import descriptor, write_run, write_trc

__all__ = [
    "DEFAULT_PATTERN",
    "MAX_USER_TEXT",
    "TEMPLATE",
    "WAVEDESC_SIZE",
    "TrcHeader",
    "TrcReader",
    "TrcRun",
    "descriptor",
    "find_run",
    "find_trc_inputs",
    "is_trc_file",
    "read_header",
    "write_run",
    "write_trc",
]
