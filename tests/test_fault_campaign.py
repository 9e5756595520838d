"""The fault campaign ("Nothing silently wrong"): whatever stops a command, nothing is lost or silently wrong.

- Every command (run, compare, sweep, tune, sensitivity, calibrate), stopped by ``kill -9`` (the modsim process
  alone, as ``kill`` does) or by Ctrl-C (SIGINT to its process group, as a terminal does) at a moment
  drawn from a fixed-seed RNG within its running time, then resumed (the printed "resume with:"
  command run through bash as it is; after ``kill -9``, which prints nothing, the same command line
  with ``--resume`` of its ``.NAME.partial`` folder), gives the tables of an uninterrupted run with the
  same seed, and the same files. A kill can land anywhere: before anything is written, while the
  replications run, while the tables are computed or the charts drawn, during the rename into place.
- A real ``kill -9`` at fixed steps of the final rename of a comparison (just before the rename, half-way
  through removing its saved replications, half-way through removing the earlier folder that
  ``--force`` replaces) is completed by ``--resume``.
- A pool worker killed while replications run: the pool restarts, the replications run again and the
  tables are those of an uninterrupted run (``run`` and ``sweep``).
- The scheduler of a real Dask cluster killed while ``modsim run --scheduler`` runs: one error line,
  exit 2, the finished replications kept, and ``--resume`` on the local pool completes the tables.

Real subprocesses of the console script (the printed commands say ``modsim``), each in a session of
its own, every one bounded by a timeout and its process group killed in a ``finally``.
"""

from __future__ import annotations

import json
import os
import random
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_experiments import assert_same_tables

if os.name != "posix" or not Path("/proc/self/stat").exists():
    pytest.skip("POSIX signals, process groups and Linux /proc", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "scenarios" / "validation" / "mmc.yaml"
BIN = Path(sys.executable).parent
MODSIM = BIN / "modsim"
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
SMALL = ["--set", "horizon=300h", "--workers", "2", "--seed", "3"]
REVIEWERS = "review.pools.agents.reviewers"
TIMEOUT = 180  # seconds, for any one command

if not MODSIM.exists():
    pytest.skip("needs the modsim console script beside this Python", allow_module_level=True)


def command(name: str, inputs: Path) -> list[str]:
    """The words after ``modsim`` of a small run of each command (its --out added by the caller)."""
    return {
        "run": ["run", str(MMC), "-n", "4", *SMALL],
        "compare": ["compare", str(inputs / "c20.yaml"), str(inputs / "c22.yaml"), "-n", "3", *SMALL],
        "sweep": ["sweep", str(MMC), "--vary", f"{REVIEWERS}=20:23:1", "-n", "2", *SMALL],
        "sensitivity": ["sensitivity", str(MMC), "--param", f"{REVIEWERS}=18..26", "--param",
                        "review.pools.agents.handling_time.mean=50min..70min", "--samples", "2", "-n", "2", *SMALL],
        "tune": ["tune", str(MMC), "--param", f"{REVIEWERS}=16..40", "--objective", "max:reviewer_utilization",
                 "--constraint", "queue_wait_mean_h<=0.1", "--trials", "4", "-n", "2", *SMALL],
        "calibrate": ["calibrate", str(MMC), "--targets", str(ROOT / "scenarios" / "targets" / "mmc.yaml"), "--param",
                      "review.pools.agents.handling_time.mean=40min..80min", "--particles", "6", "--generations", "2",
                      "-n", "2", *SMALL],
    }[name]


# ------------------------------------------------------------------------------------------ processes


def start(words: list[str], cwd: Path, executable: list[str] | None = None, **extra) -> subprocess.Popen:
    return subprocess.Popen([*(executable or [str(MODSIM)]), *words], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**ENV, **extra}, start_new_session=True)


def stop_group(process: subprocess.Popen) -> None:
    """Kill whatever is left of the process group of ``process`` (a session of its own), by its id."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.communicate(timeout=30)
    except (subprocess.TimeoutExpired, ValueError):
        pass


def run_to_end(words: list[str], cwd: Path, **extra) -> subprocess.CompletedProcess:
    process = start(words, cwd, **extra)
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        stop_group(process)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def bash(line: str, cwd: Path) -> subprocess.CompletedProcess:
    """A printed command line, run as a user would paste it (the venv's bin on PATH)."""
    process = start(["-c", line], cwd, executable=["bash"])
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        stop_group(process)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def session_processes(session: int) -> dict[int, tuple[int, str]]:
    """Running processes of a session: pid -> (parent pid, command line)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        state, parent, _group, sid = stat[stat.rindex(")") + 2:].split()[:4]
        if int(sid) == session and state != "Z":
            found[int(entry)] = (int(parent), cmdline)
    return found


def pool_workers(modsim: int) -> list[int]:
    """The local pool's worker processes of a modsim process: the children of its fork server."""
    processes = session_processes(modsim)
    servers = [pid for pid, (parent, line) in processes.items() if parent == modsim and "forkserver" in line]
    return sorted(pid for pid, (parent, _) in processes.items() if parent in servers)


def parts_of(work: Path) -> list[Path]:
    return sorted((work / "parts").glob("*.json")) if (work / "parts").is_dir() else []


def wait_for(condition, process: subprocess.Popen, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, (what, process.communicate())
        assert time.monotonic() < deadline, f"{what}: not in {timeout} s"
        time.sleep(0.01)


# -------------------------------------------------------------------------------------------- results


def assert_same_results(expected: Path, got: Path) -> None:
    """Every table (.parquet, .csv) of the two folders equal, and the same files written (manifest list)."""
    assert_same_tables(expected, got)
    files = [json.loads((folder / "manifest.json").read_text())["files"] for folder in (expected, got)]
    assert files[0] == files[1]


def only_results_left(parent: Path) -> None:
    """Nothing of modsim's own is left beside the results: no partial folder, no lock file."""
    assert sorted(p.name for p in parent.iterdir()) == ["out"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """Two M/M/c scenarios differing only in staffing, for compare."""
    folder = tmp_path_factory.mktemp("inputs")
    (folder / "c20.yaml").write_text(f"extends: {MMC}\nname: c20\n")
    (folder / "c22.yaml").write_text(f"extends: {MMC}\nname: c22\nreview:\n  pools:\n    agents:\n      reviewers: 22\n")
    return folder


@pytest.fixture(scope="module")
def reference(tmp_path_factory, inputs):
    """reference(name): the results folder of an uninterrupted run of the command, and its wall time."""
    made: dict[str, tuple[Path, float]] = {}

    def get(name: str) -> tuple[Path, float]:
        if name not in made:
            where = tmp_path_factory.mktemp(f"reference-{name}")
            started = time.monotonic()
            done = run_to_end([*command(name, inputs), "--out", "out"], where)
            assert done.returncode == 0, done.stderr
            made[name] = (where / "out", time.monotonic() - started)
        return made[name]

    return get


# ----------------------------------------------------------------------- stopped at a random moment

CAMPAIGN_SEED = 20261202


def moments(name: str, signum: int, count: int) -> list[float]:
    """Fractions of the command's running time at which to stop it: fixed-seed draws."""
    rng = random.Random(f"{CAMPAIGN_SEED}-{name}-{signal.Signals(signum).name}")
    return [round(rng.random(), 3) for _ in range(count)]


CASES = [pytest.param(name, signum, fraction, id=f"{name}-{signal.Signals(signum).name}-{fraction}",
                      marks=[pytest.mark.slow] if slow else [])
         for name, count in (("run", 3), ("compare", 3), ("sweep", 3), ("sensitivity", 3), ("tune", 2), ("calibrate", 2))
         for signum in (signal.SIGKILL, signal.SIGINT)
         for k, fraction in enumerate(moments(name, signum, count))
         for slow in [k > 0 or name == "tune"]]


def how_to_continue(name: str, words: list[str], signum: int, process: subprocess.Popen, stdout: str, stderr: str,
                    cwd: Path) -> str | None:
    """What the stopped command left and the command line that continues it (None: the results are in place).

    Checks what the user was told on the way: after Ctrl-C, exit 130, no traceback and, whenever a
    partial folder is left, the "resume with:" command; after ``kill -9``, a partial folder that
    ``--resume`` continues, or nothing at all when it was killed before it wrote anything."""
    work, out = cwd / ".out.partial", cwd / "out"
    again = shlex.join(["modsim", *words, "--out", "out"])  # nothing was started: the same command again
    status = process.returncode
    if status == 0:  # it finished before the signal
        assert "Traceback" not in stderr, stderr
        assert not work.exists() and (out / "manifest.json").exists()
        return None
    if signum == signal.SIGKILL:
        assert status == -signal.SIGKILL, stderr
        if work.exists():
            return shlex.join(["modsim", *words, "--resume", str(work)])
        if out.exists():  # killed after the rename, while printing
            return None
        return again
    if status == -signal.SIGINT:
        # Python's own Ctrl-C: in the ~0.1 s before modsim handles signals (while `sim.cli` is imported),
        # with Python's traceback, having written nothing; or once the interpreter is shutting down, after
        # everything was done (it restores the default action before it exits). A shell reports 130 for both.
        if out.exists() and not work.exists():
            assert "Traceback" not in stderr, stderr
            return None
        assert not work.exists() and not out.exists(), stderr
        return again
    assert status == 130, stderr
    assert "Traceback" not in stderr + stdout, stderr
    lines = stderr.strip().splitlines()
    assert any(line.startswith("interrupted") for line in lines), stderr
    resume = [line for line in lines if line.startswith("resume with: ")]
    if work.is_dir() and (parts_of(work) or any((work / f).exists() for f in ("run.json", "objectives.json"))):
        assert resume, f"a partial folder is kept but no resume command was printed: {stderr}"
    if resume:
        line = resume[-1][len("resume with: "):]
        assert line.startswith(f"modsim {name} ") and line.endswith(f"--resume {work}"), line
        return line
    if out.exists() and not work.exists():  # interrupted after the rename: the results are complete
        return None
    return again  # interrupted before the results folder was opened


@pytest.mark.parametrize("name, signum, fraction", CASES)
def test_stopped_at_a_random_moment_resumes_to_the_same_tables(tmp_path, inputs, reference, name, signum, fraction):
    expected, seconds = reference(name)
    words = command(name, inputs)
    process = start([*words, "--out", "out"], tmp_path)
    try:
        moment = time.monotonic() + fraction * seconds
        while process.poll() is None and time.monotonic() < moment:
            time.sleep(0.002)
        if process.poll() is None:
            # kill -9 of the modsim process alone (its workers end by themselves); Ctrl-C to the whole job
            (os.kill if signum == signal.SIGKILL else os.killpg)(process.pid, signum)
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        stop_group(process)
    left = sorted(p.name for p in (tmp_path / ".out.partial").iterdir()) if (tmp_path / ".out.partial").is_dir() else None
    print(f"stopped at {fraction} x {seconds:.2f} s: exit {process.returncode}, partial folder {left}, "
          f"out {(tmp_path / 'out').exists()}, stderr {stderr.strip()[-300:]!r}")
    line = how_to_continue(name, words, signum, process, stdout, stderr, tmp_path)
    if line is not None:
        done = bash(line, tmp_path)
        assert done.returncode == 0, (line, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
    assert_same_results(expected, tmp_path / "out")
    only_results_left(tmp_path)


def _fork_server_started(process: subprocess.Popen) -> bool:
    return any(parent == process.pid and "forkserver" in line for parent, line in session_processes(process.pid).values())


def _charts_being_drawn(process: subprocess.Popen, work: Path) -> bool:
    return (work / "manifest.json").exists()  # the tables are written; the charts come next, then the rename


@pytest.mark.parametrize("name, when", [
    ("run", "pool"), pytest.param("sweep", "pool", marks=pytest.mark.slow),
    ("run", "charts"), pytest.param("compare", "charts", marks=pytest.mark.slow),
], ids=lambda v: v)
def test_ctrl_c_at_the_moments_random_ones_may_miss(tmp_path, inputs, reference, name, when):
    """Ctrl-C while the pool starts its workers (a worker started but not yet recorded by the pool outlived it
    and printed a traceback), or while the charts are drawn (no "resume with:" was printed): quiet, with the
    command that resumes, and resumed to the same tables."""
    expected, _ = reference(name)
    words = command(name, inputs)
    work = tmp_path / ".out.partial"
    process = start([*words, "--out", "out"], tmp_path)
    try:
        if when == "pool":
            # A study starts its fork server as it starts (start_pool_early), its pool once its folder exists.
            wait_for(lambda: _fork_server_started(process) and work.exists(), process, 60, "the fork server")
            time.sleep(0.1)  # the first worker is being started: its fork server loads the model first
        else:
            wait_for(lambda: _charts_being_drawn(process, work), process, 60, "the tables written")
        os.killpg(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        stop_group(process)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stdout + stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("interrupted: ") and " are kept in " in lines[0], stderr
    assert lines[1].startswith(f"resume with: modsim {name} ") and lines[1].endswith(f"--resume {work}"), stderr
    done = bash(lines[1][len("resume with: "):], tmp_path)
    assert done.returncode == 0, done.stderr
    assert_same_results(expected, tmp_path / "out")
    only_results_left(tmp_path)


# -------------------------------------------------------------------------- killed during the rename

KILLER = """
import os, re, signal, sys
point, seen = os.environ["MODSIM_TEST_KILL_AT"], []
real_replace, real_unlink = os.replace, os.unlink

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def replace(src, dst, *args, **kwargs):
    if point == "rename" and os.fspath(src).endswith(".partial"):
        die()
    return real_replace(src, dst, *args, **kwargs)

def unlink(path, *args, **kwargs):
    name = os.path.basename(os.fspath(path))
    if point == "parts" and re.fullmatch(r"s\\d+-r\\d+\\.json", name):
        seen.append(name)
        if len(seen) == 3:
            die()
    if point == "earlier" and os.path.dirname(os.path.abspath(os.fspath(path))) == os.environ["MODSIM_TEST_OUT"]:
        seen.append(name)
        if len(seen) == 3:
            die()
    return real_unlink(path, *args, **kwargs)

os.replace, os.unlink = replace, unlink
sys.argv = ["modsim", *sys.argv[1:]]
from sim.cli import main
main()
"""


@pytest.mark.parametrize("point", ["rename", pytest.param("parts", marks=pytest.mark.slow),
                                   pytest.param("earlier", marks=pytest.mark.slow)])
def test_compare_killed_while_moving_into_place_is_completed_by_resume(tmp_path, inputs, reference, point):
    """A real kill -9 just before the rename, half-way through removing the saved replications, or half-way
    through removing the earlier folder that --force replaces: --resume completes it."""
    expected, _ = reference("compare")
    words = command("compare", inputs)
    out, work = tmp_path / "out", tmp_path / ".out.partial"
    extra = []
    if point == "earlier":  # a finished comparison of another seed, replaced with --force
        other = [*words[:-1], "4"]
        assert other[-2:] == ["--seed", "4"]
        first = run_to_end([*other, "--out", "out"], tmp_path)
        assert first.returncode == 0, first.stderr
        extra = ["--force"]
    process = start(["-c", KILLER, *words, "--out", "out", *extra], tmp_path, executable=[sys.executable],
                    MODSIM_TEST_KILL_AT=point, MODSIM_TEST_OUT=str(out))
    try:
        _, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        stop_group(process)
    assert process.returncode == -signal.SIGKILL, stderr
    assert work.is_dir()
    if point == "earlier":
        assert (out / "manifest.json").exists()  # half removed, still provably modsim's
    else:
        assert not out.exists()
    done = bash(shlex.join(["modsim", *words, "--resume", str(work)]), tmp_path)
    assert done.returncode == 0, done.stderr
    if point != "parts":
        assert "the interrupted compare had finished its tables; they are now in place" in done.stderr
    assert_same_results(expected, out)
    only_results_left(tmp_path)


# -------------------------------------------------------------------------------- a killed pool worker

LONG = ["--set", "horizon=8000h", "--seed", "5"]  # replications of about half a second, to kill one mid-way


@pytest.mark.slow
@pytest.mark.parametrize("words", [
    ["run", str(MMC), "-n", "6", *LONG],
    ["sweep", str(MMC), "--vary", f"{REVIEWERS}=20,22", "-n", "3", *LONG],
], ids=["run", "sweep"])
def test_a_killed_pool_worker_loses_nothing(tmp_path, words):
    reference = run_to_end([*words, "--workers", "1", "--out", "reference"], tmp_path)
    assert reference.returncode == 0, reference.stderr
    run = tmp_path / "run"
    run.mkdir()
    process = start([*words, "--workers", "2", "--out", "out"], run)
    try:
        work = run / ".out.partial"
        wait_for(lambda: parts_of(work) and len(pool_workers(process.pid)) == 2, process, 120,
                 "a finished replication and two running workers")
        victim = pool_workers(process.pid)[0]
        os.kill(victim, signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        stop_group(process)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    if words[0] != "run":
        assert re.search(r"a worker process died: the pool was restarted 1 time\(s\) and \d+ replication\(s\) run "
                         r"again; 0 lost twice", " ".join(stderr.split())), stderr
        assert json.loads((run / "out" / "manifest.json").read_text())["worker_restarts"] == 1
    assert not list((run / "out").glob("failures.csv"))
    assert_same_tables(tmp_path / "reference", run / "out")


# ------------------------------------------------------------------------------ a lost Dask scheduler


def _dask(*words: str, cwd: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "dask"), *words], cwd=cwd, stdout=subprocess.DEVNULL, stderr=log.open("w"),
                            env=ENV, start_new_session=True)


def _scheduler_address(log: Path, scheduler: subprocess.Popen, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"Scheduler at:\s+(tcp://127\.0\.0\.1:\d+)", log.read_text())
        if found:
            host, port = found.group(1)[len("tcp://"):].rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=5):
                return found.group(1)
        assert scheduler.poll() is None, log.read_text()
        time.sleep(0.1)
    raise AssertionError(f"the Dask scheduler did not start in {timeout} s: {log.read_text()}")


@pytest.mark.slow
@pytest.mark.skipif(not (BIN / "dask").exists(), reason="needs Dask distributed's `dask` command")
def test_a_killed_dask_scheduler_is_one_error_and_resume_completes_locally(tmp_path):
    words = ["run", str(MMC), "-n", "8", *LONG]
    reference = run_to_end([*words, "--workers", "2", "--out", "reference"], tmp_path)
    assert reference.returncode == 0, reference.stderr
    run = tmp_path / "run"
    run.mkdir()
    cluster: list[subprocess.Popen] = []
    process = None
    try:
        scheduler = _dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", cwd=tmp_path,
                          log=tmp_path / "scheduler.log")
        cluster.append(scheduler)
        address = _scheduler_address(tmp_path / "scheduler.log", scheduler)
        for k in range(2):
            cluster.append(_dask("worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--nworkers", "1",
                                 "--no-dashboard", cwd=tmp_path, log=tmp_path / f"worker{k}.log"))
        process = start([*words, "--scheduler", address, "--out", "out"], run)
        work = run / ".out.partial"
        wait_for(lambda: parts_of(work), process, 120, "a replication finished on the cluster")
        os.kill(scheduler.pid, signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process is not None:
            stop_group(process)
        for member in cluster:
            stop_group(member)
    assert process.returncode in (2, 3), stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --scheduler {address}: lost the connection to the "
                                                   "Dask scheduler"), stderr
    assert "Traceback" not in stdout + stderr
    assert not (run / "out").exists()
    kept = parts_of(work)
    assert 1 <= len(kept) < 8
    assert f"{len(kept)} finished replication(s) are kept in {work}; resume with: modsim run " in lines[0]
    # On this machine's pool: only the missing replications run, and the tables are an uninterrupted run's.
    resumed = run_to_end([*words, "--workers", "2", "--resume", str(work)], run)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stderr == "", resumed.stderr
    assert_same_tables(tmp_path / "reference", run / "out")
    assert sorted(p.name for p in run.iterdir()) == ["out"]
