"""Commands that look at scenarios without running them: validate, list, schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from sim.cli.common import EXIT_USER_ERROR, app, err_console
from sim.errors import ModsimError


@app.command()
def validate(
    scenarios: List[Path] = typer.Argument(..., help="Scenario files to check."),
    set_: Optional[List[str]] = typer.Option(None, "--set", help="Override a value: dotted.path=value (repeatable)."),
) -> None:
    """Check scenario files and print what is wrong, or "ok".

    Example: modsim validate scenarios/baseline.yaml scenarios/cambodia_2023.yaml
    """
    from sim.scenario import load_scenario

    bad = 0
    for path in scenarios:
        try:
            load_scenario(path, set_ or ())
        except ModsimError as exc:
            bad += 1
            err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        else:
            typer.echo(f"{path}: ok")
    if bad:
        raise typer.Exit(EXIT_USER_ERROR)


@app.command("list")
def list_scenarios() -> None:
    """List the bundled scenarios, one line each.

    Example: modsim list
    """
    import yaml

    from sim.scenario import bundled_scenarios

    for path in bundled_scenarios():
        try:
            data = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
        except (OSError, yaml.YAMLError):
            data = {}
        description = str(data.get("description", "")).strip().splitlines()
        first = description[0] if description else ""
        typer.echo(f"{path}  {first}")


@app.command()
def schema() -> None:
    """Print the JSON Schema of the scenario format (for editors' completion and checking).

    Files that use extends: are checked as partial scenarios (nothing required). In VS Code (YAML
    extension), a first line "# yaml-language-server: $schema=modsim.schema.json" names the schema.

    Example: modsim schema > modsim.schema.json
    """
    from sim.scenario.json_schema import editor_schema

    typer.echo(json.dumps(editor_schema(), indent=2))
