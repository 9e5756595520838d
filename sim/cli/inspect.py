"""Commands that look at scenarios without running them: validate, list, schema."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import List, Optional

import typer

from sim.cli.common import EXIT_USER_ERROR, app, print_error
from sim.errors import ModsimError


@app.command()
def validate(
    scenarios: List[Path] = typer.Argument(..., help="Scenario or targets files, or folders: every *.yaml below them."),
    set_: Optional[List[str]] = typer.Option(None, "--set", help="Override a value: dotted.path=value (repeatable)."),
    insist: bool = typer.Option(False, "--insist", help="Accept a scenario whose estimated work is absurd, "
                                                        "as modsim run --insist runs it."),
) -> None:
    """Check scenario files and print what is wrong, or "ok".

    A file is wrong when modsim run would refuse it: a bad value, or absurd work (unless --insist).
    A file with a top-level `targets` list is a targets file of modsim calibrate, checked as one.

    Example: modsim validate scenarios/baseline.yaml scenarios/cambodia_2023.yaml
    """
    from sim.scenario.overrides import parse_set

    try:
        sets = [parse_set(expr) for expr in set_ or ()]
    except ModsimError as exc:
        print_error(exc)
        raise typer.Exit(EXIT_USER_ERROR)
    bad = 0
    for path in scenarios:
        files = _scenario_files(path)
        if not files:
            bad += 1
            print_error(f"{path}: is a directory with no *.yaml file below it")
        for file in files:
            try:
                _check(file, sets, insist)
            except ModsimError as exc:
                bad += 1
                print_error(exc)
            else:
                typer.echo(f"{file}: ok")
    if bad:
        raise typer.Exit(EXIT_USER_ERROR)


def _is_targets_file(path: Path) -> bool:
    """Whether a file is a targets file of ``modsim calibrate``: a mapping with a top-level ``targets`` key
    (no scenario has one). A file that cannot be read is left to the scenario check, which says why."""
    from sim.scenario.extends import resolve

    try:
        data = resolve(str(path)).data
    except ModsimError:
        return False
    return isinstance(data, dict) and "targets" in data


def _scenario_files(path: Path) -> list[Path]:
    """The path itself, or for a folder every *.yaml below it (sorted, folders named *.yaml left out)."""
    if not path.is_dir():
        return [path]
    return sorted(p for p in path.rglob("*.yaml") if not p.is_dir())


def _check(path: Path, sets: list, insist: bool) -> None:
    """Load and validate one scenario, then refuse it as modsim run would for its estimated work; or
    validate one targets file (``--set`` is for scenarios and does not apply to it)."""
    from sim.scenario.loader import load_document, positioned_error
    from sim.scenario.workload import WorkloadError, check_workload

    if _is_targets_file(path):
        from sim.calibration.targets import load_targets

        load_targets(path)
        return
    scenario, resolved = load_document(str(path), sets)
    try:
        check_workload(scenario, scenario.replications, insist=True)
    except WorkloadError as exc:
        raise positioned_error(str(exc), resolved, sets) from None
    if insist:
        return
    try:
        check_workload(scenario, scenario.replications)
    except WorkloadError as exc:
        raise positioned_error(f"{exc} (modsim run refuses it without --insist)", resolved, sets) from None


@app.command("list")
def list_scenarios() -> None:
    """List the bundled scenarios, one line each.

    Example: modsim list
    """
    import yaml

    from sim.scenario import bundled_scenarios

    here = Path.cwd()
    for path in bundled_scenarios():
        try:
            data = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
        except (OSError, yaml.YAMLError):
            data = {}
        description = str(data.get("description", "")).strip().splitlines()
        first = description[0] if description else ""
        typer.echo(f"{os.path.relpath(path, here)}  {first}")


@app.command()
def schema() -> None:
    """Print the JSON Schema of the scenario format (for editors' completion and checking).

    Files that use extends: are checked as partial scenarios (nothing required). In VS Code (YAML
    extension), a first line "# yaml-language-server: $schema=modsim.schema.json" names the schema.

    Example: modsim schema > modsim.schema.json
    """
    from sim.scenario.json_schema import editor_schema

    typer.echo(json.dumps(editor_schema(), indent=2))
