"""The results folder: where a command's tables, charts and manifest go, written so nothing is lost.

Work goes to a hidden temporary folder beside the final one (``.NAME.partial``); each replication
is saved there as it finishes (``parts/NNNNNN.json``), so an interrupted run keeps every finished
replication and ``--resume`` continues it. When the work is complete the tables are written and
the folder is renamed to its final name in one step. A name or ``--out`` can never make modsim
write outside the folder meant for it, and a non-empty folder is never overwritten without
``--force``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import yaml

from sim.errors import ModsimError
from sim.experiment.replicate import Failure
from sim.metrics import Replication
from sim.scenario.schema import Scenario

RESULTS_ROOT = Path("results")
PARTIAL_SUFFIX = ".partial"


class OutputError(ModsimError):
    """The results folder cannot be used as asked."""


def scenario_document(scenario: Scenario) -> dict:
    """The fully resolved scenario as plain data (what `scenario.yaml` holds)."""
    return scenario.model_dump(mode="json")


def scenario_hash(scenario: Scenario) -> str:
    """A stable hash of the resolved scenario, to tell whether two runs simulated the same world."""
    canonical = json.dumps(scenario_document(scenario), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


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


class ResultsFolder:
    """A results folder being written: a temporary folder renamed to `final` when complete."""

    def __init__(self, final: Path, work: Path):
        self.final = final
        self.work = work
        self.parts = work / "parts"
        self.replace = False  # whether finalize may replace an existing (modsim) folder at `final`

    @classmethod
    def create(cls, name: str, out: str | os.PathLike | None = None, force: bool = False) -> ResultsFolder:
        """A new folder: `out` exactly, or `results/<name>-<UTC time>/`.

        A non-empty `out` is replaced only with ``force``, and only when it is a results folder modsim
        wrote (it has a manifest.json): modsim never removes anything that is not its own. `out` may
        not be a symbolic link (replacing it would write somewhere else). A left-over temporary folder
        of an interrupted run is kept, unless ``force``: ``--resume`` continues it.
        """
        if out is None:
            final = RESULTS_ROOT / f"{_safe_name(name)}-{_utc_stamp()}"
            n = 1
            while final.exists() or (final.parent / f".{final.name}{PARTIAL_SUFFIX}").exists():
                n += 1
                final = RESULTS_ROOT / f"{_safe_name(name)}-{_utc_stamp()}-{n}"
            shown = str(final)
        else:
            shown = f"--out {out}"
            final = Path(os.path.abspath(os.fspath(out)))
            if final.parent == final:
                raise OutputError(f"{shown}: cannot be the root folder; name a folder for the results")
            _check_ancestors(final, shown)
            if final.is_symlink():
                raise OutputError(f"{shown}: is a symbolic link; give the real folder it points to")
            if final.exists() and not final.is_dir():
                raise OutputError(f"{shown}: exists and is not a folder")
            if final.is_dir() and _non_empty(final, shown):
                if not force:
                    raise OutputError(f"{shown}: folder is not empty (use --force to replace it, or --resume)")
                if not _is_ours(final):
                    raise OutputError(
                        f"{shown}: folder is not empty and is not a modsim results folder (no manifest.json); "
                        "modsim will not remove it even with --force: choose another folder")
        work = final.parent / f".{final.name}{PARTIAL_SUFFIX}"
        if work.is_symlink() or (work.exists() and not work.is_dir()):
            raise OutputError(f"{shown}: {work} is in the way (not a folder modsim made); remove it")
        if work.exists():
            if not force and any((work / "parts").glob("*.json")):
                raise OutputError(
                    f"{shown}: an interrupted run is kept in {work}; continue it with --resume {work}, "
                    "or pass --force to start over")
            if not _is_ours(work, partial=True):
                raise OutputError(f"{shown}: {work} is in the way (not a folder modsim made); remove it")
        try:
            if work.exists():
                shutil.rmtree(work)
            (work / "parts").mkdir(parents=True)
        except OSError as exc:
            raise OutputError(f"cannot create results folder {work}: {_reason(exc)}") from None
        folder = cls(final, work)
        folder.replace = force
        return folder

    @classmethod
    def resume(cls, path: str | os.PathLike) -> ResultsFolder:
        """An interrupted folder to continue: its temporary folder (or the final name it was meant for)."""
        shown = path
        path = Path(os.path.abspath(os.fspath(path)))
        if path.name.startswith(".") and path.name.endswith(PARTIAL_SUFFIX):
            work, final = path, path.parent / path.name[1:-len(PARTIAL_SUFFIX)]
        else:
            final, work = path, path.parent / f".{path.name}{PARTIAL_SUFFIX}"
        if work.is_symlink():
            raise OutputError(f"--resume {shown}: {work} is a symbolic link, not a folder modsim made")
        if not (work / "parts").is_dir():
            if (final / "manifest.json").exists():
                raise OutputError(f"--resume {shown}: that run is already complete")
            raise OutputError(f"--resume {shown}: no interrupted run there (expected {work}/parts)")
        if final.is_symlink() or (final.exists() and not final.is_dir()):
            raise OutputError(f"--resume {shown}: {final} is in the way (not a folder)")
        if final.is_dir() and _non_empty(final, f"--resume {shown}") and not _is_ours(final):
            raise OutputError(f"--resume {shown}: {final} is not empty and is not a modsim results folder")
        folder = cls(final, work)
        folder.replace = True
        return folder

    def check_same(self, scenario: Scenario, seed: int) -> None:
        """Refuse to resume a run with a different scenario or seed."""
        saved = self.work / "run.json"
        if not saved.exists():
            return
        try:
            info = json.loads(saved.read_text())
        except (OSError, ValueError) as exc:
            raise OutputError(f"--resume {self.work}: cannot read run.json: {_reason(exc)}") from None
        if not isinstance(info, dict):
            raise OutputError(f"--resume {self.work}: run.json is not what modsim writes")
        if info.get("scenario_hash") != scenario_hash(scenario) or info.get("seed") != seed:
            raise OutputError(f"--resume {self.work}: the scenario or seed differs from the interrupted run's")

    def start(self, scenario: Scenario, seed: int, replications: int) -> None:
        """Record what is being run, so that a resumed run can check it continues the same work."""
        info = {"scenario_hash": scenario_hash(scenario), "seed": seed, "replications": replications}
        self._write_text(self.work / "run.json", json.dumps(info))

    def save_replication(self, index: int, record: Replication | Failure) -> None:
        """Save one finished replication (atomically) so that an interruption keeps it."""
        kind = "failure" if isinstance(record, Failure) else "replication"
        payload = json.dumps({"kind": kind, **asdict(record)}, allow_nan=True)
        self._write_text(self.parts / f"{index:06d}.json", payload)

    def load_done(self) -> dict[int, Replication | Failure]:
        """Replications an interrupted run had finished (failures are run again)."""
        done: dict[int, Replication | Failure] = {}
        for path in sorted(self.parts.glob("*.json")):
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            try:
                if data.pop("kind") == "replication":
                    data["timeline"] = [tuple(row) for row in data["timeline"]]
                    done[int(path.stem)] = Replication(**data)
            except (AttributeError, KeyError, TypeError, ValueError):
                continue  # a damaged or foreign part file: that replication is simply run again
        return done

    def start_experiment(self, info: dict) -> None:
        """Record what an experiment (compare, sweep...) runs, so a resumed one can check it is the same."""
        self._write_text(self.work / "run.json", json.dumps(info, sort_keys=True, default=str))

    def check_experiment(self, info: dict) -> None:
        """Refuse to resume an experiment whose scenarios, seed or design differ from the interrupted one."""
        saved = self.work / "run.json"
        if not saved.exists():
            return
        if json.loads(saved.read_text()) != json.loads(json.dumps(info, sort_keys=True, default=str)):
            raise OutputError(f"--resume {self.work}: the scenarios, seed or design differ from the interrupted run's")

    def save_part(self, key: str, record: Replication | Failure) -> None:
        """Save one finished unit of an experiment under a key (``parts/KEY.json``), atomically."""
        kind = "failure" if isinstance(record, Failure) else "replication"
        payload = json.dumps({"kind": kind, **asdict(record)}, allow_nan=True)
        self._write_text(self.parts / f"{_safe_name(key)}.json", payload)

    def load_parts(self) -> dict[str, Replication]:
        """Units an interrupted experiment had finished, by key (failures are run again)."""
        done: dict[str, Replication] = {}
        for path in sorted(self.parts.glob("*.json")):
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if data.pop("kind", None) == "replication":
                data["timeline"] = [tuple(row) for row in data["timeline"]]
                done[path.stem] = Replication(**data)
        return done

    def _write_text(self, path: Path, text: str) -> None:
        tmp = path.with_name(path.name + ".tmp")
        try:
            tmp.write_text(text)
            os.replace(tmp, path)
        except OSError as exc:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
            raise OutputError(f"cannot write {path}: {_reason(exc)}") from None

    def write_tables(self, tables: dict, scenario: Scenario | None, manifest: dict) -> None:
        """Write the tables (DataFrames by file name), the resolved scenario and the manifest."""
        try:
            for filename, table in tables.items():
                target = self.work / filename
                if filename.endswith(".csv"):
                    table.to_csv(target, index=False)
                else:
                    table.to_parquet(target, index=False)
            if scenario is not None:
                text = yaml.safe_dump(scenario_document(scenario), sort_keys=False, allow_unicode=True)
                (self.work / "scenario.yaml").write_text(text)
        except OSError as exc:
            raise OutputError(f"cannot write results to {self.work}: {_reason(exc)}") from None
        self._write_text(self.work / "manifest.json", json.dumps(manifest, indent=2, default=str))

    def finalize(self) -> Path:
        """Rename the finished work to its final name; return that path."""
        try:
            if self.final.is_symlink():
                raise OutputError(f"cannot finish results folder {self.final}: it is now a symbolic link")
            if self.final.is_dir():
                if not any(self.final.iterdir()):
                    self.final.rmdir()
                elif self.replace and _is_ours(self.final):
                    shutil.rmtree(self.final)
                else:
                    raise OutputError(
                        f"cannot finish results folder {self.final}: files appeared in it during the run; "
                        f"the results are kept in {self.work}")
            shutil.rmtree(self.parts, ignore_errors=True)
            (self.work / "run.json").unlink(missing_ok=True)
            os.replace(self.work, self.final)
        except OSError as exc:
            raise OutputError(f"cannot finish results folder {self.final}: {_reason(exc)}") from None
        return self.final


def _reason(exc: BaseException) -> str:
    """The OS's reason for a failure, in words (``No space left on device``)."""
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _non_empty(folder: Path, shown: str) -> bool:
    try:
        return any(folder.iterdir())
    except OSError as exc:
        raise OutputError(f"{shown}: cannot read the folder: {_reason(exc)}") from None


def _is_ours(folder: Path, partial: bool = False) -> bool:
    """Whether a folder is one modsim wrote: a results folder (manifest.json), or a temporary one."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    if partial:
        return (folder / "parts").is_dir() or (folder / "run.json").is_file() or not any(folder.iterdir())
    return (folder / "manifest.json").is_file() and not (folder / "manifest.json").is_symlink()


def _check_ancestors(final: Path, shown: str) -> None:
    """A clear error when a folder above `final` is a file (`--out /etc/hostname/x`)."""
    for parent in final.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"{shown}: {parent} is a file, not a folder")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise OutputError(f"{shown}: cannot create results folder in {parent}: permission denied")
            return


def manifest(command: str, scenario: Scenario | None, seed: int, started: dt.datetime, **extra) -> dict:
    """What a results folder records about how it was made."""
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
