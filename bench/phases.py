"""Where one ``modsim run SCENARIO -n 1`` spends its time: ``python -m bench.phases SCENARIO SET...``.

Runs the real command in this (fresh) interpreter with its steps wrapped to note the wall clock when
each starts and ends (the simulation, the tables, the charts, the report), and prints one JSON line of
seconds per phase; ``start-up`` runs from this interpreter's start (as the parent saw it, passed in
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


def child(scenario: str, sets: list[str], out: str) -> None:
    """Run ``modsim run`` with its steps timed; print the marks as JSON on stderr's last line."""
    import sim.experiment.replicate as replicate
    import sim.plots
    import sim.report
    import sim.results

    _wrap(replicate, "simulate", "simulation")
    _wrap(sim.results.ResultsFolder, "write_tables", "tables")
    _wrap(sim.plots, "draw_charts", "charts")
    _wrap(sim.report, "write_report", "report")
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
    result["exit"] = ended - marks["report end"]
    result["total"] = ended - launched
    return result


if __name__ == "__main__":
    if sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[4:], sys.argv[3])
    else:
        print(json.dumps(phases(sys.argv[1], sys.argv[2:])))
