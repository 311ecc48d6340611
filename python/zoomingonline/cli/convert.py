"""``zoomingonline convert`` and ``demo``: parse the options and call the library."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import click

from zoomingonline.cli._errors import on_interrupt
from zoomingonline.cli._options import (
    jobs_option,
    overwrite_option,
    quiet_option,
    store_options,
    viewer_option,
)
from zoomingonline.cli._progress import progress_bar

__all__ = ["convert_command", "demo_command", "print_store_summary"]


def print_store_summary(summary: Any, viewer: str) -> None:
    """What a conversion wrote, and the link that shows it."""
    from zoomingonline.stores import served_url, viewer_url

    out = Path(summary.output)
    levels = ", ".join(str(lv["bin"]) for lv in summary.levels)
    click.echo(
        f"{summary.input} [{summary.dataset}] -> {out}\n"
        f"  shape {summary.shape} {summary.dtype}, {len(summary.levels)} overview levels"
        f" (bins {levels})\n"
        f"  {summary.bytes_in / 1e6:,.1f} MB in, {summary.bytes_out / 1e6:,.1f} MB out"
        f" (ratio {summary.ratio:.2f}), {summary.seconds:.2f} s,"
        f" {summary.throughput / 1e6:,.0f} MB/s"
    )
    if summary.quantization_error is not None:
        click.echo(
            f"  quantised to int16: largest error {summary.quantization_error:.3g} V"
            " (volts = gain x code - offset)"
        )
    for item in summary.skipped_metadata:
        click.echo(f"  not copied: {item}")
    if summary.ignored:
        shown = ", ".join(summary.ignored[:10])
        more = f" and {len(summary.ignored) - 10} more" if len(summary.ignored) > 10 else ""
        click.echo(f"  ignored (not part of the run): {shown}{more}")
    folder = shlex.quote(str(out.resolve().parent))
    click.echo(
        f"View it: run `zoomingonline serve {folder}`, then open\n"
        f"  {viewer_url(served_url(out.name), viewer)}"
    )


def _peek_dtype(path: Path, dataset: str | None, pattern: str | None) -> Any:
    """The input samples' dtype, for the progress bar and the viewer warning, or None
    (errors are reported by convert itself)."""
    try:
        from zoomingonline.convert import find_samples_dataset, is_trc_input

        if is_trc_input(path):
            from zoomingonline.trc import DEFAULT_PATTERN, find_run

            return find_run(path, pattern or DEFAULT_PATTERN).dtype
        if not path.is_file():  # a FIFO or device would block the open
            return None
        import h5py

        with h5py.File(path, "r") as f:
            return find_samples_dataset(f, dataset).dtype
    except Exception:  # noqa: BLE001 - convert reports the real problem
        return None


@click.command("convert")
@click.argument("input", type=click.Path(path_type=Path))
@click.argument("output", required=False)
@click.option(
    "--dataset",
    help="HDF5 dataset with the samples (default: 'samples', else the only 4-D numeric one).",
)
@click.option(
    "--horiz-interval",
    type=float,
    help="Seconds between samples, if the file lacks or misstates horiz_interval.",
)
@click.option(
    "--pattern",
    metavar="REGEX",
    help="For a folder of .trc files: names to group, a regular expression with the named"
    " groups channel and number  [default: LeCroy's C<channel>--<title>--<number>.trc].",
)
@click.option(
    "--quantize",
    type=click.Choice(("int16",)),
    help="Store float samples as int16 codes with a gain and offset per channel and trc"
    " (the deployed viewer reads raw as 16-bit integers).",
)
@click.option(
    "--quantize-range",
    type=(float, float),
    metavar="LOW HIGH",
    help="With --quantize: the samples' range, instead of a first pass over the data.",
)
@store_options
@jobs_option
@overwrite_option
@quiet_option
@viewer_option
def convert_command(
    input: Path,
    output: str | None,
    quiet: bool,
    viewer: str,
    dataset: str | None,
    pattern: str | None,
    quantize: str | None,
    **options: Any,
) -> None:
    """Convert a recording INPUT to a Zarr store OUTPUT (default: INPUT.zarr).

    INPUT is an HDF5 file with a 4-D dataset (channels, trc files, segments, samples), a
    LeCroy .trc file, or a folder of .trc files named C<channel>--<title>--<number>.trc
    (one run; other files in it are ignored and listed). The store holds the raw samples,
    unchanged (.trc codes stay int8 or int16), and exact min/max pyramids for the
    ZoomingOnline viewer. Segments are streamed, so memory stays bounded whatever their
    length. The store is written under a temporary name and appears only when complete;
    --overwrite replaces only a store that zoomingonline wrote, never other files.

    OUTPUT may be s3://BUCKET/PREFIX/NAME.zarr: the store is written straight to object
    storage (endpoint and credentials as for upload), the root .zgroup last; run again
    after an interruption, it sends only what is missing.
    """
    from zoomingonline.convert import convert, viewer_warning

    remote = output is not None and output.startswith("s3://")
    target: Any = output if remote or output is None else Path(output)
    if remote:
        on_interrupt("run the same command again to resume")

    dtype = _peek_dtype(input, dataset, pattern)
    if dtype is not None and quantize is None:
        line = viewer_warning(input.name, dtype)
        if line is not None:
            click.echo(f"Warning: {line}", err=True)
    itemsize = 2 if quantize else (dtype.itemsize if dtype is not None else 1)
    with progress_bar(itemsize, "convert", quiet) as progress:
        summary = convert(
            input,
            target,
            dataset=dataset,
            pattern=pattern,
            quantize=quantize,
            progress=progress,
            **options,
        )
    if quiet:
        return
    if remote:
        _print_remote_summary(summary, viewer)
    else:
        print_store_summary(summary, viewer)


def _print_remote_summary(summary: Any, viewer: str) -> None:
    """What a conversion straight to object storage wrote, and its links."""
    from zoomingonline.s3 import resolve_config, store_url
    from zoomingonline.s3.sink import parse_s3_url
    from zoomingonline.stores import viewer_url

    bucket, key = parse_s3_url(str(summary.output))
    url = store_url(resolve_config(bucket), key)
    click.echo(
        f"{summary.input} [{summary.dataset}] -> {summary.output}\n"
        f"  shape {summary.shape} {summary.dtype}, {len(summary.levels)} overview levels\n"
        f"  {summary.bytes_in / 1e6:,.1f} MB in, {summary.bytes_out / 1e6:,.1f} MB out,"
        f" {summary.seconds:.2f} s\n"
        f"  URL:    {url}\n  Viewer: {viewer_url(url, viewer)}"
    )


@click.command("demo")
@click.argument(
    "directory",
    required=False,
    default="zoomingonline-demo",
    type=click.Path(file_okay=False, path_type=Path),
)
@click.option(
    "--samples",
    type=click.IntRange(min=1),
    default=10_000_000,
    show_default=True,
    help="Samples per segment of the demo recording (2 channels x 1 trc x 3 segments).",
)
@click.option("--overwrite", is_flag=True, help="Replace a demo store left by an earlier run.")
@quiet_option
@viewer_option
@click.option(
    "--serve",
    "then_serve",
    is_flag=True,
    help="Then serve DIRECTORY to the viewer on the default port, until Ctrl-C.",
)
@click.option(
    "--plot",
    "picture",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also draw segment 0 of channel 0 as this PNG (needs the extra 'plot').",
)
@click.pass_context
def demo_command(
    ctx: click.Context,
    directory: Path,
    samples: int,
    overwrite: bool,
    quiet: bool,
    viewer: str,
    then_serve: bool,
    picture: Path | None,
) -> None:
    """Make a synthetic recording in DIRECTORY and convert it: the whole job in one go.

    Writes DIRECTORY/demo.h5 (int16 samples, gains, offsets, horiz_interval, as the
    users' files have them), converts it to DIRECTORY/demo.zarr and, with --serve,
    serves it to the viewer.
    """
    from zoomingonline.demo import run_demo

    if not quiet:
        click.echo(f"writing {directory / 'demo.h5'} ({6 * samples:,} int16 samples)")
    with progress_bar(2, "convert", quiet) as progress:
        summary = run_demo(directory, samples=samples, overwrite=overwrite, progress=progress)
    if not quiet:
        print_store_summary(summary, viewer)
    if picture is not None:
        from zoomingonline.reader import open as open_store
        from zoomingonline.reader.plot import plot_window

        plot_window(open_store(summary.output), picture)
        if not quiet:
            click.echo(f"picture of channel 0, trc 0, segment 0: {picture}")
    if then_serve:
        from zoomingonline.cli.serve import serve_command

        ctx.invoke(serve_command, directory=directory, viewer=viewer, quiet=quiet)
