"""Retries that ride out an outage of the service, without flooding the log.

botocore's own retries (``standard`` mode) draw on one quota per client: a few hundred
failed requests spend it, and sixteen upload threads do that within a fraction of a
second of an outage, after which every request fails at once. The transfers therefore make
their clients without botocore retries and retry here instead:

- a request that fails for a reason that may pass (no connection, a dropped connection, a
  timeout, 5xx, throttling) is tried again after an exponential backoff with jitter, up
  to :attr:`S3Config.max_attempts <zoomingonline.s3.config.S3Config.max_attempts>` tries;
- once requests have been failing for :attr:`S3Config.retry_seconds
  <zoomingonline.s3.config.S3Config.retry_seconds>` without the service answering any of
  them, no request is retried any more: a dead endpoint fails the transfer in bounded
  time, however many objects remain (time spent not asking, hashing say, does not count);
- every retried failure is counted by its kind (one line of
  :func:`~zoomingonline.s3.errors.describe_error`, without the object's key), so that the
  caller can report each kind once, with its count.

Waiting threads wake when the transfer is cancelled; in the main thread the waits also
call :func:`zoomingonline.interrupts.check`.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

from zoomingonline import interrupts
from zoomingonline.s3.config import S3Config
from zoomingonline.s3.errors import answered, describe_error, is_transient

__all__ = ["BASE_DELAY", "MAX_DELAY", "POLL", "Cancelled", "Retrier"]

log = logging.getLogger(__name__)

#: Seconds before the first retry; each further retry waits twice as long, up to MAX_DELAY.
BASE_DELAY = 0.25
MAX_DELAY = 8.0
#: Longest sleep between two looks at the cancel event and the signals, in the main thread.
POLL = 0.1

R = TypeVar("R")


class Cancelled(Exception):  # noqa: N818 - a request to stop, not an error
    """The transfer was stopped (its ``cancel`` event set) before it finished."""


class Retrier:
    """The retry policy of one transfer, shared by its threads.

    Parameters
    ----------
    config : S3Config
        Its ``max_attempts`` and ``retry_seconds`` bound the retries; its endpoint is named
        in the messages.
    cancel : threading.Event, optional
        Set to stop: waits end and :class:`Cancelled` is raised.
    """

    def __init__(self, config: S3Config, cancel: threading.Event | None = None) -> None:
        self.config = config
        self.cancel = cancel or threading.Event()
        self.attempts = config.max_attempts
        self.seconds = config.retry_seconds
        self.retried: Counter[str] = Counter()
        self._lock = threading.Lock()
        # Since when requests fail without any answer in between (None: they do not).
        self._failing_since: float | None = None
        self._random = random.Random()  # noqa: S311 - jitter, not a secret

    def restart(self) -> None:
        """Give the retries a fresh time budget (a new pass over what failed)."""
        self._failing_since = None

    def checkpoint(self) -> None:
        """Raise :class:`Cancelled` when cancelled; in the main thread, honour signals too."""
        if threading.current_thread() is threading.main_thread():
            interrupts.check()
        if self.cancel.is_set():
            raise Cancelled

    def pause(self, seconds: float) -> None:
        """Sleep, waking for a cancel (and, in the main thread, for a signal)."""
        main = threading.current_thread() is threading.main_thread()
        deadline = time.monotonic() + seconds
        while True:
            self.checkpoint()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.cancel.wait(min(left, POLL) if main else left)

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (from 1): half fixed, half random."""
        full = min(MAX_DELAY, BASE_DELAY * 2 ** (retry - 1))
        return full / 2 + self._random.uniform(0, full / 2)

    def call(self, action: str, fn: Callable[..., R], /, *args: object, **kwargs: object) -> R:
        """``fn(*args, **kwargs)``, tried again while its failure may pass; see the module.

        ``action`` names the request in the kind of failure counted
        (:func:`~zoomingonline.s3.errors.describe_error`): ``"upload"``, ``"list bucket"``.

        Raises
        ------
        Exception
            What the last try raised, when it is not worth retrying or the budget is spent.
        Cancelled
            If the transfer was cancelled.
        """
        tries = 0
        while True:
            self.checkpoint()
            tries += 1
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:
                if not is_transient(exc):
                    if answered(exc):
                        self._answered()  # the service did answer, only not as hoped
                    raise
                kind = describe_error(exc, self.config, action)
                with self._lock:
                    now = time.monotonic()
                    if self._failing_since is None:
                        self._failing_since = now
                    silent = now - self._failing_since
                    if tries >= self.attempts or silent > self.seconds:
                        raise
                    first = kind not in self.retried
                    self.retried[kind] += 1
                if first:
                    log.info("%s; retrying", kind)
                self.pause(self.delay(tries))
                continue
            self._answered()
            return result

    def _answered(self) -> None:
        self._failing_since = None
