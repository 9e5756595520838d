"""The results folder of one command: made or resumed, its replications saved as they finish, tables and manifest written, renamed into place."""

from __future__ import annotations

import json
import os
import re
import shutil
import weakref
from collections.abc import Callable
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

from sim.results.identity import (
    MANIFEST_FORMAT, PARTIAL_SUFFIX, RECORD_FORMAT, RESULTS_ROOT, _WARNINGS_SHOWN, _safe_name, _utc_stamp,
    _warn_stderr, PART_FORMAT, scenario_document, scenario_hash,
)
from sim.results.ownership import (
    _check_ancestors, _holds_work, _is_complete, _make_parent, _non_empty, _not_ours,
    _partial_is_ours, _remove_ours, _walk,
)
from sim.results.parts import _digest, _make_parts, read_part, _sets_text


# Keys of a work's record that a resumed command may change: the record's own format, how many replications
# (a run's -n), and a study's stopping rules (``stopping``: calibrate's --generations, --min-epsilon and
# --max-evaluations), which decide where the work ends, not what the work done so far is.
MAY_CHANGE_ON_RESUME = ("format", "replications", "stopping")


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
            if key not in MAY_CHANGE_ON_RESUME and saved.get(key) != asked.get(key):
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
            record, problem = read_part(path, want)
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
