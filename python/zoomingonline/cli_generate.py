"""``zoomingonline generate``: parse the options and call :func:`zoomingonline.generate.generate`.

The command is registered on the ``zoomingonline`` group in ``cli.py``; it imports the
group's helpers only when it runs, so the two modules can import each other in any order.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import click

from zoomingonline.generate import SIGNALS
from zoomingonline.store import CNAMES as CODECS
from zoomingonline.store import DEFAULT_RAW_CHUNK
from zoomingonline.stores import DEFAULT_VIEWER

__all__ = ["generate_command"]


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


@click.command(
    "generate",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="OUT.zarr: a store for the viewer; OUT.h5: an HDF5 recording in the users' layout.",
)
@click.option("--channels", type=WHOLE, help="Channels.  [default: 2]")
@click.option("--trcs", type=WHOLE, help="Trc files (captures) per channel.  [default: 1]")
@click.option("--segments", type=WHOLE, help="Segments per trc file.  [default: 3]")
@click.option(
    "--samples", type=WHOLE, help="Samples per segment, e.g. 1e8 (2 ns each).  [default: 1e8]"
)
@click.option(
    "--signal",
    default="sine",
    show_default=True,
    metavar="[" + "|".join(SIGNALS) + "]",
    help="Base signal, 50 Hz.",
)
@click.option(
    "--seed",
    type=WHOLE,
    help="Seed, 0 to 2**64-1: the same seed and options give the same bytes.  [default: random]",
)
@click.option(
    "--minimal",
    is_flag=True,
    help="A small recording made in a second: 2 x 3 x 5 x 1e6 (sizes given explicitly win).",
)
@click.option(
    "--codec",
    type=click.Choice(CODECS),
    default="zstd",
    show_default=True,
    help="Blosc compressor of a store.",
)
@click.option(
    "--clevel",
    type=click.IntRange(0, 9),
    default=3,
    show_default=True,
    help="Compression level of a store.",
)
@click.option(
    "--raw-chunk",
    type=click.IntRange(min=1),
    default=DEFAULT_RAW_CHUNK,
    show_default=True,
    help="Samples per raw chunk of a store.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Compressor threads for a store (0: one per core).",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing OUT once the new one is done.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary.")
@click.option(
    "--viewer", default=DEFAULT_VIEWER, show_default=True, help="Viewer base URL for the link."
)
def generate_command(
    output: Path,
    channels: int | None,
    trcs: int | None,
    segments: int | None,
    samples: int | None,
    signal: str,
    seed: int | None,
    minimal: bool,
    codec: str,
    clevel: int,
    raw_chunk: int,
    jobs: int,
    overwrite: bool,
    quiet: bool,
    viewer: str,
) -> None:
    """Write a realistic synthetic oscilloscope recording to OUT.zarr or OUT.h5.

    int16 samples (channels x trc files x segments x samples, 2 ns apart) of a 50 Hz sine,
    square, sawtooth or pulse signal with timing jitter, a decaying oscillation at
    443.5-443.75 us, DC drift, noise, three glitches per segment and per-channel gains and
    offsets: the original generator's model, computed in Rust and streamed block by
    block, so memory stays small whatever the size. The output appears only when
    complete.

    \b
    Examples:
      zoomingonline generate -o demo.zarr --minimal
      zoomingonline generate -o run.h5 --signal square --seed 42
      zoomingonline convert run.h5
    """
    from zoomingonline.cli import _progress_bar
    from zoomingonline.errors import ZoomingOnlineError
    from zoomingonline.generate import generate

    try:
        with _progress_bar(2, "generate", quiet) as progress:
            summary = generate(
                output,
                channels=channels,
                trcs=trcs,
                segments=segments,
                samples=samples,
                signal=signal,
                seed=seed,
                minimal=minimal,
                overwrite=overwrite,
                codec=codec,
                clevel=clevel,
                raw_chunk=raw_chunk,
                jobs=jobs,
                progress=progress,
            )
    except ZoomingOnlineError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        raise click.ClickException("interrupted; nothing was written") from None
    if not quiet:
        _print_summary(summary, viewer)


def _print_summary(summary: Any, viewer: str) -> None:
    from zoomingonline.stores import viewer_url

    out = summary.output
    shape = " x ".join(f"{v:,}" for v in summary.shape)
    click.echo(
        f"{out}: {shape} int16 samples, {summary.signal}, seed {summary.seed}\n"
        f"  {summary.bytes_samples / 1e6:,.1f} MB of samples, {summary.bytes_out / 1e6:,.1f} MB"
        f" written, {summary.seconds:.2f} s, {summary.throughput / 1e6:,.0f} MB/s"
    )
    if summary.kind == "zarr":
        bins = ", ".join(str(lv["bin"]) for lv in summary.levels)
        url = f"http://127.0.0.1:8000/{Path(out).name}"
        click.echo(
            f"  {len(summary.levels)} overview levels (bins {bins})\n"
            f"View it: run `zoomingonline serve {shlex.quote(str(Path(out).resolve().parent))}`,"
            f" then open\n  {viewer_url(url, viewer)}"
        )
    else:
        click.echo(f"Convert it for the viewer: zoomingonline convert {out}")
    c, t, s, n = summary.shape
    click.echo(
        f"Same samples again: zoomingonline generate -o {out} --channels {c} --trcs {t}"
        f" --segments {s} --samples {n} --signal {summary.signal} --seed {summary.seed}"
    )
