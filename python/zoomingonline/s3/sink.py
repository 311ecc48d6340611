"""A store written straight to object storage: the remote chunk sink of the store writer.

:class:`~zoomingonline.store.StoreWriter` hands every encoded chunk to a sink. For a
local target that is a file in the temporary folder of
:class:`~zoomingonline.outputs.AtomicOutput`; for ``s3://BUCKET/KEY`` it is
:class:`ObjectSink`, which puts the chunk as an object, with nothing on the local disk
but the store's few metadata documents.

What makes it safe
------------------
- A half-written store is never visible as a store: the root ``.zgroup`` goes last, after
  every chunk and metadata document was put and its ETag checked; an existing store that
  is to be replaced (``overwrite``) has its root ``.zgroup`` removed first.
- Memory stays bounded: at most ``in_flight`` chunks are waiting for the network; the
  compressor threads wait when that many are.
- A re-run after an interruption completes the store: the bucket is listed once, and a
  chunk already there with the same MD5 (the listing's ETag) is not sent again.
- Requests are retried through :mod:`zoomingonline.s3.retry`; credentials stay in the
  client.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.stores import METADATA_NAMES, ROOT_MARKERS

if TYPE_CHECKING:
    from zoomingonline.s3.config import S3Config
    from zoomingonline.s3.objects import ObjectClient, Remote

__all__ = ["DEFAULT_IN_FLIGHT", "ObjectSink", "is_remote", "parse_s3_url"]

log = logging.getLogger(__name__)

#: Chunks sent at the same time (and most waiting for the network).
DEFAULT_IN_FLIGHT = 16


def is_remote(target: object) -> bool:
    """Whether ``target`` names a store in object storage (``s3://...``)."""
    return isinstance(target, str) and target.startswith("s3://")


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://BUCKET/KEY`` as (bucket, key without slashes at either end).

    Raises
    ------
    ZoomingOnlineError
        If there is no bucket or no key.
    """
    rest = url.removeprefix("s3://")
    bucket, _, key = rest.partition("/")
    key = key.strip("/")
    if not bucket or not key:
        raise ZoomingOnlineError(f"{url}: give an s3://BUCKET/PREFIX/NAME.zarr address")
    return bucket, key


def _content_type(key: str) -> str:
    name = key.rsplit("/", 1)[-1]
    return "application/json" if name in METADATA_NAMES else "application/octet-stream"


class ObjectSink:
    """Chunks and metadata of one store, put under ``s3://<bucket>/<key>/``.

    Parameters
    ----------
    url : str
        ``s3://BUCKET/PREFIX/NAME.zarr``.
    config : S3Config, optional
        Endpoint and credentials; default from the environment and ``.env``
        (:func:`~zoomingonline.s3.resolve_config`) with the URL's bucket.
    overwrite : bool
        Replace a complete store already there.
    in_flight : int
        Most chunks sent or waiting to be sent at once.
    root_metadata : dict, optional
        User metadata of the root marker (what ``import`` recognises its stores by).
    """

    def __init__(
        self,
        url: str,
        config: S3Config | None = None,
        *,
        overwrite: bool = False,
        in_flight: int = DEFAULT_IN_FLIGHT,
        root_metadata: dict[str, str] | None = None,
    ) -> None:
        import dataclasses

        from zoomingonline.s3.config import resolve_config

        bucket, key = parse_s3_url(url)
        cfg = config or resolve_config(bucket)
        self.config = dataclasses.replace(cfg, bucket=bucket) if cfg.bucket != bucket else cfg
        self.url = url
        self.key = key
        self.overwrite = overwrite
        self.in_flight = max(1, in_flight)
        self.root_metadata = dict(root_metadata or {})
        self.client: ObjectClient | None = None
        self.remote: dict[str, Remote] = {}
        self.sent = 0
        self.skipped = 0
        self._slots = threading.BoundedSemaphore(self.in_flight)
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list[Future[None]] = []
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._retry: object = None
        self._metadata: Path | None = None

    def __repr__(self) -> str:
        return f"ObjectSink({self.url!r})"

    # -- lifecycle ------------------------------------------------------------------------

    def open(self) -> Path:
        """List what is there, refuse a complete store unless ``overwrite``, hide it if so.

        Returns the local folder where the writer puts the store's metadata documents: they
        go up after every chunk, at :meth:`commit`.

        Raises
        ------
        ZoomingOnlineError
            If the bucket cannot be listed, or a store is there and ``overwrite`` is not set.
        """
        from zoomingonline.s3.errors import as_error
        from zoomingonline.s3.retry import Retrier
        from zoomingonline.s3.sync import probe, transfer_client

        self.client = transfer_client(self.config, self.in_flight)
        probe(self.client, self.config, self.key)
        self._retry = retry = Retrier(self.config, self._cancel)
        try:
            self.remote = retry.call("list bucket", self.client.list, self.key + "/")
        except ZoomingOnlineError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise as_error(exc, self.config, "list bucket") from None
        roots = [
            f"{self.key}/{name}" for name in ROOT_MARKERS if f"{self.key}/{name}" in self.remote
        ]
        if roots and not self.overwrite:
            raise ZoomingOnlineError(f"{self.url} exists; use --overwrite to replace it")
        for root in roots:
            self._call("upload", self.client.delete, root)
            del self.remote[root]
            log.info("hid %s until the new store is complete", root)
        self._pool = ThreadPoolExecutor(self.in_flight, thread_name_prefix="zoomingonline-put")
        self._metadata = Path(tempfile.mkdtemp(prefix="zoomingonline-meta-"))
        return self._metadata

    def _call(self, action: str, fn: object, *args: object, **kwargs: object) -> object:
        from zoomingonline.s3.errors import as_error
        from zoomingonline.s3.retry import Cancelled, Retrier

        assert isinstance(self._retry, Retrier)  # noqa: S101 - set by open()
        try:
            return self._retry.call(action, fn, *args, **kwargs)  # type: ignore[arg-type]
        except (Cancelled, ZoomingOnlineError):
            raise
        except Exception as exc:  # noqa: BLE001
            raise as_error(
                exc, self.config, f"{action} {args[0] if args else ''}".strip()
            ) from None

    def write(self, rel: str, data: bytes) -> None:
        """Send the chunk ``rel`` (a key inside the store) unless it is there already.

        Blocks while ``in_flight`` chunks are on their way: memory stays bounded.
        """
        if self._pool is None:
            raise RuntimeError("the sink is not open")
        self.check()
        self._slots.acquire()
        try:
            future = self._pool.submit(self._send, rel, data)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        with self._lock:
            self._futures.append(future)

    def check(self) -> None:
        """Raise the first failure of a chunk already sent, if any."""
        with self._lock:
            done = [f for f in self._futures if f.done()]
            self._futures = [f for f in self._futures if not f.done()]
        for f in done:
            f.result()

    def _send(self, rel: str, data: bytes) -> None:
        assert self.client is not None  # noqa: S101 - set by open()
        key = f"{self.key}/{rel}"
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        there = self.remote.get(key)
        same = there is not None and there.size == len(data) and there.etag == md5
        if same and not (rel in ROOT_MARKERS and self.root_metadata):
            with self._lock:
                self.skipped += 1
            return
        metadata = {"zoomingonline-md5": md5}
        if rel in ROOT_MARKERS:
            metadata.update(self.root_metadata)
        etag = self._call(
            "upload",
            self.client.put,
            key,
            data,
            content_type=_content_type(key),
            metadata=metadata,
        )
        if etag != md5:
            raise ZoomingOnlineError(
                f"upload {key}: the service answered ETag {etag or 'none'}, not the MD5 {md5}"
            )
        with self._lock:
            self.sent += 1

    def _drain(self) -> None:
        while True:
            with self._lock:
                pending = list(self._futures)
                self._futures = []
            if not pending:
                return
            for f in pending:
                f.result()

    def commit(self) -> None:
        """Wait for every chunk, put the metadata documents, the root ``.zgroup`` last.

        Raises
        ------
        ZoomingOnlineError
            If any object could not be put (the store stays invisible: no root marker).
        """
        metadata = self._metadata
        if metadata is None:
            raise RuntimeError("the sink is not open")
        try:
            self._drain()
            docs = sorted(p for p in metadata.rglob("*") if p.is_file())
            rels = [p.relative_to(metadata).as_posix() for p in docs]
            order: Sequence[tuple[str, Path]] = sorted(
                zip(rels, docs, strict=True), key=lambda item: item[0] in ROOT_MARKERS
            )
            for rel, path in order:
                self._send(rel, path.read_bytes())
        finally:
            self._shutdown()
        log.info("%s: %d objects sent, %d already there", self.url, self.sent, self.skipped)

    def abort(self) -> None:
        """Stop: chunks not yet sent are dropped, those in flight finish; no root marker."""
        self._cancel.set()
        self._shutdown(cancel=True)

    def _shutdown(self, cancel: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=cancel)
            self._pool = None
        if self._metadata is not None:
            shutil.rmtree(self._metadata, ignore_errors=True)
            self._metadata = None
