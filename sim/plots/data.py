"""What a results folder holds, read once and lazily: the charts decide what to draw from it.

Every table is optional: a missing or unreadable file is simply absent (``None``), so a chart whose
input is missing is skipped rather than failing the others.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cached_property
from pathlib import Path

import pandas as pd
import yaml


class FolderData:
    """The files of one results folder (run, compare, sweep, tune or sensitivity), read on demand."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._tables: dict[str, pd.DataFrame | None] = {}

    def table(self, filename: str) -> pd.DataFrame | None:
        """A CSV or Parquet file of the folder as a DataFrame, or None if it is absent or empty."""
        if filename not in self._tables:
            path = self.folder / filename
            frame = None
            if path.is_file():
                try:
                    frame = pd.read_csv(path) if filename.endswith(".csv") else pd.read_parquet(path)
                except (OSError, ValueError, ImportError):
                    frame = None
            self._tables[filename] = frame if frame is not None and len(frame) else None
        return self._tables[filename]

    def has(self, filename: str) -> bool:
        """Whether the folder has a non-empty table of that name."""
        return self.table(filename) is not None

    @cached_property
    def scenario(self) -> dict:
        """The resolved scenario (scenario.yaml) as plain data; for a comparison, its first scenario
        (scenarios/<name>.yaml); {} when the folder has none."""
        candidates = [self.folder / "scenario.yaml"]
        candidates += [self.folder / "scenarios" / f"{name}.yaml" for name in self.manifest.get("scenarios") or ()]
        for path in candidates:
            try:
                data = yaml.safe_load(path.read_text()) if path.is_file() else None
            except (OSError, yaml.YAMLError):
                data = None
            if isinstance(data, dict):
                return data
        return {}

    @cached_property
    def manifest(self) -> dict:
        """manifest.json as a dict, or {}."""
        try:
            data = json.loads((self.folder / "manifest.json").read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @cached_property
    def objectives(self) -> dict:
        """objectives.json of a tuning folder ({"objectives": [[direction, outcome], ...], ...}), or {}."""
        try:
            data = json.loads((self.folder / "objectives.json").read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @cached_property
    def start(self) -> dt.date | None:
        """The scenario's start date (day 0 of the time series), when known."""
        return as_date(self.scenario.get("start"))

    @cached_property
    def horizon_h(self) -> float | None:
        """The scenario horizon in hours, from the survival grid (its last time) when present."""
        survival = self.table("survival.parquet")
        if survival is not None:
            return float(survival.time_h.max())
        return None

    def scenarios(self, table: pd.DataFrame) -> list[str | None]:
        """The scenarios of a table in their order of appearance ([None] for a single run)."""
        if "scenario" in table.columns:
            return list(dict.fromkeys(table["scenario"]))
        return [None]

    @cached_property
    def name(self) -> str:
        """What to call this folder's scenario(s) in titles: "a vs b" for a comparison, else the scenario's name,
        else the folder's (without the hidden work folder's dot and ``.partial``)."""
        compared = self.manifest.get("scenarios")
        if isinstance(compared, list) and compared and all(isinstance(n, str) for n in compared):
            return " vs ".join(compared)
        folder = self.folder.name
        if folder.startswith(".") and folder.endswith(".partial"):
            folder = folder[1:-len(".partial")]
        return str(self.scenario.get("name") or self.manifest.get("scenario") or folder)


def as_date(value) -> dt.date | None:
    """A date from YAML (a date, a datetime or ISO text), or None."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value).date()
        except ValueError:
            return None
    return None


def as_datetime(value) -> dt.datetime | None:
    """A date-time from YAML (a date counts as its midnight), or None."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value).replace(tzinfo=None)
        except ValueError:
            return None
    return None
