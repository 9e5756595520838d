"""modsim: a discrete-event simulator of content moderation, oversight and state retaliation.

The Python API mirrors the command line::

    import sim
    scenario = sim.load_scenario("scenarios/baseline.yaml")
    tables = sim.run(scenario, replications=8, seed=1)
    tables.summary          # outcome, mean, ci_low, ci_high, n
"""

from __future__ import annotations

__version__ = "0.1.0"


def load_scenario(path, sets=()):
    """Load and validate a scenario file (see ``sim.scenario.load_scenario``)."""
    from sim.scenario import load_scenario as _load

    return _load(path, sets)


def run(scenario, replications=None, seed=None, workers=None):
    """Run replications of a scenario; return its tables as pandas DataFrames (see ``sim.experiment.runner.run``)."""
    from sim.experiment.runner import run as _run

    return _run(scenario, replications=replications, seed=seed, workers=workers)


__all__ = ["__version__", "load_scenario", "run"]
