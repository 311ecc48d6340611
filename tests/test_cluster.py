"""Scale-out of ``import``: Dask tasks, Slurm array shards, against a real S3 server.

The session's SeaweedFS server (``tests/conftest.py``) runs on loopback; the Dask
tests run real worker processes (a LocalCluster with 2 of them), and the Slurm test
submits ``examples/run_importer.slurm`` to a real Slurm cluster when one is up on this
machine (``.ci/slurm-setup.sh`` starts one).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from s3data import SMALL, write_h5
from s3server import AWS_VARIABLES, SLURM_VARIABLES, SeaweedS3
from zoomingonline.cli import main
from zoomingonline.cluster import parse_shard, require_dask, shard_from_env, shard_inputs
from zoomingonline.errors import ZoomingOnlineError
from zoomingonline.importer import SOURCE_METADATA, find_inputs, import_paths
from zoomingonline.s3 import S3Config

ROOT = Path(__file__).resolve().parent.parent
SLURM_SCRIPT = ROOT / "examples" / "run_importer.slurm"


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[Any]:
    """A LocalCluster of 2 single-threaded worker processes, shared by the module."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    try:
        yield cluster
    finally:
        cluster.close()


def campaign(folder: Path, n: int) -> list[Path]:
    """``n`` small recordings in nested folders, as a measurement campaign has them."""
    return [write_h5(folder / f"day{i % 2}" / f"run{i:02d}.h5", seed=i) for i in range(n)]


def stores_in(client: Any, bucket: str, prefix: str = "") -> dict[str, dict[str, str]]:
    """Store key -> metadata of its root ``.zgroup``, for every complete store."""
    out = {}
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if key.endswith(".zarr/.zgroup"):
                head = client.head_object(Bucket=bucket, Key=key)
                out[key.removesuffix("/.zgroup")] = head["Metadata"]
    return out


def config(s3: SeaweedS3, bucket: str, prefix: str = "") -> S3Config:
    return S3Config(
        bucket=bucket,
        prefix=prefix,
        endpoint_url=s3.endpoint_url,
        region=s3.region,
        access_key_id=s3.access_key,
        secret_access_key=s3.secret_key,
    )


# -- sharding ------------------------------------------------------------------------------


@given(
    names=st.lists(st.from_regex(r"[a-z]{1,3}/[a-z0-9]{1,6}\.h5", fullmatch=True), max_size=40),
    count=st.integers(1, 12),
    seed=st.integers(0, 1000),
)
def test_shards_cover_every_input_exactly_once(names: list[str], count: int, seed: int) -> None:
    inputs = [Path(n) for n in names]
    shuffled = inputs[:]
    random.Random(seed).shuffle(shuffled)  # noqa: S311 - an order, not a secret
    shards = [shard_inputs(inputs, i, count) for i in range(count)]
    # The same partition whatever order the inputs come in: each task agrees.
    assert shards == [shard_inputs(shuffled, i, count) for i in range(count)]
    together = [p for shard in shards for p in shard]
    assert sorted(together) == sorted(set(inputs))
    assert len(together) == len(set(inputs))
    sizes = [len(s) for s in shards]
    assert max(sizes) - min(sizes) <= 1
    for shard in shards:
        assert shard == sorted(shard, key=Path.as_posix)


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 13])
def test_shards_of_a_campaign_for_several_n(count: int) -> None:
    inputs = [Path(f"/data/day{i % 3}/run{i:03d}.h5") for i in range(8)]
    shards = [shard_inputs(inputs, i, count) for i in range(count)]
    assert sorted(p for s in shards for p in s) == sorted(inputs)
    if count > len(inputs):
        assert [len(s) for s in shards].count(0) == count - len(inputs)
    # Round-robin over the sorted list: shard 0 starts with the first input.
    assert shards[0][0] == min(inputs, key=Path.as_posix)


def test_shard_is_stable() -> None:
    inputs = [Path(f"r{i}.h5") for i in range(6)]
    assert shard_inputs(inputs, 1, 3) == [Path("r1.h5"), Path("r4.h5")]
    assert shard_inputs(list(reversed(inputs)), 1, 3) == [Path("r1.h5"), Path("r4.h5")]


@pytest.mark.parametrize(("index", "count"), [(0, 0), (3, 3), (-1, 2)])
def test_shard_out_of_range(index: int, count: int) -> None:
    with pytest.raises(ZoomingOnlineError, match="shard"):
        shard_inputs([Path("a.h5")], index, count)


def test_parse_shard() -> None:
    assert parse_shard("0/4") == (0, 4)
    assert parse_shard(" 3 / 4 ") == (3, 4)
    for bad in ("4/4", "1", "a/b", "-1/2", "1/0"):
        with pytest.raises(ZoomingOnlineError):
            parse_shard(bad)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"SLURM_ARRAY_TASK_ID": "2"}, None),
        ({"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4"}, (2, 4)),
        # --array=1-4: ids start at SLURM_ARRAY_TASK_MIN.
        (
            {
                "SLURM_ARRAY_TASK_ID": "1",
                "SLURM_ARRAY_TASK_COUNT": "4",
                "SLURM_ARRAY_TASK_MIN": "1",
            },
            (0, 4),
        ),
        (
            {
                "SLURM_ARRAY_TASK_ID": "4",
                "SLURM_ARRAY_TASK_COUNT": "4",
                "SLURM_ARRAY_TASK_MIN": "1",
            },
            (3, 4),
        ),
        # --array=10-16:2 -> 10, 12, 14, 16.
        (
            {
                "SLURM_ARRAY_TASK_ID": "14",
                "SLURM_ARRAY_TASK_COUNT": "4",
                "SLURM_ARRAY_TASK_MIN": "10",
                "SLURM_ARRAY_TASK_STEP": "2",
            },
            (2, 4),
        ),
    ],
)
def test_shard_from_env(environ: dict[str, str], expected: tuple[int, int] | None) -> None:
    assert shard_from_env(environ) == expected


def test_shard_from_env_refuses_what_it_cannot_place() -> None:
    # --array=1,5,9: three tasks, ids not a range with step 1.
    with pytest.raises(ZoomingOnlineError, match="--shard"):
        shard_from_env(
            {"SLURM_ARRAY_TASK_ID": "9", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "1"}
        )
    with pytest.raises(ZoomingOnlineError, match="integers"):
        shard_from_env({"SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "3"})


def test_shards_through_import_cover_every_file(
    s3: SeaweedS3, client: Any, bucket: str, tmp_path: Path
) -> None:
    """Three "array tasks" (separate imports) together publish every store once."""
    inputs = campaign(tmp_path / "in", 5)
    seen: list[Path] = []
    for index in range(3):
        summary = import_paths(
            [tmp_path / "in"],
            config=config(s3, bucket),
            output_dir=tmp_path / f"out{index}",
            convert_options=SMALL,
            shard=(index, 3),
        )
        assert summary.ok, [f.error for f in summary.failed]
        assert summary.shard == (index, 3)
        assert {f.status for f in summary.files} == {"uploaded"}
        seen += [f.input for f in summary.files]
    assert sorted(seen) == sorted(inputs)
    assert sorted(stores_in(client, bucket)) == sorted(p.with_suffix(".zarr").name for p in inputs)


def test_cli_reads_the_shard_from_the_slurm_array(
    env: dict[str, str], client: Any, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = campaign(tmp_path / "in", 4)
    runner = CliRunner()
    printed = []
    for task in (1, 2):  # --array=1-2
        monkeypatch.setenv("SLURM_ARRAY_TASK_ID", str(task))
        monkeypatch.setenv("SLURM_ARRAY_TASK_COUNT", "2")
        monkeypatch.setenv("SLURM_ARRAY_TASK_MIN", "1")
        result = runner.invoke(
            main,
            ["import", str(tmp_path / "in"), "--bucket", bucket, "-o", str(tmp_path / "out"), "-q"],
        )
        assert result.exit_code == 0, result.output
        printed.append(stores_in(client, bucket))
    first, both = printed
    assert len(first) == 2
    assert sorted(both) == sorted(p.with_suffix(".zarr").name for p in inputs)
    # --shard overrides the array's variables.
    result = runner.invoke(
        main, ["import", str(tmp_path / "in"), "--bucket", bucket, "--shard", "5/4"]
    )
    assert result.exit_code != 0
    assert "shard index" in result.output


# -- dask ----------------------------------------------------------------------------------


def test_cluster_imports_neither_the_importer_nor_s3() -> None:
    """cluster.py schedules tasks it is handed: no import of import or S3 code, not even
    inside a function, so that there is no cycle between them."""
    import ast

    import zoomingonline.cluster

    tree = ast.parse(Path(zoomingonline.cluster.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
            imported.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    assert "zoomingonline.errors" in imported  # the walk sees the module's imports
    banned = ("zoomingonline.importer", "zoomingonline.s3", "zoomingonline.upload")
    assert not {m for m in imported if m.startswith(banned)}


def test_dask_converts_and_uploads_every_file(
    s3: SeaweedS3, client: Any, bucket: str, tmp_path: Path, dask_cluster: Any
) -> None:
    from distributed import Client, get_task_stream

    inputs = campaign(tmp_path / "in", 6)
    address = dask_cluster.scheduler_address
    with Client(address) as watcher, get_task_stream(watcher) as tasks:
        summary = import_paths(
            [tmp_path / "in"],
            config=config(s3, bucket, "camp"),
            output_dir=tmp_path / "out",
            convert_options=SMALL,
            dask=address,
        )
    assert summary.ok, [f.error for f in summary.failed]
    # Same summary, same order as a local run: the inputs as found.
    assert [f.input for f in summary.files] == find_inputs([tmp_path / "in"])
    assert {f.status for f in summary.files} == {"uploaded"}
    assert all(f.upload is not None and f.upload.verified for f in summary.files)
    assert all(f.convert is not None for f in summary.files)
    assert all(f.local_deleted and not f.store.exists() for f in summary.files)
    assert summary.uploaded == summary.objects > 0
    # Each file was one task on the cluster's workers.
    ran = [t for t in tasks.data if str(t["key"]).startswith("zoomingonline-import-")]
    assert len(ran) == len(inputs)
    assert {t["worker"] for t in ran} <= set(dask_cluster.scheduler_info["workers"])
    published = stores_in(client, bucket, "camp/")
    assert sorted(published) == sorted(f"camp/{p.with_suffix('.zarr').name}" for p in inputs)
    assert all(SOURCE_METADATA in meta for meta in published.values())

    # A re-run does nothing: every store is in the bucket, converted from these files.
    again = import_paths(
        [tmp_path / "in"],
        config=config(s3, bucket, "camp"),
        output_dir=tmp_path / "out",
        convert_options=SMALL,
        dask=address,
    )
    assert again.ok
    assert {f.status for f in again.files} == {"skipped"}
    assert again.uploaded == 0
    assert all(f.convert is None for f in again.files)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_dask_reports_a_failing_file_and_does_the_rest(
    s3: SeaweedS3, client: Any, bucket: str, tmp_path: Path, dask_cluster: Any
) -> None:
    inputs = campaign(tmp_path / "in", 4)
    bad = tmp_path / "in" / "day0" / "broken.h5"
    bad.write_bytes(b"this is not HDF5" * 64)
    summary = import_paths(
        [tmp_path / "in"],
        config=config(s3, bucket),
        output_dir=tmp_path / "out",
        convert_options=SMALL,
        dask=dask_cluster.scheduler_address,
    )
    assert not summary.ok
    assert [f.input for f in summary.failed] == [bad]
    assert summary.failed[0].error
    assert "broken.h5" in summary.failed[0].error
    assert sorted(f.input for f in summary.files if f.status == "uploaded") == sorted(inputs)
    assert sorted(stores_in(client, bucket)) == sorted(p.with_suffix(".zarr").name for p in inputs)

    # Fixed and run again: only the file that failed is done.
    write_h5(bad, seed=99)
    again = import_paths(
        [tmp_path / "in"],
        config=config(s3, bucket),
        output_dir=tmp_path / "out",
        convert_options=SMALL,
        dask=dask_cluster.scheduler_address,
    )
    assert again.ok
    status = {f.input: f.status for f in again.files}
    assert status.pop(bad) == "uploaded"
    assert set(status.values()) == {"skipped"}


def test_cli_dask_local_cluster(
    env: dict[str, str], client: Any, bucket: str, tmp_path: Path
) -> None:
    """``--dask local:2`` starts (and stops) its own cluster of 2 worker processes."""
    inputs = campaign(tmp_path / "in", 3)
    result = CliRunner().invoke(
        main,
        [
            "import",
            str(tmp_path / "in"),
            "--bucket",
            bucket,
            "-o",
            str(tmp_path / "out"),
            "--dask",
            "local:2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "files: 3 (3 uploaded)" in result.output
    assert env["AWS_SECRET_ACCESS_KEY"] not in result.output
    assert sorted(stores_in(client, bucket)) == sorted(p.with_suffix(".zarr").name for p in inputs)


def test_dask_unreachable_scheduler_is_a_clear_error(
    s3: SeaweedS3, bucket: str, tmp_path: Path
) -> None:
    import dask

    campaign(tmp_path / "in", 1)
    # A port nobody listens on; give up after 2 s instead of dask's 30.
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "2s"}),
        pytest.raises(
            ZoomingOnlineError, match=r"Dask scheduler tcp://127.0.0.1:9: .*(refused|[Tt]imed out)"
        ),
    ):
        import_paths(
            [tmp_path / "in"],
            config=config(s3, bucket),
            output_dir=tmp_path / "out",
            dask="tcp://127.0.0.1:9",
        )


def test_missing_dask_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # As if the cluster extra were not installed: the import of distributed fails.
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ZoomingOnlineError, match=r"zoomingonline\[cluster\]"):
        require_dask()
    campaign(tmp_path / "in", 1)
    with pytest.raises(ZoomingOnlineError, match=r"zoomingonline\[cluster\]"):
        import_paths([tmp_path / "in"], skip_upload=True, dask="local:2")
    assert not (tmp_path / "in" / "day0" / "run00.zarr").exists()


# -- slurm ---------------------------------------------------------------------------------


def _slurm_unavailable() -> str | None:
    """Why the Slurm test cannot run here, or None when a cluster answers."""
    for tool in ("sbatch", "sinfo", "scontrol"):
        if shutil.which(tool) is None:
            return f"{tool} not found: no Slurm here (.ci/slurm-setup.sh installs one as root)"
    try:
        ping = subprocess.run(
            ["scontrol", "ping"], capture_output=True, text=True, timeout=15, check=False
        )
        states = subprocess.run(
            ["sinfo", "--noheader", "--format=%t"],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"Slurm does not answer: {exc}"
    if "UP" not in ping.stdout:
        return f"slurmctld is not up: {(ping.stdout + ping.stderr).strip()}"
    if not any(s.startswith(("idle", "mix")) for s in states.stdout.split()):
        return f"no idle Slurm node: sinfo says {states.stdout.split() or states.stderr.strip()}"
    return None


def test_slurm_job_array_publishes_every_store(
    s3: SeaweedS3, client: Any, bucket: str, tmp_path: Path
) -> None:
    """``sbatch --array`` of the example script: each task a shard, together every file."""
    why = _slurm_unavailable()
    if why is not None:
        pytest.skip(why)
    inputs = campaign(tmp_path / "in", 5)
    env_file = tmp_path / "settings.env"
    env_file.write_text(
        "".join(f"{k}={v}\n" for k, v in {**s3.env(), "S3_BUCKET_NAME": bucket}.items())
    )
    env_file.chmod(0o600)
    logs = tmp_path / "logs"
    logs.mkdir()
    environ = {k: v for k, v in os.environ.items() if k not in AWS_VARIABLES + SLURM_VARIABLES}
    environ |= {
        "ZOOMINGONLINE_VENV": sys.prefix,
        "ZO_ENV_FILE": str(env_file),
        "ZO_SCRATCH": str(tmp_path / "scratch"),
    }
    job = subprocess.run(
        [
            "sbatch",
            "--wait",
            "--array=0-2",
            "--cpus-per-task=1",
            "--mem=1G",
            "--time=00:10:00",
            f"--output={logs}/%x-%A_%a.out",
            f"--chdir={tmp_path}",
            "--export=ALL",
            str(SLURM_SCRIPT),
            str(tmp_path / "in"),
            "--prefix",
            "array",
        ],
        env=environ,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    outputs = {p.name: p.read_text() for p in sorted(logs.iterdir())}
    assert job.returncode == 0, (job.stdout, job.stderr, outputs)
    assert len(outputs) == 3, outputs
    for text in outputs.values():
        assert s3.secret_key not in text
        assert "shard" in text
    published = stores_in(client, bucket, "array/")
    assert sorted(published) == sorted(f"array/{p.with_suffix('.zarr').name}" for p in inputs)
    assert all(SOURCE_METADATA in meta for meta in published.values())
    # Each task imported its own share: every input named "uploaded" in exactly one log.
    for p in inputs:
        hits = [name for name, text in outputs.items() if f"uploaded  {p}" in text]
        assert len(hits) == 1, (p, outputs)
