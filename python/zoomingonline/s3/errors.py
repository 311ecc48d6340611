"""S3 failures as one line each, saying what to check; never a credential.

Two clients fail here: botocore (the bucket's settings) with its exception classes, and
obstore (the objects) with one-line-per-layer messages that carry the HTTP status and
the service's XML error; :func:`obstore_failure` reads those into the same parts
(status, S3 error code, message, no connection) so that both are told apart alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from zoomingonline.errors import ZoomingOnlineError

if TYPE_CHECKING:
    from zoomingonline.s3.config import S3Config

__all__ = [
    "ObstoreFailure",
    "answered",
    "as_error",
    "describe_error",
    "error_code",
    "is_not_found",
    "is_transient",
    "obstore_failure",
]

#: Error codes that mean: these credentials are not accepted.
CREDENTIAL_CODES = frozenset(
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

#: Error codes of answers that may well be different a moment later.
TRANSIENT_CODES = frozenset(
    (
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "TooManyRequests",
        "RequestLimitExceeded",
        "RequestThrottled",
        "BandwidthLimitExceeded",
        "RequestTimeout",
        "InternalError",
        "ServiceUnavailable",
        "PriorRequestNotComplete",
    )
)

#: HTTP answers worth another try (501 Not Implemented, say, is not going to change).
TRANSIENT_STATUS = frozenset((429, 500, 502, 503, 504))


@dataclass(frozen=True)
class ObstoreFailure:
    """What an obstore exception says: the HTTP status, the S3 code and message, or why
    no answer came (``"connect"``, ``"timeout"``, ``"dropped"``)."""

    status: int | None
    code: str
    message: str
    transport: str
    not_found: bool


_STATUS = re.compile(r"status code: (\d{3})")
_CODE = re.compile(r"<Code>([^<]*)</Code>")
_MESSAGE = re.compile(r"<Message>([^<]*)</Message>")


def obstore_failure(exc: BaseException) -> ObstoreFailure | None:
    """The parts of an exception raised by obstore, or None for any other exception."""
    module = type(exc).__module__
    text = str(exc)
    if not module.startswith("obstore") and not (
        isinstance(exc, FileNotFoundError | TimeoutError | ConnectionError | PermissionError)
        and "Error performing" in text
    ):
        return None
    found = _STATUS.search(text)
    status = int(found.group(1)) if found else None
    code = _CODE.search(text)
    message = _MESSAGE.search(text)
    transport = ""
    if status is None:
        lowered = text.lower()
        if "kind: connect" in lowered or "connection refused" in lowered:
            transport = "connect"
        elif "timed out" in lowered or "timeout" in lowered.split("retry_timeout")[0]:
            transport = "timeout"
        elif "http error" in lowered or "error sending request" in lowered or "body" in lowered:
            transport = "dropped"
    return ObstoreFailure(
        status=status,
        code=code.group(1) if code else ("404" if status == 404 else ""),
        message=message.group(1).strip() if message else "",
        transport=transport,
        not_found=isinstance(exc, FileNotFoundError) or status == 404,
    )


def _describe_obstore(
    failure: ObstoreFailure, exc: BaseException, config: S3Config, action: str
) -> str:
    where = config.endpoint_url or "AWS S3"
    fix_endpoint = "check S3_ENDPOINT_URL and that the service is running"
    if failure.transport == "connect":
        return f"S3 endpoint {where} does not answer (cannot connect); {fix_endpoint}"
    if failure.transport == "timeout":
        return (
            f"S3 endpoint {where} does not answer (no reply within"
            f" {config.read_timeout:g} s); {fix_endpoint}"
        )
    if failure.transport == "dropped":
        return f"S3 endpoint {where} does not answer (connection dropped); {fix_endpoint}"
    code, status = failure.code, failure.status
    if code in CREDENTIAL_CODES or status == 401:
        return (
            f"{where} rejected the credentials ({code or status}): check AWS_ACCESS_KEY_ID and"
            " AWS_SECRET_ACCESS_KEY"
        )
    if code == "NoSuchBucket" or (status == 404 and action == "list bucket"):
        return f"bucket {config.bucket!r} does not exist at {where}"
    if code in ("AccessDenied", "AllAccessDisabled") or status == 403:
        return (
            f"access denied to bucket {config.bucket!r} at {where} ({action});"
            " check the credentials and their permissions"
        )
    if status is None:
        first = str(exc).split("\n", 1)[0].strip()
        return f"{action} failed ({first})"
    detail = f"{code}: {failure.message}" if failure.message else code or f"HTTP {status}"
    return f"{action} failed ({detail})"


def answered(exc: BaseException) -> bool:
    """Whether the service answered the failed request (with an error status)."""
    failure = obstore_failure(exc)
    if failure is not None:
        return failure.status is not None
    return getattr(exc, "response", None) is not None


def describe_error(exc: BaseException, config: S3Config, action: str = "S3 request") -> str:
    """One line for a boto3/botocore exception, with what to check; never a credential.

    Parameters
    ----------
    exc : BaseException
        What boto3 raised.
    config : S3Config
        The configuration of the request (its endpoint and bucket are named).
    action : str
        What was being done, for the message (``"list bucket"``, ``"upload KEY"``).

    Returns
    -------
    str
    """
    if isinstance(exc, ZoomingOnlineError):
        return str(exc)
    failure = obstore_failure(exc)
    if failure is not None:
        return _describe_obstore(failure, exc, config, action)
    if not type(exc).__module__.startswith("botocore"):
        return f"{action} failed ({exc})"
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
        if code in CREDENTIAL_CODES:
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


def as_error(exc: BaseException, config: S3Config, action: str) -> ZoomingOnlineError:
    """:func:`describe_error` as the exception the command line prints as one line."""
    return ZoomingOnlineError(describe_error(exc, config, action))


def error_code(exc: BaseException) -> str:
    """The S3 error code of a failed request (``"NoSuchKey"``), else ``""``."""
    failure = obstore_failure(exc)
    if failure is not None:
        return failure.code
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def is_not_found(exc: BaseException) -> bool:
    """Whether ``exc`` is the service's answer that an object (or setting) is not there."""
    failure = obstore_failure(exc)
    if failure is not None:
        return failure.not_found
    if not type(exc).__module__.startswith("botocore"):
        return False
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return False
    return error_code(exc) in ("404", "NoSuchKey", "NotFound")


def is_transient(exc: BaseException) -> bool:
    """Whether the failure may pass by itself: worth trying the request again.

    No connection, a dropped or timed-out connection, an answer cut short, a server error
    (500, 502, 503, 504), throttling (429, ``SlowDown``) and ``RequestTimeout`` are; bad
    credentials, missing buckets, refused permissions, features the service does not
    have (501), TLS failures and other client errors are not.
    """
    failure = obstore_failure(exc)
    if failure is not None:
        if failure.status is None:
            return bool(failure.transport)
        return failure.code in TRANSIENT_CODES or failure.status in TRANSIENT_STATUS
    if not type(exc).__module__.startswith("botocore"):
        return False
    from botocore import exceptions as bx

    if isinstance(exc, bx.SSLError | bx.NoCredentialsError | bx.PartialCredentialsError):
        return False
    if isinstance(exc, bx.ConnectionError | bx.HTTPClientError | bx.IncompleteReadError):
        return True
    if isinstance(exc, bx.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return error_code(exc) in TRANSIENT_CODES or status in TRANSIENT_STATUS
    return False
