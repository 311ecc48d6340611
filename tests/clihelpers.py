"""Running the command line in-process, and what every failing command must look like."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result
from zoomingonline.cli import main


def run(*args: str | Path) -> Result:
    """``zoomingonline ARGS...`` through click's CliRunner."""
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_one_error(result: Result, exit_code: int = 1) -> str:
    """Exit code, exactly one ``Error:`` line, no traceback; returns that line."""
    assert result.exit_code == exit_code, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    return errors[0]
