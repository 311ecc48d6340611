"""The decisions of ``zoomingonline serve`` (:mod:`zoomingonline.serve.http`) on their own.

No server and no aiohttp: request paths, file lookup, content types, validators,
conditional requests and ranges, preflights and the listing page, as tables of cases and
as properties checked by hypothesis against simple independent models (ranges against
Python's slicing of ``range(size)``, paths against ``os.path.normpath``).
"""

from __future__ import annotations

import decimal
import email.utils
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.serve import http
from zoomingonline.serve.http import Plan

# --------------------------------------------------------------------------------------------
# Request paths
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "parts"),
    [
        ("/", []),
        ("", []),
        ("/a.zarr/.zgroup", ["a.zarr", ".zgroup"]),
        ("/a.zarr/raw/0.0.0.1", ["a.zarr", "raw", "0.0.0.1"]),
        ("//a//b/", ["a", "b"]),  # empty segments are skipped: never absolute
        ("/my%20run.zarr/x", ["my run.zarr", "x"]),
        ("/caf%C3%A9", ["café"]),
        ("/a%25b", ["a%b"]),  # one decoding only
        ("/a%252e%252e", ["a%2e%2e"]),
        ("/...", ["..."]),  # three dots is a name
        ("/..a/a..", ["..a", "a.."]),
        ("/.zattrs", [".zattrs"]),
    ],
)
def test_split_path_decodes_each_segment(raw: str, parts: list[str]) -> None:
    assert http.split_path(raw) == parts


@pytest.mark.parametrize(
    "raw",
    [
        "/..",
        "/../x",
        "/a/../../x",
        "/.",
        "/./x",
        "/%2e%2e/x",
        "/%2E%2E/x",
        "/.%2e/x",
        "/%2e/x",
        "/a%2fb",  # an encoded / would join segments
        "/a%2Fb",
        "/..%2fx",
        "/a\\b",
        "/%5c..%5cx",
        "/a%00",
        "/a\x00b",
        "/%c0%ae%c0%ae/x",  # overlong UTF-8 dots: not UTF-8
        "/%ff",
    ],
)
def test_split_path_refuses(raw: str) -> None:
    assert http.split_path(raw) is None


ROOT = "/srv/served"


@given(st.text(alphabet=st.sampled_from("ab./\\%2eEfF05cC\x00:é"), max_size=40))
@example("/%2e%2e/%2e%2e/etc/passwd")
@example("/..%2f..%2fetc")
@example("//etc/passwd")
def test_split_path_never_escapes(raw: str) -> None:
    """Whatever the request path, the parts name the root or something below it."""
    parts = http.split_path(raw)
    if parts is None:
        return
    for name in parts:
        assert name
        assert name not in (".", "..")
        assert not any(c in name for c in "/\\\0")
    joined = os.path.normpath(os.path.join(ROOT, *parts))  # noqa: PTH118
    assert joined == ROOT or joined.startswith(ROOT + "/")
    assert len(Path(joined).relative_to(ROOT).parts) == len(parts)  # nothing collapsed


_NAME = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\\\0"),
    min_size=1,
    max_size=12,
).filter(lambda s: s not in (".", ".."))


@given(st.lists(_NAME, max_size=6))
def test_split_path_inverts_quoting(names: list[str]) -> None:
    """A path built by quoting each name (what the viewer links hold) splits back to them."""
    raw = "/" + "/".join(quote(name, safe="") for name in names)
    assert http.split_path(raw) == names


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "a.zarr" / "raw").mkdir(parents=True)
    (root / "a.zarr" / "raw" / "0.0").write_bytes(b"chunk")
    (root / "file.bin").write_bytes(b"x")
    (tmp_path / "secret").write_bytes(b"secret")
    (root / "out").symlink_to(tmp_path / "secret")
    (root / "out_dir").symlink_to(tmp_path, target_is_directory=True)
    (root / "in").symlink_to(root / "file.bin")
    (root / "in_dir").symlink_to(root / "a.zarr", target_is_directory=True)
    (root / "dangling").symlink_to(root / "nothing")
    (root / "loop").symlink_to(root / "loop")
    return root


@pytest.mark.parametrize(
    ("parts", "found"),
    [
        ([], "."),
        (["file.bin"], "file.bin"),
        (["a.zarr", "raw", "0.0"], "a.zarr/raw/0.0"),
        (["in"], "file.bin"),  # a symlink inside: its target
        (["in_dir", "raw", "0.0"], "a.zarr/raw/0.0"),
        (["out"], None),  # leads outside
        (["out_dir", "secret"], None),
        (["out_dir", "root", "file.bin"], "file.bin"),  # out and back in: its real path
        (["dangling"], None),
        (["loop"], None),
        (["missing"], None),
        (["file.bin", "x"], None),  # a file used as a folder
        (["n" * 300], None),  # too long a name
    ],
)
def test_locate(tree: Path, parts: list[str], found: str | None) -> None:
    got = http.locate(str(tree), parts)
    if found is None:
        assert got is None
        return
    assert got is not None
    path, stat_result = got
    assert Path(path) == (tree / found).resolve()
    assert stat_result.st_ino == Path(path).stat().st_ino


@pytest.mark.parametrize(
    ("root", "real", "inside"),
    [
        ("/srv", "/srv", True),
        ("/srv", "/srv/a", True),
        ("/srv", "/srv2/a", False),  # a prefix of the name is not a parent
        ("/srv", "/", False),
        ("/", "/etc", True),
        ("/srv/", "/srv/a", True),
    ],
)
def test_inside(root: str, real: str, inside: bool) -> None:
    assert http.inside(root, real) is inside


def test_check_directory(tmp_path: Path) -> None:
    assert http.check_directory(tmp_path) == tmp_path.resolve()
    with pytest.raises(ZoomingOnlineError, match="no such folder"):
        http.check_directory(tmp_path / "nope")
    (tmp_path / "f").write_bytes(b"")
    with pytest.raises(ZoomingOnlineError, match="not a folder"):
        http.check_directory(tmp_path / "f")


# --------------------------------------------------------------------------------------------
# Content types and validators
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        (".zgroup", "application/json"),
        (".zarray", "application/json"),
        (".zattrs", "application/json"),
        (".zmetadata", "application/json"),
        ("zarr.json", "application/json"),
        ("meta.json", "application/json"),
        ("0.0.0.1", "application/octet-stream"),  # a chunk key
        ("0", "application/octet-stream"),
        ("c", "application/octet-stream"),
        ("x.bin", "application/octet-stream"),
        ("x.json.gz", "application/octet-stream"),  # compressed: bytes, never an encoding
        ("x.tar.bz2", "application/octet-stream"),
        ("page.html", "text/html"),
        ("notes.txt", "text/plain"),
        (".hidden", "application/octet-stream"),
        ("noext.", "application/octet-stream"),
    ],
)
def test_content_type(name: str, kind: str) -> None:
    assert http.content_type(name) == kind


def test_json_names_are_zarrs_metadata() -> None:
    from zoomingonline.stores import METADATA_NAMES

    assert http.JSON_NAMES == METADATA_NAMES


def test_etag_changes_with_time_and_size(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"one")
    os.utime(path, ns=(1_600_000_000_000_000_001, 1_600_000_000_000_000_001))
    first = http.etag(path.stat())
    assert first == f'"{1_600_000_000_000_000_001:x}-3"'
    os.utime(path, ns=(1_600_000_000_000_000_002, 1_600_000_000_000_000_002))
    second = http.etag(path.stat())
    path.write_bytes(b"four")
    os.utime(path, ns=(1_600_000_000_000_000_002, 1_600_000_000_000_000_002))
    third = http.etag(path.stat())
    assert len({first, second, third}) == 3


@given(st.integers(min_value=0, max_value=253402300799))  # up to 9999-12-31
def test_http_date_round_trips(seconds: int) -> None:
    text = http.http_date(seconds)
    assert text.endswith(" GMT")
    assert http.parse_http_date(text) == seconds


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("Sun, 06 Nov 1994 08:49:37 GMT", 784111777),  # IMF-fixdate
        ("Sunday, 06-Nov-94 08:49:37 GMT", 784111777),  # obsolete RFC 850, still accepted
        ("Sun Nov  6 08:49:37 1994", 784111777),  # asctime, taken as UTC
        ("Sun, 06 Nov 1994 09:49:37 +0100", 784111777),
        ("not a date", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_http_date(value: str | None, seconds: int | None) -> None:
    assert http.parse_http_date(value) == seconds


# --------------------------------------------------------------------------------------------
# Conditional requests
# --------------------------------------------------------------------------------------------

TAG = '"5f5e1000-64"'
SIZE = 100
MTIME = 1_700_000_000
DATE = email.utils.formatdate(MTIME, usegmt=True)
EARLIER = email.utils.formatdate(MTIME - 86400, usegmt=True)
LATER = email.utils.formatdate(MTIME + 86400, usegmt=True)


@pytest.mark.parametrize(
    ("header", "weak", "matches"),
    [
        (TAG, False, True),
        (TAG, True, True),
        ("*", False, True),
        ("*", True, True),
        ('"other"', True, False),
        (f'"other", {TAG}', True, True),
        (f'"other",{TAG}', False, True),
        (f"W/{TAG}", True, True),  # If-None-Match compares weakly
        (f"W/{TAG}", False, False),  # If-Match strongly
        (TAG.strip('"'), True, False),  # unquoted is another tag
        ("", True, False),
    ],
)
def test_etag_matches(header: str, weak: bool, matches: bool) -> None:
    assert http.etag_matches(header, TAG, weak=weak) is matches


@pytest.mark.parametrize(
    ("value", "holds"),
    [
        (TAG, True),
        (f" {TAG} ", True),
        ('"stale"', False),
        (f"W/{TAG}", False),  # a weak tag never holds
        (DATE, True),
        (EARLIER, False),
        (LATER, False),  # only the exact date holds
        ("garbage", False),
    ],
)
def test_if_range_holds(value: str, holds: bool) -> None:
    assert http.if_range_holds(value, TAG, MTIME) is holds


CONDITIONALS = [
    # (method, headers, status) for a file of SIZE bytes, TAG, MTIME
    ("GET", {}, 200),
    ("HEAD", {}, 200),
    ("GET", {"If-None-Match": TAG}, 304),
    ("HEAD", {"If-None-Match": TAG}, 304),
    ("GET", {"If-None-Match": f"W/{TAG}"}, 304),
    ("GET", {"If-None-Match": "*"}, 304),
    ("GET", {"If-None-Match": '"other"'}, 200),
    ("GET", {"If-Modified-Since": DATE}, 304),
    ("GET", {"If-Modified-Since": LATER}, 304),
    ("GET", {"If-Modified-Since": EARLIER}, 200),
    ("GET", {"If-Modified-Since": "not a date"}, 200),
    # If-None-Match decides when both are sent.
    ("GET", {"If-None-Match": '"other"', "If-Modified-Since": DATE}, 200),
    ("GET", {"If-None-Match": TAG, "If-Modified-Since": EARLIER}, 304),
    ("GET", {"If-Match": TAG}, 200),
    ("GET", {"If-Match": "*"}, 200),
    ("GET", {"If-Match": '"other"'}, 412),
    ("GET", {"If-Match": f"W/{TAG}"}, 412),
    ("HEAD", {"If-Match": '"other"'}, 412),
    ("GET", {"If-Unmodified-Since": EARLIER}, 412),
    ("GET", {"If-Unmodified-Since": DATE}, 200),
    ("GET", {"If-Unmodified-Since": "not a date"}, 200),
    # If-Match decides over If-Unmodified-Since, and comes before If-None-Match.
    ("GET", {"If-Match": TAG, "If-Unmodified-Since": EARLIER}, 200),
    ("GET", {"If-Match": '"other"', "If-None-Match": TAG}, 412),
    ("GET", {"If-Unmodified-Since": EARLIER, "If-None-Match": TAG}, 412),
    # Range and If-Range.
    ("GET", {"Range": "bytes=0-9"}, 206),
    ("HEAD", {"Range": "bytes=0-9"}, 200),  # HEAD ignores Range
    ("GET", {"Range": "bytes=0-9", "If-Range": TAG}, 206),
    ("GET", {"Range": "bytes=0-9", "If-Range": DATE}, 206),
    ("GET", {"Range": "bytes=0-9", "If-Range": '"stale"'}, 200),
    ("GET", {"Range": "bytes=0-9", "If-Range": f"W/{TAG}"}, 200),
    ("GET", {"Range": "bytes=0-9", "If-Range": EARLIER}, 200),
    ("GET", {"If-Range": '"stale"'}, 200),  # If-Range without Range: nothing to do
    ("GET", {"Range": "bytes=200-"}, 416),
    ("GET", {"Range": "bytes=200-", "If-Range": '"stale"'}, 200),
    ("GET", {"Range": "bytes=0-9", "If-None-Match": TAG}, 304),  # 304 before ranges
    ("GET", {"Range": "bytes=200-", "If-Match": '"other"'}, 412),
]


@pytest.mark.parametrize(("method", "headers", "status"), CONDITIONALS)
def test_plan_response_conditionals(method: str, headers: dict[str, str], status: int) -> None:
    plan = http.plan_response(method, headers, SIZE, TAG, MTIME)
    assert plan.status == status
    if status == 200:
        assert plan == Plan(200, 0, SIZE)
    elif status == 206:
        assert plan == Plan(206, 0, 10)
    else:
        assert plan.length == 0


_HEADER_VALUES = {
    "If-Match": st.sampled_from([TAG, "*", '"other"', f"W/{TAG}", f'"x", {TAG}']),
    "If-None-Match": st.sampled_from([TAG, "*", '"other"', f"W/{TAG}"]),
    "If-Modified-Since": st.sampled_from([DATE, EARLIER, LATER, "junk"]),
    "If-Unmodified-Since": st.sampled_from([DATE, EARLIER, LATER, "junk"]),
    "If-Range": st.sampled_from([TAG, DATE, EARLIER, '"stale"', f"W/{TAG}"]),
    "Range": st.sampled_from(["bytes=0-9", "bytes=-5", "bytes=90-", "bytes=500-", "x=1-2"]),
}
_HEADERS = st.fixed_dictionaries({}, optional=_HEADER_VALUES)


def _model_conditional(headers: dict[str, str]) -> int | None:
    """The status the preconditions force (RFC 9110 13.2.2), or None to go on to ranges."""
    strong = {TAG, "*"}
    if "If-Match" in headers:
        if not strong & {t.strip() for t in headers["If-Match"].split(",")}:
            return 412
    elif headers.get("If-Unmodified-Since") == EARLIER:
        return 412
    if "If-None-Match" in headers:
        if headers["If-None-Match"] in (TAG, "*", f"W/{TAG}"):
            return 304
    elif headers.get("If-Modified-Since") in (DATE, LATER):
        return 304
    return None


@given(st.sampled_from(["GET", "HEAD"]), _HEADERS)
def test_plan_response_follows_the_rfc_order(method: str, headers: dict[str, str]) -> None:
    plan = http.plan_response(method, headers, SIZE, TAG, MTIME)
    forced = _model_conditional(headers)
    if forced is not None:
        assert plan == Plan(forced, 0, 0)
        return
    range_applies = (
        method == "GET"
        and "Range" in headers
        and headers.get("If-Range", TAG) in (TAG, DATE)  # absent, or still the file
    )
    if range_applies:
        assert plan == http.plan_range(headers["Range"], SIZE)
    else:
        assert plan == Plan(200, 0, SIZE)
    # HEAD is GET without the range.
    without_range = {k: v for k, v in headers.items() if k != "Range"}
    head = http.plan_response("HEAD", headers, SIZE, TAG, MTIME)
    assert head == http.plan_response("GET", without_range, SIZE, TAG, MTIME)


# --------------------------------------------------------------------------------------------
# Ranges
# --------------------------------------------------------------------------------------------


RANGES = [
    # (spec, size, plan)
    ("bytes=0-9", 100, Plan(206, 0, 10)),
    ("bytes=10-19", 100, Plan(206, 10, 10)),
    ("bytes=0-0", 100, Plan(206, 0, 1)),
    ("bytes=99-99", 100, Plan(206, 99, 1)),
    ("bytes=-1", 100, Plan(206, 99, 1)),
    ("bytes=-100", 100, Plan(206, 0, 100)),
    ("bytes=-500", 100, Plan(206, 0, 100)),  # a suffix longer than the file: all of it
    ("bytes=90-", 100, Plan(206, 90, 10)),
    ("bytes=0-", 100, Plan(206, 0, 100)),
    ("bytes=90-999999", 100, Plan(206, 90, 10)),  # the end clamped to the size
    ("BYTES=5-6", 100, Plan(206, 5, 2)),  # the unit is case-insensitive
    ("Bytes=5-6", 100, Plan(206, 5, 2)),
    (" bytes=5-6 ", 100, Plan(206, 5, 2)),
    ("bytes=005-006", 100, Plan(206, 5, 2)),  # leading zeros
    ("bytes=100-", 100, Plan(416, 0, 0)),  # starts at the end
    ("bytes=100-200", 100, Plan(416, 0, 0)),
    ("bytes=-0", 100, Plan(416, 0, 0)),  # the last 0 bytes
    ("bytes=0-", 0, Plan(416, 0, 0)),  # nothing of an empty file can be had
    ("bytes=-5", 0, Plan(416, 0, 0)),
    ("bytes=0-0", 0, Plan(416, 0, 0)),
    # A server may ignore these (RFC 9110 14.2): the whole file.
    ("bytes=5-2", 100, Plan(200, 0, 100)),  # last before first: invalid
    ("bytes=0-1,5-6", 100, Plan(200, 0, 100)),  # several ranges
    ("items=0-5", 100, Plan(200, 0, 100)),
    ("bytes=abc", 100, Plan(200, 0, 100)),
    ("bytes=-", 100, Plan(200, 0, 100)),
    ("bytes 0-5", 100, Plan(200, 0, 100)),
    ("bytes=0x10-20", 100, Plan(200, 0, 100)),
    ("bytes=+5-6", 100, Plan(200, 0, 100)),
    ("bytes=\u0665-\u0666", 100, Plan(200, 0, 100)),  # Arabic-Indic digits are not digits here
    ("", 100, Plan(200, 0, 100)),
    ("bytes=0-9", 5, Plan(206, 0, 5)),
    # Numbers longer than Python converts to an int, or than any file.
    ("bytes=" + "9" * 5000 + "-", 100, Plan(416, 0, 0)),
    ("bytes=" + "9" * 5000 + "-" + "9" * 5000, 100, Plan(416, 0, 0)),
    ("bytes=0-" + "9" * 5000, 100, Plan(206, 0, 100)),
    ("bytes=-" + "9" * 5000, 100, Plan(206, 0, 100)),
    ("bytes=" + "0" * 5000 + "5-" + "0" * 5000 + "6", 100, Plan(206, 5, 2)),
    ("bytes=9223372036854775807-", (1 << 63) - 1, Plan(416, 0, 0)),
    ("bytes=9223372036854775806-", (1 << 63) - 1, Plan(206, (1 << 63) - 2, 1)),
    ("bytes=99999999999999999999-", (1 << 63) - 1, Plan(416, 0, 0)),
    ("bytes=-9223372036854775807", (1 << 63) - 1, Plan(206, 0, (1 << 63) - 1)),
    ("bytes=5-99999999999999999999", (1 << 63) - 1, Plan(206, 5, (1 << 63) - 6)),
    ("bytes=" + "9" * 25 + "-" + "9" * 21, 100, Plan(200, 0, 100)),  # last before first
    ("bytes=" + "9" * 21 + "-" + "9" * 25, 100, Plan(416, 0, 0)),
    ("bytes=" + "2" * 4400 + "-" + "1" * 4400, 100, Plan(200, 0, 100)),
]


@pytest.mark.parametrize(("spec", "size", "plan"), RANGES)
def test_plan_range(spec: str, size: int, plan: Plan) -> None:
    assert http.plan_range(spec, size) == plan


_DIGITS = "0123456789"


def _value(digits: str) -> int:
    """A number of any length, cut to just above ``size`` where only the order matters."""
    exact = decimal.Decimal(digits)  # Decimal reads any number of digits
    return int(min(exact, decimal.Decimal(1 << 64)))


def model_range(spec: str, size: int) -> Plan:
    """RFC 9110 14.1.2 for one byte range, as Python's slicing of ``range(size)``."""
    whole = Plan(200, 0, size)
    unit, eq, rest = spec.strip().partition("=")
    if not eq or unit.lower() != "bytes":
        return whole
    first, dash, last = rest.partition("-")
    if not dash or not all(c in _DIGITS for c in first + last):
        return whole
    if first:
        if last and decimal.Decimal(last) < decimal.Decimal(first):
            return whole
        a = _value(first)
        selected = range(size)[a : _value(last) + 1 if last else None]
    elif last:
        n = _value(last)
        # A suffix longer than the file selects all of it (a negative start would wrap).
        selected = range(size)[max(size - n, 0) :] if n else range(0)
    else:
        return whole
    if not selected:
        return Plan(416, 0, 0)
    return Plan(206, selected.start, len(selected))


_NUMBER = st.one_of(
    st.just(""),
    st.integers(min_value=0, max_value=2000).map(str),
    st.integers(min_value=0, max_value=10**24).map(str),
    st.integers(min_value=0, max_value=99).map(lambda n: f"000{n}"),
    # Beyond what Python converts to an int (4300 digits), with or without leading zeros.
    st.builds(
        lambda zeros, digits: "0" * zeros + digits,
        st.integers(min_value=0, max_value=5000),
        st.sampled_from(["", "1", "7", "9" * 21, "9" * 30, "1" + "0" * 4400, "9" * 4400]),
    ),
)
_SIZE = st.one_of(
    st.integers(min_value=0, max_value=3000),
    st.integers(min_value=0, max_value=(1 << 63) - 1),  # any file size
)
_RANGE_SPEC = st.builds(
    lambda unit, first, sep, last, tail: f"{unit}={first}{sep}{last}{tail}",
    st.sampled_from(["bytes", "BYTES", "Bytes", "items", "byte", " bytes"]),
    _NUMBER,
    st.sampled_from(["-", "-", "-", "", "--", "+"]),
    _NUMBER,
    st.sampled_from(["", "", "", ",0-1", ", 5-", " ", "\n", "x"]),
)


@given(st.one_of(_RANGE_SPEC, st.text(max_size=20)), _SIZE)
@example("bytes=-0", 0)
@example("bytes=0-0", 1)
@example("bytes=1-", 1)
@example("bytes=-3", 2)
def test_plan_range_is_rfc_slicing(spec: str, size: int) -> None:
    plan = http.plan_range(spec, size)
    assert plan == model_range(spec, size)
    if plan.status == 206:  # within the file, never empty
        assert plan.length >= 1
        assert plan.start >= 0
        assert plan.start + plan.length <= size


# --------------------------------------------------------------------------------------------
# Preflights and listings
# --------------------------------------------------------------------------------------------


VIEWER = "https://datamedsci.github.io"


@pytest.mark.parametrize(
    ("asked", "allowed"),
    [
        ("range", "range"),
        ("Range, If-None-Match", "Range, If-None-Match"),
        ("", http.ALLOWED_REQUEST_HEADERS),
        ("range\r\nX-Evil: 1", http.ALLOWED_REQUEST_HEADERS),  # not a token list
        ("range\n", "range"),  # the value is stripped
        ("range,\nx", http.ALLOWED_REQUEST_HEADERS),  # a line break inside is not a list
        ("range,\tx", "range,\tx"),
        ("range,", http.ALLOWED_REQUEST_HEADERS),
        ("a b", http.ALLOWED_REQUEST_HEADERS),
    ],
)
def test_preflight_allows_the_asked_headers(asked: str, allowed: str) -> None:
    headers = {"Origin": VIEWER, "Access-Control-Request-Method": "GET"}
    if asked:
        headers["Access-Control-Request-Headers"] = asked
    answer = http.OriginPolicy.build().preflight(headers)
    assert answer["Access-Control-Allow-Origin"] == VIEWER
    assert answer["Access-Control-Allow-Headers"] == allowed
    assert set(answer["Access-Control-Allow-Methods"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert answer["Allow"] == answer["Access-Control-Allow-Methods"]
    assert int(answer["Access-Control-Max-Age"]) > 0
    assert "Access-Control-Allow-Private-Network" not in answer  # not asked
    assert "range" in http.ALLOWED_REQUEST_HEADERS.lower()


# --------------------------------------------------------------------------------------------
# Origins
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://datamedsci.github.io/ZoomingOnline/", VIEWER),
        ("https://DataMedSci.GitHub.io/ZoomingOnline/?data=x#y", VIEWER),
        ("https://datamedsci.github.io:443/", VIEWER),  # the default port is left out
        ("http://localhost:80/app", "http://localhost"),
        ("http://localhost:8080/app", "http://localhost:8080"),
        ("https://[::1]:8443/", "https://[::1]:8443"),
        ("http://user:pw@example.org/", "http://example.org"),
        ("ftp://example.org/", None),
        ("file:///home/me/viewer.html", None),
        ("example.org", None),
        ("https://", None),
        ("https://example.org:99999/", None),  # no such port
        ("", None),
    ],
)
def test_origin_of(url: str, origin: str | None) -> None:
    assert http.origin_of(url) == origin


@pytest.mark.parametrize(
    ("value", "origin"),
    [
        ("*", "*"),
        (" * ", "*"),
        ("https://lab.example.org", "https://lab.example.org"),
        ("https://Lab.Example.Org/", "https://lab.example.org"),
        ("http://lab.example:8080", "http://lab.example:8080"),
        ("https://lab.example:443", "https://lab.example"),
        ("http://10.0.0.7:3000", "http://10.0.0.7:3000"),
        ("http://[fe80::1]:3000", "http://[fe80::1]:3000"),
        ("https://xn--bcher-kva.example", "https://xn--bcher-kva.example"),
    ],
)
def test_parse_origin_accepts_origins(value: str, origin: str) -> None:
    assert http.parse_origin(value) == origin


@pytest.mark.parametrize(
    "value",
    [
        "",
        "null",
        "example.org",
        "//example.org",
        "ftp://example.org",
        "file:///tmp",
        "https://example.org/app",
        "https://example.org/app/",
        "https://example.org?x=1",
        "https://example.org?",
        "https://example.org#top",
        "https://user@example.org",
        "https://exa mple.org",
        "https://example.org:99999",
        "https://example.org:port",
        "https://*.example.org",
        "https://",
        "**",
    ],
)
def test_parse_origin_refuses_what_is_not_one(value: str) -> None:
    with pytest.raises(ZoomingOnlineError, match=r"--allow-origin .* is not an origin"):
        http.parse_origin(value)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (VIEWER, True),
        ("http://localhost", True),
        ("http://localhost:1", True),
        ("http://localhost:65535", True),
        ("http://127.0.0.1:8000", True),
        ("http://[::1]:5173", True),
        ("https://lab.example:8443", True),  # allowed by the policy below
        ("http://viewer.example:9000", True),  # the --viewer below
        (None, False),
        ("", False),
        ("null", False),
        ("https://evil.example", False),
        ("https://datamedsci.github.io.evil.example", False),
        ("https://evil.github.io", False),
        ("http://datamedsci.github.io", False),
        ("https://datamedsci.github.io:8443", False),
        ("https://lab.example", False),  # another port is another origin
        ("http://localhost.evil.example", False),
        ("http://localhost:80.evil.example", False),
        ("http://localhost:1234567", False),
        ("http://127.0.0.1.evil.example", False),
        ("http://127.0.0.2:8000", False),
        ("https://localhost:8443", False),
        ("http://[::1].evil.example", False),
        ("http://localhost:8000/", False),  # browsers send no path: not an origin
        (" http://localhost:8000", False),
        ("http://localhost:8000\nX: y", False),
    ],
)
def test_origin_policy_allows(origin: str | None, allowed: bool) -> None:
    policy = http.OriginPolicy.build(["https://lab.example:8443"], "http://viewer.example:9000/")
    assert policy.allows(origin) is allowed
    headers = policy.headers(origin)
    assert headers["Vary"] == "Origin"
    if allowed:
        assert headers["Access-Control-Allow-Origin"] == origin
        assert headers["Access-Control-Expose-Headers"] == http.EXPOSED_HEADERS
    else:
        assert set(headers) == {"Vary"}
    asked = {"Access-Control-Request-Private-Network": "true"}
    preflight = policy.preflight({**asked, "Origin": origin} if origin is not None else asked)
    if allowed:
        assert preflight["Access-Control-Allow-Private-Network"] == "true"
        assert preflight["Access-Control-Allow-Origin"] == origin
    else:
        assert not [h for h in preflight if h.startswith("Access-Control-")]
        assert preflight["Allow"] == "GET, HEAD, OPTIONS"


@pytest.mark.parametrize("origin", [None, "https://evil.example", VIEWER, "null"])
def test_origin_policy_star_allows_every_page(origin: str | None) -> None:
    policy = http.OriginPolicy.build(["https://lab.example", "*"])
    assert policy.any_origin
    assert policy.describe() == ("*",)
    assert policy.allows(origin)
    assert policy.headers(origin) == {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Expose-Headers": http.EXPOSED_HEADERS,
    }
    preflight = policy.preflight(
        {"Origin": origin or "", "Access-Control-Request-Private-Network": "true"}
    )
    assert preflight["Access-Control-Allow-Private-Network"] == "true"


def test_origin_policy_describes_its_origins() -> None:
    policy = http.OriginPolicy.build("https://b.example", "https://a.example/viewer/")
    assert policy.describe() == (
        "https://a.example",
        "https://b.example",
        VIEWER,  # the deployed viewer, whatever --viewer says
        *http.LOOPBACK_ORIGINS,
    )
    # A string is one origin, not its characters.
    assert http.OriginPolicy.build("https://b.example").origins == {"https://b.example", VIEWER}
    # A viewer that is not on the web adds no origin.
    assert http.OriginPolicy.build((), "file:///viewer.html").origins == {VIEWER}
    with pytest.raises(ZoomingOnlineError):
        http.OriginPolicy.build(["https://ok.example", "bad"])


@given(st.text(max_size=40))
@example("http://localhost:8000")
@example("https://datamedsci.github.io")
@example("http://localhost\n")
@example("https://datamedsci.github.io\n")
def test_origin_policy_allows_exactly_the_model(origin: str) -> None:
    """Allowed: the viewer's origin, and http loopback hosts with an optional port."""
    policy = http.OriginPolicy.build()
    host, colon, port = origin.removeprefix("http://").rpartition(":")
    if not colon:
        host, port = port, ""
    loopback = (
        origin.startswith("http://")
        and host in ("localhost", "127.0.0.1", "[::1]")
        and (not colon or (port.isascii() and port.isdigit() and 1 <= len(port) <= 5))
    )
    assert policy.allows(origin) is (origin == VIEWER or loopback)


# --------------------------------------------------------------------------------------------
# What is served
# --------------------------------------------------------------------------------------------


@pytest.fixture
def stores_tree(tmp_path: Path) -> Path:
    """Stores among private files: what :func:`http.exposed` must tell apart."""
    root = tmp_path / "root"
    files = {
        "a.zarr/.zgroup": "{}",
        "a.zarr/.zattrs": "{}",
        "a.zarr/.zmetadata": "{}",
        "a.zarr/raw/.zarray": "{}",
        "a.zarr/raw/0.0": "chunk",
        "a.zarr/raw/.hidden": "x",
        "a.zarr/.git/config": "x",
        "a.zarr/notes.txt": "inside a store: served",
        "v3.zarr/zarr.json": "{}",
        "v3.zarr/c/0/0": "chunk",
        "bare.zarr/.zarray": "{}",  # an array on its own is a store too
        "bare.zarr/0": "chunk",
        "runs/2024/b.zarr/.zgroup": "{}",
        "runs/2024/plan.txt": "x",
        "runs/.zgroup.bak/x": "x",
        ".a.zarr.partial-0badc0de/.zgroup": "{}",
        ".a.zarr.partial-0badc0de/raw/0.0": "x",
        "a.zarr/raw/.0.0.partial-12345678": "x",
        ".hidden.zarr/.zgroup": "{}",
        ".env": "x",
        "notes.txt": "x",
        "only_attrs/.zattrs": "{}",  # no group, no array: not a store
        "only_attrs/x": "x",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "a.zarr" / "to_notes").symlink_to(root / "notes.txt")
    (root / "a.zarr" / "to_env").symlink_to(root / ".env")
    (root / "a.zarr" / "to_v3").symlink_to(root / "v3.zarr", target_is_directory=True)
    (root / "a.zarr" / "to_partial").symlink_to(
        root / ".a.zarr.partial-0badc0de", target_is_directory=True
    )
    (root / "alias.zarr").symlink_to(root / "a.zarr", target_is_directory=True)
    (root / "visible_env").symlink_to(root / ".env")
    return root


@pytest.mark.parametrize(
    ("path", "served"),
    [
        ("a.zarr/.zgroup", True),
        ("a.zarr/.zattrs", True),
        ("a.zarr/.zmetadata", True),
        ("a.zarr/raw/.zarray", True),
        ("a.zarr/raw/0.0", True),
        ("a.zarr/notes.txt", True),
        ("v3.zarr/zarr.json", True),
        ("v3.zarr/c/0/0", True),
        ("bare.zarr/.zarray", True),
        ("bare.zarr/0", True),
        ("runs/2024/b.zarr/.zgroup", True),
        ("alias.zarr/raw/0.0", True),  # a symlinked store
        ("a.zarr/to_v3/zarr.json", True),  # a link from one store into another
        ("a.zarr/raw/.hidden", False),
        ("a.zarr/.git/config", False),
        ("a.zarr/raw/.0.0.partial-12345678", False),
        ("runs/2024/plan.txt", False),  # beside a store, not in it
        ("runs/.zgroup.bak/x", False),
        (".a.zarr.partial-0badc0de/.zgroup", False),
        (".a.zarr.partial-0badc0de/raw/0.0", False),
        (".hidden.zarr/.zgroup", False),
        (".env", False),
        ("notes.txt", False),
        ("only_attrs/x", False),
        ("only_attrs/.zattrs", False),
        ("a.zarr/to_notes", False),  # links out of the stores
        ("a.zarr/to_env", False),
        ("a.zarr/to_partial/raw/0.0", False),
        ("visible_env", False),
    ],
)
def test_exposed(stores_tree: Path, path: str, served: bool) -> None:
    root = str(stores_tree)
    parts = path.split("/")
    found = http.locate(root, parts)
    assert found is not None, path
    assert http.exposed(root, parts, found[0]) is served


def test_everything_is_exposed_when_the_root_is_a_store(stores_tree: Path) -> None:
    root = str(stores_tree / "a.zarr")
    for path, served in [
        (".zgroup", True),
        ("raw/0.0", True),
        ("notes.txt", True),
        (".git/config", False),
        ("raw/.hidden", False),
        ("to_notes", False),  # outside the served folder: locate refuses it
    ]:
        found = http.locate(root, path.split("/"))
        assert (found is not None and http.exposed(root, path.split("/"), found[0])) is served


@pytest.mark.parametrize(
    ("path", "names"),
    [
        ("", ["a.zarr/", "bare.zarr/", "runs/", "v3.zarr/"]),  # stores and the way to them
        ("runs", ["2024/"]),
        ("runs/2024", ["b.zarr/"]),
        ("a.zarr", [".zattrs", ".zgroup", ".zmetadata", "notes.txt", "raw/", "to_v3/"]),
        ("a.zarr/raw", [".zarray", "0.0"]),
        ("alias.zarr/raw", [".zarray", "0.0"]),
        ("a.zarr/to_v3", ["c/", "zarr.json"]),
        ("only_attrs", None),
        (".a.zarr.partial-0badc0de", None),
        (".a.zarr.partial-0badc0de/raw", None),
        ("a.zarr/.git", None),
        ("a.zarr/to_partial", None),
        ("runs/.zgroup.bak", None),
    ],
)
def test_listing_names(stores_tree: Path, path: str, names: list[str] | None) -> None:
    root = str(stores_tree)
    parts = path.split("/") if path else []
    found = http.locate(root, parts)
    assert found is not None
    got = http.listing_names(root, parts, found[0])
    if names is None or "bare.zarr/" not in names:
        assert got == names
    else:
        # A bare array is served but not looked for by find_stores: listed or not, never more.
        assert got is not None
        assert set(got) <= set(names)
        assert set(names) - set(got) <= {"bare.zarr/"}


@pytest.mark.parametrize(
    ("parts", "location"),
    [
        ([], "/"),
        (["evil.com"], "/evil.com/"),
        (["a b", "c"], "/a%20b/c/"),
        (["?x", "#y"], "/%3Fx/%23y/"),
        (["%2f"], "/%252f/"),
    ],
)
def test_listing_location(parts: list[str], location: str) -> None:
    assert http.listing_location(parts) == location


@given(st.text(alphabet=st.sampled_from("/\\.%2fFe:@?#évil"), max_size=30))
@example("//evil.com")
@example("/%2F%2Fevil.com")
@example("///evil.com/")
def test_listing_location_stays_on_this_server(raw: str) -> None:
    """A redirect target built from any request path is a path on this server."""
    parts = http.split_path(raw)
    if parts is None:
        return
    location = http.listing_location(parts)
    assert location.startswith("/")
    assert not location.startswith("//")
    assert "\\" not in location
    assert http.split_path(location) == parts  # and names the same folder


def test_listing_page_escapes_names() -> None:
    page = http.listing_page("/x <y>/", ["a.zarr/", "odd <name> & more.txt", 'q"uote'])
    assert "<title>/x &lt;y&gt;/</title>" in page
    assert '<a href="a.zarr/">a.zarr/</a>' in page
    assert "odd &lt;name&gt; &amp; more.txt" in page
    assert 'href="odd%20%3Cname%3E%20%26%20more.txt"' in page
    assert 'href="q%22uote"' in page
    assert "<name>" not in page


# --------------------------------------------------------------------------------------------
# The package
# --------------------------------------------------------------------------------------------


def test_http_module_needs_no_aiohttp() -> None:
    code = (
        "import sys; sys.modules['aiohttp'] = None\n"
        "import zoomingonline.serve.http as h, zoomingonline.serve as s\n"
        "print(h.plan_range('bytes=0-1', 5), callable(s.serve))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "Plan(status=206, start=0, length=2) True"


def test_serve_is_callable_whichever_object_the_name_holds(tmp_path: Path) -> None:
    """``zoomingonline.serve(...)`` serves, be the name bound to the function or the package."""
    import zoomingonline
    import zoomingonline.serve as package
    from zoomingonline.serve import serve

    assert callable(package)
    assert callable(zoomingonline.serve)
    for call in (package, zoomingonline.serve, serve):
        with pytest.raises(ZoomingOnlineError, match="no such folder"):
            call(tmp_path / "missing", port=0)


def test_the_serve_modules_import_through_the_package_name() -> None:
    """``zoomingonline.serve`` is the package: its modules import by their dotted names."""
    code = (
        "import zoomingonline, zoomingonline.serve.http as h\n"
        "import zoomingonline.serve.runner\n"
        "print(h.__name__, zoomingonline.serve.runner.serve is zoomingonline.serve.serve,"
        " callable(zoomingonline.serve))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["zoomingonline.serve.http", "True", "True"]


def test_a_new_store_is_served_and_a_removed_one_not_within_the_ttl(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "late.zarr").mkdir(parents=True)
    (root / "late.zarr" / "0").write_bytes(b"chunk")
    path = str(root / "late.zarr" / "0")
    assert not http.exposed(str(root), ["late.zarr", "0"], path)
    (root / "late.zarr" / ".zgroup").write_text("{}")  # the store is complete
    time.sleep(http.NODE_TTL + 0.1)
    assert http.exposed(str(root), ["late.zarr", "0"], path)
    (root / "late.zarr" / ".zgroup").unlink()
    time.sleep(http.NODE_TTL + 0.1)
    assert not http.exposed(str(root), ["late.zarr", "0"], path)
