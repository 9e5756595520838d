"""The priors of ``modsim calibrate``: ``--param PATH=LOW..HIGH`` (uniform) or ``PATH=log:LOW..HIGH``
(log-uniform), PATH a dotted scenario path as for ``--set``.

Bounds are read as ``modsim tune`` reads them (``sim.experiment.sweep.parse_range``): numbers, integers
(both bounds whole: the value is rounded when applied) or durations with a unit (``20d..200d``, held in
hours). ABC-SMC works on each parameter's own scale: the value itself for a uniform prior, its base-10
logarithm for a log-uniform one (so its perturbation kernels move by factors, not by amounts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sim.experiment.sweep import DesignError, Range, _check_paths, duration_text, parse_range


@dataclass(frozen=True)
class Prior:
    """One calibrated parameter: its dotted path, its bounds (hours for durations) and its scale."""

    range: Range
    log: bool
    index: int

    @property
    def path(self) -> str:
        return self.range.path

    @property
    def name(self) -> str:
        """The parameter's name inside ABC-SMC (its database needs plain names)."""
        return f"p{self.index}"

    @property
    def kind(self) -> str:
        return self.range.kind

    @property
    def text(self) -> str:
        """How the prior reads, e.g. ``log-uniform 20d..200d``."""
        low, high = (self.shown(self.range.low), self.shown(self.range.high))
        return f"{'log-uniform' if self.log else 'uniform'} {low}..{high}"

    def bounds(self) -> tuple[float, float]:
        """The bounds on ABC's scale."""
        if self.log:
            return math.log10(self.range.low), math.log10(self.range.high)
        return self.range.low, self.range.high

    def natural(self, x: float) -> float:
        """A value on ABC's scale as the parameter's number (hours for durations; not yet rounded)."""
        return 10.0 ** x if self.log else float(x)

    def setting(self, number: float) -> Any:
        """The ``--set`` value of a number: rounded for integers, with a unit for durations."""
        number = min(max(number, self.range.low), self.range.high)
        if self.kind == "int":
            return int(round(number))
        if self.kind == "duration":
            return readable_duration(number) if self.range.high - self.range.low >= 48 else \
                duration_text(number, self.range.high - self.range.low)
        return float(number)

    def shown(self, number: float) -> str:
        """A number as a reader wants it (a duration with its unit)."""
        from sim.formatting import format_number

        if self.kind == "duration":
            return readable_duration(min(max(number, self.range.low), self.range.high))
        value = self.setting(number) if self.kind == "int" else number
        return str(value) if isinstance(value, int) else format_number(value)


def readable_duration(hours: float) -> str:
    """A duration of days or more in days to three significant figures (``42.5d``), shorter ones in hours."""
    from sim.formatting import format_number

    if hours >= 48:
        return f"{float(f'{hours / 24:.3g}'):g}d"
    return f"{float(f'{hours:.3g}'):g}h" if hours >= 1 else format_number(hours * 60) + "min"


def parse_prior(spec: str, index: int) -> Prior:
    """``PATH=LOW..HIGH`` or ``PATH=log:LOW..HIGH`` as a Prior; a DesignError (one line) otherwise."""
    path, sep, text = spec.partition("=")
    log = text.strip().startswith("log:")
    plain = f"{path}={text.strip()[4:]}" if log else spec
    r = parse_range(plain, "--param")
    if log and r.low <= 0:
        raise DesignError(f"--param {spec!r}: a log-uniform prior needs a low bound above zero")
    return Prior(r, log, index)


def parse_priors(specs: list[str]) -> list[Prior]:
    """Every ``--param`` as a Prior, refusing a path given twice."""
    priors = [parse_prior(spec, i) for i, spec in enumerate(specs)]
    _check_paths([p.path for p in priors], "--param")
    return priors


def set_expressions(priors: list[Prior], values: dict[str, float]) -> list[str]:
    """The ``--set`` expressions of one particle (``values`` on ABC's scale, by parameter name)."""
    from sim.experiment.sweep import set_expressions as expressions

    return expressions([p.path for p in priors], tuple(p.setting(p.natural(values[p.name])) for p in priors))


def prior_draw(priors: list[Prior], seed: int, t: int, k: int) -> dict[str, float]:
    """Proposal ``k`` of generation ``t`` drawn from the priors (on ABC's scale, by parameter name).

    Each draw has its own random stream, from (seed, generation, proposal) alone, so the proposals drawn from
    the prior are known without pyabc: ``modsim calibrate`` starts simulating them while pyabc is still being
    imported (``sim.calibration.abc.start_early``), and pyabc proposes the same values.
    """
    import numpy as np

    u = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, t + 2, k]))).random(len(priors))
    return {p.name: p.bounds()[0] + float(x) * (p.bounds()[1] - p.bounds()[0]) for p, x in zip(priors, u)}
