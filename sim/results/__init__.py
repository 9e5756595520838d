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

from sim.results.folder import ResultsFolder
from sim.results.identity import (
    MANIFEST_FORMAT, PART_FORMAT, PARTIAL_SUFFIX, RECORD_FORMAT, RESULTS_ROOT, data_hash, git_commit, manifest,
    scenario_document, scenario_hash,
)
from sim.results.parts import _digest, read_part

__all__ = ["MANIFEST_FORMAT", "PART_FORMAT", "PARTIAL_SUFFIX", "RECORD_FORMAT", "RESULTS_ROOT", "ResultsFolder",
           "_digest", "data_hash", "git_commit", "manifest", "read_part", "scenario_document", "scenario_hash"]
