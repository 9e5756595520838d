"""modsim: a discrete-event simulator of content moderation, oversight and state retaliation.

The Python API mirrors the command line::

    import sim
    scenario = sim.load_scenario("scenarios/baseline.yaml")
    tables = sim.run(scenario, replications=8, seed=1)
    tables.summary          # outcome, mean, ci_low, ci_high, n, method
"""

from __future__ import annotations

__version__ = "0.1.0"


def load_scenario(path, sets=()):
    """Load and validate a scenario file (see ``sim.scenario.load_scenario``)."""
    from sim.scenario import load_scenario as _load

    return _load(path, sets)


def run(scenario, replications=None, seed=None, workers=None, allow_failures=False):
    """Run replications of a scenario; return its tables as pandas DataFrames (see ``sim.experiment.runner.run``).

    A replication that raises never passes silently: unless ``allow_failures`` is true, ``run`` raises
    ``sim.ReplicationsFailed`` (its ``tables`` hold what did finish, and ``tables.failures`` why the
    others did not), as the command line exits with status 3.
    """
    from sim.experiment.runner import ReplicationsFailed, run as _run

    tables = _run(scenario, replications=replications, seed=seed, workers=workers)
    if len(tables.failures) and not allow_failures:
        raise ReplicationsFailed(tables)
    return tables


def __getattr__(name):
    if name == "ReplicationsFailed":
        from sim.experiment.runner import ReplicationsFailed

        return ReplicationsFailed
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


__all__ = ["__version__", "ReplicationsFailed", "load_scenario", "run"]
