"""The saved replications of a results folder (parts/NNNNNN.json): each with its identity and a checksum, read back only when both hold."""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
from pathlib import Path


from sim.errors import OutputError, os_reason
from sim.experiment.replicate import Failure
from sim.metrics import Replication

from sim.results.identity import PART_FORMAT, _safe_name


def _digest(body: dict) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _replication(data) -> Replication | None:
    """A Replication from saved plain data, or None when it does not have the shape modsim writes."""
    if not isinstance(data, dict) or set(data) != {"outcomes", "series", "timeline", "survival"}:
        return None
    outcomes, series, timeline, survival = data["outcomes"], data["series"], data["timeline"], data["survival"]
    if not (isinstance(outcomes, dict) and all(isinstance(k, str) and _number(v) for k, v in outcomes.items())):
        return None
    if not (isinstance(series, dict) and all(isinstance(k, str) and isinstance(v, list) and all(map(_number, v))
                                             for k, v in series.items())):
        return None
    if not (isinstance(timeline, list) and all(
            isinstance(row, list) and len(row) == 4 and isinstance(row[0], str) and _number(row[1])
            and isinstance(row[2], str) and isinstance(row[3], str) for row in timeline)):
        return None
    if not (isinstance(survival, list) and all(map(_number, survival))):
        return None
    return Replication(outcomes=outcomes, series=series, timeline=[tuple(row) for row in timeline], survival=survival)


def _sets_text(sets) -> str:
    return "no --set" if not sets else " ".join(f"--set {shlex.quote(str(s))}" for s in sets)


def read_part(path: Path, want: dict) -> tuple[Replication | Failure | None, str | None]:
    """A saved replication checked against what it must be (``want``), or why it cannot be used."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"cannot be read ({os_reason(exc)})"
    try:
        data = json.loads(text)
    except ValueError:
        return None, "is not valid JSON (truncated or corrupted)"
    if not isinstance(data, dict) or data.get("format") != PART_FORMAT or not isinstance(data.get("sha256"), str):
        return None, "is not a replication file this modsim wrote"
    checksum = data.pop("sha256")
    if _digest(data) != checksum:
        return None, "does not match its checksum (edited or corrupted)"
    key = data.get("key")
    if not isinstance(key, str) or _safe_name(key) != path.stem:
        return None, f"holds {key}, not {path.stem} (copied from another replication's file)"
    if data.get("replication") != want["replication"]:
        return None, f"holds replication {data.get('replication')}, not {want['replication']}"
    if data.get("seed") != want["seed"]:
        return None, f"belongs to another run (seed {data.get('seed')}; this run's is {want['seed']})"
    if data.get("sets") != want["sets"]:
        return None, (f"belongs to another run ({_sets_text(data.get('sets'))}; "
                      f"this run has {_sets_text(want['sets'])})")
    if data.get("scenario_hash") != want["scenario_hash"]:
        return None, (f"belongs to another run (scenario hash {data.get('scenario_hash')}; "
                      f"this run's is {want['scenario_hash']})")
    if data.get("kind") == "failure":
        return None, None  # a failed replication is simply run again
    record = _replication(data.get("record")) if data.get("kind") == "replication" else None
    if record is None:
        return None, "holds data of the wrong type"
    return record, None


# ---------------------------------------------------------------------------------- the folder


def _make_parts(work: Path, fresh: bool) -> None:
    """The work folder's ``parts/``, made anew (``fresh``: whatever was at ``work`` removed first) or kept."""
    try:
        if fresh and work.exists():
            shutil.rmtree(work)
        (work / "parts").mkdir(parents=True, exist_ok=not fresh)
    except OSError as exc:
        raise OutputError(f"cannot create results folder {work}: {os_reason(exc)}") from None
