"""Import a measurement campaign on Slurm through Dask: dask-jobqueue's SLURMCluster.

Each input file becomes one Dask task (convert, then upload); dask-jobqueue submits the
Slurm jobs that run the Dask workers. Needs ``pip install 'zoomingonline[cluster]'`` and
a file system that the login node and the compute nodes share (inputs and
``--output-dir``). Settings come from the ``.env`` file, as for the command line.

    python examples/dask_slurm_cluster.py /data/campaign --prefix campaign --jobs 8

The same from the command line, with a scheduler you run yourself:

    dask scheduler --scheduler-file sched.json &
    sbatch --array=0-7 --wrap "dask worker --scheduler-file sched.json --nthreads 1"
    zoomingonline import /data/campaign --dask sched.json --prefix campaign
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from zoomingonline.importer import import_paths


def main() -> int:
    """Start a SLURMCluster, import the inputs on it, print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="+", type=Path, help="HDF5 files or folders")
    parser.add_argument("--prefix", default="", help="folder in the bucket")
    parser.add_argument("--env-file", default=".env", help="S3 settings (see .env.example)")
    parser.add_argument("--jobs", type=int, default=4, help="Slurm jobs (one worker each)")
    parser.add_argument("--partition", default=None, help="Slurm partition")
    parser.add_argument("--cores", type=int, default=2, help="cores per worker job")
    parser.add_argument("--memory", default="8GB", help="memory per worker job")
    parser.add_argument("--walltime", default="04:00:00", help="time limit per worker job")
    parser.add_argument(
        "--scratch",
        type=Path,
        default=Path(os.environ.get("ZO_SCRATCH", Path.cwd() / "zo-scratch")),
        help="shared folder for the local stores while they upload",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    from dask_jobqueue import SLURMCluster

    logs = Path("logs")
    logs.mkdir(exist_ok=True)
    # One worker process per job, with one thread per core: each thread imports one file
    # at a time, which bounds the memory and the scratch space a job needs.
    cluster = SLURMCluster(
        queue=args.partition,
        cores=args.cores,
        processes=1,
        memory=args.memory,
        walltime=args.walltime,
        log_directory=str(logs),
        job_name="zo-dask",
    )
    cluster.scale(jobs=args.jobs)
    try:
        summary = import_paths(
            args.inputs,
            prefix=args.prefix,
            env_file=args.env_file,
            output_dir=args.scratch,
            dask=cluster.scheduler_address,
        )
    finally:
        cluster.close()
    for f in summary.files:
        print(f"{f.status:<9} {f.input}" + (f": {f.error}" if f.error else ""))
    print(f"{len(summary.files)} files, {len(summary.failed)} failed, {summary.seconds:.1f} s")
    return 0 if summary.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
