"""SIGINT and SIGTERM end long work cleanly, in one place.

Inside :func:`handling_signals` the signal handlers only record the signal; the work
loops call :func:`check` between blocks, which raises :class:`Interrupted` in the main
thread at a point where unwinding is safe (temporary outputs are removed, nothing is
published). Raising from the handler itself is not safe: Python runs handlers between
any two bytecodes, including inside ``__del__`` methods and weakref callbacks, where an
exception is printed and dropped and the run goes on.

A second signal while the first is being honoured raises at once, so a loop that never
reaches a check can still be stopped.

Outside :func:`handling_signals` (the library called from a script) Python's own
behaviour applies: Ctrl-C raises :class:`KeyboardInterrupt` wherever it lands.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["SIGNALS", "Interrupted", "check", "handling_signals", "pending"]

#: The signals that end long work.
SIGNALS = (signal.SIGINT, signal.SIGTERM)

_received: list[int] = []
_lock = threading.Lock()
_depth = [0]  # nesting of handling_signals()


class Interrupted(BaseException):
    """The run was asked to stop by a signal; :attr:`exit_code` is ``128 + signum``.

    A :class:`BaseException`, like :class:`KeyboardInterrupt`, so that handlers of
    ``Exception`` in the work do not swallow it.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")

    @property
    def exit_code(self) -> int:
        """The shell's code for a run ended by this signal (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + self.signum


def _record(signum: int, frame: FrameType | None) -> None:
    if _received:
        # A second signal: the first is not being honoured fast enough.
        raise Interrupted(_received[0])
    _received.append(signum)


def pending() -> int | None:
    """The signal received and not yet acted upon, if any."""
    return _received[0] if _received else None


def check() -> None:
    """Raise :class:`Interrupted` if a signal was received; call it between blocks of work."""
    if _received:
        raise Interrupted(_received[0])


@contextmanager
def handling_signals() -> Iterator[None]:
    """Record SIGINT and SIGTERM for :func:`check` while the block runs.

    Only the main thread can install handlers; elsewhere this does nothing. Nested uses
    share one set of handlers. On leaving the outermost block the previous handlers come
    back and a recorded signal is forgotten.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with _lock:
        _depth[0] += 1
        outermost = _depth[0] == 1
        if outermost:
            _received.clear()
            previous = {s: signal.signal(s, _record) for s in SIGNALS}
    try:
        yield
    finally:
        with _lock:
            _depth[0] -= 1
            if outermost:
                for s, handler in previous.items():
                    signal.signal(s, handler)
                _received.clear()
