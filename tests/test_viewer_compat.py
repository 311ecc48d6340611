"""The web viewer's own Zarr library, zarr.js 0.6 run by node, reads converted stores exactly.

A store made by :func:`zoomingonline.convert.convert` is served by a small static HTTP server that
sends CORS headers, as the store would be hosted for the deployed ZoomingOnline viewer.
``tests/js/read_store.mjs`` opens it with zarr.js the way the viewer does (``openGroup`` on an
``HTTPStore``, the arrays ``raw`` and ``overview/0``, the group attributes) and prints what
it read; every value is compared with numpy computed from the source array.

node_modules is installed with ``npm ci`` in tests/js when it is missing. The tests are
skipped only when node is not on PATH or that installation is impossible (no npm, offline).
"""

from __future__ import annotations

import http.client
import itertools
import json
import math
import shutil
import subprocess
import threading
from collections.abc import Iterator
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import h5py
import numpy as np
import numpy.typing as npt
import pytest
from reference import reference_level
from zoomingonline import convert

JS_DIR = Path(__file__).resolve().parent / "js"
READ_STORE = JS_DIR / "read_store.mjs"
ZARR_PACKAGE = JS_DIR / "node_modules" / "zarr" / "package.json"
NPM_TIMEOUT = 600
NODE_TIMEOUT = 120

# int16 store: several raw chunks and overview levels; N is a multiple of neither the raw
# chunk nor any bin, so the last chunk and the last bin of every level are partial.
I16_SHAPE = (2, 2, 3, 1003)
I16_PARAMS = {"raw_chunk": 100, "target": 20, "min_bin": 8, "factor": 2}
I16_GAINS = np.array([[0.0025, 0.001], [3.0e-5, 7.8125e-3]])
I16_OFFSETS = np.array([[-0.5, 0.125], [0.0, 1.0e-3]])
I16_HORIZ = 2.5e-10
# An all-zero (fill value) region spanning exactly one raw chunk: raw chunk 2 of (1, 1, 2).
ZERO_SEGMENT = (1, 1, 2)
ZERO_CHUNK = 2

# float32 store, with NaN, infinities and a bin of only NaN.
F32_SHAPE = (1, 2, 2, 777)
F32_PARAMS = {"raw_chunk": 64, "target": 10, "min_bin": 8, "factor": 4}
F32_HORIZ = 1.0e-6


# --------------------------------------------------------------------------------------------
# node and zarr.js
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def node() -> str:
    """node, with zarr.js installed in tests/js/node_modules (by ``npm ci`` if missing)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH: cannot run zarr.js, the viewer's Zarr library")
    if not ZARR_PACKAGE.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("tests/js/node_modules is missing and npm is not on PATH to install it")
        try:
            proc = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=JS_DIR,
                capture_output=True,
                text=True,
                timeout=NPM_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.skip(f"`npm ci` in tests/js did not finish in {NPM_TIMEOUT} s")
        if proc.returncode != 0 or not ZARR_PACKAGE.exists():
            head = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[:4])
            pytest.skip(f"`npm ci` in tests/js failed (exit {proc.returncode}): {head}")
    version = json.loads(ZARR_PACKAGE.read_text(encoding="utf-8"))["version"]
    assert version.startswith("0.6."), f"the viewer uses zarr.js 0.6, installed is {version}"
    return node


def read_with_zarrjs(node: str, url: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Run read_store.mjs on the store at ``url``; what it read, decoded from JSON."""
    proc = subprocess.run(
        [node, str(READ_STORE), url, json.dumps(spec)],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, f"read_store.mjs failed:\n{proc.stderr}"
    return json.loads(proc.stdout)


def decode(values: list[Any], dtype: npt.DTypeLike) -> npt.NDArray[Any]:
    """JSON numbers back to an array; non-finite values come as "NaN", "Infinity"..."""
    return np.array([float(v) if isinstance(v, str) else v for v in values], dtype=dtype)


# --------------------------------------------------------------------------------------------
# A static HTTP server with CORS
# --------------------------------------------------------------------------------------------


class CorsStaticHandler(SimpleHTTPRequestHandler):
    """Static files, ``Access-Control-Allow-Origin: *`` on every response, 404s included.

    zarr.js reads a missing chunk (a 404) as the fill value; in a browser, a 404 without
    the CORS header would be a network error instead. No directory listings.
    """

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()

    def do_OPTIONS(self) -> None:
        self.send_response(HTTPStatus.NO_CONTENT)
        self.send_header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
        requested = self.headers.get("Access-Control-Request-Headers")
        self.send_header("Access-Control-Allow-Headers", requested or "*")
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def list_directory(self, path: Any) -> None:
        self.send_error(HTTPStatus.NOT_FOUND, "no directory listings")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP on 127.0.0.1, and its base URL."""
    root = tmp_path_factory.mktemp("served")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(CorsStaticHandler, directory=str(root)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="cors-http", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield root, f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _request(url: str, method: str) -> tuple[int, dict[str, str]]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, parts.path, headers={"Origin": "https://viewer.example"})
        response = conn.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


# --------------------------------------------------------------------------------------------
# Stores
# --------------------------------------------------------------------------------------------


def int16_source() -> npt.NDArray[np.int16]:
    """A small signal with the int16 extremes, glitches in the last samples, a zero chunk."""
    rng = np.random.default_rng(20240611)
    n = I16_SHAPE[3]
    wave = 800 * np.sin(np.arange(n) * 2 * np.pi / 97)
    src = (wave + rng.integers(-200, 201, size=I16_SHAPE)).astype(np.int16)
    src[0, 0, 0, 5] = -32768
    src[0, 0, 0, 6] = 32767
    src[1, 0, 1, 513] = 32767
    src[0, 1, 2, 500:505] = -32768
    # Glitches in the very last samples, inside the partial last bin of every level.
    src[0, 1, 2, -1] = 32767
    src[1, 0, 0, -2] = -32768
    src[1, 1, 1, -3:] = [32767, -32768, 32767]
    c, t, s = ZERO_SEGMENT
    chunk = I16_PARAMS["raw_chunk"]
    src[c, t, s, ZERO_CHUNK * chunk : (ZERO_CHUNK + 1) * chunk] = 0
    return src


def float32_source() -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(7)
    src = rng.normal(0.0, 0.25, size=F32_SHAPE).astype(np.float32)
    info = np.finfo(np.float32)
    src[0, 0, 0, 3] = info.max
    src[0, 0, 0, 4] = info.min
    src[0, 0, 0, 10] = info.smallest_subnormal
    src[0, 0, 1, 100] = np.nan
    src[0, 0, 1, 101] = np.inf
    src[0, 1, 0, 300] = -np.inf
    bin0 = 128  # plan for N=777, target 10, factor 4, min_bin 8: bins 128, 32, 8
    src[0, 1, 1, bin0 : 2 * bin0] = np.nan  # a coarsest bin of only NaN
    src[0, 1, 1, -1] = 1.0e30  # glitch in the last sample
    return src


def write_h5(path: Path, src: npt.NDArray[Any], attrs: dict[str, Any], **datasets: Any) -> Path:
    with h5py.File(path, "w") as f:
        f["samples"] = src
        for name, value in datasets.items():
            f[name] = value
        f.attrs.update(attrs)
    return path


def chunk_key(store: Path, array: str, coords: tuple[int, ...]) -> str:
    meta = json.loads((store / array / ".zarray").read_text(encoding="utf-8"))
    sep = meta.get("dimension_separator") or "."
    return f"{array}/{sep.join(str(i) for i in coords)}"


@pytest.fixture(scope="module")
def int16_store(served: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> dict:
    root, base = served
    src = int16_source()
    h5 = write_h5(
        tmp_path_factory.mktemp("h5") / "rec16.h5",
        src,
        {"horiz_interval": I16_HORIZ},
        vertical_gain=I16_GAINS,
        vertical_offset=I16_OFFSETS,
    )
    store = root / "rec16.zarr"
    convert(h5, store, **I16_PARAMS)
    # The all-zero raw chunk must be absent, so that the 404 -> fill value path of zarr.js
    # is exercised: if the converter wrote it anyway, remove it (a valid Zarr v2 store still).
    missing = chunk_key(store, "raw", (*ZERO_SEGMENT, ZERO_CHUNK))
    (store / missing).unlink(missing_ok=True)
    return {"src": src, "url": f"{base}/rec16.zarr", "missing": missing}


@pytest.fixture(scope="module")
def float32_store(served: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> dict:
    root, base = served
    src = float32_source()
    h5 = write_h5(tmp_path_factory.mktemp("h5") / "rec32.h5", src, {"horiz_interval": F32_HORIZ})
    store = root / "rec32.zarr"
    convert(h5, store, **F32_PARAMS)
    return {"src": src, "url": f"{base}/rec32.zarr"}


# --------------------------------------------------------------------------------------------
# Independent expectations
# --------------------------------------------------------------------------------------------


def expected_minmax(seg: npt.NDArray[Any], b: int) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """Min and max of bins of ``b`` samples, the last bin partial; NaN ignored."""
    mins, maxs = reference_level(seg, b)
    return mins, maxs


def segments(shape: tuple[int, ...]) -> list[list[int]]:
    return [[c, t, s] for c in range(shape[0]) for t in range(shape[1]) for s in range(shape[2])]


def check_read(
    got: dict[str, Any],
    src: npt.NDArray[Any],
    params: dict[str, int],
    gains: npt.NDArray[np.float64],
    offsets: npt.NDArray[np.float64],
    horiz_interval: float,
    ctor: str,
    zarr_dtype: str,
) -> None:
    """Everything zarr.js read equals what numpy computes from the source."""
    c_n, t_n, s_n, n = src.shape
    attrs = got["attrs"]
    assert attrs["horiz_interval"] == horiz_interval
    assert attrs["vertical_gains"] == gains.tolist()
    assert attrs["vertical_offsets"] == offsets.tolist()
    assert np.array(attrs["vertical_gains"]).shape == (c_n, t_n)  # indexed [channel][trc]

    levels = attrs["zoomingonline"]["pyramid"]["levels"]
    assert levels[0]["path"] == "overview/0"
    bin0 = levels[0]["bin"]
    assert levels[0]["bins"] == math.ceil(n / bin0) <= params["target"]
    assert levels[-1]["bin"] == params["min_bin"]
    for coarse, fine in itertools.pairwise(levels):
        assert coarse["bin"] == params["factor"] * fine["bin"]

    arrays = got["arrays"]
    assert arrays["raw"] == {
        "shape": list(src.shape),
        "chunks": [1, 1, 1, params["raw_chunk"]],
        "dtype": zarr_dtype,
    }
    assert arrays["overview/0"] == {
        "shape": [c_n, t_n, s_n, 2, levels[0]["bins"]],
        "chunks": [1, 1, 1, 2, levels[0]["bins"]],  # one chunk per segment
        "dtype": zarr_dtype,
    }

    assert got["raw"]
    for item in got["raw"]:
        c, t, s = item["index"]
        want = src[c, t, s, item["start"] : item["stop"]]
        assert item["ctor"] == ctor
        assert item["shape"] == [want.size]
        np.testing.assert_array_equal(decode(item["values"], src.dtype), want, strict=True)
        volts = want.astype(np.float64) * gains[c, t] - offsets[c, t]
        np.testing.assert_array_equal(decode(item["volts"], np.float64), volts, strict=True)

    by_path = {level["path"]: level for level in levels}
    assert got["overview"]
    for item in got["overview"]:
        c, t, s = item["index"]
        level = by_path[item["path"]]
        mins, maxs = expected_minmax(src[c, t, s], level["bin"])
        assert item["ctor"] == ctor
        assert item["shape"] == [2, level["bins"]] == [2, mins.size]
        np.testing.assert_array_equal(decode(item["min"], src.dtype), mins, strict=True)
        np.testing.assert_array_equal(decode(item["max"], src.dtype), maxs, strict=True)

    # Every response carried the CORS header the browser needs; nothing but 200 and 404.
    assert got["requests"]
    for req in got["requests"]:
        assert req["cors"] == "*", req
        assert req["status"] in (200, 404), req


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


def test_server_sends_cors_on_preflight_and_404(int16_store: dict) -> None:
    url = int16_store["url"]
    status, headers = _request(f"{url}/.zgroup", "OPTIONS")
    assert status == HTTPStatus.NO_CONTENT
    assert headers["access-control-allow-origin"] == "*"
    assert "GET" in headers["access-control-allow-methods"]
    for key, want in ((".zgroup", 200), ("raw/.zarray", 200), (int16_store["missing"], 404)):
        status, headers = _request(f"{url}/{key}", "GET")
        assert status == want, key
        assert headers["access-control-allow-origin"] == "*", key


def test_zarrjs_reads_int16_store(node: str, int16_store: dict) -> None:
    src = int16_store["src"]
    n = src.shape[3]
    chunk = I16_PARAMS["raw_chunk"]
    raw_reads = []
    for index in segments(src.shape):
        raw_reads += [
            {"index": index, "start": chunk, "stop": 2 * chunk},  # one whole chunk
            {"index": index, "start": 150, "stop": 420},  # across chunks
            {"index": index, "start": n // chunk * chunk, "stop": n},  # the partial last chunk
        ]
    zero = [*ZERO_SEGMENT]
    raw_reads += [
        {"index": zero, "start": ZERO_CHUNK * chunk, "stop": (ZERO_CHUNK + 1) * chunk},
        {"index": zero, "start": 0, "stop": n},  # a whole segment, the missing chunk included
    ]
    overview_reads = [
        {"path": path, "index": index}
        for path in ("overview/0", "overview/3")  # the coarsest level and the finest
        for index in segments(src.shape)
    ]
    got = read_with_zarrjs(node, int16_store["url"], {"raw": raw_reads, "overview": overview_reads})
    assert got["zarr_version"].startswith("0.6.")

    check_read(got, src, I16_PARAMS, I16_GAINS, I16_OFFSETS, I16_HORIZ, "Int16Array", "<i2")

    # The glitches in the last samples are in the coarsest overview's (partial) last bin.
    ov0 = {tuple(o["index"]): o for o in got["overview"] if o["path"] == "overview/0"}
    assert ov0[0, 1, 2]["max"][-1] == 32767
    assert ov0[1, 0, 0]["min"][-1] == -32768
    assert ov0[1, 1, 1]["min"][-1] == -32768
    assert ov0[1, 1, 1]["max"][-1] == 32767
    assert ov0[0, 0, 0]["min"][0] == -32768
    assert ov0[0, 0, 0]["max"][0] == 32767

    # The volts the viewer plots, worked out by hand for one sample: the glitch of
    # channel 0, trc 1, with gain 0.001 V/count and offset 0.125 V.
    last = next(
        r for r in got["raw"] if r["index"] == [0, 1, 2] and r["stop"] == n and r["start"] > 0
    )
    assert last["values"][-1] == 32767
    assert last["volts"][-1] == pytest.approx(32767 * 0.001 - 0.125, rel=1e-15)
    assert last["volts"][-1] == pytest.approx(32.642, rel=1e-12)

    # The chunk missing from the store was a 404 (with CORS) for each read that touched it,
    # and was read as the fill value 0 (checked above against the source's zeros).
    lo, hi = ZERO_CHUNK * chunk, (ZERO_CHUNK + 1) * chunk
    touching = [r for r in raw_reads if r["index"] == zero and r["start"] < hi and r["stop"] > lo]
    missing_path = urlsplit(f"{int16_store['url']}/{int16_store['missing']}").path
    not_found = [urlsplit(r["url"]).path for r in got["requests"] if r["status"] == 404]
    assert not_found == [missing_path] * len(touching)


def test_zarrjs_reads_float32_store(node: str, float32_store: dict) -> None:
    src = float32_store["src"]
    n = src.shape[3]
    chunk = F32_PARAMS["raw_chunk"]
    raw_reads = []
    for index in segments(src.shape):
        raw_reads += [
            {"index": index, "start": 0, "stop": chunk},
            {"index": index, "start": 90, "stop": 300},
            {"index": index, "start": n - 5, "stop": n},
        ]
    overview_reads = [
        {"path": path, "index": index}
        for path in ("overview/0", "overview/2")
        for index in segments(src.shape)
    ]
    got = read_with_zarrjs(
        node, float32_store["url"], {"raw": raw_reads, "overview": overview_reads}
    )
    ones = np.ones(src.shape[:2])
    check_read(got, src, F32_PARAMS, ones, 0 * ones, F32_HORIZ, "Float32Array", "<f4")

    ov0 = {tuple(o["index"]): o for o in got["overview"] if o["path"] == "overview/0"}
    assert ov0[0, 0, 0]["max"][0] == float(np.finfo(np.float32).max)
    assert ov0[0, 0, 1]["max"][0] == "Infinity"  # NaN ignored, inf kept
    assert ov0[0, 1, 0]["min"][2] == "-Infinity"
    assert ov0[0, 1, 1]["min"][1] == ov0[0, 1, 1]["max"][1] == "NaN"  # a bin of only NaN
    assert ov0[0, 1, 1]["max"][-1] == float(np.float32(1.0e30))
    assert not any(r["status"] == 404 for r in got["requests"])


def test_missing_store_is_an_error(node: str, served: tuple[Path, str]) -> None:
    """zarr.js refuses a URL with no store (a 404 for .zgroup), and read_store.mjs says so."""
    _, base = served
    proc = subprocess.run(
        [node, str(READ_STORE), f"{base}/no-such.zarr", "{}"],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        check=False,
    )
    assert proc.returncode == 1
    assert "group not found" in proc.stderr
    assert proc.stdout == ""
