"""Uploads through a service outage, and runs stopped by a signal, against a real S3 server.

The outages come from :class:`s3server.OutageProxy`, a TCP proxy between boto3 and the
session's SeaweedFS that resets every open connection and refuses (or resets) new ones
for a few seconds. The stopped runs are real processes of the command line, sent SIGINT
or SIGTERM; :class:`s3server.FaultProxy` slows their uploads down and records every
request, so that a re-run can be shown to send nothing twice.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from s3data import config, local_objects, make_store, remote_bytes, remote_keys, write_h5
from s3server import FaultProxy, OutageProxy, SeaweedS3
from zoomingonline.cli import main
from zoomingonline.s3 import upload_store
from zoomingonline.stores import is_partial_name

#: Small raw chunks: a store of a few hundred objects.
MANY = {"raw_chunk": 100, "target": 40, "min_bin": 4}
#: Seconds the service is down in the outage tests.
OUTAGE = 3.0


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The warning lines this package logged."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("zoomingonline")
    ]


def counted(lines: list[str], what: str) -> int:
    """The sum of the counts ``N <what>`` in ``lines``."""
    return sum(int(n) for line in lines for n in re.findall(rf"(\d+) {what}", line))


# -- outages -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["refuse", "reset"])
def test_upload_rides_out_an_outage(
    s3: SeaweedS3,
    client: Any,
    bucket: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    mode: str,
) -> None:
    store = make_store(tmp_path, **MANY)
    local = local_objects(store)
    total = sum(len(b) for b in local.values())
    caplog.set_level(logging.INFO, logger="zoomingonline")
    with OutageProxy(s3.endpoint_url) as proxy:
        proxy.schedule(after_bytes=total // 3, seconds=OUTAGE, mode=mode)
        t0 = time.monotonic()
        summary = upload_store(store, config=config(s3, bucket, endpoint_url=proxy.endpoint_url))
        t1 = time.monotonic()
        # The service was down for OUTAGE seconds in the middle of the upload.
        ((start, end),) = proxy.outages
        assert t0 < start < end < t1
        assert end - start >= OUTAGE
    assert summary.ok, summary.problem()
    assert summary.uploaded == summary.objects == len(local)
    assert not summary.failed
    for rel, data in local.items():
        assert remote_bytes(client, bucket, f"run.zarr/{rel}") == data
    # One warning line per kind of failure, with its count; none twice.
    lines = warnings_of(caplog)
    assert lines, "the outage went unnoticed"
    assert len(lines) == len(set(lines)) <= 2, lines
    assert all("requests retried" in line for line in lines), lines
    assert counted(lines, "requests retried") >= 1
    assert counted(lines, "objects not uploaded") == 0
    # Nothing left to do.
    again = upload_store(store, config=config(s3, bucket))
    assert (again.uploaded, again.skipped, again.ok) == (0, again.objects, True)


def test_outage_longer_than_the_retries_fails_once_then_resumes(
    s3: SeaweedS3,
    client: Any,
    bucket: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = make_store(tmp_path, **MANY)
    local = local_objects(store)
    total = sum(len(b) for b in local.values())
    caplog.set_level(logging.WARNING, logger="zoomingonline")
    with OutageProxy(s3.endpoint_url) as proxy:
        # Retries stop after one second without an answer; the outage lasts much longer.
        cfg = config(s3, bucket, endpoint_url=proxy.endpoint_url, retry_seconds=1.0)
        proxy.schedule(after_bytes=total // 4, seconds=8.0, mode="reset")
        summary = upload_store(store, config=cfg, jobs=8)
        # Given up in bounded time: the service is still down.
        assert proxy.outages == []
        proxy.wait()
        assert len(proxy.outages) == 1
        failed = len(summary.failed)
        assert not summary.ok
        assert 0 < failed < len(local)
        # One line for the command to print: how many, and that a re-run resumes.
        problem = summary.problem()
        assert problem is not None
        assert f"{failed} objects failed" in problem
        assert "run the same command again to resume" in problem
        lines = warnings_of(caplog)
        assert len(lines) == len(set(lines)) <= 2, lines
        assert counted(lines, "objects not uploaded") == failed
        # The root marker was never sent: no viewer opens the incomplete store.
        before = remote_keys(client, bucket)
        assert "run.zarr/.zgroup" not in before
        assert 0 < len(before) < len(local)
        # Run again: what arrived is not sent again, the rest is.
        again = upload_store(store, config=cfg)
    assert again.ok, again.problem()
    assert again.skipped == len(before)
    assert again.uploaded == len(local) - len(before)
    after = remote_keys(client, bucket)
    assert {k: v["LastModified"] for k, v in after.items() if k in before} == {
        k: v["LastModified"] for k, v in before.items()
    }
    assert {k.removeprefix("run.zarr/") for k in after} == set(local)


# -- signals -------------------------------------------------------------------------------


def start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    """The command line, in a process of its own, with the test's environment."""
    return subprocess.Popen(
        [sys.executable, "-m", "zoomingonline.cli", *args],
        cwd=cwd,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(proxy: FaultProxy, child: subprocess.Popen[str], puts: int = 0) -> None:
    """Wait until the child made its first request through ``proxy`` (and ``puts`` PUTs)."""
    deadline = time.monotonic() + 60
    while True:
        requests = list(proxy.requests)
        if requests and sum(m == "PUT" for m, _, _ in requests) >= puts:
            return
        assert child.poll() is None, "the command ended before it could be stopped"
        assert time.monotonic() < deadline
        time.sleep(0.01)


def assert_stopped(child: subprocess.Popen[str], signum: int) -> None:
    """The shell's status for the signal, one error line that says so, no traceback."""
    out, err = child.communicate(timeout=60)
    assert child.returncode == 128 + signum, (out, err)
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, err
    assert f"interrupted by {signal.Signals(signum).name}" in lines[0]
    assert "run the same command again to resume" in lines[0]


def puts_per_key(proxy: FaultProxy) -> Counter[str]:
    return Counter(path.split("?")[0] for method, path, _ in proxy.requests if method == "PUT")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_at_the_start_of_upload_is_one_line(
    s3: SeaweedS3, bucket: str, env: Any, tmp_path: Path, signum: int
) -> None:
    store = make_store(tmp_path)
    with FaultProxy(s3.endpoint_url) as proxy:
        child = start(
            ["upload", str(store), "-b", bucket, "--endpoint-url", proxy.endpoint_url], tmp_path
        )
        wait_for(proxy, child)  # it is checking the bucket
        child.send_signal(signum)
        assert_stopped(child, signum)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_stopped_upload_resumes_sending_nothing_twice(
    s3: SeaweedS3, client: Any, bucket: str, env: Any, tmp_path: Path, signum: int
) -> None:
    store = make_store(tmp_path, **MANY)
    local = local_objects(store)
    with FaultProxy(s3.endpoint_url, delay=0.05) as proxy:
        child = start(
            ["upload", str(store), "-b", bucket, "-j", "2", "--endpoint-url", proxy.endpoint_url],
            tmp_path,
        )
        wait_for(proxy, child, puts=15)
        child.send_signal(signum)
        assert_stopped(child, signum)
        before = remote_keys(client, bucket)
        assert 15 <= len(before) < len(local)
        assert "run.zarr/.zgroup" not in before
        summary = upload_store(store, config=config(s3, bucket, endpoint_url=proxy.endpoint_url))
        assert summary.ok
        assert summary.skipped == len(before)
        assert summary.uploaded == len(local) - len(before)
        sent = puts_per_key(proxy)
    assert len(sent) == len(local)
    assert max(sent.values()) == 1, [k for k, n in sent.items() if n > 1]


def test_stopped_import_resumes_sending_nothing_twice(
    s3: SeaweedS3, client: Any, bucket: str, env: Any, tmp_path: Path
) -> None:
    inputs = tmp_path / "in"
    for i in range(2):
        write_h5(inputs / f"r{i}.h5", seed=i)
    out = tmp_path / "out"
    with FaultProxy(s3.endpoint_url, delay=0.05) as proxy:
        args = [str(inputs), "-b", bucket, "-o", str(out), "--endpoint-url", proxy.endpoint_url]
        # Small chunks: each store has many more objects than the PUTs before the signal.
        args += ["--raw-chunk", "100", "--target", "40", "--min-bin", "4"]
        child = start(["import", *args, "-j", "2"], tmp_path)
        wait_for(proxy, child, puts=15)
        child.send_signal(signal.SIGTERM)
        assert_stopped(child, signal.SIGTERM)
        # What the stopped run leaves: no half-written store, a store to upload again.
        assert not [p for p in out.iterdir() if is_partial_name(p.name)]
        assert "r0.zarr/.zgroup" not in remote_keys(client, bucket)
        result = CliRunner().invoke(main, ["import", *args])
        assert result.exit_code == 0, result.output
        assert "files: 2 (2 uploaded)" in result.output
        sent = puts_per_key(proxy)
    assert max(sent.values()) == 1, [k for k, n in sent.items() if n > 1]
    assert {k.split("/")[0] for k in remote_keys(client, bucket)} == {"r0.zarr", "r1.zarr"}
    assert list(out.iterdir()) == []  # both uploads verified: the local stores are gone


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_stopped_convert_to_s3_resumes_sending_nothing_twice(
    s3: SeaweedS3,
    client: Any,
    bucket: str,
    env: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    signum: int,
) -> None:
    h5 = write_h5(tmp_path / "in" / "run.h5", shape=(2, 1, 2, 6000))
    opts = ["--raw-chunk", "100", "--target", "40", "--min-bin", "4"]
    url = f"s3://{bucket}/direct/run.zarr"
    with FaultProxy(s3.endpoint_url, delay=0.05) as proxy:
        monkeypatch.setenv("S3_ENDPOINT_URL", proxy.endpoint_url)
        child = start(["convert", str(h5), url, *opts], tmp_path)
        wait_for(proxy, child, puts=15)
        child.send_signal(signum)
        assert_stopped(child, signum)
        before = remote_keys(client, bucket)
        assert before, "nothing arrived before the signal"
        # A half-written store is never visible as a store.
        assert "direct/run.zarr/.zgroup" not in before
        result = CliRunner().invoke(main, ["convert", str(h5), url, *opts])
        assert result.exit_code == 0, result.output
        sent = puts_per_key(proxy)
    assert max(sent.values()) == 1, [k for k, n in sent.items() if n > 1]
    after = remote_keys(client, bucket)
    assert "direct/run.zarr/.zgroup" in after
    # Everything that arrived before the stop is still the object sent then.
    assert all(after[k]["ETag"] == v["ETag"] for k, v in before.items())
    # The result is the store a conversion to disk makes.
    disk = tmp_path / "disk" / "run.zarr"
    disk.parent.mkdir()
    assert CliRunner().invoke(main, ["convert", str(h5), str(disk), *opts]).exit_code == 0
    local = local_objects(disk)
    assert {k.removeprefix("direct/run.zarr/") for k in after} == set(local)
    for rel, data in local.items():
        if rel != ".zattrs":
            assert remote_bytes(client, bucket, f"direct/run.zarr/{rel}") == data, rel
