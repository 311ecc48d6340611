"""``zoomingonline serve`` over real HTTP on loopback: CORS, ranges, caching, safety, concurrency.

Each server is started on 127.0.0.1 port 0 in a background thread (or as the command, in
a subprocess) and spoken to with ``http.client`` or raw sockets, so that every header and
every byte of a request line is under the test's control. The viewer's own Zarr library,
zarr.js 0.6 run by node, reads a converted store through this server.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import gzip
import http.client
import importlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import pytest
from click.testing import CliRunner
from test_viewer_compat import (
    I16_GAINS,
    I16_HORIZ,
    I16_OFFSETS,
    I16_PARAMS,
    JS_DIR,
    NODE_TIMEOUT,
    READ_STORE,
    ZERO_CHUNK,
    ZERO_SEGMENT,
    check_read,
    chunk_key,
    int16_source,
    node,  # noqa: F401 - the session fixture that installs zarr.js
    segments,
    write_h5,
)
from zoomingonline.cli import main
from zoomingonline.cli.serve import _is_loopback, _print_banner, serve_command
from zoomingonline.convert import convert
from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.serve import (
    DEFAULT_VIEWER,
    ServerInfo,
    create_app,
    find_stores,
    serve,
    serve_in_thread,
)
from zoomingonline.serve.handler import READ_LIMIT
from zoomingonline.serve.runner import LISTEN_BACKLOG, STOP_BOUND

SECRET = b"TOP SECRET: outside the served folder\n"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "serve.md"
#: The origin of the deployed viewer's pages, which the server lets read by default.
ORIGIN = "https://datamedsci.github.io"
SMALL = bytes(range(256)) * 400  # 102,400 bytes: read and sent in one write
TIMEOUT = 10.0
#: How long a request may take while other clients stall: generous, the server answers in ms.
STALL_BOUND = 2.0


# --------------------------------------------------------------------------------------------
# HTTP helpers
# --------------------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def fetch(
    info: ServerInfo,
    path: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    timeout: float = TIMEOUT,
    origin: str | None = ORIGIN,
) -> Reply:
    """One request, the path sent exactly as given, from a page of ``origin`` (None: no page)."""
    conn = http.client.HTTPConnection("127.0.0.1", info.port, timeout=timeout)
    sent = {"Origin": origin} if origin is not None else {}
    sent.update(headers or {})
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for key, value in sent.items():
            conn.putheader(key, value)
        conn.endheaders()
        response = conn.getresponse()
        body = response.read()
        merged: dict[str, str] = {}
        for key, value in response.getheaders():
            k = key.lower()
            merged[k] = f"{merged[k]}, {value}" if k in merged else value
        return Reply(response.status, merged, body)
    finally:
        conn.close()


def raw_exchange(port: int, request: bytes, timeout: float = TIMEOUT) -> tuple[int, bytes]:
    """Send raw bytes, read until the server closes; the status and everything received."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    match = re.match(rb"HTTP/1\.[01] (\d{3})", received)
    assert match, received[:200]
    return int(match.group(1)), received


def raw_get(port: int, target: bytes) -> tuple[int, bytes]:
    return raw_exchange(
        port,
        b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Origin: " + ORIGIN.encode() + b"\r\n\r\n",
    )


# --------------------------------------------------------------------------------------------
# The served folder
# --------------------------------------------------------------------------------------------


@dataclass
class Site:
    root: Path
    outside: Path
    big: bytes

    @property
    def files(self) -> Path:
        """The store that holds the odd files, the big ones and the symlinks."""
        return self.root / "files.zarr"


#: What lies in the served folder but outside its stores, or hidden: never served.
PRIVATE = {
    ".env": b"AWS_SECRET_ACCESS_KEY=private-env\n",
    ".git/config": b"[remote] url = private-git\n",
    "notes.txt": b"private notes\n",
    "private/data.bin": b"private data\n",
    "runs/2024/plan.txt": b"private plan\n",
    ".rec.zarr.partial-1a2b3c4d/.zgroup": b'{"zarr_format": 2, "private": "partial"}',
    ".rec.zarr.partial-1a2b3c4d/raw/0.0": b"private partial chunk",
    "files.zarr/.hidden": b"private hidden\n",
    "files.zarr/.git/config": b"[remote] url = private-git-in-store\n",
    "files.zarr/raw/.npmrc": b"//registry:_authToken=private-token\n",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """A folder to serve, with stores, odd files and symlinks, beside a folder with a secret.

    Beside the stores lie private files (:data:`PRIVATE`), and inside them dotfiles and
    symlinks to those: none of them may be served.
    """
    base = tmp_path_factory.mktemp("serve")
    root = base / "served"
    outside = base / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_bytes(SECRET)

    files = root / "files.zarr"
    (files / "raw").mkdir(parents=True)
    (files / ".zgroup").write_text('{"zarr_format": 2}')
    (files / "small.bin").write_bytes(SMALL)
    big = os.urandom(16 << 20)  # larger than the kernel buffers of a stalled reader
    (files / "big.bin").write_bytes(big)
    (files / "empty.bin").write_bytes(b"")
    (files / "meta.json").write_bytes(b'{"plain": true}')
    (files / "meta.json.gz").write_bytes(gzip.compress(b'{"precompressed": true}'))
    (files / "odd <name> & more.txt").write_bytes(b"odd")

    store = root / "rec.zarr"
    (store / "raw").mkdir(parents=True)
    (store / ".zgroup").write_text('{"zarr_format": 2}')
    (store / ".zattrs").write_text('{"horiz_interval": 1e-9}')
    (store / "raw" / ".zarray").write_text('{"zarr_format": 2, "shape": [4]}')
    (store / "raw" / "0.0").write_bytes(SMALL[:1000])
    (root / "v3.zarr").mkdir()
    (root / "v3.zarr" / "zarr.json").write_text('{"zarr_format": 3, "node_type": "group"}')
    (files / "sub").mkdir()
    (files / "sub" / "file.txt").write_bytes(b"in sub")
    # A store two folders down, and a folder named like a host, holding a store.
    (root / "runs" / "2024" / "deep.zarr").mkdir(parents=True)
    (root / "runs" / "2024" / "deep.zarr" / ".zgroup").write_text('{"zarr_format": 2}')
    (root / "evil.com" / "x.zarr").mkdir(parents=True)
    (root / "evil.com" / "x.zarr" / ".zgroup").write_text('{"zarr_format": 2}')
    for name, data in PRIVATE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)

    (files / "escape_file").symlink_to(outside / "secret.txt")
    (files / "escape_dir").symlink_to(outside, target_is_directory=True)
    (files / "escape_relative").symlink_to(Path("..") / ".." / "outside" / "secret.txt")
    (files / "inner_link").symlink_to(files / "small.bin")
    (files / "to_notes").symlink_to(root / "notes.txt")  # inside the folder, not a store
    (files / "to_env").symlink_to(Path("..") / ".env")
    (files / "to_private").symlink_to(root / "private", target_is_directory=True)
    (files / "to_partial").symlink_to(root / ".rec.zarr.partial-1a2b3c4d", target_is_directory=True)
    (root / "alias.zarr").symlink_to(store, target_is_directory=True)
    (files / "loop").symlink_to(files / "loop")
    if hasattr(os, "mkfifo"):
        os.mkfifo(files / "fifo")
    return Site(root, outside, big)


@pytest.fixture(scope="module")
def server(site: Site) -> Iterator[ServerInfo]:
    with serve_in_thread(site.root) as info:
        yield info


# --------------------------------------------------------------------------------------------
# GET, HEAD, Content-Type
# --------------------------------------------------------------------------------------------


def test_get_sends_the_file_with_validators_and_cors(server: ServerInfo) -> None:
    reply = fetch(server, "/files.zarr/small.bin")
    assert reply.status == 200
    assert reply.body == SMALL
    assert reply.header("Content-Length") == str(len(SMALL))
    assert reply.header("Content-Type") == "application/octet-stream"
    assert reply.header("Accept-Ranges") == "bytes"
    assert re.fullmatch(r'"[0-9a-f]+-[0-9a-f]+"', reply.header("ETag") or "")
    assert email.utils.parsedate_to_datetime(reply.header("Last-Modified") or "")
    assert reply.header("Access-Control-Allow-Origin") == ORIGIN
    exposed = {
        h.strip().lower() for h in (reply.header("Access-Control-Expose-Headers") or "").split(",")
    }
    assert {"content-length", "content-range", "etag"} <= exposed


def test_big_file_goes_out_whole(server: ServerInfo, site: Site) -> None:
    assert len(site.big) > READ_LIMIT  # the sendfile path
    reply = fetch(server, "/files.zarr/big.bin")
    assert reply.status == 200
    assert reply.header("Content-Length") == str(len(site.big))
    assert reply.body == site.big


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/rec.zarr/.zgroup", "application/json"),
        ("/rec.zarr/.zattrs", "application/json"),
        ("/rec.zarr/raw/.zarray", "application/json"),
        ("/v3.zarr/zarr.json", "application/json"),
        ("/files.zarr/meta.json", "application/json"),
        ("/rec.zarr/raw/0.0", "application/octet-stream"),
        ("/files.zarr/big.bin", "application/octet-stream"),
        ("/files.zarr/meta.json.gz", "application/octet-stream"),
    ],
)
def test_content_type(server: ServerInfo, path: str, kind: str) -> None:
    reply = fetch(server, path, method="HEAD")
    assert reply.status == 200
    assert reply.header("Content-Type") == kind


def test_files_go_out_as_they_are_never_compressed(server: ServerInfo, site: Site) -> None:
    browser = {"Accept-Encoding": "gzip, deflate, br, zstd"}
    # meta.json.gz exists beside meta.json: it must not be sent in its place.
    reply = fetch(server, "/files.zarr/meta.json", headers=browser)
    assert reply.status == 200
    assert reply.header("Content-Encoding") is None
    assert reply.body == b'{"plain": true}'
    reply = fetch(server, "/rec.zarr/raw/0.0", headers=browser)
    assert reply.header("Content-Encoding") is None
    assert reply.body == (site.root / "rec.zarr" / "raw" / "0.0").read_bytes()


@pytest.mark.parametrize(
    "path",
    ["/files.zarr/small.bin", "/files.zarr/big.bin", "/files.zarr/empty.bin", "/rec.zarr/.zgroup"],
)
def test_head_sizes_the_file(server: ServerInfo, site: Site, path: str) -> None:
    size = (site.root / path.lstrip("/")).stat().st_size
    head = fetch(server, path, method="HEAD")
    get = fetch(server, path)
    assert head.status == get.status == 200
    assert head.body == b""
    assert head.header("Content-Length") == get.header("Content-Length") == str(size)
    assert head.header("ETag") == get.header("ETag")
    assert head.header("Last-Modified") == get.header("Last-Modified")
    assert head.header("Access-Control-Allow-Origin") == ORIGIN


def test_head_ignores_range(server: ServerInfo) -> None:
    reply = fetch(server, "/files.zarr/small.bin", method="HEAD", headers={"Range": "bytes=0-9"})
    assert reply.status == 200
    assert reply.header("Content-Length") == str(len(SMALL))


def test_keep_alive_survives_errors(server: ServerInfo) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        for path, want in [
            ("/missing", 404),
            ("/files.zarr/small.bin", 200),
            ("/../x", 403),
            ("/files.zarr/small.bin", 200),
        ]:
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            assert response.status == want, path
            if want == 200:
                assert body == SMALL
    finally:
        conn.close()


def test_concurrent_requests_all_succeed(server: ServerInfo, site: Site) -> None:
    paths = ["/files.zarr/small.bin", "/rec.zarr/raw/0.0", "/rec.zarr/.zgroup", "/missing"] * 16
    want = {
        "/files.zarr/small.bin": SMALL,
        "/rec.zarr/raw/0.0": SMALL[:1000],
        "/rec.zarr/.zgroup": b'{"zarr_format": 2}',
    }
    with ThreadPoolExecutor(32) as pool:
        replies = list(pool.map(lambda p: fetch(server, p), paths))
    for path, reply in zip(paths, replies, strict=True):
        if path in want:
            assert (reply.status, reply.body) == (200, want[path])
        else:
            assert reply.status == 404


# --------------------------------------------------------------------------------------------
# Range
# --------------------------------------------------------------------------------------------


RANGES = [
    ("bytes=0-9", 0, 10),
    ("bytes=10-19", 10, 20),
    ("bytes=0-0", 0, 1),
    ("bytes=-500", len(SMALL) - 500, len(SMALL)),  # suffix
    ("bytes=-1", len(SMALL) - 1, len(SMALL)),
    ("bytes=102390-", 102390, len(SMALL)),  # open
    ("bytes=0-", 0, len(SMALL)),
    ("bytes=102390-999999", 102390, len(SMALL)),  # the end clamped to the size
    ("bytes=-999999", 0, len(SMALL)),  # a suffix longer than the file
    ("BYTES=5-6", 5, 7),  # the unit is case-insensitive
]


@pytest.mark.parametrize(("spec", "start", "stop"), RANGES)
def test_range_is_partial_content(server: ServerInfo, spec: str, start: int, stop: int) -> None:
    reply = fetch(server, "/files.zarr/small.bin", headers={"Range": spec})
    assert reply.status == 206, spec
    assert reply.body == SMALL[start:stop]
    assert reply.header("Content-Range") == f"bytes {start}-{stop - 1}/{len(SMALL)}"
    assert reply.header("Content-Length") == str(stop - start)
    assert reply.header("Access-Control-Allow-Origin") == ORIGIN


@pytest.mark.parametrize(
    ("start", "stop"), [(1000, 1000 + 3 * READ_LIMIT), (0, 1), (5 << 20, 16 << 20)]
)
def test_range_of_a_big_file(server: ServerInfo, site: Site, start: int, stop: int) -> None:
    reply = fetch(server, "/files.zarr/big.bin", headers={"Range": f"bytes={start}-{stop - 1}"})
    assert reply.status == 206
    assert reply.header("Content-Range") == f"bytes {start}-{stop - 1}/{len(site.big)}"
    assert reply.body == site.big[start:stop]


@pytest.mark.parametrize("spec", ["bytes=102400-", "bytes=200000-300000", "bytes=-0"])
def test_unsatisfiable_range_is_416(server: ServerInfo, spec: str) -> None:
    reply = fetch(server, "/files.zarr/small.bin", headers={"Range": spec})
    assert reply.status == 416
    assert reply.header("Content-Range") == f"bytes */{len(SMALL)}"
    assert reply.header("Access-Control-Allow-Origin") == ORIGIN


def test_any_range_of_an_empty_file_is_416(server: ServerInfo) -> None:
    assert fetch(server, "/files.zarr/empty.bin", headers={"Range": "bytes=0-"}).status == 416
    assert fetch(server, "/files.zarr/empty.bin", headers={"Range": "bytes=-5"}).status == 416
    reply = fetch(server, "/files.zarr/empty.bin")
    assert (reply.status, reply.body, reply.header("Content-Length")) == (200, b"", "0")


@pytest.mark.parametrize(
    "spec", ["bytes=0-1,5-6", "items=0-5", "bytes=5-2", "bytes=abc", "bytes=-", "bytes 0-5"]
)
def test_range_a_server_may_ignore_gets_the_whole_file(server: ServerInfo, spec: str) -> None:
    """Several ranges, other units and malformed ranges: 200 with everything (RFC 9110 14.2)."""
    reply = fetch(server, "/files.zarr/small.bin", headers={"Range": spec})
    assert reply.status == 200
    assert reply.body == SMALL
    assert reply.header("Content-Range") is None


# --------------------------------------------------------------------------------------------
# Caching: ETag, Last-Modified, 304, 412, If-Range
# --------------------------------------------------------------------------------------------


def validators(server: ServerInfo, path: str) -> tuple[str, str]:
    reply = fetch(server, path)
    etag, modified = reply.header("ETag"), reply.header("Last-Modified")
    assert etag
    assert modified
    return etag, modified


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_if_none_match_is_304(server: ServerInfo, method: str) -> None:
    etag, modified = validators(server, "/files.zarr/small.bin")
    for value in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        reply = fetch(
            server, "/files.zarr/small.bin", method=method, headers={"If-None-Match": value}
        )
        assert reply.status == 304, value
        assert reply.body == b""
        assert reply.header("ETag") == etag
        assert reply.header("Last-Modified") == modified
        assert reply.header("Access-Control-Allow-Origin") == ORIGIN
    reply = fetch(
        server, "/files.zarr/small.bin", method=method, headers={"If-None-Match": '"other"'}
    )
    assert reply.status == 200


def test_if_modified_since_is_304(server: ServerInfo) -> None:
    _, modified = validators(server, "/files.zarr/small.bin")
    assert (
        fetch(server, "/files.zarr/small.bin", headers={"If-Modified-Since": modified}).status
        == 304
    )
    earlier = email.utils.formatdate(
        email.utils.parsedate_to_datetime(modified).timestamp() - 86400, usegmt=True
    )
    reply = fetch(server, "/files.zarr/small.bin", headers={"If-Modified-Since": earlier})
    assert (reply.status, reply.body) == (200, SMALL)
    # If-None-Match decides when both are sent.
    both = {"If-Modified-Since": modified, "If-None-Match": '"other"'}
    assert fetch(server, "/files.zarr/small.bin", headers=both).status == 200
    assert (
        fetch(server, "/files.zarr/small.bin", headers={"If-Modified-Since": "not a date"}).status
        == 200
    )


def test_if_match_is_412_when_it_fails(server: ServerInfo) -> None:
    etag, modified = validators(server, "/files.zarr/small.bin")
    assert fetch(server, "/files.zarr/small.bin", headers={"If-Match": etag}).status == 200
    reply = fetch(server, "/files.zarr/small.bin", headers={"If-Match": '"other"'})
    assert reply.status == 412
    assert reply.header("Access-Control-Allow-Origin") == ORIGIN
    earlier = email.utils.formatdate(
        email.utils.parsedate_to_datetime(modified).timestamp() - 86400, usegmt=True
    )
    assert (
        fetch(server, "/files.zarr/small.bin", headers={"If-Unmodified-Since": earlier}).status
        == 412
    )
    assert (
        fetch(server, "/files.zarr/small.bin", headers={"If-Unmodified-Since": modified}).status
        == 200
    )


def test_if_range(server: ServerInfo) -> None:
    etag, modified = validators(server, "/files.zarr/small.bin")
    for value, want in [(etag, 206), (modified, 206), ('"stale"', 200), (f"W/{etag}", 200)]:
        reply = fetch(
            server, "/files.zarr/small.bin", headers={"Range": "bytes=0-9", "If-Range": value}
        )
        assert reply.status == want, value
        assert reply.body == (SMALL[:10] if want == 206 else SMALL)


def test_a_changed_file_gets_a_new_etag(server: ServerInfo, site: Site) -> None:
    path = site.files / "changing.bin"
    path.write_bytes(b"one")
    os.utime(path, (1_600_000_000, 1_600_000_000))
    etag, modified = validators(server, "/files.zarr/changing.bin")
    assert fetch(server, "/files.zarr/changing.bin", headers={"If-None-Match": etag}).status == 304
    path.write_bytes(b"two!")
    os.utime(path, (1_700_000_000, 1_700_000_000))
    reply = fetch(server, "/files.zarr/changing.bin", headers={"If-None-Match": etag})
    assert (reply.status, reply.body) == (200, b"two!")
    assert reply.header("ETag") != etag
    assert (
        fetch(server, "/files.zarr/changing.bin", headers={"If-Modified-Since": modified}).status
        == 200
    )


# --------------------------------------------------------------------------------------------
# CORS
# --------------------------------------------------------------------------------------------


def test_preflight_allows_range(server: ServerInfo) -> None:
    reply = fetch(
        server,
        "/rec.zarr/raw/0.0",
        method="OPTIONS",
        headers={
            "Origin": "https://datamedsci.github.io",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "range",
        },
    )
    assert reply.status == 204
    assert reply.header("Access-Control-Allow-Origin") == ORIGIN
    methods = {m.strip() for m in (reply.header("Access-Control-Allow-Methods") or "").split(",")}
    assert {"GET", "HEAD"} <= methods
    assert "range" in (reply.header("Access-Control-Allow-Headers") or "").lower()
    assert int(reply.header("Access-Control-Max-Age") or 0) > 0


def test_preflight_without_requested_headers_still_allows_range(server: ServerInfo) -> None:
    reply = fetch(server, "/missing", method="OPTIONS", origin="http://localhost:5173")
    assert reply.status == 204
    assert reply.header("Access-Control-Allow-Origin") == "http://localhost:5173"
    assert "range" in (reply.header("Access-Control-Allow-Headers") or "").lower()
    assert reply.header("Access-Control-Allow-Private-Network") is None


def test_preflight_allows_a_public_page_to_read_loopback(server: ServerInfo) -> None:
    """Chrome's Private Network Access asks before the hosted viewer reads 127.0.0.1."""
    reply = fetch(
        server,
        "/rec.zarr/.zgroup",
        method="OPTIONS",
        headers={
            "Origin": "https://datamedsci.github.io",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert reply.status == 204
    assert reply.header("Access-Control-Allow-Private-Network") == "true"


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/rec.zarr/.zgroup", {}, 200),
        ("GET", "/files.zarr/small.bin", {"Range": "bytes=0-1"}, 206),
        ("GET", "/rec.zarr/raw/9.9", {}, 404),  # a missing chunk
        ("HEAD", "/rec.zarr/raw/9.9", {}, 404),
        ("GET", "/rec.zarr/", {}, 404),  # no listing
        ("GET", "/%2e%2e/outside/secret.txt", {}, 403),
        ("GET", "/files.zarr/escape_file", {}, 404),
        ("GET", "/files.zarr/small.bin", {"Range": "bytes=999999-"}, 416),
        ("POST", "/files.zarr/small.bin", {"Content-Length": "0"}, 405),
        ("DELETE", "/files.zarr/small.bin", {}, 405),
    ],
)
def test_every_response_has_cors(
    server: ServerInfo, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    reply = fetch(server, path, method=method, headers=headers)
    assert reply.status == status
    assert reply.header("Access-Control-Allow-Origin") == ORIGIN
    assert "ETag" in (reply.header("Access-Control-Expose-Headers") or "")
    assert "Origin" in (reply.header("Vary") or "")
    if status == 405:
        assert set((reply.header("Allow") or "").replace(" ", "").split(",")) == {
            "GET",
            "HEAD",
            "OPTIONS",
        }


#: Pages that may read by default: the deployed viewer and pages on this machine.
ALLOWED_ORIGINS = [
    ORIGIN,
    "http://localhost:8000",
    "http://localhost",
    "http://127.0.0.1:5173",
    "http://[::1]:3000",
]
#: Pages that may not: other sites, look-alikes of the allowed ones, sandboxed pages.
REFUSED_ORIGINS = [
    "https://evil.example",
    "https://datamedsci.github.io.evil.example",
    "https://evil.github.io",
    "http://datamedsci.github.io",  # not https
    "http://localhost.evil.example",
    "http://127.0.0.1.evil.example:8000",
    "http://evil.example#http://localhost:1",
    "https://localhost:8443",  # loopback pages are allowed over http only
    "null",
    "",
]


@pytest.mark.parametrize("origin", ALLOWED_ORIGINS)
def test_allowed_origins_are_echoed(server: ServerInfo, origin: str) -> None:
    for path, status in [
        ("/files.zarr/small.bin", 200),
        ("/rec.zarr/raw/9.9", 404),
        ("/%2e%2e/x", 403),
    ]:
        reply = fetch(server, path, origin=origin)
        assert reply.status == status
        assert reply.header("Access-Control-Allow-Origin") == origin
        assert "Origin" in (reply.header("Vary") or "")
    preflight = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Private-Network": "true",
    }
    reply = fetch(server, "/rec.zarr/.zgroup", method="OPTIONS", headers=preflight, origin=origin)
    assert reply.status == 204
    assert reply.header("Access-Control-Allow-Origin") == origin
    assert reply.header("Access-Control-Allow-Private-Network") == "true"


@pytest.mark.parametrize("origin", REFUSED_ORIGINS)
def test_other_origins_get_no_cors_and_no_private_network(server: ServerInfo, origin: str) -> None:
    """Any other web page: the browser withholds every answer from it, and Chrome's
    Private Network Access keeps it from even sending the request to this loopback server."""
    for path, status in [
        ("/files.zarr/small.bin", 200),
        ("/rec.zarr/.zgroup", 200),
        ("/rec.zarr/raw/9.9", 404),
    ]:
        reply = fetch(server, path, origin=origin)
        assert reply.status == status
        assert reply.header("Access-Control-Allow-Origin") is None
        assert reply.header("Access-Control-Expose-Headers") is None
        assert "Origin" in (reply.header("Vary") or "")  # caches must not share answers
    preflight = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "range",
        "Access-Control-Request-Private-Network": "true",
    }
    reply = fetch(server, "/rec.zarr/.zgroup", method="OPTIONS", headers=preflight, origin=origin)
    assert not [h for h in reply.headers if h.startswith("access-control-")], reply.headers


def test_a_request_without_origin_gets_no_cors(server: ServerInfo) -> None:
    reply = fetch(server, "/rec.zarr/.zgroup", origin=None)
    assert reply.status == 200
    assert reply.header("Access-Control-Allow-Origin") is None


def test_allow_origin_adds_origins(site: Site) -> None:
    other = "https://lab.example:8443"
    with serve_in_thread(site.root, allow_origins=[other, "http://Intranet.Example/"]) as info:
        assert set(info.origins) == {
            ORIGIN,
            "http://intranet.example",  # as browsers send it
            other,
            "http://localhost:*",
            "http://127.0.0.1:*",
            "http://[::1]:*",
        }
        for origin in (other, "http://intranet.example", ORIGIN, "http://localhost:1"):
            for path, status in [("/files.zarr/small.bin", 200), ("/missing", 404)]:
                reply = fetch(info, path, origin=origin)
                assert reply.status == status
                assert reply.header("Access-Control-Allow-Origin") == origin
                assert "Origin" in (reply.header("Vary") or "")
        reply = fetch(info, "/files.zarr/small.bin", method="OPTIONS", origin=other)
        assert reply.header("Access-Control-Allow-Origin") == other
        refused = fetch(info, "/files.zarr/small.bin", origin="https://lab.example")
        assert refused.header("Access-Control-Allow-Origin") is None


def test_a_custom_viewer_may_read(site: Site) -> None:
    viewer = "http://viewer.lab.example:9000/app/"
    with serve_in_thread(site.root, viewer=viewer) as info:
        for origin in ("http://viewer.lab.example:9000", ORIGIN):
            reply = fetch(info, "/rec.zarr/.zgroup", origin=origin)
            assert reply.header("Access-Control-Allow-Origin") == origin
        assert (
            fetch(info, "/rec.zarr/.zgroup", origin="http://viewer.lab.example").header(
                "Access-Control-Allow-Origin"
            )
            is None
        )


def test_allow_origin_star_opens_to_every_page(site: Site) -> None:
    with serve_in_thread(site.root, allow_origins="*") as info:
        assert info.origins == ("*",)
        for origin in ("https://evil.example", ORIGIN, None):
            reply = fetch(info, "/rec.zarr/.zgroup", origin=origin)
            assert reply.header("Access-Control-Allow-Origin") == "*"
        preflight = {"Access-Control-Request-Private-Network": "true"}
        reply = fetch(
            info, "/rec.zarr/.zgroup", "OPTIONS", headers=preflight, origin="https://evil.example"
        )
        assert reply.header("Access-Control-Allow-Private-Network") == "true"
        # Still only the files of stores.
        assert fetch(info, "/.env", origin="https://evil.example").status == 404


def test_create_app_runs_on_aiohttp_runners(site: Site) -> None:
    """The application for other runners answers like the server of ``serve``."""
    from aiohttp import web

    origin = "https://other.example"
    app = create_app(site.root, allow_origins=[origin])
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> web.AppRunner:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return runner

    runner = asyncio.run_coroutine_threadsafe(start(), loop).result()
    try:
        info = ServerInfo(site.root, "127.0.0.1", runner.addresses[0][1], "")
        cases = [
            ("GET", "/files.zarr/small.bin", {}, 200),
            ("GET", "/files.zarr/small.bin", {"Range": "bytes=-10"}, 206),
            ("HEAD", "/files.zarr/big.bin", {}, 200),
            ("GET", "/rec.zarr/raw/9.9", {}, 404),
            ("GET", "/%2e%2e/outside/secret.txt", {}, 403),
            ("OPTIONS", "/files.zarr/small.bin", {"Access-Control-Request-Headers": "range"}, 204),
            ("PUT", "/files.zarr/small.bin", {"Content-Length": "0"}, 405),
        ]
        for method, path, headers, status in cases:
            reply = fetch(info, path, method=method, headers=headers, origin=origin)
            assert reply.status == status, (method, path)
            assert reply.header("Access-Control-Allow-Origin") == origin
            refused = fetch(info, path, method=method, headers=headers, origin="https://x.example")
            assert refused.status == status
            assert refused.header("Access-Control-Allow-Origin") is None
        assert fetch(info, "/.env").status == 404
        assert (
            fetch(info, "/files.zarr/small.bin", headers={"Range": "bytes=-10"}).body == SMALL[-10:]
        )
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def test_a_bug_is_a_500_with_cors(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """Should answering ever fail, the reader sees a 500 it can read, and the server goes on."""
    # The module that decides (the handler looks its functions up there on each request).
    module = importlib.import_module("zoomingonline.serve.http")

    def broken(name: str) -> str:
        raise RuntimeError("a bug")

    with serve_in_thread(site.root) as info:
        monkeypatch.setattr(module, "content_type", broken)
        reply = fetch(info, "/files.zarr/small.bin")
        assert reply.status == 500
        assert reply.header("Access-Control-Allow-Origin") == ORIGIN
        monkeypatch.undo()
        assert fetch(info, "/files.zarr/small.bin").body == SMALL


# --------------------------------------------------------------------------------------------
# Safety
# --------------------------------------------------------------------------------------------


TRAVERSALS = [
    b"/../outside/secret.txt",
    b"/sub/../../outside/secret.txt",
    b"/%2e%2e/outside/secret.txt",
    b"/%2E%2E/outside/secret.txt",
    b"/.%2e/outside/secret.txt",
    b"/sub/%2e%2e%2f%2e%2e%2foutside/secret.txt",
    b"/..%2foutside%2fsecret.txt",
    b"/%2e%2e%2Foutside%2Fsecret.txt",
    b"/..\\outside\\secret.txt",
    b"/sub\\..\\..\\outside\\secret.txt",
    b"/%5c..%5coutside%5csecret.txt",
    b"/..%5coutside%5csecret.txt",
    b"/%c0%ae%c0%ae/outside/secret.txt",  # overlong UTF-8 dots
    b"/files.zarr/small.bin%00",
    b"/files.zarr/small.bin%00.txt",
    b"/%00/../outside/secret.txt",
    b"/./small.bin",
    b"/files.zarr/escape_file",  # symlinks that lead outside
    b"/files.zarr/escape_relative",
    b"/files.zarr/escape_dir/secret.txt",
    b"/files.zarr/escape_dir/",
    b"/files.zarr/loop",  # a symlink loop: missing, not an error
    b"http://127.0.0.1/../outside/secret.txt",  # absolute-form request target
    b"http://127.0.0.1/%2e%2e/outside/secret.txt",
]


@pytest.mark.parametrize("target", TRAVERSALS, ids=lambda t: t.decode())
def test_traversal_and_escaping_symlinks_are_refused(
    server: ServerInfo, site: Site, target: bytes
) -> None:
    status, received = raw_get(server.port, target)
    assert status in (403, 404), received[:300]
    assert SECRET not in received
    assert f"access-control-allow-origin: {ORIGIN}".encode() in received.lower()


def test_absolute_paths_stay_under_the_folder(server: ServerInfo, site: Site) -> None:
    secret = str(site.outside / "secret.txt").encode()
    for target in (b"/" + secret, b"//" + secret.lstrip(b"/"), b"/%2F" + secret.lstrip(b"/")):
        status, received = raw_get(server.port, target)
        assert status in (403, 404), target
        assert SECRET not in received


@pytest.mark.parametrize(
    "target",
    [b"/files.zarr/small.bin\x00", b"/\x00/../outside/secret.txt", b"../outside/secret.txt"],
)
def test_malformed_request_lines_are_refused(server: ServerInfo, target: bytes) -> None:
    """A raw NUL or a relative target is not HTTP: the parser refuses it (400), nothing leaks."""
    status, received = raw_get(server.port, target)
    assert status in (400, 403, 404)
    assert SECRET not in received
    assert SMALL[:64] not in received


def test_symlinks_inside_the_folder_are_followed(server: ServerInfo) -> None:
    assert fetch(server, "/files.zarr/inner_link").body == SMALL
    reply = fetch(server, "/alias.zarr/.zgroup")
    assert (reply.status, reply.body) == (200, b'{"zarr_format": 2}')


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_special_files_are_refused_without_blocking(server: ServerInfo) -> None:
    assert fetch(server, "/files.zarr/fifo", timeout=5).status == 403


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_is_403(server: ServerInfo, site: Site) -> None:
    path = site.files / "locked.bin"
    path.write_bytes(b"locked")
    path.chmod(0)
    try:
        assert fetch(server, "/files.zarr/locked.bin").status == 403
    finally:
        path.chmod(0o600)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/files.zarr/sub",
        "/files.zarr/sub/",
        "/rec.zarr",
        "/rec.zarr/raw/9.9",
        "/files.zarr/small.bin/x",  # a file used as a folder
        "/" + "n" * 300,  # a name too long for the file system
        "/rec.zarr/raw/0.0.gz",
    ],
)
def test_missing_and_folders_are_plain_404(server: ServerInfo, path: str) -> None:
    reply = fetch(server, path)
    assert reply.status == 404
    assert reply.header("Access-Control-Allow-Origin") == ORIGIN
    assert b"<li>" not in reply.body


def listed(page: str) -> list[str]:
    """The link targets of a listing page."""
    return re.findall(r'<a href="([^"]*)">', page)


def test_listing_only_when_asked(site: Site) -> None:
    with serve_in_thread(site.root, listing=True) as info:
        reply = fetch(info, "/")
        assert reply.status == 200
        assert reply.header(
            "Content-Type",
        ).startswith("text/html")  # type: ignore[union-attr]
        # The stores, and the folders leading to them; nothing else.
        assert listed(reply.body.decode()) == [
            "evil.com/",
            "files.zarr/",
            "rec.zarr/",
            "runs/",
            "v3.zarr/",
        ]
        assert reply.header("Access-Control-Allow-Origin") == ORIGIN
        page = fetch(info, "/files.zarr/").body.decode()
        assert 'href="small.bin"' in page
        assert 'href=".zgroup"' in page
        assert "odd &lt;name&gt; &amp; more.txt" in page  # names are escaped
        assert "<name>" not in page
        redirect = fetch(info, "/files.zarr/sub")
        assert redirect.status == 301
        assert redirect.header("Location") == "/files.zarr/sub/"
        assert "file.txt" in fetch(info, "/files.zarr/sub/").body.decode()
        # Listing never opens a way out.
        assert raw_get(info.port, b"/files.zarr/escape_dir/")[0] == 404
        assert raw_get(info.port, b"/%2e%2e/")[0] == 403


def test_binds_loopback_by_default(site: Site) -> None:
    import inspect

    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
    assert inspect.signature(serve_in_thread).parameters["host"].default == "127.0.0.1"
    default_host = next(p for p in serve_command.params if p.name == "host").default
    assert default_host == "127.0.0.1"
    with serve_in_thread(site.root) as info:
        assert info.host == "127.0.0.1"
        assert info.url == f"http://127.0.0.1:{info.port}/"
        other = _non_loopback_address()
        if other is not None:  # the port is closed on the machine's other addresses
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection((other, info.port), timeout=2).close()


def _non_loopback_address() -> str | None:
    """An IPv4 address of this machine that is not loopback, if it has one (no traffic sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


# --------------------------------------------------------------------------------------------
# Stalled clients
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def stalled_clients(port: int, big_path: bytes) -> Iterator[list[socket.socket]]:
    """Connections that stall: silent ones, a half-sent request, a reader that stops reading."""
    socks = []
    try:
        # Open and silent.
        socks += [socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) for _ in range(8)]
        half = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        half.sendall(b"GET /files.zarr/small.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
        socks.append(half)
        for _ in range(2):  # ask for a large file, read a little, then stop reading
            reader = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            reader.settimeout(TIMEOUT)
            reader.connect(("127.0.0.1", port))
            reader.sendall(b"GET " + big_path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert reader.recv(1024).startswith(b"HTTP/1.")
            socks.append(reader)
        yield socks
    finally:
        for s in socks:
            s.close()


def test_stalled_clients_delay_no_other_request(server: ServerInfo, site: Site) -> None:
    with stalled_clients(server.port, b"/files.zarr/big.bin"):
        for path, body in [
            ("/files.zarr/small.bin", SMALL),
            ("/rec.zarr/.zgroup", b'{"zarr_format": 2}'),
        ] * 5:
            began = time.monotonic()
            reply = fetch(server, path, timeout=STALL_BOUND)
            assert reply.status == 200
            assert reply.body == body
            assert time.monotonic() - began < STALL_BOUND
        # A large file too, while the readers above hold theirs half-sent.
        reply = fetch(
            server, "/files.zarr/big.bin", headers={"Range": "bytes=0-999999"}, timeout=STALL_BOUND
        )
        assert reply.body == site.big[:1_000_000]


def test_a_reader_that_goes_away_is_not_an_error(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    """Browsers cancel reads they no longer need: logged as a request, not as a traceback."""
    caplog.set_level(logging.INFO, logger="zoomingonline.access")
    caplog.set_level(logging.DEBUG, logger="aiohttp")
    linger_off = struct.pack("ii", 1, 0)  # close with a reset, at once
    with serve_in_thread(site.root) as info:
        for path in (b"/files.zarr/big.bin", b"/files.zarr/small.bin"):
            with socket.create_connection(("127.0.0.1", info.port), timeout=TIMEOUT) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                assert s.recv(100).startswith(b"HTTP/1.1 200")
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger_off)
        assert fetch(info, "/files.zarr/small.bin").body == SMALL
        deadline = time.monotonic() + STALL_BOUND
        while time.monotonic() < deadline:  # until the server has logged the cut reads
            logged = [r.getMessage() for r in caplog.records if r.name == "zoomingonline.access"]
            if (
                sum(
                    '"GET /files.zarr/big.bin' in m or '"GET /files.zarr/small.bin' in m
                    for m in logged
                )
                >= 3
            ):
                break
            time.sleep(0.05)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


class _OriginalHandler(SimpleHTTPRequestHandler):
    """The original server: SimpleHTTPRequestHandler plus the CORS header, one request at a time."""

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_stalled_client_blocks_the_original_server(site: Site) -> None:
    """The control for the test above: the same stall freezes a one-request-at-a-time server."""
    handler = partial(_OriginalHandler, directory=str(site.root))
    with socketserver.TCPServer(("127.0.0.1", 0), handler) as original:
        thread = threading.Thread(target=original.serve_forever, daemon=True)
        thread.start()
        port = original.server_address[1]
        try:
            silent = socket.create_connection(("127.0.0.1", port))
            time.sleep(0.2)  # let the server pick it up and wait on it
            info = ServerInfo(site.root, "127.0.0.1", port, "")
            with pytest.raises(TimeoutError):
                fetch(info, "/files.zarr/small.bin", timeout=1.0)
            silent.close()
        finally:
            original.shutdown()
            thread.join(timeout=TIMEOUT)


# --------------------------------------------------------------------------------------------
# Stores, start-up, errors, the command
# --------------------------------------------------------------------------------------------


def test_find_stores(tmp_path: Path) -> None:
    def make(path: Path, name: str = ".zgroup") -> None:
        path.mkdir(parents=True, exist_ok=True)
        (path / name).write_text("{}")

    make(tmp_path / "a.zarr")
    make(tmp_path / "a.zarr" / "overview")  # a group inside a store: not a store of its own
    make(tmp_path / "runs" / "2024" / "my run.zarr")
    make(tmp_path / "v3", "zarr.json")
    make(tmp_path / ".a.zarr.partial-1234")  # a conversion in progress
    make(tmp_path / "deep" / "1" / "2" / "3" / "4" / "x.zarr")  # beyond the search depth
    (tmp_path / "linked.zarr").symlink_to(tmp_path / "a.zarr", target_is_directory=True)
    (tmp_path / "plain").mkdir()

    stores = find_stores(tmp_path, "http://127.0.0.1:8123/", "https://viewer.example/")
    assert [s.path for s in stores] == ["a.zarr", "runs/2024/my run.zarr", "v3"]
    assert stores[1].url == "http://127.0.0.1:8123/runs/2024/my%20run.zarr"
    assert stores[0].viewer == "https://viewer.example/?data=http://127.0.0.1:8123/a.zarr"

    (only,) = find_stores(tmp_path / "a.zarr", "http://127.0.0.1:8123")
    assert (only.path, only.url) == (".", "http://127.0.0.1:8123/")
    assert only.viewer.startswith(DEFAULT_VIEWER + "?data=")
    assert find_stores(tmp_path / "plain") == []


def test_server_info_lists_the_stores(server: ServerInfo) -> None:
    paths = [s.path for s in server.stores]
    assert paths == ["evil.com/x.zarr", "files.zarr", "rec.zarr", "runs/2024/deep.zarr", "v3.zarr"]
    rec = server.stores[2]
    assert rec.url == f"http://127.0.0.1:{server.port}/rec.zarr"
    assert rec.viewer == f"{DEFAULT_VIEWER}?data={rec.url}"
    assert fetch(server, urlsplit(rec.url).path + "/.zgroup").status == 200


def test_access_log(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    with (
        caplog.at_level(logging.INFO, logger="zoomingonline.access"),
        serve_in_thread(site.root) as info,
    ):
        fetch(info, "/files.zarr/small.bin")
        fetch(info, "/missing")
    lines = [r.getMessage() for r in caplog.records if r.name == "zoomingonline.access"]
    assert any('"GET /files.zarr/small.bin HTTP/1.1" 200' in line for line in lines), lines
    assert any('"GET /missing HTTP/1.1" 404' in line for line in lines), lines


def test_not_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ZoomingOnlineError, match="no such folder"):
        create_app(tmp_path / "nope")
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(ZoomingOnlineError, match="not a folder"):
        create_app(tmp_path / "file")


def test_missing_aiohttp_says_what_to_install(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aiohttp", None)  # import aiohttp now fails
    with pytest.raises(ZoomingOnlineError, match=re.escape("pip install 'zoomingonline[serve]'")):
        create_app(site.root)


@contextlib.contextmanager
def busy_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_busy_port_is_one_clear_error(site: Site) -> None:
    with busy_port() as port:
        with pytest.raises(
            ZoomingOnlineError, match=f"127.0.0.1:{port}: the port is already in use"
        ):
            serve(site.root, port=port)
        with (
            pytest.raises(ZoomingOnlineError, match="already in use"),
            serve_in_thread(site.root, port=port),
        ):
            pass
        result = CliRunner().invoke(main, ["serve", str(site.root), "--port", str(port)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: cannot listen on 127.0.0.1:{port}: the port is already in use;"
        " stop the other server or choose another with --port"
    ]


def test_unknown_address_is_one_clear_error(site: Site) -> None:
    not_here = "192.0.2.1"  # TEST-NET-1: no machine has it
    with (
        pytest.raises(ZoomingOnlineError, match=f"cannot listen on {not_here}:0: no such address"),
        serve_in_thread(site.root, host=not_here),
    ):
        pass


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_runs_until_ctrl_c(site: Site, workers: int) -> None:
    """The blocking ``serve()``: ready once listening, a clean return on SIGINT."""
    before = signal.getsignal(signal.SIGINT)
    # Children that other tests left to this process (multiprocessing's resource tracker,
    # say) are not the server's.
    others = set(children_of(os.getpid())) if Path("/proc").is_dir() else set()
    seen: dict[str, object] = {}

    def ready(info: ServerInfo) -> None:
        def client() -> None:
            paths = ["/files.zarr/small.bin"] * 40
            with ThreadPoolExecutor(8) as pool:
                seen["replies"] = list(pool.map(lambda p: fetch(info, p), paths))
            seen["children"] = set(children_of(os.getpid())) - others
            os.kill(os.getpid(), signal.SIGINT)

        seen["info"] = info
        threading.Thread(target=client, daemon=True).start()

    serve(site.root, port=0, workers=workers, ready=ready)
    replies = seen["replies"]
    assert isinstance(replies, list)
    assert all((r.status, r.body) == (200, SMALL) for r in replies)
    info = seen["info"]
    assert isinstance(info, ServerInfo)
    assert info.workers == workers
    if Path("/proc").is_dir():
        assert len(seen["children"]) == workers - 1  # type: ignore[arg-type]
        # The workers are gone with the server.
        assert set(children_of(os.getpid())) - others == set()
    assert signal.getsignal(signal.SIGINT) is before  # the handler is given back


def is_running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie (one that exited and awaits its reaping)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def children_of(pid: int) -> list[int]:
    """Live child processes of ``pid`` (from /proc; empty where there is none)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),  # noqa: S104 - a name, not a bind
        ("", False),
        ("192.168.1.20", False),
        ("example.org", False),
    ],
)
def test_cli_knows_loopback(host: str, loopback: bool) -> None:
    assert _is_loopback(host) is loopback


def test_cli_banner_without_stores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _print_banner(ServerInfo(tmp_path, "127.0.0.1", 8000, "http://127.0.0.1:8000/"))
    out = capsys.readouterr().out
    assert out.splitlines() == [
        f"Serving {tmp_path} at http://127.0.0.1:8000/ (Ctrl-C to stop)",
        "  no stores found (folders with .zgroup or zarr.json)",
    ]


def test_negative_workers_is_a_clear_error(site: Site) -> None:
    with pytest.raises(ZoomingOnlineError, match="workers must be 0"):
        serve(site.root, port=0, workers=-1)


def test_cli_missing_folder_is_one_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", str(tmp_path / "nope"), "--port", "0"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: cannot serve {tmp_path / 'nope'}: no such folder"
    ]


def test_cli_help() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--port", "--host", "--allow-origin", "--list", "--viewer", "--quiet"):
        assert option in result.output


@contextlib.contextmanager
def running_command(*args: str) -> Iterator[tuple[subprocess.Popen[str], str, list[str]]]:
    """``zoomingonline serve`` in a subprocess.

    Yields the process, its base URL and a list that receives, once the process has
    ended, everything it wrote to stdout and stderr.
    """
    code = "import sys; from zoomingonline.cli import main; main(['serve', *sys.argv[1:]])"
    proc = subprocess.Popen(
        [sys.executable, "-u", "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    outputs: list[str] = []
    try:
        first = proc.stdout.readline()
        match = re.match(r"Serving .* at (http://127\.0\.0\.1:\d+/) \(Ctrl-C to stop\)", first)
        assert match, f"no start line: {first!r}"
        yield proc, match.group(1), outputs
        proc.wait(timeout=15)
    finally:
        if proc.poll() is None:  # a failed test: no worker may keep the pipes open
            for pid in children_of(proc.pid):
                os.kill(pid, signal.SIGKILL)
            proc.kill()
            proc.wait()
        # The rest of stdout after the first line, buffered or not, then stderr.
        outputs += [first + proc.stdout.read(), proc.stderr.read()]
        proc.stdout.close()
        proc.stderr.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_cli_serves_prints_links_and_stops_cleanly(site: Site, sig: signal.Signals) -> None:
    viewer = "https://viewer.example/app/"
    args = (str(site.root), "--port", "0", "--viewer", viewer)
    with running_command(*args) as (proc, base, outputs):
        port = int(urlsplit(base).port or 0)
        info = ServerInfo(site.root, "127.0.0.1", port, base)
        assert fetch(info, "/rec.zarr/.zgroup").status == 200
        assert fetch(info, "/missing").status == 404
        # Clients that stall must not hold the shutdown.
        with stalled_clients(port, b"/files.zarr/big.bin"):
            proc.send_signal(sig)
            proc.wait(timeout=15)
    out, err = outputs
    assert proc.returncode == 0, err
    assert f"    data: {base}rec.zarr\n    view: {viewer}?data={base}rec.zarr" in out
    assert f"{base}v3.zarr" in out
    assert out.rstrip().endswith("Stopped.")
    assert '"GET /rec.zarr/.zgroup HTTP/1.1" 200' in err
    assert '"GET /missing HTTP/1.1" 404' in err
    assert "Traceback" not in err


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="counts processes in /proc")
def test_cli_workers_share_the_port_and_stop_together(site: Site) -> None:
    with running_command(str(site.root), "--port", "0", "--workers", "3") as (
        proc,
        base,
        outputs,
    ):
        info = ServerInfo(site.root, "127.0.0.1", int(urlsplit(base).port or 0), base)
        deadline = time.monotonic() + 10
        while len(workers := children_of(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(workers) == 2
        paths = ["/files.zarr/small.bin", "/rec.zarr/raw/0.0", "/missing", "/%2e%2e/x"] * 25
        with ThreadPoolExecutor(16) as pool:
            replies = list(pool.map(lambda p: fetch(info, p), paths))
        assert [r.status for r in replies] == [200, 200, 404, 403] * 25
        assert all(r.header("Access-Control-Allow-Origin") == ORIGIN for r in replies)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
    out, err = outputs
    assert proc.returncode == 0, err
    assert out.rstrip().endswith("Stopped.")
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]  # reaped
    assert (
        err.count('"GET /files.zarr/small.bin HTTP/1.1" 200') == 25
    )  # access log of every process
    assert "Traceback" not in err


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="counts processes in /proc")
def test_workers_of_a_killed_server_exit(site: Site) -> None:
    """Orphaned workers (the server was killed outright) stop and free the port."""
    with running_command(str(site.root), "--port", "0", "--workers", "2", "-q") as (
        proc,
        base,
        _,
    ):
        deadline = time.monotonic() + 10
        while not (workers := children_of(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(workers) == 1
        proc.kill()
        proc.wait(timeout=15)
        deadline = time.monotonic() + 10
        while is_running(workers[0]) and time.monotonic() < deadline:
            time.sleep(0.1)
        orphan_ran_on = is_running(workers[0])
        if orphan_ran_on:  # free the pipes it holds, then fail
            os.kill(workers[0], signal.SIGKILL)
        assert not orphan_ran_on
        port = int(urlsplit(base).port or 0)
        with socket.socket() as s:  # the port is free again
            s.bind(("127.0.0.1", port))


def test_cli_warns_when_not_on_loopback(site: Site) -> None:
    everywhere = "0.0.0.0"  # noqa: S104 - what the test is about
    with running_command(str(site.root), "--port", "0", "--host", everywhere, "-q") as (
        proc,
        _,
        outputs,
    ):
        proc.send_signal(signal.SIGINT)
    out, err = outputs
    assert "warning: listening on 0.0.0.0" in out
    assert proc.returncode == 0
    assert err == ""  # --quiet: no access log


# --------------------------------------------------------------------------------------------
# zarr.js, the viewer's Zarr library, reads a store through this server
# --------------------------------------------------------------------------------------------


def read_as_the_viewer(node_path: str, url: str, spec: dict[str, Any]) -> dict[str, Any]:
    """``read_store.mjs`` on the store at ``url``, its requests sent from the viewer's origin."""
    preload = (JS_DIR / "viewer_origin.mjs").as_uri()
    proc = subprocess.run(
        [node_path, "--import", preload, str(READ_STORE), url, json.dumps(spec)],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        check=False,
        env={**os.environ, "VIEWER_ORIGIN": ORIGIN},
    )
    assert proc.returncode == 0, f"read_store.mjs failed:\n{proc.stderr}"
    return json.loads(proc.stdout)


def test_zarrjs_reads_a_store_through_the_server(
    node: str,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    src = int16_source()
    h5 = write_h5(
        tmp_path / "rec16.h5",
        src,
        {"horiz_interval": I16_HORIZ},
        vertical_gain=I16_GAINS,
        vertical_offset=I16_OFFSETS,
    )
    root = tmp_path / "served"
    root.mkdir()
    store = root / "rec16.zarr"
    convert(h5, store, **I16_PARAMS)
    missing = chunk_key(store, "raw", (*ZERO_SEGMENT, ZERO_CHUNK))
    (store / missing).unlink(missing_ok=True)  # read as the fill value after a 404

    n = src.shape[3]
    chunk = I16_PARAMS["raw_chunk"]
    raw_reads = []
    for index in segments(src.shape):
        raw_reads += [
            {"index": index, "start": 0, "stop": chunk},
            {"index": index, "start": 150, "stop": 420},
            {"index": index, "start": n // chunk * chunk, "stop": n},
        ]
    raw_reads.append({"index": [*ZERO_SEGMENT], "start": 0, "stop": n})
    overview_reads = [
        {"path": path, "index": index}
        for path in ("overview/0", "overview/3")
        for index in segments(src.shape)
    ]
    with serve_in_thread(root) as info:
        (link,) = info.stores
        got = read_as_the_viewer(node, link.url, {"raw": raw_reads, "overview": overview_reads})
    assert got["zarr_version"].startswith("0.6.")
    # Every answer let the viewer's page read it: its origin echoed, not "*" (which
    # check_read expects of the static server of test_viewer_compat).
    assert all(r["cors"] == ORIGIN for r in got["requests"]), got["requests"]
    as_static = [{**r, "cors": "*" if r["cors"] == ORIGIN else r["cors"]} for r in got["requests"]]
    check_read(
        {**got, "requests": as_static},
        src,
        I16_PARAMS,
        I16_GAINS,
        I16_OFFSETS,
        I16_HORIZ,
        "Int16Array",
        "<i2",
    )
    # The missing chunk was a 404 for each read that touched it, and nothing else was.
    lo, hi = ZERO_CHUNK * chunk, (ZERO_CHUNK + 1) * chunk
    touching = [
        r for r in raw_reads if r["index"] == [*ZERO_SEGMENT] and r["start"] < hi and r["stop"] > lo
    ]
    not_found = [urlsplit(r["url"]).path for r in got["requests"] if r["status"] == 404]
    assert not_found == [f"/rec16.zarr/{missing}"] * len(touching)
    assert {r["status"] for r in got["requests"]} == {200, 404}


def test_serve_module_has_no_aiohttp_at_import() -> None:
    """``import zoomingonline.serve`` stays light: aiohttp is imported when a server starts."""
    code = "import sys, zoomingonline.serve; print('aiohttp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------------------------
# Least privilege: only the files of stores, only to the viewer and this machine's pages
# --------------------------------------------------------------------------------------------

#: Symlinks inside a store to what is not to be served.
LINKS_OUT_OF_STORES = [
    "/files.zarr/to_notes",
    "/files.zarr/to_env",
    "/files.zarr/to_private/data.bin",
    "/files.zarr/to_partial/.zgroup",
    "/files.zarr/to_partial/raw/0.0",
]


@pytest.mark.parametrize("listing", [False, True], ids=["plain", "with-list"])
@pytest.mark.parametrize("path", ["/" + quote(name) for name in PRIVATE] + LINKS_OUT_OF_STORES)
def test_only_the_files_of_stores_are_served(site: Site, path: str, listing: bool) -> None:
    """Dotfiles, files beside the stores and stores still being written are as good as missing,
    for the viewer's page as for any other, with or without listings."""
    with serve_in_thread(site.root, listing=listing) as info:
        for method in ("GET", "HEAD"):
            reply = fetch(info, path, method=method)
            assert reply.status == 404, (method, path)
            assert b"private" not in reply.body
        # Not through a different spelling of the path either.
        assert fetch(info, path.replace("/", "//")).status == 404
        assert fetch(info, path + "/").status == 404


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/files.zarr/.zgroup", b'{"zarr_format": 2}'),  # Zarr's own dotfiles are served
        ("/rec.zarr/.zattrs", b'{"horiz_interval": 1e-9}'),
        ("/rec.zarr/raw/.zarray", b'{"zarr_format": 2, "shape": [4]}'),
        ("/v3.zarr/zarr.json", b'{"zarr_format": 3, "node_type": "group"}'),
        ("/files.zarr/sub/file.txt", b"in sub"),  # anything inside a store
        ("/runs/2024/deep.zarr/.zgroup", b'{"zarr_format": 2}'),
        ("/alias.zarr/raw/0.0", SMALL[:1000]),  # a symlinked store inside the folder
    ],
)
def test_the_files_of_stores_are_served(server: ServerInfo, path: str, body: bytes) -> None:
    reply = fetch(server, path)
    assert (reply.status, reply.body) == (200, body)


def test_a_store_being_written_is_not_served_even_when_asked_for(site: Site) -> None:
    partial = site.root / ".rec.zarr.partial-1a2b3c4d"
    result = run_command(str(partial), "--port", "0")
    assert result.returncode == 1
    assert result.lines == [f"Error: cannot serve {partial}: it is a store still being written"]


@pytest.mark.parametrize(
    ("path", "entries"),
    [
        ("/runs/", ["2024/"]),  # folders leading to a store
        ("/runs/2024/", ["deep.zarr/"]),
        ("/evil.com/", ["x.zarr/"]),
        ("/files.zarr/raw/", []),  # inside a store: no dotfile but Zarr's own
        ("/rec.zarr/", [".zattrs", ".zgroup", "raw/"]),
    ],
)
def test_listings_show_stores_and_the_folders_leading_to_them(
    site: Site, path: str, entries: list[str]
) -> None:
    with serve_in_thread(site.root, listing=True) as info:
        reply = fetch(info, path)
        assert reply.status == 200
        assert listed(reply.body.decode()) == entries


def test_a_store_listing_hides_dotfiles_and_partial_stores(site: Site) -> None:
    with serve_in_thread(site.root, listing=True) as info:
        names = listed(fetch(info, "/files.zarr/").body.decode())
    assert ".zgroup" in names
    assert "sub/" in names
    assert ".hidden" not in names
    assert ".git/" not in names


@pytest.mark.parametrize(
    "path",
    [
        "/private/",
        "/.git/",
        "/.rec.zarr.partial-1a2b3c4d/",
        "/.rec.zarr.partial-1a2b3c4d/raw/",
        "/files.zarr/.git/",
        "/files.zarr/to_private/",  # a symlink out of the store
        "/files.zarr/to_partial/",
        "/files.zarr/escape_dir/",
    ],
)
def test_listings_of_other_folders_are_missing(site: Site, path: str) -> None:
    with serve_in_thread(site.root, listing=True) as info:
        reply = fetch(info, path)
        assert reply.status == 404
        assert b"<li>" not in reply.body
        assert fetch(info, path.rstrip("/")).status == 404  # no redirect to them either


@pytest.mark.parametrize(
    ("target", "location"),
    [
        (b"//evil.com", "/evil.com/"),
        (b"///evil.com", "/evil.com/"),
        (b"//evil.com//x.zarr", "/evil.com/x.zarr/"),
        (b"/evil.com", "/evil.com/"),
    ],
)
def test_listing_redirects_stay_on_this_server(site: Site, target: bytes, location: str) -> None:
    """``//evil.com`` names the folder evil.com here: its listing is at ``/evil.com/``, and
    the redirect must not say ``//evil.com/``, which a browser follows to another site."""
    with serve_in_thread(site.root, listing=True) as info:
        status, received = raw_get(info.port, target)
        assert status == 301
        head = received.split(b"\r\n\r\n", 1)[0].decode()
        (sent,) = re.findall(r"(?im)^location: ([^\r\n]*)", head)
        assert sent == location
        assert urlsplit(urljoin(info.url, sent)).netloc == f"127.0.0.1:{info.port}"
        assert fetch(info, location).status == 200


HUGE = "9" * 4400  # more digits than Python converts to an int, fewer than aiohttp's header limit


@pytest.mark.parametrize(
    ("spec", "status", "length"),
    [
        (f"bytes={HUGE}-", 416, None),
        (f"bytes={HUGE[:3000]}-{HUGE}", 416, None),
        (f"bytes={HUGE}-{HUGE[:3000]}", 200, len(SMALL)),  # ends before it starts: ignored
        (f"bytes=0{HUGE}-", 416, None),
        (f"bytes=0-{HUGE}", 206, len(SMALL)),  # to the end
        (f"bytes=-{HUGE}", 206, len(SMALL)),  # a suffix longer than the file: all of it
        (f"bytes={'0' * 4400}5-6", 206, 2),  # leading zeros are no number's size
    ],
)
def test_ranges_of_thousands_of_digits_are_answered(
    server: ServerInfo, caplog: pytest.LogCaptureFixture, spec: str, status: int, length: int
) -> None:
    caplog.set_level(logging.DEBUG)
    reply = fetch(server, "/files.zarr/small.bin", headers={"Range": spec})
    assert reply.status == status
    if status == 416:
        assert reply.header("Content-Range") == f"bytes */{len(SMALL)}"
    else:
        assert len(reply.body) == length
    assert reply.header("Access-Control-Allow-Origin") == ORIGIN
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage()[:200] for r in errors]


def listen_backlog(port: int) -> int:
    """The backlog of the socket listening on ``port``, as ``ss`` reports it (its Send-Q)."""
    out = subprocess.run(
        ["ss", "-ltnH", "sport", "=", f":{port}"], capture_output=True, text=True, check=True
    ).stdout
    (line,) = out.splitlines()
    return int(line.split()[2])


def expected_backlog() -> int:
    somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text())
    if somaxconn <= 128:
        pytest.skip(f"net.core.somaxconn is {somaxconn}: the kernel caps every backlog at it")
    return min(LISTEN_BACKLOG, somaxconn)


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2) to read the backlog")
def test_the_listen_backlog_is_the_one_asked_for(site: Site) -> None:
    want = expected_backlog()
    with serve_in_thread(site.root) as info:
        assert listen_backlog(info.port) == want
    # The command with workers, which listen on the same socket again.
    with running_command(str(site.root), "--port", "0", "--workers", "2", "-q") as (
        proc,
        base,
        _,
    ):
        deadline = time.monotonic() + 10
        while not children_of(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        port = int(urlsplit(base).port or 0)
        info = ServerInfo(site.root, "127.0.0.1", port, base)
        # Answers from both processes mean both have listened.
        with ThreadPoolExecutor(8) as pool:
            assert {
                r.status for r in pool.map(lambda _: fetch(info, "/rec.zarr/.zgroup"), range(40))
            } == {200}
        assert listen_backlog(port) == want
        proc.send_signal(signal.SIGINT)


@contextlib.contextmanager
def stalled_reader(port: int, path: bytes) -> Iterator[socket.socket]:
    """A client that asks for all of a large file, takes the first bytes, and reads no more."""
    reader = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        reader.settimeout(TIMEOUT)
        reader.connect(("127.0.0.1", port))
        reader.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=0-\r\n\r\n")
        assert reader.recv(1024).startswith(b"HTTP/1.1 206")
        yield reader
    finally:
        reader.close()


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_stop_with_a_stalled_reader_keeps_the_documented_bound(
    site: Site, sig: signal.Signals, workers: str
) -> None:
    """docs/serve.md: stopped within 2 seconds, ``Stopped.`` the one line, exit status 0."""
    with running_command(str(site.root), "--port", "0", "--workers", workers, "-q") as (
        proc,
        base,
        outputs,
    ):
        port = int(urlsplit(base).port or 0)
        with (
            stalled_reader(port, b"/files.zarr/big.bin"),
            stalled_reader(port, b"/files.zarr/big.bin"),
        ):
            time.sleep(0.2)  # the server is blocked on them
            began = time.monotonic()
            proc.send_signal(sig)
            proc.wait(timeout=15)
            took = time.monotonic() - began
    out, err = outputs
    assert took < STOP_BOUND, f"stopped in {took:.2f} s"
    assert f"within {STOP_BOUND:g} seconds" in DOCS.read_text()
    assert proc.returncode == 0
    assert out.splitlines()[-1] == "Stopped."
    assert out.count("Stopped.") == 1
    assert err == ""  # -q: no access log, and no traceback or warning


@dataclass
class Ran:
    returncode: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return (self.out + self.err).splitlines()


def run_command(*args: str, prefix: tuple[str, ...] = ()) -> Ran:
    """``zoomingonline serve ARGS`` to its end (killed after 20 s: it should not serve)."""
    code = "import sys; from zoomingonline.cli import main; main(['serve', *sys.argv[1:]])"
    proc = subprocess.run(
        [*prefix, sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    return Ran(proc.returncode, proc.stdout, proc.stderr)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--port", "70000"], "Error: port must be a number from 0 to 65535, not 70000"),
        (["--port", "-1"], "Error: port must be a number from 0 to 65535, not -1"),
        (["--workers", "-2"], "Error: workers must be 0 (one per core) or more, not -2"),
    ],
)
def test_bad_numbers_are_one_error_line(site: Site, args: list[str], error: str) -> None:
    result = CliRunner().invoke(main, ["serve", str(site.root), *args])
    assert result.exit_code == 1
    assert result.output.splitlines() == [error]


@pytest.mark.parametrize(
    ("origin", "error"),
    [
        (
            "https://example.org/path",
            "Error: --allow-origin 'https://example.org/path' is not an origin: give"
            " scheme://host[:port] (such as https://example.org) or '*'",
        ),
        ("ftp://example.org", "Error: --allow-origin 'ftp://example.org' is not an origin"),
        ("null", "Error: --allow-origin 'null' is not an origin"),
    ],
)
def test_a_bad_origin_is_one_error_line(site: Site, origin: str, error: str) -> None:
    """In a subprocess: the command before this rule served with any value, until killed."""
    result = run_command(
        str(site.root), "--port", "0", "--allow-origin", "*", "--allow-origin", origin
    )
    assert result.returncode == 1
    (line,) = result.lines
    assert line.startswith(error)


def test_a_folder_that_is_not_one_is_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "file.zarr").write_bytes(b"")
    for path, why in [
        (tmp_path / "file.zarr", "not a folder"),
        (tmp_path / "missing", "no such folder"),
    ]:
        result = CliRunner().invoke(main, ["serve", str(path), "--port", "0"])
        assert result.exit_code == 1
        assert result.output.splitlines() == [f"Error: cannot serve {path}: {why}"]


def test_an_unreadable_folder_is_one_error_line(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    (locked / "a.zarr").mkdir(parents=True)
    locked.chmod(0)
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:  # root reads anything: run it without that privilege
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root, and no setpriv to drop the right to read any folder")
        prefix = (setpriv, "--bounding-set=-dac_override,-dac_read_search")
    try:
        result = run_command(str(locked), "--port", "0", prefix=prefix)
    finally:
        locked.chmod(0o700)
    assert result.returncode == 1
    assert result.lines == [f"Error: cannot serve {locked}: the folder is not readable"]


def test_cli_allow_origin_star_warns_and_opens(site: Site) -> None:
    with running_command(str(site.root), "--port", "0", "--allow-origin", "*", "-q") as (
        proc,
        base,
        outputs,
    ):
        info = ServerInfo(site.root, "127.0.0.1", int(urlsplit(base).port or 0), base)
        reply = fetch(info, "/rec.zarr/.zgroup", origin="https://evil.example")
        assert reply.header("Access-Control-Allow-Origin") == "*"
        assert fetch(info, "/.env").status == 404
        proc.send_signal(signal.SIGINT)
    out, _ = outputs
    warnings = [line for line in out.splitlines() if "warning" in line]
    assert warnings == [
        "  warning: --allow-origin '*': any web page you visit can read these stores"
    ]


def test_cli_allow_origin_repeats(site: Site) -> None:
    args = ["--allow-origin", "https://a.example", "--allow-origin", "http://b.example:81"]
    with running_command(str(site.root), "--port", "0", "-q", *args) as (proc, base, outputs):
        info = ServerInfo(site.root, "127.0.0.1", int(urlsplit(base).port or 0), base)
        for origin in ("https://a.example", "http://b.example:81", ORIGIN):
            reply = fetch(info, "/rec.zarr/.zgroup", origin=origin)
            assert reply.header("Access-Control-Allow-Origin") == origin
        reply = fetch(info, "/rec.zarr/.zgroup", origin="https://c.example")
        assert reply.header("Access-Control-Allow-Origin") is None
        proc.send_signal(signal.SIGINT)
    assert "warning" not in outputs[0]


def test_cli_help_says_the_defaults() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for said in (
        "only the files of Zarr stores",
        "no dotfile but Zarr's metadata",
        "no store being written",
        "https://datamedsci.github.io",
        "http://localhost:*, http://127.0.0.1:*, http://[::1]:*",
        "--allow-origin ORIGIN",
        "'*' lets every web page read them",
        "within 2 seconds",
    ):
        assert said in text, said
