"""Outputs appear whole or not at all, and replace only what this tool wrote.

Every file or store the package writes goes through :class:`AtomicOutput`:

- :func:`check_target` decides up front whether a target may be written. An existing
  target is replaced only with ``overwrite`` and only when it is provably this tool's own
  output: a store (a Zarr group whose attributes carry the ``zoomingonline`` entry, holding
  nothing but Zarr files) or an HDF5 file that ``generate`` wrote. Never a symlink, ``/``,
  the home folder, the current folder or one of its parents, a mount point, or a folder
  that holds an input.
- The output is built under a temporary name beside the target (``.NAME.partial-XXXXXXXX``,
  see :mod:`zoomingonline.stores`) and renamed into place when complete.
- Beside the temporary output lies an owner record (``….owner``: host, PID, start time)
  that the writer holds locked while it runs. A writer killed by SIGKILL or a power loss
  leaves both behind; the next run writing into the same folder removes such leftovers
  whose lock is free (their owner is gone), and says so in one log line. A live writer's
  output is never touched, nor are leftovers of another host.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import socket
import time
from pathlib import Path
from typing import Literal

from zoomingonline import interrupts
from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.stores import METADATA_NAMES, PARTIAL_TAG, is_own_store, partial_path

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: leftovers are never removed automatically
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "AtomicOutput",
    "Kind",
    "check_target",
    "is_own_hdf5",
    "remove_stale_partials",
]

log = logging.getLogger(__name__)

#: What an output is: a store folder or an HDF5 file.
Kind = Literal["store", "hdf5"]
OWNER_SUFFIX = ".owner"
_OWNING_SUFFIX = ".owning"
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_CHUNK_NAME = re.compile(r"^\d+(?:[./]\d+)*$")
_STORE_FOLDERS = frozenset(("raw", "overview"))


def is_own_hdf5(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a regular HDF5 file whose ``generator`` attribute names this tool."""
    p = Path(path)
    if p.is_symlink() or not p.is_file():
        return False
    try:
        with p.open("rb") as f:
            if f.read(8) != _HDF5_SIGNATURE:
                return False
        import h5py

        with h5py.File(p, "r") as h5:
            generator = h5.attrs.get("generator", "")
    except (OSError, ValueError):
        return False
    if isinstance(generator, bytes):
        generator = generator.decode("utf-8", "replace")
    return isinstance(generator, str) and generator.startswith("zoomingonline ")


def _foreign_entry(store: Path) -> Path | None:
    """The first entry under ``store`` that a store of this format does not hold, if any."""
    stack = [(store, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return folder
        for entry in entries:
            name = entry.name
            if entry.is_symlink():
                return Path(entry.path)
            if entry.is_dir():
                if (depth == 0 and name in _STORE_FOLDERS) or (depth > 0 and name.isdigit()):
                    stack.append((Path(entry.path), depth + 1))
                    continue
                return Path(entry.path)
            if name in METADATA_NAMES or (depth > 0 and _CHUNK_NAME.match(name)):
                continue
            return Path(entry.path)
    return None


def _protected(resolved: Path) -> str | None:
    """Why a folder may never be replaced, if it is one of those."""
    cwd = Path.cwd().resolve()
    if resolved == Path(resolved.anchor):
        return "the file system root"
    if resolved == Path.home().resolve():
        return "the home folder"
    if resolved == cwd or resolved in cwd.parents:
        return "the current folder" if resolved == cwd else "a parent of the current folder"
    if os.path.ismount(resolved):
        return "a mount point"
    return None


def check_target(
    target: str | os.PathLike[str],
    kind: Kind,
    *,
    overwrite: bool,
    inputs: tuple[str | os.PathLike[str], ...] = (),
) -> Path:
    """Check that ``target`` may be written (and replaced, if it exists); return it.

    Raises
    ------
    ZoomingOnlineError
        With one line naming what is there, when the target must not be written.
    """
    path = Path(target)
    what = "store" if kind == "store" else "HDF5 file"
    if path.name in ("", ".", ".."):
        raise ZoomingOnlineError(f"{str(target)!r} is not a name for a new {what}")
    resolved = path.resolve()
    for source in inputs:
        src = Path(source).resolve()
        if src == resolved:
            raise ZoomingOnlineError(f"output {path} would replace the input")
        if resolved in src.parents:
            raise ZoomingOnlineError(f"{path} holds the input {source}; it is never replaced")
    parent = path.parent
    if not parent.exists():
        raise ZoomingOnlineError(f"cannot write {path}: folder {parent} does not exist")
    if not parent.is_dir():
        raise ZoomingOnlineError(f"cannot write {path}: {parent} is not a folder")
    _check_name_length(path)
    if path.exists() or path.is_symlink():
        if not overwrite:
            raise ZoomingOnlineError(
                f"{path} exists; use --overwrite (overwrite=True) to replace it"
            )
        _check_replaceable(path, resolved, kind)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ZoomingOnlineError(f"cannot write {path}: folder {parent} is not writable")
    return path


def _check_name_length(path: Path) -> None:
    name = len(os.fsencode(path.name))
    # The longest name the run makes beside the target: its owner record's.
    extra = len(os.fsencode(partial_path(path).name + ".old" + OWNER_SUFFIX)) - name
    try:
        limit = os.pathconf(path.parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    if name + extra > limit:
        raise ZoomingOnlineError(
            f"cannot write {path}: its name is {name} bytes long; this file system allows"
            f" {limit - extra} for an output"
        )


def _check_replaceable(path: Path, resolved: Path, kind: Kind) -> None:
    if path.is_symlink():
        raise ZoomingOnlineError(f"{path} is a symbolic link; not replaced")
    reason = _protected(resolved)
    if reason is not None:
        raise ZoomingOnlineError(f"{path} is {reason}; it is never replaced")
    if kind == "store":
        if not path.is_dir():
            raise ZoomingOnlineError(f"{path} is a file, not a store; not replaced")
        if not is_own_store(path):
            raise ZoomingOnlineError(
                f"{path} is a folder but not a zoomingonline store; not replaced"
            )
        foreign = _foreign_entry(path)
        if foreign is not None:
            raise ZoomingOnlineError(
                f"{path} holds {foreign.relative_to(path)}, which is not part of a store;"
                " not replaced"
            )
    else:
        if path.is_dir():
            raise ZoomingOnlineError(f"{path} is a folder; not replaced by an HDF5 file")
        if not is_own_hdf5(path):
            raise ZoomingOnlineError(
                f"{path} is not an HDF5 file written by zoomingonline; not replaced"
            )


# --------------------------------------------------------------------------------------------
# Owner records and leftovers
# --------------------------------------------------------------------------------------------


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += (Path(root) / name).stat().st_size
    return total


def remove_stale_partials(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary outputs in ``folder`` whose writer is gone; return them.

    A leftover is removed only when its owner record names this host and nobody holds
    the record's lock. Temporary outputs without a record are left alone.
    """
    if fcntl is None:  # pragma: no cover
        return []
    here = socket.gethostname()
    removed: list[Path] = []
    freed = 0
    try:
        entries = [e for e in os.scandir(folder) if e.name.endswith(OWNER_SUFFIX)]
    except OSError:
        return []
    for entry in entries:
        if not (entry.name.startswith(".") and PARTIAL_TAG in entry.name):
            continue
        record = Path(entry.path)
        try:
            fd = os.open(record, os.O_RDWR)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a live writer holds it
            try:
                owner = json.loads(os.read(fd, 4096) or b"{}")
            except ValueError:
                owner = {}
            if owner.get("host") != here:
                continue
            base = record.with_name(record.name[: -len(OWNER_SUFFIX)])
            for leftover in (base, base.with_name(base.name + ".old")):
                if leftover.exists() or leftover.is_symlink():
                    freed += _size(leftover)
                    _remove(leftover)
                    removed.append(leftover)
            record.unlink(missing_ok=True)
        finally:
            os.close(fd)
    if removed:
        log.warning(
            "removed %d temporary output(s) (%.1f MB) left in %s by runs that ended abruptly",
            len(removed),
            freed / 1e6,
            folder,
        )
    return removed


class AtomicOutput:
    """A file or store built under a temporary name beside its target, then renamed into place.

    >>> out = AtomicOutput("run.zarr", "store", overwrite=False)  # doctest: +SKIP
    >>> tmp = out.begin()        # write the store at tmp           # doctest: +SKIP
    >>> out.publish()            # or out.discard() on failure      # doctest: +SKIP

    Parameters
    ----------
    target : path-like
        The output's name.
    kind : {"store", "hdf5"}
        What is written, which decides what an existing target may be replaced by.
    overwrite : bool
        Replace an existing target (only if it is this tool's own output).
    inputs : tuple of path-like
        The run's inputs, which the target must not hold or be.
    """

    def __init__(
        self,
        target: str | os.PathLike[str],
        kind: Kind,
        *,
        overwrite: bool,
        inputs: tuple[str | os.PathLike[str], ...] = (),
    ) -> None:
        self.kind = kind
        self.overwrite = overwrite
        self.inputs = inputs
        self.target = check_target(target, kind, overwrite=overwrite, inputs=inputs)
        self.path: Path | None = None
        self._owner_fd: int | None = None
        self._owner: Path | None = None

    def begin(self) -> Path:
        """Claim a temporary name beside the target (nothing is created there yet)."""
        remove_stale_partials(self.target.parent)
        tmp = partial_path(self.target)
        self._claim(tmp)
        self.path = tmp
        return tmp

    def _claim(self, tmp: Path) -> None:
        record = tmp.with_name(tmp.name + OWNER_SUFFIX)
        owning = tmp.with_name(tmp.name + _OWNING_SUFFIX)
        info = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}
        try:
            fd = os.open(owning, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError as exc:
            raise ZoomingOnlineError(f"cannot write {self.target}: {exc.strerror or exc}") from None
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, json.dumps(info).encode())
            # Renamed only once locked, so no other run ever sees it unlocked while we live.
            owning.rename(record)
        except OSError as exc:
            os.close(fd)
            owning.unlink(missing_ok=True)
            raise ZoomingOnlineError(f"cannot write {self.target}: {exc.strerror or exc}") from None
        self._owner_fd = fd
        self._owner = record

    def _release(self) -> None:
        if self._owner is not None:
            self._owner.unlink(missing_ok=True)
            self._owner = None
        if self._owner_fd is not None:
            os.close(self._owner_fd)
            self._owner_fd = None

    def publish(self) -> None:
        """Rename the finished output into place, replacing the target if allowed.

        A signal received before this point stops the run here, with nothing published.
        """
        if self.path is None:
            raise RuntimeError("the output was not begun")
        interrupts.check()
        tmp = self.path
        old = None
        if self.target.exists() or self.target.is_symlink():
            if not self.overwrite:
                self.discard()
                raise ZoomingOnlineError(f"{self.target} appeared meanwhile; not replaced")
            try:
                _check_replaceable(self.target, self.target.resolve(), self.kind)
            except ZoomingOnlineError:
                self.discard()
                raise
            old = tmp.with_name(tmp.name + ".old")
            self.target.rename(old)
        tmp.rename(self.target)
        self.path = None
        if old is not None:
            _remove(old)
        self._release()

    def discard(self) -> None:
        """Remove the temporary output; the target stays as it was."""
        if self.path is not None:
            _remove(self.path)
            self.path = None
        self._release()
