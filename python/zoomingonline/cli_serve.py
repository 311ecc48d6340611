"""``zoomingonline serve``: the command, which parses options and calls the server.

Registered on the group in :mod:`zoomingonline.cli` with ``main.add_command(serve_command)``.
"""

from __future__ import annotations

import ipaddress
import logging
import sys
from pathlib import Path
from typing import Any

import click

from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.serve import ACCESS_LOGGER, DEFAULT_HOST, DEFAULT_PORT
from zoomingonline.stores import DEFAULT_VIEWER


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _print_banner(info: Any) -> None:
    """What the server serves and how to open it, printed once it listens."""
    click.echo(f"Serving {info.directory} at {info.url} (Ctrl-C to stop)")
    if not _is_loopback(info.host):
        click.echo(
            f"  warning: listening on {info.host or 'every interface'}: other machines on the"
            " network can read every file in this folder"
        )
    if info.stores:
        for store in info.stores:
            click.echo(f"  {store.path}\n    data: {store.url}\n    view: {store.viewer}")
    else:
        click.echo("  no stores found (folders with .zgroup or zarr.json)")


@click.command("serve")
@click.argument(
    "directory",
    required=False,
    default=".",
    type=click.Path(file_okay=False, path_type=Path),
)
@click.option(
    "--port",
    "-p",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--host",
    default=DEFAULT_HOST,
    show_default=True,
    help="Address to listen on; 0.0.0.0 opens the folder to the whole network.",
)
@click.option(
    "--allow-origin",
    default="*",
    show_default=True,
    help="Access-Control-Allow-Origin of every response, e.g. https://datamedsci.github.io.",
)
@click.option("--list", "listing", is_flag=True, help="List the entries of folders.")
@click.option(
    "--viewer",
    default=DEFAULT_VIEWER,
    show_default=True,
    help="Viewer base URL for the printed links.",
)
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Processes answering requests (0: one per core, at most 4).",
)
@click.option("--quiet", "-q", is_flag=True, help="No access log.")
def serve_command(
    directory: Path,
    port: int,
    host: str,
    allow_origin: str,
    listing: bool,
    viewer: str,
    workers: int,
    quiet: bool,
) -> None:
    """Serve the stores under DIRECTORY (default: here) over HTTP, for the viewer.

    Every response carries CORS headers, so the hosted ZoomingOnline viewer can open
    `?data=http://127.0.0.1:8000/<store>.zarr`; a link for each store found is printed.
    Many requests are served at once, with byte ranges and cache validation. Only files
    under DIRECTORY can be read, and only from this machine unless --host says otherwise.
    Stop with Ctrl-C.
    """
    from zoomingonline.serve import serve

    access = logging.getLogger(ACCESS_LOGGER)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    saved = (access.level, access.propagate)
    if not quiet:
        access.addHandler(handler)
        access.setLevel(logging.INFO)
        access.propagate = False
    try:
        serve(
            directory,
            host=host,
            port=port,
            allow_origin=allow_origin,
            listing=listing,
            viewer=viewer,
            access_log=not quiet,
            workers=workers,
            ready=_print_banner,
        )
    except ZoomingOnlineError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        access.removeHandler(handler)
        access.setLevel(saved[0])
        access.propagate = saved[1]
    click.echo("Stopped.")
