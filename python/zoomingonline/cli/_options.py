"""Options shared by several commands, declared once, with the library's defaults."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from zoomingonline._defaults import (
    CNAMES,
    DEFAULT_FACTOR,
    DEFAULT_MIN_BIN,
    DEFAULT_TARGET,
    OVERVIEW_CODEC,
    RAW_CHUNK,
    RAW_CODEC,
    SHUFFLES,
)
from zoomingonline.stores import DEFAULT_VIEWER

__all__ = [
    "WHOLE",
    "jobs_option",
    "overwrite_option",
    "quiet_option",
    "store_options",
    "viewer_option",
]

F = TypeVar("F", bound=Callable[..., Any])


class _WholeNumber(click.ParamType):
    """An integer, also written as ``1e8`` or ``100_000_000``.

    Range checks are left to the library, so a zero or negative size gets the same single
    error line from the command line and from Python.
    """

    name = "integer"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            number = float("nan")
        if number.is_integer():
            return int(number)
        return self.fail(f"{value!r} is not a whole number", param, ctx)


WHOLE = _WholeNumber()


def _apply(f: F, options: list[Callable[[F], F]]) -> F:
    for option in reversed(options):
        f = option(f)
    return f


def store_options(f: F) -> F:
    """How a store is written: codecs, raw chunking and the pyramid's plan."""
    return _apply(
        f,
        [
            click.option(
                "--codec",
                type=click.Choice(CNAMES),
                default=RAW_CODEC[0],
                show_default=True,
                help="Blosc compressor of raw.",
            ),
            click.option(
                "--clevel",
                type=click.IntRange(0, 9),
                default=RAW_CODEC[1],
                show_default=True,
                help="Compression level of raw.",
            ),
            click.option(
                "--shuffle",
                type=click.Choice(tuple(SHUFFLES)),
                default=RAW_CODEC[2],
                show_default=True,
                help="Blosc shuffle filter.",
            ),
            click.option(
                "--overview-codec",
                type=click.Choice(CNAMES),
                default=OVERVIEW_CODEC[0],
                show_default=True,
                help="Blosc compressor of the overview levels (lz4: fast, about as small).",
            ),
            click.option(
                "--overview-clevel",
                type=click.IntRange(0, 9),
                default=OVERVIEW_CODEC[1],
                show_default=True,
                help="Compression level of the overview levels.",
            ),
            click.option(
                "--raw-chunk",
                type=click.IntRange(min=1),
                default=RAW_CHUNK,
                show_default=True,
                help="Samples per chunk of raw (what the viewer downloads per zoom step).",
            ),
            click.option(
                "--target",
                type=click.IntRange(min=1),
                default=DEFAULT_TARGET,
                show_default=True,
                help="Most bins in overview/0, the level the viewer shows for a whole segment.",
            ),
            click.option(
                "--factor",
                type=click.IntRange(min=2),
                default=DEFAULT_FACTOR,
                show_default=True,
                help="Each overview level is finer than the one above by this factor.",
            ),
            click.option(
                "--min-bin",
                type=click.IntRange(min=1),
                default=DEFAULT_MIN_BIN,
                show_default=True,
                help="Samples per bin of the finest level; below it the viewer reads raw.",
            ),
        ],
    )


def jobs_option(f: F) -> F:
    """Compressor threads."""
    return click.option(
        "--jobs",
        "-j",
        type=click.IntRange(min=0),
        default=0,
        show_default=True,
        help="Compressor threads (0: one per core).",
    )(f)


def overwrite_option(f: F) -> F:
    """Replace an output this tool wrote before."""
    return click.option(
        "--overwrite",
        is_flag=True,
        help="Replace an existing output once the new one is complete; only a store or file"
        " that zoomingonline wrote is ever replaced.",
    )(f)


def quiet_option(f: F) -> F:
    """No bar, no summary."""
    return click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary.")(f)


def viewer_option(f: F) -> F:
    """The viewer of the printed links."""
    return click.option(
        "--viewer",
        default=DEFAULT_VIEWER,
        show_default=True,
        help="Viewer base URL for the printed links.",
    )(f)
