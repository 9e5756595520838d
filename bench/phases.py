"""Where one ``modsim run SCENARIO -n 1`` spends its time: ``python -m bench.phases SCENARIO SET...``.

Runs the real command in this (fresh) interpreter with its steps wrapped to note the wall clock when
each starts and ends (the simulation, the tables, the charts, the report), and prints one JSON line of
seconds per phase (a single replication runs in a forked child from just after start-up while this
process imports the rest: ``waiting for the simulation`` is how long it then waited); ``start-up`` runs from this interpreter's start (as the parent saw it, passed in
``MODSIM_LAUNCHED``) to the simulation, and ``exit`` from the report to the end of the process (the
parent adds it: what the interpreter's teardown costs happens after this process can speak).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Callable

MARKS: dict[str, float] = {}


def _wrap(owner, name: str, label: str) -> None:
    real = getattr(owner, name)

    def timed(*args, **kwargs):
        MARKS.setdefault(f"{label} start", time.time())
        try:
            return real(*args, **kwargs)
        finally:
            MARKS[f"{label} end"] = time.time()

    setattr(owner, name, timed)


def _note_head_start(HeadStart) -> None:
    """A single replication runs in a forked child (``sim.experiment.head_start``): its start and end come back
    with its record; note them, and how long this process waited for it after its own imports."""
    real = HeadStart.result

    def result(self):
        MARKS["waiting start"] = time.time()
        record = real(self)
        MARKS["waiting end"] = time.time()
        if self.times:
            MARKS["simulation start"], MARKS["simulation end"] = self.times
        return record

    HeadStart.result = result


class _WrapOnImport:
    """A meta-path finder that wraps a module's functions as soon as the module is executed, so that timing a
    command imports nothing before the command itself does (``sim.plots`` would bring matplotlib forward)."""

    def __init__(self, wraps: dict[str, Callable[[object], None]]):
        self.wraps = wraps

    def find_spec(self, name, path=None, target=None):
        if name not in self.wraps:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                real, wrap = spec.loader.exec_module, self.wraps[name]

                def exec_module(module, real=real, wrap=wrap):
                    real(module)
                    wrap(module)

                spec.loader.exec_module = exec_module
                return spec
        return None


def child(scenario: str, sets: list[str], out: str) -> None:
    """Run ``modsim run`` with its steps timed; print the marks as JSON on stderr's last line."""
    sys.meta_path.insert(0, _WrapOnImport({
        "sim.experiment.replicate": lambda m: _wrap(m, "simulate", "simulation"),
        "sim.experiment.head_start": lambda m: _note_head_start(m.HeadStart),
        "sim.results": lambda m: _wrap(m.ResultsFolder, "write_tables", "tables"),
        "sim.plots": lambda m: _wrap(m, "draw_charts", "charts"),
        "sim.report": lambda m: _wrap(m, "write_report", "report"),
    }))
    import atexit

    import sim.cli.common
    from sim.cli.common import main

    sim.cli.common._is_program = lambda: True  # exit as the modsim program does
    atexit.register(lambda: print(json.dumps(MARKS), file=sys.stderr, flush=True))
    sys.argv = ["modsim", "run", scenario, "-n", "1", "--out", out,
                *[w for s in sets for w in ("--set", s)]]
    main()


def phases(scenario: str, sets: list[str]) -> dict:
    """Seconds per phase of one ``modsim run -n 1`` in a new process."""
    with tempfile.TemporaryDirectory(prefix="modsim-phases-") as tmp:
        launched = time.time()
        done = subprocess.run([sys.executable, "-m", "bench.phases", "--child", scenario, os.path.join(tmp, "out"),
                               *sets], capture_output=True, text=True)
        ended = time.time()
    marks = json.loads(done.stderr.strip().splitlines()[-1])
    steps = [("simulation", "simulation"), ("tables", "tables"), ("charts", "charts"), ("report", "report")]
    result = {"start-up and imports": marks["simulation start"] - launched}
    for label, key in steps:
        result[label] = marks[f"{key} end"] - marks[f"{key} start"]
    if "waiting start" in marks:  # the simulation ran in a head-start child meanwhile
        result["waiting for the simulation"] = marks["waiting end"] - marks["waiting start"]
    result["exit"] = ended - marks["report end"]
    result["total"] = ended - launched
    return result


if __name__ == "__main__":
    if sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[4:], sys.argv[3])
    else:
        print(json.dumps(phases(sys.argv[1], sys.argv[2:])))
