"""The ``upload`` and ``import`` commands: publish stores to S3-compatible object storage.

They parse options and call :mod:`zoomingonline.s3` and :mod:`zoomingonline.importer`;
boto3 is imported only when a command runs, so ``zoomingonline --help`` stays fast.
"""

from __future__ import annotations

import functools
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from zoomingonline.cli._errors import on_interrupt
from zoomingonline.cli._options import store_options
from zoomingonline.s3 import CHECKSUM_MODES, DEFAULT_JOBS
from zoomingonline.stores import DEFAULT_VIEWER

if TYPE_CHECKING:
    from zoomingonline.importer import ImportSummary
    from zoomingonline.s3 import S3Config, UploadSummary

__all__ = ["S3Options", "import_command", "s3_options", "upload_command"]

#: Loggers that would write request headers (the access key id) at debug level.
NOISY_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3")


def _quiet_boto_logs() -> None:
    """Keep boto3's loggers at WARNING even with ``-vv``: no request headers in logs."""
    for name in NOISY_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))


class _Bars:
    """``progress(phase, name, done, total)`` drawing one tqdm bar per running task.

    Thread-safe (the uploads report from their own threads); bars are drawn only on a
    terminal and vanish when their task is done, so the summary stays readable.
    """

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bars: dict[tuple[str, str], Any] = {}
        self.lock = threading.Lock()

    def __call__(self, phase: str, name: str, done: int, total: int) -> None:
        from tqdm import tqdm

        with self.lock:
            key = (phase, name)
            bar = self.bars.get(key)
            if bar is None:
                bar = tqdm(
                    total=total,
                    desc=f"{phase} {name}",
                    unit={"upload": "B", "files": " files"}.get(phase, " samples"),
                    unit_scale=True,
                    unit_divisor=1000,
                    # None: draw only on a terminal; piped output stays clean.
                    disable=True if self.quiet else None,
                    file=sys.stderr,
                    dynamic_ncols=True,
                    leave=False,
                )
                self.bars[key] = bar
            bar.update(done - bar.n)
            if done >= total:
                bar.close()
                del self.bars[key]

    def close(self) -> None:
        with self.lock:
            for bar in self.bars.values():
                bar.close()
            self.bars.clear()


@contextmanager
def _bars(quiet: bool) -> Iterator[_Bars]:
    bars = _Bars(quiet)
    try:
        yield bars
    finally:
        bars.close()


@dataclass(frozen=True)
class S3Options:
    """The S3 connection options of a command, as given (None: not given)."""

    bucket: str | None
    prefix: str
    endpoint_url: str | None
    region: str | None
    env_file: Path | None
    checksums: str | None
    public_url: str | None

    def resolve(self) -> S3Config:
        """The configuration: these options, then the environment, then the ``.env`` file.

        Raises
        ------
        ZoomingOnlineError
            As :func:`zoomingonline.s3.resolve_config`.
        """
        from zoomingonline.s3 import resolve_config

        return resolve_config(
            self.bucket,
            prefix=self.prefix,
            endpoint_url=self.endpoint_url,
            region=self.region,
            checksums=self.checksums,
            public_url=self.public_url,
            env_file=self.env_file,
        )


#: The connection options, each declared once; the command receives them as ``s3``.
_CONNECTION_OPTIONS = (
    click.option(
        "--bucket",
        "-b",
        help="Bucket (it must exist). Default: $S3_BUCKET_NAME, from the environment or .env.",
    ),
    click.option(
        "--prefix",
        "-p",
        default="",
        help="Folder in the bucket; stores go to PREFIX/<name>.zarr/.",
    ),
    click.option(
        "--endpoint-url",
        help="S3-compatible service URL (MinIO, SeaweedFS, Ceph, R2...). Default:"
        " $S3_ENDPOINT_URL; none means AWS.",
    ),
    click.option("--region", help="Region. Default: $AWS_REGION, else us-east-1 with an endpoint."),
    click.option(
        "--env-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="File of KEY=VALUE settings (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,"
        " S3_ENDPOINT_URL, S3_BUCKET_NAME). Default: ./.env if present.",
    ),
)
#: The options of the transfer, passed to the command as they are.
_TRANSFER_OPTIONS = (
    click.option(
        "--jobs",
        "-j",
        type=click.IntRange(min=1),
        default=DEFAULT_JOBS,
        show_default=True,
        help="Objects uploaded at once.",
    ),
    click.option(
        "--cors",
        is_flag=True,
        help="Add the viewer's CORS rule to the bucket (GET/HEAD from any origin).",
    ),
    click.option(
        "--public",
        is_flag=True,
        help="Let anyone read the objects under the prefix (bucket policy), where the"
        " service allows it.",
    ),
)
_CHECKSUM_OPTIONS = (
    click.option(
        "--checksums",
        type=click.Choice(CHECKSUM_MODES),
        help="boto3 request checksums. Default when_required (Content-MD5 only), which"
        " S3-compatible services accept; when_supported is boto3's CRC32 default.",
    ),
    click.option(
        "--public-url",
        help="Base URL the stores are read from, for the links (a CDN or custom domain).",
    ),
)
_OUTPUT_OPTIONS = (
    click.option(
        "--dry-run",
        "-n",
        is_flag=True,
        help="Say what would be done; change nothing, locally or in the bucket.",
    ),
    click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary."),
    click.option(
        "--viewer",
        default=DEFAULT_VIEWER,
        show_default=True,
        help="Viewer base URL for the printed links.",
    ),
)
_S3_FIELDS = tuple(S3Options.__dataclass_fields__)


def s3_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Declare the S3 options of a command; it receives the connection ones as ``s3``.

    ``--bucket``, ``--prefix``, ``--endpoint-url``, ``--region``, ``--env-file``,
    ``--checksums`` and ``--public-url`` arrive together as one :class:`S3Options`
    (``s3.resolve()`` makes the configuration); ``--jobs``, ``--cors``, ``--public``,
    ``--dry-run``, ``--quiet`` and ``--viewer`` as parameters of their own.
    """

    @functools.wraps(f)
    def command(**kwargs: Any) -> Any:
        s3 = S3Options(**{name: kwargs.pop(name) for name in _S3_FIELDS})
        return f(s3=s3, **kwargs)

    options = (*_CONNECTION_OPTIONS, *_TRANSFER_OPTIONS, *_CHECKSUM_OPTIONS, *_OUTPUT_OPTIONS)
    decorated: Callable[..., Any] = command
    for option in reversed(options):
        decorated = option(decorated)
    return decorated


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def _print_upload(summary: UploadSummary) -> None:
    s = summary
    where = f"s3://{s.bucket}/{s.key}/"
    if s.dry_run:
        click.echo(
            f"dry run, nothing changed: {s.store} -> {where}\n"
            f"  {s.objects:,} objects, {_mb(s.bytes)}: would upload {s.uploaded:,}"
            f" ({_mb(s.uploaded_bytes)}), {s.skipped:,} already there"
        )
    else:
        state = "verified" if s.verified else "NOT verified"
        click.echo(
            f"{s.store} -> {where}\n"
            f"  {s.objects:,} objects, {_mb(s.bytes)}: {s.uploaded:,} uploaded"
            f" ({_mb(s.uploaded_bytes)}), {s.skipped:,} skipped, {len(s.failed):,} failed,"
            f" {s.seconds:.2f} s; {state}"
        )
    by_reason: dict[str, list[str]] = {}
    for key, why in s.failed.items():
        by_reason.setdefault(why, []).append(key)
    for why, keys in list(by_reason.items())[:10]:
        if len(keys) == 1:
            click.echo(f"  failed: {keys[0]}: {why}")
        else:
            click.echo(f"  failed: {len(keys):,} objects (first: {keys[0]}): {why}")
    for label, keys in (("missing", s.missing), ("different", s.different)):
        for key in keys[:10]:
            click.echo(f"  {label} in the bucket: {key}")
    if s.deleted:
        verb = "would delete" if s.dry_run else "deleted"
        click.echo(
            f"  {verb} {len(s.deleted):,} objects under {where} that the local store lacks"
            f" (first: {s.deleted[0]})"
        )
    if s.extra:
        click.echo(
            f"  note: {len(s.extra):,} objects under {where} are not in the local store"
            " (left alone; --delete removes them)"
        )
    click.echo(f"  CORS: {s.cors}; public read: {s.public}")
    for warning in s.warnings:
        click.echo(f"  warning: {warning}")
    click.echo(f"  URL:    {s.url}\n  Viewer: {s.viewer_url}")


@click.command("upload")
@click.argument("store", type=click.Path(path_type=Path))
@click.option(
    "--delete",
    is_flag=True,
    help="Once the upload is verified, delete the objects under the store's own prefix"
    " that the local store lacks (never anything outside it).",
)
@click.option("--force", is_flag=True, help="Upload every object again, whatever the bucket holds.")
@s3_options
def upload_command(
    store: Path,
    delete: bool,
    force: bool,
    s3: S3Options,
    jobs: int,
    cors: bool,
    public: bool,
    dry_run: bool,
    quiet: bool,
    viewer: str,
) -> None:
    """Upload the Zarr STORE to s3://BUCKET/PREFIX/<name>.zarr/, resumably.

    Objects already in the bucket with the same size and checksum are skipped, so an
    interrupted upload completes when run again. Chunks go first, in parallel, the
    metadata (.zarray, .zattrs, .zgroup) last; at the end the bucket is listed and
    compared with the store, and the exit status is non-zero if anything is missing or
    different. --delete then removes what the store no longer has, as sync tools do;
    --dry-run also says which bucket settings (--cors, --public) would change.

    Credentials come from the environment or a .env file: AWS_ACCESS_KEY_ID and
    AWS_SECRET_ACCESS_KEY (never from the command line, where other users could read them).
    """
    from zoomingonline.s3 import upload_store

    on_interrupt("run the same command again to resume")
    _quiet_boto_logs()
    config = s3.resolve()
    with _bars(quiet) as bars:
        summary = upload_store(
            store,
            config=config,
            jobs=jobs,
            cors=cors,
            public=public,
            dry_run=dry_run,
            force=force,
            delete=delete,
            viewer=viewer,
            progress=None if quiet else lambda done, total: bars("upload", store.name, done, total),
        )
    if not quiet:
        _print_upload(summary)
    problem = summary.problem()
    if problem is not None:
        raise click.ClickException(problem)


def _print_import(summary: ImportSummary) -> None:
    s = summary
    if s.dry_run:
        click.echo("dry run, nothing changed:")
    for f in s.files:
        if f.status == "failed":
            click.echo(f"  FAILED    {f.input}: {f.error}")
            if f.detail:
                click.echo(f"            {f.detail}")
            continue
        line = f"  {f.status:<9} {f.input}"
        if f.status in ("uploaded", "skipped", "planned"):
            line += f" -> s3://{s.bucket}/{f.key}/"
        if f.upload is not None:
            u = f.upload
            line += f" ({u.objects:,} objects: {u.uploaded:,} uploaded, {u.skipped:,} skipped)"
        click.echo(line)
        if f.detail:
            click.echo(f"            {f.detail}")
        if f.local_deleted:
            click.echo(f"            local store deleted: {f.store}")
        if f.upload is not None and f.upload.extra:
            click.echo(
                f"            note: {len(f.upload.extra):,} objects in the bucket under this"
                " store are not in the local store (left alone)"
            )
        if f.status in ("uploaded", "skipped") and f.viewer_url:
            click.echo(f"            URL:    {f.url}\n            Viewer: {f.viewer_url}")
    for warning in s.warnings:
        click.echo(f"  warning: {warning}")
    counts: dict[str, int] = {}
    for f in s.files:
        counts[f.status] = counts.get(f.status, 0) + 1
    states = ", ".join(f"{n} {state}" for state, n in counts.items())
    if s.shard is not None:
        click.echo(f"shard {s.shard[0]}/{s.shard[1]} of the sorted inputs")
    click.echo(
        f"files: {len(s.files)} ({states}); objects: {s.objects:,}"
        f" ({s.uploaded:,} uploaded, {s.skipped:,} skipped), {_mb(s.uploaded_bytes)} uploaded"
        f" of {_mb(s.bytes)}; {s.seconds:.2f} s"
    )


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--output-dir",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the converted stores. Default: beside each input.",
)
@click.option("--skip-upload", is_flag=True, help="Only convert; keep the stores.")
@click.option(
    "--direct",
    is_flag=True,
    help="Convert straight into the bucket, with no local store (the root .zgroup last).",
)
@click.option("--keep-local", is_flag=True, help="Keep each local store after its verified upload.")
@click.option(
    "--force",
    is_flag=True,
    help="Convert and compare again even if the bucket holds the store already.",
)
@click.option(
    "--dask",
    "dask_address",
    metavar="ADDRESS",
    help="Run each file as one task on a Dask cluster: a scheduler address"
    " (tcp://host:8786), a scheduler file (.json), or local:N for N worker processes"
    " here. Needs: pip install 'zoomingonline[cluster]'.",
)
@click.option(
    "--shard",
    metavar="I/N",
    help="Import only share I of N (from 0) of the sorted inputs. Default in a Slurm job"
    " array: from SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_COUNT.",
)
@store_options
@s3_options
def import_command(
    paths: tuple[Path, ...],
    output_dir: Path | None,
    skip_upload: bool,
    direct: bool,
    keep_local: bool,
    force: bool,
    dask_address: str | None,
    shard: str | None,
    s3: S3Options,
    jobs: int,
    cors: bool,
    public: bool,
    dry_run: bool,
    quiet: bool,
    viewer: str,
    **store: Any,
) -> None:
    """Convert HDF5 recordings and upload each store to s3://BUCKET/PREFIX/<name>.zarr/.

    PATHS are files, or folders searched recursively for .h5, .hdf5 and .hdf files. Each
    is converted, then uploaded while the next one converts. A local store is deleted
    only once its upload has been verified (kept with --keep-local, and whenever anything
    failed). An input whose store is already in the bucket, converted from that very file,
    is skipped, so a run started again after an interruption finishes the job without
    redoing it. One bad file does not stop the others; it is listed at the end and the
    exit status is non-zero.

    The store options (--codec, --raw-chunk, --target, ...) are convert's; a store in the
    bucket made with other options is converted and uploaded again.

    Scale out: --dask sends each file as one task to a Dask cluster; in a Slurm job
    array each task imports its own share of the inputs (--shard, read from the array's
    variables by default), so the array imports every file exactly once.
    """
    from zoomingonline.cluster import parse_shard, shard_from_env
    from zoomingonline.importer import import_paths

    on_interrupt("run the same command again to resume")
    _quiet_boto_logs()
    shard_of = parse_shard(shard) if shard else shard_from_env()
    config = None if skip_upload else s3.resolve()
    # Only the options given: a default passed or not makes the same store and record.
    ctx = click.get_current_context()
    convert_options = {
        name: value
        for name, value in store.items()
        if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
    }
    with _bars(quiet) as bars:
        summary = import_paths(
            paths,
            config=config,
            output_dir=output_dir,
            skip_upload=skip_upload,
            keep_local=keep_local,
            dry_run=dry_run,
            force=force,
            jobs=jobs,
            cors=cors,
            public=public,
            convert_options=convert_options,
            viewer=viewer,
            progress=bars,
            dask=dask_address,
            shard=shard_of,
            direct=direct,
        )
    if not quiet:
        _print_import(summary)
    if summary.failed:
        names = ", ".join(str(f.input) for f in summary.failed[:5])
        more = f" and {len(summary.failed) - 5} more" if len(summary.failed) > 5 else ""
        raise click.ClickException(
            f"{len(summary.failed)} of {len(summary.files)} files failed: {names}{more}"
        )
