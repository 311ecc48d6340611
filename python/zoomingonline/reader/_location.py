"""Where a store is: a local folder, an ``http(s)://`` URL or ``s3://BUCKET/PREFIX/NAME.zarr``.

Each location becomes a read-only zarr-python store: :class:`zarr.storage.LocalStore` for
folders and :class:`zarr.storage.ObjectStore` (obstore's Rust HTTP and S3 clients) for the
others. obstore was chosen over fsspec by measurement (see ``docs/reader.md``): as fast
over HTTP, several times faster to open a store on S3, and without aiobotocore, whose
botocore pin conflicts with the boto3 that ``upload`` uses.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.stores import is_store

__all__ = ["Location", "parse_location"]

#: Seconds to wait for a connection, and for a whole answer, on HTTP and S3.
CONNECT_TIMEOUT = "10s"
REQUEST_TIMEOUT = "120s"


@dataclass(frozen=True)
class Location:
    """A store's address and the zarr store that reads it.

    Attributes
    ----------
    text : str
        The location as given (a path, URL or ``s3://`` address); never a credential.
    kind : str
        ``"local"``, ``"http"`` or ``"s3"``.
    store : zarr.abc.store.Store
        A read-only zarr store rooted at the store's group.
    path : Path, optional
        The folder of a local store.
    http_url : str, optional
        Where a browser reads the store from, when that is known (HTTP, S3).
    """

    text: str
    kind: str
    store: Any
    path: Path | None = None
    http_url: str | None = None

    @property
    def name(self) -> str:
        """The store's own name (its last path component)."""
        if self.path is not None:
            return self.path.name
        return self.text.rstrip("/").rsplit("/", 1)[-1]


def _obstore() -> Any:
    try:
        import obstore.store
    except ImportError:  # pragma: no cover - obstore is in the dev environment
        raise ZoomingOnlineError(
            "reading over HTTP or S3 needs obstore: pip install 'zoomingonline[remote]'"
        ) from None
    return obstore.store


def _client_options(url: str) -> dict[str, Any]:
    return {
        "allow_http": url.startswith("http://"),
        "connect_timeout": CONNECT_TIMEOUT,
        "timeout": REQUEST_TIMEOUT,
    }


def _http(text: str) -> Location:
    from zarr.storage import ObjectStore

    url = text.rstrip("/")
    if not urlsplit(url).netloc:
        raise ZoomingOnlineError(f"{text!r} is not a URL with a host")
    store = _obstore().HTTPStore.from_url(url, client_options=_client_options(url))
    return Location(text, "http", ObjectStore(store, read_only=True), http_url=url)


def _s3_config(bucket: str, env_file: str | os.PathLike[str] | None) -> Any:
    from zoomingonline.s3.config import resolve_config

    return resolve_config(bucket, env_file=env_file)


def _s3(text: str, env_file: str | os.PathLike[str] | None) -> Location:
    from zarr.storage import ObjectStore

    parts = urlsplit(text)
    bucket = parts.netloc
    key = parts.path.strip("/")
    if not bucket or not key:
        raise ZoomingOnlineError(f"{text!r}: expected s3://BUCKET/PREFIX/NAME.zarr")
    config = _s3_config(bucket, env_file)
    options: dict[str, Any] = {"prefix": key, "region": config.region or "us-east-1"}
    if config.endpoint_url:
        options["endpoint"] = config.endpoint_url
        options["virtual_hosted_style_request"] = False
    if config.access_key_id:
        options["access_key_id"] = config.access_key_id
        options["secret_access_key"] = config.secret_access_key
        if config.session_token:
            options["session_token"] = config.session_token
    else:
        # No keys anywhere the upload looks: read a public bucket without signing.
        options["skip_signature"] = True
    store = _obstore().S3Store(
        bucket, client_options=_client_options(config.endpoint_url or "https://"), **options
    )
    from zoomingonline.s3.bucket import store_url

    http_url = store_url(config, key)
    return Location(text, "s3", ObjectStore(store, read_only=True), http_url=http_url)


def _local(text: str) -> Location:
    from zarr.storage import LocalStore

    path = Path(text).expanduser()
    if not path.exists():
        raise ZoomingOnlineError(f"{text}: no such store")
    if not path.is_dir():
        raise ZoomingOnlineError(f"{text} is a file, not a store (a folder such as run.zarr)")
    if not is_store(path):
        raise ZoomingOnlineError(f"{text} is not a Zarr store: it has no .zgroup")
    return Location(text, "local", LocalStore(path, read_only=True), path=path.resolve())


def parse_location(
    location: str | os.PathLike[str], *, env_file: str | os.PathLike[str] | None = None
) -> Location:
    """The :class:`Location` of a local path, an ``http(s)://`` URL or an ``s3://`` address.

    S3 credentials and endpoint come from the environment and ``.env`` as for ``upload``
    (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``S3_ENDPOINT_URL``, ...); without
    keys a public bucket is read unsigned. ``env_file`` names another ``.env`` file.

    Raises
    ------
    ZoomingOnlineError
        If a local path is not a store, or an address is malformed.
    """
    text = os.fspath(location)
    scheme = urlsplit(text).scheme.lower() if "://" in text else ""
    if scheme in ("http", "https"):
        return _http(text)
    if scheme == "s3":
        return _s3(text, env_file)
    if scheme:
        raise ZoomingOnlineError(
            f"cannot read {scheme}:// locations; give a path, an http(s):// URL or s3://"
        )
    return _local(text)
