"""The targets file of ``modsim calibrate``: observed facts, each with its tolerance.

A target measures one number in every replication and compares it with what was observed:

- ``outcome: NAME``: an outcome of the run's tables (``tracked_bat_speech_up_d``, ``board_cases``), or one of
  ``sim.metrics.CALIBRATION_OUTCOMES`` (``incitement_proactive_share``, ``incitement_view_share``);
- ``count: {post, event, within}``: how many ``event`` entries (``report``) a tracked post's timeline has
  within ``within`` of its publication;
- ``delay: {post, event, after: {post, event}}``: days from the first ``after`` event (default: the post's
  ``published``) to the first ``event`` (``gov_threat`` of post ``government`` after the ``board_decision``
  of ``bat_speech``); undefined when either never happens;
- ``series: {name, start, end, stat}``: the sum (or mean) of a daily series over calendar dates
  (``harm_events``, the attacks drawn each day, or any series of ``timeseries.parquet``).

Each has ``observed``, ``tolerance`` (its distance is ``(simulated - observed) / tolerance``) and ``bound``:
``equal`` (the default), ``at_least`` or ``at_most`` (a one-sided fact: only a shortfall, or an excess,
counts). The file is read, resolved (``extends``) and validated exactly like a scenario: a mistake is one
line naming ``file:line:column`` and the key.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from typing import Any, Literal, Optional

from pydantic import Field, model_validator

from sim.errors import ScenarioError
from sim.scenario.schema import Frozen, Hours, Name, Number

MISSING_TERM = 10.0  # distance term (in tolerances) of a target a replication leaves undefined


class EventRef(Frozen):
    """One event of a tracked post's (or the government's) timeline."""

    post: Name = Field(description="A scripted post's name, or government for the government's steps.")
    event: Name = Field(description="A timeline event, e.g. report, board_decision, removed, gov_threat.")


class Count(EventRef):
    """How many times an event appears in a post's timeline within a span of its publication."""

    within: Hours = Field(description="Counted from the post's publication, e.g. 17d.")


class Delay(EventRef):
    """Days from one event (default: the post's publication) to the first occurrence of another."""

    after: Optional[EventRef] = Field(None, description="The starting event (default: the post's published).")


class Window(Frozen):
    """A daily series summed (or averaged) over calendar dates, both included."""

    name: Name = Field(description="harm_events, or a series of timeseries.parquet (queue_length...).")
    start: dt.date
    end: dt.date
    stat: Literal["sum", "mean"] = "sum"

    @model_validator(mode="after")
    def _ordered(self) -> "Window":
        if self.end < self.start:
            raise ValueError("end: expected a date on or after start")
        return self


class Target(Frozen):
    """One observed fact: what to measure, its observed value and its tolerance."""

    name: Name = Field(description="The target's name in tables and charts.")
    outcome: Optional[Name] = Field(None, description="An outcome of the run's tables.")
    count: Optional[Count] = None
    delay: Optional[Delay] = None
    series: Optional[Window] = None
    observed: Number = Field(description="The observed value, in the measure's unit (days for delays).")
    tolerance: Number = Field(gt=0.0, description="How far from observed counts as one unit of distance.")
    bound: Literal["equal", "at_least", "at_most"] = "equal"
    source: Optional[str] = Field(None, max_length=400, description="Where the fact comes from.")

    @model_validator(mode="after")
    def _one_measure(self) -> "Target":
        given = [k for k in ("outcome", "count", "delay", "series") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("expected exactly one of outcome, count, delay or series; found "
                             + (", ".join(given) if given else "none"))
        return self

    @property
    def measure(self) -> str:
        """Which kind of measure this target is."""
        return next(k for k in ("outcome", "count", "delay", "series") if getattr(self, k) is not None)

    def term(self, value: float) -> float:
        """Its distance term: signed shortfall or excess in tolerances (0 inside a one-sided bound)."""
        if value is None or not math.isfinite(value):
            return MISSING_TERM
        gap = (value - self.observed) / self.tolerance
        if self.bound == "at_least":
            return min(gap, 0.0)
        if self.bound == "at_most":
            return max(gap, 0.0)
        return gap


class Targets(Frozen):
    """A targets file."""

    name: Name
    description: Optional[str] = Field(None, max_length=4000)
    extends: Optional[str] = None
    targets: list[Target] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> "Targets":
        names = [t.name for t in self.targets]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ValueError(f"targets.{i}.name: {name!r} names two targets")
        return self


class LoadedTargets:
    """A validated targets file with the positions of its keys (for errors found later)."""

    def __init__(self, model: Targets, resolved) -> None:
        self.model = model
        self.path = resolved.path
        self._locate = resolved.locate

    @property
    def targets(self) -> list[Target]:
        return list(self.model.targets)

    def error(self, index: int, key: str, message: str) -> ScenarioError:
        """A ScenarioError at target ``index``'s ``key`` (e.g. ``outcome``, ``count.post``)."""
        path = ("targets", index, *[int(k) if k.isdigit() else k for k in key.split(".")])
        where = self._locate(path, False) or (self.path, None, None)
        return ScenarioError(where[0], where[1], where[2], ".".join(map(str, path)), message)


def load_targets(path: str | os.PathLike) -> LoadedTargets:
    """Read, resolve and validate a targets file; one ScenarioError (file:line:column, key) on any mistake."""
    from sim.scenario.loader import load_document

    model, resolved = load_document(path, model=Targets)
    return LoadedTargets(model, resolved)


def check_against(loaded: LoadedTargets, scenario) -> None:
    """Refuse targets naming a post the scenario does not track, or dates outside its run."""
    from sim.scenario.suggest import did_you_mean

    posts = [p.name for p in scenario.scripted_posts]
    horizon_end = scenario.start + dt.timedelta(hours=scenario.horizon)
    for i, target in enumerate(loaded.targets):
        refs: list[tuple[str, Any]] = []
        if target.count is not None:
            refs.append(("count.post", target.count))
        if target.delay is not None:
            refs.append(("delay.post", target.delay))
            if target.delay.after is not None:
                refs.append(("delay.after.post", target.delay.after))
        for key, ref in refs:
            if ref.post != "government" and ref.post not in posts:
                hint = did_you_mean(ref.post, [*posts, "government"])
                raise loaded.error(i, key, f"{ref.post!r} is not a scripted post of {scenario.name} (tracked: "
                                           f"{', '.join([*posts, 'government'])})" + (f"; {hint}" if hint else ""))
        if target.series is not None:
            for key, day in (("series.start", target.series.start), ("series.end", target.series.end)):
                if not scenario.start <= day <= horizon_end:
                    raise loaded.error(i, key, f"{day} is outside the run ({scenario.start} to {horizon_end})")


def check_measured(loaded: LoadedTargets, outcomes: list[str]) -> None:
    """Refuse an ``outcome`` target naming no outcome the replications measure (with a did-you-mean)."""
    from sim.scenario.suggest import did_you_mean

    for i, target in enumerate(loaded.targets):
        if target.outcome is not None and target.outcome not in outcomes:
            hint = did_you_mean(target.outcome, outcomes)
            raise loaded.error(i, "outcome", f"{target.outcome!r} is not an outcome of this scenario"
                                             + (f"; {hint}" if hint else ""))
