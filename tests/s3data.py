"""Test data for the S3 tests: small recordings, their stores, and what a bucket holds."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from s3server import SeaweedS3
from zoomingonline.convert import convert
from zoomingonline.s3 import S3Config, resolve_config

#: The first raw chunk's key (a Zarr chunk key, not an address).
CHUNK0 = "0.0.0.0"  # noqa: S104
#: Small chunks, so that a store has many objects.
SMALL = {"raw_chunk": 500, "target": 40, "min_bin": 4}


def write_h5(path: Path, shape: tuple[int, int, int, int] = (2, 1, 2, 3000), seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f["samples"] = rng.integers(-3000, 3000, size=shape, dtype=np.int16)
        f["vertical_gain"] = np.full(shape[:2], 1e-4)
        f["vertical_offset"] = np.full(shape[:2], -0.2)
        f.attrs["horiz_interval"] = 2e-9
    return path


def make_store(tmp_path: Path, name: str = "run", seed: int = 0, **options: Any) -> Path:
    h5 = write_h5(tmp_path / "in" / f"{name}.h5", seed=seed)
    out = tmp_path / "stores" / f"{name}.zarr"
    out.parent.mkdir(parents=True, exist_ok=True)
    convert(h5, out, overwrite=True, **(options or SMALL))
    return out


def local_objects(store: Path) -> dict[str, bytes]:
    return {
        p.relative_to(store).as_posix(): p.read_bytes()
        for p in sorted(store.rglob("*"))
        if p.is_file()
    }


def remote_keys(client: Any, bucket: str, prefix: str = "") -> dict[str, dict[str, Any]]:
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            out[item["Key"]] = item
    return out


def remote_bytes(client: Any, bucket: str, key: str) -> bytes:
    return bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())


def config(s3: SeaweedS3, bucket: str, prefix: str = "", **kw: Any) -> S3Config:
    return resolve_config(bucket, prefix=prefix, environ=s3.env(), env_file=os.devnull, **kw)
