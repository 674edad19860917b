"""JSON Schema for rule packs, generated from the pydantic models and the check registry.

`pack.schema.json` (package data) is this output; a test keeps it in sync. Editors can validate packs
with it; `canhgac rules check` applies the same models plus the checks a schema cannot express
(references exist, regexes compile, inputs exist, examples behave).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import TypeAdapter

from canhgac_rules.checks.registry import REGISTRY
from canhgac_rules.model import PackHeader, Rule

SCHEMA_ID = "https://canhgac.invalid/schemas/rule-pack.schema.json"


def _hoist(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Move a model schema's `$defs` into the shared `defs` and return the rest."""
    defs.update(schema.pop("$defs", {}))
    return schema


def pack_schema() -> dict[str, Any]:
    defs: dict[str, Any] = {}
    check_refs: list[dict[str, str]] = []
    for name, check in sorted(REGISTRY.items()):
        params = _hoist(TypeAdapter(check.Params).json_schema(ref_template="#/$defs/{model}"), defs)
        if name == "combine":
            params["properties"]["checks"]["items"] = {"$ref": "#/$defs/Check"}
        key = f"Check_{name}"
        defs[key] = params
        check_refs.append({"$ref": f"#/$defs/{key}"})
    defs["Check"] = {"oneOf": check_refs}
    rule = _hoist(TypeAdapter(Rule).json_schema(ref_template="#/$defs/{model}", by_alias=True), defs)
    rule["properties"]["check"] = {"$ref": "#/$defs/Check"}
    defs["Rule"] = rule
    pack = _hoist(TypeAdapter(PackHeader).json_schema(ref_template="#/$defs/{model}"), defs)
    pack["properties"]["rules"] = {"type": "array", "items": {"$ref": "#/$defs/Rule"}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **pack,
        "$defs": defs,
    }


def pack_schema_json() -> str:
    return json.dumps(pack_schema(), indent=1, ensure_ascii=False, sort_keys=True) + "\n"
