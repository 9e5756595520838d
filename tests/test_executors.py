"""Executors: the same tables whatever runs the replications, and dead workers retried or recorded."""

from __future__ import annotations

import os
import shutil
import socket
import warnings
from pathlib import Path

import pandas as pd
import pytest

from sim.experiment.executors import WORKER_MODULES, RestartablePool, executor_for
from sim.experiment.replicate import WORKER_DIED, Failure, Task, run_tasks, simulate_data, submission_order
from sim.experiment.runner import tables_from
from sim.metrics import Replication

SHORT = ("horizon=120h", "warmup=10h")


def _tasks(load, count=4):
    scenario = load("validation/mmc.yaml", *SHORT)
    data = scenario.model_dump(mode="json")
    return scenario, [Task(i, data, 11, i) for i in range(count)]


def _run(tasks, executor, function=simulate_data):
    records = {}
    report = run_tasks(tasks, executor, records.__setitem__, function=function)
    return records, report


def _frames(scenario, records):
    tables = tables_from(scenario, 11, records)
    return tables.replications, tables.timeseries, tables.survival


def test_serial_and_process_pool_give_identical_tables(load):
    scenario, tasks = _tasks(load)
    serial, _ = _run(tasks, None)
    with executor_for(2, None, len(tasks)) as pool:
        assert isinstance(pool, RestartablePool)
        pooled, report = _run(list(reversed(tasks)), pool)
    assert report.restarts == 0
    for a, b in zip(_frames(scenario, serial), _frames(scenario, pooled)):
        pd.testing.assert_frame_equal(a, b)


@pytest.mark.slow
def test_dask_local_cluster_gives_identical_tables(load):
    import dask

    scenario, tasks = _tasks(load, 3)
    serial, _ = _run(tasks, None)
    with executor_for(2, "local", len(tasks)) as executor:
        remote, _ = _run(tasks, executor)
        # modsim's own cluster runs its workers without Dask's statistical profiler.
        assert executor.submit(dask.config.get, "distributed.worker.profile.enabled").result() is False
    for a, b in zip(_frames(scenario, serial), _frames(scenario, remote)):
        pd.testing.assert_frame_equal(a, b)


def test_a_local_cluster_needs_no_fixed_port():
    """With Dask's default HTTP port (8787) taken, a LocalCluster starts without a word: its scheduler's HTTP
    server takes a free local port (it warned that 8787 was in use when two clusters ran at once)."""
    taken = socket.socket()
    try:
        try:
            taken.bind(("127.0.0.1", 8787))
            taken.listen()
        except OSError:
            pass  # another process has it: the same situation
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with executor_for(1, "local", 1) as executor:
                assert executor.submit(abs, -2).result() == 2
    finally:
        taken.close()
    assert not [w for w in caught if issubclass(w.category, UserWarning)], [str(w.message) for w in caught]


def test_pool_workers_start_with_the_model_loaded():
    # eval is sent by reference and imports nothing: what it sees was loaded before the task arrived,
    # by the fork server that forked the worker (also after a restart).
    loaded = "all(name in __import__('sys').modules for name in %r)" % (WORKER_MODULES + ("sim.metrics",),)
    with executor_for(2, None, 2) as pool:
        assert pool.submit(eval, loaded).result()
        pool.restart()
        assert pool.submit(eval, loaded).result()


def test_submission_order_puts_the_longest_scenarios_first(load):
    short = load("validation/mmc.yaml", "horizon=10h", "warmup=0h").model_dump(mode="json")
    long = load("validation/mmc.yaml", "horizon=1000h", "warmup=0h").model_dump(mode="json")
    medium = load("validation/mmc.yaml", "horizon=100h", "warmup=0h").model_dump(mode="json")
    tasks = [Task((name, i), data, 1, i) for i in range(2) for name, data in
             (("short", short), ("long", long), ("medium", medium))]
    ordered = submission_order(tasks)
    assert [t.key for t in ordered] == [("long", 0), ("long", 1), ("medium", 0), ("medium", 1),
                                        ("short", 0), ("short", 1)]
    # One scenario (a run), scenarios of about the same size, or data that is no scenario: order kept.
    same = [Task(i, short, 1, i) for i in range(4)]
    assert submission_order(same) == same
    twin = load("validation/mmc.yaml", "horizon=10h", "warmup=0h", "seed=5").model_dump(mode="json")
    alike = [Task(i, (short, twin)[i % 2], 1, i) for i in range(4)]
    assert submission_order(alike) == alike
    wrapped = [Task(i, {"scenario": (short, long)[i % 2]}, 1, i) for i in range(4)]
    assert submission_order(wrapped) == wrapped


def test_pool_results_do_not_depend_on_submission_order(load):
    short = load("validation/mmc.yaml", *SHORT)
    long = load("validation/mmc.yaml", "horizon=240h", "warmup=10h")
    tasks = [Task((p, i), s.model_dump(mode="json"), 11, i) for p, s in enumerate((short, long)) for i in range(2)]
    serial, _ = _run(tasks, None)
    with executor_for(2, None, len(tasks)) as pool:
        pooled, _ = _run(tasks, pool)
    assert sorted(pooled) == sorted(serial)
    for (p, i), record in serial.items():
        scenario = (short, long)[p]
        for a, b in zip(_frames(scenario, {i: record}), _frames(scenario, {i: pooled[p, i]})):
            pd.testing.assert_frame_equal(a, b)


def test_workers_one_or_single_task_is_serial():
    with executor_for(1, None, 10) as executor:
        assert executor is None
    with executor_for(4, None, 1) as executor:
        assert executor is None


def die_once(data: dict, seed: int, index: int):
    """A replication whose worker process dies the first time replication 1 runs (a marker file remembers)."""
    marker = Path(data["marker"])
    if index == 1 and not marker.exists():
        marker.write_text("died")
        os._exit(9)
    return simulate_data(data["scenario"], seed, index)


def die_always(data: dict, seed: int, index: int):
    if index == 1:
        os._exit(9)
    return simulate_data(data["scenario"], seed, index)


def _wrapped(load, tmp_path, count=3):
    scenario, tasks = _tasks(load, count)
    wrapped = [Task(t.key, {"scenario": t.scenario, "marker": str(tmp_path / "died")}, t.seed, t.index) for t in tasks]
    return scenario, tasks, wrapped


def test_a_worker_that_dies_once_is_retried(load, tmp_path):
    scenario, tasks, wrapped = _wrapped(load, tmp_path)
    with executor_for(2, None, len(wrapped)) as pool:
        records, report = _run(wrapped, pool, function=die_once)
    assert (tmp_path / "died").exists()
    assert report.restarts == 1 and 1 in report.retried and report.lost == []
    assert all(isinstance(r, Replication) for r in records.values()) and sorted(records) == [0, 1, 2]
    serial, _ = _run(tasks, None)
    pd.testing.assert_frame_equal(_frames(scenario, records)[0], _frames(scenario, serial)[0])


@pytest.mark.slow
def test_a_worker_that_dies_again_is_recorded_as_failure(load, tmp_path):
    scenario, tasks, wrapped = _wrapped(load, tmp_path)
    with executor_for(2, None, len(wrapped)) as pool:
        records, report = _run(wrapped, pool, function=die_always)
    assert sorted(records) == [0, 1, 2]
    assert isinstance(records[1], Failure) and WORKER_DIED in records[1].error
    assert 1 in report.lost
    tables = tables_from(scenario, 11, records)
    assert list(tables.failures.replication) == [1]


def test_a_raising_replication_is_a_failure_not_an_exception(load, failing_replication):
    failing_replication(2)
    scenario, tasks = _tasks(load)
    records, _ = _run(tasks, None)
    assert isinstance(records[2], Failure) and "boom" in records[2].error
    assert sum(isinstance(r, Replication) for r in records.values()) == 3


# Sent by reference (eval) and importing nothing itself; a function of this module would import pandas with it.
LOADED_HEAVY = "sorted(m for m in ('pandas', 'pyarrow', 'matplotlib', 'optuna', 'SALib') if m in __import__('sys').modules)"


def test_pool_workers_never_load_the_table_chart_or_study_libraries(load):
    """Not when they start, nor once they have run a replication and sent its record back."""
    scenario, tasks = _tasks(load, 2)
    with executor_for(2, None, 2) as pool:
        assert pool.submit(eval, LOADED_HEAVY).result() == []
        records, _ = _run(tasks, pool)
        assert all(isinstance(r, Replication) for r in records.values())
        assert [pool.submit(eval, LOADED_HEAVY).result() for _ in range(4)] == [[]] * 4


def test_charts_drawn_by_several_processes_are_the_files_drawn_by_one(load, tmp_path):
    import filecmp

    from sim.plots import draw_charts
    from sim.results import ResultsFolder, manifest
    import datetime as dt

    scenario = load("cambodia_2023.yaml", "horizon=20d")
    tables = tables_from(scenario, 1, {i: simulate_data(scenario.model_dump(mode="json"), 1, i) for i in range(2)})
    folder = ResultsFolder.create(scenario.name, tmp_path / "one", False)
    folder.write_tables(tables.files(), scenario, manifest("run", scenario, 1, dt.datetime.now(dt.timezone.utc)))
    folder.close()
    shutil.copytree(folder.work, tmp_path / "two")
    one = draw_charts(folder.work)
    two = draw_charts(tmp_path / "two", processes=3)
    assert [p.name for p in one] == [p.name for p in two] and len(one) >= 6
    for path in one:
        assert filecmp.cmp(path, tmp_path / "two" / "charts" / path.name, shallow=False), path.name


def test_charts_drawn_after_a_warm_up_are_the_files_drawn_cold(load, tmp_path):
    """``modsim run -n 1`` draws a throwaway chart first (``sim.plots.style.warm_up``): what it leaves in matplotlib
    must not change a byte of the charts. Each drawing is a new interpreter, cold or warmed up."""
    import datetime as dt
    import filecmp
    import subprocess
    import sys

    from sim.results import ResultsFolder, manifest

    scenario, tasks = _tasks(load, count=2)
    records, _ = _run(tasks, None)
    tables = tables_from(scenario, 11, records)
    folder = ResultsFolder.create(scenario.name, tmp_path / "cold", False)
    folder.write_tables(tables.files(), scenario, manifest("run", scenario, 11, dt.datetime.now(dt.timezone.utc)))
    folder.close()
    warm = tmp_path / "warm"
    shutil.copytree(folder.work, warm)
    for where, first in ((folder.work, ""), (warm, "from sim.plots.style import warm_up; warm_up(); ")):
        code = f"{first}from sim.plots import draw_charts; draw_charts({str(where)!r})"
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    cold = sorted((folder.work / "charts").iterdir())
    assert {p.suffix for p in cold} == {".png", ".svg"}
    assert [p.name for p in cold] == sorted(p.name for p in (warm / "charts").iterdir())
    for path in cold:
        assert filecmp.cmp(path, warm / "charts" / path.name, shallow=False), path.name


@pytest.mark.skipif(not hasattr(os, "fork"), reason="a head start forks")
def test_a_head_start_gives_the_serial_record_and_none_when_its_child_dies(load, monkeypatch):
    """``modsim run -n 1`` runs its replication in a forked child while it imports the rest: the record that comes
    back is the one the serial run makes, and a child that dies gives None (the run then runs it itself)."""
    import sim.experiment.replicate as replicate
    from sim.experiment.head_start import HeadStart

    scenario, [task] = _tasks(load, count=1)
    head = HeadStart(scenario, 11, 0)
    record = head.result()
    serial = simulate_data(task.scenario, 11, 0)
    assert isinstance(record, Replication) and head.times[0] <= head.times[1]
    for got, want in zip(_frames(scenario, {0: record}), _frames(scenario, {0: serial})):
        pd.testing.assert_frame_equal(got, want)
    monkeypatch.setattr(replicate, "simulate_data", lambda *args: os._exit(9))
    assert HeadStart(scenario, 11, 0).result() is None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="a head start forks")
def test_a_head_start_is_running_until_its_record_or_its_end_comes(load, monkeypatch):
    """``running`` (whether ``modsim run`` still has time to warm its charts up) is true while the child works, and
    false once it has sent its record or died, before the record is read."""
    import time

    import sim.experiment.replicate as replicate
    from sim.experiment.head_start import HeadStart

    scenario, _ = _tasks(load, count=1)
    real = replicate.simulate_data
    for stand_in, gives_record in (((lambda *args: (time.sleep(1.0), real(*args))[1]), True),
                                   ((lambda *args: (time.sleep(1.0), os._exit(9))), False)):
        monkeypatch.setattr(replicate, "simulate_data", stand_in)
        head = HeadStart(scenario, 11, 0)
        assert head.running()
        deadline = time.monotonic() + 60
        while head.running() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not head.running()
        assert isinstance(head.result(), Replication) if gives_record else head.result() is None
        assert not head.running()  # read: nothing left to wait for


def test_holding_for_the_collector_is_released_whole_and_leaves_a_callers_own_freeze_alone():
    import gc

    from sim.collector import hold, release

    assert gc.get_freeze_count() == 0
    try:
        hold()
        first = gc.get_freeze_count()
        kept = [[] for _ in range(1000)]  # tracked objects made after the first hold
        hold()
        assert first > 0 and gc.get_freeze_count() >= first + len(kept)
        release()
        assert gc.get_freeze_count() == 0
        release()  # nothing held: nothing to do
        gc.freeze()  # the caller's own
        own = gc.get_freeze_count()
        hold()
        assert gc.get_freeze_count() == own
        release()
        assert gc.get_freeze_count() == own
    finally:
        gc.unfreeze()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="a head start forks")
def test_a_run_that_freezes_its_imports_for_the_collector_unfreezes_them_at_its_end(tmp_path):
    """While a head start simulates, ``modsim run`` warms its charts up and freezes what it holds for the collector;
    a caller in the same process (a test, a notebook) must get its collector back whole. In a new interpreter (no
    other thread: a head start may fork), with the child taken as still running whatever the machine's speed."""
    import subprocess
    import sys

    code = f"""
import gc
from typer.testing import CliRunner
from sim.cli import app
from sim.experiment.head_start import HeadStart
HeadStart.running = lambda self: self._pid is not None
frozen, freeze = [], gc.freeze
gc.freeze = lambda: (frozen.append(1), freeze())
result = CliRunner().invoke(app, ["run", {str(Path(__file__).parents[1] / "scenarios/validation/mmc.yaml")!r}, "-n", "1", "--set", "horizon=200h",
                                  "--workers", "2", "--out", {str(tmp_path / "out")!r}])
print(result.exit_code, len(frozen), gc.get_freeze_count())
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "1", "0"], done.stdout + done.stderr
    assert (tmp_path / "out" / "report.html").is_file()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="a head start forks")
def test_a_head_start_stopped_leaves_no_child(load, monkeypatch):
    """A run that ends before it reads the head start's record (an error, an interrupt) kills the child."""
    import time

    import sim.experiment.replicate as replicate
    from sim.experiment.head_start import HeadStart

    scenario, _ = _tasks(load, count=1)
    monkeypatch.setattr(replicate, "simulate_data", lambda *args: time.sleep(60))
    head = HeadStart(scenario, 11, 0)
    pid = head._pid
    head.stop()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
