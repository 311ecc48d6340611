"""Import: find HDF5 recordings, convert each, upload the stores, resume what was cut off.

:func:`import_paths` finds the inputs (:func:`find_inputs`), converts each with
:func:`zoomingonline.convert.convert` and uploads the store with the rules of
:func:`zoomingonline.s3.upload_store`, while the next input converts. Started again, it
skips what the bucket already holds: the root ``.zgroup`` of every imported store carries
a fingerprint of its input (size, mtime) and of the conversion options.

Everything a run needs besides the inputs is one :class:`ImportSettings`, which pickles:
:func:`run_import_task` does one input with it in any process, which is how
:mod:`zoomingonline.cluster` spreads a run over a Dask cluster.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoomingonline import cluster, import_record, interrupts
from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.import_record import made_for, read_record, record_path, write_record
from zoomingonline.s3.bucket import apply_bucket_settings, store_url
from zoomingonline.s3.config import S3Config, effective_config
from zoomingonline.s3.errors import describe_error
from zoomingonline.s3.retry import POLL, Retrier
from zoomingonline.s3.sync import (
    DEFAULT_JOBS,
    MULTIPART_THRESHOLD,
    PART_SIZE,
    Cancelled,
    UploadSummary,
    check_transfer,
    probe,
    sync_store,
    transfer_client,
)
from zoomingonline.stores import (
    DEFAULT_VIEWER,
    ROOT_MARKERS,
    viewer_url,
)

if TYPE_CHECKING:
    from zoomingonline.convert import ConvertSummary

__all__ = [
    "INPUT_SUFFIXES",
    "SOURCE_METADATA",
    "FileResult",
    "ImportSettings",
    "ImportSummary",
    "batch_convert",
    "find_inputs",
    "import_paths",
    "run_import_task",
]

log = logging.getLogger(__name__)

#: User metadata on the root ``.zgroup`` of an imported store: which input and options.
SOURCE_METADATA = "zoomingonline-source"
#: The extensions of HDF5 recordings that :func:`find_inputs` looks for.
INPUT_SUFFIXES = (".h5", ".hdf5", ".hdf")
#: Convert options that import sets itself.
RESERVED_OPTIONS = ("input", "output", "overwrite", "progress")

#: ``progress(phase, name, done, total)``: phase ``"convert"`` (samples of the input
#: ``name``) or ``"upload"`` (bytes of its store).
ImportProgress = Callable[[str, str, int, int], None]


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
            from zoomingonline.trc import find_trc_inputs

            hits = sorted([*hits, *find_trc_inputs([p])])  # .trc run folders and files
            if not hits:
                log.warning("no %s or .trc files under %s", ", ".join(INPUT_SUFFIXES), p)
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


@dataclass(frozen=True)
class ImportSettings:
    """Everything one import needs besides its inputs; picklable, so it travels to workers.

    Attributes
    ----------
    config : S3Config or None
        Where to upload; None with ``skip_upload``.
    output_dir : Path, optional
        Folder for the local stores; None: beside each input.
    skip_upload, keep_local, dry_run, force : bool
        As for :func:`import_paths`.
    jobs : int
        Objects uploaded at once.
    convert_options : dict
        Keyword arguments of :func:`zoomingonline.convert.convert`.
    viewer : str
        Viewer base URL for the links.
    multipart_threshold, part_size : int
        As for :func:`zoomingonline.s3.upload_store`.
    direct : bool
        Convert straight to the bucket, with no local store.
    """

    config: S3Config | None = None
    output_dir: Path | None = None
    skip_upload: bool = False
    keep_local: bool = False
    dry_run: bool = False
    force: bool = False
    jobs: int = DEFAULT_JOBS
    convert_options: dict[str, Any] = field(default_factory=dict)
    viewer: str = DEFAULT_VIEWER
    multipart_threshold: int = MULTIPART_THRESHOLD
    part_size: int = PART_SIZE
    direct: bool = False


@functools.lru_cache(maxsize=4)
def _client(config: S3Config, jobs: int) -> Any:
    """One boto3 client per process and configuration (clients are thread-safe)."""
    return transfer_client(config, jobs)


def run_import_task(settings: ImportSettings, result: FileResult) -> FileResult:
    """One input, in this process: convert then upload, with the import's resume rules.

    What a Dask worker runs for each input (see :mod:`zoomingonline.cluster`). Never raises
    for a problem with the input or the upload: it is recorded in the returned result
    (``status="failed"``, ``error``).

    Parameters
    ----------
    settings : ImportSettings
        The run's settings, as :func:`import_paths` made them.
    result : FileResult
        The planned input.

    Returns
    -------
    FileResult
        The same result, filled in.
    """
    importer = _Importer(settings)
    if settings.config is not None:
        importer.client = _client(settings.config, settings.jobs)
    return importer.run_file(result)


def _task_failed(result: FileResult, why: str) -> FileResult:
    """A task that ended without a result (a worker lost): the input failed."""
    result.status = "failed"
    result.error = f"{result.input}: {why}"
    return result


class _Importer:
    """The import of planned inputs with one set of settings, in this process."""

    def __init__(self, settings: ImportSettings, progress: ImportProgress | None = None) -> None:
        self.settings = settings
        self.config = settings.config
        self.progress = progress
        self.client: Any = None
        self.cancel = threading.Event()

    def plan(self, inputs: Sequence[Path]) -> list[FileResult]:
        results = []
        for src in inputs:
            name = src.with_suffix(".zarr").name
            local = (self.settings.output_dir or src.parent) / name
            key = self.config.key(name) if self.config else name
            result = FileResult(input=src, store=local, key=key)
            if self.config is not None:
                result.url = store_url(self.config, key, self.client)
                result.viewer_url = viewer_url(result.url, self.settings.viewer)
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
        """The fingerprint on the store's root marker in the bucket, if it is there."""
        config = self.config
        if config is None:
            return None
        for name in ROOT_MARKERS:
            try:
                meta = Retrier(config, self.cancel).call(
                    "check", self.client.metadata, f"{result.key}/{name}"
                )
            except Exception as exc:  # noqa: BLE001
                log.warning("%s", describe_error(exc, config, f"check {result.key}"))
                continue
            if meta is None:
                continue
            return meta.get(SOURCE_METADATA)
        return None

    def _local_store(self, result: FileResult, fingerprint: str) -> tuple[bool, bool]:
        """Whether the local store can be reused, and whether import made it.

        Import replaces or deletes only a store it made for this very input: this
        package's store (:func:`zoomingonline.stores.is_own_store`) with import's record
        beside it naming the input. Any other store at the target is uploaded as it is
        (and kept) when it was converted from a file of the input's name, else refused.

        Raises
        ------
        ZoomingOnlineError
            If something else is in the way.
        """
        store = result.store
        if not store.exists() and not store.is_symlink():
            return False, True
        record = read_record(store)
        if record is not None:
            if not made_for(store, record, result.input):
                raise ZoomingOnlineError(
                    f"{store} exists and is not the store import made from {result.input};"
                    " move it away or choose another --output-dir"
                )
            return record.get("fingerprint") == fingerprint, True
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
            _checkpoint()  # the conversion removes its temporary store when this raises

        store = result.store
        store.parent.mkdir(parents=True, exist_ok=True)
        record = read_record(store)
        # Replace only what import made for this input (checked again: time has passed).
        replace = record is not None and made_for(store, record, result.input)
        if replace or record is None:
            record_path(store).unlink(missing_ok=True)
        result.convert = convert(
            result.input,
            store,
            overwrite=replace,
            progress=step,
            **self.settings.convert_options,
        )
        write_record(store, {"fingerprint": fingerprint, "input": str(result.input.resolve())})

    def _convert_direct(self, result: FileResult, fingerprint: str) -> None:
        """Convert straight into the bucket: chunks as they are made, the root marker last."""
        from zoomingonline.convert import convert
        from zoomingonline.s3.sink import ObjectSink

        assert self.config is not None  # noqa: S101 - checked by the caller
        name = result.input.name

        def step(done: int, total: int) -> None:
            if self.progress is not None:
                self.progress("convert", name, done, total)
            _checkpoint()

        url = f"s3://{self.config.bucket}/{result.key}"
        sink: Any = ObjectSink(  # convert takes it where it takes an output path
            url,
            self.config,
            overwrite=True,
            in_flight=self.settings.jobs,
            root_metadata={SOURCE_METADATA: fingerprint},
        )
        result.convert = convert(result.input, sink, progress=step, **self.settings.convert_options)
        result.status = "uploaded"
        result.detail = (
            f"converted straight to {url}/ ({sink.sent:,} objects sent,"
            f" {sink.skipped:,} already there)"
        )

    def _upload_one(self, result: FileResult, fingerprint: str, ours: bool) -> None:
        name = result.input.name

        def step(done: int, total: int) -> None:
            if self.progress is not None:
                self.progress("upload", name, done, total)

        assert self.config is not None  # noqa: S101 - checked by the caller
        try:
            summary = sync_store(
                self.client,
                self.config,
                result.store,
                result.key,
                jobs=self.settings.jobs,
                dry_run=False,
                multipart_threshold=self.settings.multipart_threshold,
                part_size=self.settings.part_size,
                progress=step,
                root_metadata={SOURCE_METADATA: fingerprint},
                cancel=self.cancel,
                viewer=self.settings.viewer,
            )
        except ZoomingOnlineError as exc:
            result.status, result.error = "failed", str(exc)
            return
        except Cancelled:
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
        if self.settings.keep_local or not ours:
            result.detail = f"local store kept: {result.store}"
            return
        record = read_record(result.store)
        if record is None or not made_for(result.store, record, result.input):
            # Changed since it was converted: not recognisably import's any more.
            result.detail = f"local store kept (not the one import made): {result.store}"
            return
        shutil.rmtree(result.store, ignore_errors=True)
        if not result.store.exists():
            record_path(result.store).unlink(missing_ok=True)
            result.local_deleted = True

    def run_one(self, result: FileResult) -> tuple[str, bool] | None:
        """Everything before the upload; returns (fingerprint, ours) if an upload is due."""
        fingerprint = import_record.fingerprint(result.input, self.settings.convert_options)
        if self.client is not None and not self.settings.force:
            remote = self._remote_fingerprint(result)
            if remote == fingerprint:
                result.status = "skipped"
                result.detail = "already in the bucket, converted from this file"
                return None
        if self.settings.direct and self.config is not None:
            if self.settings.dry_run:
                result.status = "planned"
                target = f"s3://{self.config.bucket}/{result.key}/"
                result.detail = f"would convert straight to {target}"
                return None
            self._convert_direct(result, fingerprint)
            return None
        reuse, ours = self._local_store(result, fingerprint)
        if self.settings.dry_run:
            result.status = "planned"
            target = f"s3://{self.config.bucket}/{result.key}/" if self.config else ""
            action = "upload the existing" if reuse else "convert to"
            result.detail = f"would {action} {result.store}" + (
                f" and upload it to {target}" if target else ""
            )
            return None
        if not reuse:
            self._convert(result, fingerprint)
        if self.settings.skip_upload:
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
        """Import ``results`` in order, in this process; the main thread honours signals.

        The upload of one store runs while the next input converts: one upload thread, and
        at most two local stores waiting at any time. On a signal (or any error) the upload
        thread is told to stop and waited for; what it sent stays, so a re-run resumes.
        """
        pending: Future[None] | None = None
        with ThreadPoolExecutor(1, thread_name_prefix="zoomingonline-import") as uploader:
            try:
                for result in results:
                    _checkpoint()
                    todo = self.prepare(result)
                    if todo is None:
                        continue
                    if pending is not None:
                        _wait(pending)
                    pending = uploader.submit(self._upload_one, result, *todo)
                if pending is not None:
                    _wait(pending)
            except BaseException:
                self.cancel.set()
                raise


def _checkpoint() -> None:
    """:func:`zoomingonline.interrupts.check` in the main thread; nothing elsewhere."""
    if threading.current_thread() is threading.main_thread():
        interrupts.check()


def _wait(future: Future[None]) -> None:
    """Wait for ``future``, honouring signals meanwhile (in the main thread)."""
    while True:
        try:
            future.result(timeout=POLL)
        except FuturesTimeout:
            _checkpoint()
        else:
            return


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
    direct: bool = False,
) -> ImportSummary:
    """Convert HDF5 recordings and upload each store to ``<prefix>/<name>.zarr/``.

    Each input is converted (:func:`zoomingonline.convert.convert`) to
    ``<output_dir or its folder>/<name>.zarr``, then uploaded with the rules of
    :func:`zoomingonline.s3.upload_store`, while the next input converts. A local store
    is deleted only after its upload was verified, and never when anything about it
    failed, when ``keep_local`` is set, or when import did not create it (a store that
    was already there, converted from the same file, is uploaded and kept). Import
    replaces or deletes only a store it made from that very input
    (:func:`zoomingonline.import_record.made_for`); anything else in the way fails the
    input and is left alone.

    In the main thread the run honours :func:`zoomingonline.interrupts.check` between
    blocks of the conversion and while it waits for an upload: on a signal the upload
    stops after the objects in flight and :class:`~zoomingonline.interrupts.Interrupted`
    is raised; a re-run resumes.

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
        Where to upload, as for :func:`zoomingonline.s3.upload_store`; not needed with
        ``skip_upload``.
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
        Bucket settings for the viewer, as for :func:`zoomingonline.s3.upload_store`.
    convert_options : mapping, optional
        Keyword arguments of :func:`zoomingonline.convert.convert` (``codec``,
        ``raw_chunk``, ``target``, ...).
    viewer : str
        Viewer base URL for the links.
    multipart_threshold, part_size : int
        As for :func:`zoomingonline.s3.upload_store`.
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
    direct : bool
        Convert each input straight to the bucket (:class:`zoomingonline.s3.sink.ObjectSink`),
        with no local store; a re-run sends only what is missing.

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
    check_transfer(jobs, multipart_threshold, part_size)
    if direct and skip_upload:
        raise ZoomingOnlineError("--direct converts into the bucket: it cannot skip the upload")
    options = dict(convert_options or {})
    for reserved in RESERVED_OPTIONS:
        if reserved in options:
            raise ZoomingOnlineError(f"convert option {reserved!r} is set by import itself")
    if shard is not None:
        cluster.check_shard(*shard)
    if dask is not None and not dry_run:
        cluster.require_dask()
    inputs = find_inputs(paths)
    cfg = None if skip_upload else effective_config(config, bucket, prefix, endpoint_url, env_file)
    settings = ImportSettings(
        config=cfg,
        output_dir=Path(output_dir) if output_dir is not None else None,
        skip_upload=skip_upload,
        keep_local=keep_local,
        dry_run=dry_run,
        force=force,
        jobs=jobs,
        convert_options=options,
        viewer=viewer,
        multipart_threshold=multipart_threshold,
        part_size=part_size,
        direct=direct,
    )
    importer = _Importer(settings, progress=progress)
    warnings: list[str] = []
    if cfg is not None:
        importer.client = transfer_client(cfg, jobs)
        probe(importer.client, cfg, cfg.prefix)
    # Planned over every input (two that clash fail every shard alike), then sharded.
    results = importer.plan(inputs)
    if shard is not None:
        mine = set(cluster.shard_inputs([r.input for r in results], *shard))
        results = [r for r in results if r.input in mine]
        log.info("shard %d/%d: %d of %d inputs", shard[0], shard[1], len(mine), len(inputs))
    if cfg is not None and not dry_run:
        warnings = apply_bucket_settings(None, cfg, cors, public)
    if output_dir is not None and not dry_run and not direct:
        try:
            Path(output_dir).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ZoomingOnlineError(f"cannot create {output_dir}: {exc.strerror or exc}") from None
    if dask is not None and not dry_run:

        def files_done(done: int, total: int) -> None:
            if progress is not None:
                progress("files", "dask", done, total)

        results = cluster.run_on_dask(
            dask,
            run_import_task,
            settings,
            results,
            names=[r.input.name for r in results],
            failed=_task_failed,
            key_prefix="zoomingonline-import",
            progress=files_done,
        )
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


#: The name the original importer script gave :func:`import_paths` (convert many, upload).
batch_convert = import_paths
