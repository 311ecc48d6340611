"""The HTTP decisions of ``zoomingonline serve``, as plain functions with no aiohttp.

Everything here takes strings, numbers and ``os.stat_result`` values and returns what
to answer, so it can be tested on its own (``tests/test_serve_http.py``):

- request paths: :func:`split_path` (decoding, refusal of ``..`` and separators),
  :func:`locate` (the file under the root, symlinks kept inside) and :func:`exposed`
  (only the files of Zarr stores, no dotfiles but Zarr's metadata, no partial stores);
- who may read: :class:`OriginPolicy` (CORS for the viewer's origin, loopback pages and
  the origins allowed on the command line; Private Network Access for those only);
- what a file is sent as: :func:`content_type`, :func:`etag`, :func:`http_date`;
- conditional requests and ranges: :func:`plan_response` (RFC 9110 preconditions, then
  one byte range) built on :func:`plan_range`, :func:`etag_matches`, :func:`if_range_holds`;
- preflights: :meth:`OriginPolicy.preflight`;
- the folder listing: :func:`listing_names` (stores and the folders leading to them),
  :func:`listing_location` and :func:`listing_page`.
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
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import NamedTuple
from urllib.parse import quote, unquote, urlsplit

from zoomingonline import stores
from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.stores import DEFAULT_VIEWER, METADATA_NAMES

__all__ = [
    "ALLOWED_METHODS",
    "ALLOWED_REQUEST_HEADERS",
    "EXPOSED_HEADERS",
    "JSON_NAMES",
    "LOOPBACK_ORIGINS",
    "NODE_MARKERS",
    "NODE_TTL",
    "PREFLIGHT_MAX_AGE",
    "OriginPolicy",
    "Plan",
    "check_directory",
    "content_type",
    "etag",
    "etag_matches",
    "exposed",
    "http_date",
    "if_range_holds",
    "inside",
    "listing_location",
    "listing_names",
    "listing_page",
    "locate",
    "origin_of",
    "parse_http_date",
    "parse_origin",
    "plan_range",
    "plan_response",
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
#: The files that make a folder a Zarr node (a group or an array) whose files are served.
NODE_MARKERS = (*stores.ROOT_MARKERS, ".zarray")
#: The origins of pages on this machine, any port: always allowed to read.
LOOPBACK_ORIGINS = ("http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*")
# The patterns are matched whole (fullmatch): "$" would also match before a final newline.
_LOOPBACK_ORIGIN = re.compile(r"http://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]{1,5})?")
_ORIGIN = re.compile(
    r"https?://([a-z0-9-]+(\.[a-z0-9-]+)*\.?|\[[0-9a-f:.]+\])(:[0-9]{1,5})?", re.ASCII
)
#: Seconds the answer to "is this folder a Zarr node?" is remembered, and how many.
NODE_TTL = 1.0
_NODE_CACHE_SIZE = 4096
_node_cache: dict[str, tuple[float, bool]] = {}
#: Numbers in a Range header longer than this are larger than any file (2**63 has 19 digits).
_MAX_DIGITS = 20

_TOKEN_LIST = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+([ \t]*,[ \t]*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*")
#: Characters no path segment may hold (a drive letter would make a path absolute on Windows).
_FORBIDDEN_CHARS = "/\\\0" + (":" if os.name == "nt" else "")
_SINGLE_BYTE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$", re.ASCII | re.IGNORECASE)


class Plan(NamedTuple):
    """What to send for a GET or HEAD of a file: the status, and ``length`` bytes from ``start``."""

    status: int
    start: int
    length: int


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
    if stores.is_partial_name(root.name):
        raise ZoomingOnlineError(f"cannot serve {path}: it is a store still being written")
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


def _servable_name(name: str, *, last: bool) -> bool:
    """A path component that may be served: no partial output, no dotfile but Zarr's own."""
    if stores.is_partial_name(name):
        return False
    return not name.startswith(".") or (last and name in METADATA_NAMES)


def _is_node(folder: str) -> bool:
    """Whether ``folder`` holds a Zarr node's metadata; remembered for :data:`NODE_TTL` s.

    Every request asks this of each folder above the file, three ``stat`` calls a
    folder; remembering the answer briefly spares most of them. A store that appears
    (a conversion renamed into place) is served, and one whose metadata is removed is
    no longer served, within that time.
    """
    now = time.monotonic()
    known = _node_cache.get(folder)
    if known is not None and known[0] > now:
        return known[1]
    node = any(os.path.isfile(os.path.join(folder, m)) for m in NODE_MARKERS)  # noqa: PTH113, PTH118
    if len(_node_cache) >= _NODE_CACHE_SIZE:
        _node_cache.clear()
    _node_cache[folder] = (now + NODE_TTL, node)
    return node


def _in_store(root: str, parts: Sequence[str]) -> bool:
    """Whether the folder ``parts`` (relative to ``root``) is a Zarr node or inside one."""
    folder = root
    if _is_node(folder):
        return True
    for name in parts:
        folder = os.path.join(folder, name)  # noqa: PTH118
        if _is_node(folder):
            return True
    return False


def _chains(root: str, parts: Sequence[str], real: str) -> list[list[str]]:
    """The components to judge: the request's and, if a symlink led elsewhere, the real ones."""
    if real == os.path.join(root, *parts):  # noqa: PTH118 - the usual case, no symlink
        return [list(parts)]
    real_parts = list(PurePath(os.path.relpath(real, root)).parts)  # "." has no parts
    return [list(parts)] if real_parts == list(parts) else [list(parts), real_parts]


def exposed(root: str, parts: Sequence[str], real: str) -> bool:
    """Whether the file found at ``parts`` (its path ``real``, from :func:`locate`) may be served.

    Only what lies inside Zarr stores (folders holding ``.zgroup``, ``.zarray`` or
    ``zarr.json``, the served folder included) is served: no other file, no dotfile
    other than Zarr's metadata names, nothing of a store still being written
    (``.NAME.partial-*``). When a symlink led to the file, its real path must pass the
    same rules, so that a link inside a store reaches neither a dotfile nor a file
    outside the stores.
    """
    for chain in _chains(root, parts, real):
        if not chain:
            return False  # the served folder itself is not a file
        last = len(chain) - 1
        if not all(_servable_name(n, last=i == last) for i, n in enumerate(chain)):
            return False
        if not _in_store(root, chain[:-1]):
            return False
    return True


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


def _number(digits: str) -> int:
    """The value of a run of ASCII digits, or ``10**20`` (above any file size) if larger.

    Python refuses to convert strings of more than 4300 digits, and converting long
    ones costs time: a number of more than 20 significant digits is past any file.
    """
    significant = digits.lstrip("0")
    return int(significant or "0") if len(significant) <= _MAX_DIGITS else 10**_MAX_DIGITS


def _less(a: str, b: str) -> bool:
    """Whether the number written ``a`` is below the number written ``b`` (any lengths)."""
    a, b = a.lstrip("0"), b.lstrip("0")
    return (len(a), a) < (len(b), b)


def plan_range(spec: str, size: int) -> Plan:
    """The answer to ``Range: spec`` for a file of ``size`` bytes (no preconditions).

    One byte range is honoured (``a-b``, ``a-``, ``-n``: 206, or 416 when it starts past
    the end or asks for the last 0 bytes); a server may ignore a Range header (RFC 9110,
    14.2), and here other units, several ranges and malformed ones are ignored: the whole
    file, 200. Numbers of any length are read (one of thousands of digits starting a
    range is past the end: 416).
    """
    whole = Plan(200, 0, size)
    match = _SINGLE_BYTE_RANGE.match(spec.strip())
    if match is None:
        return whole
    first, last = match.groups()
    if first:
        if last and _less(last, first):
            return whole  # an invalid range
        start = _number(first)
        if start >= size:
            return Plan(416, 0, 0)
        end = min(_number(last), size - 1) if last else size - 1
        return Plan(206, start, end - start + 1)
    if not last:
        return whole
    suffix = _number(last)
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
# Origins, preflights and listings
# --------------------------------------------------------------------------------------------


def origin_of(url: str) -> str | None:
    """The origin (``scheme://host[:port]``, lower case, no default port) of an http(s) URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in ("http", "https") or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    default = 80 if scheme == "http" else 443
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != default else "")


def parse_origin(value: str) -> str:
    """An origin to allow, as given to ``--allow-origin``: ``*`` or ``scheme://host[:port]``.

    Returns it in the form browsers send (lower case, no default port).

    Raises
    ------
    ZoomingOnlineError
        If it is neither ``*`` nor an http(s) origin (a path, query or user name, for one).
    """
    text = value.strip()
    if text == "*":
        return text
    origin = origin_of(text)
    if origin is not None and not _ORIGIN.fullmatch(origin):
        origin = None
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = None
    if (
        origin is None
        or parts is None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or "@" in parts.netloc
        or text.endswith(("?", "#"))
    ):
        raise ZoomingOnlineError(
            f"--allow-origin {value!r} is not an origin: give scheme://host[:port]"
            " (such as https://example.org) or '*'"
        )
    return origin


@dataclass(frozen=True)
class OriginPolicy:
    """Which web pages may read the served files (CORS) and reach this server (PNA).

    Allowed are the deployed viewer's origin (of ``viewer``), pages on this machine
    (:data:`LOOPBACK_ORIGINS`) and ``origins``; with ``any_origin`` every page is, and
    every response says ``Access-Control-Allow-Origin: *``. Otherwise an allowed
    request ``Origin`` is echoed with ``Vary: Origin``, and any other origin gets no
    CORS headers and no Private Network Access approval: a browser then withholds the
    answer from the page.

    Attributes
    ----------
    origins : frozenset of str
        The origins allowed besides loopback ones, in the form browsers send them.
    any_origin : bool
        Whether every origin is allowed (``--allow-origin '*'``).
    """

    origins: frozenset[str]
    any_origin: bool = False

    @classmethod
    def build(cls, allow: str | Iterable[str] = (), viewer: str = DEFAULT_VIEWER) -> OriginPolicy:
        """The policy for the viewer at ``viewer`` and the extra origins ``allow``.

        Raises
        ------
        ZoomingOnlineError
            If a value of ``allow`` is not an origin (see :func:`parse_origin`).
        """
        extra = [parse_origin(v) for v in ([allow] if isinstance(allow, str) else allow)]
        viewers = {origin_of(DEFAULT_VIEWER), origin_of(viewer)}
        named = {o for o in extra if o != "*"} | {o for o in viewers if o is not None}
        return cls(frozenset(named), any_origin="*" in extra)

    def describe(self) -> tuple[str, ...]:
        """The allowed origins, for people: ``("*",)`` or the named ones, then loopback."""
        if self.any_origin:
            return ("*",)
        return (*sorted(self.origins), *LOOPBACK_ORIGINS)

    def allows(self, origin: str | None) -> bool:
        """Whether a request with this ``Origin`` header may read the answer."""
        if self.any_origin:
            return True
        if origin is None:
            return False
        return origin in self.origins or _LOOPBACK_ORIGIN.fullmatch(origin) is not None

    def headers(self, origin: str | None) -> dict[str, str]:
        """The CORS headers of a (non-preflight) response to a request from ``origin``."""
        if self.any_origin:
            return {
                "Access-Control-Allow-Origin": "*",
                "Access-Control-Expose-Headers": EXPOSED_HEADERS,
            }
        if origin is None or not self.allows(origin):
            return {"Vary": "Origin"}
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Expose-Headers": EXPOSED_HEADERS,
            "Vary": "Origin",
        }

    def preflight(self, headers: Mapping[str, str]) -> dict[str, str]:
        """The headers of the 204 answering an ``OPTIONS`` request with ``headers``.

        For an allowed origin: its CORS headers, the methods, the asked headers (a
        read-only server may allow whatever a reader asks for; the list is kept
        well-formed all the same), and the answer to Chrome's Private Network Access
        question (may a public page such as the hosted viewer read from this loopback
        server?). For any other origin: only ``Allow``.
        """
        answer = {"Allow": ", ".join(ALLOWED_METHODS)}
        origin = headers.get("Origin")
        if not self.allows(origin):
            return {**answer, **self.headers(origin)}
        answer.update(self.headers(origin))
        answer["Access-Control-Allow-Methods"] = ", ".join(ALLOWED_METHODS)
        answer["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
        asked = headers.get("Access-Control-Request-Headers", "").strip()
        answer["Access-Control-Allow-Headers"] = (
            asked if _TOKEN_LIST.fullmatch(asked) else ALLOWED_REQUEST_HEADERS
        )
        if headers.get("Access-Control-Request-Private-Network", "").lower() == "true":
            answer["Access-Control-Allow-Private-Network"] = "true"
        return answer


def listing_location(parts: Sequence[str]) -> str:
    """Where a folder's listing is: its canonical path, ``/a/b/``.

    Built from the decoded parts, never from the request: ``//evil.com`` (empty segments
    are skipped) is ``/evil.com/``, not a link to another site.
    """
    return "/" + "".join(quote(name, safe="") + "/" for name in parts)


def _folder_exposed(root: str, parts: Sequence[str], real: str) -> bool:
    """Whether the folder at ``parts`` (its path ``real``) is a store or inside one."""
    chains = _chains(root, parts, real)
    return all(
        all(_servable_name(n, last=False) for n in chain) and _in_store(root, chain)
        for chain in chains
    )


def _entry_shown(root: str, parts: Sequence[str], entry: os.DirEntry[str]) -> str | None:
    """How an entry of a store's folder is listed (``name`` or ``name/``), or None if hidden."""
    try:
        is_dir = entry.is_dir()
        real = os.path.realpath(entry.path, strict=True) if entry.is_symlink() else entry.path
    except (OSError, RuntimeError):  # a symlink loop, an entry gone
        return None
    if not inside(root, real):
        return None
    path = [*parts, entry.name]
    if is_dir:
        return entry.name + "/" if _folder_exposed(root, path, real) else None
    return entry.name if exposed(root, path, real) else None


def listing_names(root: str, parts: Sequence[str], real: str) -> list[str] | None:
    """The entries of the listing of the folder at ``parts`` (its path ``real``), or None.

    Inside a store: the entries that are served themselves (folders with a trailing
    ``/``): no dotfile other than Zarr's metadata, no partial output, no symlink to what
    is not served. Elsewhere: only the stores below it (as
    :func:`zoomingonline.stores.find_stores` finds them from the served folder) and the
    folders leading to them; a folder that leads to none has no listing (None), except
    the served folder itself. A folder reached through a symlink is listed only if both
    its path and its real path are inside stores.
    """
    if _folder_exposed(root, parts, real):
        with os.scandir(real) as it:
            shown = [_entry_shown(root, parts, entry) for entry in it]
        return sorted(name for name in shown if name is not None)
    chains = _chains(root, parts, real)
    if len(chains) > 1 or not all(_servable_name(n, last=False) for n in parts):
        return None
    depth = stores.SEARCH_DEPTH - len(parts)
    found = stores.find_stores(real, max_depth=depth) if depth > 0 else []
    if not found and parts:
        return None
    return sorted({rel.parts[0] + "/" for rel in found if rel.parts})


def listing_page(path: str, names: Iterable[str]) -> str:
    """An HTML page listing ``names`` (folders end with ``/``) at the decoded URL ``path``."""
    title = html.escape(path)
    items = "".join(
        f'<li><a href="{html.escape(quote(name))}">{html.escape(name)}</a></li>\n' for name in names
    )
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{title}</title></head>\n"
        f"<body><h1>{title}</h1>\n<ul>\n{items}</ul></body></html>\n"
    )
