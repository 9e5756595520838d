"""The first module the fork server of local pools preloads (``sim.experiment.executors.pool_context``),
imported nowhere else: from here on the fork server ignores the terminal's SIGINT and SIGHUP, and so does
every process it forks (pool workers, a LocalCluster's Dask nannies and workers), since an "ignored"
disposition is inherited across fork where a handler is not. The parent alone handles them, and stops
its workers.

The parent used to ignore them itself while it started the server, holding them back meanwhile in its
main thread. But a signal sent to a process is taken by any of its threads that does not hold it back
(numpy's OpenBLAS threads, started at import, are such threads), and a signal taken while ignored is
lost: a Ctrl-C in those few milliseconds stopped nothing (2 of 80 stops aimed at that moment, with both
cores busy). The server starts with them held back instead (see ``start_fork_server``), until here.
"""

from __future__ import annotations

import signal
import sys

from sim.interrupts import WORKER_IGNORED


def in_the_fork_server() -> bool:
    """Whether this process is multiprocessing's fork server (run as ``python -c 'from multiprocessing.forkserver
    import main; main(...)'``)."""
    return sys.argv[:1] == ["-c"] and "multiprocessing.forkserver" in sys.modules


if in_the_fork_server():
    for _signum in WORKER_IGNORED:
        signal.signal(_signum, signal.SIG_IGN)  # what came while held back is dropped: the parent had it too
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, WORKER_IGNORED)  # held back since its start (start_fork_server)
