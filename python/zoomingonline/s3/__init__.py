"""Publish stores to S3-compatible object storage: fast, resumable, ready for the browser.

- :mod:`~zoomingonline.s3.config`: :class:`S3Config` and :func:`resolve_config` (options,
  environment, ``.env``);
- :mod:`~zoomingonline.s3.errors`: botocore failures as one line each;
- :mod:`~zoomingonline.s3.bucket`: bucket checks, the viewer's CORS rule, public read, URLs;
- :mod:`~zoomingonline.s3.sync`: :func:`upload_store`, the resumable upload of one store.

Importing the package is cheap: boto3 is imported by the functions that talk to S3.
"""

from __future__ import annotations

from zoomingonline.s3.bucket import (
    CORS_RULE,
    UnsupportedError,
    check_bucket,
    make_public,
    set_bucket_cors,
    store_url,
)
from zoomingonline.s3.config import CHECKSUM_MODES, S3Config, read_dotenv, resolve_config
from zoomingonline.s3.errors import describe_error
from zoomingonline.s3.sync import DEFAULT_JOBS, UploadSummary, upload_store, upload_to_s3

__all__ = [
    "CHECKSUM_MODES",
    "CORS_RULE",
    "DEFAULT_JOBS",
    "S3Config",
    "UnsupportedError",
    "UploadSummary",
    "check_bucket",
    "describe_error",
    "make_public",
    "read_dotenv",
    "resolve_config",
    "set_bucket_cors",
    "store_url",
    "upload_store",
    "upload_to_s3",
]
