"""Where replications run: serially, in a local process pool, or on a Dask distributed cluster.

Every executor is a ``concurrent.futures.Executor``, so the code that submits work is the same
for all three. The pool is embedded and needs no setup; ``scheduler`` (or the environment variable
``DASK_SCHEDULER_ADDRESS``) sends the same work to an existing Dask cluster (an address such as
``tcp://127.0.0.1:8786``, or ``local`` to start a ``LocalCluster`` on this machine).

A worker process that dies (killed, out of memory) breaks a ``ProcessPoolExecutor`` for good: every
pending future fails with ``BrokenProcessPool``. The local pool is therefore a ``RestartablePool``,
whose ``restart()`` replaces the broken pool with a fresh one so that the unfinished work can be
submitted again (see ``sim.experiment.replicate.run_tasks``).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Callable, Iterator

from sim.errors import ModsimError
from sim.interrupts import ignore_sigint, stop_workers


class ExecutorError(ModsimError):
    """The executor asked for cannot be used (e.g. an unreachable Dask scheduler)."""


def default_workers() -> int:
    """Worker processes used when none are asked for: the cores this process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def scheduler_address(scheduler: str | None) -> str | None:
    """The Dask scheduler to use: the option, else ``DASK_SCHEDULER_ADDRESS``, else None (local)."""
    return scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None


class RestartablePool(Executor):
    """A local process pool that can be replaced by a fresh one after a worker died."""

    def __init__(self, workers: int):
        self.workers = workers
        self.restarts = 0
        self._context = multiprocessing.get_context("spawn" if os.name != "posix" else "forkserver")
        self._pool = self._new()

    def _new(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=self._context, initializer=ignore_sigint)

    def submit(self, fn: Callable, /, *args, **kwargs) -> Future:
        return self._pool.submit(fn, *args, **kwargs)

    def restart(self) -> None:
        """Drop the (broken) pool and start a new one."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new()
        self.restarts += 1

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


@contextlib.contextmanager
def executor_for(workers: int | None, scheduler: str | None = None, tasks: int = 0) -> Iterator[Executor | None]:
    """The executor for a piece of work: None means run serially in this process."""
    scheduler = scheduler_address(scheduler)
    if scheduler:
        with _dask_executor(scheduler, workers) as executor:
            yield executor
        return
    workers = default_workers() if workers is None else workers
    if workers <= 1 or tasks <= 1:
        yield None
        return
    pool = RestartablePool(min(workers, tasks))
    try:
        yield pool
    except KeyboardInterrupt:
        stop_workers(pool)  # finished replications are saved; work in progress is dropped at once
        raise
    except BaseException:
        # Failed: do not start queued work, only wait for what is running.
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


@contextlib.contextmanager
def _dask_executor(scheduler: str, workers: int | None) -> Iterator[Executor]:
    import logging

    from distributed import Client, LocalCluster

    if scheduler == "local":
        n = default_workers() if workers is None else max(workers, 1)
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            yield client.get_executor()
    else:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise ExecutorError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc})") from None
        with client:
            yield client.get_executor()
