"""``zoomingonline generate``: parse the options and call the generator."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import click

from zoomingonline._core import SIGNALS
from zoomingonline.cli._options import (
    WHOLE,
    jobs_option,
    overwrite_option,
    quiet_option,
    store_options,
    viewer_option,
)
from zoomingonline.cli._progress import progress_bar

__all__ = ["generate_command"]


@click.command(
    "generate",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="OUT.zarr: a store for the viewer; OUT.h5: an HDF5 recording in the users' layout;"
    " with --format trc, a folder OUT of LeCroy .trc files.",
)
@click.option(
    "--format",
    type=click.Choice(("zarr", "h5", "trc")),
    help="What to write  [default: from the suffix of OUT].",
)
@click.option(
    "--trc-dtype",
    type=click.Choice(("int16", "int8")),
    default="int16",
    show_default=True,
    help="With --format trc: the codes' type (COMM_TYPE).",
)
@click.option(
    "--bits",
    type=click.Choice(("8", "12", "14")),
    help="Digitise with the model of an 8-, 12- or 14-bit oscilloscope (ENOB 7, 9, 10.5;"
    " 8-bit codes left-justified in int16)  [default: the original int16 model].",
)
@click.option(
    "--byte-order",
    type=click.Choice(("little", "big")),
    default="little",
    show_default=True,
    help="With --format trc: the files' byte order (COMM_ORDER).",
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
@store_options
@jobs_option
@overwrite_option
@quiet_option
@viewer_option
def generate_command(quiet: bool, viewer: str, bits: str | None, **options: Any) -> None:
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
      zoomingonline generate -o run42 --format trc --segments 100 --samples 1e5
      zoomingonline convert run42
    """
    from zoomingonline.generate import generate

    with progress_bar(2, "generate", quiet) as progress:
        summary = generate(progress=progress, bits=None if bits is None else int(bits), **options)
    if not quiet:
        _print_summary(summary, viewer)


def _print_summary(summary: Any, viewer: str) -> None:
    from zoomingonline.stores import served_url, viewer_url

    out = summary.output
    shape = " x ".join(f"{v:,}" for v in summary.shape)
    click.echo(
        f"{out}: {shape} {summary.dtype} samples, {summary.signal}, seed {summary.seed}\n"
        f"  {summary.bytes_samples / 1e6:,.1f} MB of samples, {summary.bytes_out / 1e6:,.1f} MB"
        f" written, {summary.seconds:.2f} s, {summary.throughput / 1e6:,.0f} MB/s"
    )
    if summary.kind == "zarr":
        bins = ", ".join(str(lv["bin"]) for lv in summary.levels)
        url = served_url(Path(out).name)
        click.echo(
            f"  {len(summary.levels)} overview levels (bins {bins})\n"
            f"View it: run `zoomingonline serve {shlex.quote(str(Path(out).resolve().parent))}`,"
            f" then open\n  {viewer_url(url, viewer)}"
        )
    else:
        if summary.kind == "trc":
            click.echo(f"  {len(summary.files)} .trc files")
        click.echo(f"Convert it for the viewer: zoomingonline convert {shlex.quote(str(out))}")
    c, t, s, n = summary.shape
    extra = "" if summary.bits is None else f" --bits {summary.bits}"
    if summary.kind == "trc":
        extra += f" --format trc --trc-dtype {summary.dtype} --byte-order {summary.byte_order}"
    click.echo(
        f"Same samples again: zoomingonline generate -o {out} --channels {c} --trcs {t}"
        f" --segments {s} --samples {n} --signal {summary.signal} --seed {summary.seed}{extra}"
    )
