"""Precision on demand: add replications until the named outcomes' intervals are narrow enough.

``--precision 5%`` asks every shown outcome for a 95% interval whose half-width is at most 5% of
its mean; ``--precision removed_share=0.01`` asks one outcome for an absolute half-width (and
``removed_share=5%`` for a relative one). The run starts with ``-n`` replications; while a target
is unmet and ``--max-replications`` allows, it adds a batch, sized from the half-widths so far
(a half-width shrinks as t(n-1)/sqrt(n), so about n (h / target)**2 (z / t(n-1))**2 replications should
reach the target),
at most four times the replications so far, rounded up to a multiple of the workers so that every
batch keeps them all busy. Replication k has
the same seed whatever the batches, so a comparison keeps its common random numbers, and the
result is the same as one run of the final count. An outcome that is undefined (``-``) in every
replication cannot be narrowed and does not hold the run back; the summary says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.errors import ModsimError


class PrecisionError(ModsimError):
    """A --precision expression that cannot be read."""


@dataclass(frozen=True)
class Target:
    """A half-width asked of one outcome (``outcome`` None: of every shown outcome)."""

    outcome: str | None
    value: float
    relative: bool

    @property
    def text(self) -> str:
        """The target as the user wrote it."""
        amount = f"{self.value * 100:g}%" if self.relative else f"{self.value:g}"
        return amount if self.outcome is None else f"{self.outcome}={amount}"


def parse_target(text: str) -> Target:
    """``5%``, ``NAME=0.5`` or ``NAME=5%`` as a Target; one clear error otherwise."""
    outcome, _, amount = text.rpartition("=")
    amount = amount.strip()
    relative = amount.endswith("%")
    try:
        value = float(amount[:-1] if relative else amount)
    except ValueError:
        raise PrecisionError(f"--precision {text!r}: expected 5% (every shown outcome), NAME=0.5 or NAME=5%") from None
    if not math.isfinite(value) or value <= 0:
        raise PrecisionError(f"--precision {text!r}: the half-width must be a positive number")
    return Target(outcome.strip() or None, value / 100 if relative else value, relative)


def half_widths(summary, targets: list[Target], shown: list[str]) -> dict[str, tuple[float, float]]:
    """For each targeted outcome: (its interval's half-width, the half-width asked); NaN half-width when undefined."""
    rows = summary.set_index("outcome")
    asked: dict[str, tuple[float, float]] = {}
    for target in targets:
        for name in ([target.outcome] if target.outcome else shown):
            if name not in rows.index:
                raise PrecisionError(f"--precision {target.text}: no outcome {name!r} in this run")
            row = rows.loc[name]
            half = (row.ci_high - row.ci_low) / 2 if row.n >= 2 else math.inf
            goal = target.value * abs(row["mean"]) if target.relative else target.value
            asked[name] = (float(half), float(goal))
    return asked


def unmet(widths: dict[str, tuple[float, float]]) -> list[str]:
    """The outcomes whose interval is still wider than asked (undefined ones never hold a run back)."""
    return [name for name, (half, goal) in widths.items() if not math.isnan(half) and half > goal]


def next_count(widths: dict[str, tuple[float, float]], count: int, cap: int, workers: int) -> int:
    """How many replications in all should reach every target, in whole batches of ``workers``, within ``cap``."""
    from sim.experiment.statistics import normal_quantile, t_quantile

    # The half-width is t(n-1) s / sqrt(n): with few replications the t quantile, not the spread, makes it wide.
    shrink = (normal_quantile(0.975) / t_quantile(0.975, max(count - 1, 1))) ** 2
    needed = count + workers
    for name in unmet(widths):
        half, goal = widths[name]
        if goal > 0 and math.isfinite(half):
            needed = max(needed, math.ceil(count * (half / goal) ** 2 * shrink))
        else:
            needed = max(needed, 2 * count)
    # At most four times as many at once: with few replications the estimate is itself noisy (and a
    # log-scale interval's half-width inflated), so it is checked again before going further.
    needed = min(needed, 4 * count)
    batches = math.ceil((needed - count) / workers)
    return min(cap, count + batches * workers)


def stop_reason(widths: dict[str, tuple[float, float]], count: int, cap: int) -> str:
    """One sentence saying what stopped the replications: every target met, or the cap (and which is unmet)."""
    missing = unmet(widths)
    undefined = sorted(name for name, (half, _) in widths.items() if math.isnan(half))
    tail = f"; undefined, so not narrowed: {', '.join(undefined)}" if undefined else ""
    if not missing:
        return f"precision reached after {count} replications: every targeted interval is narrow enough{tail}"
    detail = ", ".join(f"{name} +/-{widths[name][0]:.3g} (asked {widths[name][1]:.3g})" for name in missing[:4])
    more = f" and {len(missing) - 4} more" if len(missing) > 4 else ""
    return f"stopped at --max-replications {cap} with intervals still too wide: {detail}{more}{tail}"
