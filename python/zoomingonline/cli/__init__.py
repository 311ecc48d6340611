"""The ``zoomingonline`` command line: it parses options and calls the library.

Each command family lives in a module of its own and imports its library when it runs.
Errors and signals are mapped here, once, for every command:

- a :class:`~zoomingonline.errors.ZoomingOnlineError` prints one ``Error:`` line, exit 1;
- SIGINT (Ctrl-C) and SIGTERM end the command at its next safe point
  (:mod:`zoomingonline.interrupts`) with one line, exit 130 or 143.
"""

from __future__ import annotations

import logging

import click

from zoomingonline._core import __version__
from zoomingonline.cli._errors import ZoomingOnlineGroup, on_interrupt

__all__ = ["main", "on_interrupt"]


@click.group(
    cls=ZoomingOnlineGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "-V", "--version", prog_name="zoomingonline")
@click.option("-v", "--verbose", count=True, help="Log progress (-v) or debug details (-vv).")
def main(verbose: int) -> None:
    """Put huge oscilloscope recordings on the web.

    Converts HDF5 recordings (channels x trc files x segments x samples) into Zarr stores
    holding the raw samples and exact min/max pyramids, which the ZoomingOnline viewer
    opens in a browser and zooms from a whole segment down to single samples.

    Start with `zoomingonline demo`, then `zoomingonline convert --help`.

    Ctrl-C or SIGTERM stops any command cleanly (exit 130 or 143): nothing half-written
    is left under an output's name, and uploads resume where they stopped.
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("zoomingonline").setLevel(level)


def _register() -> None:
    from zoomingonline.cli.convert import convert_command, demo_command
    from zoomingonline.cli.generate import generate_command
    from zoomingonline.cli.s3 import import_command, upload_command
    from zoomingonline.cli.serve import serve_command

    for command in (
        convert_command,
        demo_command,
        generate_command,
        upload_command,
        import_command,
        serve_command,
    ):
        main.add_command(command)


_register()


if __name__ == "__main__":  # pragma: no cover
    main()
