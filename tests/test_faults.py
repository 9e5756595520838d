"""Faults during a run: Ctrl-C, a killed process, an unusable or full output folder.

An interrupted run keeps every finished replication and says how to resume; the resumed run gives
the same tables as an uninterrupted one. Real subprocesses and signals, so a few seconds each.
"""

from __future__ import annotations

import glob
import os
import shlex
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.interrupts import ignore_sigint
from sim.results import ResultsFolder

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
QUICK = ["--set", "horizon=4d", "-n", "6", "--seed", "11"]
MODSIM = [sys.executable, "-c", "from sim.cli import main; main()"]


def start(args, cwd):
    return subprocess.Popen([*MODSIM, "run", str(BASELINE), *QUICK, *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def wait_for_parts(work: Path, count: int, process, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while len(glob.glob(str(work / "parts" / "*.json"))) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no replication finished in time"
        time.sleep(0.02)


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """replications.parquet of an uninterrupted run."""
    out = tmp_path_factory.mktemp("ref") / "ref"
    result = invoke("run", BASELINE, *QUICK, "--workers", "1", "--out", out)
    assert result.exit_code == 0, result.output
    return pd.read_parquet(out / "replications.parquet")


def resume_line(stderr: str) -> list[str]:
    line = next(l for l in stderr.splitlines() if l.startswith("resume with: "))
    words = shlex.split(line[len("resume with: "):])
    assert words[:2] == ["modsim", "run"]
    return words[2:]


@pytest.mark.slow
@pytest.mark.parametrize("workers, group", [("1", False), ("2", True)], ids=["serial-parent", "pool-ctrl-c-group"])
def test_ctrl_c_keeps_finished_work_and_resume_matches(tmp_path, reference, workers, group):
    process = start(["--workers", workers, "--out", "out"], tmp_path)
    work = tmp_path / ".out.partial"
    wait_for_parts(work, 2, process)
    # A terminal's Ctrl-C goes to the whole process group (the pool's workers too).
    (os.killpg if group else os.kill)(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "Traceback" not in stdout, stderr
    assert "finished replication(s) are kept in" in stderr
    assert not (tmp_path / "out").exists()
    kept = len(list((work / "parts").glob("*.json")))
    assert kept >= 2
    args = resume_line(stderr)
    result = invoke("run", *args, "--workers", "1")
    assert result.exit_code == 0, result.output
    assert not work.exists()
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out" / "replications.parquet"), reference)


@pytest.mark.slow
def test_sigkill_leaves_a_partial_folder_that_resume_continues(tmp_path, reference):
    process = start(["--workers", "1", "--out", "out"], tmp_path)
    work = tmp_path / ".out.partial"
    wait_for_parts(work, 2, process)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    assert not (tmp_path / "out").exists() and (work / "run.json").exists()
    # A new run to the same place does not silently throw the kept work away.
    again = invoke("run", BASELINE, *QUICK, "--out", tmp_path / "out")
    assert again.exit_code == 2 and "--resume" in again.stderr
    result = invoke("run", BASELINE, *QUICK, "--workers", "1", "--resume", tmp_path / "out")
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out" / "replications.parquet"), reference)


def test_resume_refuses_a_different_scenario(tmp_path):
    folder = ResultsFolder.create("x", tmp_path / "out")
    folder.start(__import__("sim").load_scenario(BASELINE), 11, 6)
    result = invoke("run", BASELINE, "--set", "horizon=5d", "--seed", "11", "--resume", tmp_path / "out")
    assert result.exit_code == 2 and "differs from the interrupted run" in result.stderr


def test_pool_workers_ignore_sigint():
    with ProcessPoolExecutor(1, initializer=ignore_sigint) as pool:
        assert pool.submit(signal.getsignal, signal.SIGINT).result() == signal.SIG_IGN


# --- the output folder ------------------------------------------------------------------------


def run_to(out, *extra):
    return invoke("run", BASELINE, "--set", "horizon=1d", "-n", "1", "--workers", "1", "--out", out, *extra)


def test_out_below_a_file_is_one_clear_error(tmp_path):
    blocker = tmp_path / "hostname"
    blocker.write_text("x")
    result = run_to(blocker / "x")
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: --out {blocker / 'x'}: {blocker} is a file, not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hostname"]


def test_out_that_is_a_file(tmp_path):
    target = tmp_path / "file"
    target.write_text("keep me")
    result = run_to(target, "--force")
    assert result.exit_code == 2 and "exists and is not a folder" in result.stderr
    assert target.read_text() == "keep me"


def test_non_empty_folder_needs_force_and_foreign_folders_are_never_removed(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    result = run_to(mine)
    assert result.exit_code == 2 and "use --force" in result.stderr
    result = run_to(mine, "--force")
    assert result.exit_code == 2 and "will not remove it even with --force" in result.stderr
    assert (mine / "thesis.tex").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_force_replaces_an_earlier_results_folder_but_nothing_modsim_did_not_write(tmp_path):
    out = tmp_path / "out"
    assert run_to(out).exit_code == 0
    assert run_to(out).exit_code == 2  # not empty: refused without --force
    result = run_to(out, "--force")
    assert result.exit_code == 0, result.output
    assert (out / "manifest.json").exists()
    (out / "notes.txt").write_text("mine")
    refused = run_to(out, "--force")
    assert refused.exit_code == 2 and "notes.txt" in refused.stderr
    assert (out / "notes.txt").read_text() == "mine"


def test_symlinked_out_is_refused_and_its_target_untouched(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "manifest.json").write_text("{}")
    (elsewhere / "data").write_text("keep")
    link = tmp_path / "link"
    link.symlink_to(elsewhere)
    result = run_to(link, "--force")
    assert result.exit_code == 2 and "symbolic link" in result.stderr
    assert (elsewhere / "data").read_text() == "keep"


def test_symlinked_partial_folder_is_never_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "data").write_text("keep")
    (tmp_path / ".out.partial").symlink_to(victim)
    result = run_to(tmp_path / "out", "--force")
    assert result.exit_code == 2 and "in the way" in result.stderr
    assert (victim / "data").read_text() == "keep"


def test_results_appear_only_when_complete(tmp_path, monkeypatch):
    import sim.experiment.runner as runner

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runner, "run", broken)
    result = run_to(tmp_path / "out")
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error: No space left on device")
    assert not (tmp_path / "out").exists()


def _mount_full_tmpfs(path: Path) -> bool:
    if os.geteuid() != 0:
        return False
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        return False
    (path / "filler").write_bytes(b"\0" * 60_000)
    return True


def test_full_disk_is_one_clear_error(tmp_path):
    disk = tmp_path / "disk"
    if not _mount_full_tmpfs(disk):
        pytest.skip("cannot mount a small tmpfs here")
    try:
        result = run_to(disk / "out")
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "No space left" in lines[0], lines
        assert not (disk / "out").exists()
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)
