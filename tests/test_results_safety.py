"""The results folder is safe: --force removes only what modsim provably wrote, one command at a time
(a lock), saved replications that are damaged or not this run's are run again, a run stopped while
being moved into place is finished by --resume, and a seed the tables cannot hold is refused.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sim import results
from sim.results import folder as results_folder
from sim.folder_lock import FolderLock
from sim.cli import app
from sim.experiment import compare as cmp
from sim.experiment.replicate import simulate_data
from sim.results import ResultsFolder, scenario_hash

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
MMC = ROOT / "scenarios" / "validation" / "mmc.yaml"
SETS = ["horizon=2d"]
QUICK = ["--set", "horizon=2d", "-n", "3", "--workers", "1"]
TABLES = ("replications.parquet", "timeseries.parquet", "tracked.parquet", "survival.parquet")
MODSIM = [sys.executable, "-c", "from sim.cli import main; main()"]


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines
    return lines[0]


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every entry under a folder with its content (None for folders)."""
    return {p.relative_to(folder).as_posix(): (None if p.is_dir() else p.read_bytes())
            for p in sorted(folder.rglob("*"))}


@pytest.fixture
def no_charts(monkeypatch):
    """Charts and the report are other modules' work (and slow): skipped where a test does not need them."""
    import sim.plots
    import sim.report

    monkeypatch.setattr(sim.plots, "draw_charts", lambda folder, outcomes=None, processes=1: [])
    monkeypatch.setattr(sim.report, "write_report", lambda folder, outcomes=None: None)


def run(out, *extra, seed=11):
    return invoke("run", BASELINE, *QUICK, "--seed", seed, *extra, "--out", out)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The tables of uninterrupted runs with seeds 11 and 12."""
    import sim.plots
    import sim.report

    mp = pytest.MonkeyPatch()
    mp.setattr(sim.plots, "draw_charts", lambda folder, outcomes=None, processes=1: [])
    mp.setattr(sim.report, "write_report", lambda folder, outcomes=None: None)
    try:
        tables = {}
        for seed in (11, 12):
            out = tmp_path_factory.mktemp("ref") / f"ref{seed}"
            result = run(out, seed=seed)
            assert result.exit_code == 0, result.output
            tables[seed] = {name: pd.read_parquet(out / name) for name in TABLES}
        return tables
    finally:
        mp.undo()


def assert_tables(folder: Path, expected: dict) -> None:
    for name, table in expected.items():
        pd.testing.assert_frame_equal(pd.read_parquet(folder / name), table)


def only_results_left(parent: Path, *names: str) -> None:
    """Nothing of modsim's own is left beside the results: no partial folder, no lock file."""
    assert sorted(p.name for p in parent.iterdir()) == sorted(names)


# ------------------------------------------------------------------------------ --force and ownership


def test_force_never_removes_a_folder_that_merely_has_a_manifest(tmp_path):
    app_dir = tmp_path / "app"
    (app_dir / "src").mkdir(parents=True)
    (app_dir / "manifest.json").write_text('{"name": "my web app", "version": "1.0"}')
    (app_dir / "src" / "app.js").write_text("console.log('precious')")
    before = tree(app_dir)
    result = invoke("run", BASELINE, "--set", "horizon=1d", "-n", "1", "--out", app_dir, "--force")
    assert result.exit_code == 2
    assert error_line(result) == (
        f"error: --out {app_dir}: folder is not a modsim results folder (its manifest.json carries no modsim "
        "file list); modsim will not remove it even with --force: choose another folder")
    assert tree(app_dir) == before
    only_results_left(tmp_path, "app")


def test_force_refuses_a_modsim_folder_that_holds_other_files(tmp_path, no_charts):
    out = tmp_path / "out"
    assert run(out).exit_code == 0
    (out / "notes.txt").write_text("mine")
    (out / "charts").mkdir()
    (out / "charts" / "figure.pdf").write_bytes(b"%PDF")
    before = tree(out)
    result = run(out, "--force")
    assert result.exit_code == 2
    line = error_line(result)
    assert "holds charts/figure.pdf, which modsim did not write" in line
    assert "modsim will not remove it even with --force" in line
    assert tree(out) == before
    only_results_left(tmp_path, "out")


def test_force_replaces_a_folder_modsim_wrote_even_with_its_charts_redrawn(tmp_path, reference):
    out = tmp_path / "out"
    assert run(out).exit_code == 0  # with charts and report.html
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["modsim_format"] == 1 and "replications.parquet" in manifest["files"]
    assert {e for e in manifest["files"] if e.startswith("charts/")} and "report.html" in manifest["files"]
    (out / "charts" / "sweep_extra.png").write_bytes(b"png")  # what `modsim plot` may add
    result = run(out, "--force", seed=12)
    assert result.exit_code == 0, result.output
    assert not (out / "charts" / "sweep_extra.png").exists()
    assert json.loads((out / "manifest.json").read_text())["seed"] == 12
    assert_tables(out, reference[12])
    only_results_left(tmp_path, "out")


def test_force_refuses_a_manifest_listing_files_outside_the_folder(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"modsim_format": 1, "files": ["../victim.txt"]}))
    (out / "other").write_text("x")
    result = invoke("run", BASELINE, "--set", "horizon=1d", "-n", "1", "--out", out, "--force")
    assert result.exit_code == 2 and "holds other, which modsim did not write" in error_line(result)
    assert victim.read_text() == "keep" and (out / "other").exists()


def test_a_foreign_lock_file_is_never_taken_or_removed(tmp_path):
    (tmp_path / ".out.lock").write_text("my own notes")
    result = invoke("run", BASELINE, "--set", "horizon=1d", "-n", "1", "--out", tmp_path / "out")
    assert result.exit_code == 2 and "is in the way (not a lock file modsim made)" in error_line(result)
    assert (tmp_path / ".out.lock").read_text() == "my own notes"


# ------------------------------------------------------------------------------------------- the lock


def _modsim_run(out: Path, seed: int, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([*MODSIM, "run", str(BASELINE), "--set", "horizon=8d", "-n", "6", "--workers", "1",
                             "--seed", str(seed), "--out", str(out)],
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_runs_to_one_out_exactly_one_wins(tmp_path):
    out = tmp_path / "out"
    first = _modsim_run(out, 3, tmp_path)
    time.sleep(0.1)
    second = _modsim_run(out, 4, tmp_path)
    outputs = {3: first.communicate(timeout=300), 4: second.communicate(timeout=300)}
    codes = {3: first.returncode, 4: second.returncode}
    assert sorted(codes.values()) == [0, 2], (codes, outputs)
    winner = next(seed for seed, code in codes.items() if code == 0)
    loser = 7 - winner
    lines = outputs[loser][1].strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: --out {out}: another modsim command (process ") and lines[0].endswith(
        ") is writing this results folder right now; wait for it to finish, or choose another --out"), lines
    assert "Traceback" not in outputs[winner][1] and f"seed {winner}" in outputs[winner][0]
    assert json.loads((out / "manifest.json").read_text())["seed"] == winner
    assert set(pd.read_parquet(out / "replications.parquet").seed) == {winner}
    only_results_left(tmp_path, "out")


HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, b"modsim lock %d\\n" % os.getpid())
print("held", flush=True)
time.sleep(60)
"""


def test_a_folder_in_use_refuses_out_force_and_resume_at_once(tmp_path, no_charts):
    out = tmp_path / "out"
    folder = ResultsFolder.create("x", out)  # an interrupted run
    folder.start(__import__("sim").load_scenario(BASELINE, SETS), 11, 3, SETS)
    folder.close()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / ".out.lock")], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        before = tree(tmp_path)
        for args in (["--out", out], ["--out", out, "--force"], ["--resume", out],
                     ["--resume", tmp_path / ".out.partial"]):
            started = time.monotonic()
            result = invoke("run", BASELINE, *QUICK, "--seed", 11, *args)
            assert result.exit_code == 2
            assert f"another modsim command (process {holder.pid}) is writing this results folder right now" in \
                error_line(result)
            assert time.monotonic() - started < 10
        assert tree(tmp_path) == before
    finally:
        holder.kill()
        holder.wait()
    assert run(tmp_path / "out", "--force").exit_code == 0  # free again once its holder has ended


def test_default_folders_of_concurrent_runs_never_collide(tmp_path, monkeypatch):
    monkeypatch.setattr(results_folder, "RESULTS_ROOT", tmp_path / "results")
    monkeypatch.setattr(results_folder, "_utc_stamp", lambda: "20260101T000000Z")
    (tmp_path / "results").mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "results" / ".x-20260101T000000Z.lock")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        folder = ResultsFolder.create("x")
        assert folder.final.name == "x-20260101T000000Z-2"
        folder.close()
    finally:
        holder.kill()
        holder.wait()


# ------------------------------------------------------------------------------- saved replications


def interrupted_run(out: Path, seed: int = 11, count: int = 3, sets=SETS) -> ResultsFolder:
    """A partial folder as `modsim run` leaves it when killed after every replication finished."""
    from sim import load_scenario

    scenario = load_scenario(BASELINE, sets)
    folder = ResultsFolder.create(scenario.name, out)
    folder.check_same(scenario, seed, sets)
    folder.start(scenario, seed, count, sets)
    data = scenario.model_dump(mode="json")
    for index in range(count):
        folder.save_replication(index, simulate_data(data, seed, index))
    folder.close()
    return folder


def warnings(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("warning: ")]


def test_damaged_saved_replications_are_named_and_run_again(tmp_path, reference, no_charts):
    out = tmp_path / "out"
    parts = interrupted_run(out, count=3).parts
    other = interrupted_run(tmp_path / "other", seed=12, count=3).parts
    (parts / "000000.json").write_text((parts / "000000.json").read_text()[:500])  # truncated by a crash
    data = json.loads((parts / "000001.json").read_text())
    data["record"]["outcomes"]["violating_views"] += 1000  # an edited outcome
    (parts / "000001.json").write_text(json.dumps(data))
    shutil.copy(other / "000002.json", parts / "000002.json")  # another run's (seed 12)
    result = invoke("run", BASELINE, *QUICK, "--seed", 11, "--resume", out)
    assert result.exit_code == 0, result.output
    assert warnings(result) == [
        (f"warning: saved replication {parts / '000000.json'} is not valid JSON (truncated or corrupted); "
         "it is run again"),
        (f"warning: saved replication {parts / '000001.json'} does not match its checksum (edited or corrupted); "
         "it is run again"),
        (f"warning: saved replication {parts / '000002.json'} belongs to another run (seed 12; this run's is 11); "
         "it is run again"),
    ]
    assert_tables(out, reference[11])


def test_copied_wrong_typed_and_foreign_files_are_run_again(tmp_path, reference, no_charts):
    out = tmp_path / "out"
    parts = interrupted_run(out, count=3).parts
    shutil.copy(parts / "000000.json", parts / "000001.json")  # a replication copied over another
    forged = json.loads((parts / "000002.json").read_text())
    forged["record"]["outcomes"] = ["not", "a", "dict"]  # wrong types, with a checksum that matches
    forged.pop("sha256")
    (parts / "000002.json").write_text(json.dumps({"sha256": results._digest(forged), **forged}))
    (parts / "notes.json").write_text("{}")
    result = invoke("run", BASELINE, *QUICK, "--seed", 11, "--resume", out)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert warnings(result) == [
        (f"warning: saved replication {parts / '000001.json'} holds 000000, not 000001 (copied from another "
         "replication's file); it is run again"),
        f"warning: saved replication {parts / '000002.json'} holds data of the wrong type; it is run again",
        f"warning: {parts / 'notes.json'} is not a saved replication of this run; ignored",
    ]
    assert_tables(out, reference[11])


def test_intact_saved_replications_are_used_without_a_word(tmp_path, reference, no_charts, monkeypatch):
    out = tmp_path / "out"
    interrupted_run(out, count=3)
    from sim.experiment import replicate

    def never(*args):
        raise AssertionError("a saved replication was run again")

    monkeypatch.setattr(replicate, "simulate", never)
    result = invoke("run", BASELINE, *QUICK, "--seed", 11, "--resume", out)
    assert result.exit_code == 0, result.output
    assert warnings(result) == []
    assert_tables(out, reference[11])


def test_resume_without_the_run_record_refuses(tmp_path):
    out = tmp_path / "out"
    work = interrupted_run(out).work
    (work / "run.json").unlink()
    before = tree(tmp_path)
    result = invoke("run", BASELINE, *QUICK, "--seed", 12, "--resume", out)
    assert result.exit_code == 2
    assert error_line(result) == (
        f"error: --resume {out}: the interrupted run's record ({work / 'run.json'}) is missing, so modsim cannot "
        f"tell which run its saved replications belong to; start over with --out {out} --force")
    assert tree(tmp_path) == before


def test_a_run_stopped_while_writing_its_record_resumes_afresh(tmp_path, reference, no_charts):
    """Stopped between writing run.json.tmp and renaming it to run.json (Ctrl-C or kill -9 as a study starts), a
    folder holds no record and nothing saved that needs one: --resume starts it afresh, to the tables of an
    uninterrupted run, and leaves no temporary file."""
    out = tmp_path / "out"
    work = interrupted_run(out, count=0).work
    (work / "run.json").rename(work / "run.json.tmp")
    result = invoke("run", BASELINE, *QUICK, "--seed", 11, "--resume", out)
    assert result.exit_code == 0, result.output
    assert_tables(out, reference[11])
    assert not list(tmp_path.rglob("*.tmp"))


def test_resume_with_another_seed_or_set_refuses_naming_it(tmp_path):
    out = tmp_path / "out"
    work = interrupted_run(out).work
    before = tree(tmp_path)
    result = invoke("run", BASELINE, *QUICK, "--seed", 12, "--resume", out)
    assert result.exit_code == 2
    assert error_line(result) == (f"error: --resume {work}: the seed differs from the interrupted run's: it ran "
                                  "--seed 11, this asks --seed 12")
    result = invoke("run", BASELINE, *QUICK, "--set", "review.policy=fifo", "--seed", 11, "--resume", out)
    assert result.exit_code == 2
    assert error_line(result) == (f"error: --resume {work}: --set differs from the interrupted run's: it ran with "
                                  "--set horizon=2d, this asks --set horizon=2d --set review.policy=fifo")
    assert tree(tmp_path) == before


def test_a_new_run_over_kept_work_names_the_resume_command(tmp_path):
    out = tmp_path / "out"
    work = interrupted_run(out).work
    result = run(out)
    assert result.exit_code == 2
    assert error_line(result) == (
        f"error: --out {out}: an interrupted run is kept in {work}; continue it with: modsim run {BASELINE} "
        f"--replications 3 --seed 11 --set horizon=2d --workers 1 --resume {work} (or pass --force to start over)")


# ------------------------------------------------------------------------------------ the study commands


def test_compare_resume_runs_damaged_parts_again_and_equals_uninterrupted(tmp_path):
    from sim import load_scenario
    from sim.cli import study

    a, b = tmp_path / "c20.yaml", tmp_path / "c22.yaml"
    a.write_text(f"extends: {MMC}\nname: c20\n")
    b.write_text(f"extends: {MMC}\nname: c22\nreview:\n  pools:\n    agents:\n      reviewers: 22\n")
    args = ["-n", 2, "--seed", 9, "--workers", 1, "--set", "horizon=100h", "--set", "warmup=10h"]
    sets = ["horizon=100h", "warmup=10h"]
    mp = pytest.MonkeyPatch()
    mp.setattr(study, "draw_and_report", lambda work, **options: None)
    try:
        full = tmp_path / "full"
        assert invoke("compare", a, b, "--out", full, *args).exit_code == 0
        scenarios = [load_scenario(p, sets) for p in (a, b)]
        folder = ResultsFolder.create("x", tmp_path / "part")  # what an interrupted compare leaves
        folder.start_experiment({"command": "compare", "scenarios": [scenario_hash(s) for s in scenarios], "seed": 9,
                                 "sets": sets})
        for task in cmp.tasks(scenarios, 9, 2):
            folder.save_part(task.key, simulate_data(task.scenario, task.seed, task.index), index=task.index,
                             seed=task.seed, scenario_hash=scenario_hash(scenarios[int(task.key[1:4])]), sets=sets)
        folder.close()
        shutil.copy(folder.parts / "s000-r000000.json", folder.parts / "s001-r000000.json")  # c20's over c22's
        result = invoke("compare", a, b, "--resume", tmp_path / "part", *args, "--seed", 10)
        assert result.exit_code == 2
        assert "the seed differs from the interrupted run's: it ran --seed 9, this asks --seed 10" in error_line(result)
        result = invoke("compare", a, b, "--resume", tmp_path / "part", *args)
        assert result.exit_code == 0, result.output
        assert warnings(result) == [(f"warning: saved replication {folder.parts / 's001-r000000.json'} holds "
                                     "s000-r000000, not s001-r000000 (copied from another replication's file); it "
                                     "is run again")]
        for name in ("comparison.csv", "summary.csv"):
            pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "part" / name), pd.read_csv(full / name))
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "part" / "replications.parquet"),
                                      pd.read_parquet(full / "replications.parquet"))
    finally:
        mp.undo()


def test_study_parts_carry_their_identity(tmp_path, monkeypatch):
    from sim.cli import study

    monkeypatch.setattr(study, "draw_and_report", lambda work, **options: None)
    seen = []
    real = ResultsFolder.save_part

    def spy(self, key, record, **identity):
        seen.append((key, identity))
        return real(self, key, record, **identity)

    monkeypatch.setattr(ResultsFolder, "save_part", spy)
    result = invoke("sweep", MMC, "--vary", "review.pools.agents.reviewers=20,22", "-n", 1, "--workers", 1,
                    "--seed", 5, "--set", "horizon=150h", "--set", "warmup=10h", "--out", tmp_path / "s")
    assert result.exit_code == 0, result.output
    from sim import load_scenario

    hashes = [scenario_hash(load_scenario(MMC, ["horizon=150h", "warmup=10h", f"review.pools.agents.reviewers={n}"]))
              for n in (20, 22)]
    assert sorted(seen) == [(f"p0000{p}-r000000", {"index": 0, "seed": 5, "scenario_hash": hashes[p],
                                                   "sets": ["horizon=150h", "warmup=10h"]}) for p in (0, 1)]


def test_tune_resume_without_its_record_refuses(tmp_path):
    out = tmp_path / "t"
    folder = ResultsFolder.create("x", out)
    (folder.work / "study.db").write_bytes(b"")
    folder.close()
    result = invoke("tune", MMC, "--param", "review.pools.agents.reviewers=19..24", "--objective",
                    "min:queue_wait_mean_h", "--trials", 2, "-n", 1, "--resume", out)
    assert result.exit_code == 2 and "the interrupted run's record" in error_line(result)


# ------------------------------------------------------------------------- stopped while moving into place


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs (not even modsim's own error handling)."""


def kill_when(monkeypatch, module_function: str, condition) -> None:
    """Make ``os.<function>`` (as sim.results calls it) raise Killed when ``condition(*args)`` holds."""
    real = getattr(os, module_function)

    def maybe(*args, **kwargs):
        if condition(*args):
            raise Killed
        return real(*args, **kwargs)

    monkeypatch.setattr(results_folder.os, module_function, maybe)


def drop_locks() -> None:
    """What a kill does to the locks of this process: gone, their files left on disk."""
    for lock in list(FolderLock.held.values()):
        FolderLock.held.pop(lock.path)
        os.close(lock.fd)
        lock.users = 1 << 30  # its finalizer has nothing left to release


def killed_run(out, *extra, seed=11):
    with pytest.raises(Killed):
        CliRunner().invoke(app, ["run", str(BASELINE), *map(str, QUICK), "--seed", str(seed), *extra,
                                 "--out", str(out)], catch_exceptions=False)


def test_killed_just_before_the_rename_resume_finishes_it(tmp_path, reference, no_charts, monkeypatch):
    out = tmp_path / "out"
    work = tmp_path / ".out.partial"
    with monkeypatch.context() as m:
        kill_when(m, "replace", lambda src, dst: Path(src) == work)
        killed_run(out)
    drop_locks()
    assert not out.exists() and not (work / "parts").exists() and (work / "summary.csv").exists()
    again = run(out)
    assert again.exit_code == 2
    assert error_line(again) == (
        f"error: --out {out}: an interrupted run in {work} has complete results, stopped while being moved into "
        f"place; finish it with: modsim run {BASELINE} --replications 3 --seed 11 --set horizon=2d --workers 1 "
        f"--resume {work} (or pass --force to start over)")
    result = invoke("run", BASELINE, *QUICK, "--seed", 11, "--resume", out)
    assert result.exit_code == 0, result.output
    assert "the interrupted run had finished its tables; they are now in place" in result.stderr
    assert "seed 11" in result.stdout and f"results: {out}" in result.stdout
    assert_tables(out, reference[11])
    only_results_left(tmp_path, "out")


def test_killed_while_replacing_an_earlier_folder_resume_finishes_it(tmp_path, reference, no_charts, monkeypatch):
    out = tmp_path / "out"
    assert run(out).exit_code == 0
    removed = []

    def third_file_of_out(path, *rest):
        if Path(path).parent == out:
            removed.append(path)
        return len(removed) > 2

    with monkeypatch.context() as m:
        kill_when(m, "unlink", third_file_of_out)
        killed_run(out, "--force", seed=12)
    assert (out / "manifest.json").exists() and len(list(out.iterdir())) < 7  # half removed, still provably ours
    result = invoke("run", BASELINE, *QUICK, "--seed", 12, "--resume", out)
    assert result.exit_code == 0, result.output
    assert_tables(out, reference[12])
    only_results_left(tmp_path, "out")


def test_killed_while_removing_its_parts_resume_runs_what_is_missing(tmp_path, reference, no_charts, monkeypatch):
    out = tmp_path / "out"
    work = tmp_path / ".out.partial"
    real = shutil.rmtree

    def half(path, *args, **kwargs):
        if Path(path) == work / "parts":
            (work / "parts" / "000001.json").unlink()
            raise Killed
        return real(path, *args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(results_folder.shutil, "rmtree", half)
        killed_run(out)
    result = invoke("run", BASELINE, *QUICK, "--seed", 11, "--resume", out)
    assert result.exit_code == 0, result.output
    assert_tables(out, reference[11])
    only_results_left(tmp_path, "out")


def test_a_study_killed_just_before_its_rename_is_finished_by_resume(tmp_path, monkeypatch):
    from sim.cli import study

    monkeypatch.setattr(study, "draw_and_report", lambda work, **options: None)
    args = ["sweep", MMC, "--vary", "review.pools.agents.reviewers=20,22", "-n", 1, "--workers", 1, "--seed", 5,
            "--set", "horizon=150h", "--set", "warmup=10h"]
    full = tmp_path / "full"
    assert invoke(*args, "--out", full).exit_code == 0
    out, work = tmp_path / "out", tmp_path / ".out.partial"
    with monkeypatch.context() as m:
        kill_when(m, "replace", lambda src, dst: Path(src) == work)
        with pytest.raises(Killed):
            CliRunner().invoke(app, [str(a) for a in (*args, "--out", out)], catch_exceptions=False)
    drop_locks()
    assert not out.exists() and (work / "sweep.parquet").exists()
    result = invoke(*args, "--seed", 6, "--resume", out)
    assert result.exit_code == 2 and "the seed differs from the interrupted run's" in error_line(result)
    result = invoke(*args, "--resume", out)
    assert result.exit_code == 0, result.output
    assert "the interrupted sweep had finished its tables; they are now in place" in result.stderr
    assert f"results: {out}" in result.stdout
    pd.testing.assert_frame_equal(pd.read_parquet(out / "sweep.parquet"), pd.read_parquet(full / "sweep.parquet"))
    only_results_left(tmp_path, "full", "out")


# ------------------------------------------------------------------------------------------------ --seed


@pytest.mark.parametrize("command", [
    ["run", BASELINE],
    ["compare", BASELINE, BASELINE],
    ["sweep", BASELINE, "--vary", "review.policy=fifo,severity"],
    ["tune", BASELINE, "--param", "review.pools.khmer.reviewers=5..10", "--objective", "min:violating_views"],
    ["sensitivity", BASELINE, "--param", "review.pools.khmer.reviewers=5..10"],
], ids=lambda c: c[0])
def test_a_seed_the_tables_cannot_hold_is_refused(tmp_path, command):
    result = invoke(*command, "--seed", 2**63, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "Invalid value for '--seed': Input should be less than or equal to 9223372036854775807" in result.output
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_the_largest_seed_runs_and_is_stored(tmp_path, no_charts):
    out = tmp_path / "out"
    result = invoke("run", BASELINE, "--set", "horizon=1d", "-n", "1", "--workers", "1", "--seed", 2**63 - 1,
                    "--out", out)
    assert result.exit_code == 0, result.output
    assert list(pd.read_parquet(out / "replications.parquet").seed) == [2**63 - 1]
