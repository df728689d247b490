"""The config schema: ``pipeline/schemas/config.schema.yaml``, completed from ``params.yaml`` and the registry.

A top-level section (a mapping) of ``params.yaml`` that the schema file does not describe (a newly added
method's) is checked against the shape of its own defaults (:func:`inferred_schema`): each key the stage
registry reads (a ``P(key)`` flag, a matrix or fan-out list) must be there, of the type its default has, and a
key no stage reads is an unknown key (a misspelt ``gird:`` is an error, with "did you mean 'grid'?"). The
schema file adds what a default cannot say (ranges, enums), so a method's section needs an entry there only
for those.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pipeline.config_yaml import read_yaml

__all__ = ["SCHEMA", "load_schema", "inferred_schema", "registry_keys"]

SCHEMA = Path(__file__).resolve().parent / "schemas" / "config.schema.yaml"
PARAMS = Path(__file__).resolve().parent.parent / "params.yaml"


def load_schema() -> dict[str, Any]:
    """The schema file, plus an :func:`inferred_schema` for every ``params.yaml`` section it does not describe
    (only mappings: an undescribed top-level scalar stays an unknown key)."""
    schema = read_yaml(SCHEMA)
    props = schema.setdefault("properties", {})
    todo = {k: v for k, v in read_yaml(PARAMS).items() if k not in props and isinstance(v, Mapping)}
    if todo:
        keys = [k.split(".") for k in registry_keys()]
        for key, value in todo.items():
            props[key] = inferred_schema(value, keys, (key,))
            schema["required"] = [*schema.get("required", []), key]
    return schema


def registry_keys() -> list[str]:
    """Every config key a registered stage reads: its ``P`` flags, its matrix and its ``Each`` fan-out lists
    (a ``{wildcard}`` part stands for any key: one value per dataset or method)."""
    from pipeline.registry import Each
    from pipeline.stages import STAGES

    keys: list[str] = []
    for stage in STAGES.values():
        keys += stage.params_used()
        if isinstance(stage.matrix, Mapping):
            keys += [v for v in stage.matrix.values() if isinstance(v, str)]
        fanouts = [v for _, v in stage.args if isinstance(v, Each)] + [d for d in stage.deps if isinstance(d, Each)]
        keys += [k for e in fanouts for k in e.over.values()]
    return list(dict.fromkeys(keys))


def _read(path: Sequence[str], keys: Sequence[Sequence[str]]) -> bool:
    """Whether a stage reads ``path`` (or a mapping holding it, or a key inside it)."""
    def match(key: Sequence[str]) -> bool:
        return all(k.startswith("{") or k == p for k, p in zip(key, path, strict=False))

    return any(match(key) for key in keys)


def inferred_schema(default: Any, keys: Sequence[Sequence[str]] | None = None, path: tuple[str, ...] = ()) -> dict[str, Any]:
    """The JSON schema of values shaped like ``default`` at ``path``: a mapping has the keys of ``default`` that a
    stage reads (``keys``, dotted paths split; ``None``: every key) plus those a stage reads directly under
    ``path`` (all required), each shaped like its value; a list holds items shaped like its items (ints and
    floats mixed: numbers); a scalar has its type (an int default asks for an integer, a float default for any
    number; ``null``, or a key missing from ``default``, allows anything)."""
    if isinstance(default, Mapping):
        names = [str(k) for k in default if keys is None or _read((*path, str(k)), keys)]
        names += [k[len(path)] for k in keys or () if len(k) > len(path) and list(k[:len(path)]) == list(path)
                  and not k[len(path)].startswith("{") and k[len(path)] not in names]
        names = list(dict.fromkeys(names))
        return {"type": "object", "additionalProperties": False, "required": names,
                "properties": {k: inferred_schema(default.get(k), keys, (*path, k)) for k in names}}
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
