"""The `modsim` command: run, compare, sweep, tune and calibrate scenarios, validate them, draw and report.

Each command lives in its own module and registers itself on the one Typer ``app``; ``main`` is
the console script. Every user mistake ends as one line on stderr and exit status 2.
"""

from __future__ import annotations

from sim.cli.common import app, main
from sim.cli import run as _run  # noqa: F401  (registers the command)
from sim.cli import inspect as _inspect  # noqa: F401
from sim.cli import charts as _charts  # noqa: F401
from sim.cli import compare as _compare  # noqa: F401
from sim.cli import sweep as _sweep  # noqa: F401
from sim.cli import tune as _tune  # noqa: F401
from sim.cli import sensitivity as _sensitivity  # noqa: F401
from sim.cli import calibrate as _calibrate  # noqa: F401

__all__ = ["app", "main"]
