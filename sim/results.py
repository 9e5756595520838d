"""The results folder: where a command's tables, charts and manifest go, written so nothing is lost.

Work goes to a hidden temporary folder beside the final one (``.NAME.partial``); each replication
is saved there as it finishes (``parts/NNNNNN.json``), with what it belongs to (the scenario's
hash, the seed, its replication number, the ``--set`` expressions) and a checksum of its content,
so an interrupted run keeps every finished replication and ``--resume`` continues it, running
again any saved replication that is damaged or not this run's. The run's own record
(``run.json``) says what the folder holds; a resume that asks for anything else is refused.

When the work is complete the tables are written, the manifest lists every file modsim wrote
(``modsim_format``, ``files``) and the folder is renamed to its final name. That list is modsim's
proof of ownership: ``--force`` replaces a folder only when its manifest carries it and the folder
holds nothing else, and the old folder is removed file by file, its manifest last, so that a kill
at any moment leaves a state ``--resume`` completes.

One command at a time: a lock (``flock`` on ``.NAME.lock`` beside the folder) is held from the
moment a command opens a results folder (new or resumed) until it ends; a second command on the
same folder refuses at once. A name or ``--out`` can never make modsim write outside the folder
meant for it, and a non-empty folder is never overwritten without ``--force``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import weakref
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from sim.errors import OutputError, os_reason
from sim.experiment.replicate import Failure
from sim.folder_lock import FolderLock, acquire, lock_folder, lock_path
from sim.metrics import Replication
from sim.scenario.schema import Scenario

if TYPE_CHECKING:
    from typing_extensions import Self

RESULTS_ROOT = Path("results")
PARTIAL_SUFFIX = ".partial"
SEED_MAX = 2**63 - 1  # the tables store the seed as int64
MANIFEST_FORMAT = 1  # manifest.json's "modsim_format": its "files" list every file modsim wrote in the folder
RECORD_FORMAT = "modsim-run-record/1"  # run.json: what an unfinished folder is the work of
PART_FORMAT = "modsim-replication/1"  # parts/*.json: one finished replication, with its identity and checksum
_WARNINGS_SHOWN = 20


def scenario_document(scenario: Scenario) -> dict:
    """The fully resolved scenario as plain data (what `scenario.yaml` holds)."""
    return scenario.model_dump(mode="json")


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


def _walk(folder: Path, below: str = "") -> Iterator[tuple[str, bool, bool]]:
    """Every entry under a folder as (relative path, is a folder, is a link); links are not followed."""
    with os.scandir(folder) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            rel = below + entry.name
            link = entry.is_symlink()
            is_dir = not link and entry.is_dir(follow_symlinks=False)
            yield rel, is_dir, link
            if is_dir:
                yield from _walk(Path(entry.path), rel + "/")


def _redrawn(entry: str) -> bool:
    """Files `modsim plot` and `modsim report` (re)write in a finished results folder."""
    return entry in ("report.html", "charts/") or re.fullmatch(r"charts/[^/]+\.(png|svg)", entry) is not None


def _listed_files(folder: Path) -> tuple[set[str] | None, str]:
    """The entries a results folder's manifest says modsim wrote, or None and why it proves nothing."""
    manifest_path = folder / "manifest.json"
    if manifest_path.is_symlink() or not manifest_path.is_file():
        return None, "is not a modsim results folder (no manifest.json)"
    try:
        info = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        return None, "is not a modsim results folder (its manifest.json cannot be read)"
    files = info.get("files") if isinstance(info, dict) else None
    if (not isinstance(info, dict) or info.get("modsim_format") != MANIFEST_FORMAT or not isinstance(files, list)
            or not all(isinstance(f, str) for f in files)):
        return None, "is not a modsim results folder (its manifest.json carries no modsim file list)"
    return set(files), ""


def _not_ours(folder: Path, allow: tuple[str, ...] = ()) -> str | None:
    """None when modsim provably wrote the folder (its manifest lists all it holds), else why not.

    ``allow``: top-level names also accepted (run.json in a work folder being finished).
    """
    if folder.is_symlink() or not folder.is_dir():
        return "is not a folder"
    listed, why = _listed_files(folder)
    if listed is None:
        return why
    try:
        for rel, is_dir, link in _walk(folder):
            if rel == "manifest.json" or rel.split("/")[0] in allow:
                continue
            if link:
                return f"holds {rel}, a symbolic link modsim did not make"
            entry = rel + "/" if is_dir else rel
            if entry not in listed and not _redrawn(entry):
                return f"holds {entry}, which modsim did not write"
    except OSError as exc:
        return f"cannot be read: {os_reason(exc)}"
    return None


def _remove_ours(folder: Path) -> None:
    """Remove a results folder modsim wrote: each listed file, then its folders, its manifest last.

    Nothing unlisted is removed (a file that appeared meanwhile stops the removal), and the manifest
    goes last, so a folder half-removed by a kill is still provably modsim's.
    """
    listed, why = _listed_files(folder)
    if listed is None:
        raise OutputError(f"{folder} {why}; modsim will not remove it")
    for dirpath, dirnames, filenames in os.walk(folder, topdown=False):
        base = Path(dirpath)
        rel_dir = base.relative_to(folder).as_posix()
        prefix = "" if rel_dir == "." else rel_dir + "/"
        for name in filenames:
            rel = prefix + name
            if rel == "manifest.json":
                continue
            if rel not in listed and not _redrawn(rel):
                raise OutputError(f"{folder} now holds {rel}, which modsim did not write; modsim will not remove it")
            os.unlink(base / name)
        for name in dirnames:
            rel = prefix + name
            if (base / name).is_symlink() or (rel + "/" not in listed and not _redrawn(rel + "/")):
                raise OutputError(f"{folder} now holds {rel}, which modsim did not write; modsim will not remove it")
            os.rmdir(base / name)
    (folder / "manifest.json").unlink()
    folder.rmdir()


def _partial_is_ours(work: Path) -> bool:
    """Whether a ``.NAME.partial`` folder is one modsim made (parts/, run.json or a modsim manifest), or empty."""
    if work.is_symlink() or not work.is_dir():
        return False
    if not any(work.iterdir()):
        return True
    parts = work / "parts"
    if (parts.is_dir() and not parts.is_symlink()) or (work / "run.json").is_file():
        return True
    return _listed_files(work)[0] is not None


def _is_complete(work: Path) -> bool:
    """A work folder whose tables are complete: sealed by ``finalize`` (manifest lists all), parts/ removed."""
    return not (work / "parts").exists() and _not_ours(work, allow=("run.json",)) is None


def _holds_work(work: Path) -> bool:
    """Whether a work folder holds anything worth keeping (more than an empty parts/ and its record)."""
    for entry in work.iterdir():
        if entry.name == "parts" and entry.is_dir() and not any(entry.iterdir()):
            continue
        if entry.name == "run.json":
            continue
        return True
    return False


# ---------------------------------------------------------------------------- saved replications


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


def _read_part(path: Path, want: dict) -> tuple[Replication | Failure | None, str | None]:
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


class ResultsFolder:
    """A results folder being written: a temporary folder renamed to `final` when complete.

    It holds the folder's lock (see ``FolderLock``) until ``close`` (or the end of the process); use it
    as a context manager to release the lock when done.
    """

    def __init__(self, final: Path, work: Path, lock: FolderLock | None = None):
        self.final = final
        self.work = work
        self.parts = work / "parts"
        self.replace = False  # whether finalize may replace an existing (modsim) folder at `final`
        self.resumed = False  # opened by ``resume``: its run.json must match what is asked
        self.complete = False  # a resumed folder whose tables are complete (a kill stopped its renaming)
        self.record: dict | None = None  # what this folder is the work of (run.json)
        self._release = weakref.finalize(self, lock.release) if lock is not None else None

    def close(self) -> None:
        """Release the folder's lock (once; also done when the object goes or the process ends)."""
        if self._release is not None:
            self._release()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @classmethod
    def create(cls, name: str, out: str | os.PathLike | None = None, force: bool = False,
               resume_with: Callable[[Path], str] | None = None) -> ResultsFolder:
        """A new folder: `out` exactly, or `results/<name>-<UTC time>/`; its lock is taken first.

        A non-empty `out` is replaced only with ``force``, and only when modsim wrote it (its manifest
        lists every file it holds): modsim never removes anything that is not its own. `out` may not
        be a symbolic link (replacing it would write somewhere else). A left-over temporary folder of
        an interrupted run is kept, unless ``force``: the message names the command that resumes it
        (``resume_with(work)``, default ``--resume WORK``).
        """
        hint = resume_with or (lambda work: f"--resume {work}")
        if out is None:
            final, lock = _fresh_default(name)
            shown = str(final)
        else:
            shown = f"--out {out}"
            final = Path(os.path.abspath(os.fspath(out)))
            if final.parent == final:
                raise OutputError(f"{shown}: cannot be the root folder; name a folder for the results")
            _check_ancestors(final, shown)
            _make_parent(final, shown)
            lock = lock_folder(final, shown, "wait for it to finish, or choose another --out")
        work = final.parent / f".{final.name}{PARTIAL_SUFFIX}"
        try:
            if out is not None:
                if final.is_symlink():
                    raise OutputError(f"{shown}: is a symbolic link; give the real folder it points to")
                if final.exists() and not final.is_dir():
                    raise OutputError(f"{shown}: exists and is not a folder")
                if final.is_dir() and _non_empty(final, shown):
                    if not force:
                        raise OutputError(f"{shown}: folder is not empty (use --force to replace it, or --resume)")
                    reason = _not_ours(final)
                    if reason:
                        raise OutputError(f"{shown}: folder {reason}; modsim will not remove it even with --force: "
                                          "choose another folder")
            if work.is_symlink() or (work.exists() and not work.is_dir()):
                raise OutputError(f"{shown}: {work} is in the way (not a folder modsim made); remove it")
            if work.exists():
                if not _partial_is_ours(work):
                    raise OutputError(f"{shown}: {work} is in the way (not a folder modsim made); remove it")
                if not force and _is_complete(work):
                    raise OutputError(f"{shown}: an interrupted run in {work} has complete results, stopped while "
                                      f"being moved into place; finish it with: {hint(work)} (or pass --force to "
                                      "start over)")
                if not force and _holds_work(work):
                    raise OutputError(f"{shown}: an interrupted run is kept in {work}; continue it with: "
                                      f"{hint(work)} (or pass --force to start over)")
            _make_parts(work, fresh=True)
        except BaseException:
            lock.release()
            raise
        folder = cls(final, work, lock)
        folder.replace = force
        return folder

    @classmethod
    def resume(cls, path: str | os.PathLike) -> ResultsFolder:
        """An interrupted folder to continue: its temporary folder (or the final name it was meant for).

        Refused when another command holds its lock, when it holds no record of what it runs
        (run.json; objectives.json for tune), or when something not modsim's is at its final name.
        A folder whose tables were complete (a kill during ``finalize``) comes back ``complete``.
        """
        shown = f"--resume {path}"
        path = Path(os.path.abspath(os.fspath(path)))
        if path.name.startswith(".") and path.name.endswith(PARTIAL_SUFFIX) and len(path.name) > 9:
            work, final = path, path.parent / path.name[1:-len(PARTIAL_SUFFIX)]
        else:
            final, work = path, path.parent / f".{path.name}{PARTIAL_SUFFIX}"
        if work.is_symlink():
            raise OutputError(f"{shown}: {work} is a symbolic link, not a folder modsim made")
        if not work.is_dir():
            if (final / "manifest.json").exists():
                raise OutputError(f"{shown}: that run is already complete")
            raise OutputError(f"{shown}: no interrupted run there (expected {work})")
        lock = lock_folder(final, shown, "wait for it to finish")
        try:
            if not work.is_dir():  # finished by the command that held the lock
                raise OutputError(f"{shown}: that run is already complete")
            if not _partial_is_ours(work):
                raise OutputError(f"{shown}: {work} is in the way (not a folder modsim made); remove it")
            if final.is_symlink() or (final.exists() and not final.is_dir()):
                raise OutputError(f"{shown}: {final} is in the way (not a folder)")
            if final.is_dir() and _non_empty(final, shown):
                reason = _not_ours(final)
                if reason:
                    raise OutputError(f"{shown}: {final} is not empty and {reason}; modsim will not replace it: "
                                      "move it away and resume again")
            complete = _is_complete(work)
            recorded = (work / "run.json").exists() or (work / "objectives.json").exists()
            if not complete and not recorded and _holds_work(work):
                raise OutputError(f"{shown}: the interrupted run's record ({work / 'run.json'}) is missing, so "
                                  "modsim cannot tell which run its saved replications belong to; start over with "
                                  f"--out {final} --force")
            if not complete and not recorded:
                _make_parts(work, fresh=False)
        except BaseException:
            lock.release()
            raise
        folder = cls(final, work, lock)
        folder.replace = True
        # Stopped before it recorded anything (and so before it saved anything): it starts afresh.
        folder.resumed = complete or recorded
        folder.complete = complete
        return folder

    # ---- what the folder is the work of

    def _saved_record(self, command: str) -> dict | None:
        """The record of the interrupted run: run.json, or for complete results the manifest's copy of it."""
        if self.complete:
            try:
                record = json.loads((self.work / "manifest.json").read_text()).get("resume_record")
            except (OSError, ValueError, AttributeError):
                record = None
            if record is not None or not (self.work / "run.json").exists():
                return record
        saved = self.work / "run.json"
        if not saved.exists() and (self.work / "objectives.json").exists():
            raise OutputError(f"--resume {self.work}: holds an interrupted `modsim tune`, not a `modsim {command}`")
        if not saved.exists():
            raise OutputError(f"--resume {self.work}: the interrupted run's record ({saved}) is missing, so modsim "
                              f"cannot tell which run its saved replications belong to; start over with --out "
                              f"{self.final} --force")
        try:
            record = json.loads(saved.read_text())
        except (OSError, ValueError) as exc:
            raise OutputError(f"--resume {self.work}: cannot read its run.json ({os_reason(exc)}); start over with "
                              f"--out {self.final} --force") from None
        if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT:
            raise OutputError(f"--resume {self.work}: its run.json is not a record this modsim wrote; start over "
                              f"with --out {self.final} --force")
        return record

    def _check_record(self, asked: dict) -> None:
        """Refuse, naming the first difference, when a resumed folder is the work of something else."""
        self.record = asked
        if not self.resumed:
            return
        saved = self._saved_record(asked.get("command"))
        if saved is None:
            return
        where = f"--resume {self.work}"
        if saved.get("command") != asked.get("command"):
            raise OutputError(f"{where}: holds an interrupted `modsim {saved.get('command')}`, not a "
                              f"`modsim {asked.get('command')}`")
        if saved.get("seed") != asked.get("seed"):
            raise OutputError(f"{where}: the seed differs from the interrupted run's: it ran --seed "
                              f"{saved.get('seed')}, this asks --seed {asked.get('seed')}")
        if list(saved.get("sets") or ()) != list(asked.get("sets") or ()):
            raise OutputError(f"{where}: --set differs from the interrupted run's: it ran with "
                              f"{_sets_text(saved.get('sets'))}, this asks {_sets_text(asked.get('sets'))}")
        if saved.get("scenario_hash") != asked.get("scenario_hash"):
            raise OutputError(f"{where}: the scenario differs from the interrupted run's (resolved scenario hash "
                              f"{saved.get('scenario_hash')}, now {asked.get('scenario_hash')}): the scenario file "
                              "or a file it extends changed")
        if saved.get("scenarios") != asked.get("scenarios"):
            raise OutputError(f"{where}: the scenarios differ from the interrupted run's (a scenario file, their "
                              "order or the design changed)")
        for key in sorted(set(saved) | set(asked)):
            if key not in ("format", "replications") and saved.get(key) != asked.get(key):
                raise OutputError(f"{where}: the {key} differs from the interrupted run's: it had "
                                  f"{saved.get(key)}, this asks {asked.get(key)}")

    def check_same(self, scenario: Scenario, seed: int, sets=()) -> None:
        """Refuse to resume a run with a different scenario, seed or ``--set``."""
        self._check_record({"format": RECORD_FORMAT, "command": "run", "scenario_hash": scenario_hash(scenario),
                            "seed": seed, "sets": [str(s) for s in sets]})

    def start(self, scenario: Scenario, seed: int, replications: int, sets=()) -> None:
        """Record what is being run (run.json), so that a resumed run can check it continues the same work."""
        self.record = {"format": RECORD_FORMAT, "command": "run", "scenario_hash": scenario_hash(scenario),
                       "seed": seed, "sets": [str(s) for s in sets], "replications": replications}
        self._write_text(self.work / "run.json", json.dumps(self.record, sort_keys=True))

    def save_replication(self, index: int, record: Replication | Failure) -> None:
        """Save one finished replication of a run (atomically) so that an interruption keeps it."""
        run = self.record or {}
        self.save_part(f"{index:06d}", record, index=index, seed=run.get("seed"),
                       scenario_hash=run.get("scenario_hash"), sets=run.get("sets", []))

    def load_done(self, warn: Callable[[str], None] = _warn_stderr) -> dict[int, Replication]:
        """Replications an interrupted run had finished and that are this run's, intact (others run again)."""
        run = self.record or {}

        def expected(stem: str) -> dict | None:
            if not re.fullmatch(r"\d{6,}", stem):
                return None
            return {"replication": int(stem), "seed": run.get("seed"), "sets": run.get("sets", []),
                    "scenario_hash": run.get("scenario_hash")}

        return {int(key): record for key, record in self.load_parts(expected, warn).items()}

    def start_experiment(self, info: dict) -> None:
        """Record what an experiment (compare, sweep...) runs, so a resumed one can check it is the same."""
        self.record = {"format": RECORD_FORMAT, **json.loads(json.dumps(info, default=str))}
        self._write_text(self.work / "run.json", json.dumps(self.record, sort_keys=True))

    def check_experiment(self, info: dict) -> None:
        """Refuse to resume an experiment whose command, seed, --set, scenarios or design differ."""
        self._check_record({"format": RECORD_FORMAT, **json.loads(json.dumps(info, default=str))})

    def save_part(self, key: str, record: Replication | Failure, *, index: int | None = None, seed: int | None = None,
                  scenario_hash: str | None = None, sets=()) -> None:
        """Save one finished replication under a key (``parts/KEY.json``), atomically, with what it belongs to
        (its replication number, the seed, the scenario's hash, the --set expressions) and a checksum."""
        body = {"format": PART_FORMAT, "key": key, "replication": index, "seed": seed, "scenario_hash": scenario_hash,
                "sets": [str(s) for s in sets], "kind": "failure" if isinstance(record, Failure) else "replication",
                "record": asdict(record)}
        body = json.loads(json.dumps(body, allow_nan=True))  # tuples as lists: the checksum is of what is read back
        payload = json.dumps({"sha256": _digest(body), **body}, allow_nan=True)
        self._write_text(self.parts / f"{_safe_name(key)}.json", payload)

    def load_parts(self, expected: Callable[[str], dict | None],
                   warn: Callable[[str], None] = _warn_stderr) -> dict[str, Replication]:
        """Saved replications, by key, that are intact and what ``expected(key)`` says they must be.

        ``expected`` gives a key's replication number, seed, --set expressions and scenario hash (None:
        not a key of this work). Any other file is named in one warning line and run again (or ignored);
        failures are run again.
        """
        done: dict[str, Replication] = {}
        problems: list[str] = []
        for path in sorted(self.parts.glob("*.json")):
            want = expected(path.stem)
            if want is None:
                problems.append(f"{path} is not a saved replication of this run; ignored")
                continue
            record, problem = _read_part(path, want)
            if problem:
                problems.append(f"saved replication {path} {problem}; it is run again")
            elif record is not None:
                done[path.stem] = record
        for line in problems[:_WARNINGS_SHOWN]:
            warn(line)
        if len(problems) > _WARNINGS_SHOWN:
            warn(f"... and {len(problems) - _WARNINGS_SHOWN} more saved replication file(s) in {self.parts} "
                 "cannot be used; they are run again")
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
            raise OutputError(f"cannot write {path}: {os_reason(exc)}") from None

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
            raise OutputError(f"cannot write results to {self.work}: {os_reason(exc)}") from None
        self._write_text(self.work / "manifest.json", json.dumps(manifest, indent=2, default=str))

    def _seal(self) -> None:
        """List every file of the finished work in its manifest: from now on the work folder is complete."""
        path = self.work / "manifest.json"
        info = json.loads(path.read_text())
        if (self.work / "run.json").exists():
            info["resume_record"] = json.loads((self.work / "run.json").read_text())
        entries = [e + "/" if is_dir else e for e, is_dir, link in _walk(self.work)
                   if not link and e.split("/")[0] not in ("parts", "run.json", "manifest.json")]
        info.update(modsim_format=MANIFEST_FORMAT, files=entries)
        self._write_text(path, json.dumps(info, indent=2, default=str))

    def finalize(self) -> Path:
        """Rename the finished work to its final name; return that path.

        In order: the manifest lists every file (the work is complete), parts/ and run.json go, an
        earlier modsim folder at the final name is removed (only with --force or --resume, only if
        modsim provably wrote it, manifest last), and the work folder is renamed. A kill at any step
        leaves either the interrupted run (resumable) or complete work that ``--resume`` finishes.
        """
        kept = f"the results are kept in {self.work}"
        try:
            self._seal()
            if self.parts.is_dir():
                shutil.rmtree(self.parts)
            (self.work / "run.json").unlink(missing_ok=True)
            if self.final.is_symlink():
                raise OutputError(f"cannot finish results folder {self.final}: it is now a symbolic link; {kept}")
            if self.final.exists() and not self.final.is_dir():
                raise OutputError(f"cannot finish results folder {self.final}: a file is in the way; {kept}")
            if self.final.is_dir():
                if not any(self.final.iterdir()):
                    self.final.rmdir()
                else:
                    reason = _not_ours(self.final)
                    if reason is not None or not self.replace:
                        why = f"it {reason}" if reason else "a results folder appeared there during the run"
                        raise OutputError(f"cannot finish results folder {self.final}: {why}; {kept}: move it "
                                          f"away, then finish with --resume {self.work}")
                    _remove_ours(self.final)
            os.replace(self.work, self.final)
        except OutputError as exc:
            if kept in str(exc):
                raise
            raise OutputError(f"cannot finish results folder {self.final}: {exc}; {kept}") from None
        except (OSError, ValueError) as exc:
            raise OutputError(f"cannot finish results folder {self.final}: {os_reason(exc)}; {kept}") from None
        return self.final


def _make_parts(work: Path, fresh: bool) -> None:
    """The work folder's ``parts/``, made anew (``fresh``: whatever was at ``work`` removed first) or kept."""
    try:
        if fresh and work.exists():
            shutil.rmtree(work)
        (work / "parts").mkdir(parents=True, exist_ok=not fresh)
    except OSError as exc:
        raise OutputError(f"cannot create results folder {work}: {os_reason(exc)}") from None


def _fresh_default(name: str) -> tuple[Path, FolderLock]:
    """``results/<name>-<UTC time>[-n]/``: the first such name nobody has, with its lock taken."""
    shown = str(RESULTS_ROOT)
    try:
        RESULTS_ROOT.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create results folder {RESULTS_ROOT}: {os_reason(exc)}") from None
    base = f"{_safe_name(name)}-{_utc_stamp()}"
    for n in range(1, 10_000):
        final = RESULTS_ROOT / (base if n == 1 else f"{base}-{n}")
        partial = final.parent / f".{final.name}{PARTIAL_SUFFIX}"
        if os.path.lexists(final) or os.path.lexists(partial):
            continue
        try:
            got = acquire(lock_path(final), shown)
        except OutputError:
            continue  # a foreign file at the lock's name: take the next name
        if isinstance(got, str):
            continue
        if os.path.lexists(final) or os.path.lexists(partial):
            got.release()
            continue
        return final, got
    raise OutputError(f"cannot choose a results folder in {RESULTS_ROOT}: too many named {base}; use --out")


def _make_parent(final: Path, shown: str) -> None:
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create results folder {final}: {os_reason(exc)}") from None


def _non_empty(folder: Path, shown: str) -> bool:
    try:
        return any(folder.iterdir())
    except OSError as exc:
        raise OutputError(f"{shown}: cannot read the folder: {os_reason(exc)}") from None


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
