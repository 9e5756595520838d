"""Ctrl-C (SIGINT) handling shared by the commands and their worker processes.

A terminal sends SIGINT to every process of the foreground job: the ``modsim`` process and its
pool workers alike. Only the parent should handle it (stop submitting work, keep every finished
replication, say how to resume); a worker that raised ``KeyboardInterrupt`` would print its own
traceback and break the pool. Pool workers therefore start with ``ignore_sigint`` as their
initializer, and the parent stops them with ``stop_workers`` when it is interrupted, so that an
interrupted run ends at once rather than after the replications in progress.
"""

from __future__ import annotations

import signal
from concurrent.futures import Executor


def ignore_sigint() -> None:
    """Pool initializer: this (worker) process ignores SIGINT; the parent alone handles Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def stop_workers(executor: Executor | None) -> None:
    """Terminate the worker processes of a local process pool at once, dropping queued work.

    Work in progress is lost (it was not finished, so nothing that was saved is); finished
    replications were saved as they finished. Does nothing for other executors.
    """
    pool = getattr(executor, "_pool", executor)  # a RestartablePool wraps a ProcessPoolExecutor
    processes = getattr(pool, "_processes", None) or {}
    for process in list(processes.values()):
        try:
            process.terminate()
        except (OSError, ValueError, AttributeError):
            pass
    try:
        pool.shutdown(wait=False, cancel_futures=True)
    except Exception:  # noqa: BLE001 - a pool broken by the terminations is fine: it is being dropped
        pass
