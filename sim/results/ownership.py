"""Which files of a results folder are modsim's, so that --force removes only those, and where a folder may go."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path


from sim.errors import OutputError, os_reason
from sim.results.identity import MANIFEST_FORMAT


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
    """Whether a work folder holds anything worth keeping (more than an empty parts/ and its record, whole or
    cut short while being written: a stop between writing ``run.json.tmp`` and renaming it leaves no record and
    nothing that needs one)."""
    for entry in work.iterdir():
        if entry.name == "parts" and entry.is_dir() and not any(entry.iterdir()):
            continue
        if entry.name in ("run.json", "run.json.tmp"):
            continue
        return True
    return False


# ---------------------------------------------------------------------------- saved replications


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
