"""The JSON Schema of the scenario format, as editors use it (VS Code's YAML extension and others).

A scenario that ``extends:`` another is partial by nature: it states only what it changes, so
the keys it inherits are missing from the file itself. The published schema therefore holds two
forms of the format: the complete one, for a file that stands alone, and a partial one, the
same keys and types with nothing required, for a file with ``extends``. Unknown keys are refused
in both. Dates are ISO strings, as a YAML editor reads an unquoted ``2023-01-09``.
"""

from __future__ import annotations

import copy
from typing import Any

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
PARTIAL = "Partial"


def editor_schema() -> dict[str, Any]:
    """The scenario format as one JSON Schema document (draft 2020-12), for files with or without ``extends``."""
    from sim.scenario.extends import EXTENDS_KEY
    from sim.scenario.schema import Scenario

    complete = Scenario.model_json_schema()
    definitions = complete.pop("$defs", {})
    extends = {"type": "string", "description": "A scenario file to start from (relative to this one); "
                                                "this file then changes only the keys it gives."}
    root = {**complete, "properties": {**complete["properties"]}}
    partial_root = _partial(copy.deepcopy(root))
    partial_root["properties"][EXTENDS_KEY] = extends
    partial_root["required"] = [EXTENDS_KEY]
    partial_definitions = {PARTIAL + name: _partial(copy.deepcopy(body)) for name, body in definitions.items()}
    return {
        "$schema": SCHEMA_DIALECT,
        "title": complete.get("title", "Scenario"),
        "description": complete.get("description", ""),
        "$defs": {**definitions, **partial_definitions, "Scenario": root, PARTIAL + "Scenario": partial_root},
        "if": {"type": "object", "required": [EXTENDS_KEY]},
        "then": {"$ref": f"#/$defs/{PARTIAL}Scenario"},
        "else": {"$ref": "#/$defs/Scenario"},
    }


def _partial(node: Any) -> Any:
    """The same schema with nothing required, its references pointing at the partial definitions."""
    if isinstance(node, dict):
        if isinstance(node.get("required"), list):  # a list of names; a property called "required" is a dict
            del node["required"]
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            node["$ref"] = "#/$defs/" + PARTIAL + ref[len("#/$defs/"):]
        for key, value in node.items():
            if key != "$ref":
                node[key] = _partial(value)
    elif isinstance(node, list):
        return [_partial(item) for item in node]
    return node
