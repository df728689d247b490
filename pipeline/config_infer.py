"""The config schema: ``pipeline/schemas/config.schema.yaml``, completed from ``params.yaml``.

A top-level section (a mapping) of ``params.yaml`` that the schema file does not describe (a newly added
method's) is checked against the shape of its own defaults (:func:`inferred_schema`): the same keys, none unknown or
missing, each of the type its default has. The schema file adds what a default cannot say (ranges, enums,
which keys a scale may leave out), so a method's section needs a schema entry only for those.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.config_yaml import read_yaml

__all__ = ["SCHEMA", "load_schema", "inferred_schema"]

SCHEMA = Path(__file__).resolve().parent / "schemas" / "config.schema.yaml"
PARAMS = Path(__file__).resolve().parent.parent / "params.yaml"


def load_schema() -> dict[str, Any]:
    """The schema file, plus an :func:`inferred_schema` for every ``params.yaml`` section it does not describe (only
    mappings: an undescribed top-level scalar stays an unknown key, a section whose name is misspelt leaves the
    right one missing)."""
    schema = read_yaml(SCHEMA)
    props = schema.setdefault("properties", {})
    for key, value in read_yaml(PARAMS).items():
        if key not in props and isinstance(value, Mapping):
            props[key] = inferred_schema(value)
            schema["required"] = [*schema.get("required", []), key]
    return schema


def inferred_schema(default: Any) -> dict[str, Any]:
    """The JSON schema of values shaped like ``default``: a mapping has exactly its keys (each shaped like its
    value), a list holds items shaped like its items (ints and floats mixed: numbers), and a scalar has its
    type (an int default asks for an integer, a float default for any number; ``null`` allows anything)."""
    if isinstance(default, Mapping):
        return {"type": "object", "additionalProperties": False, "required": list(default),
                "properties": {k: inferred_schema(v) for k, v in default.items()}}
    if isinstance(default, list):
        items = [inferred_schema(v) for v in default]
        if items and all(x == items[0] for x in items):
            return {"type": "array", "items": items[0]}
        numeric = items and all(x.get("type") in ("integer", "number") for x in items)
        return {"type": "array", "items": {"type": "number"} if numeric else {}}
    for kind, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string")):
        if isinstance(default, kind):
            return {"type": name}
    return {}
