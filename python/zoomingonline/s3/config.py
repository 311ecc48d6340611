"""Where and how to reach the object store: :class:`S3Config`, built by :func:`resolve_config`.

Options come first, then the environment, then a ``.env`` file (by default the one in the
current folder), with the original importer's names: ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``S3_ENDPOINT_URL``, ``S3_BUCKET_NAME``; also
``AWS_SESSION_TOKEN``, ``AWS_REGION`` (or ``AWS_DEFAULT_REGION``) and
``AWS_REQUEST_CHECKSUM_CALCULATION``. Without keys, boto3's own chain is used (profiles,
instance roles). Credentials are never logged, printed or kept in a ``repr``.

Checksums "when required"
-------------------------
boto3 1.36 and newer add CRC32 checksums (``x-amz-checksum-crc32``, and over HTTPS a
streaming ``aws-chunked`` body with a trailer) to every upload by default. Many
S3-compatible servers reject these requests or store a broken object. The client is
therefore made with ``request_checksum_calculation="when_required"`` and
``response_checksum_validation="when_required"``, and integrity comes from
``Content-MD5`` instead; ``checksums="when_supported"`` (or the variable
``AWS_REQUEST_CHECKSUM_CALCULATION``) restores boto3's default.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoomingonline._core import __version__
from zoomingonline.errors import ZoomingOnlineError

__all__ = [
    "CHECKSUM_MODES",
    "MAX_ATTEMPTS",
    "RETRY_SECONDS",
    "S3Config",
    "content_md5",
    "effective_config",
    "read_dotenv",
    "resolve_config",
]

log = logging.getLogger(__name__)

#: Tries per request (the first one included) on throttling, 5xx and dropped connections.
MAX_ATTEMPTS = 10
#: No retries once the service has not answered for this long (seconds).
RETRY_SECONDS = 30.0
CHECKSUM_MODES = ("when_required", "when_supported")


def content_md5(data: bytes) -> str:
    """The ``Content-MD5`` header of ``data``: its MD5 digest, base64-encoded."""
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode("ascii")


@dataclass(frozen=True)
class S3Config:
    """Where and how to upload. Make one with :func:`resolve_config`.

    Attributes
    ----------
    bucket : str
        The bucket; it must exist.
    prefix : str
        Folder in the bucket for the stores (no leading or trailing ``/``), may be empty.
    endpoint_url : str, optional
        The service's URL, for anything but AWS (``http://127.0.0.1:9000``,
        ``https://s3.example.org``). Path-style addressing is used with it.
    region : str, optional
        The region; ``us-east-1`` with an endpoint URL, else boto3's default.
    access_key_id, secret_access_key, session_token : str, optional
        Credentials; when absent, boto3's own chain. Never shown in a ``repr``.
    checksums : str
        ``"when_required"`` (default: Content-MD5 only, what every S3-compatible service
        accepts) or ``"when_supported"`` (boto3's default CRC32 checksums).
    public_url : str, optional
        Base URL the stores are read from, if not the endpoint's (a CDN or a custom
        domain); the printed links start with it.
    max_attempts : int
        Tries per request on throttling, 5xx answers and dropped connections.
    retry_seconds : float
        How long the uploads go on retrying while the service answers nothing (an
        outage); see :mod:`zoomingonline.s3.retry`.
    connect_timeout, read_timeout : float
        Seconds to wait for a connection and for an answer.
    """

    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    checksums: str = "when_required"
    public_url: str | None = None
    max_attempts: int = MAX_ATTEMPTS
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retry_seconds: float = RETRY_SECONDS

    def __post_init__(self) -> None:
        if not self.bucket:
            raise ZoomingOnlineError("no bucket: pass --bucket or set S3_BUCKET_NAME")
        if self.checksums not in CHECKSUM_MODES:
            raise ZoomingOnlineError(
                f"checksums must be one of {', '.join(CHECKSUM_MODES)}, not {self.checksums!r}"
            )
        object.__setattr__(self, "prefix", self.prefix.strip("/"))
        if self.max_attempts < 1:
            raise ZoomingOnlineError(f"max_attempts must be at least 1, not {self.max_attempts}")
        if self.retry_seconds < 0:
            raise ZoomingOnlineError(f"retry_seconds must be at least 0, not {self.retry_seconds}")

    @property
    def where(self) -> str:
        """``s3://bucket/prefix`` and the endpoint, for messages (no credentials)."""
        url = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        return f"{url} at {self.endpoint_url or 'AWS S3'}"

    def key(self, name: str) -> str:
        """The key of ``name`` under the prefix."""
        return f"{self.prefix}/{name}" if self.prefix else name

    def client(
        self,
        *,
        max_pool_connections: int = 10,
        max_attempts: int | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
    ) -> Any:
        """A boto3 S3 client for this configuration (thread-safe; boto3 imported here).

        ``max_attempts`` (default :attr:`max_attempts`) is botocore's own tries per
        request, in its ``standard`` retry mode. The uploads pass 1: they retry themselves
        (:mod:`zoomingonline.s3.retry`), since botocore's retries share one small quota per
        client that parallel uploads spend within a second of an outage.
        """
        import boto3
        from botocore.config import Config

        session = boto3.session.Session(
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            aws_session_token=self.session_token,
            region_name=self.region,
        )
        config = Config(
            retries={"mode": "standard", "total_max_attempts": max_attempts or self.max_attempts},
            connect_timeout=connect_timeout or self.connect_timeout,
            read_timeout=read_timeout or self.read_timeout,
            max_pool_connections=max_pool_connections,
            request_checksum_calculation=self.checksums,
            response_checksum_validation=self.checksums,
            s3={"addressing_style": "path"} if self.endpoint_url else None,
            user_agent_extra=f"zoomingonline/{__version__}",
        )
        client = session.client("s3", endpoint_url=self.endpoint_url, config=config)
        # Services that predate the new checksums require Content-MD5 on these calls.
        for op in ("PutBucketCors", "PutBucketPolicy"):
            client.meta.events.register(f"before-sign.s3.{op}", _add_content_md5)
        return client


def _add_content_md5(request: Any, **kwargs: Any) -> None:
    body = request.body
    if isinstance(body, str):
        body = body.encode()
    if isinstance(body, bytes) and body and "Content-MD5" not in request.headers:
        request.headers["Content-MD5"] = content_md5(body)


_DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*?)\s*$")


def read_dotenv(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read ``KEY=VALUE`` lines of a ``.env`` file.

    Blank lines and ``#`` comments are ignored, ``export`` is allowed, a value may be
    quoted with ``'...'`` (taken literally) or ``"..."`` (``\\n``, ``\\"`` and ``\\\\``
    unescaped), and an unquoted value ends at `` #``. No variable expansion. Lines that
    are none of these are logged by number only (they may hold secrets).

    Raises
    ------
    ZoomingOnlineError
        If the file cannot be read.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ZoomingOnlineError(f"cannot read {p}: {exc.strerror or exc}") from None
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _DOTENV_LINE.match(line)
        if m is None:
            log.warning("%s line %d is not KEY=VALUE; ignored", p, number)
            continue
        key, value = m.group(1), m.group(2)
        if len(value) >= 2 and value[0] == value[-1] == "'":
            value = value[1:-1]
        elif len(value) >= 2 and value[0] == value[-1] == '"':
            value = re.sub(
                r"\\(.)", lambda e: {"n": "\n", "t": "\t"}.get(e.group(1), e.group(1)), value[1:-1]
            )
        else:
            value = re.split(r"\s+#", value, maxsplit=1)[0].strip()
        out[key] = value
    return out


def resolve_config(
    bucket: str | None = None,
    *,
    prefix: str | None = None,
    endpoint_url: str | None = None,
    region: str | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    checksums: str | None = None,
    public_url: str | None = None,
    env_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    max_attempts: int = MAX_ATTEMPTS,
    connect_timeout: float = 10.0,
    read_timeout: float = 60.0,
    retry_seconds: float = RETRY_SECONDS,
) -> S3Config:
    """Build the configuration from the arguments, the environment and a ``.env`` file.

    Each setting comes from the first of: the argument, the environment, the ``.env``
    file. The variables are the original importer's (``AWS_ACCESS_KEY_ID``,
    ``AWS_SECRET_ACCESS_KEY``, ``S3_ENDPOINT_URL``, ``S3_BUCKET_NAME``) plus
    ``AWS_SESSION_TOKEN``, ``AWS_REGION``/``AWS_DEFAULT_REGION`` and
    ``AWS_REQUEST_CHECKSUM_CALCULATION``.

    Parameters
    ----------
    bucket, prefix, endpoint_url, region, access_key_id, secret_access_key : str, optional
        Settings given directly.
    checksums : str, optional
        ``"when_required"`` (default) or ``"when_supported"``.
    public_url : str, optional
        Base URL for the printed links, if the stores are read through another address.
    env_file : path-like, optional
        The ``.env`` file; default ``.env`` in the current folder, if there is one.
    environ : mapping, optional
        The environment; default ``os.environ``.
    max_attempts, connect_timeout, read_timeout, retry_seconds
        Retries and timeouts of every request (see :class:`S3Config`).

    Returns
    -------
    S3Config

    Raises
    ------
    ZoomingOnlineError
        If no bucket is set, only one of the two keys is, the endpoint is not an
        ``http(s)://`` URL or the ``.env`` file named cannot be read.
    """
    env = os.environ if environ is None else environ
    if env_file is None:
        default = Path(".env")
        dotenv = read_dotenv(default) if default.is_file() else {}
    else:
        dotenv = read_dotenv(env_file)

    def get(value: str | None, *names: str) -> str | None:
        if value:
            return value
        for source in (env, dotenv):
            for name in names:
                if source.get(name):
                    return source[name]
        return None

    bucket = get(bucket, "S3_BUCKET_NAME")
    if not bucket:
        raise ZoomingOnlineError(
            "no bucket: pass --bucket or set S3_BUCKET_NAME (environment or .env)"
        )
    endpoint = get(endpoint_url, "S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
    if endpoint is not None:
        endpoint = endpoint.rstrip("/")
        if not re.match(r"^https?://[^/\s]+", endpoint):
            raise ZoomingOnlineError(
                f"S3 endpoint must be an http:// or https:// URL, not {endpoint!r}"
            )
    key_id = get(access_key_id, "AWS_ACCESS_KEY_ID")
    secret = get(secret_access_key, "AWS_SECRET_ACCESS_KEY")
    if bool(key_id) != bool(secret):
        missing = "AWS_SECRET_ACCESS_KEY" if key_id else "AWS_ACCESS_KEY_ID"
        raise ZoomingOnlineError(f"{missing} is not set, but the other key is")
    region_name = get(region, "AWS_REGION", "AWS_DEFAULT_REGION")
    if region_name is None and endpoint is not None:
        region_name = "us-east-1"
    return S3Config(
        bucket=bucket,
        prefix=prefix or "",
        endpoint_url=endpoint,
        region=region_name,
        access_key_id=key_id,
        secret_access_key=secret,
        session_token=get(None, "AWS_SESSION_TOKEN") if key_id else None,
        checksums=(get(checksums, "AWS_REQUEST_CHECKSUM_CALCULATION") or "when_required").lower(),
        public_url=public_url.rstrip("/") if public_url else None,
        max_attempts=max_attempts,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retry_seconds=retry_seconds,
    )


def effective_config(
    config: S3Config | None,
    bucket: str | None = None,
    prefix: str | None = None,
    endpoint_url: str | None = None,
    env_file: str | os.PathLike[str] | None = None,
) -> S3Config:
    """``config`` with the settings given beside it, or :func:`resolve_config` without one.

    The library's entry points take both a full configuration and the common settings
    (``bucket``, ``prefix``, ``endpoint_url``); these override the configuration's.

    Raises
    ------
    ZoomingOnlineError
        As :func:`resolve_config`, when ``config`` is None.
    """
    if config is None:
        return resolve_config(bucket, prefix=prefix, endpoint_url=endpoint_url, env_file=env_file)
    changes: dict[str, Any] = {}
    if bucket:
        changes["bucket"] = bucket
    if prefix is not None:
        changes["prefix"] = prefix
    if endpoint_url:
        changes["endpoint_url"] = endpoint_url.rstrip("/")
    return dataclasses.replace(config, **changes) if changes else config
