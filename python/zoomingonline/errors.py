"""The exception every job raises for bad input or a failed run."""

from __future__ import annotations


class ZoomingOnlineError(Exception):
    """A problem the user can act on: bad input, a target that exists, a full disk.

    The command line prints its message as one line and exits with a non-zero status.
    """
