"""Publish stores to S3-compatible object storage: fast, resumable, ready for the browser.

:func:`upload_store` copies one local store to ``s3://<bucket>/<prefix>/<name>.zarr/``;
:func:`import_paths` finds HDF5 recordings, converts each and uploads the stores. Both
work with AWS S3 and with S3-compatible services (MinIO, SeaweedFS, Ceph, Garage,
Cloudflare R2, ...) through boto3.

How an upload runs
------------------
1. The bucket is listed once under the store's prefix (one request per 1,000 objects).
2. The chunks are uploaded by a pool of threads, many small objects in parallel; objects
   above ``multipart_threshold`` go in parts, also in parallel. An object that is already
   in the bucket with the same size and checksum (see below) is skipped, so a run that was
   interrupted at any point completes when started again, without re-uploading anything
   that arrived.
3. The metadata objects (``.zarray``, ``.zattrs``, ``.zgroup``, ``zarr.json``) go after
   every chunk, and the store's root ``.zgroup`` goes last of all, after the rest has been
   verified: a viewer never opens a store whose chunks are not there yet. When a store
   already in the bucket is about to change, its root ``.zgroup`` is removed first and put
   back at the end.
4. The bucket is listed again and compared with the local store; the summary names every
   object missing or different, and :attr:`UploadSummary.ok` is false if there is one.

Throttling answers (503 SlowDown, 429) and server errors (5xx) are retried with
exponential backoff and jitter by botocore's ``standard`` retry mode, up to
``max_attempts`` tries per request.

Which objects are skipped
-------------------------
S3 has no checksum that every service computes the same way, so the comparison uses what
AWS and the S3-compatible services share, the ETag:

- an object uploaded in one request has the MD5 of its bytes as ETag;
- an object uploaded in parts has ``md5(md5(part 1) + ... + md5(part n))-n``, which is
  computed locally with the same part size, so it too can be compared from the listing.

Both come with the listing itself: a second run costs one list request per 1,000 objects
and no request per object. Where the ETag is not an MD5 (AWS with SSE-KMS or SSE-C
encryption, or an object uploaded in parts of another size), the MD5 that every upload
also stores as the user metadata ``zoomingonline-md5`` is read with one HEAD request. An
object is skipped only when its size is the same and one of the two matches; in every
other case it is uploaded again. Each request carries ``Content-MD5``, which every
S3-compatible service checks, so a corrupted upload is refused by the server.

Checksums "when required"
-------------------------
boto3 1.36 and newer add CRC32 checksums (``x-amz-checksum-crc32``, and over HTTPS a
streaming ``aws-chunked`` body with a trailer) to every upload by default. Many
S3-compatible servers reject these requests or store a broken object. The client is
therefore made with ``request_checksum_calculation="when_required"`` and
``response_checksum_validation="when_required"``, and integrity comes from
``Content-MD5`` instead; ``checksums="when_supported"`` (or the variable
``AWS_REQUEST_CHECKSUM_CALCULATION``) restores boto3's default.

Configuration
-------------
Options first, then the environment, then a ``.env`` file (by default the one in the
current folder), with the original importer's names: ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``S3_ENDPOINT_URL``, ``S3_BUCKET_NAME``; also
``AWS_SESSION_TOKEN``, ``AWS_REGION`` (or ``AWS_DEFAULT_REGION``) and
``AWS_REQUEST_CHECKSUM_CALCULATION``. Without keys, boto3's own chain is used (profiles,
instance roles). Credentials are never logged, printed or kept in a ``repr``.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.store import FORMAT_VERSION
from zoomingonline.stores import DEFAULT_VIEWER, viewer_url

if TYPE_CHECKING:
    from zoomingonline.convert import ConvertSummary

__all__ = [
    "CORS_RULE",
    "DEFAULT_JOBS",
    "FileResult",
    "ImportSummary",
    "S3Config",
    "UnsupportedError",
    "UploadSummary",
    "batch_convert",
    "find_inputs",
    "import_paths",
    "make_public",
    "read_dotenv",
    "resolve_config",
    "set_bucket_cors",
    "upload_store",
    "upload_to_s3",
]

log = logging.getLogger(__name__)

#: Objects uploaded at the same time (and parts of large objects, in a second pool).
DEFAULT_JOBS = 16
#: Objects larger than this are uploaded in parts.
MULTIPART_THRESHOLD = 16 << 20
#: Size of the parts; raised for very large objects so that there are at most MAX_PARTS.
PART_SIZE = 8 << 20
#: S3's smallest part (except the last) and most parts per object.
MIN_PART_SIZE = 5 << 20
MAX_PARTS = 10_000
#: Tries per request (the first one included) on throttling, 5xx and dropped connections.
MAX_ATTEMPTS = 10

#: Zarr metadata documents: uploaded after every chunk.
METADATA_NAMES = frozenset((".zgroup", ".zattrs", ".zarray", ".zmetadata", "zarr.json"))
#: A Zarr client opens a store through these: uploaded last of all.
ROOT_MARKERS = (".zgroup", "zarr.json")
#: User metadata (``x-amz-meta-...``) holding the MD5 of an object's bytes.
MD5_METADATA = "zoomingonline-md5"
#: User metadata on the root ``.zgroup`` of an imported store: which input and options.
SOURCE_METADATA = "zoomingonline-source"
#: The extensions of HDF5 recordings that :func:`find_inputs` looks for.
INPUT_SUFFIXES = (".h5", ".hdf5", ".hdf")
CHECKSUM_MODES = ("when_required", "when_supported")

#: The bucket CORS rule the viewer needs: GET and HEAD from any origin, any request header
#: (Range included), ETag and Content-Range readable by the page.
CORS_RULE: dict[str, Any] = {
    "AllowedOrigins": ["*"],
    "AllowedMethods": ["GET", "HEAD"],
    "AllowedHeaders": ["*"],
    "ExposeHeaders": ["ETag", "Content-Range", "Content-Length", "Accept-Ranges"],
    "MaxAgeSeconds": 3600,
}

#: ``progress(done, total)``: bytes of the store uploaded or found already there.
UploadProgress = Callable[[int, int], None]
#: ``progress(phase, name, done, total)``: phase ``"convert"`` (samples of the input
#: ``name``) or ``"upload"`` (bytes of its store).
ImportProgress = Callable[[str, str, int, int], None]


# -- configuration -------------------------------------------------------------------------


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
        """A boto3 S3 client for this configuration (thread-safe; boto3 imported here)."""
        import boto3
        from botocore.config import Config

        from zoomingonline import __version__

        session = boto3.session.Session(
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            aws_session_token=self.session_token,
            region_name=self.region,
        )
        config = Config(
            retries={"mode": "standard", "max_attempts": max_attempts or self.max_attempts},
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
        request.headers["Content-MD5"] = _b64(hashlib.md5(body, usedforsecurity=False).digest())


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
    max_attempts, connect_timeout, read_timeout
        Retries and timeouts of every request.

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
    )


# -- errors --------------------------------------------------------------------------------

_CREDENTIAL_CODES = frozenset(
    (
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "ExpiredToken",
        "TokenRefreshRequired",
        "InvalidClientTokenId",
        "InvalidSecurity",
    )
)


def describe_error(exc: BaseException, config: S3Config, action: str = "S3 request") -> str:
    """One line for a boto3/botocore exception, with what to check; never a credential."""
    from botocore import exceptions as bx

    where = config.endpoint_url or "AWS S3"
    fix_endpoint = "check S3_ENDPOINT_URL and that the service is running"
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return (
            "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            " (environment or .env)"
        )
    if isinstance(exc, bx.ConnectTimeoutError):
        return f"S3 endpoint {where} does not answer (connection timed out); {fix_endpoint}"
    if isinstance(exc, bx.ReadTimeoutError):
        return (
            f"S3 endpoint {where} does not answer (no reply within"
            f" {config.read_timeout:g} s); {fix_endpoint}"
        )
    if isinstance(exc, bx.SSLError):
        return f"S3 endpoint {where}: TLS failed ({exc})"
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectionClosedError):
        return f"S3 endpoint {where} does not answer (cannot connect); {fix_endpoint}"
    if isinstance(exc, bx.ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code") or "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = str(err.get("Message") or "").strip()
        if code in _CREDENTIAL_CODES:
            return (
                f"{where} rejected the credentials ({code}): check AWS_ACCESS_KEY_ID and"
                " AWS_SECRET_ACCESS_KEY"
            )
        if code == "NoSuchBucket" or (code == "404" and action == "list bucket"):
            return f"bucket {config.bucket!r} does not exist at {where}"
        if code in ("AccessDenied", "AllAccessDisabled", "403") or status == 403:
            return (
                f"access denied to bucket {config.bucket!r} at {where} ({action});"
                " check the credentials and their permissions"
            )
        detail = f"{code}: {message}" if message else code or f"HTTP {status}"
        return f"{action} failed ({detail})"
    return f"{action} failed ({exc})"


def _error(exc: BaseException, config: S3Config, action: str) -> ZoomingOnlineError:
    return ZoomingOnlineError(describe_error(exc, config, action))


def _is_not_found(exc: BaseException) -> bool:
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return False
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


def check_bucket(config: S3Config) -> None:
    """Fail fast, with one clear line, if the bucket cannot be listed.

    One ``ListObjectsV2`` request, tried twice: it tells an endpoint that does not answer,
    rejected credentials, a missing bucket and missing permissions apart.

    Raises
    ------
    ZoomingOnlineError
        With the reason.
    """
    probe = config.client(
        max_attempts=2,
        connect_timeout=min(config.connect_timeout, 10.0),
        read_timeout=min(config.read_timeout, 30.0),
    )
    try:
        probe.list_objects_v2(Bucket=config.bucket, Prefix=config.prefix, MaxKeys=1)
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line
        raise _error(exc, config, "list bucket") from None


# -- bucket settings -----------------------------------------------------------------------


class UnsupportedError(ZoomingOnlineError):
    """The service does not implement a bucket setting (MinIO and bucket CORS, say)."""


#: Answers of services that do not implement an operation.
_UNSUPPORTED_CODES = frozenset(("NotImplemented", "MethodNotAllowed", "501", "405"))


def set_bucket_cors(client: Any, config: S3Config) -> list[dict[str, Any]]:
    """Add :data:`CORS_RULE` to the bucket's CORS rules (others are kept); read them back.

    Returns
    -------
    list of dict
        The bucket's rules as the service reports them after the change.

    Raises
    ------
    UnsupportedError
        If the service has no bucket CORS rules (MinIO answers cross-origin requests
        according to its own setting, ``MINIO_API_CORS_ALLOW_ORIGIN``, ``*`` by default).
    ZoomingOnlineError
        If the service refuses or does not keep the rule.
    """
    try:
        rules = client.get_bucket_cors(Bucket=config.bucket).get("CORSRules", [])
    except Exception as exc:  # noqa: BLE001
        code = _error_code(exc)
        if code in _UNSUPPORTED_CODES:
            raise UnsupportedError(
                f"{config.endpoint_url or 'the service'} has no bucket CORS rules ({code});"
                " allow GET and HEAD from any origin in its own settings"
            ) from None
        if code != "NoSuchCORSConfiguration" and not _is_not_found(exc):
            raise _error(exc, config, "read bucket CORS") from None
        rules = []
    if not any(_covers(rule) for rule in rules):
        new = [*rules, dict(CORS_RULE)]
        try:
            client.put_bucket_cors(Bucket=config.bucket, CORSConfiguration={"CORSRules": new})
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, config, "set bucket CORS") from None
        log.info("CORS rule for GET and HEAD from any origin added to bucket %s", config.bucket)
    try:
        back = client.get_bucket_cors(Bucket=config.bucket).get("CORSRules", [])
    except Exception as exc:  # noqa: BLE001
        raise _error(exc, config, "read bucket CORS") from None
    if not any(_covers(rule) for rule in back):
        raise ZoomingOnlineError(
            f"bucket {config.bucket!r} does not keep the CORS rule; set it by hand (docs/s3.md)"
        )
    return list(back)


def _covers(rule: Mapping[str, Any]) -> bool:
    """Whether a CORS rule grants at least what :data:`CORS_RULE` grants."""
    methods = {m.upper() for m in rule.get("AllowedMethods", [])}
    headers = {h.lower() for h in rule.get("AllowedHeaders", [])}
    exposed = {h.lower() for h in rule.get("ExposeHeaders", [])}
    return (
        "*" in rule.get("AllowedOrigins", [])
        and {"GET", "HEAD"} <= methods
        and ("*" in headers or "range" in headers)
        and {"etag", "content-range"} <= exposed
    )


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def make_public(client: Any, config: S3Config) -> str | None:
    """Let anyone read the objects under the prefix, through a bucket policy statement.

    The statement (``s3:GetObject`` on ``arn:aws:s3:::<bucket>/<prefix>/*`` for every
    principal) is added to the bucket's policy; other statements are kept. ACLs are not
    used: new AWS buckets have them disabled.

    Returns
    -------
    str or None
        None when done; otherwise why the service refused (AWS refuses while the bucket's
        Block Public Access setting is on), which the caller reports as a warning.
    """
    resource = f"arn:aws:s3:::{config.bucket}/{config.key('*')}"
    sid = "ZoomingOnlinePublicRead" + hashlib.sha256(resource.encode()).hexdigest()[:8]
    statement = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": "*",
        "Action": ["s3:GetObject"],
        "Resource": [resource],
    }
    policy: dict[str, Any] = {"Version": "2012-10-17", "Statement": []}
    try:
        text = client.get_bucket_policy(Bucket=config.bucket).get("Policy")
        if text:
            policy = json.loads(text)
    except Exception as exc:  # noqa: BLE001
        if _error_code(exc) not in ("NoSuchBucketPolicy", "NoSuchPolicy") and not _is_not_found(
            exc
        ):
            return describe_error(exc, config, "read bucket policy")
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    if any(s.get("Sid") == sid for s in statements):
        return None
    policy["Statement"] = [*statements, statement]
    try:
        client.put_bucket_policy(Bucket=config.bucket, Policy=json.dumps(policy))
    except Exception as exc:  # noqa: BLE001
        return describe_error(exc, config, "set public-read bucket policy")
    log.info("objects under %s readable by anyone (bucket policy %s)", resource, sid)
    return None


def _bucket_settings(client: Any, config: S3Config, cors: bool, public: bool) -> list[str]:
    warnings = []
    if cors:
        try:
            set_bucket_cors(client, config)
        except UnsupportedError as exc:
            warnings.append(f"CORS not set: {exc}")
            log.warning("CORS not set: %s", exc)
    if public:
        problem = make_public(client, config)
        if problem is not None:
            warnings.append(f"not made public: {problem}")
            log.warning("not made public: %s", problem)
    return warnings


def store_url(config: S3Config, key: str, client: Any = None) -> str:
    """The HTTP(S) URL a browser reads the store (or object) ``key`` from."""
    from urllib.parse import quote

    path = quote(key)
    if config.public_url:
        return f"{config.public_url}/{path}"
    if config.endpoint_url:
        return f"{config.endpoint_url}/{config.bucket}/{path}"
    region = config.region or (client.meta.region_name if client is not None else None)
    host = f"s3.{region}.amazonaws.com" if region else "s3.amazonaws.com"
    return f"https://{config.bucket}.{host}/{path}"


# -- one store -----------------------------------------------------------------------------


@dataclass
class UploadSummary:
    """What :func:`upload_store` did (or, in a dry run, would do).

    Attributes
    ----------
    store : Path
        The local store.
    bucket, key : str
        Where it went: ``s3://bucket/key/``.
    url, viewer_url : str
        The store's URL and the viewer link that opens it.
    objects, bytes : int
        Objects (files) and bytes of the local store.
    uploaded, uploaded_bytes : int
        Objects uploaded (in a dry run: that would be).
    skipped, skipped_bytes : int
        Objects already in the bucket with the same size and checksum.
    failed : dict of str to str
        Objects that could not be uploaded, with the reason.
    missing, different : list of str
        Keys that the final listing lacks or holds with another size or checksum.
    extra : list of str
        Keys in the bucket under the store that the local store does not have (left alone).
    verified : bool
        The final listing matched the local store.
    dry_run : bool
        Nothing was changed.
    warnings : list of str
        What did not go as asked without failing the upload (e.g. ``--public`` refused).
    seconds : float
        Wall time.
    """

    store: Path
    bucket: str
    key: str
    url: str
    viewer_url: str
    objects: int = 0
    bytes: int = 0
    uploaded: int = 0
    uploaded_bytes: int = 0
    skipped: int = 0
    skipped_bytes: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    different: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    verified: bool = False
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True if the bucket holds the whole store (or, in a dry run, nothing failed)."""
        if self.dry_run:
            return not self.failed
        return self.verified and not self.failed

    def problem(self) -> str | None:
        """One line saying what is wrong, or None."""
        if self.ok:
            return None
        parts = []
        if self.failed:
            key, why = next(iter(self.failed.items()))
            parts.append(f"{len(self.failed)} objects failed (first: {key}: {why})")
        if self.missing:
            parts.append(f"{len(self.missing)} missing (first: {self.missing[0]})")
        if self.different:
            parts.append(f"{len(self.different)} different (first: {self.different[0]})")
        return f"s3://{self.bucket}/{self.key}/ incomplete: " + "; ".join(parts or ["not verified"])


@dataclass(frozen=True)
class _Local:
    path: Path
    key: str
    size: int
    kind: str  # "data", "meta" or "root"

    @property
    def content_type(self) -> str:
        if self.path.name in METADATA_NAMES or self.path.suffix == ".json":
            return "application/json"
        return "application/octet-stream"


@dataclass(frozen=True)
class _Remote:
    size: int
    etag: str


@dataclass(frozen=True)
class _Digest:
    md5: str
    etag: str


class _CancelledError(Exception):
    pass


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _scan_store(store: Path, key: str) -> list[_Local]:
    objects = []
    for path in sorted(store.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        rel = path.relative_to(store).as_posix()
        if path.name in METADATA_NAMES:
            kind = "root" if rel in ROOT_MARKERS else "meta"
        else:
            kind = "data"
        objects.append(_Local(path, f"{key}/{rel}", path.stat().st_size, kind))
    return objects


def _check_store(store: Path) -> None:
    if not store.exists():
        raise ZoomingOnlineError(f"{store}: no such store")
    if not store.is_dir():
        raise ZoomingOnlineError(f"{store} is not a Zarr store (not a folder)")
    if not any((store / name).is_file() for name in ROOT_MARKERS):
        raise ZoomingOnlineError(f"{store} is not a Zarr store (no .zgroup or zarr.json)")


class _StoreUpload:
    """The upload of one store; see the module docstring for the order of things."""

    def __init__(
        self,
        client: Any,
        config: S3Config,
        store: Path,
        key: str,
        *,
        jobs: int,
        dry_run: bool,
        multipart_threshold: int,
        part_size: int,
        progress: UploadProgress | None,
        root_metadata: Mapping[str, str] | None,
        cancel: threading.Event,
    ) -> None:
        self.client = client
        self.config = config
        self.store = store
        self.key = key
        self.jobs = jobs
        self.dry_run = dry_run
        self.threshold = multipart_threshold
        self.part_size = part_size
        self.progress = progress
        self.root_metadata = dict(root_metadata or {})
        self.cancel = cancel
        self.remote: dict[str, _Remote] = {}
        self.digests: dict[str, _Digest] = {}
        self.lock = threading.Lock()
        self.hidden = False
        self.done = 0
        self.total = 0
        self.summary = UploadSummary(
            store=store,
            bucket=config.bucket,
            key=key,
            url=store_url(config, key, client),
            viewer_url="",
            dry_run=dry_run,
        )
        self._parts: ThreadPoolExecutor | None = None

    # -- listing and comparison ----------------------------------------------------------

    def _list(self) -> dict[str, _Remote]:
        out: dict[str, _Remote] = {}
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.config.bucket, Prefix=self.key + "/"
            )
            for page in pages:
                for item in page.get("Contents", []):
                    out[item["Key"]] = _Remote(
                        int(item["Size"]), str(item.get("ETag", "")).strip('"').lower()
                    )
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, self.config, "list bucket") from None
        return out

    def _part_size_for(self, size: int) -> int:
        need = math.ceil(size / MAX_PARTS)
        return max(self.part_size, -(-need // (1 << 20)) * (1 << 20))

    def _digest(self, obj: _Local) -> tuple[_Digest, bytes | None]:
        """MD5 and expected ETag of a local object; its bytes too if it goes in one request."""
        if obj.size <= self.threshold:
            data = obj.path.read_bytes()
            md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
            digest = _Digest(md5, md5)
        else:
            data = None
            whole = hashlib.md5(usedforsecurity=False)
            parts = []
            step = self._part_size_for(obj.size)
            with obj.path.open("rb") as f:
                while chunk := f.read(step):
                    whole.update(chunk)
                    parts.append(hashlib.md5(chunk, usedforsecurity=False).digest())
            combined = hashlib.md5(b"".join(parts), usedforsecurity=False).hexdigest()
            digest = _Digest(whole.hexdigest(), f"{combined}-{len(parts)}")
        with self.lock:
            self.digests[obj.key] = digest
        return digest, data

    def _head(self, key: str) -> dict[str, str] | None:
        try:
            head = self.client.head_object(Bucket=self.config.bucket, Key=key)
        except Exception as exc:
            if _is_not_found(exc):
                return None
            raise
        return {k.lower(): v for k, v in head.get("Metadata", {}).items()}

    def _matches(self, obj: _Local, digest: _Digest, remote: _Remote | None) -> bool:
        if remote is None or remote.size != obj.size:
            return False
        wanted = self.root_metadata if obj.kind == "root" else {}
        if remote.etag == digest.etag and not wanted:
            return True
        meta = self._head(obj.key)
        if meta is None:
            return False
        same = remote.etag == digest.etag or meta.get(MD5_METADATA) == digest.md5
        return same and all(meta.get(k.lower()) == v for k, v in wanted.items())

    # -- uploading ------------------------------------------------------------------------

    def _advance(self, n: int) -> None:
        with self.lock:
            self.done += n
            # Under the lock, so the callback sees the counts in order.
            if self.progress is not None:
                self.progress(self.done, self.total)

    def _hide(self) -> None:
        """Before changing a store that is in the bucket, remove its root marker."""
        with self.lock:
            if self.hidden or self.dry_run:
                return
            self.hidden = True
        for name in ROOT_MARKERS:
            key = f"{self.key}/{name}"
            if key in self.remote:
                self.client.delete_object(Bucket=self.config.bucket, Key=key)
                log.info("hid %s until the update is complete", key)

    def _sync(self, obj: _Local, *, force: bool = False) -> None:
        """Upload ``obj`` unless the bucket has it already; record the outcome."""
        if self.cancel.is_set():
            raise _CancelledError
        try:
            digest, data = self._digest(obj)
            if not force and self._matches(obj, digest, self.remote.get(obj.key)):
                with self.lock:
                    self.summary.skipped += 1
                    self.summary.skipped_bytes += obj.size
                self._advance(obj.size)
                return
            if not self.dry_run:
                if obj.kind != "root":
                    self._hide()
                metadata = {MD5_METADATA: digest.md5}
                if obj.kind == "root":
                    metadata.update(self.root_metadata)
                if data is not None:
                    self._put(obj, data, digest, metadata)
                else:
                    self._put_parts(obj, metadata)
        except _CancelledError:
            raise
        except OSError as exc:
            self._fail(obj, f"cannot read {obj.path}: {exc.strerror or exc}")
            return
        except Exception as exc:  # noqa: BLE001 - one object's failure is recorded, not fatal
            self._fail(obj, describe_error(exc, self.config, f"upload {obj.key}"))
            return
        with self.lock:
            self.summary.uploaded += 1
            self.summary.uploaded_bytes += obj.size
        if data is not None or self.dry_run:
            self._advance(obj.size)

    def _fail(self, obj: _Local, why: str) -> None:
        log.warning("%s", why)
        with self.lock:
            self.summary.failed[obj.key] = why

    def _put(self, obj: _Local, data: bytes, digest: _Digest, metadata: dict[str, str]) -> None:
        self.client.put_object(
            Bucket=self.config.bucket,
            Key=obj.key,
            Body=data,
            ContentMD5=_b64(bytes.fromhex(digest.md5)),
            ContentType=obj.content_type,
            Metadata=metadata,
        )

    def _put_parts(self, obj: _Local, metadata: dict[str, str]) -> None:
        assert self._parts is not None  # noqa: S101 - created by run()
        step = self._part_size_for(obj.size)
        bucket = self.config.bucket
        upload_id = self.client.create_multipart_upload(
            Bucket=bucket, Key=obj.key, ContentType=obj.content_type, Metadata=metadata
        )["UploadId"]
        futures: list[Future[dict[str, Any]]] = []
        try:
            for number, offset in enumerate(range(0, obj.size, step), 1):
                futures.append(
                    self._parts.submit(self._put_part, obj, upload_id, number, offset, step)
                )
            parts = [f.result() for f in futures]
            self.client.complete_multipart_upload(
                Bucket=bucket, Key=obj.key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            for f in futures:
                f.cancel()
            with contextlib.suppress(Exception):
                self.client.abort_multipart_upload(Bucket=bucket, Key=obj.key, UploadId=upload_id)
            raise

    def _put_part(
        self, obj: _Local, upload_id: str, number: int, offset: int, size: int
    ) -> dict[str, Any]:
        if self.cancel.is_set():
            raise _CancelledError
        with obj.path.open("rb") as f:
            f.seek(offset)
            data = f.read(size)
        answer = self.client.upload_part(
            Bucket=self.config.bucket,
            Key=obj.key,
            UploadId=upload_id,
            PartNumber=number,
            Body=data,
            ContentMD5=_b64(hashlib.md5(data, usedforsecurity=False).digest()),
        )
        self._advance(len(data))
        return {"ETag": answer["ETag"], "PartNumber": number}

    def _run_all(self, pool: ThreadPoolExecutor, objects: Iterable[_Local], force: bool) -> None:
        futures = [pool.submit(self._sync, obj, force=force) for obj in objects]
        try:
            for f in futures:
                f.result()
        except BaseException:
            self.cancel.set()
            for f in futures:
                f.cancel()
            raise

    # -- verification ---------------------------------------------------------------------

    def _verify(self, objects: Sequence[_Local], listing: Mapping[str, _Remote]) -> None:
        for obj in objects:
            remote = listing.get(obj.key)
            if remote is None:
                self.summary.missing.append(obj.key)
                continue
            digest = self.digests.get(obj.key) or self._digest(obj)[0]
            if remote.size != obj.size:
                self.summary.different.append(obj.key)
            elif remote.etag != digest.etag:
                meta = self._head(obj.key) or {}
                if meta.get(MD5_METADATA) != digest.md5:
                    self.summary.different.append(obj.key)

    def _head_listing(self, objects: Sequence[_Local]) -> dict[str, _Remote]:
        out: dict[str, _Remote] = {}
        for obj in objects:
            try:
                head = self.client.head_object(Bucket=self.config.bucket, Key=obj.key)
            except Exception as exc:  # noqa: BLE001
                if _is_not_found(exc):
                    continue
                raise _error(exc, self.config, f"check {obj.key}") from None
            out[obj.key] = _Remote(
                int(head["ContentLength"]), str(head.get("ETag", "")).strip('"').lower()
            )
        return out

    # -- the whole run ---------------------------------------------------------------------

    def run(self) -> UploadSummary:
        t0 = time.perf_counter()
        s = self.summary
        objects = _scan_store(self.store, self.key)
        s.objects = len(objects)
        s.bytes = self.total = sum(o.size for o in objects)
        data = [o for o in objects if o.kind == "data"]
        meta = [o for o in objects if o.kind == "meta"]
        roots = [o for o in objects if o.kind == "root"]
        self.remote = self._list()
        local_keys = {o.key for o in objects}
        s.extra = sorted(k for k in self.remote if k not in local_keys)
        log.info(
            "%s: %d objects, %.1f MB; %d objects already under s3://%s/%s/",
            self.store,
            len(objects),
            s.bytes / 1e6,
            len(self.remote),
            self.config.bucket,
            self.key,
        )
        if self.progress is not None:
            self.progress(0, self.total)
        with (
            ThreadPoolExecutor(self.jobs, thread_name_prefix="zoomingonline-upload") as pool,
            ThreadPoolExecutor(self.jobs, thread_name_prefix="zoomingonline-part") as parts,
        ):
            self._parts = parts
            # Chunks first, then the metadata, the root marker only once the rest is there.
            self._run_all(pool, data, force=False)
            if not s.failed:
                self._run_all(pool, meta, force=False)
            if self.dry_run:
                if not s.failed:
                    self._run_all(pool, roots, force=False)
            else:
                listing = self._list()
                self._verify([*data, *meta], listing)
                if s.failed or s.missing or s.different:
                    # The root marker stays out of the bucket: report its state as it is.
                    self._verify(roots, listing)
                else:
                    self._run_all(pool, roots, force=self.hidden)
                    self._verify(roots, self._head_listing(roots))
        s.verified = not self.dry_run and not (s.failed or s.missing or s.different)
        s.seconds = time.perf_counter() - t0
        log.info(
            "%s: %d uploaded, %d skipped, %d failed, %.2f s",
            self.key,
            s.uploaded,
            s.skipped,
            len(s.failed),
            s.seconds,
        )
        return s


def _check_jobs(jobs: int, multipart_threshold: int, part_size: int) -> None:
    if jobs < 1:
        raise ZoomingOnlineError(f"jobs must be at least 1, not {jobs}")
    if part_size < MIN_PART_SIZE:
        raise ZoomingOnlineError(f"part size must be at least {MIN_PART_SIZE} bytes (S3's minimum)")
    if multipart_threshold < part_size:
        raise ZoomingOnlineError("multipart threshold must be at least the part size")


def _config(
    config: S3Config | None,
    bucket: str | None,
    prefix: str | None,
    endpoint_url: str | None,
    env_file: str | os.PathLike[str] | None,
) -> S3Config:
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


def upload_store(
    store: str | os.PathLike[str],
    bucket: str | None = None,
    *,
    prefix: str | None = None,
    endpoint_url: str | None = None,
    config: S3Config | None = None,
    env_file: str | os.PathLike[str] | None = None,
    jobs: int = DEFAULT_JOBS,
    cors: bool = False,
    public: bool = False,
    dry_run: bool = False,
    viewer: str = DEFAULT_VIEWER,
    multipart_threshold: int = MULTIPART_THRESHOLD,
    part_size: int = PART_SIZE,
    progress: UploadProgress | None = None,
) -> UploadSummary:
    """Upload a local store to ``s3://<bucket>/<prefix>/<store name>/``, resumably.

    Chunks go first, in parallel; metadata after them, the root ``.zgroup`` last; objects
    already in the bucket with the same size and checksum are skipped; at the end the
    bucket is listed and compared with the store (module docstring).

    Parameters
    ----------
    store : path-like
        A Zarr store folder (``*.zarr``).
    bucket, prefix, endpoint_url : str, optional
        Where to; each falls back on ``config``, the environment and ``.env``
        (:func:`resolve_config`).
    config : S3Config, optional
        A full configuration; ``bucket``, ``prefix`` and ``endpoint_url`` override it.
    env_file : path-like, optional
        The ``.env`` file when ``config`` is not given (default ``./.env`` if present).
    jobs : int
        Objects uploaded at once.
    cors : bool
        Add the viewer's CORS rule (:data:`CORS_RULE`) to the bucket first.
    public : bool
        Make the objects under the prefix readable by anyone (:func:`make_public`); a
        refusal by the service is a warning in the summary, not an error.
    dry_run : bool
        Compare with the bucket and count what would be uploaded; change nothing.
    viewer : str
        Viewer base URL for :attr:`UploadSummary.viewer_url`.
    multipart_threshold, part_size : int
        Objects above the threshold go in parts of this size (at least 5 MiB).
    progress : callable, optional
        ``progress(done, total)`` in bytes, called from the upload threads.

    Returns
    -------
    UploadSummary
        Check :attr:`UploadSummary.ok`: failures of single objects and a failed
        verification are reported there, not raised.

    Raises
    ------
    ZoomingOnlineError
        If the store is not a Zarr store, the endpoint does not answer, the credentials
        are rejected, the bucket does not exist or cannot be listed.
    """
    path = Path(store)
    _check_store(path)
    _check_jobs(jobs, multipart_threshold, part_size)
    cfg = _config(config, bucket, prefix, endpoint_url, env_file)
    check_bucket(cfg)
    client = cfg.client(max_pool_connections=2 * jobs + 4)
    warnings = [] if dry_run else _bucket_settings(client, cfg, cors, public)
    summary = _upload(
        client,
        cfg,
        path,
        cfg.key(path.name),
        jobs=jobs,
        dry_run=dry_run,
        multipart_threshold=multipart_threshold,
        part_size=part_size,
        progress=progress,
        root_metadata=None,
        cancel=threading.Event(),
        viewer=viewer,
    )
    summary.warnings[:0] = warnings
    return summary


def _upload(
    client: Any,
    config: S3Config,
    store: Path,
    key: str,
    *,
    viewer: str,
    **kwargs: Any,
) -> UploadSummary:
    summary = _StoreUpload(client, config, store, key, **kwargs).run()
    summary.viewer_url = viewer_url(summary.url, viewer)
    return summary


# -- import: find, convert, upload ---------------------------------------------------------


def find_inputs(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The recordings to import: files as given, folders searched for ``.h5/.hdf5/.hdf``.

    Hidden files and folders (a leading ``.``, such as partial writes) are left out of the
    search. The result has no duplicates and keeps the order of ``paths`` (each folder's
    files sorted).

    Raises
    ------
    ZoomingOnlineError
        If a path does not exist or nothing is found.
    """
    found: list[Path] = []
    seen: set[Path] = set()
    given = [Path(p) for p in paths]
    if not given:
        raise ZoomingOnlineError("no input: give HDF5 files or folders to search")
    for p in given:
        if not p.exists():
            raise ZoomingOnlineError(f"{p}: no such file or folder")
        if p.is_dir():
            hits = sorted(
                f
                for f in p.rglob("*")
                if f.suffix.lower() in INPUT_SUFFIXES
                and f.is_file()
                and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
            if not hits:
                log.warning("no %s files under %s", ", ".join(INPUT_SUFFIXES), p)
        else:
            hits = [p]
        for f in hits:
            r = f.resolve()
            if r not in seen:
                seen.add(r)
                found.append(f)
    if not found:
        names = ", ".join(str(p) for p in given)
        raise ZoomingOnlineError(f"no {', '.join(INPUT_SUFFIXES)} files in {names}")
    return found


@dataclass
class FileResult:
    """What happened to one input of :func:`import_paths`.

    Attributes
    ----------
    input : Path
        The recording.
    store : Path
        The local store it was (or would be) converted to.
    key : str
        The store's key prefix in the bucket (``<prefix>/<name>.zarr``).
    status : str
        ``"uploaded"``, ``"skipped"`` (the bucket already holds it, converted from this
        very file with these options), ``"converted"`` (``skip_upload``), ``"planned"``
        (dry run) or ``"failed"``.
    error : str, optional
        Why it failed, in one line.
    detail : str
        What was or would be done, for the summary.
    url, viewer_url : str
        Where the store is read from, and the viewer link.
    convert : ConvertSummary, optional
        The conversion, if one ran.
    upload : UploadSummary, optional
        The upload, if one ran.
    local_deleted : bool
        The local store was deleted after its upload was verified.
    """

    input: Path
    store: Path
    key: str
    status: str = "planned"
    error: str | None = None
    detail: str = ""
    url: str = ""
    viewer_url: str = ""
    convert: ConvertSummary | None = None
    upload: UploadSummary | None = None
    local_deleted: bool = False

    @property
    def ok(self) -> bool:
        """Not failed."""
        return self.status != "failed"


@dataclass
class ImportSummary:
    """What :func:`import_paths` did, file by file, with totals.

    Attributes
    ----------
    files : list of FileResult
        One per input, in order.
    bucket : str or None
        The bucket (None with ``skip_upload``).
    dry_run : bool
        Nothing was changed.
    warnings : list of str
        Problems that did not fail the run (``--public`` refused, ...).
    seconds : float
        Wall time.
    shard : tuple of int, optional
        ``(index, count)`` when only this share of the inputs was imported (``shard``).
    """

    files: list[FileResult]
    bucket: str | None
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    shard: tuple[int, int] | None = None

    def _uploads(self) -> list[UploadSummary]:
        return [f.upload for f in self.files if f.upload is not None]

    @property
    def objects(self) -> int:
        """Objects of the stores uploaded or checked."""
        return sum(u.objects for u in self._uploads())

    @property
    def bytes(self) -> int:
        """Bytes of the stores uploaded or checked."""
        return sum(u.bytes for u in self._uploads())

    @property
    def uploaded(self) -> int:
        """Objects uploaded."""
        return sum(u.uploaded for u in self._uploads())

    @property
    def uploaded_bytes(self) -> int:
        """Bytes uploaded."""
        return sum(u.uploaded_bytes for u in self._uploads())

    @property
    def skipped(self) -> int:
        """Objects found in the bucket already."""
        return sum(u.skipped for u in self._uploads())

    @property
    def failed(self) -> list[FileResult]:
        """The inputs that failed."""
        return [f for f in self.files if not f.ok]

    @property
    def ok(self) -> bool:
        """Every input was converted and, unless skipped, uploaded and verified."""
        return not self.failed


def _fingerprint(src: Path, options: Mapping[str, Any]) -> str:
    """Size and mtime of the input, and the conversion options: what makes the store."""
    st = src.stat()
    opts = json.dumps(
        {k: v for k, v in sorted(options.items()) if k != "jobs"}, sort_keys=True, default=str
    )
    digest = hashlib.sha256(opts.encode()).hexdigest()[:16]
    return f"v{FORMAT_VERSION}-{st.st_size}-{st.st_mtime_ns}-{digest}"


def _sidecar(store: Path) -> Path:
    """Beside a store made by import: the fingerprint of what it was converted from."""
    return store.with_name(f".{store.name}.import.json")


class _Importer:
    def __init__(
        self,
        config: S3Config | None,
        *,
        output_dir: Path | None,
        skip_upload: bool,
        keep_local: bool,
        dry_run: bool,
        force: bool,
        jobs: int,
        convert_options: Mapping[str, Any],
        viewer: str,
        progress: ImportProgress | None,
        multipart_threshold: int,
        part_size: int,
    ) -> None:
        self.config = config
        self.output_dir = output_dir
        self.skip_upload = skip_upload
        self.keep_local = keep_local
        self.dry_run = dry_run
        self.force = force
        self.jobs = jobs
        self.convert_options = dict(convert_options)
        self.viewer = viewer
        self.progress = progress
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        self.client: Any = None
        self.cancel = threading.Event()

    def plan(self, inputs: Sequence[Path]) -> list[FileResult]:
        results = []
        for src in inputs:
            name = src.with_suffix(".zarr").name
            local = (self.output_dir or src.parent) / name
            key = self.config.key(name) if self.config else name
            result = FileResult(input=src, store=local, key=key)
            if self.config is not None:
                result.url = store_url(self.config, key, self.client)
                result.viewer_url = viewer_url(result.url, self.viewer)
            results.append(result)
        by_key: dict[str, list[Path]] = {}
        for r in results:
            by_key.setdefault(r.key if self.config else str(r.store), []).append(r.input)
        for clash in by_key.values():
            if len(clash) > 1:
                names = " and ".join(str(p) for p in clash)
                store = clash[0].with_suffix(".zarr").name
                raise ZoomingOnlineError(
                    f"{names} would both become {store}; rename one or import them separately"
                )
        return results

    def _remote_fingerprint(self, result: FileResult) -> str | None:
        for name in ROOT_MARKERS:
            try:
                head = self.client.head_object(
                    Bucket=self.config.bucket, Key=f"{result.key}/{name}"
                )
            except Exception as exc:  # noqa: BLE001
                if not _is_not_found(exc):
                    log.warning("%s", describe_error(exc, self.config, f"check {result.key}"))
                continue
            meta = {k.lower(): v for k, v in head.get("Metadata", {}).items()}
            return meta.get(SOURCE_METADATA)
        return None

    def _local_store(self, result: FileResult, fingerprint: str) -> tuple[bool, bool]:
        """Whether the local store can be reused, and whether import made it."""
        store = result.store
        side = _sidecar(store)
        if not store.exists():
            return False, True
        if side.is_file():
            try:
                ours = json.loads(side.read_text()).get("fingerprint")
            except (OSError, ValueError):
                ours = None
            return ours == fingerprint, True
        try:
            attrs = json.loads((store / ".zattrs").read_text())
            source = attrs["zoomingonline"]["source"]
        except (OSError, ValueError, KeyError, TypeError):
            source = None
        if source != result.input.name:
            raise ZoomingOnlineError(
                f"{store} exists and was not converted from {result.input.name};"
                " move it away or choose another --output-dir"
            )
        log.info("uploading the existing store %s (kept: import did not make it)", store)
        return True, False

    def _convert(self, result: FileResult, fingerprint: str) -> None:
        from zoomingonline.convert import convert

        name = result.input.name

        def step(done: int, total: int) -> None:
            if self.progress is not None:
                self.progress("convert", name, done, total)

        result.store.parent.mkdir(parents=True, exist_ok=True)
        side = _sidecar(result.store)
        side.unlink(missing_ok=True)
        result.convert = convert(
            result.input,
            result.store,
            overwrite=True,
            progress=step,
            **self.convert_options,
        )
        side.write_text(json.dumps({"fingerprint": fingerprint, "input": str(result.input)}))

    def _upload_one(self, result: FileResult, fingerprint: str, ours: bool) -> None:
        name = result.input.name

        def step(done: int, total: int) -> None:
            if self.progress is not None:
                self.progress("upload", name, done, total)

        assert self.config is not None  # noqa: S101 - checked by the caller
        try:
            summary = _upload(
                self.client,
                self.config,
                result.store,
                result.key,
                jobs=self.jobs,
                dry_run=False,
                multipart_threshold=self.multipart_threshold,
                part_size=self.part_size,
                progress=step,
                root_metadata={SOURCE_METADATA: fingerprint},
                cancel=self.cancel,
                viewer=self.viewer,
            )
        except ZoomingOnlineError as exc:
            result.status, result.error = "failed", str(exc)
            return
        except _CancelledError:
            result.status, result.error = "failed", "interrupted"
            return
        except Exception as exc:  # noqa: BLE001 - one bad store must not stop the rest
            result.status = "failed"
            result.error = describe_error(exc, self.config, f"upload {result.key}")
            return
        result.upload = summary
        problem = summary.problem()
        if problem is not None:
            result.status, result.error = "failed", problem
            result.detail = f"local store kept: {result.store}"
            return
        result.status = "uploaded"
        if self.keep_local or not ours:
            result.detail = f"local store kept: {result.store}"
            return
        shutil.rmtree(result.store, ignore_errors=True)
        _sidecar(result.store).unlink(missing_ok=True)
        result.local_deleted = not result.store.exists()

    def run_one(self, result: FileResult) -> tuple[str, bool] | None:
        """Everything before the upload; returns (fingerprint, ours) if an upload is due."""
        fingerprint = _fingerprint(result.input, self.convert_options)
        if self.client is not None and not self.force:
            remote = self._remote_fingerprint(result)
            if remote == fingerprint:
                result.status = "skipped"
                result.detail = "already in the bucket, converted from this file"
                return None
        reuse, ours = self._local_store(result, fingerprint)
        if self.dry_run:
            result.status = "planned"
            target = f"s3://{self.config.bucket}/{result.key}/" if self.config else ""
            action = "upload the existing" if reuse else "convert to"
            result.detail = f"would {action} {result.store}" + (
                f" and upload it to {target}" if target else ""
            )
            return None
        if not reuse:
            self._convert(result, fingerprint)
        if self.skip_upload:
            result.status = "converted"
            result.detail = f"converted to {result.store}"
            return None
        return fingerprint, ours

    def prepare(self, result: FileResult) -> tuple[str, bool] | None:
        """:meth:`run_one`, with a failure recorded in ``result`` instead of raised."""
        try:
            return self.run_one(result)
        except ZoomingOnlineError as exc:
            result.status, result.error = "failed", str(exc)
            log.warning("%s: %s", result.input, exc)
        except Exception as exc:  # one bad input must not stop the rest
            result.status = "failed"
            result.error = f"{result.input}: {type(exc).__name__}: {exc}"
            log.warning("%s", result.error, exc_info=log.isEnabledFor(logging.DEBUG))
        return None

    def run_file(self, result: FileResult) -> FileResult:
        """Convert then upload one input, in this thread (one task of a cluster run)."""
        todo = self.prepare(result)
        if todo is not None:
            self._upload_one(result, *todo)
        return result

    def run(self, results: list[FileResult]) -> None:
        # The upload of one store runs while the next input converts: one upload thread,
        # and at most two local stores waiting at any time.
        pending: Future[None] | None = None
        with ThreadPoolExecutor(1, thread_name_prefix="zoomingonline-import") as uploader:
            try:
                for result in results:
                    todo = self.prepare(result)
                    if todo is None:
                        continue
                    if pending is not None:
                        pending.result()
                    pending = uploader.submit(self._upload_one, result, *todo)
                if pending is not None:
                    pending.result()
            except BaseException:
                self.cancel.set()
                raise


def import_paths(
    paths: Iterable[str | os.PathLike[str]],
    bucket: str | None = None,
    *,
    prefix: str | None = None,
    endpoint_url: str | None = None,
    config: S3Config | None = None,
    env_file: str | os.PathLike[str] | None = None,
    output_dir: str | os.PathLike[str] | None = None,
    skip_upload: bool = False,
    keep_local: bool = False,
    dry_run: bool = False,
    force: bool = False,
    jobs: int = DEFAULT_JOBS,
    cors: bool = False,
    public: bool = False,
    convert_options: Mapping[str, Any] | None = None,
    viewer: str = DEFAULT_VIEWER,
    multipart_threshold: int = MULTIPART_THRESHOLD,
    part_size: int = PART_SIZE,
    progress: ImportProgress | None = None,
    dask: str | None = None,
    shard: tuple[int, int] | None = None,
) -> ImportSummary:
    """Convert HDF5 recordings and upload each store to ``<prefix>/<name>.zarr/``.

    Each input is converted (:func:`zoomingonline.convert.convert`) to
    ``<output_dir or its folder>/<name>.zarr``, then uploaded with the rules of
    :func:`upload_store`, while the next input converts. A local store is deleted only
    after its upload was verified, and never when anything about it failed, when
    ``keep_local`` is set, or when import did not create it (a store that was already
    there, converted from the same file, is uploaded and kept).

    Started again after an interruption, the run picks up where it stopped: an input
    whose store is in the bucket, complete and converted from this very file (size and
    mtime) with the same options, is skipped without converting it; a local store left
    by the interrupted run is reused; objects already in the bucket are not sent again.

    One bad input does not stop the others: it is listed in the summary as failed.

    Parameters
    ----------
    paths : iterable of path-like
        HDF5 files, or folders searched recursively for ``.h5``, ``.hdf5``, ``.hdf``.
    bucket, prefix, endpoint_url, config, env_file
        Where to upload, as for :func:`upload_store`; not needed with ``skip_upload``.
    output_dir : path-like, optional
        Folder for the local stores; default: beside each input.
    skip_upload : bool
        Only convert; keep the stores.
    keep_local : bool
        Keep the local stores after a verified upload.
    dry_run : bool
        Say what would be converted and uploaded; change nothing, locally or remotely.
    force : bool
        Convert and compare again even if the bucket holds the store already.
    jobs : int
        Objects uploaded at once.
    cors, public : bool
        Bucket settings for the viewer, as for :func:`upload_store`.
    convert_options : mapping, optional
        Keyword arguments of :func:`zoomingonline.convert.convert` (``codec``,
        ``raw_chunk``, ``target``, ...).
    viewer : str
        Viewer base URL for the links.
    multipart_threshold, part_size : int
        As for :func:`upload_store`.
    progress : callable, optional
        ``progress(phase, name, done, total)``: ``"convert"`` in samples, ``"upload"``
        in bytes, for the input named ``name``; called from two threads. With ``dask``:
        ``progress("files", "dask", done, total)`` as the tasks finish.
    dask : str, optional
        Run each input as one task (convert, then upload) on a Dask cluster: a scheduler
        address (``tcp://host:8786``), a scheduler file (``.json``), or ``local:N`` for a
        LocalCluster of N worker processes here. Needs the ``cluster`` extra. The same
        resume rules apply on the workers; a dry run does not use the cluster.
    shard : (int, int), optional
        ``(index, count)``: import only this share of the inputs, a stable round-robin
        over their sorted list (see :func:`zoomingonline.cluster.shard_inputs`), so that
        ``count`` jobs (a Slurm array) together import each input exactly once.

    Returns
    -------
    ImportSummary

    Raises
    ------
    ZoomingOnlineError
        Before converting anything: no inputs, two inputs with the same store name, an
        S3 problem (endpoint, credentials, bucket), a bad ``shard``, or ``dask`` without
        the ``cluster`` extra or with a scheduler that cannot be reached.
    """
    t0 = time.perf_counter()
    _check_jobs(jobs, multipart_threshold, part_size)
    options = dict(convert_options or {})
    for reserved in ("input", "output", "overwrite", "progress"):
        if reserved in options:
            raise ZoomingOnlineError(f"convert option {reserved!r} is set by import itself")
    if shard is not None or dask is not None:
        from zoomingonline import cluster

        if shard is not None:
            cluster.check_shard(*shard)
        if dask is not None and not dry_run:
            cluster.require_dask()
    inputs = find_inputs(paths)
    cfg = None if skip_upload else _config(config, bucket, prefix, endpoint_url, env_file)
    # Everything a worker needs to make the same importer (picklable: no client, no lock).
    settings: dict[str, Any] = {
        "output_dir": Path(output_dir) if output_dir is not None else None,
        "skip_upload": skip_upload,
        "keep_local": keep_local,
        "dry_run": dry_run,
        "force": force,
        "jobs": jobs,
        "convert_options": options,
        "viewer": viewer,
        "multipart_threshold": multipart_threshold,
        "part_size": part_size,
    }
    importer = _Importer(cfg, progress=progress, **settings)
    warnings: list[str] = []
    if cfg is not None:
        check_bucket(cfg)
        importer.client = cfg.client(max_pool_connections=2 * jobs + 4)
    # Planned over every input (two that clash fail every shard alike), then sharded.
    results = importer.plan(inputs)
    if shard is not None:
        mine = set(cluster.shard_inputs([r.input for r in results], *shard))
        results = [r for r in results if r.input in mine]
        log.info("shard %d/%d: %d of %d inputs", shard[0], shard[1], len(mine), len(inputs))
    if cfg is not None and not dry_run:
        warnings = _bucket_settings(importer.client, cfg, cors, public)
    if output_dir is not None and not dry_run:
        try:
            Path(output_dir).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ZoomingOnlineError(f"cannot create {output_dir}: {exc.strerror or exc}") from None
    if dask is not None and not dry_run:
        results = cluster.run_on_dask(dask, cfg, settings, results, progress=progress)
    else:
        importer.run(results)
    summary = ImportSummary(
        files=results,
        bucket=cfg.bucket if cfg else None,
        dry_run=dry_run,
        warnings=warnings,
        seconds=time.perf_counter() - t0,
        shard=shard,
    )
    log.info(
        "import: %d files, %d failed, %d objects uploaded, %.2f s",
        len(results),
        len(summary.failed),
        summary.uploaded,
        summary.seconds,
    )
    return summary


#: The name the original importer script gave :func:`upload_store`.
upload_to_s3 = upload_store
#: The name the original importer script gave :func:`import_paths` (convert many, upload).
batch_convert = import_paths
