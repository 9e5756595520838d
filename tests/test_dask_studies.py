"""Every study on Dask: identical tables on a real cluster, on a LocalCluster of 4 workers and serially,
and a run that loses a Dask worker mid-way finishes with identical tables (Dask reschedules its work).

The real cluster is ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1, on free ports
(``--port 0``), each in a session of its own so that it is stopped, with everything it started, by
its process group whatever happens to the test (``stop_group`` in a ``finally``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from tests.test_experiments import assert_same_tables
from tests.test_fault_campaign import (  # noqa: F401 - inputs is a fixture
    BIN, MMC, _dask, _scheduler_address, command, inputs, parts_of, run_to_end, start, stop_group, wait_for,
)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (BIN / "dask").exists(), reason="needs Dask distributed's `dask` command")]

STUDIES = ("run", "compare", "sweep", "tune", "sensitivity", "calibrate")


@contextlib.contextmanager
def dask_cluster(folder: Path, workers: int = 2) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """A scheduler and ``workers`` single-threaded workers on 127.0.0.1: (address, [scheduler, worker...])."""
    members: list[subprocess.Popen] = []
    try:
        scheduler = _dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", cwd=folder,
                          log=folder / "scheduler.log")
        members.append(scheduler)
        address = _scheduler_address(folder / "scheduler.log", scheduler)
        for k in range(workers):
            members.append(_dask("worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--nworkers", "1",
                                 "--no-dashboard", cwd=folder, log=folder / f"worker{k}.log"))
        yield address, members
    finally:
        for member in reversed(members):
            stop_group(member)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[str]:
    with dask_cluster(tmp_path_factory.mktemp("cluster")) as (address, _):
        yield address


def _ran(words: list[str], where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    done = run_to_end([*words, "--out", "out"], where)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return where / "out"


@pytest.mark.parametrize("name", STUDIES)
def test_every_study_gives_the_same_tables_serially_on_a_local_cluster_and_on_a_real_one(tmp_path, inputs, cluster,
                                                                                          name):
    words = command(name, inputs)
    serial = _ran([*words, "--workers", "1"], tmp_path / "serial")
    real = _ran([*words, "--scheduler", cluster], tmp_path / "real")
    local = _ran([*words, "--scheduler", "local", "--workers", "4"], tmp_path / "local")
    assert_same_tables(serial, real)
    assert_same_tables(serial, local)


def test_a_dask_worker_killed_mid_run_loses_nothing(tmp_path):
    """Dask reschedules the lost worker's replications on the other: the run ends normally, tables identical."""
    words = ["run", str(MMC), "-n", "6", "--seed", "3", "--set", "horizon=4000h"]
    serial = _ran([*words, "--workers", "1"], tmp_path / "serial")
    run = tmp_path / "run"
    run.mkdir()
    process = None
    with dask_cluster(tmp_path) as (address, members):
        try:
            process = start([*words, "--scheduler", address, "--out", "out"], run)
            wait_for(lambda: parts_of(run / ".out.partial"), process, 120, "a replication finished on the cluster")
            os.killpg(members[1].pid, signal.SIGKILL)  # the first worker, its nanny and its process
            finished_before = len(parts_of(run / ".out.partial"))
            stdout, stderr = process.communicate(timeout=180)
        finally:
            if process is not None:
                stop_group(process)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stdout + stderr
    assert finished_before < 6, "every replication had finished before the worker was killed"
    assert_same_tables(serial, run / "out")
