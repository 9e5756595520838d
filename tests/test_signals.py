"""Signals: Ctrl-C, SIGTERM and SIGHUP stop a run quietly and completely, and no process outlives it.

Real ``modsim run`` subprocesses, each in a session of its own so that every process it starts (pool
workers, the fork server, the resource tracker, Dask workers) can be found again through /proc.
A terminal's Ctrl-C reaches the whole foreground process group (``os.killpg``); ``kill``, a batch
scheduler or a service manager signal the ``modsim`` process alone (``os.kill``).
"""

from __future__ import annotations

import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.interrupts import exit_status

if os.name != "posix":
    pytest.skip("POSIX signals, process groups and sessions", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "scenarios" / "validation" / "mmc.yaml"
QUICK = ["--set", "horizon=2000h", "-n", "8"]
SCRIPT = Path(sys.executable).parent / "modsim"
MODSIM = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "sim"]

needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


def session_processes(session: int) -> list[int]:
    """Processes of the session that are still running (a zombie has ended: it holds nothing open)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        state, _parent, _group, sid = stat[stat.rindex(")") + 2:].split()[:4]
        if int(sid) == session and state != "Z":
            found.append(int(entry))
    return found


def wait_until_gone(session: int, timeout: float = 10) -> list[int]:
    """Wait until no process of the session runs; those still running after ``timeout``."""
    deadline = time.monotonic() + timeout
    while (left := session_processes(session)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def kill_leftovers(session: int) -> None:
    for pid in session_processes(session):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def start(tmp_path: Path, *options: str) -> subprocess.Popen:
    return subprocess.Popen([*MODSIM, "run", str(MMC), *QUICK, *options, "--out", "out"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def wait_for_a_replication(tmp_path: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    """Until a replication is saved in the partial folder (so the workers are running)."""
    parts = tmp_path / ".out.partial" / "parts"
    deadline = time.monotonic() + timeout
    while not (parts.is_dir() and any(parts.glob("*.json"))):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no replication finished in time"
        time.sleep(0.02)


def check_interrupted(tmp_path: Path, process: subprocess.Popen, status: int, first: str) -> str:
    """The run ended with ``status``, its output pipes at EOF, saying what it kept and how to resume."""
    stdout, stderr = process.communicate(timeout=60)  # returns only once every writer closed the pipes
    assert process.returncode == status, stderr
    assert "Traceback" not in stderr and "Traceback" not in stdout, stderr
    lines = stderr.splitlines()
    assert len(lines) == 2, stderr
    assert lines[0].startswith(f"{first}: ") and "finished replication(s) are kept in" in lines[0], stderr
    assert lines[1].startswith("resume with: modsim run ") and lines[1].endswith("--resume " + str(tmp_path / ".out.partial"))
    assert any((tmp_path / ".out.partial" / "parts").glob("*.json"))
    assert not (tmp_path / "out").exists()
    return stderr


def test_exit_statuses_are_128_plus_the_signal():
    assert (exit_status(signal.SIGINT), exit_status(signal.SIGTERM), exit_status(signal.SIGHUP)) == (130, 143, 129)
    assert exit_status(None) == 130


@needs_proc
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["sigterm", "sighup"])
def test_a_signal_to_modsim_alone_stops_every_process_of_the_run(tmp_path, signum):
    process = start(tmp_path, "--workers", "2")
    try:
        wait_for_a_replication(tmp_path, process)
        running = session_processes(process.pid)
        assert len(running) >= 4, running  # modsim, the fork server, the resource tracker, two workers
        os.kill(process.pid, signum)  # the parent only, as kill, systemd or a batch scheduler do
        check_interrupted(tmp_path, process, 128 + signum, f"interrupted by {signal.Signals(signum).name}")
        assert wait_until_gone(process.pid) == []
    finally:
        kill_leftovers(process.pid)


@needs_proc
def test_pool_workers_end_with_a_killed_modsim(tmp_path):
    process = start(tmp_path, "--workers", "2")
    try:
        wait_for_a_replication(tmp_path, process)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        assert wait_until_gone(process.pid) == []
        # Nothing holds the output pipes open any more.
        assert process.stdout.read() == ""
    finally:
        kill_leftovers(process.pid)


def _ctrl_c_is_quiet(tmp_path, *options):
    process = start(tmp_path, *options)
    try:
        wait_for_a_replication(tmp_path, process)
        os.killpg(process.pid, signal.SIGINT)  # a terminal's Ctrl-C: the whole foreground job
        check_interrupted(tmp_path, process, 130, "interrupted")
        if Path("/proc/self/stat").exists():
            assert wait_until_gone(process.pid) == []
    finally:
        if Path("/proc/self/stat").exists():
            kill_leftovers(process.pid)


@pytest.mark.parametrize("options", [("--workers", "1"), ("--workers", "2")], ids=["serial", "pool"])
def test_ctrl_c_is_one_line_and_the_resume_command(tmp_path, options):
    _ctrl_c_is_quiet(tmp_path, *options)


@pytest.mark.slow
def test_ctrl_c_under_a_dask_local_cluster_prints_no_worker_traceback(tmp_path):
    _ctrl_c_is_quiet(tmp_path, "--workers", "2", "--scheduler", "local")


def test_fork_server_and_its_workers_ignore_the_terminal_signals():
    # The fork server ignores SIGINT and SIGHUP from its first preloaded module on, and every process it
    # forks (Dask's workers too, which run no initializer of modsim's) inherits that from its first
    # instruction, while the process that started it handles them as before, all along: a signal it
    # ignored for a moment would be lost when one of its other threads (numpy's) took it. In a fresh
    # process (a fork server already running would be kept as it is); only that module preloaded.
    code = (
        "import multiprocessing, signal\n"
        "from multiprocessing import forkserver\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "from sim.experiment.executors import start_fork_server\n"
        "terminal = (signal.SIGINT, signal.SIGHUP)\n"
        "before = [signal.getsignal(s) for s in terminal]\n"
        "during = []\n"
        "real = forkserver.ensure_running\n"
        "def watched():\n"
        "    during.append([signal.getsignal(s) for s in terminal])\n"
        "    real()\n"
        "    during.append([signal.getsignal(s) for s in terminal])\n"
        "forkserver.ensure_running = watched\n"
        "context = multiprocessing.get_context('forkserver')\n"
        "context.set_forkserver_preload(['sim.experiment.fork_server'])\n"
        "start_fork_server()\n"
        "assert during == [before, before], during\n"
        "assert [signal.getsignal(s) for s in terminal] == before\n"
        "assert not signal.pthread_sigmask(signal.SIG_BLOCK, [])\n"
        "with ProcessPoolExecutor(1, mp_context=context) as pool:  # no initializer\n"
        "    got = [pool.submit(signal.getsignal, s).result() for s in terminal]\n"
        "assert got == [signal.SIG_IGN, signal.SIG_IGN], got\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


@needs_proc
@pytest.mark.skipif(not (shutil.which("bash") and shutil.which("tee")), reason="needs bash and tee")
def test_ctrl_c_on_a_terminal_through_tee_still_shows_how_to_resume(tmp_path):
    # `modsim run ... 2>&1 | tee log` on a terminal: Ctrl-C stops tee as well, so stderr has no reader
    # when modsim says how to resume; it says it on the terminal instead, and still exits 130.
    import pty

    master, slave = pty.openpty()
    command = (f"{shlex.join([*MODSIM, 'run', str(MMC), *QUICK])} --workers 2 --out out 2>&1 | tee log; "
               "echo \"status: ${PIPESTATUS[*]}\"")
    # A session whose controlling terminal is the pty, as a terminal window's shell has.
    take_the_terminal = ("import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
                         "os.execvp('bash', ['bash', '-c', sys.argv[1]])")
    shell = [sys.executable, "-c", take_the_terminal, command]
    process = subprocess.Popen(shell, cwd=tmp_path, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    screen = b""

    def read(seconds: float) -> None:
        nonlocal screen
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if select.select([master], [], [], 0.05)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the terminal closed: every process of the session ended
                    return
                if not chunk:
                    return
                screen += chunk

    try:
        parts = tmp_path / ".out.partial" / "parts"
        deadline = time.monotonic() + 120
        while not (parts.is_dir() and any(parts.glob("*.json"))):
            assert process.poll() is None and time.monotonic() < deadline, screen
            read(0.05)
        os.write(master, b"\x03")  # Ctrl-C typed on the terminal: SIGINT to its foreground job
        process.wait(timeout=60)
        read(1)
        text = screen.decode(errors="replace")
        assert "resume with: modsim run " in text and "Traceback" not in text, text
        assert "status: 130 " in text, text
        assert wait_until_gone(process.pid) == []
    finally:
        os.close(master)
        kill_leftovers(process.pid)


def test_ctrl_c_while_the_command_line_loads_ends_quietly():
    """An interrupt during `import sim.cli` (the first tenth of a second) prints one line, exit 130."""
    probe = (
        "import sys\n"
        "class Interrupting:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'sim.cli':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupting())\n"
        "from sim.console import main\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 130 and done.stderr == "interrupted\n", done.stderr


def test_an_interrupt_inside_a_serializer_stays_an_interrupt():
    """A Ctrl-C landing in a duration's format_duration while a scenario is dumped is a KeyboardInterrupt (the
    command's own handling then says what it kept), not pydantic's PydanticSerializationError and a traceback."""
    from typing import Annotated

    from pydantic import BaseModel, PlainSerializer

    from sim.interrupts import plain_data

    def interrupted(value):
        raise KeyboardInterrupt

    class Model(BaseModel):
        hours: Annotated[float, PlainSerializer(interrupted)] = 1.0

    with pytest.raises(KeyboardInterrupt):
        plain_data(Model())
    assert plain_data(type("Plain", (BaseModel,), {"__annotations__": {"x": int}, "x": 1})()) == {"x": 1}


IMPORTED = """
import os, signal, sys, time
from sim.interrupts import stop_on_signals
sys.path.insert(0, sys.argv[1])
stop_on_signals()
try:
    import slow_module
    for _ in range(300):
        time.sleep(0.01)
    print("went on")
except KeyboardInterrupt as exc:
    print("stopped", type(exc).__name__, "complete" if getattr(sys.modules.get("slow_module"), "DONE", False) else "cut")
"""


@pytest.mark.parametrize("name, raised", [("INT", "KeyboardInterrupt"), ("TERM", "Stopped")])
def test_a_stop_during_an_import_waits_for_its_end(tmp_path, name, raised):
    """A signal arriving while a module is being imported stops the command once the import is over, never inside
    it (an extension module, such as matplotlib's, would fail its initialisation with an ImportError, and the
    command end in a traceback): the module is imported whole, and the stop follows within milliseconds."""
    (tmp_path / "slow_module.py").write_text(
        "import os, signal, time\n"
        f"os.kill(os.getpid(), signal.SIG{name})\n"
        "for _ in range(30):\n"
        "    time.sleep(0.01)  # the handler runs here, inside the import\n"
        "DONE = True\n")
    done = subprocess.run([sys.executable, "-c", IMPORTED, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == f"stopped {raised} complete", (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr


SWALLOWED = """
import gc, os, signal, time, weakref
from sim.interrupts import stop_on_signals
stop_on_signals()

class Held:
    pass

def callback(ref):  # Python prints, and drops, what a weakref callback raises
    os.kill(os.getpid(), signal.SIG{name})
    for _ in range(100_000):
        pass

held = Held()
ref = weakref.ref(held, callback)
try:
    del held
    for _ in range(300):
        time.sleep(0.01)
    print("went on")
except KeyboardInterrupt as exc:
    print("stopped", type(exc).__name__)
"""


@pytest.mark.parametrize("name, raised", [("INT", "KeyboardInterrupt"), ("TERM", "Stopped")])
def test_a_stop_raised_inside_a_weakref_callback_is_delivered_after_it(name, raised):
    done = subprocess.run([sys.executable, "-c", SWALLOWED.format(name=name)], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip() == f"stopped {raised}", (done.stdout, done.stderr)
    assert "Exception ignored" not in done.stderr and "Traceback" not in done.stderr, done.stderr


@pytest.mark.parametrize("reader", ["reads", "dies unread"])
def test_lines_written_to_a_pipe_are_known_lost_when_its_reader_dies_before_reading(monkeypatch, reader):
    # `| tee` stopped by the same Ctrl-C may still be alive when the write succeeds and die before it
    # reads: then the lines are lost, and modsim must know so, to say them on the terminal instead.
    import threading

    from sim.cli.common import _read_from_the_pipe

    read_end, write_end = os.pipe()
    stream = os.fdopen(write_end, "w")
    monkeypatch.setattr(sys, "stderr", stream)
    stream.write("interrupted: resume with: modsim run ...\n")
    stream.flush()

    def the_reader() -> None:
        time.sleep(0.2)
        if reader == "reads":
            os.read(read_end, 4096)
        else:
            os.close(read_end)

    thread = threading.Thread(target=the_reader)
    thread.start()
    try:
        assert _read_from_the_pipe(patience=30) is (reader == "reads")
    finally:
        thread.join()
        stream.close()
        if reader == "reads":
            os.close(read_end)
