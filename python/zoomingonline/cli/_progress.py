"""The progress bar of long commands: drawn on a terminal, silent elsewhere."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["progress_bar"]


@contextmanager
def progress_bar(
    bytes_per_sample: int, desc: str, quiet: bool
) -> Iterator[Callable[[int, int], None]]:
    """A ``progress(done, total)`` callback (in samples) drawing a bar with MB/s and ETA."""
    from tqdm import tqdm

    bar: Any = None
    last = 0

    def update(done: int, total: int) -> None:
        nonlocal bar, last
        if bar is None:
            bar = tqdm(
                total=total * bytes_per_sample,
                desc=desc,
                unit="B",
                unit_scale=True,
                unit_divisor=1000,
                # None: draw only on a terminal; piped output stays clean.
                disable=True if quiet else None,
                file=sys.stderr,
                dynamic_ncols=True,
            )
        bar.update((done - last) * bytes_per_sample)
        bar.set_postfix_str(f"{done:,}/{total:,} samples", refresh=False)
        last = done

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()
