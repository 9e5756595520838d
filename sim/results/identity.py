"""What a results folder is the work of: the scenario's resolved data and hash, the commit, the manifest."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
import re
import subprocess
import sys
from pathlib import Path


from sim.scenario.schema import Scenario
from sim.interrupts import plain_data

RESULTS_ROOT = Path("results")
PARTIAL_SUFFIX = ".partial"
SEED_MAX = 2**63 - 1  # the tables store the seed as int64
MANIFEST_FORMAT = 1  # manifest.json's "modsim_format": its "files" list every file modsim wrote in the folder
RECORD_FORMAT = "modsim-run-record/1"  # run.json: what an unfinished folder is the work of
PART_FORMAT = "modsim-replication/1"  # parts/*.json: one finished replication, with its identity and checksum
_WARNINGS_SHOWN = 20


def scenario_document(scenario: Scenario) -> dict:
    """The fully resolved scenario as plain data (what `scenario.yaml` holds)."""
    return plain_data(scenario)


def data_hash(document: dict) -> str:
    """A stable hash of a resolved scenario's plain data (``scenario_hash`` of the scenario it validates to)."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def scenario_hash(scenario: Scenario) -> str:
    """A stable hash of the resolved scenario, to tell whether two runs simulated the same world."""
    return data_hash(scenario_document(scenario))


def git_commit() -> str | None:
    """The commit of the modsim source tree, when it is a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                             text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")
    return cleaned or "run"


def _utc_stamp() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _warn_stderr(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


# ------------------------------------------------------------------------------------- ownership


def manifest(command: str, scenario: Scenario | None, seed: int, started: dt.datetime, **extra) -> dict:
    """What a results folder records about how it was made (``finalize`` adds the list of its files)."""
    from sim import __version__

    finished = dt.datetime.now(dt.timezone.utc)
    return {
        "modsim_version": __version__,
        "git_commit": git_commit(),
        "command": command,
        "command_line": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "scenario": scenario.name if scenario else None,
        "scenario_hash": scenario_hash(scenario) if scenario else None,
        "seed": seed,
        "started_utc": started.isoformat(),
        "finished_utc": finished.isoformat(),
        "wall_seconds": round((finished - started).total_seconds(), 3),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        **extra,
    }
