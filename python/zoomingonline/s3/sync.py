"""The upload of one store: diff against the bucket's listing, transfer, verify.

:func:`upload_store` copies one local store to ``s3://<bucket>/<prefix>/<name>.zarr/``,
with AWS S3 and with S3-compatible services (MinIO, SeaweedFS, Ceph, Garage, Cloudflare
R2, ...). The objects travel through obstore (:mod:`zoomingonline.s3.objects`, requests
signed and sent in Rust); boto3 is imported only to change the bucket's settings.

How an upload runs
------------------
1. The bucket is listed once under the store's prefix (one request per 1,000 objects).
2. The chunks are uploaded by a pool of threads, many small objects in parallel (at most
   ``jobs`` objects in flight, so memory stays bounded); objects above
   ``multipart_threshold`` go in parts, also in parallel. An object that is already
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

Requests that fail for a reason that may pass (no connection, a dropped connection,
throttling, server errors) are retried with backoff by :mod:`zoomingonline.s3.retry`, so an
outage of the service of some seconds costs time, not objects; the objects that still
failed get one more pass. Each kind of failure is logged once, with its counts, at the
end, and :meth:`UploadSummary.problem` says how many objects failed and that running the
same upload again resumes it.

The thread that waits for the pool looks at the ``cancel`` event and, in the main thread,
at :func:`zoomingonline.interrupts.check` every tenth of a second. On a signal the objects
not yet started are dropped and those in flight finish: everything that arrived is
complete, and a re-run sends only the rest.

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
other case it is uploaded again. Every request is signed with the SHA-256 of its body,
which the service checks, and the ETag that answers each upload must be the local one (or
the object must carry the local MD5): an object the service stored differently, or lost,
is a failure of that object at once, not only at the final verification.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoomingonline._core import n_bins
from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.s3.bucket import bucket_settings, store_url
from zoomingonline.s3.config import S3Config, effective_config
from zoomingonline.s3.errors import as_error, describe_error
from zoomingonline.s3.objects import ObjectClient
from zoomingonline.s3.objects import Remote as _Remote
from zoomingonline.s3.retry import POLL, Cancelled, Retrier
from zoomingonline.s3.summary import UploadSummary
from zoomingonline.stores import DEFAULT_VIEWER, METADATA_NAMES, ROOT_MARKERS, is_store, viewer_url

__all__ = [
    "DEFAULT_JOBS",
    "MD5_METADATA",
    "MIN_PART_SIZE",
    "MULTIPART_THRESHOLD",
    "PART_SIZE",
    "Cancelled",
    "UploadSummary",
    "check_transfer",
    "probe",
    "sync_store",
    "transfer_client",
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
#: Part sizes are whole MiB.
MIB = 1 << 20
#: User metadata (``x-amz-meta-...``) holding the MD5 of an object's bytes.
MD5_METADATA = "zoomingonline-md5"

#: ``progress(done, total)``: bytes of the store uploaded or found already there.
UploadProgress = Callable[[int, int], None]


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


class _Mismatch(Exception):  # noqa: N818 - reported as one object's failure
    """The service's answer to an upload does not match the local object."""


@dataclass(frozen=True)
class _Digest:
    md5: str
    etag: str


def _scan_store(store: Path, key: str) -> list[_Local]:
    """The files of ``store`` as objects under ``key``, each marked data, meta or root.

    Symlinks are not followed nor uploaded. One ``scandir`` per folder: the sizes come with
    the entries.
    """
    objects = []
    folders = [("", os.fspath(store))]
    while folders:
        rel_dir, folder = folders.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                rel = f"{rel_dir}{entry.name}"
                if entry.is_dir(follow_symlinks=False):
                    folders.append((rel + "/", entry.path))
                elif entry.is_file(follow_symlinks=False):
                    if entry.name in METADATA_NAMES:
                        kind = "root" if rel in ROOT_MARKERS else "meta"
                    else:
                        kind = "data"
                    size = entry.stat(follow_symlinks=False).st_size
                    objects.append(_Local(Path(entry.path), f"{key}/{rel}", size, kind))
    objects.sort(key=lambda o: o.key.split("/"))
    return objects


def _check_store(store: Path) -> None:
    """Raise :class:`ZoomingOnlineError` unless ``store`` is a Zarr store folder."""
    if not store.exists():
        raise ZoomingOnlineError(f"{store}: no such store")
    if not store.is_dir():
        raise ZoomingOnlineError(f"{store} is not a Zarr store (not a folder)")
    if not is_store(store):
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
        force: bool = False,
        delete: bool = False,
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
        self.force = force
        self.delete = delete
        self.threshold = multipart_threshold
        self.part_size = part_size
        self.progress = progress
        self.root_metadata = dict(root_metadata or {})
        self.cancel = cancel
        self.retry = Retrier(config, cancel)
        self.remote: dict[str, _Remote] = {}
        self.digests: dict[str, _Digest] = {}
        self.lock = threading.Lock()
        self.hide_lock = threading.Lock()
        self.hidden = False
        self.done = 0
        self.total = 0
        self.credited: dict[str, int] = {}
        #: Why each failed object failed, as one line without its key: what is reported.
        self.kinds: dict[str, str] = {}
        self.summary = UploadSummary(
            store=store,
            bucket=config.bucket,
            key=key,
            url=store_url(config, key, client),
            viewer_url="",
            dry_run=dry_run,
        )

    # -- listing and comparison ----------------------------------------------------------

    def _list(self) -> dict[str, _Remote]:
        try:
            return self.retry.call(
                "list bucket", self.client.list, self.key + "/", self.retry.checkpoint
            )
        except (Cancelled, ZoomingOnlineError):
            raise
        except Exception as exc:  # noqa: BLE001
            raise as_error(exc, self.config, "list bucket") from None

    def _part_size_for(self, size: int) -> int:
        need = n_bins(size, MAX_PARTS)
        return max(self.part_size, n_bins(need, MIB) * MIB)

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

    def _head(self, key: str, action: str = "upload") -> dict[str, str] | None:
        return self.retry.call(action, self.client.metadata, key)

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

    def _advance(self, obj: _Local, n: int) -> None:
        """Count ``n`` more bytes of ``obj`` as done (never more than its size: retries)."""
        with self.lock:
            before = self.credited.get(obj.key, 0)
            add = min(n, obj.size - before)
            if add <= 0 and obj.size:
                return
            self.credited[obj.key] = before + add
            self.done += add
            # Under the lock, so the callback sees the counts in order.
            if self.progress is not None:
                self.progress(self.done, self.total)

    def _hide(self) -> None:
        """Before changing a store that is in the bucket, remove its root marker."""
        if self.hidden or self.dry_run:
            return
        with self.hide_lock:  # the other threads wait until the marker is gone
            if self.hidden:
                return
            for name in ROOT_MARKERS:
                key = f"{self.key}/{name}"
                if key in self.remote:
                    self.retry.call("upload", self.client.delete, key)
                    log.info("hid %s until the update is complete", key)
            self.hidden = True

    def _sync(self, obj: _Local, *, force: bool = False) -> None:
        """Upload ``obj`` unless the bucket has it already; record the outcome."""
        self.retry.checkpoint()
        try:
            digest, data = self._digest(obj)
            if not force and self._matches(obj, digest, self.remote.get(obj.key)):
                with self.lock:
                    self.summary.skipped += 1
                    self.summary.skipped_bytes += obj.size
                self._advance(obj, obj.size)
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
                    self._put_parts(obj, digest, metadata)
        except Cancelled:
            raise
        except OSError as exc:
            why = exc.strerror or str(exc)
            self._fail(obj, f"cannot read {obj.path}: {why}", f"cannot read local files ({why})")
            return
        except Exception as exc:  # noqa: BLE001 - one object's failure is recorded, not fatal
            why = describe_error(exc, self.config, "upload")
            self._fail(obj, why, why)
            return
        with self.lock:
            self.summary.uploaded += 1
            self.summary.uploaded_bytes += obj.size
        self._advance(obj, obj.size)

    def _fail(self, obj: _Local, why: str, kind: str) -> None:
        with self.lock:
            self.summary.failed[obj.key] = why
            self.kinds[obj.key] = kind

    def _check_etag(self, obj: _Local, etag: str, digest: _Digest) -> None:
        """The service's answer to a PUT must be the local ETag (or carry the local MD5)."""
        if etag == digest.etag:
            return
        meta = self._head(obj.key, "check")
        if meta is None or meta.get(MD5_METADATA) != digest.md5:
            raise _Mismatch(
                f"the service answered ETag {etag or 'none'}, not the local {digest.etag}"
            )

    def _put(self, obj: _Local, data: bytes, digest: _Digest, metadata: dict[str, str]) -> None:
        etag = self.retry.call(
            "upload",
            self.client.put,
            obj.key,
            data,
            content_type=obj.content_type,
            metadata=metadata,
        )
        self._check_etag(obj, etag, digest)

    def _put_parts(self, obj: _Local, digest: _Digest, metadata: dict[str, str]) -> None:
        etag = self.retry.call(
            "upload",
            self.client.put,
            obj.key,
            obj.path,
            content_type=obj.content_type,
            metadata=metadata,
            part_size=self._part_size_for(obj.size),
            concurrency=max(1, min(self.jobs, 8)),
        )
        self._check_etag(obj, etag, digest)

    def _run_all(self, pool: ThreadPoolExecutor, objects: Sequence[_Local], force: bool) -> None:
        """Sync ``objects`` on the pool; the waiting thread keeps honouring cancel and signals."""
        futures = [pool.submit(self._sync, obj, force=force) for obj in objects]
        try:
            waiting: set[Future[None]] = set(futures)
            while waiting:
                done, waiting = wait(waiting, timeout=POLL, return_when=FIRST_EXCEPTION)
                for f in done:
                    f.result()
                self.retry.checkpoint()
        except BaseException:
            self.cancel.set()
            for f in futures:
                f.cancel()
            raise

    def _pass(self, pool: ThreadPoolExecutor, objects: Sequence[_Local], force: bool) -> None:
        """Sync ``objects``, then once more those that failed, with a fresh retry budget."""
        self._run_all(pool, objects, force)
        again = [o for o in objects if o.key in self.summary.failed]
        if not again:
            return
        log.info("%s: one more pass over %d objects that failed", self.key, len(again))
        with self.lock:
            for o in again:
                del self.summary.failed[o.key]
                del self.kinds[o.key]
        self.retry.restart()
        self._run_all(pool, again, force)

    def _report(self) -> None:
        """One warning per kind of failure, with its counts."""
        failed = Counter(self.kinds.values())
        for kind in sorted(set(self.retry.retried) | set(failed)):
            counts = []
            if self.retry.retried[kind]:
                counts.append(f"{self.retry.retried[kind]} requests retried")
            if failed[kind]:
                counts.append(f"{failed[kind]} objects not uploaded")
            log.warning("%s: %s (%s)", self.key, kind, ", ".join(counts))

    # -- verification ---------------------------------------------------------------------

    def _verify(self, objects: Sequence[_Local], listing: Mapping[str, _Remote]) -> None:
        for obj in objects:
            self.retry.checkpoint()
            remote = listing.get(obj.key)
            if remote is None:
                self.summary.missing.append(obj.key)
                continue
            digest = self.digests.get(obj.key) or self._digest(obj)[0]
            if remote.size != obj.size:
                self.summary.different.append(obj.key)
            elif remote.etag != digest.etag:
                try:
                    meta = self._head(obj.key, "check") or {}
                except Exception as exc:  # noqa: BLE001
                    raise as_error(exc, self.config, f"check {obj.key}") from None
                if meta.get(MD5_METADATA) != digest.md5:
                    self.summary.different.append(obj.key)

    def _head_listing(self, objects: Sequence[_Local]) -> dict[str, _Remote]:
        out: dict[str, _Remote] = {}
        for obj in objects:
            try:
                head = self.retry.call("check", self.client.head, obj.key)
            except Exception as exc:  # noqa: BLE001
                raise as_error(exc, self.config, f"check {obj.key}") from None
            if head is not None:
                out[obj.key] = head
        return out

    def _finish(
        self,
        pool: ThreadPoolExecutor,
        data: Sequence[_Local],
        meta: Sequence[_Local],
        roots: Sequence[_Local],
    ) -> None:
        """Verify against a new listing; the root marker goes up only if all is there.

        When nothing was sent (every object matched the first listing), that listing is
        the verification: a run with nothing to do costs one listing.
        """
        s = self.summary
        unchanged = s.uploaded == 0 and not s.failed and not self.hidden
        try:
            listing = self.remote if unchanged else self._list()
        except ZoomingOnlineError:
            if not s.failed:
                raise
            return  # the service is gone: the failures are what there is to report
        self._verify([*data, *meta], listing)
        if s.failed or s.missing or s.different:
            # The root marker stays out of the bucket: report its state as it is.
            self._verify(roots, listing)
        else:
            self._pass(pool, roots, force=self.hidden or self.force)
            if unchanged and s.uploaded == 0 and not s.failed:
                self._verify(roots, listing)
            else:
                self._verify(roots, self._head_listing(roots))

    def _delete_extra(self) -> None:
        """Delete the objects under the store's own prefix that the local store lacks.

        Only after the upload was verified, and only keys under ``<key>/``: nothing
        outside the store is ever touched.
        """
        s = self.summary
        own = self.key + "/"
        doomed = [k for k in s.extra if k.startswith(own)]
        for k in doomed:
            self.retry.checkpoint()
            if not self.dry_run:
                try:
                    self.retry.call("delete", self.client.delete, k)
                except Cancelled:
                    raise
                except Exception as exc:  # noqa: BLE001 - reported, the store is complete
                    s.warnings.append(describe_error(exc, self.config, f"delete {k}"))
                    continue
            s.deleted.append(k)
        kept = set(s.deleted)
        s.extra = [k for k in s.extra if k not in kept]
        if s.deleted and not self.dry_run:
            log.info("%s: deleted %d objects the local store lacks", self.key, len(s.deleted))

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
        try:
            with ThreadPoolExecutor(self.jobs, thread_name_prefix="zoomingonline-upload") as pool:
                # Chunks first, then the metadata, the root marker only once the rest is there.
                self._pass(pool, data, force=self.force)
                if not s.failed:
                    self._pass(pool, meta, force=self.force)
                if self.dry_run:
                    if not s.failed:
                        self._pass(pool, roots, force=self.force)
                else:
                    self._finish(pool, data, meta, roots)
        finally:
            self._report()
        s.verified = not self.dry_run and not (s.failed or s.missing or s.different)
        if self.delete and (s.verified or (self.dry_run and not s.failed)):
            self._delete_extra()
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


def transfer_client(config: S3Config, jobs: int) -> ObjectClient:
    """The client of the objects for ``jobs`` threads: enough connections, no own retries.

    The transfers retry by themselves (:class:`~zoomingonline.s3.retry.Retrier`).

    Raises
    ------
    ZoomingOnlineError
        If there are no credentials.
    """
    return ObjectClient(config, jobs)


def probe(client: ObjectClient, config: S3Config, key: str) -> None:
    """Fail fast, with one clear line, if the bucket cannot be listed under ``key``.

    One listing request of one level, tried twice with short timeouts: it tells an
    endpoint that does not answer, rejected credentials, a missing bucket and missing
    permissions apart before anything is sent.

    Raises
    ------
    ZoomingOnlineError
        With the reason.
    """
    quick = dataclasses.replace(config, max_attempts=2)
    try:
        Retrier(quick).call("list bucket", client.first, f"{key}/" if key else "")
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line
        raise as_error(exc, config, "list bucket") from None


def check_transfer(jobs: int, multipart_threshold: int, part_size: int) -> None:
    """Refuse transfer settings that S3 or the thread pools cannot work with.

    Raises
    ------
    ZoomingOnlineError
        If ``jobs`` is below 1, the part size below S3's minimum or the threshold below
        the part size.
    """
    if jobs < 1:
        raise ZoomingOnlineError(f"jobs must be at least 1, not {jobs}")
    if part_size < MIN_PART_SIZE:
        raise ZoomingOnlineError(f"part size must be at least {MIN_PART_SIZE} bytes (S3's minimum)")
    if multipart_threshold < part_size:
        raise ZoomingOnlineError("multipart threshold must be at least the part size")


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
    force: bool = False,
    delete: bool = False,
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
        Compare with the bucket and count what would be uploaded, deleted and which
        bucket settings would change; change nothing.
    force : bool
        Upload every object again, whatever the bucket holds.
    delete : bool
        Once the upload is verified, delete the objects under the store's own prefix
        (``<prefix>/<name>/``) that the local store lacks; nothing outside it.
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
    check_transfer(jobs, multipart_threshold, part_size)
    cfg = effective_config(config, bucket, prefix, endpoint_url, env_file)
    client = transfer_client(cfg, jobs)
    key = cfg.key(path.name)
    probe(client, cfg, key)
    settings = bucket_settings(None, cfg, cors, public, dry_run=dry_run)
    summary = sync_store(
        client,
        cfg,
        path,
        key,
        jobs=jobs,
        dry_run=dry_run,
        force=force,
        delete=delete,
        multipart_threshold=multipart_threshold,
        part_size=part_size,
        progress=progress,
        root_metadata=None,
        cancel=threading.Event(),
        viewer=viewer,
    )
    summary.warnings[:0] = settings.warnings
    summary.cors, summary.public = settings.cors, settings.public
    return summary


def sync_store(
    client: ObjectClient,
    config: S3Config,
    store: Path,
    key: str,
    *,
    jobs: int = DEFAULT_JOBS,
    dry_run: bool = False,
    force: bool = False,
    delete: bool = False,
    multipart_threshold: int = MULTIPART_THRESHOLD,
    part_size: int = PART_SIZE,
    progress: UploadProgress | None = None,
    root_metadata: Mapping[str, str] | None = None,
    cancel: threading.Event | None = None,
    viewer: str = DEFAULT_VIEWER,
) -> UploadSummary:
    """Bring ``s3://<bucket>/<key>/`` in line with the local ``store``, with a client at hand.

    The work of :func:`upload_store` after its checks (the store is a store, the bucket
    answers, the settings are sane): nothing here looks at the bucket's settings.

    Parameters
    ----------
    client : ObjectClient
        Made by :func:`transfer_client`.
    config : S3Config
        Where to.
    store : Path
        The local store.
    key : str
        The store's key prefix in the bucket (no trailing ``/``).
    jobs, dry_run, force, delete, multipart_threshold, part_size, progress, viewer
        As for :func:`upload_store`.
    root_metadata : mapping, optional
        User metadata for the root marker; an object already there counts as the same only
        when it carries this metadata too.
    cancel : threading.Event, optional
        Set by another thread to stop the upload: :class:`Cancelled` is raised.

    Returns
    -------
    UploadSummary
    """
    summary = _StoreUpload(
        client,
        config,
        store,
        key,
        jobs=jobs,
        dry_run=dry_run,
        force=force,
        delete=delete,
        multipart_threshold=multipart_threshold,
        part_size=part_size,
        progress=progress,
        root_metadata=root_metadata,
        cancel=cancel or threading.Event(),
    ).run()
    summary.viewer_url = viewer_url(summary.url, viewer)
    return summary


#: The name the original importer script gave :func:`upload_store`.
upload_to_s3 = upload_store
