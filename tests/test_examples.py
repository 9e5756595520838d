"""Every command example in the README and in every ``--help`` runs, so that none can go stale.

Each example runs as a user would type it (through bash, in a folder where ``scenarios/`` is the
bundled one), shortened where it would take minutes: a few replications, trials or points and a
short horizon, appended after the example's own options (the last value given wins). A results
folder that an example names (``modsim plot results/baseline-...``) is made first by a short run.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from sim.cli import app

ROOT = Path(__file__).resolve().parents[1]
# Placeholders of the command syntax (SCENARIO, DIR, A B...): such a span is syntax, not an example.
_PLACEHOLDER = re.compile(r"\b[A-Z]{3,}\b|\.\.\.$|\[")
_NO_ARGUMENTS = ("list", "schema")
_SHORTER = {
    "run": ["-n", "2"],
    "compare": ["-n", "2"],
    "sweep": ["-n", "1"],
    "tune": ["--trials", "3", "-n", "1"],
    "sensitivity": ["--samples", "2", "-n", "1"],
}


def readme_examples() -> list[str]:
    """The modsim command lines of the README: inline examples and lines of its shell blocks."""
    text = (ROOT / "README.md").read_text()
    found = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.DOTALL):
        for line in block.splitlines():
            if "modsim " in line:
                found.append(line[line.index("modsim "):].split("  #")[0].strip())
    spans = re.findall(r"`(modsim [^`]+)`", text)
    # A bare command name in a sentence ("the same options as `modsim run`") is not an example.
    found += [s for s in spans if not _PLACEHOLDER.search(s) and (len(s.split()) > 2 or s.split()[1] in _NO_ARGUMENTS)]
    return list(dict.fromkeys(found))


def help_examples() -> list[str]:
    """The ``Example:`` line of every command's ``--help``."""
    group = typer.main.get_command(app)
    examples = []
    for name, command in sorted(group.commands.items()):
        lines = [line.strip() for line in (command.help or "").splitlines() if line.strip().startswith("Example:")]
        assert lines, f"modsim {name} --help has no example"
        examples += [line[len("Example:"):].strip() for line in lines]
    return examples


def test_every_command_has_a_help_example_and_the_readme_shows_every_command():
    group = typer.main.get_command(app)
    shown = {shlex.split(e)[1] for e in readme_examples()}
    assert set(group.commands) <= shown, f"commands without a README example: {set(group.commands) - shown}"


def _short_horizon(text: str) -> str:
    """A short horizon that the example's scenario accepts: past the M/M/c warm-up (100 h) and past the
    2023 case's scripted video (9 January, 8 days after its start)."""
    if "validation/" in text:
        return "300h"
    return "12d" if "cambodia" in text or "counterfactuals/" in text else "3d"


def _shortened(example: str) -> str:
    """The example with the shortening options inserted before any output redirection."""
    command = shlex.split(example)[1]
    if command not in _SHORTER:
        return example
    horizon = _short_horizon(example)
    extra = " ".join([*_SHORTER[command], "--set", f"horizon={horizon}"])
    head, redirect, tail = example.partition(" > ")
    return f"{head} {extra}{redirect}{tail}"


def _prepare(example: str, cwd: Path, env: dict) -> None:
    """Make the results folder the example reads (plot, report) with a short run of its scenario."""
    words = shlex.split(example)
    if words[1] not in ("plot", "report"):
        return
    folder = Path(words[2])
    scenario = next(p for p in (ROOT / "scenarios").rglob("*.yaml") if folder.name.startswith(p.stem + "-"))
    made = subprocess.run(["modsim", "run", str(scenario), "-n", "1", "--workers", "1", "--set",
                           f"horizon={_short_horizon(str(scenario))}",
                           "--out", str(folder)], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr


EXAMPLES = list(dict.fromkeys([*readme_examples(), *help_examples()]))


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_runs(example, tmp_path):
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    _prepare(example, tmp_path, env)
    line = _shortened(example)
    done = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{line}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    assert "Traceback" not in done.stderr
