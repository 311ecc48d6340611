"""``zoomingonline upload`` and ``import`` against a real S3 server on loopback.

One SeaweedFS (``weed mini``) serves the session (``tests/conftest.py``); boto3 talks to it over the
network and nothing is patched. SeaweedFS checks signatures and Content-MD5, refuses
unknown credentials and missing buckets, and enforces bucket CORS rules and policies, so
the error paths are real. Faults a local server does not produce by itself (throttling,
latency, lost writes) come from :class:`s3server.FaultProxy`, a real HTTP proxy between
boto3 and the server.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner, Result
from s3data import (
    CHUNK0,
    SMALL,
    config,
    local_objects,
    make_store,
    remote_bytes,
    remote_keys,
    write_h5,
)
from s3server import FaultProxy, SeaweedS3, free_port
from zoomingonline.cli import main
from zoomingonline.cli.convert import convert_command
from zoomingonline.cli.s3 import import_command, upload_command
from zoomingonline.convert import convert
from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.importer import batch_convert, find_inputs, import_paths
from zoomingonline.s3 import read_dotenv, resolve_config, upload_store, upload_to_s3
from zoomingonline.s3.sync import MIN_PART_SIZE
from zoomingonline.stores import DEFAULT_VIEWER, METADATA_NAMES, viewer_url

# -- helpers -------------------------------------------------------------------------------


def invoke(command: Any, *args: str | Path) -> Result:
    """``zoomingonline COMMAND ARGS`` through the group, as users run it."""
    return CliRunner().invoke(main, [command.name, *(str(a) for a in args)])


def error_lines(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("Error:")]


def assert_one_error(result: Result, *fragments: str) -> str:
    """Exit status 1 and exactly one ``Error:`` line, no traceback; return that line."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, ZoomingOnlineError | ClientError)
    lines = error_lines(result)
    assert len(lines) == 1, result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# -- configuration (no server) -------------------------------------------------------------


def test_dotenv_parser_reads_the_original_files_layout(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(
        textwrap.dedent(
            """\
            # the original importer's settings
            AWS_ACCESS_KEY_ID=AKIDEXAMPLE
            export AWS_SECRET_ACCESS_KEY = "se=cr#et\\"x"
            S3_ENDPOINT_URL='https://s3.example.org:9000'
            S3_BUCKET_NAME=scope-data  # a comment

            not a setting
            EMPTY=
            """
        )
    )
    assert read_dotenv(env) == {
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": 'se=cr#et"x',
        "S3_ENDPOINT_URL": "https://s3.example.org:9000",
        "S3_BUCKET_NAME": "scope-data",
        "EMPTY": "",
    }


def test_options_beat_environment_beats_dotenv(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(
        "AWS_ACCESS_KEY_ID=from-file\nAWS_SECRET_ACCESS_KEY=file-secret\n"
        "S3_ENDPOINT_URL=http://file:1\nS3_BUCKET_NAME=file-bucket\n"
    )
    cfg = resolve_config(env_file=env, environ={})
    assert (cfg.bucket, cfg.endpoint_url, cfg.access_key_id) == (
        "file-bucket",
        "http://file:1",
        "from-file",
    )
    assert cfg.region == "us-east-1"
    assert cfg.checksums == "when_required"
    cfg = resolve_config(
        env_file=env, environ={"S3_BUCKET_NAME": "env-bucket", "S3_ENDPOINT_URL": "http://env:2/"}
    )
    assert (cfg.bucket, cfg.endpoint_url) == ("env-bucket", "http://env:2")
    cfg = resolve_config("opt-bucket", prefix="/a/b/", env_file=env, environ={})
    assert (cfg.bucket, cfg.prefix, cfg.key("x.zarr")) == ("opt-bucket", "a/b", "a/b/x.zarr")


def test_credentials_never_in_repr(tmp_path: Path) -> None:
    cfg = resolve_config(
        "b", environ={"AWS_ACCESS_KEY_ID": "KEYID123", "AWS_SECRET_ACCESS_KEY": "TOPSECRET"}
    )
    assert cfg.secret_access_key == "TOPSECRET"  # noqa: S105
    assert "TOPSECRET" not in repr(cfg)
    assert "KEYID123" not in repr(cfg)
    assert "TOPSECRET" not in cfg.where


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "no bucket"),
        ({"S3_BUCKET_NAME": "b", "AWS_ACCESS_KEY_ID": "k"}, "AWS_SECRET_ACCESS_KEY is not set"),
        ({"S3_BUCKET_NAME": "b", "S3_ENDPOINT_URL": "localhost:9000"}, "http:// or https://"),
        ({"S3_BUCKET_NAME": "b", "AWS_REQUEST_CHECKSUM_CALCULATION": "always"}, "checksums"),
    ],
)
def test_bad_configuration_is_one_clear_error(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ZoomingOnlineError, match=message):
        resolve_config(environ=environ, env_file=os.devnull)


def test_find_inputs_searches_folders_recursively(tmp_path: Path) -> None:
    for name in ("a.h5", "sub/b.HDF5", "sub/deeper/c.hdf", "sub/notes.txt", ".hidden/d.h5"):
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"")
    found = find_inputs([tmp_path, tmp_path / "a.h5"])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "a.h5",
        "sub/b.HDF5",
        "sub/deeper/c.hdf",
    ]
    with pytest.raises(ZoomingOnlineError, match="no such file"):
        find_inputs([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ZoomingOnlineError, match=r"no \.h5"):
        find_inputs([tmp_path / "empty"])


def test_original_names_are_aliases() -> None:
    assert upload_to_s3 is upload_store
    assert batch_convert is import_paths


# -- import ----------------------------------------------------------------------------------


def test_full_import(s3: SeaweedS3, client: Any, bucket: str, env: Any, tmp_path: Path) -> None:
    inputs = tmp_path / "recordings"
    write_h5(inputs / "a.h5", seed=1)
    write_h5(inputs / "day2" / "b.hdf5", seed=2)
    write_h5(inputs / "day2" / "late" / "c.hdf", seed=3)
    (inputs / "day2" / "README.txt").write_text("not a recording")
    out = tmp_path / "stores"
    result = invoke(
        import_command,
        inputs,
        "--bucket",
        bucket,
        "--prefix",
        "lab/runs",
        "-o",
        out,
        "--keep-local",
    )
    assert result.exit_code == 0, result.output
    keys = remote_keys(client, bucket)
    for name in ("a", "b", "c"):
        store = out / f"{name}.zarr"
        local = local_objects(store)
        assert len(local) > 5
        prefix = f"lab/runs/{name}.zarr/"
        mine = {k[len(prefix) :] for k in keys if k.startswith(prefix)}
        assert mine == set(local)
        for rel, data in local.items():
            assert remote_bytes(client, bucket, prefix + rel) == data
        url = f"{s3.endpoint_url}/{bucket}/lab/runs/{name}.zarr"
        assert url in result.output
        assert viewer_url(url, DEFAULT_VIEWER) in result.output
    assert {k.split("/")[2] for k in keys} == {"a.zarr", "b.zarr", "c.zarr"}
    meta = client.head_object(Bucket=bucket, Key="lab/runs/a.zarr/raw/.zarray")
    chunk = client.head_object(Bucket=bucket, Key=f"lab/runs/a.zarr/raw/{CHUNK0}")
    assert meta["ContentType"] == "application/json"
    assert chunk["ContentType"] == "application/octet-stream"
    assert "files: 3 (3 uploaded)" in result.output


def test_import_deletes_local_stores_only_after_verified_upload(
    s3: SeaweedS3, client: Any, bucket: str, tmp_path: Path
) -> None:
    inputs = [write_h5(tmp_path / "in" / f"r{i}.h5", seed=i) for i in range(2)]
    out = tmp_path / "out"
    progress: list[tuple[str, str, int, int]] = []
    summary = import_paths(
        inputs,
        config=config(s3, bucket, "p"),
        output_dir=out,
        convert_options=SMALL,
        jobs=4,
        progress=lambda *a: progress.append(a),
    )
    assert summary.ok
    assert [f.status for f in summary.files] == ["uploaded", "uploaded"]
    assert all(f.local_deleted for f in summary.files)
    assert list(out.iterdir()) == []
    assert summary.uploaded == summary.objects == len(remote_keys(client, bucket, "p/"))
    assert {p[0] for p in progress} == {"convert", "upload"}
    last_upload = [p for p in progress if p[0] == "upload" and p[1] == "r1.h5"][-1]
    assert last_upload[2] == last_upload[3] == summary.files[1].upload.bytes  # type: ignore[union-attr]


def test_second_run_uploads_nothing(
    s3: SeaweedS3, client: Any, bucket: str, env: Any, tmp_path: Path
) -> None:
    inputs = tmp_path / "in"
    for i in range(2):
        write_h5(inputs / f"r{i}.h5", seed=i)
    args = (inputs, "--bucket", bucket, "-o", tmp_path / "out")
    first = invoke(import_command, *args)
    assert first.exit_code == 0, first.output
    before = remote_keys(client, bucket)
    second = invoke(import_command, *args)
    assert second.exit_code == 0, second.output
    assert "files: 2 (2 skipped)" in second.output
    assert "0 uploaded" in second.output
    assert not (tmp_path / "out" / "r0.zarr").exists()  # nothing converted again
    after = remote_keys(client, bucket)
    assert {k: v["LastModified"] for k, v in after.items()} == {
        k: v["LastModified"] for k, v in before.items()
    }
    # The same holds for a store uploaded on its own.
    store = make_store(tmp_path)
    cfg = config(s3, bucket, "solo")
    assert upload_store(store, config=cfg).uploaded > 0
    again = upload_store(store, config=cfg)
    assert (again.uploaded, again.skipped, again.ok) == (0, again.objects, True)


def test_resume_after_upload_killed_part_way(
    s3: SeaweedS3, client: Any, bucket: str, tmp_path: Path
) -> None:
    store = make_store(tmp_path, raw_chunk=100, target=40, min_bin=4)
    n = len(local_objects(store))
    assert n > 100
    # A slow link, so the upload is surely killed in the middle.
    with FaultProxy(s3.endpoint_url, delay=0.05) as proxy:
        script = textwrap.dedent(
            f"""
            from zoomingonline.s3 import resolve_config, upload_store
            cfg = resolve_config({bucket!r}, prefix="resume", endpoint_url={proxy.endpoint_url!r})
            upload_store({str(store)!r}, config=cfg, jobs=2)
            """
        )
        child_env = {**os.environ, **s3.env(), "S3_ENDPOINT_URL": proxy.endpoint_url}
        child = subprocess.Popen([sys.executable, "-c", script], env=child_env, cwd=tmp_path)
        try:
            deadline = time.monotonic() + 60
            while len(remote_keys(client, bucket, "resume/")) < 15:
                assert child.poll() is None, "the upload ended before it could be killed"
                assert time.monotonic() < deadline
                time.sleep(0.05)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(10)
    there = remote_keys(client, bucket, "resume/")
    assert 15 <= len(there) < n
    # Metadata last: the half-uploaded store is invisible to a viewer.
    names = {k.rsplit("/", 1)[-1] for k in there}
    assert not names & METADATA_NAMES
    summary = upload_store(store, config=config(s3, bucket, "resume"))
    assert summary.ok
    assert summary.skipped >= len(there)
    assert summary.uploaded == n - summary.skipped
    final = remote_keys(client, bucket, "resume/run.zarr/")
    assert {k.removeprefix("resume/run.zarr/") for k in final} == set(local_objects(store))


def test_resume_costs_a_listing_not_a_request_per_object(
    s3: SeaweedS3, bucket: str, tmp_path: Path
) -> None:
    # An object above the multipart threshold: its ETag is not an MD5 but is computed too.
    h5 = tmp_path / "big.h5"
    with h5py.File(h5, "w") as f:
        rng = np.random.default_rng(7)
        f["samples"] = rng.integers(-32768, 32767, size=(1, 1, 1, 3_500_000), dtype=np.int16)
        f.attrs["horiz_interval"] = 1e-9
    store = tmp_path / "big.zarr"
    convert(h5, store, raw_chunk=3_500_000)
    big = store / "raw" / CHUNK0
    assert big.stat().st_size > 6 << 20
    part = MIN_PART_SIZE
    with FaultProxy(s3.endpoint_url) as proxy:
        cfg = config(s3, bucket, endpoint_url=proxy.endpoint_url)
        first = upload_store(store, config=cfg, multipart_threshold=part, part_size=part)
        assert first.ok
        etag = s3.client().head_object(Bucket=bucket, Key=f"big.zarr/raw/{CHUNK0}")["ETag"]
        assert etag.strip('"').endswith("-2")
        before = proxy.forwarded
        again = upload_store(store, config=cfg, multipart_threshold=part, part_size=part)
        requests = proxy.forwarded - before
    assert (again.uploaded, again.skipped, again.ok) == (0, again.objects, True)
    # check, list, verify, head of the root .zgroup: no request per object.
    assert again.objects > 8
    assert requests <= 5


# -- browser readiness -----------------------------------------------------------------------


def preflight(url: str, origin: str) -> tuple[int, dict[str, str]]:
    req = urllib.request.Request(  # noqa: S310 - loopback test server
        url,
        method="OPTIONS",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "range",
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310 - loopback test server
            return r.status, {k.lower(): v for k, v in r.headers.items()}
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}


def test_cors_rule_set_and_read_back(
    s3: SeaweedS3, client: Any, bucket: str, env: Any, tmp_path: Path
) -> None:
    other = {"AllowedOrigins": ["https://admin.example"], "AllowedMethods": ["PUT"]}
    client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [other]})
    store = make_store(tmp_path)
    chunk_url = f"{s3.endpoint_url}/{bucket}/run.zarr/raw/{CHUNK0}"
    origin = "https://viewer.example"
    assert preflight(chunk_url, origin)[0] == 403  # the server enforces the bucket's rules
    result = invoke(upload_command, store, "--bucket", bucket, "--cors")
    assert result.exit_code == 0, result.output
    rules = client.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert len(rules) == 2  # the existing rule is kept
    ours = next(r for r in rules if "GET" in r["AllowedMethods"])
    assert ours["AllowedOrigins"] == ["*"]
    assert set(ours["AllowedMethods"]) == {"GET", "HEAD"}
    assert {"ETag", "Content-Range"} <= set(ours["ExposeHeaders"])
    status, headers = preflight(chunk_url, origin)
    assert status == 200
    assert headers["access-control-allow-origin"] in (origin, "*")
    assert "range" in headers["access-control-allow-headers"].lower()
    # A real ranged read from the page's origin, as the viewer makes it.
    signed = client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": f"run.zarr/raw/{CHUNK0}"}
    )
    req = urllib.request.Request(  # noqa: S310 - loopback test server
        signed, headers={"Origin": origin, "Range": "bytes=0-9"}
    )
    with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310 - loopback test server
        assert r.status == 206
        exposed = r.headers["Access-Control-Expose-Headers"].lower()
    assert "etag" in exposed
    assert "content-range" in exposed
    # Setting it again adds nothing.
    again = invoke(upload_command, store, "--bucket", bucket, "--cors")
    assert again.exit_code == 0, again.output
    assert len(client.get_bucket_cors(Bucket=bucket)["CORSRules"]) == 2


def test_cors_on_a_service_without_bucket_cors_is_a_warning(
    s3: SeaweedS3, client: Any, bucket: str, env: Any, tmp_path: Path
) -> None:
    store = make_store(tmp_path)
    with FaultProxy(s3.endpoint_url, not_implemented="cors") as proxy:
        result = invoke(
            upload_command, store, "-b", bucket, "--endpoint-url", proxy.endpoint_url, "--cors"
        )
    assert result.exit_code == 0, result.output
    assert "warning: CORS not set" in result.output
    assert "NotImplemented" in result.output
    assert f"run.zarr/raw/{CHUNK0}" in remote_keys(client, bucket)


def test_public_read(s3: SeaweedS3, client: Any, bucket: str, env: Any, tmp_path: Path) -> None:
    store = make_store(tmp_path)
    url = f"{s3.endpoint_url}/{bucket}/pub/run.zarr/.zattrs"
    result = invoke(upload_command, store, "--bucket", bucket, "--prefix", "pub")
    assert result.exit_code == 0, result.output
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(url, timeout=10)  # noqa: S310 - loopback test server
    assert denied.value.code == 403
    result = invoke(upload_command, store, "--bucket", bucket, "--prefix", "pub", "--public")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310 - loopback test server
        assert json.loads(r.read())["horiz_interval"] == 2e-9
    policy = json.loads(client.get_bucket_policy(Bucket=bucket)["Policy"])
    # One statement; a service may give a one-element list back as a plain string.
    (statement,) = policy["Statement"]
    resource = statement["Resource"]
    assert resource in (f"arn:aws:s3:::{bucket}/pub/*", [f"arn:aws:s3:::{bucket}/pub/*"])
    # Asked again, the policy is not changed.
    assert invoke(upload_command, store, "-b", bucket, "-p", "pub", "--public").exit_code == 0
    assert len(json.loads(client.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]) == 1


def test_dry_run_changes_nothing(
    s3: SeaweedS3, client: Any, bucket: str, env: Any, tmp_path: Path
) -> None:
    inputs = tmp_path / "in"
    write_h5(inputs / "a.h5")
    out = tmp_path / "out"
    result = invoke(
        import_command, inputs, "-b", bucket, "-o", out, "--cors", "--public", "--dry-run"
    )
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output
    assert "would convert" in result.output
    assert not out.exists()
    assert sorted(p.name for p in inputs.iterdir()) == ["a.h5"]
    assert remote_keys(client, bucket) == {}
    with pytest.raises(ClientError, match="NoSuchCORSConfiguration"):
        client.get_bucket_cors(Bucket=bucket)
    with pytest.raises(ClientError, match="NoSuchBucketPolicy"):
        client.get_bucket_policy(Bucket=bucket)
    store = make_store(tmp_path)
    before = local_objects(store)
    result = invoke(upload_command, store, "-b", bucket, "--dry-run", "--cors")
    assert result.exit_code == 0, result.output
    assert f"would upload {len(before)} " in result.output
    assert remote_keys(client, bucket) == {}
    assert local_objects(store) == before


# -- sync semantics: --delete, --force, what a dry run says about the bucket ---------------


def test_delete_removes_only_what_the_store_lacks_under_its_own_prefix(
    s3: SeaweedS3, client: Any, bucket: str, env: Any, tmp_path: Path
) -> None:
    store = make_store(tmp_path)
    assert upload_store(store, config=config(s3, bucket, "lab")).ok
    inside = ["lab/run.zarr/raw/9.9.9.9", "lab/run.zarr/old/.zarray"]
    outside = [
        "lab/run.zarr2/raw/0.0.0.0",  # a sibling whose name starts the same
        "lab/run.zarrx",
        "lab/run.zarr",  # a key equal to the store's prefix without the slash
        "lab/other.zarr/raw/0.0.0.0",
        "run.zarr/raw/0.0.0.0",  # the same store name outside the prefix
        "lab/.zgroup",
    ]
    for key in inside + outside:
        client.put_object(Bucket=bucket, Key=key, Body=b"not from the store")
    # Without --delete the extra objects are reported and left alone.
    plain = upload_store(store, config=config(s3, bucket, "lab"))
    assert plain.ok
    assert sorted(plain.extra) == sorted(inside)
    assert plain.deleted == []
    # A dry run says what it would delete and deletes nothing.
    result = invoke(upload_command, store, "-b", bucket, "-p", "lab", "--delete", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would delete 2 objects" in result.output
    assert set(inside + outside) <= set(remote_keys(client, bucket))
    result = invoke(upload_command, store, "-b", bucket, "-p", "lab", "--delete")
    assert result.exit_code == 0, result.output
    assert "deleted 2 objects" in result.output
    keys = set(remote_keys(client, bucket))
    assert not keys & set(inside)
    assert set(outside) <= keys
    assert {k.removeprefix("lab/run.zarr/") for k in keys if k.startswith("lab/run.zarr/")} == set(
        local_objects(store)
    )
    for key in outside:
        assert remote_bytes(client, bucket, key) == b"not from the store"


def test_delete_waits_for_a_verified_upload(
    s3: SeaweedS3, client: Any, bucket: str, tmp_path: Path
) -> None:
    store = make_store(tmp_path)
    assert upload_store(store, config=config(s3, bucket)).ok
    client.put_object(Bucket=bucket, Key="run.zarr/raw/9.9.9.9", Body=b"stale")
    changed = make_store(tmp_path, seed=3)
    with FaultProxy(s3.endpoint_url, swallow="raw/0.0.1.2") as proxy:
        cfg = config(s3, bucket, endpoint_url=proxy.endpoint_url)
        summary = upload_store(changed, config=cfg, delete=True)
    assert not summary.ok
    assert summary.deleted == []
    assert "run.zarr/raw/9.9.9.9" in remote_keys(client, bucket)
    summary = upload_store(changed, config=config(s3, bucket), delete=True)
    assert summary.ok
    assert summary.deleted == ["run.zarr/raw/9.9.9.9"]
    assert "run.zarr/raw/9.9.9.9" not in remote_keys(client, bucket)


def test_force_sends_everything_again(s3: SeaweedS3, bucket: str, tmp_path: Path) -> None:
    store = make_store(tmp_path)
    n = len(local_objects(store))
    with FaultProxy(s3.endpoint_url) as proxy:
        cfg = config(s3, bucket, endpoint_url=proxy.endpoint_url)
        assert upload_store(store, config=cfg).uploaded == n
        again = upload_store(store, config=cfg)
        assert (again.uploaded, again.skipped) == (0, n)
        before = sum(1 for method, _, _ in proxy.requests if method == "PUT")
        forced = upload_store(store, config=cfg, force=True)
        puts = sum(1 for method, _, _ in proxy.requests if method == "PUT") - before
    assert forced.ok
    assert (forced.uploaded, forced.skipped) == (n, 0)
    assert puts == n


def test_dry_run_and_summary_say_the_bucket_settings(
    s3: SeaweedS3, client: Any, bucket: str, env: Any, tmp_path: Path
) -> None:
    store = make_store(tmp_path)
    args = (store, "-b", bucket, "-p", "pub", "--cors", "--public")
    result = invoke(upload_command, *args, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "CORS: would be set; public read: would be set" in result.output
    with pytest.raises(ClientError, match="NoSuchCORSConfiguration"):
        client.get_bucket_cors(Bucket=bucket)
    with pytest.raises(ClientError, match="NoSuchBucketPolicy"):
        client.get_bucket_policy(Bucket=bucket)
    result = invoke(upload_command, store, "-b", bucket, "-p", "pub")
    assert "CORS: not asked; public read: not asked" in result.output
    result = invoke(upload_command, *args)
    assert result.exit_code == 0, result.output
    assert "CORS: set; public read: set" in result.output
    assert client.get_bucket_cors(Bucket=bucket)["CORSRules"]
    result = invoke(upload_command, *args, "--dry-run")
    assert "CORS: already set; public read: already set" in result.output
    result = invoke(upload_command, *args)
    assert "CORS: already set; public read: already set" in result.output


def test_import_takes_the_convert_options(
    s3: SeaweedS3, client: Any, bucket: str, env: Any, tmp_path: Path
) -> None:
    h5 = write_h5(tmp_path / "in" / "run.h5")
    opts = ["--raw-chunk", "700", "--target", "30", "--min-bin", "5", "--factor", "3"]
    opts += ["--codec", "lz4", "--clevel", "1", "--shuffle", "byte", "--overview-codec", "zlib"]
    result = invoke(import_command, h5, "-b", bucket, "-o", tmp_path / "out", *opts)
    assert result.exit_code == 0, result.output
    # The same conversion on disk, with the library's names for the options.
    reference = tmp_path / "ref" / "run.zarr"
    reference.parent.mkdir()
    convert(
        h5,
        reference,
        raw_chunk=700,
        target=30,
        min_bin=5,
        factor=3,
        codec="lz4",
        clevel=1,
        shuffle="byte",
        overview_codec="zlib",
    )
    local = local_objects(reference)
    keys = remote_keys(client, bucket)
    assert {k.removeprefix("run.zarr/") for k in keys} == set(local)
    raw = json.loads(remote_bytes(client, bucket, "run.zarr/raw/.zarray"))
    assert raw["chunks"][-1] == 700
    assert (raw["compressor"]["cname"], raw["compressor"]["clevel"]) == ("lz4", 1)
    assert raw["compressor"]["shuffle"] == 1
    level = json.loads(remote_bytes(client, bucket, "run.zarr/overview/0/.zarray"))
    assert level["compressor"]["cname"] == "zlib"
    for rel, data in local.items():
        if rel != ".zattrs":  # the creation time aside
            assert remote_bytes(client, bucket, f"run.zarr/{rel}") == data, rel
    # The same options again: the store is in the bucket, made from this file so.
    again = invoke(import_command, h5, "-b", bucket, "-o", tmp_path / "out", *opts)
    assert "1 skipped" in again.output, again.output
    # Other options make another store: converted and uploaded again.
    other = invoke(import_command, h5, "-b", bucket, "-o", tmp_path / "out", "--raw-chunk", "900")
    assert other.exit_code == 0, other.output
    assert "1 uploaded" in other.output, other.output
    raw = json.loads(remote_bytes(client, bucket, "run.zarr/raw/.zarray"))
    assert raw["chunks"][-1] == 900


# -- convert straight to object storage ----------------------------------------------------


def test_convert_to_s3_equals_convert_to_disk(
    s3: SeaweedS3, client: Any, bucket: str, env: Any, tmp_path: Path
) -> None:
    h5 = write_h5(tmp_path / "in" / "run.h5", shape=(2, 2, 2, 5000), seed=4)
    opts = ["--raw-chunk", "600", "--target", "40", "--min-bin", "4"]
    disk = tmp_path / "disk" / "run.zarr"
    disk.parent.mkdir()
    result = invoke(convert_command, h5, disk, *opts)
    assert result.exit_code == 0, result.output
    url = f"s3://{bucket}/lab/run.zarr"
    result = invoke(convert_command, h5, url, *opts)
    assert result.exit_code == 0, result.output
    assert f"{s3.endpoint_url}/{bucket}/lab/run.zarr" in result.output
    local = local_objects(disk)
    keys = remote_keys(client, bucket)
    assert {k.removeprefix("lab/run.zarr/") for k in keys} == set(local)
    for rel, data in local.items():
        got = remote_bytes(client, bucket, f"lab/run.zarr/{rel}")
        if rel == ".zattrs":  # the creation time aside
            a, b = json.loads(got), json.loads(data)
            a["zoomingonline"].pop("created")
            b["zoomingonline"].pop("created")
            assert a == b
        else:
            assert got == data, rel
        head = client.head_object(Bucket=bucket, Key=f"lab/run.zarr/{rel}")
        kind = "application/json" if rel.rsplit("/", 1)[-1] in METADATA_NAMES else "octet"
        assert kind in head["ContentType"], (rel, head["ContentType"])
    # Nothing on the local disk beside the input; the store is complete for upload too.
    assert not list((tmp_path / "in").glob("*.zarr"))
    assert upload_store(disk, config=config(s3, bucket, "lab")).ok
    # A complete store is there now: it is replaced only with --overwrite.
    again = invoke(convert_command, h5, url, *opts)
    assert_one_error(again, "exists", "--overwrite")
    assert invoke(convert_command, h5, url, *opts, "--overwrite").exit_code == 0


def test_import_direct_converts_into_the_bucket(
    s3: SeaweedS3, client: Any, bucket: str, env: Any, tmp_path: Path
) -> None:
    inputs = tmp_path / "in"
    write_h5(inputs / "a.h5", seed=1)
    write_h5(inputs / "b.h5", seed=2)
    opts = ["--raw-chunk", "500", "--target", "40", "--min-bin", "4"]
    out = tmp_path / "out"
    args = [inputs, "-b", bucket, "-p", "d", "-o", out, *opts]
    result = invoke(import_command, *args, "--direct")
    assert result.exit_code == 0, result.output
    assert "files: 2 (2 uploaded)" in result.output
    assert not out.exists()
    assert sorted(p.name for p in inputs.iterdir()) == ["a.h5", "b.h5"]
    keys = remote_keys(client, bucket)
    for name in ("a", "b"):
        disk = tmp_path / "disk" / f"{name}.zarr"
        disk.parent.mkdir(exist_ok=True)
        convert(inputs / f"{name}.h5", disk, raw_chunk=500, target=40, min_bin=4)
        local = local_objects(disk)
        mine = {k.removeprefix(f"d/{name}.zarr/") for k in keys if k.startswith(f"d/{name}.zarr/")}
        assert mine == set(local)
        for rel, data in local.items():
            if rel != ".zattrs":
                assert remote_bytes(client, bucket, f"d/{name}.zarr/{rel}") == data, rel
    # Converted from these files with these options: a re-run skips both, direct or not.
    again = invoke(import_command, *args, "--direct")
    assert "files: 2 (2 skipped)" in again.output, again.output
    again = invoke(import_command, *args)
    assert "files: 2 (2 skipped)" in again.output, again.output


# -- retries and verification ----------------------------------------------------------------


def test_throttling_is_retried_with_backoff(s3: SeaweedS3, bucket: str, tmp_path: Path) -> None:
    store = make_store(tmp_path)
    with FaultProxy(s3.endpoint_url, throttle=4) as proxy:
        summary = upload_store(
            store, config=config(s3, bucket, endpoint_url=proxy.endpoint_url), jobs=4
        )
        assert proxy.throttled == 4
    assert summary.ok
    assert summary.uploaded == summary.objects
    assert not summary.failed


def test_checksums_only_when_required(s3: SeaweedS3, bucket: str, tmp_path: Path) -> None:
    store = make_store(tmp_path)
    local = local_objects(store)
    with FaultProxy(s3.endpoint_url, delay=0.02) as proxy:
        cfg = config(s3, bucket, endpoint_url=proxy.endpoint_url)
        summary = upload_store(store, config=cfg, jobs=4)
        assert summary.ok
        puts = [(path, h) for method, path, h in proxy.requests if method == "PUT"]
        assert len(puts) == summary.objects
        # Every body is signed (its SHA-256 in the signature, which the service checks);
        # none of the new default CRC32 checksums, which some services reject.
        for path, h in puts:
            rel = path.split("?")[0].split("/run.zarr/", 1)[1]
            assert h["x-amz-content-sha256"] == hashlib.sha256(local[rel]).hexdigest()
        assert not any(k.startswith("x-amz-checksum-") for _, h in puts for k in h)
        assert not any("x-amz-sdk-checksum-algorithm" in h for _, h in puts)
        # Small objects go up in parallel.
        assert proxy.max_inflight >= 2
        n = len(proxy.requests)
        with_checksums = config(
            s3, bucket, "crc", endpoint_url=proxy.endpoint_url, checksums="when_supported"
        )
        assert upload_store(store, config=with_checksums, jobs=4).ok
        puts = [(path, h) for method, path, h in proxy.requests[n:] if method == "PUT"]
        assert puts
        assert all("x-amz-checksum-sha256" in h for _, h in puts)


def test_verification_catches_lost_writes(
    s3: SeaweedS3, client: Any, bucket: str, env: Any, tmp_path: Path
) -> None:
    store = make_store(tmp_path)
    with FaultProxy(s3.endpoint_url, swallow="raw/0.0.1.3") as proxy:
        result = invoke(upload_command, store, "-b", bucket, "--endpoint-url", proxy.endpoint_url)
        # The answer's ETag is not the local MD5: caught at once, and tried once more.
        assert proxy.swallowed == 2
    line = assert_one_error(result, "incomplete", "missing", "raw/0.0.1.3")
    assert "1 objects failed" in line
    assert "the service answered ETag 00000000000000000000000000000000" in line
    keys = remote_keys(client, bucket)
    local = local_objects(store)
    chunks = {k for k in local if k.rsplit("/", 1)[-1] not in METADATA_NAMES}
    # Every other chunk arrived; no metadata went up after a chunk failed.
    assert {k.removeprefix("run.zarr/") for k in keys} == chunks - {"raw/0.0.1.3"}
    assert "run.zarr/.zgroup" not in keys  # the store stays closed to viewers
    # Run again without the fault: it completes, sending only what is missing.
    summary = upload_store(store, config=config(s3, bucket))
    assert summary.ok
    assert summary.uploaded == len(local) - len(chunks) + 1  # the lost chunk and metadata
    assert remote_bytes(client, bucket, "run.zarr/raw/0.0.1.3") == local["raw/0.0.1.3"]


def test_a_changed_store_is_hidden_until_complete(
    s3: SeaweedS3, client: Any, bucket: str, tmp_path: Path
) -> None:
    store = make_store(tmp_path, seed=1)
    assert upload_store(store, config=config(s3, bucket)).ok
    assert "run.zarr/.zgroup" in remote_keys(client, bucket)
    changed = make_store(tmp_path, seed=2)  # same name and layout, other samples
    assert changed == store
    with FaultProxy(s3.endpoint_url, swallow="raw/0.0.1.2") as proxy:
        summary = upload_store(store, config=config(s3, bucket, endpoint_url=proxy.endpoint_url))
    assert not summary.ok
    assert summary.missing == ["run.zarr/.zgroup"]  # removed before the change began
    # The lost chunk; and no metadata went up after it failed, so a document that
    # changed (the creation time in .zattrs, when a second has passed) is the old one.
    assert summary.different[0] == "run.zarr/raw/0.0.1.2"
    stale = summary.different[1:]
    assert all(k.rsplit("/", 1)[-1] in METADATA_NAMES for k in stale), stale
    assert "run.zarr/.zgroup" not in remote_keys(client, bucket)
    summary = upload_store(store, config=config(s3, bucket))
    assert summary.ok
    assert summary.uploaded == 2 + len(stale)
    assert (
        remote_bytes(client, bucket, "run.zarr/raw/0.0.1.2")
        == (store / "raw" / "0.0.1.2").read_bytes()
    )


def test_failed_upload_keeps_the_local_store(s3: SeaweedS3, bucket: str, tmp_path: Path) -> None:
    h5 = write_h5(tmp_path / "in" / "keep.h5")
    out = tmp_path / "out"
    with FaultProxy(s3.endpoint_url, swallow=f"raw/{CHUNK0}") as proxy:
        summary = import_paths(
            [h5], config=config(s3, bucket, endpoint_url=proxy.endpoint_url), output_dir=out
        )
    assert not summary.ok
    (result,) = summary.files
    assert result.status == "failed"
    assert "missing" in (result.error or "")
    assert not result.local_deleted
    assert (out / "keep.zarr" / "raw" / CHUNK0).is_file()
    # The next run reuses the kept store (no conversion) and completes.
    summary = import_paths([h5], config=config(s3, bucket), output_dir=out)
    assert summary.ok
    assert summary.files[0].convert is None
    assert summary.files[0].local_deleted


def test_import_replaces_only_a_store_it_made_from_this_input(
    s3: SeaweedS3, bucket: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = write_h5(tmp_path / "a" / "run.h5", seed=1)
    summary = import_paths([first], config=config(s3, bucket, "a"), output_dir=out, keep_local=True)
    assert summary.ok
    kept = local_objects(out / "run.zarr")
    # Another recording of the same name, imported into the same folder: the store there
    # was made by import, but from the other file, so it is neither replaced nor deleted.
    other = write_h5(tmp_path / "b" / "run.h5", seed=2)
    summary = import_paths([other], config=config(s3, bucket, "b"), output_dir=out)
    (result,) = summary.files
    assert result.status == "failed"
    assert "not the store import made from" in (result.error or "")
    assert local_objects(out / "run.zarr") == kept
    # The same file again, changed: its own store is replaced, uploaded, then deleted.
    write_h5(first, seed=3)
    summary = import_paths([first], config=config(s3, bucket, "a"), output_dir=out)
    assert summary.ok
    assert summary.files[0].convert is not None
    assert summary.files[0].local_deleted
    assert list(out.iterdir()) == []


def test_import_leaves_a_folder_it_did_not_make(s3: SeaweedS3, bucket: str, tmp_path: Path) -> None:
    h5 = write_h5(tmp_path / "in" / "run.h5")
    out = tmp_path / "out"
    mine = out / "run.zarr"
    (mine / "notes").mkdir(parents=True)
    (mine / "notes" / "todo.txt").write_text("not a store")
    # A record naming this input beside it (left over, or copied): still not import's store.
    record = {"fingerprint": "old", "input": str(h5.resolve())}
    (out / ".run.zarr.import.json").write_text(json.dumps(record))
    for keep_local in (False, True):
        summary = import_paths(
            [h5], config=config(s3, bucket), output_dir=out, keep_local=keep_local
        )
        (result,) = summary.files
        assert result.status == "failed"
        assert "move it away" in (result.error or "")
        assert (mine / "notes" / "todo.txt").read_text() == "not a store"
        assert sorted(p.name for p in mine.iterdir()) == ["notes"]


# -- errors ----------------------------------------------------------------------------------


def test_bad_credentials(
    s3: SeaweedS3, bucket: str, env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store(tmp_path)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-value-123")
    result = invoke(upload_command, store, "-b", bucket)
    assert_one_error(result, "rejected the credentials", "SignatureDoesNotMatch")
    assert "wrong-secret-value-123" not in result.output
    assert s3.secret_key not in result.output
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "nosuchkey")
    result = invoke(import_command, tmp_path / "in", "-b", bucket, "-o", tmp_path / "x")
    assert_one_error(result, "rejected the credentials", "InvalidAccessKeyId")
    assert not (tmp_path / "x").exists()  # nothing converted before the check


def test_no_credentials(
    bucket: str, env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = invoke(upload_command, make_store(tmp_path), "-b", bucket)
    assert_one_error(result, "no S3 credentials", "AWS_ACCESS_KEY_ID")


def test_credentials_from_dotenv(
    s3: SeaweedS3, client: Any, bucket: str, env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "S3_ENDPOINT_URL"):
        monkeypatch.delenv(name)
    Path(".env").write_text(
        "".join(f"{k}={v}\n" for k, v in {**s3.env(), "S3_BUCKET_NAME": bucket}.items())
    )
    store = make_store(Path.cwd())
    result = invoke(upload_command, store)
    assert result.exit_code == 0, result.output
    assert "run.zarr/.zgroup" in remote_keys(client, bucket)
    assert s3.secret_key not in result.output


def test_missing_bucket(env: Any, tmp_path: Path) -> None:
    result = invoke(upload_command, make_store(tmp_path), "-b", "no-such-bucket-here")
    assert_one_error(result, "bucket 'no-such-bucket-here' does not exist")


def test_endpoint_that_does_not_answer(env: Any, tmp_path: Path) -> None:
    store = make_store(tmp_path)
    closed = f"http://127.0.0.1:{free_port()}"
    result = invoke(upload_command, store, "-b", "data", "--endpoint-url", closed)
    assert_one_error(result, f"S3 endpoint {closed} does not answer")
    # A server that accepts connections and never replies.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        cfg = resolve_config(
            "data", endpoint_url=url, read_timeout=0.5, connect_timeout=0.5, env_file=os.devnull
        )
        with pytest.raises(ZoomingOnlineError, match="does not answer"):
            upload_store(store, config=cfg)


def test_not_a_store(env: Any, tmp_path: Path) -> None:
    (tmp_path / "empty.zarr").mkdir()
    result = invoke(upload_command, tmp_path / "empty.zarr", "-b", "data")
    assert_one_error(result, "not a Zarr store")


def test_inputs_that_fail_to_convert_do_not_stop_the_batch(
    s3: SeaweedS3, client: Any, bucket: str, env: Any, tmp_path: Path
) -> None:
    inputs = tmp_path / "in"
    write_h5(inputs / "good.h5")
    (inputs / "broken.h5").write_bytes(b"this is not HDF5")
    with h5py.File(inputs / "flat.h5", "w") as f:
        f["samples"] = np.zeros(10, dtype=np.int16)
    write_h5(inputs / "zlast.hdf5", seed=5)
    result = invoke(import_command, inputs, "-b", bucket, "-o", tmp_path / "out")
    line = assert_one_error(result, "2 of 4 files failed", "broken.h5", "flat.h5")
    assert "good.h5" not in line
    failed = [s for s in result.output.splitlines() if s.strip().startswith("FAILED")]
    assert len(failed) == 2
    assert any("not an HDF5 file" in s for s in failed)
    assert any("1-D" in s or "4-D" in s for s in failed)
    stores = {k.split("/")[0] for k in remote_keys(client, bucket)}
    assert stores == {"good.zarr", "zlast.zarr"}
    assert "files: 4 (2 failed, 2 uploaded)" in result.output


def test_two_inputs_with_one_name_are_refused(
    bucket: str, env: Any, client: Any, tmp_path: Path
) -> None:
    write_h5(tmp_path / "a" / "run.h5")
    write_h5(tmp_path / "b" / "run.h5")
    result = invoke(import_command, tmp_path / "a", tmp_path / "b", "-b", bucket)
    assert_one_error(result, "would both become run.zarr")
    assert remote_keys(client, bucket) == {}


def test_skip_upload_needs_no_bucket(env: Any, tmp_path: Path) -> None:
    h5 = write_h5(tmp_path / "in" / "only.h5")
    result = invoke(import_command, h5, "--skip-upload", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "only.zarr" / ".zgroup").is_file()
    assert "converted" in result.output


def test_progress_is_reported_from_the_upload_threads(
    s3: SeaweedS3, bucket: str, tmp_path: Path
) -> None:
    store = make_store(tmp_path)
    seen: list[tuple[int, int, str]] = []
    summary = upload_store(
        store,
        config=config(s3, bucket),
        jobs=3,
        progress=lambda d, t: seen.append((d, t, threading.current_thread().name)),
    )
    assert summary.ok
    assert seen[0][:2] == (0, summary.bytes)
    assert seen[-1][:2] == (summary.bytes, summary.bytes)
    assert [d for d, _, _ in seen] == sorted(d for d, _, _ in seen)
