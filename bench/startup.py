"""Start-up of the quick commands, as a ratio to importing what they are built on.

Each command runs as a new process (the console script of this interpreter), timed as the best of
``rounds`` interleaved rounds, so that a disturbance hits every row alike. The reference is the
one the project's target names, ``python -c "import yaml, pydantic"``; a second row, the same with
one one-field pydantic model defined, shows the floor of any program that validates with pydantic
(pydantic loads its schema machinery only when the first model is built).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = "import yaml, pydantic"
ONE_MODEL = "import yaml, pydantic\nclass Point(pydantic.BaseModel):\n    x: int\n"


def commands() -> dict[str, list[str]]:
    """The timed command lines, the reference first."""
    modsim = str(Path(sys.executable).with_name("modsim"))
    return {
        'python -c "import yaml, pydantic"': [sys.executable, "-c", REFERENCE],
        "python: yaml, pydantic, one model": [sys.executable, "-c", ONE_MODEL],
        "modsim --help": [modsim, "--help"],
        "modsim list": [modsim, "list"],
        "modsim validate scenarios/baseline.yaml": [modsim, "validate", str(ROOT / "scenarios" / "baseline.yaml")],
        "modsim schema": [modsim, "schema"],
    }


def measure_startup(rounds: int) -> list[dict[str, Any]]:
    """Best wall time of each command over ``rounds`` interleaved rounds, and its ratio to the reference."""
    lines = commands()
    best = {name: float("inf") for name in lines}
    for _ in range(rounds):
        for name, line in lines.items():
            started = time.perf_counter()
            subprocess.run(line, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, cwd=ROOT)
            best[name] = min(best[name], time.perf_counter() - started)
    reference = best[next(iter(lines))]
    return [{"command": name, "seconds": seconds, "ratio": seconds / reference} for name, seconds in best.items()]


def render_startup(rows: list[dict[str, Any]], rounds: int) -> list[str]:
    """The start-up section of the bench table."""
    lines = [f"start-up (new process each, best of {rounds} interleaved rounds; ratio to the first row):"]
    lines += [f"  {r['command']:<44} {r['seconds'] * 1000:7.0f} ms {r['ratio']:6.2f}x" for r in rows]
    return lines
