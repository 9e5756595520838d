"""One replication from plain data, and many of them on an executor.

Workers receive the scenario as plain data (a dict) and the run's seed and the replication's
number, never live objects; the replication's random streams depend only on those, so the tables
are the same whichever executor ran the work and in whatever order it finished.

A replication that raises becomes a ``Failure`` record (its error and traceback), never an
exception across the pool. A worker process that dies breaks a local process pool: the pool is
restarted and the unfinished replications are run once more; those that are lost again are
recorded as failures, so nothing disappears silently.

What crosses process boundaries is small: a task is the scenario's plain data (about 4 kB pickled
for the baseline) and two integers, a record is a few dicts and lists (10-20 kB for a 90-365 day
replication), against a replication of seconds. Tasks of several scenarios (a sweep, a comparison)
are submitted in order of decreasing estimated work (``submission_order``), so that the longest
ones do not start last and leave the other workers idle at the end.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
import traceback
from collections import deque
from concurrent.futures import FIRST_COMPLETED, CancelledError, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Callable, Hashable, Iterable, Iterator, Sequence

from sim.metrics import Replication, collect
from sim.model.streams import Streams, replication_seed
from sim.model.world import World
from sim.scenario.kinds import as_task_data
from sim.scenario.schema import Scenario

WORKER_DIED = "worker process died"
TASK_LOG = "MODSIM_TASK_LOG"  # a file each replication appends its timing to (see ``logged_task``)


@dataclass
class Failure:
    """A replication that raised: recorded as data so that one failure never aborts the rest."""

    error: str
    detail: str


@dataclass(frozen=True)
class Task:
    """One replication to run: a key naming it, the scenario as plain data, the seed and its number."""

    key: Hashable
    scenario: dict
    seed: int
    index: int


@dataclass
class TaskReport:
    """What happened to a batch of tasks beyond their records: pool restarts and lost tasks."""

    restarts: int = 0
    retried: list = field(default_factory=list)
    lost: list = field(default_factory=list)


def simulate(scenario: Scenario, seed: int, index: int) -> Replication:
    """Run replication `index` of a scenario under the run's seed."""
    world = World(scenario, Streams(replication_seed(seed, index)))
    try:
        return collect(world.run())
    finally:
        world.release()


def simulate_data(scenario_data: dict | Scenario, seed: int, index: int) -> Replication | Failure:
    """Worker entry point: validate plain scenario data (or take a scenario holding kinds of the user's own, see
    ``sim.scenario.kinds.as_task_data``), run one replication, return a record or a Failure (timed by
    ``logged_task``)."""
    with logged_task():
        try:
            scenario = scenario_data if isinstance(scenario_data, Scenario) else Scenario.model_validate(scenario_data)
            return simulate(scenario, seed, index)
        except Exception as exc:  # noqa: BLE001 - a failure is recorded, never raised across the pool
            return Failure(error=f"{type(exc).__name__}: {exc}", detail=traceback.format_exc())


@contextlib.contextmanager
def logged_task() -> Iterator[None]:
    """Time one worker task: with ``MODSIM_TASK_LOG`` set to a file, append one line to it when the task ends,
    its start and end (wall clock, seconds since the epoch), the CPU seconds of its process meanwhile, and the
    process id (``python -m bench --studies`` sums them into a study's simulation CPU time). One write in
    append mode, so lines of several workers never interleave."""
    log = os.environ.get(TASK_LOG)
    if not log:
        yield
        return
    started, cpu = time.time(), time.process_time()
    try:
        yield
    finally:
        line = f"{started:.6f} {time.time():.6f} {time.process_time() - cpu:.6f} {os.getpid()}\n".encode()
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


def submission_order(tasks: Sequence[Task]) -> list[Task]:
    """The tasks in the order to submit them to a pool: longest first, so that the workers finish together.

    Work is estimated per scenario (``sim.scenario.workload.estimate``) and rounded to a power of two,
    and the sort is stable: tasks of one scenario, or of scenarios of about the same size, keep their
    order (a comparison's interleaving, a run's replication order). Tasks whose data is not a scenario
    (a wrapped function's own arguments) keep their order too.
    """
    scenarios: dict[int, dict] = {}
    for task in tasks:
        scenarios.setdefault(id(task.scenario), task.scenario)
    if len(scenarios) < 2:
        return list(tasks)
    from sim.scenario.workload import estimate

    size: dict[int, int] = {}
    for key, data in scenarios.items():
        try:
            events = estimate(Scenario.model_validate(data)).events
        except Exception:  # noqa: BLE001 - not a scenario: keep the given order
            return list(tasks)
        size[key] = math.floor(math.log2(events)) if events >= 1 and math.isfinite(events) else 0
    return sorted(tasks, key=lambda t: -size[id(t.scenario)])


def run_tasks(tasks: Sequence[Task], executor: Executor | None,
              on_done: Callable[[Hashable, Replication | Failure], None],
              function: Callable[[dict, int, int], Replication | Failure] = simulate_data,
              more: Callable[[], Sequence[Task]] | None = None,
              enough: Callable[[], bool] | None = None) -> TaskReport:
    """Run the tasks, serially when executor is None, calling ``on_done(key, record)`` as each finishes.

    ``more()``, when given, is called after each ``on_done``: the tasks it returns are run too, submitted at
    once (a study that decides its next work from the results so far, such as tune, keeps every worker busy).
    ``enough()``, when given, is asked after each ``on_done``: once it is true, the tasks not yet started are
    cancelled and this returns at once, without waiting for those still running (their results are not wanted:
    a calibration's generation that has its particles lets its next one start while they end).

    When a worker process dies (``BrokenProcessPool``) the pool is restarted (if it can be) and the
    unfinished tasks are submitted once more; tasks lost a second time are recorded as failures.
    When the executor itself gives up (a Dask client that lost its scheduler cancels every pending
    future; modsim cancels a task itself only once ``enough()``, and then waits for none), ``ExecutorLost``
    is raised once every task that had finished is handed to ``on_done``: the unfinished ones are not the
    replications' failures, and recording them as such would end the run as complete, with failures nobody
    caused.
    """
    report = TaskReport()
    if executor is None:
        queue = deque(tasks)
        while queue:
            task = queue.popleft()
            on_done(task.key, _call(function, task))
            if enough is not None and enough():
                return report
            if more is not None:
                queue.extend(more())
        return report
    pending = list(tasks)
    order = {t.key: i for i, t in enumerate(tasks)}
    retry = False
    while pending:
        futures: dict[Future, Task] = {}
        broken: list[Task] = []
        handed: set[Future] = set()

        def submit(batch: Iterable[Task]) -> list[Future]:
            submitted = []
            for t in batch:
                order.setdefault(t.key, len(order))
                try:
                    submitted.append(executor.submit(function, t.scenario, t.seed, t.index))
                except BrokenProcessPool:
                    broken.append(t)
                    continue
                futures[submitted[-1]] = t
            return submitted

        waiting = set(submit(submission_order(pending)))
        while waiting:
            finished, waiting = wait(waiting, return_when=FIRST_COMPLETED)
            for future in finished:
                task = futures[future]
                try:
                    result = future.result()
                except BrokenProcessPool:
                    broken.append(task)
                    continue
                except CancelledError:
                    _lost(futures, handed, on_done)
                except Exception as exc:  # noqa: BLE001 - e.g. a Dask worker that died: reported, not fatal
                    if _gone(executor):
                        _lost(futures, handed, on_done)
                    result = Failure(error=f"{WORKER_DIED}: {type(exc).__name__}: {exc}", detail="")
                handed.add(future)
                on_done(task.key, result)
                if enough is not None and enough():
                    for unwanted in waiting:
                        unwanted.cancel()
                    return report
                if more is not None:
                    waiting.update(submit(more()))
        broken.sort(key=lambda t: order[t.key])
        pending = []
        if not broken:
            break
        if not hasattr(executor, "restart"):
            for task in broken:
                report.lost.append(task.key)
                on_done(task.key, Failure(error=f"{WORKER_DIED} (killed or out of memory) when run again",
                                          detail=f"seed {task.seed}, replication {task.index}"))
            break
        executor.restart()
        report.restarts += 1
        if not retry:
            # First death: run everything unfinished once more, in parallel, on a fresh pool.
            report.retried.extend(t.key for t in broken)
            pending, retry = broken, "again"
            continue
        # Died again: run what is left one at a time, so that only a replication that kills its
        # worker on its own is recorded as a failure (and none is lost with it).
        queue = deque(broken)
        while queue:
            task = queue.popleft()
            future = executor.submit(function, task.scenario, task.seed, task.index)
            try:
                result = future.result()
            except BrokenProcessPool:
                executor.restart()
                report.restarts += 1
                report.lost.append(task.key)
                result = Failure(error=f"{WORKER_DIED} (killed or out of memory), also when run again alone",
                                 detail=f"seed {task.seed}, replication {task.index}")
            except Exception as exc:  # noqa: BLE001
                result = Failure(error=f"{WORKER_DIED}: {type(exc).__name__}: {exc}", detail="")
            on_done(task.key, result)
            if more is not None:
                queue.extend(more())
        break
    return report


def _gone(executor: Executor) -> bool:
    """Whether a Dask executor's client no longer talks to its scheduler (lost, reconnecting or closed)."""
    client = getattr(executor, "_client", None)
    return client is not None and getattr(client, "status", "running") not in ("running", "newly-created")


def _lost(futures: dict[Future, Task], handed: set[Future], on_done: Callable) -> None:
    """The executor gave up on the unfinished tasks: hand on the ones that did finish, then raise ExecutorLost."""
    from sim.experiment.executors import ExecutorLost

    for future, task in futures.items():
        if future in handed or not future.done() or future.cancelled() or future.exception() is not None:
            continue
        handed.add(future)
        on_done(task.key, future.result())
    unfinished = len(futures) - len(handed)
    raise ExecutorLost(f"the executor stopped running the replications ({unfinished} of {len(futures)} unfinished)")


def _call(function: Callable, task: Task) -> Replication | Failure:
    try:
        return function(task.scenario, task.seed, task.index)
    except Exception as exc:  # noqa: BLE001 - a replaced function may raise: record it
        return Failure(error=f"{type(exc).__name__}: {exc}", detail=traceback.format_exc())


def run_replications(scenario: Scenario, seed: int, indices: Iterable[int], executor: Executor | None,
                     on_done: Callable[[int, Replication | Failure], None]) -> TaskReport:
    """Run the given replications, serially when executor is None, calling on_done as each finishes."""
    data = as_task_data(scenario)
    tasks = [Task(index, data, seed, index) for index in indices]
    return run_tasks(tasks, executor, on_done)
