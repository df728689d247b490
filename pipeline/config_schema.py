"""Validation of the merged pipeline config against ``pipeline/schemas/config.schema.yaml``: one-line errors
naming the file that set the offending key, the dotted key and the fix (stricter than JSON schema where YAML
makes mistakes easy: integers, non-finite numbers, numbers written as strings).
The schema: :func:`pipeline.config_infer.load_schema` (the schema file, and the inferred shape of any
``params.yaml`` section it does not describe)."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from metasnn.errors import ConfigError
from pipeline.config_infer import SCHEMA, load_schema
from pipeline.config_yaml import read_yaml

__all__ = ["SCHEMA", "load_schema", "validate_config", "validate_workflow_config", "did_you_mean"]



def did_you_mean(key: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(key), [str(o) for o in options], n=1)
    return f" (did you mean '{close[0]}'?)" if close else f" (known keys: {', '.join(sorted(map(str, options)))})"


_NUMBER_TEXT = re.compile(r"^\s*[+-]?(\d[\d_]*\.?[\d_]*|\.\d[\d_]*)([eE][+-]?\d+)?\s*$")
_FLOAT_AS_STRING_HINT = " (a number YAML read as a string: write floats with a decimal point, e.g. 1.0e-3, and no quotes)"


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _integer_hint(value: Any) -> str:
    example = f"{int(value)}, " if abs(value) < 1e15 else ""
    return f" (write it as an integer, {example}without a decimal point)"


def _expects(schema: Any, kind: str) -> bool:
    """Whether ``schema`` (or one of its anyOf/oneOf branches) asks for JSON type ``kind``."""
    if not isinstance(schema, Mapping):
        return False
    types = schema.get("type")
    if types == kind or (isinstance(types, list) and kind in types):
        return True
    return any(_expects(sub, kind) for key in ("anyOf", "oneOf") for sub in schema.get(key, ()) or ())


def _validator_class() -> Any:
    """Draft 2020-12, except that ``integer`` means an int: 5.0 is a float (JSON schema would accept it)."""
    import jsonschema

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool))
    return jsonschema.validators.extend(base, type_checker=checker)


def _non_finite_or_cycle(cfg: Any) -> tuple[list[Any], str] | None:
    """The first key holding NaN/inf, or that contains itself (a YAML anchor used inside itself)."""
    stack: list[tuple[list[Any], Any, frozenset[int]]] = [([], cfg, frozenset())]
    while stack:
        path, value, ancestors = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            return path, f"is {value!r}: not a finite number; write a finite value"
        if isinstance(value, Mapping | list | tuple):
            if id(value) in ancestors:
                return path, "contains itself (a YAML anchor used inside its own value); write the value out"
            inner = ancestors | {id(value)}
            items = value.items() if isinstance(value, Mapping) else enumerate(value)
            stack.extend(([*path, k], v, inner) for k, v in reversed(list(items)))
    return None


def _defined_in(layers: Sequence[tuple[str, Any]] | None, path: Sequence[Any]) -> str | None:
    """The last layer (file) that sets ``path`` (dict keys / list indices), if any."""
    for name, data in reversed(layers or ()):
        node, found = data, True
        for part in path:
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
            else:
                found = False
                break
        if found and path:
            return name
    return None


def validate_config(cfg: Mapping[str, Any], source: str = "params.yaml",
                    layers: Sequence[tuple[str, Any]] | None = None) -> None:
    """Validate ``cfg`` against the JSON schema; raise :class:`ConfigError` with one clear line.

    Stricter than JSON schema where YAML makes mistakes easy: an ``integer`` key must hold an int
    (``5.0`` is refused, with the fix), and no value may be NaN/inf. ``layers`` — ``(file, data)``
    in merge order — lets the message name the file that set the offending key; without it (or
    when no file sets it) the message names ``source``.
    """
    found = _non_finite_or_cycle(cfg)
    if found is not None:
        path, problem = found
        dotted = ".".join(map(str, path)) or "<top level>"
        raise ConfigError(f"{_defined_in(layers, path) or source}: key '{dotted}' {problem}")
    validator = _validator_class()(load_schema())
    try:
        errors = sorted(validator.iter_errors(cfg), key=lambda e: (len(e.path), list(map(str, e.path))))
    except RecursionError as exc:
        raise ConfigError(f"{source}: nested too deeply to be a config") from exc
    if not errors:
        return
    err = errors[0]
    key_path = list(err.path)
    dotted = ".".join(str(p) for p in err.path) or "<top level>"
    value = err.instance
    if err.validator == "additionalProperties":
        allowed = err.schema.get("properties", {})
        extra = sorted((k for k in err.instance if k not in allowed), key=str)
        key = extra[0] if extra else "?"
        key_path.append(key)
        full = f"{dotted}.{key}" if err.path else str(key)
        msg = f"unknown key '{full}'{did_you_mean(key, allowed)}"
    elif err.validator == "type":
        msg = f"key '{dotted}' must be of type {err.validator_value}, got {_short(value)}"
    elif err.validator == "enum":
        msg = f"key '{dotted}' must be one of {err.validator_value}, got {_short(value)}"
    elif err.validator == "required":
        msg = f"missing key: {err.message} under '{dotted}'"
    else:
        msg = f"key '{dotted}': {_short(err.message, 300)}"
    if err.validator in ("type", "anyOf", "oneOf"):
        if isinstance(value, float) and value.is_integer() and _expects(err.schema, "integer"):
            msg += _integer_hint(value)
        elif isinstance(value, str) and _NUMBER_TEXT.match(value) and (
                _expects(err.schema, "number") or _expects(err.schema, "integer")):
            msg += _FLOAT_AS_STRING_HINT
    more = f" (+{len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    where = _defined_in(layers, key_path) or source
    raise ConfigError(" ".join(f"{where}: {msg}{more}".splitlines()))


def validate_workflow_config(cfg: Mapping[str, Any], files: Iterable[str | Path]) -> None:
    """What the Snakefile runs at parse time on Snakemake's merged ``config``.

    Snakemake reads ``params.yaml`` and the ``--configfile`` deltas itself, with a YAML loader that
    keeps the last of two equal keys; each file is read again here (:func:`read_yaml`) so that a
    duplicate key is an error, then the merged config is validated, naming the file that set the
    offending key.
    """
    layers: list[tuple[str, Any]] = []
    for f in dict.fromkeys(str(f) for f in files):  # params.yaml may also be a --configfile (profiles)
        layers.append((f, read_yaml(f)))
    names = " + ".join(name for name, _ in layers) or "no config file"
    validate_config(cfg, source=f"config ({names}, as merged by Snakemake)", layers=layers)
