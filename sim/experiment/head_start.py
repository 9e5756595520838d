"""A run of one replication starts it in a forked child at once, while this process imports the rest.

``modsim run SCENARIO -n 1`` runs serially, and before it can write tables, draw charts and write its
report it imports pandas, pyarrow and matplotlib (about a second, several on a loaded machine). Forked
as soon as the scenario is loaded, a child imports only the model and runs the replication, exactly as
the serial run would (``simulate_data`` on the same task data, seed and number: the same record), and
sends the record back pickled through a pipe; meanwhile this process imports what comes after.

Only where ``os.fork`` exists and this process runs no other thread (a fork copies only the forking
thread). A child that dies gives no record (``result`` returns None): the caller then runs the
replication itself. An interrupt while waiting kills the child and goes on.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import threading
import time


class HeadStart:
    """Replication ``index`` of a scenario under ``seed``, running in a forked child from construction on."""

    def __init__(self, scenario, seed: int, index: int) -> None:
        from sim.scenario.kinds import as_task_data

        data = as_task_data(scenario)
        self.times: tuple[float, float] | None = None  # wall clock when the child's replication started and ended
        self._read, write = os.pipe()
        self._pid = os.fork()
        if self._pid == 0:
            os.close(self._read)
            _child(data, seed, index, write)
        os.close(write)

    @staticmethod
    def possible() -> bool:
        """Whether this process can fork a head start (POSIX, and no other thread running)."""
        return hasattr(os, "fork") and threading.active_count() == 1

    def running(self) -> bool:
        """Whether the child is still at its replication (nothing has come through the pipe yet, not even its end)."""
        return self._pid is not None and not select.select([self._read], [], [], 0)[0]

    def result(self):
        """The child's record (``Replication`` or ``Failure``), once it is done; None if the child died."""
        try:
            chunks = []
            while chunk := os.read(self._read, 1 << 20):
                chunks.append(chunk)
            os.close(self._read)
            os.waitpid(self._pid, 0)
        except BaseException:
            self.stop()
            raise
        self._pid = None
        try:
            record, self.times = pickle.loads(b"".join(chunks))
        except Exception:  # noqa: BLE001 - nothing or a part came: the child died
            return None
        return record

    def stop(self) -> None:
        """Kill the child (when the run ends before its record is read)."""
        if self._pid is None:
            return
        try:
            os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        self._pid = None
        try:
            os.close(self._read)
        except OSError:
            pass


def _child(data: dict, seed: int, index: int, pipe: int) -> None:
    """In the forked child: run the replication, write (record, times) pickled to the pipe, end at once."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # a Ctrl-C ends the child; the parent says what it keeps
        from sim.experiment.replicate import simulate_data

        started = time.time()
        record = simulate_data(data, seed, index)
        payload = pickle.dumps((record, (started, time.time())), protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(payload)
        while view:
            view = view[os.write(pipe, view):]
        code = 0
    finally:
        os._exit(code)
