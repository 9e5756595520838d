"""Where replications run: serially, in a local process pool, or on a Dask distributed cluster.

Every executor is a ``concurrent.futures.Executor``, so the code that submits work is the same
for all three. The pool is embedded and needs no setup; ``scheduler`` sends the same work to an
existing Dask cluster (an address such as ``tcp://127.0.0.1:8786``, or ``local`` to start a
``LocalCluster`` on this machine).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Iterator


def default_workers() -> int:
    """Worker processes used when none are asked for: the cores this process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def executor_for(workers: int | None, scheduler: str | None = None, tasks: int = 0) -> Iterator[Executor | None]:
    """The executor for a piece of work: None means run serially in this process."""
    scheduler = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    if scheduler:
        with _dask_executor(scheduler, workers) as executor:
            yield executor
        return
    workers = default_workers() if workers is None else workers
    if workers <= 1 or tasks <= 1:
        yield None
        return
    context = multiprocessing.get_context("spawn" if os.name != "posix" else "forkserver")
    with ProcessPoolExecutor(max_workers=min(workers, tasks), mp_context=context) as pool:
        yield pool


@contextlib.contextmanager
def _dask_executor(scheduler: str, workers: int | None) -> Iterator[Executor]:
    from distributed import Client, LocalCluster

    if scheduler == "local":
        n = default_workers() if workers is None else max(workers, 1)
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            yield client.get_executor()
    else:
        with Client(scheduler, timeout="10s") as client:
            yield client.get_executor()
