"""The data path: objects moved by obstore, the Python bindings of Rust's ``object_store``.

:class:`ObjectClient` lists, puts, reads and deletes the objects of one bucket. Requests
are signed and sent in Rust, with the GIL released, so many threads share two cores
without the per-request cost of botocore (which stays for the bucket's settings, in
:mod:`zoomingonline.s3.bucket`). obstore's own retries are turned off: the transfers retry
through :mod:`zoomingonline.s3.retry`, which rides out outages and counts each kind of
failure once. Credentials go to the Rust client and nowhere else; its ``repr`` names
only the bucket.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoomingonline._core import __version__
from zoomingonline.errors import ZoomingOnlineError

if TYPE_CHECKING:
    from zoomingonline.s3.config import S3Config

__all__ = ["NO_CREDENTIALS", "ObjectClient", "Remote", "etag_of"]

#: The one line for a run without any credentials.
NO_CREDENTIALS = (
    "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (environment or .env)"
)


@dataclass(frozen=True)
class Remote:
    """An object as a listing or a HEAD request reports it: size and ETag (no quotes)."""

    size: int
    etag: str


def etag_of(value: object) -> str:
    """An ETag as compared with local digests: without quotes, lower case."""
    return str(value or "").strip('"').lower()


def _credentials(config: S3Config) -> tuple[str, str, str | None]:
    """The keys of ``config``, else those of boto3's chain (profiles, instance roles).

    Raises
    ------
    ZoomingOnlineError
        If there are none.
    """
    if config.access_key_id and config.secret_access_key:
        return config.access_key_id, config.secret_access_key, config.session_token
    import boto3

    found = boto3.session.Session(region_name=config.region).get_credentials()
    if found is None:
        raise ZoomingOnlineError(NO_CREDENTIALS)
    frozen = found.get_frozen_credentials()
    if not frozen.access_key or not frozen.secret_key:
        raise ZoomingOnlineError(NO_CREDENTIALS)
    return frozen.access_key, frozen.secret_key, frozen.token


def _seconds(value: float) -> str:
    return f"{max(1, round(value * 1000))}ms"


class ObjectClient:
    """The objects of ``config.bucket``, through one obstore ``S3Store`` (thread-safe).

    Parameters
    ----------
    config : S3Config
        Endpoint, region, credentials and timeouts.
    jobs : int
        Requests that may run at once (idle connections kept per host).
    connect_timeout, read_timeout : float, optional
        Override the configuration's timeouts (a quick first probe).
    """

    def __init__(
        self,
        config: S3Config,
        jobs: int = 16,
        *,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
    ) -> None:
        from obstore.store import S3Store

        self.config = config
        key_id, secret, token = _credentials(config)
        options: Any = {
            "connect_timeout": _seconds(connect_timeout or config.connect_timeout),
            "read_timeout": _seconds(read_timeout or config.read_timeout),
            "pool_max_idle_per_host": str(2 * jobs + 4),
            "user_agent": f"zoomingonline/{__version__}",
        }
        endpoint = config.endpoint_url
        if endpoint is not None and endpoint.startswith("http://"):
            options["allow_http"] = True
        s3: dict[str, Any] = {
            "region": config.region or os.environ.get("AWS_REGION") or "us-east-1"
        }
        if endpoint is not None:
            s3["endpoint"] = endpoint
            s3["virtual_hosted_style_request"] = False
        if token:
            s3["session_token"] = token
        if config.checksums == "when_supported":
            s3["checksum_algorithm"] = "sha256"
        self._store = S3Store(
            config.bucket,
            access_key_id=key_id,
            secret_access_key=secret,
            client_options=options,
            retry_config={"max_retries": 0},
            **s3,
        )

    def __repr__(self) -> str:
        return f"ObjectClient(bucket={self.config.bucket!r})"

    def list(self, prefix: str, checkpoint: Any = None) -> dict[str, Remote]:
        """Every object under ``prefix``: key to size and ETag (one request per 1,000)."""
        import obstore

        out: dict[str, Remote] = {}
        for batch in obstore.list(self._store, prefix, chunk_size=1000):
            if checkpoint is not None:
                checkpoint()
            for meta in batch:
                out[meta["path"]] = Remote(int(meta["size"]), etag_of(meta.get("e_tag")))
        return out

    def first(self, prefix: str) -> None:
        """Ask for the first page under ``prefix``: one request that proves the bucket answers."""
        import obstore

        next(iter(obstore.list(self._store, prefix or None, chunk_size=1)), None)

    def put(
        self,
        key: str,
        body: bytes | Path,
        *,
        content_type: str,
        metadata: dict[str, str],
        part_size: int | None = None,
        concurrency: int = 4,
    ) -> str:
        """Store ``body`` (bytes, or a file sent in parts of ``part_size``); its ETag.

        ``metadata`` becomes the object's user metadata (``x-amz-meta-*``).
        """
        import obstore

        attributes: dict[str, str] = {"Content-Type": content_type, **metadata}
        if part_size is None:
            result = obstore.put(self._store, key, body, attributes=attributes, use_multipart=False)
        else:
            result = obstore.put(
                self._store,
                key,
                body,
                attributes=attributes,
                use_multipart=True,
                chunk_size=part_size,
                max_concurrency=concurrency,
            )
        return etag_of(result.get("e_tag"))

    def head(self, key: str) -> Remote | None:
        """Size and ETag of ``key``, or None if it is not there."""
        import obstore

        try:
            meta = obstore.head(self._store, key)
        except FileNotFoundError:
            return None
        return Remote(int(meta["size"]), etag_of(meta.get("e_tag")))

    def metadata(self, key: str) -> dict[str, str] | None:
        """The user metadata of ``key`` (names in lower case), or None if it is not there."""
        import obstore

        try:
            answer = obstore.get(self._store, key, options={"head": True})
        except FileNotFoundError:
            return None
        skip = {"content-type", "content-encoding", "content-disposition", "content-language"}
        skip |= {"cache-control"}
        return {
            str(k).lower(): str(v)
            for k, v in answer.attributes.items()
            if str(k).lower() not in skip
        }

    def get(self, key: str) -> bytes:
        """The bytes of ``key``."""
        import obstore

        return bytes(obstore.get(self._store, key).bytes())

    def delete(self, key: str) -> None:
        """Delete ``key`` (no error if it is not there)."""
        import obstore

        obstore.delete(self._store, key)
