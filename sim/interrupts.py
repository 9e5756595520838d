"""Stopping: Ctrl-C (SIGINT), SIGTERM and SIGHUP, in the commands and in their worker processes.

A terminal sends SIGINT (Ctrl-C) and, when it closes, SIGHUP to every process of the foreground job:
the ``modsim`` process, its pool workers, the fork server and a LocalCluster's Dask workers alike.
``kill``, a batch scheduler or a service manager send SIGTERM, often to the ``modsim`` process alone.
Only the parent handles any of them, in one way (``stop_on_signals``): it stops submitting work,
keeps every finished replication, stops its workers and says how to resume. SIGTERM and SIGHUP
raise ``Stopped``, a ``KeyboardInterrupt``, so that everything that handles Ctrl-C handles them too;
the exit status says which signal it was (``exit_status``: 130, 143, 129).

The workers leave it to the parent: a worker that raised ``KeyboardInterrupt`` would print its own
traceback and break the pool. The fork server ignores SIGINT and SIGHUP from its start (see
``sim.experiment.fork_server``), which every process it forks inherits from its first instruction,
and pool workers start with ``start_worker`` as their initializer. The parent stops its pool with
``stop_workers`` (so that an interrupted run ends at once rather than after the replications in
progress), and a pool worker whose parent is gone for any reason (even ``kill -9``)
ends at once (``exit_with_parent``): no process of a run outlives it, and none keeps its output
pipes open. The fork server and multiprocessing's resource tracker end when the last process
using them has ended.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from concurrent.futures import Executor

# The signals that stop a command like Ctrl-C. SIGHUP does not exist on Windows.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
# Signals that pool workers and the fork server ignore: the terminal sends them to the whole job.
WORKER_IGNORED = tuple(getattr(signal, name) for name in ("SIGINT", "SIGHUP") if hasattr(signal, name))
# A repeated signal is ignored while the first one is being handled (saving, stopping workers), for
# this long; one after that means the clean stop is stuck, and the process exits at once.
GRACE_S = 10.0


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: handled like Ctrl-C (it is a ``KeyboardInterrupt``), exit 128 + signal."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_signal: int | None = None  # the signal that is stopping this process (None: none, or exiting normally)
_since: float | None = None  # when it began stopping (or exiting), by time.monotonic()
_holding = 0  # depth of ``held_back`` blocks: a stopping signal arriving inside one waits for its end
_held: int | None = None  # the signal held back meanwhile
_redelivering = False  # inside the unraisable hook: a stop raised there would be swallowed again
_redelivery = None  # the thread that delivers a swallowed stop again (see ``_redeliver_swallowed_stop``)


def exit_status(signum: int | None) -> int:
    """The exit status of a command stopped by ``signum``: 128 + its number (130 for Ctrl-C, 143, 129)."""
    return 128 + int(signum if signum is not None else signal.SIGINT)


def stop_signal() -> int | None:
    """The signal that is stopping this process, if one is (set by the handlers of ``stop_on_signals``)."""
    return _signal


def signal_name(signum: int | None) -> str:
    """SIGINT, SIGTERM or SIGHUP."""
    return signal.Signals(signum if signum is not None else signal.SIGINT).name


def _on_signal(signum: int, frame) -> None:
    global _signal, _since, _held
    if _redelivering:  # raised here it would be lost; the redelivery thread tries again once the hook returns
        return
    if _holding and _since is None:
        _held = _held if _held is not None else signum
        return
    if _since is None and _importing(frame):
        _deliver_later(signum)
        return
    if _since is None:
        _signal, _since = signum, time.monotonic()
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Stopped(signum)
    # Already stopping (or exiting): raising again would break the clean-up half-way.
    if time.monotonic() - _since > GRACE_S:
        os._exit(exit_status(_signal if _signal is not None else signum))


def stop_on_signals() -> None:
    """Handle SIGINT, SIGTERM and SIGHUP in this (main) process: the first raises ``KeyboardInterrupt``
    (``Stopped`` for SIGTERM and SIGHUP); another one while stopping is ignored (after ``GRACE_S``, it
    exits at once). A signal that this process was started with ignored (``nohup``) stays ignored."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) is signal.SIG_IGN:
            continue
        signal.signal(signum, _on_signal)
    if sys.unraisablehook is not _redeliver_swallowed_stop:
        global _python_unraisablehook
        _python_unraisablehook = sys.unraisablehook
        sys.unraisablehook = _redeliver_swallowed_stop


_python_unraisablehook = sys.unraisablehook


def _redeliver_swallowed_stop(unraisable) -> None:
    """``sys.unraisablehook``: a stop raised while Python was inside a callback it cannot raise from (a weakref
    or garbage-collector callback, a ``__del__``) would only be printed, "Exception ignored", and the command
    would go on. Instead it is delivered again, by a short-lived thread, once the callback has returned."""
    global _since, _redelivering
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and _signal is not None:
        _redelivering = True
        try:
            _since = None  # not stopping yet, as far as the handler is concerned
            _deliver_later(_signal)  # it waits for the new thread: a signal meanwhile must not raise here
        finally:
            _redelivering = False
        return
    _python_unraisablehook(unraisable)


def _importing(frame) -> bool:
    """Whether ``frame`` runs inside an import. A stop raised there can come out as another error: an extension
    module whose initialisation runs Python code (matplotlib's ``_path``, for one) fails with "ImportError:
    initialization failed" when the ``KeyboardInterrupt`` is raised in that code, and the command would end in
    a traceback. So the stop waits for the import to end (``_deliver_later``): 2.5 s at most (pyabc)."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib._bootstrap"):
            return True
        frame = frame.f_back
    return False


def _deliver_later(signum: int) -> None:
    """Deliver the stop of ``signum`` again, by a short-lived thread, until the handler raises it (see
    ``_deliver_again``)."""
    import threading

    global _redelivery
    if _redelivery is None or not _redelivery.is_alive():
        _redelivery = threading.Thread(target=_deliver_again, args=(signum,), name="modsim-stop-again", daemon=True)
        _redelivery.start()


def _deliver_again(signum: int) -> None:
    """Signal the main thread until its handler has raised the stop where it can be raised (outside the hook, or
    once the import has ended)."""
    import _thread

    while _since is None:  # while the hook or an import still runs, the handler waits: try again
        _thread.interrupt_main(signum)
        time.sleep(0.01)


@contextlib.contextmanager
def held_back() -> Iterator[None]:
    """Hold back the stop (the ``KeyboardInterrupt``) of a signal arriving inside the block until it ends.

    For steps that must not be cut in the middle: a process pool starts a worker inside ``submit``,
    and a worker started but not yet recorded in the pool is one that ``stop_workers`` cannot stop;
    it outlives the stopped pool and dies with a traceback reading the queues the pool removed."""
    import threading

    global _holding, _held
    if threading.current_thread() is not threading.main_thread():  # signals are handled in the main thread
        yield
        return
    _holding += 1
    try:
        yield
    finally:
        _holding -= 1
        if not _holding and _held is not None:
            signum, _held = _held, None
            _on_signal(signum, None)


def exiting() -> None:
    """The command is ending (normally or not): a signal from now on does not raise any more."""
    global _since
    if _since is None:
        _since = time.monotonic()


def ignore_sigint() -> None:
    """Pool initializer: this (worker) process ignores SIGINT; the parent alone handles Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start_worker() -> None:
    """Pool initializer: ignore the terminal's SIGINT and SIGHUP (the parent handles them and stops
    this worker) and end as soon as the parent process has ended (``exit_with_parent``)."""
    for signum in WORKER_IGNORED:
        signal.signal(signum, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, WORKER_IGNORED)  # in case the process that forked it held them back
    exit_with_parent()


def exit_with_parent() -> None:
    """End this worker process at once when the process that started it has ended, however it ended.

    multiprocessing gives every child a sentinel of its parent (the write end of a pipe that only
    the parent holds): a thread waits for it to close. Does nothing in a process that
    multiprocessing did not start.
    """
    import multiprocessing
    import threading
    from multiprocessing.connection import wait

    parent = multiprocessing.parent_process()
    sentinel = getattr(parent, "sentinel", None)
    if sentinel is None:
        return

    def watch() -> None:
        try:
            wait([sentinel])
        except Exception:  # noqa: BLE001 - cannot watch: the parent stops this worker itself
            return
        os._exit(1)

    threading.Thread(target=watch, name="modsim-exit-with-parent", daemon=True).start()


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


def plain_data(model) -> dict:
    """``model.model_dump(mode="json")``, where a Ctrl-C (or a stopping signal) that lands inside one of the
    model's serializer functions (a duration's ``format_duration``) stays a KeyboardInterrupt: pydantic would
    otherwise report it as a PydanticSerializationError, and the command would end in a traceback."""
    try:
        return model.model_dump(mode="json")
    except Exception as exc:  # noqa: BLE001 - only an interrupt inside is turned back; the rest is raised as it is
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, KeyboardInterrupt):
            raise cause from None
        raise
