"""Shared server fixtures: one SeaweedFS S3 server for the whole test session.

It starts when the first test asks for it (``s3``, ``client``, ``bucket`` or ``env``)
and stops when the session ends; each test gets a bucket of its own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from s3server import SLURM_VARIABLES, SeaweedS3, use_server_env


@pytest.fixture(scope="session")
def s3() -> Iterator[SeaweedS3]:
    """A SeaweedFS ``weed mini`` on loopback, shared by every test of the session."""
    server = SeaweedS3.start()
    try:
        yield server
    finally:
        server.stop()
        # Nothing is left running: the pid is gone (reaped), not merely signalled.
        assert server.process.poll() is not None
        with pytest.raises(ProcessLookupError):
            os.kill(server.pid, 0)


@pytest.fixture
def client(s3: SeaweedS3) -> Any:
    """A boto3 client of the test server (for checks; the code under test makes its own)."""
    return s3.client()


@pytest.fixture
def bucket(client: Any) -> str:
    """A new, empty bucket on the test server."""
    name = f"t-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def env(s3: SeaweedS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The server's credentials in the environment; no other AWS setting, no Slurm array
    variables and no ./.env of the developer's leak in."""
    return use_server_env(s3, monkeypatch, tmp_path, unset=SLURM_VARIABLES)
