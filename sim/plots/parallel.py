"""Charts drawn by several processes at once: each draws a share of the chart builders.

Drawing is most of what a study does after its last replication (a comparison's five charts, each as
PNG and SVG, take seconds), and the charts are independent of each other. This process forks
``processes - 1`` children (POSIX; only while it runs no other Python thread, since a fork copies
only the forking thread), each drawing every ``processes``-th builder, and draws the first share
itself. Every chart is drawn exactly as ``draw_charts`` draws it alone, from the same files, so the
files are the same; a child's warnings (a chart skipped) are repeated here, and the paths come back
in reading order. On an interrupt the children are killed and the interrupt goes on.
"""

from __future__ import annotations

import json
import os
import signal
import warnings
from pathlib import Path
from typing import Callable

from sim.interrupts import held_back


def draw_builders(folder: Path, outcomes: list[str] | None, builders: list[tuple[int, str, Callable]]) -> dict[int, list[Path]]:
    """Draw and save the charts of the given (position, name, builder)s; the files written, by position."""
    from sim.plots.data import FolderData
    from sim.plots.style import save

    data = FolderData(folder)
    written: dict[int, list[Path]] = {}
    for position, name, builder in builders:
        try:
            figures = builder(data, outcomes)
        except Exception as exc:  # noqa: BLE001 (one failed chart must not lose the others)
            warnings.warn(f"chart {name} skipped: {type(exc).__name__}: {exc}", RuntimeWarning, stacklevel=2)
            continue
        written[position] = [path for stem, fig in figures.items() for path in save(fig, folder / "charts", stem)]
    return written


def _child(folder: Path, outcomes, share, pipe: int) -> None:
    """In a forked child: draw the share, send back what it wrote (or its error) as JSON, and end at once."""
    code = 1
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            written = draw_builders(folder, outcomes, share)
        payload = {"written": {str(k): [str(p) for p in v] for k, v in written.items()},
                   "warnings": [str(w.message) for w in caught]}
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
    indexed = [(i, name, builder) for i, (name, builder) in enumerate(builders)]
    shares = [indexed[k::processes] for k in range(processes)]
    children: list[tuple[int, int]] = []
    try:
        for share in shares[1:]:
            if not share:
                continue
            read, write = os.pipe()
            # A signal in the middle of a fork would land in an at-fork handler (logging's), where Python only
            # prints it as ignored: it is held back until the fork is done, and the child leaves it to this process.
            with held_back():
                pid = os.fork()
                if pid == 0:  # the child never leaves this block: it ends in _child's os._exit
                    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                        signal.signal(signum, signal.SIG_IGN)
                    os.close(read)
                    _child(folder, outcomes, share, write)
            os.close(write)
            children.append((pid, read))
        written = draw_builders(folder, outcomes, shares[0])
        errors = []
        for pid, read in children:
            payload = json.loads(_read_all(read) or b'{"error": "the chart process died"}')
            os.waitpid(pid, 0)
            for message in payload.get("warnings", ()):
                warnings.warn(message, RuntimeWarning, stacklevel=2)
            written.update({int(k): [Path(p) for p in v] for k, v in payload.get("written", {}).items()})
            if "error" in payload:
                errors.append(payload["error"])
        children = []
        if errors:
            raise RuntimeError(errors[0])
    finally:
        for pid, _ in children:  # interrupted or failed: stop the others at once
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
    return [path for position in sorted(written) for path in written[position]]
