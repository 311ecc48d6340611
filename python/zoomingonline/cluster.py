"""Scale out the import: many files on a Dask cluster, or shared out over a Slurm job array.

Two existing engines do the scheduling; this module only hands them the work.

- **Dask** (:func:`run_on_dask`): every item is one task on a worker, a picklable
  callable applied to the run's settings and the item. For ``import``
  (:func:`zoomingonline.importer.import_paths`) the callable is
  :func:`zoomingonline.importer.run_import_task`, convert then upload with the import's
  resume rules, and the items are the planned inputs; each comes back, filled in, into
  the same summary. A task that fails, even by killing its worker, fails only its item
  and the others go on.
- **Slurm job arrays** (:func:`shard_inputs`, :func:`shard_from_env`): each array task
  imports a stable, deterministic share of the sorted input list: task ``i`` of ``n``
  takes inputs ``i, i + n, i + 2n, ...``. The ``n`` tasks together cover every input
  exactly once, whatever order the files were found in.

This module knows nothing of what the tasks do: it imports neither the importer nor the
S3 code. Dask comes with the optional extra ``cluster``
(``pip install 'zoomingonline[cluster]'``) and is imported only by the functions that
need it.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from zoomingonline import interrupts
from zoomingonline.errors import ZoomingOnlineError

__all__ = [
    "check_shard",
    "parse_shard",
    "require_dask",
    "run_on_dask",
    "shard_from_env",
    "shard_inputs",
]

log = logging.getLogger(__name__)

#: The settings of a run and its items (an import: ImportSettings and FileResult).
S = TypeVar("S")
T = TypeVar("T")

INSTALL_HINT = "pip install 'zoomingonline[cluster]'"
_LOCAL = re.compile(r"^local(?::(\d+))?$")
#: Seconds between two looks at the tasks (and at the signals) while waiting.
POLL = 0.2


# -- sharding ------------------------------------------------------------------------------


def check_shard(index: int, count: int) -> None:
    """Raise unless ``0 <= index < count``.

    Raises
    ------
    ZoomingOnlineError
        If the shard is out of range.
    """
    if count < 1:
        raise ZoomingOnlineError(f"shard count must be at least 1, not {count}")
    if not 0 <= index < count:
        raise ZoomingOnlineError(f"shard index must be in 0..{count - 1}, not {index}")


def _shard_key(path: Path) -> str:
    return path.as_posix()


def shard_inputs(inputs: Iterable[str | os.PathLike[str]], index: int, count: int) -> list[Path]:
    """The share of ``inputs`` that shard ``index`` of ``count`` imports.

    The inputs are sorted by path, then dealt out round-robin: shard ``i`` gets the
    sorted inputs ``i, i + count, i + 2 * count, ...``. The choice depends only on the set
    of paths, not on the order they were given or found in, so every task of a job array
    computes the same partition; the shards together hold each input exactly once and
    differ in size by at most one. A shard may be empty when ``count`` exceeds the inputs.

    Parameters
    ----------
    inputs : iterable of path-like
        The inputs, as found (duplicates count once).
    index, count : int
        Which shard, of how many (``0 <= index < count``).

    Returns
    -------
    list of Path
        This shard's inputs, sorted.

    Raises
    ------
    ZoomingOnlineError
        If the shard is out of range.
    """
    check_shard(index, count)
    unique = {_shard_key(Path(p)): Path(p) for p in inputs}
    ordered = [unique[k] for k in sorted(unique)]
    return ordered[index::count]


def parse_shard(text: str) -> tuple[int, int]:
    """Parse ``"I/N"`` (shard I of N, I counted from 0).

    Raises
    ------
    ZoomingOnlineError
        If the text is not two integers ``I/N`` with ``0 <= I < N``.
    """
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if m is None:
        raise ZoomingOnlineError(f"shard must be I/N (for example 0/4), not {text!r}")
    index, count = int(m.group(1)), int(m.group(2))
    check_shard(index, count)
    return index, count


def shard_from_env(environ: Mapping[str, str] | None = None) -> tuple[int, int] | None:
    """The shard of this Slurm array task, from its environment; None outside an array.

    Slurm sets ``SLURM_ARRAY_TASK_ID``, ``SLURM_ARRAY_TASK_COUNT`` and
    ``SLURM_ARRAY_TASK_MIN`` (and ``SLURM_ARRAY_TASK_STEP``) in each task of
    ``sbatch --array``. The ids need not start at 0 (``--array=1-8``), so the shard is
    ``(ID - MIN) // STEP`` of ``COUNT``.

    Parameters
    ----------
    environ : mapping, optional
        The environment; default ``os.environ``.

    Returns
    -------
    (int, int) or None
        ``(index, count)``, or None when ``SLURM_ARRAY_TASK_ID`` or
        ``SLURM_ARRAY_TASK_COUNT`` is not set.

    Raises
    ------
    ZoomingOnlineError
        If the variables are not integers or the ids are not an evenly spaced range
        (``--array=1,5,9`` with a step of 1): pass ``--shard`` explicitly then.
    """
    env = os.environ if environ is None else environ
    raw_id, raw_count = env.get("SLURM_ARRAY_TASK_ID"), env.get("SLURM_ARRAY_TASK_COUNT")
    if not raw_id or not raw_count:
        return None
    try:
        task = int(raw_id)
        count = int(raw_count)
        low = int(env.get("SLURM_ARRAY_TASK_MIN") or 0)
        step = int(env.get("SLURM_ARRAY_TASK_STEP") or 1)
    except ValueError:
        raise ZoomingOnlineError(
            "SLURM_ARRAY_TASK_ID, _COUNT, _MIN and _STEP must be integers"
        ) from None
    offset = task - low
    if step < 1 or offset % step:
        raise ZoomingOnlineError(
            f"array task {task} is not on the range {low}:{step}; pass --shard I/N"
        )
    index = offset // step
    if not 0 <= index < count:
        raise ZoomingOnlineError(
            f"array task {task} is task {index} of {count} counting from {low};"
            " the array ids are not a contiguous range: pass --shard I/N"
        )
    return index, count


# -- dask ----------------------------------------------------------------------------------


def require_dask() -> None:
    """Raise a clear error when dask.distributed is not installed.

    Raises
    ------
    ZoomingOnlineError
        Naming the extra to install.
    """
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ZoomingOnlineError(
            f"--dask needs dask.distributed, which is not installed: {INSTALL_HINT}"
        ) from None


def _checkpoint() -> None:
    """:func:`zoomingonline.interrupts.check`, in the main thread only."""
    if threading.current_thread() is threading.main_thread():
        interrupts.check()


def _connect(address: str) -> tuple[Any, Any]:
    """A distributed Client for ``address``, and the LocalCluster started for it, if any."""
    from distributed import Client, LocalCluster

    m = _LOCAL.match(address.strip())
    try:
        if m is not None:
            workers = int(m.group(1)) if m.group(1) else os.cpu_count() or 1
            if workers < 1:
                raise ZoomingOnlineError("local:N needs at least one worker")
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.WARNING,
            )
            try:
                return Client(cluster), cluster
            except BaseException:
                cluster.close()
                raise
        # Connection timeout: dask's distributed.comm.timeouts.connect (30 s by default).
        if address.endswith(".json") and Path(address).is_file():
            return Client(scheduler_file=address), None
        return Client(address), None
    except ZoomingOnlineError:
        raise
    except (OSError, TimeoutError, ValueError) as exc:
        raise ZoomingOnlineError(f"cannot reach the Dask scheduler {address}: {exc}") from None


def run_on_dask(
    address: str,
    task: Callable[[S, T], T],
    settings: S,
    items: Sequence[T],
    *,
    names: Sequence[str] | None = None,
    failed: Callable[[T, str], T] | None = None,
    key_prefix: str = "zoomingonline-task",
    progress: Callable[[int, int], None] | None = None,
) -> list[T]:
    """Run ``task(settings, item)`` for every item as one task on a Dask cluster.

    The workers must see the files the tasks use at the same paths as this process: a
    shared file system on a real cluster. ``task`` and ``settings`` are pickled for every
    task (a module-level function and a dataclass pickle).

    Parameters
    ----------
    address : str
        ``tcp://host:port`` of a scheduler, a scheduler file (``*.json``), or ``local:N``
        to start a LocalCluster of N single-threaded worker processes here (closed at
        the end).
    task : callable
        ``task(settings, item) -> item``, run on a worker; it should record a problem in
        the item it returns rather than raise.
    settings
        The run's settings, the same for every task.
    items : sequence
        The work, one task each.
    names : sequence of str, optional
        A short name per item, for the task keys and the log (default: the position).
    failed : callable, optional
        ``failed(item, why) -> item``: the result for an item whose task raised (its
        worker lost, say). Without it such an error is raised.
    key_prefix : str
        Start of the task keys on the scheduler.
    progress : callable, optional
        ``progress(done, total)`` as the tasks finish.

    Returns
    -------
    list
        One result per item, in the order of ``items``.

    Raises
    ------
    ZoomingOnlineError
        If dask is missing or the scheduler cannot be reached.
    """
    require_dask()
    from distributed import as_completed

    out = list(items)
    if not out:
        return out
    labels = list(names) if names is not None else [str(i) for i in range(len(out))]
    client, local = _connect(address)
    try:
        log.info("dask: %d tasks on %s", len(out), client.dashboard_link or address)
        index: dict[str, int] = {}
        futures = []
        for i, item in enumerate(out):
            key = f"{key_prefix}-{i}-{labels[i]}-{os.getpid()}"
            future = client.submit(task, settings, item, key=key, pure=False, retries=0)
            index[future.key] = i
            futures.append(future)
        done = 0
        finished = as_completed(futures)
        try:
            while not finished.is_empty():
                batch = finished.next_batch(block=False)
                if not batch:
                    _checkpoint()
                    time.sleep(POLL)
                for future in batch:
                    i = index[future.key]
                    try:
                        out[i] = future.result()
                    except Exception as exc:  # a lost task fails only its item
                        if failed is None:
                            raise
                        why = f"dask task failed: {type(exc).__name__}: {exc}"
                        log.warning("%s: %s", labels[i], why)
                        out[i] = failed(out[i], why)
                    done += 1
                    if progress is not None:
                        progress(done, len(out))
        except BaseException:
            # A signal, or an error here: nothing more is started; the tasks that are
            # running may finish (each leaves what it uploaded resumable).
            client.cancel(futures)
            raise
    finally:
        client.close()
        if local is not None:
            local.close()
    return out
