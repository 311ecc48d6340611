"""The ``zoomingonline`` command line: it parses options and calls the library."""

from __future__ import annotations

import logging
import shlex
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from zoomingonline import __version__
from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.pyramid import DEFAULT_FACTOR, DEFAULT_MIN_BIN, DEFAULT_TARGET
from zoomingonline.store import CNAMES as CODECS
from zoomingonline.store import DEFAULT_RAW_CHUNK, SHUFFLES
from zoomingonline.stores import DEFAULT_VIEWER

log = logging.getLogger("zoomingonline")


@contextmanager
def _progress_bar(
    total_bytes_per_sample: int, desc: str, quiet: bool
) -> Iterator[Callable[[int, int], None]]:
    """A ``progress(done, total)`` callback drawing a bar on a terminal, nothing elsewhere."""
    from tqdm import tqdm

    bar: Any = None
    last = 0

    def update(done: int, total: int) -> None:
        nonlocal bar, last
        if bar is None:
            bar = tqdm(
                total=total * total_bytes_per_sample,
                desc=desc,
                unit="B",
                unit_scale=True,
                unit_divisor=1000,
                # None: draw only on a terminal; piped output stays clean.
                disable=True if quiet else None,
                file=sys.stderr,
                dynamic_ncols=True,
            )
        bar.update((done - last) * total_bytes_per_sample)
        bar.set_postfix_str(f"{done:,}/{total:,} samples", refresh=False)
        last = done

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _fail(exc: BaseException) -> click.ClickException:
    return click.ClickException(str(exc))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="zoomingonline")
@click.option("-v", "--verbose", count=True, help="Log progress (-v) or debug details (-vv).")
def main(verbose: int) -> None:
    """Put huge oscilloscope recordings on the web.

    Converts HDF5 recordings (channels x trc files x segments x samples) into Zarr stores
    holding the raw samples and exact min/max pyramids, which the ZoomingOnline viewer
    opens in a browser and zooms from a whole segment down to single samples.

    Start with `zoomingonline demo`, then `zoomingonline convert --help`.
    """
    # A terminated run unwinds like Ctrl-C, so temporary stores are removed.
    signal.signal(signal.SIGTERM, _terminate)
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("zoomingonline").setLevel(level)


def _print_summary(summary: Any, viewer: str, quiet: bool) -> None:
    from zoomingonline.stores import viewer_url

    if quiet:
        return
    out = summary.output
    levels = ", ".join(str(lv["bin"]) for lv in summary.levels)
    click.echo(
        f"{summary.input} [{summary.dataset}] -> {out}\n"
        f"  shape {summary.shape} {summary.dtype}, {len(summary.levels)} overview levels"
        f" (bins {levels})\n"
        f"  {summary.bytes_in / 1e6:,.1f} MB in, {summary.bytes_out / 1e6:,.1f} MB out"
        f" (ratio {summary.ratio:.2f}), {summary.seconds:.2f} s,"
        f" {summary.throughput / 1e6:,.0f} MB/s"
    )
    for item in summary.skipped_metadata:
        click.echo(f"  not copied: {item}")
    url = f"http://127.0.0.1:8000/{Path(out).name}"
    folder = shlex.quote(str(Path(out).resolve().parent))
    click.echo(
        f"View it: run `zoomingonline serve {folder}`, then open\n  {viewer_url(url, viewer)}"
    )


def _codec_options(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--codec",
            type=click.Choice(CODECS),
            default="zstd",
            show_default=True,
            help="Blosc compressor of raw.",
        ),
        click.option(
            "--clevel",
            type=click.IntRange(0, 9),
            default=3,
            show_default=True,
            help="Compression level.",
        ),
        click.option(
            "--shuffle",
            type=click.Choice(tuple(SHUFFLES)),
            default="bit",
            show_default=True,
            help="Blosc shuffle filter.",
        ),
        click.option(
            "--overview-codec",
            type=click.Choice(CODECS),
            default="lz4",
            show_default=True,
            help="Blosc compressor of the overview levels (lz4: fast, about as small).",
        ),
        click.option(
            "--overview-clevel",
            type=click.IntRange(0, 9),
            default=5,
            show_default=True,
            help="Compression level of the overview levels.",
        ),
        click.option(
            "--raw-chunk",
            type=click.IntRange(min=1),
            default=DEFAULT_RAW_CHUNK,
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
        click.option(
            "--jobs",
            "-j",
            type=click.IntRange(min=0),
            default=0,
            show_default=True,
            help="Compressor threads (0: one per core).",
        ),
        click.option(
            "--overwrite", is_flag=True, help="Replace an existing store once the new one is done."
        ),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary."),
        click.option(
            "--viewer",
            default=DEFAULT_VIEWER,
            show_default=True,
            help="Viewer base URL for the printed link.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@main.command()
@click.argument("input", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("output", required=False, type=click.Path(path_type=Path))
@click.option(
    "--dataset",
    help="HDF5 dataset with the samples (default: 'samples', else the only 4-D numeric one).",
)
@click.option(
    "--horiz-interval",
    type=float,
    help="Seconds between samples, if the file lacks or misstates horiz_interval.",
)
@_codec_options
def convert(
    input: Path,
    output: Path | None,
    dataset: str | None,
    horiz_interval: float | None,
    codec: str,
    clevel: int,
    shuffle: str,
    overview_codec: str,
    overview_clevel: int,
    raw_chunk: int,
    target: int,
    factor: int,
    min_bin: int,
    jobs: int,
    overwrite: bool,
    quiet: bool,
    viewer: str,
) -> None:
    """Convert an HDF5 recording INPUT to a Zarr store OUTPUT (default: INPUT.zarr).

    The store holds the raw samples, unchanged, and exact min/max pyramids for the
    ZoomingOnline viewer. Segments are streamed, so memory stays bounded whatever their
    length. The store is written under a temporary name and appears only when complete.
    """
    from zoomingonline.convert import convert as run

    try:
        itemsize = _peek_itemsize(input, dataset)
        with _progress_bar(itemsize, "convert", quiet) as progress:
            summary = run(
                input,
                output,
                dataset=dataset,
                codec=codec,
                clevel=clevel,
                shuffle=shuffle,
                overview_codec=overview_codec,
                overview_clevel=overview_clevel,
                raw_chunk=raw_chunk,
                target=target,
                factor=factor,
                min_bin=min_bin,
                overwrite=overwrite,
                jobs=jobs,
                horiz_interval=horiz_interval,
                progress=progress,
            )
    except ZoomingOnlineError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        raise click.ClickException("interrupted; nothing was written") from None
    _print_summary(summary, viewer, quiet)


def _peek_itemsize(path: Path, dataset: str | None) -> int:
    """Bytes per sample, for the progress bar (errors are reported by convert itself)."""
    try:
        import h5py

        from zoomingonline.convert import find_samples_dataset

        with h5py.File(path, "r") as f:
            return int(find_samples_dataset(f, dataset).dtype.itemsize)
    except Exception:  # noqa: BLE001 - convert reports the real problem
        return 1


@main.command()
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
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary.")
@click.option(
    "--viewer", default=DEFAULT_VIEWER, show_default=True, help="Viewer base URL for the link."
)
@click.option(
    "--serve",
    "then_serve",
    is_flag=True,
    help="Then serve DIRECTORY on http://127.0.0.1:8000 for the viewer, until Ctrl-C.",
)
@click.pass_context
def demo(
    ctx: click.Context,
    directory: Path,
    samples: int,
    overwrite: bool,
    quiet: bool,
    viewer: str,
    then_serve: bool,
) -> None:
    """Make a synthetic recording in DIRECTORY and convert it: the whole job in one go.

    Writes DIRECTORY/demo.h5 (int16 samples, gains, offsets, horiz_interval, as the
    users' files have them), converts it to DIRECTORY/demo.zarr and, with --serve,
    serves it to the viewer.
    """
    from zoomingonline.convert import convert as run
    from zoomingonline.demo import write_demo_hdf5

    try:
        directory.mkdir(parents=True, exist_ok=True)
        h5 = directory / "demo.h5"
        if not quiet:
            click.echo(f"writing {h5} ({6 * samples:,} int16 samples)")
        write_demo_hdf5(h5, samples=samples)
        with _progress_bar(2, "convert", quiet) as progress:
            summary = run(h5, directory / "demo.zarr", overwrite=overwrite, progress=progress)
    except OSError as exc:
        raise _fail(ZoomingOnlineError(f"cannot use {directory}: {exc.strerror or exc}")) from None
    except ZoomingOnlineError as exc:
        raise _fail(exc) from None
    _print_summary(summary, viewer, quiet)
    if then_serve:
        from zoomingonline.cli_serve import serve_command

        ctx.invoke(serve_command, directory=directory, viewer=viewer, quiet=quiet)


def _register() -> None:
    # The jobs' commands live beside their modules; each imports its library lazily.
    from zoomingonline.cli_generate import generate_command
    from zoomingonline.cli_s3 import import_command, upload_command
    from zoomingonline.cli_serve import serve_command

    main.add_command(generate_command)
    main.add_command(upload_command)
    main.add_command(import_command)
    main.add_command(serve_command)


_register()


if __name__ == "__main__":  # pragma: no cover
    main()
