"""Reading stores back: windows at the right level, raw samples, ``info`` and ``verify``.

>>> rec = zoomingonline.open("run42.zarr")  # or http(s)://... or s3://BUCKET/.../NAME.zarr
>>> w = rec.window(channel=0, trc=0, segment=0, t0=0.0, t1=1e-3)  # doctest: +SKIP
>>> w.level, w.bin, w.first, len(w)  # doctest: +SKIP
('overview/2', 256, 0, 1954)

- :func:`open` takes a local path, an ``http(s)://`` URL or ``s3://`` address
  (``_location.py``) and returns a :class:`Recording` (``recording.py``);
- :meth:`Recording.window` picks a level by the rule of ``docs/format.md`` and reads only
  the chunks of the span; the bins are the stored ones, exact;
- :func:`verify` checks every invariant of the format, every chunk and every bin
  (``verify.py``); :func:`describe` is what ``info`` shows (``info.py``); ``plot.py``
  draws a window with matplotlib.
"""

from __future__ import annotations

from zoomingonline.reader.info import describe
from zoomingonline.reader.recording import Level, Recording, Window, open
from zoomingonline.reader.verify import VerifyReport, hdf5_source, verify

__all__ = [
    "Level",
    "Recording",
    "VerifyReport",
    "Window",
    "describe",
    "hdf5_source",
    "open",
    "verify",
]
