"""``zoomingonline serve``: the command, which parses options and calls the server."""

from __future__ import annotations

import ipaddress
import logging
import sys
from pathlib import Path
from typing import Any

import click

from zoomingonline.stores import DEFAULT_VIEWER, SERVE_HOST, SERVE_PORT


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
            " network can read the stores in this folder"
        )
    if "*" in info.origins:
        click.echo("  warning: --allow-origin '*': any web page you visit can read these stores")
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
    # Checked by the server, which says in one line what is wrong with it.
    type=click.Path(path_type=Path, readable=False),
)
@click.option(
    "--port",
    "-p",
    type=int,
    default=SERVE_PORT,
    show_default=True,
    help="Port to listen on, 0 to 65535 (0: any free port).",
)
@click.option(
    "--host",
    default=SERVE_HOST,
    show_default=True,
    help="Address to listen on; 0.0.0.0 opens the folder to the whole network.",
)
@click.option(
    "--allow-origin",
    "allow_origin",
    multiple=True,
    metavar="ORIGIN",
    help="Also let pages of ORIGIN (scheme://host[:port]) read the stores; repeatable."
    " '*' lets every web page read them.",
)
@click.option(
    "--list",
    "listing",
    is_flag=True,
    help="List the stores, and the folders leading to them, at folder URLs.",
)
@click.option(
    "--viewer",
    default=DEFAULT_VIEWER,
    show_default=True,
    help="Viewer base URL for the printed links; its origin may read the stores.",
)
@click.option(
    "--workers",
    "-w",
    type=int,
    default=0,
    show_default=True,
    help="Processes answering requests (0: one per core, at most 4).",
)
@click.option("--quiet", "-q", is_flag=True, help="No access log.")
def serve_command(
    directory: Path,
    port: int,
    host: str,
    allow_origin: tuple[str, ...],
    listing: bool,
    viewer: str,
    workers: int,
    quiet: bool,
) -> None:
    """Serve the stores under DIRECTORY (default: here) over HTTP, for the viewer.

    The hosted ZoomingOnline viewer can then open
    `?data=http://127.0.0.1:8000/<store>.zarr`; a link for each store found is printed.
    Many requests are served at once, with byte ranges and cache validation.

    \b
    What is served, by default:
      - only the files of Zarr stores under DIRECTORY (folders with .zgroup, .zarray or
        zarr.json): no other file, no dotfile but Zarr's metadata, no store being written;
      - CORS only to pages of the viewer (https://datamedsci.github.io, and the origin of
        --viewer) and of this machine (http://localhost:*, http://127.0.0.1:*,
        http://[::1]:*); other web pages cannot read the answers (--allow-origin adds);
      - only to this machine, unless --host says otherwise.

    Ctrl-C or SIGTERM stops it within 2 seconds, printing `Stopped.` (exit status 0).
    """
    from zoomingonline.serve import ACCESS_LOGGER, serve

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
            allow_origins=allow_origin,
            listing=listing,
            viewer=viewer,
            access_log=not quiet,
            workers=workers,
            ready=_print_banner,
        )
    finally:
        access.removeHandler(handler)
        access.setLevel(saved[0])
        access.propagate = saved[1]
    click.echo("Stopped.")
