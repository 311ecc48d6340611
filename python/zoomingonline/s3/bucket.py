"""The bucket itself: is it there, may the viewer read it (CORS, public policy), its URLs."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.s3.config import S3Config
from zoomingonline.s3.errors import as_error, describe_error, error_code, is_not_found
from zoomingonline.s3.retry import Retrier

__all__ = [
    "CORS_RULE",
    "BucketSettings",
    "UnsupportedError",
    "apply_bucket_settings",
    "bucket_settings",
    "check_bucket",
    "ensure_cors",
    "make_public",
    "set_bucket_cors",
    "store_url",
]

log = logging.getLogger(__name__)

#: The bucket CORS rule the viewer needs: GET and HEAD from any origin, any request header
#: (Range included), ETag and Content-Range readable by the page.
CORS_RULE: dict[str, Any] = {
    "AllowedOrigins": ["*"],
    "AllowedMethods": ["GET", "HEAD"],
    "AllowedHeaders": ["*"],
    "ExposeHeaders": ["ETag", "Content-Range", "Content-Length", "Accept-Ranges"],
    "MaxAgeSeconds": 3600,
}

#: Answers of services that do not implement an operation.
UNSUPPORTED_CODES = frozenset(("NotImplemented", "MethodNotAllowed", "501", "405"))


class UnsupportedError(ZoomingOnlineError):
    """The service does not implement a bucket setting (MinIO and bucket CORS, say)."""


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
        raise as_error(exc, config, "list bucket") from None


def set_bucket_cors(client: Any, config: S3Config) -> list[dict[str, Any]]:
    """Add :data:`CORS_RULE` to the bucket's CORS rules (others are kept); read them back.

    :func:`ensure_cors` does the same and also says whether the rule was added.

    Requests that fail for a passing reason are retried (:mod:`zoomingonline.s3.retry`).

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
    return ensure_cors(client, config)[0]


def _read_cors(client: Any, config: S3Config) -> list[dict[str, Any]]:
    """The bucket's CORS rules ([] when it has none).

    Raises
    ------
    UnsupportedError
        If the service has no bucket CORS rules.
    ZoomingOnlineError
        If reading them fails.
    """
    call = Retrier(config).call
    try:
        return list(
            call("read bucket CORS", client.get_bucket_cors, Bucket=config.bucket).get(
                "CORSRules", []
            )
        )
    except Exception as exc:  # noqa: BLE001
        code = error_code(exc)
        if code in UNSUPPORTED_CODES:
            raise UnsupportedError(
                f"{config.endpoint_url or 'the service'} has no bucket CORS rules ({code});"
                " allow GET and HEAD from any origin in its own settings"
            ) from None
        if code != "NoSuchCORSConfiguration" and not is_not_found(exc):
            raise as_error(exc, config, "read bucket CORS") from None
        return []


def ensure_cors(client: Any, config: S3Config) -> tuple[list[dict[str, Any]], bool]:
    """:func:`set_bucket_cors`, and whether the rule had to be added (False: it was there).

    Raises
    ------
    UnsupportedError, ZoomingOnlineError
        As :func:`set_bucket_cors`.
    """
    call = Retrier(config).call
    rules = _read_cors(client, config)
    added = not any(_covers(rule) for rule in rules)
    if added:
        new = [*rules, dict(CORS_RULE)]
        try:
            call(
                "set bucket CORS",
                client.put_bucket_cors,
                Bucket=config.bucket,
                CORSConfiguration={"CORSRules": new},
            )
        except Exception as exc:  # noqa: BLE001
            raise as_error(exc, config, "set bucket CORS") from None
        log.info("CORS rule for GET and HEAD from any origin added to bucket %s", config.bucket)
    try:
        back = call("read bucket CORS", client.get_bucket_cors, Bucket=config.bucket).get(
            "CORSRules", []
        )
    except Exception as exc:  # noqa: BLE001
        raise as_error(exc, config, "read bucket CORS") from None
    if not any(_covers(rule) for rule in back):
        raise ZoomingOnlineError(
            f"bucket {config.bucket!r} does not keep the CORS rule; set it by hand (docs/s3.md)"
        )
    return list(back), added


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
    state = _public_state(client, config)
    if isinstance(state, str):
        return state
    policy, statements, statement = state
    if statement is None:
        return None
    resource = statement["Resource"][0]
    sid = statement["Sid"]
    call = Retrier(config).call
    policy["Statement"] = [*statements, statement]
    try:
        call(
            "set public-read bucket policy",
            client.put_bucket_policy,
            Bucket=config.bucket,
            Policy=json.dumps(policy),
        )
    except Exception as exc:  # noqa: BLE001
        return describe_error(exc, config, "set public-read bucket policy")
    log.info("objects under %s readable by anyone (bucket policy %s)", resource, sid)
    return None


def _public_state(
    client: Any, config: S3Config
) -> str | tuple[dict[str, Any], list[Any], dict[str, Any] | None]:
    """The bucket policy, its statements and the statement to add (None: it is there);
    or why the policy cannot be read."""
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
    call = Retrier(config).call
    try:
        text = call("read bucket policy", client.get_bucket_policy, Bucket=config.bucket).get(
            "Policy"
        )
        if text:
            policy = json.loads(text)
    except Exception as exc:  # noqa: BLE001
        if error_code(exc) not in ("NoSuchBucketPolicy", "NoSuchPolicy") and not is_not_found(exc):
            return describe_error(exc, config, "read bucket policy")
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    if any(s.get("Sid") == sid for s in statements):
        return policy, list(statements), None
    return policy, list(statements), statement


@dataclass
class BucketSettings:
    """What an upload did (or, in a dry run, would do) to the bucket's settings.

    Attributes
    ----------
    cors, public : str
        One line each: ``"set"``, ``"already set"``, ``"would be set"``, ``"not asked"``
        or ``"not set: <why>"``.
    warnings : list of str
        What the service refused without failing the upload.
    """

    cors: str = "not asked"
    public: str = "not asked"
    warnings: list[str] = field(default_factory=list)


def bucket_settings(
    client: Any, config: S3Config, cors: bool, public: bool, *, dry_run: bool = False
) -> BucketSettings:
    """Set (or in a dry run, only look at) what ``cors`` and ``public`` ask for.

    ``client`` is a boto3 client, or None to make one only if something is asked (boto3
    is not imported otherwise).

    Raises
    ------
    ZoomingOnlineError
        If the service refuses the CORS rule or does not keep it (a missing feature is a
        warning instead), or, in a dry run, cannot tell its CORS rules.
    """
    out = BucketSettings()
    if not (cors or public):
        return out
    if client is None:
        client = config.client()
    if cors:
        try:
            if dry_run:
                there = any(_covers(rule) for rule in _read_cors(client, config))
                out.cors = "already set" if there else "would be set"
            else:
                out.cors = "set" if ensure_cors(client, config)[1] else "already set"
        except UnsupportedError as exc:
            out.cors = f"not set: {exc}"
            out.warnings.append(f"CORS not set: {exc}")
            log.warning("CORS not set: %s", exc)
    if public:
        if dry_run:
            state = _public_state(client, config)
            if isinstance(state, str):
                out.public = f"not set: {state}"
            else:
                out.public = "already set" if state[2] is None else "would be set"
        else:
            before = _public_state(client, config)
            problem = make_public(client, config)
            if problem is not None:
                out.public = f"not set: {problem}"
                out.warnings.append(f"not made public: {problem}")
                log.warning("not made public: %s", problem)
            elif not isinstance(before, str) and before[2] is None:
                out.public = "already set"
            else:
                out.public = "set"
    return out


def apply_bucket_settings(client: Any, config: S3Config, cors: bool, public: bool) -> list[str]:
    """Set what ``cors`` and ``public`` ask for; the warnings for what the service refused.

    ``client`` is a boto3 client, or None to make one only if there is something to set
    (boto3 is not imported otherwise).

    Raises
    ------
    ZoomingOnlineError
        If the service refuses the CORS rule or does not keep it (a missing feature is a
        warning instead).
    """
    return bucket_settings(client, config, cors, public).warnings


def store_url(config: S3Config, key: str, client: Any = None) -> str:
    """The HTTP(S) URL a browser reads the store (or object) ``key`` from."""
    path = quote(key)
    if config.public_url:
        return f"{config.public_url}/{path}"
    if config.endpoint_url:
        return f"{config.endpoint_url}/{config.bucket}/{path}"
    meta = getattr(client, "meta", None)
    region = config.region or (meta.region_name if meta is not None else None)
    host = f"s3.{region}.amazonaws.com" if region else "s3.amazonaws.com"
    return f"https://{config.bucket}.{host}/{path}"
