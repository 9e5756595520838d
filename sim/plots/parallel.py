"""Charts drawn as jobs, one per chart builder and file format, by one process or by several at once.

Drawing is most of what a study does after its last replication (a comparison's charts take 1-2 s,
one sensitivity chart 1 s), and the files are independent of each other. A job is one builder's
charts in one format: the process that takes it builds the figures and saves them in that format
(building is the small part: 0.05-0.3 s of a builder's 0.3-1.5 s). The jobs wait in a pipe, one
byte each, the likely slowest first (``DRAWING_ORDER``); every process takes the next byte when it
is free, so a study with one chart still draws its PNG and its SVG side by side. With ``processes``
above 1 this process forks ``processes - 1`` children (POSIX; only while it runs no other Python
thread, since a fork copies only the forking thread) and takes jobs too. Each file is drawn from a figure of its own
(``sim.plots.style.save``), so it is the same file whichever process draws it; a builder that
fails is reported once, and the paths come back in reading order. On an interrupt the children are
killed and the interrupt goes on.
"""

from __future__ import annotations

import json
import os
import signal
import warnings
from pathlib import Path
from typing import Callable

from sim.interrupts import held_back

# Builders by how long their charts took to save (measured on a comparison and the studies' folders: the four-panel
# timeseries 1.4 s as PNG and SVG, a tracked post's lanes 0.8 s, a sensitivity chart 0.9 s, ...), slowest first, so
# that the last job to start is a short one. A builder missing here comes last.
DRAWING_ORDER = ("timeseries", "tracked", "sensitivity", "calibration", "tuning", "comparison", "sweep", "survival",
                 "government")

Job = tuple[int, str, Callable, str]  # (position in reading order, builder name, builder, format)


def drawing_jobs(builders: list[tuple[str, Callable]]) -> list[Job]:
    """One job per builder and format, the likely slowest first: each builder's PNG, then its SVG (PNG is slower)."""
    from sim.plots.style import FORMATS

    rank = {name: k for k, name in enumerate(DRAWING_ORDER)}
    ordered = sorted(enumerate(builders), key=lambda item: rank.get(item[1][0], len(rank)))
    return [(position, name, builder, ext) for position, (name, builder) in ordered for ext in FORMATS]


def draw_jobs(folder: Path, outcomes: list[str] | None, jobs: list[Job], take: Callable[[], int | None]):
    """Draw the jobs that ``take`` hands out (a job's index, None when none is left).

    Returns the files written, keyed by (position, the figure's place in its builder, the format's place in
    FORMATS), and the failed builders' messages by name."""
    from sim.plots.data import FolderData
    from sim.plots.style import FORMATS, save

    data = FolderData(folder)
    written: dict[tuple[int, int, int], Path] = {}
    failed: dict[str, str] = {}
    while (index := take()) is not None:
        position, name, builder, ext = jobs[index]
        try:
            # Built anew for each format: a figure is saved once (sim.plots.style.save).
            figures = builder(data, outcomes)
        except Exception as exc:  # noqa: BLE001 (one failed chart must not lose the others)
            failed[name] = f"chart {name} skipped: {type(exc).__name__}: {exc}"
            continue
        for k, (stem, fig) in enumerate(figures.items()):
            written[(position, k, FORMATS.index(ext))] = save(fig, folder / "charts", stem, ext)
    return written, failed


def in_order(written: dict[tuple[int, int, int], Path], failed: dict[str, str]) -> list[Path]:
    """Warn once for each failed builder; the files in reading order (by builder, figure, then format)."""
    for message in failed.values():
        warnings.warn(message, RuntimeWarning, stacklevel=3)
    return [written[key] for key in sorted(written)]


def draw_serial(folder: Path, outcomes: list[str] | None, builders: list[tuple[str, Callable]]) -> list[Path]:
    """Every job in this process: the same files ``draw_parallel`` writes, in reading order."""
    jobs = drawing_jobs(builders)
    order = iter(range(len(jobs)))
    return in_order(*draw_jobs(folder, outcomes, jobs, lambda: next(order, None)))


def _take_from(queue: int) -> Callable[[], int | None]:
    """Take the next job from the pipe of job bytes (a read of one byte is atomic among the processes)."""
    def take() -> int | None:
        byte = os.read(queue, 1)
        return byte[0] if byte else None
    return take


def _child(folder: Path, outcomes, jobs: list[Job], queue: int, pipe: int) -> None:
    """In a forked child: draw jobs while there are any, send back what it wrote (or its error) as JSON, end at once."""
    code = 1
    try:
        written, failed = draw_jobs(folder, outcomes, jobs, _take_from(queue))
        payload = {"written": [[*key, str(path)] for key, path in written.items()], "failed": failed}
        code = 0
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
        payload = {"error": f"{type(exc).__name__}: {exc}"}
    try:
        data = json.dumps(payload).encode()
        while data:
            data = data[os.write(pipe, data):]
    finally:
        os._exit(code)


def _read_all(pipe: int) -> bytes:
    chunks = []
    while chunk := os.read(pipe, 1 << 16):
        chunks.append(chunk)
    os.close(pipe)
    return b"".join(chunks)


def draw_parallel(folder: Path, outcomes: list[str] | None, builders: list[tuple[str, Callable]],
                  processes: int) -> list[Path]:
    """Draw the builders' charts over ``processes`` processes (this one included); the files in reading order."""
    jobs = drawing_jobs(builders)
    if len(jobs) > 255:
        raise ValueError("a job is one byte in the queue: at most 255 jobs")
    queue, fill = os.pipe()
    os.write(fill, bytes(range(len(jobs))))  # far below a pipe's capacity
    os.close(fill)  # once the bytes are taken, a read finds the end: no job left
    children: list[tuple[int, int]] = []
    try:
        for _ in range(min(processes, len(jobs)) - 1):
            read, write = os.pipe()
            # A signal in the middle of a fork would land in an at-fork handler (logging's), where Python only
            # prints it as ignored: it is held back until the fork is done, and the child leaves it to this process.
            with held_back():
                pid = os.fork()
                if pid == 0:  # the child never leaves this block: it ends in _child's os._exit
                    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                        signal.signal(signum, signal.SIG_IGN)
                    os.close(read)
                    _child(folder, outcomes, jobs, queue, write)
            os.close(write)
            children.append((pid, read))
        written, failed = draw_jobs(folder, outcomes, jobs, _take_from(queue))
        errors = []
        for pid, read in children:
            payload = json.loads(_read_all(read) or b'{"error": "the chart process died"}')
            os.waitpid(pid, 0)
            failed.update(payload.get("failed", {}))
            written.update({(position, k, ext): Path(path) for position, k, ext, path in payload.get("written", ())})
            if "error" in payload:
                errors.append(payload["error"])
        children = []
        if errors:
            raise RuntimeError(errors[0])
    finally:
        os.close(queue)
        for pid, _ in children:  # interrupted or failed: stop the others at once
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
    return in_order(written, failed)
