"""SIGINT and SIGTERM at random moments end every long command, every time.

Each trial starts the real command in a subprocess, waits until its work has begun (its
``-v`` log says so), sends SIGINT or SIGTERM at a random moment of the next
:data:`WINDOW` seconds, and checks what a user would: exit 130 or 143, exactly one line on
stderr, nothing under the target's name and no temporary output left. The work is sized to
take several times longer than the window even on a fast, idle machine, so every signal
lands mid-run; a swallowed one (the run goes on and exits 0) fails the test.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

#: Trials per kind of run: 62 in all.
TRIALS = {"generate-h5": 18, "generate-zarr": 16, "convert": 16}
UPLOAD_TRIALS = 12
#: Seconds after the work began within which the signal is sent.
WINDOW = 0.8
#: Samples per segment: 2 x 1 x 3 (4 for HDF5) segments, at least 1.2 GB of int16.
SAMPLES = "1e8"


def command(kind: str, out: Path, source: Path) -> list[str]:
    base = [sys.executable, "-m", "zoomingonline.cli", "-v"]
    if kind == "generate-h5":
        return [*base, "generate", "-o", str(out), "--samples", SAMPLES, "--segments", "4", "-q"]
    if kind == "generate-zarr":
        return [*base, "generate", "-o", str(out), "--samples", SAMPLES, "-q"]
    return [*base, "convert", str(source), str(out), "-q"]


def start(args: Sequence[str], marker: str) -> tuple[subprocess.Popen[bytes], float]:
    """Start the command; return it once its log says the work began, with that time."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    seen = b""
    while marker.encode() not in seen:
        line = proc.stderr.readline()
        if not line:
            proc.wait()
            raise AssertionError(f"the run ended before it began its work: {seen!r}")
        seen += line
    return proc, time.monotonic()


def marker_for(kind: str) -> str:
    """The start of the -v log line that says the work has begun."""
    return "converting " if kind == "convert" else "generating "


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("signals") / "in.h5"
    args = [sys.executable, "-m", "zoomingonline.cli", "generate", "-o", str(path), "-q"]
    subprocess.run([*args, "--samples", SAMPLES, "--seed", "3"], check=True)
    return path


@pytest.mark.parametrize("kind", sorted(TRIALS))
def test_signals_at_random_moments_always_end_the_run(
    kind: str, tmp_path: Path, source: Path
) -> None:
    rng = random.Random(f"{kind}-{os.getpid()}")  # noqa: S311 - timing, not secrets
    outcomes = []
    for trial in range(TRIALS[kind]):
        folder = tmp_path / f"trial{trial}"
        folder.mkdir()
        out = folder / ("out.h5" if kind == "generate-h5" else "out.zarr")
        sig = rng.choice((signal.SIGINT, signal.SIGTERM))
        proc, began = start(command(kind, out, source), marker_for(kind))
        time.sleep(max(0.0, began + rng.uniform(0, WINDOW) - time.monotonic()))
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        lines = [line for line in err.decode().splitlines() if not line.startswith("INFO ")]
        outcomes.append(
            (trial, sig.name, proc.returncode, lines, sorted(p.name for p in folder.iterdir()))
        )
    swallowed = [o for o in outcomes if o[2] == 0]
    assert swallowed == [], f"signals swallowed: {swallowed}"
    for trial, name, code, lines, left in outcomes:
        expected = 128 + signal.Signals[name]
        assert code == expected, (trial, name, code, lines, left)
        assert lines == [f"Error: interrupted by {name}; nothing was written"], (trial, lines)
        assert left == [], (trial, left)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("signals") / "run.zarr"
    args = [sys.executable, "-m", "zoomingonline.cli", "generate", "-o", str(path), "-q"]
    subprocess.run([*args, "--samples", "3e7", "--seed", "4", "--raw-chunk", "65536"], check=True)
    return path


def test_signals_at_random_moments_always_end_an_upload(
    store: Path, client: Any, bucket: str, env: dict[str, str]
) -> None:
    rng = random.Random(f"upload-{os.getpid()}")  # noqa: S311 - timing, not secrets
    base = [sys.executable, "-m", "zoomingonline.cli", "-v", "upload", str(store)]
    outcomes = []
    for trial in range(UPLOAD_TRIALS):
        prefix = f"trial{trial}"
        sig = rng.choice((signal.SIGINT, signal.SIGTERM))
        args = [*base, "--bucket", bucket, "--prefix", prefix, "-q"]
        proc, began = start(args, "objects already under s3://")
        time.sleep(max(0.0, began + rng.uniform(0, WINDOW) - time.monotonic()))
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        lines = [line for line in err.decode().splitlines() if not line.startswith("INFO ")]
        listing = client.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/")
        keys = {o["Key"] for o in listing.get("Contents", [])}
        outcomes.append(
            (trial, sig.name, proc.returncode, lines, f"{prefix}/run.zarr/.zgroup" in keys)
        )
    swallowed = [o for o in outcomes if o[2] == 0]
    assert swallowed == [], f"signals swallowed: {swallowed}"
    for trial, name, code, lines, visible in outcomes:
        assert code == 128 + signal.Signals[name], (trial, name, code, lines)
        assert lines == [f"Error: interrupted by {name}; run the same command again to resume"], (
            trial,
            lines,
        )
        assert not visible, f"trial {trial}: the half-uploaded store is visible"
