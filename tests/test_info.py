"""``zoomingonline info``: the text and JSON description of a store, local, HTTP and S3."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from clihelpers import assert_one_error, run
from readhelpers import make_samples, store_levels, write_store
from s3server import SeaweedS3
from zoomingonline.s3 import resolve_config, upload_store
from zoomingonline.serve import serve_in_thread
from zoomingonline.stores import served_url, viewer_url


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    x = make_samples((2, 1, 3, 10_007), "uint16")
    return write_store(tmp_path_factory.mktemp("info") / "info.zarr", x, horiz_offset=1e-6)


def files_size(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def check_json(info: dict, store: Path) -> None:
    attrs = json.loads((store / ".zattrs").read_text())
    assert info["shape"] == [2, 1, 3, 10_007]
    assert info["dtype"] == "uint16"
    assert info["chunks"] == [1, 1, 1, 1000]
    assert info["codec"]["id"] == "blosc"
    assert [{k: lv[k] for k in ("path", "bin", "bins")} for lv in info["levels"]] == store_levels(
        store
    )
    assert [lv["bin"] for lv in info["levels"]] == sorted(
        (lv["bin"] for lv in info["levels"]), reverse=True
    )
    assert info["attributes"] == attrs
    assert [node["path"] for node in info["tree"]] == ["raw"] + [
        lv["path"] for lv in store_levels(store)
    ]
    for node in info["tree"]:
        zarray = json.loads((store / node["path"] / ".zarray").read_text())
        assert node["shape"] == zarray["shape"]
        assert node["chunks"] == zarray["chunks"]


def test_json_locally(store: Path) -> None:
    result = run("info", store, "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    check_json(info, store)
    assert (info["size_bytes"], info["objects"]) == files_size(store)
    assert info["viewer"] == viewer_url(served_url("info.zarr"))
    assert info["format_version"] == 1


def test_text(store: Path) -> None:
    result = run("info", store)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "2 channels x 1 trc files x 3 segments x 10,007 samples, uint16" in out
    for level in store_levels(store):
        assert f"{level['path']:<12} bins of {level['bin']:>8,} samples" in out
    size, objects = files_size(store)
    assert size > 1e5  # shown in MB
    assert f"  size {size / 1e6:,.1f} MB in {objects:,} objects" in out
    assert "horiz_offset: 1e-06" in out
    assert viewer_url(served_url("info.zarr")) in out
    assert f"zoomingonline serve {store.parent}" in out


def test_over_serve(store: Path) -> None:
    with serve_in_thread(store.parent, access_log=False) as server:
        url = f"{server.url}info.zarr"
        info = json.loads(run("info", url, "--json").output)
        check_json(info, store)
        assert info["size_bytes"] is None
        assert info["viewer"] == viewer_url(url)
        assert "size unknown over HTTP" in run("info", url).output


def test_from_seaweedfs(s3: SeaweedS3, bucket: str, env: dict[str, str], store: Path) -> None:
    config = resolve_config(bucket, prefix="p", environ=s3.env(), env_file=os.devnull)
    assert upload_store(store, config=config).ok
    result = run("info", f"s3://{bucket}/p/info.zarr", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    check_json(info, store)
    assert (info["size_bytes"], info["objects"]) == files_size(store)
    assert info["viewer"] == viewer_url(f"{s3.endpoint_url}/{bucket}/p/info.zarr")
    assert s3.secret_key not in result.output
    assert s3.access_key not in result.output


def test_not_a_store(tmp_path: Path) -> None:
    assert "no such store" in assert_one_error(run("info", tmp_path / "x.zarr"))


def test_no_server_is_one_line() -> None:
    line = assert_one_error(run("info", "http://127.0.0.1:1/run.zarr"))
    assert line.startswith("Error: cannot read http://127.0.0.1:1/run.zarr: ")
