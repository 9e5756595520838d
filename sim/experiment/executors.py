"""Where replications run: serially, in a local process pool, or on a Dask distributed cluster.

Every executor is a ``concurrent.futures.Executor``, so the code that submits work is the same
for all three. The pool is embedded and needs no setup; ``scheduler`` (or the environment variable
``DASK_SCHEDULER_ADDRESS``) sends the same work to an existing Dask cluster (an address such as
``tcp://127.0.0.1:8786``, or ``local`` to start a ``LocalCluster`` on this machine).

A worker process that dies (killed, out of memory) breaks a ``ProcessPoolExecutor`` for good: every
pending future fails with ``BrokenProcessPool``. The local pool is therefore a ``RestartablePool``,
whose ``restart()`` replaces the broken pool with a fresh one so that the unfinished work can be
submitted again (see ``sim.experiment.replicate.run_tasks``).

Start-up. On POSIX the pool's workers are forked by multiprocessing's fork server, which is told to
import the simulation (``WORKER_MODULES``) once, before it forks anything: every worker then starts
with numpy, pandas, pydantic and the model already loaded instead of importing them itself (about
0.6 s of CPU per worker). The fork server lives as long as this process, so a second pool (a pool
restarted after a worker died, the next run of a script, the next trial of a study) starts in
milliseconds. Workers are never forked from this process itself, which may be running threads
(progress bars, Dask's event loop); the fork server runs no Python thread.

Signals. The fork server ignores SIGINT and SIGHUP from its start (``sim.experiment.fork_server``), and
every process it forks (pool workers, a LocalCluster's Dask workers) starts with them ignored too: a
terminal's Ctrl-C or hang-up reaches the whole job, but only this process handles it, and stops its
workers (``sim.interrupts``). Pool workers also end at once when this process has ended, however it
ended; Dask's workers do so by themselves. The fork server and the resource tracker then end too.

Dask. The ``LocalCluster`` that ``--scheduler local`` starts has its nannies fork their workers from
the same fork server (with ``distributed`` preloaded as well) instead of spawning fresh interpreters:
the workers start with the model loaded, and a forked worker ends with ``os._exit``, where a spawned
one first tears its interpreter down (most of a second for a worker grown to half a gigabyte by a
long run) while the cluster waits for it to close. Its workers also run without Dask's statistical
profiler (``distributed.worker.profile``), which every 10 ms takes the GIL from the running
replication to walk its stack, for a profile that only Dask's dashboard shows (modsim starts none).
Neither applies to a cluster given by address: its workers are whatever it started.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Callable, Iterator

from sim.errors import ModsimError
from sim.experiment.stand_in_main import describe_main
from sim.interrupts import WORKER_IGNORED, held_back, start_worker, stop_workers


class ExecutorError(ModsimError):
    """The executor asked for cannot be used (e.g. an unreachable Dask scheduler)."""


class ExecutorLost(ExecutorError):
    """The executor stopped running the submitted replications (a Dask cluster whose scheduler went away):
    those that finished were handed on; the others are neither results nor failures, and run on --resume."""


def default_workers() -> int:
    """Worker processes used when none are asked for: the cores this process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def scheduler_address(scheduler: str | None) -> str | None:
    """The Dask scheduler to use: the option, else ``DASK_SCHEDULER_ADDRESS``, else None (local)."""
    return scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None


# Imported once by the fork server, so that every worker it forks starts with the simulation loaded.
WORKER_MODULES = ("sim.experiment.replicate",)


def pool_context(*also: str) -> multiprocessing.context.BaseContext:
    """The multiprocessing context of local pools: a fork server that preloads ``WORKER_MODULES`` and
    the modules ``also`` (POSIX), else spawn.

    The preload list only takes effect if the fork server is not running yet; it is started now
    (``start_fork_server``). Instead of the main script (multiprocessing's default) it preloads a
    stand-in for it, so that workers never run the user's script again
    (``sim.experiment.stand_in_main``: a script without a ``__main__`` guard works); first of all, the
    module that makes it ignore the terminal's signals (``sim.experiment.fork_server``).
    """
    if os.name != "posix":  # pragma: no cover - no fork server on Windows
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    describe_main()
    context.set_forkserver_preload(["sim.experiment.fork_server", "sim.experiment.stand_in_main", *WORKER_MODULES,
                                    *also])
    start_fork_server()
    return context


def start_pool_early(workers: int | None, scheduler: str | None = None) -> None:
    """Start the fork server of a local pool now, when the work will run on one (more than one worker, no Dask),
    so that its preloading (the model's imports, about 0.5 s) runs beside this process's own checks instead of
    after them."""
    if not scheduler_address(scheduler) and (default_workers() if workers is None else workers) > 1:
        pool_context()


def start_fork_server() -> None:
    """Start multiprocessing's fork server (and resource tracker) now, unless running. The server ignores
    SIGINT and SIGHUP from its first preloaded module on (``sim.experiment.fork_server``, which says why the
    parent does not do it for the server), and so does every worker it forks from its very start.

    Until then the server holds them back: it inherits the mask of the thread that starts it, which holds
    them back meanwhile (only holds them: this process still handles them, a signal taken meanwhile by
    another of its threads included), so a Ctrl-C in the server's first tenth of a second is not its own
    "KeyboardInterrupt" traceback. The resource tracker is started first, on its own: starting it unblocks
    SIGINT in the starting thread whatever its mask was (it ignores SIGINT itself).
    """
    import signal
    import threading
    from multiprocessing import forkserver, resource_tracker

    resource_tracker.ensure_running()
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        forkserver.ensure_running()
        return
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, WORKER_IGNORED)
    try:
        forkserver.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


class RestartablePool(Executor):
    """A local process pool that can be replaced by a fresh one after a worker died."""

    def __init__(self, workers: int):
        self.workers = workers
        self.restarts = 0
        self._context = pool_context()
        self._pool = self._new()

    def _new(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=self._context, initializer=start_worker)

    def submit(self, fn: Callable, /, *args, **kwargs) -> Future:
        with held_back():  # may start a worker: a Ctrl-C waits until the pool has recorded it (and can stop it)
            return self._pool.submit(fn, *args, **kwargs)

    def restart(self) -> None:
        """Drop the (broken) pool and start a new one."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new()
        self.restarts += 1

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    def manager_thread(self):
        """The thread of the current pool that feeds its workers and collects their results (or None)."""
        return getattr(self._pool, "_executor_manager_thread", None)


class Prefetching(Executor):
    """An executor that starts some work before it is asked for: ``prefetch(fn, data, seed, index)`` submits it
    now, and the first ``submit`` of the same call (the same function, equal data, seed and number) returns that
    future instead of running it again. Everything else is the wrapped executor's (a local pool or Dask)."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self._ahead: dict[tuple[int, int], tuple[Callable, dict, Future]] = {}

    def prefetch(self, fn: Callable, data: dict, seed: int, index: int) -> None:
        """Start ``fn(data, seed, index)`` now."""
        self._ahead[(seed, index)] = (fn, data, self.executor.submit(fn, data, seed, index))

    def submit(self, fn: Callable, /, *args, **kwargs) -> Future:
        if len(args) == 3 and not kwargs:
            ahead = self._ahead.pop((args[1], args[2]), None)
            if ahead is not None and ahead[0] is fn and ahead[1] == args[0]:
                return ahead[2]
        return self.executor.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._ahead.clear()
        self.executor.shutdown(wait=wait, cancel_futures=cancel_futures)

    def __getattr__(self, name: str):
        attribute = getattr(self.executor, name)  # e.g. a pool's restart, a Dask executor's client
        if name != "restart":
            return attribute

        def restart() -> None:
            self._ahead.clear()  # what was prefetched died with the old pool
            attribute()

        return restart


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
        manager = pool.manager_thread()
        stop_workers(pool)  # finished replications are saved; work in progress is dropped at once
        if manager is not None:
            # Let it finish closing the pool's pipes before this process exits: at exit, Python wakes
            # every such thread through its pipe, and a pipe being closed meanwhile prints a traceback.
            manager.join(timeout=5)
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
        import dask

        n = default_workers() if workers is None else max(workers, 1)
        # The nannies read these when they start their workers, and hand the configuration on to them.
        config = {"distributed.worker.profile.enabled": False}
        if os.name == "posix":
            config["distributed.worker.multiprocessing-method"] = "forkserver"
            pool_context("distributed")  # starts the fork server now, with modsim's preload list
        # What Dask (and Tornado, asyncio under it) log while a cluster is torn down mid-work, after an
        # interrupt, is noise (a cancelled future, a closed comm), each with its traceback: logging is
        # off for that while (in this process; the workers are killed before they can say anything). The
        # workers log at CRITICAL only: at a normal close the scheduler may stop before a worker's last
        # heartbeat, which it would report as an error with a traceback; a task's own failure comes back in
        # its future, and modsim records it.
        disabled = logging.root.manager.disable
        try:
            with dask.config.set(config), \
                    LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                 # No dashboard; the scheduler's HTTP server (which runs anyway) on a free
                                 # local port, not on 8787, where a second cluster warned that it was taken.
                                 dashboard_address="127.0.0.1:0", scheduler_kwargs={"dashboard": False},
                                 silence_logs=logging.CRITICAL) as cluster, Client(cluster) as client:
                try:
                    yield client.get_executor()
                except KeyboardInterrupt:
                    logging.disable(logging.CRITICAL)
                    _stop_dask_workers(cluster)
                    raise
        finally:
            logging.disable(disabled)
    else:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise ExecutorError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc})") from None
        disabled = logging.root.manager.disable
        try:
            with client:
                try:
                    yield client.get_executor()
                except ExecutorLost:
                    # The client retries the lost scheduler, then logs its failure with a traceback (also
                    # while being closed): noise once modsim says so itself, in one line.
                    logging.disable(logging.CRITICAL)
                    raise ExecutorLost(f"--scheduler {scheduler}: lost the connection to the Dask scheduler; the "
                                       "replications it was running are lost") from None
        finally:
            logging.disable(disabled)


def _stop_dask_workers(cluster) -> None:
    """Stop the worker processes of a ``LocalCluster`` at once, as ``stop_workers`` does a pool's.

    Its nannies are closed with no time for their workers to close themselves: a worker told to
    close while its thread runs a replication closes late, and a heartbeat it had in flight then
    fails with an error printed with its traceback. The killed workers print nothing; the work
    they were doing is lost, as in a pool (the finished replications were saved).
    """
    import asyncio

    nannies = list(getattr(cluster, "workers", {}).values())
    processes = [process for nanny in nannies if (process := getattr(nanny, "process", None)) is not None]

    async def close_all() -> None:
        await asyncio.gather(*(nanny.close(timeout=0, reason="modsim-interrupted") for nanny in nannies),
                             return_exceptions=True)
        # Until each killed worker has been reaped: one found still running later is "reaped" with a log line.
        await asyncio.gather(*(asyncio.wait_for(process.stopped.wait(), 5) for process in processes
                               if hasattr(process, "stopped")), return_exceptions=True)

    try:
        cluster.sync(close_all)
    except Exception:  # noqa: BLE001 - the cluster is being closed anyway
        pass
