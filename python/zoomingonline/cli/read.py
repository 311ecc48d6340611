"""``zoomingonline info``, ``verify`` and ``plot``: parse, call the reader, print."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from zoomingonline.cli._options import quiet_option
from zoomingonline.cli._progress import progress_bar

__all__ = ["info_command", "plot_command", "verify_command"]

#: Problems ``verify`` prints in full before it only counts them.
SHOWN_PROBLEMS = 10

_STORE = click.argument("store")
_ENV_FILE = click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The .env file with S3 credentials and endpoint (default: ./.env, if any).",
)


def _size(n: int | None) -> str:
    if n is None:
        return "unknown over HTTP"
    return f"{n / 1e6:,.1f} MB" if n >= 1e5 else f"{n:,} bytes"


def _codec(codec: dict[str, Any] | None) -> str:
    if not codec:
        return "none"
    shuffle = {0: "no", 1: "byte", 2: "bit"}.get(codec.get("shuffle", -1), "?")
    return f"{codec.get('id')} {codec.get('cname')} level {codec.get('clevel')}, {shuffle} shuffle"


def print_info(info: dict[str, Any]) -> None:
    """The text form of ``zoomingonline info``."""
    c, t, s, n = info["shape"]
    click.echo(f"{info['location']}  (format {info['format_version']})")
    click.echo(
        f"  {c} channels x {t} trc files x {s} segments x {n:,} samples, {info['dtype']},"
        f" {info['horiz_interval']:g} s per sample ({info['duration']:g} s per segment)"
    )
    size = info["size_bytes"]
    objects = f" in {info['objects']:,} objects" if info["objects"] is not None else ""
    click.echo(f"  size {_size(size)}{objects}")
    click.echo("  tree:")
    for node in info["tree"]:
        click.echo(
            f"    {node['path']:<12} {tuple(node['shape'])}  chunks {tuple(node['chunks'])}"
            f" ({node['chunks_per_segment']} per segment)  {_codec(node['codec'])}"
        )
    click.echo("  levels (coarsest first):")
    for level in info["levels"]:
        click.echo(
            f"    {level['path']:<12} bins of {level['bin']:>8,} samples,"
            f" {level['bins']:>10,} bins per segment"
        )
    click.echo("  attributes:")
    for key, value in info["attributes"].items():
        text = json.dumps(value, separators=(",", ":"))
        if len(text) > 100:
            text = text[:97] + "..."
        click.echo(f"    {key}: {text}")
    if info["serve"]:
        click.echo(f"View it: run `{info['serve']}`, then open\n  {info['viewer']}")
    else:
        click.echo(f"View it: {info['viewer']}")


@click.command("info")
@_STORE
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object, for scripts.")
@_ENV_FILE
def info_command(store: str, as_json: bool, env_file: Path | None) -> None:
    """What the store STORE holds: tree, shape, dtype, chunks, codecs, levels, size,
    attributes and the viewer link.

    STORE is a folder, an http(s):// URL or s3://BUCKET/PREFIX/NAME.zarr (credentials
    and endpoint as for upload: environment variables or .env).
    """
    from zoomingonline.reader import open as open_store

    info = open_store(store, env_file=env_file).info()
    if as_json:
        click.echo(json.dumps(info, indent=2))
    else:
        print_info(info)


@click.command("verify")
@_STORE
@click.option(
    "--source",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The recording the store was made from (HDF5): raw must equal its samples.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Worker threads (0: two per core).",
)
@quiet_option
@_ENV_FILE
@click.pass_context
def verify_command(
    ctx: click.Context,
    store: str,
    source: Path | None,
    jobs: int,
    quiet: bool,
    env_file: Path | None,
) -> None:
    """Check that the store STORE is whole and exact.

    Every invariant of the format (metadata, shapes, nesting of the levels), every chunk
    present and decodable, every bin of every level equal to the min/max of the raw
    samples, and with --source raw equal to the input. Local, http(s):// and s3://
    stores. Exit status 0 when all is well, 1 with the problems listed.
    """
    from zoomingonline.reader import open as open_store
    from zoomingonline.reader import verify

    rec = open_store(store, env_file=env_file)
    with progress_bar(rec.dtype.itemsize, "verify", quiet) as progress:
        report = verify(rec, source=source, jobs=jobs, progress=progress)
    for problem in report.problems[:SHOWN_PROBLEMS]:
        click.echo(f"  {problem}")
    more = report.n_problems - min(len(report.problems), SHOWN_PROBLEMS)
    if more > 0:
        click.echo(f"  ... and {more:,} more problem{'s' if more != 1 else ''}")
    click.echo(report.verdict())
    if not report.ok:
        ctx.exit(1)


@click.command("plot")
@_STORE
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default="view.png",
    show_default=True, help="The PNG to write.",
)  # fmt: skip
@click.option("--channel", "-c", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--trc", "-t", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--segment", "-s", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--t0", type=float, help="Start, in seconds from the segment's first sample.")
@click.option("--t1", type=float, help="End, in seconds (default: the end of the segment).")
@click.option(
    "--max-points",
    type=click.IntRange(min=1),
    default=2000,
    show_default=True,
    help="At least this many bins across the picture; fewer samples are drawn raw.",
)
@_ENV_FILE
def plot_command(
    store: str,
    output: Path,
    channel: int,
    trc: int,
    segment: int,
    t0: float | None,
    t1: float | None,
    max_points: int,
    env_file: Path | None,
) -> None:
    """Draw a window of the store STORE as a PNG: the min/max band, and the raw trace
    when zoomed in far enough; time in seconds, voltage in volts (needs the extra
    'plot': pip install 'zoomingonline[plot]')."""
    from zoomingonline.reader import open as open_store
    from zoomingonline.reader.plot import plot_window

    rec = open_store(store, env_file=env_file)
    w = plot_window(rec, output, channel, trc, segment, t0, t1, max_points=max_points)
    click.echo(f"{output}: {w.level} (bins of {w.bin}), samples {w.first:,} to {w.stop - 1:,}")
