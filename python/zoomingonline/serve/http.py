"""The HTTP decisions of ``zoomingonline serve``, as plain functions with no aiohttp.

Everything here takes strings, numbers and ``os.stat_result`` values and returns what
to answer, so it can be tested on its own (``tests/test_serve_http.py``):

- request paths: :func:`split_path` (decoding, refusal of ``..`` and separators) and
  :func:`locate` (the file under the root, symlinks kept inside);
- what a file is sent as: :func:`content_type`, :func:`etag`, :func:`http_date`;
- conditional requests and ranges: :func:`plan_response` (RFC 9110 preconditions, then
  one byte range) built on :func:`plan_range`, :func:`etag_matches`, :func:`if_range_holds`;
- preflights: :func:`preflight_headers`;
- the folder listing page: :func:`listing_page`.
"""

from __future__ import annotations

import datetime
import email.utils
import functools
import html
import logging
import mimetypes
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote, unquote

from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.stores import METADATA_NAMES

__all__ = [
    "ALLOWED_METHODS",
    "ALLOWED_REQUEST_HEADERS",
    "EXPOSED_HEADERS",
    "JSON_NAMES",
    "PREFLIGHT_MAX_AGE",
    "Plan",
    "check_directory",
    "content_type",
    "etag",
    "etag_matches",
    "http_date",
    "if_range_holds",
    "inside",
    "listing_page",
    "locate",
    "parse_http_date",
    "plan_range",
    "plan_response",
    "preflight_headers",
    "require_aiohttp",
    "split_path",
]

log = logging.getLogger(__name__)

#: Zarr metadata documents, sent as JSON; every other extension-less or numeric name (the
#: chunk keys ``0.0.0.1``, ``c/0/1``) is sent as bytes.
JSON_NAMES = METADATA_NAMES
ALLOWED_METHODS = ("GET", "HEAD", "OPTIONS")
#: Headers a reader may send cross-origin when the preflight does not list its own.
ALLOWED_REQUEST_HEADERS = (
    "Range, If-None-Match, If-Modified-Since, If-Match, If-Unmodified-Since, If-Range, "
    "Cache-Control"
)
#: Response headers a cross-origin script may read (readers size files and check ranges).
EXPOSED_HEADERS = "Content-Length, Content-Range, ETag, Last-Modified, Accept-Ranges"
PREFLIGHT_MAX_AGE = 600

_TOKEN_LIST = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*,\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*$")
#: Characters no path segment may hold (a drive letter would make a path absolute on Windows).
_FORBIDDEN_CHARS = "/\\\0" + (":" if os.name == "nt" else "")
_SINGLE_BYTE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$", re.ASCII | re.IGNORECASE)


class Plan(NamedTuple):
    """What to send for a GET or HEAD of a file: the status, and the bytes from ``start``."""

    status: int
    start: int
    count: int


def require_aiohttp() -> None:
    """Raise a :class:`ZoomingOnlineError` that says what to install if aiohttp is missing."""
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        raise ZoomingOnlineError(
            "serving needs aiohttp, which is not installed: pip install 'zoomingonline[serve]'"
        ) from None


def check_directory(directory: str | os.PathLike[str]) -> Path:
    """``directory`` resolved, if it is a folder this process can list and read.

    Raises
    ------
    ZoomingOnlineError
        If it is missing, not a folder, or not readable.
    """
    path = Path(directory)
    try:
        root = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise ZoomingOnlineError(f"cannot serve {path}: no such folder") from None
    if not root.is_dir():
        raise ZoomingOnlineError(f"cannot serve {path}: not a folder")
    if not os.access(root, os.R_OK | os.X_OK):
        raise ZoomingOnlineError(f"cannot serve {path}: the folder is not readable")
    return root


# --------------------------------------------------------------------------------------------
# Request paths
# --------------------------------------------------------------------------------------------


def split_path(raw_path: str) -> list[str] | None:
    """The decoded segments of a request path, or None if it must be refused.

    Each segment is percent-decoded on its own, so an encoded ``/`` (``%2F``) cannot join
    segments; ``.``/``..`` (plain or encoded), backslashes, NUL and undecodable bytes are
    refused rather than interpreted. Empty segments (``//``) are skipped, so a path never
    becomes absolute.
    """
    parts = []
    for segment in raw_path.split("/"):
        if not segment:
            continue
        try:
            name = unquote(segment, errors="strict")
        except UnicodeDecodeError:
            return None
        if name in (".", "..") or any(c in name for c in _FORBIDDEN_CHARS):
            return None
        parts.append(name)
    return parts


def inside(root: str, real: str) -> bool:
    """Whether the real path ``real`` is ``root`` or below it (both absolute, resolved)."""
    return real == root or real.startswith(root if root.endswith(os.sep) else root + os.sep)


def locate(root: str, parts: list[str]) -> tuple[str, os.stat_result] | None:
    """The path under ``root`` that ``parts`` name and its stat, or None if there is none.

    Each component is checked with ``lstat``: as long as none is a symlink the path is
    under ``root`` by construction. A symlink is followed, and then the real path must
    still be ``root`` or below it: a link that leads outside is as good as missing.
    Strings and ``os`` calls, not ``Path``: this runs for every request.
    """
    path = root
    st = None
    try:
        for name in parts:
            path = os.path.join(path, name)  # noqa: PTH118
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                real = os.path.realpath(os.path.join(root, *parts), strict=True)  # noqa: PTH118
                if not inside(root, real):
                    log.debug("refused /%s: it leads outside %s", "/".join(parts), root)
                    return None
                return real, os.stat(real)  # noqa: PTH116
        return path, st if st is not None else os.stat(root)  # noqa: PTH116
    except (OSError, RuntimeError, ValueError):
        return None


# --------------------------------------------------------------------------------------------
# What a file is sent as
# --------------------------------------------------------------------------------------------


def content_type(name: str) -> str:
    """The Content-Type of a file served under ``name``.

    Zarr metadata is JSON; chunk keys (no extension or a numeric one) are bytes, as is
    anything compressed, which is sent as it is, never with a Content-Encoding.
    """
    if name in JSON_NAMES:
        return "application/json"
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem or suffix.isdigit():
        return "application/octet-stream"
    guessed, encoding = mimetypes.guess_type(name, strict=False)
    if guessed is None or encoding is not None:
        return "application/octet-stream"
    return guessed


def etag(st: os.stat_result) -> str:
    """The strong ETag of a file: its modification time (ns) and size, in hex."""
    return f'"{st.st_mtime_ns:x}-{st.st_size:x}"'


@functools.lru_cache(maxsize=4096)
def http_date(seconds: int) -> str:
    """An HTTP date (IMF-fixdate, GMT) for a POSIX time in whole seconds."""
    return email.utils.formatdate(seconds, usegmt=True)


def parse_http_date(value: str | None) -> float | None:
    """The POSIX time of an HTTP date, or None if absent or not a date."""
    if value is None:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return when.timestamp()


# --------------------------------------------------------------------------------------------
# Conditional requests and ranges
# --------------------------------------------------------------------------------------------


def etag_matches(header: str, tag: str, *, weak: bool) -> bool:
    """Whether an If-Match (``weak=False``) or If-None-Match (``weak=True``) list names ``tag``."""
    for listed in (t.strip() for t in header.split(",")):
        if listed == "*":
            return True
        if listed.startswith("W/"):
            if weak and listed[2:] == tag:
                return True
        elif listed == tag:
            return True
    return False


def if_range_holds(value: str, tag: str, mtime: int) -> bool:
    """Whether an If-Range (an ETag, compared strongly, or a date) still names the file."""
    value = value.strip()
    if value.startswith(("W/", '"')):
        return value == tag  # a strong comparison: a weak tag never holds
    return parse_http_date(value) == mtime


def plan_range(spec: str, size: int) -> Plan:
    """The answer to ``Range: spec`` for a file of ``size`` bytes (no preconditions).

    One byte range is honoured (``a-b``, ``a-``, ``-n``: 206, or 416 when it starts past
    the end or asks for the last 0 bytes); a server may ignore a Range header (RFC 9110,
    14.2), and here other units, several ranges and malformed ones are ignored: the whole
    file, 200.
    """
    whole = Plan(200, 0, size)
    match = _SINGLE_BYTE_RANGE.match(spec.strip())
    if match is None:
        return whole
    first, last = match.groups()
    if first:
        start = int(first)
        if last and int(last) < start:
            return whole  # an invalid range
        if start >= size:
            return Plan(416, 0, 0)
        end = min(int(last), size - 1) if last else size - 1
        return Plan(206, start, end - start + 1)
    if not last:
        return whole
    suffix = int(last)
    if suffix == 0 or size == 0:
        return Plan(416, 0, 0)
    start = max(0, size - suffix)
    return Plan(206, start, size - start)


def plan_response(method: str, headers: Mapping[str, str], size: int, tag: str, mtime: int) -> Plan:
    """The status of a GET or HEAD for a file, and the bytes to send.

    ``size``, ``tag`` (its ETag) and ``mtime`` (whole seconds) describe the file.
    Preconditions are evaluated in the order of RFC 9110 (13.2.2): If-Match, else
    If-Unmodified-Since (412); If-None-Match, else If-Modified-Since (304); then If-Range
    and Range (:func:`plan_range`). A Range on HEAD, or one whose If-Range no longer
    holds, is ignored: the whole file, 200.
    """
    whole = Plan(200, 0, size)
    if (if_match := headers.get("If-Match")) is not None:
        if not etag_matches(if_match, tag, weak=False):
            return Plan(412, 0, 0)
    elif (since := parse_http_date(headers.get("If-Unmodified-Since"))) is not None and (
        mtime > since
    ):
        return Plan(412, 0, 0)
    if (if_none := headers.get("If-None-Match")) is not None:
        if etag_matches(if_none, tag, weak=True):
            return Plan(304, 0, 0)
    elif (since := parse_http_date(headers.get("If-Modified-Since"))) is not None and (
        mtime <= since
    ):
        return Plan(304, 0, 0)
    if method != "GET" or (spec := headers.get("Range")) is None:
        return whole
    if (if_range := headers.get("If-Range")) is not None and not if_range_holds(
        if_range, tag, mtime
    ):
        return whole
    return plan_range(spec, size)


# --------------------------------------------------------------------------------------------
# Preflights and listings
# --------------------------------------------------------------------------------------------


def preflight_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers of the 204 answering a CORS preflight with request ``headers``.

    A read-only server may allow whatever headers a reader asks for; the list is kept
    well-formed all the same. Chrome's Private Network Access asks, before a public page
    (the hosted viewer) reads from a loopback server, whether it may.
    """
    answer = {
        "Allow": ", ".join(ALLOWED_METHODS),
        "Access-Control-Allow-Methods": ", ".join(ALLOWED_METHODS),
        "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE),
    }
    asked = headers.get("Access-Control-Request-Headers", "").strip()
    answer["Access-Control-Allow-Headers"] = (
        asked if _TOKEN_LIST.match(asked) else ALLOWED_REQUEST_HEADERS
    )
    if headers.get("Access-Control-Request-Private-Network", "").lower() == "true":
        answer["Access-Control-Allow-Private-Network"] = "true"
    return answer


def listing_page(path: str, folder: str) -> str:
    """An HTML page listing the entries of ``folder``, served at the decoded URL ``path``."""
    names = []
    with os.scandir(folder) as it:
        for entry in it:
            try:
                slash = "/" if entry.is_dir() else ""
            except OSError:  # a symlink loop, an entry gone
                slash = ""
            names.append(entry.name + slash)
    names.sort()
    title = html.escape(path)
    items = "".join(
        f'<li><a href="{html.escape(quote(name))}">{html.escape(name)}</a></li>\n' for name in names
    )
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{title}</title></head>\n"
        f"<body><h1>{title}</h1>\n<ul>\n{items}</ul></body></html>\n"
    )
