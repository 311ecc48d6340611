"""The one mapping of errors and signals for every command of the group."""

from __future__ import annotations

import signal
from typing import Any

import click

from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.interrupts import Interrupted, handling_signals

__all__ = ["ZoomingOnlineGroup", "on_interrupt"]

_NOTE = "zoomingonline.on_interrupt"


def on_interrupt(note: str) -> None:
    """Say what an interrupted run of the current command leaves (printed after the signal)."""
    click.get_current_context().meta[_NOTE] = note


class ZoomingOnlineGroup(click.Group):
    """The command group: runs every command with signals recorded and maps its errors."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with handling_signals():
                return super().invoke(ctx)
        except ZoomingOnlineError as exc:
            raise click.ClickException(str(exc)) from None
        except (Interrupted, KeyboardInterrupt) as exc:
            code = exc.exit_code if isinstance(exc, Interrupted) else 128 + signal.SIGINT
            note = ctx.meta.get(_NOTE, "nothing was written")
            click.echo(f"Error: interrupted by {signal.Signals(code - 128).name}; {note}", err=True)
            ctx.exit(code)
