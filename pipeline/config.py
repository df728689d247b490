"""Load, merge and validate the pipeline configuration.

``params.yaml`` holds the default scale; ``config/scales/<scale>.yaml`` hold deltas that are
deep-merged on top (the same merge Snakemake applies to ``--configfile``). The merged config is
validated against ``pipeline/schemas/config.schema.yaml``; errors name the file, the dotted key
and the fix, on one line.
"""

from __future__ import annotations

import copy
import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from metasnn.errors import ConfigError
from metasnn.reporting.targets import SCALES

ROOT = Path(__file__).resolve().parent.parent
PARAMS = ROOT / "params.yaml"
SCALES_DIR = ROOT / "config" / "scales"
SCHEMA = Path(__file__).resolve().parent / "schemas" / "config.schema.yaml"
SCALE_BASE = {"rehearsal": "paper"}  # a scale whose file is a delta over another scale's


class _DuplicateKey(Exception):
    def __init__(self, key_node: yaml.Node, first_line: int, path: list[Any]):
        super().__init__(key_node.value)
        self.key_node, self.first_line, self.path = key_node, first_line, path


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser when available
    """PyYAML's safe loader, except that a key repeated in one mapping is an error (not "last wins")."""

    def construct_document(self, node: yaml.Node) -> Any:
        self._root = node
        return super().construct_document(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # '<<' merge keys may be overridden
                    continue
                try:
                    key = self.construct_object(key_node, deep=True)
                    hash(key)
                except (yaml.YAMLError, TypeError):
                    continue  # unhashable keys: PyYAML reports them itself below
                if key in seen:
                    raise _DuplicateKey(key_node, seen[key], _node_path(getattr(self, "_root", None), node) or [])
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _node_path(root: yaml.Node | None, target: yaml.Node, path: list[Any] | None = None) -> list[Any] | None:
    """Keys/indices leading from ``root`` to ``target`` in a composed YAML tree (None if not found)."""
    path = [] if path is None else path
    if root is target:
        return path
    if isinstance(root, yaml.MappingNode):
        for key_node, value_node in root.value:
            found = _node_path(value_node, target, [*path, getattr(key_node, "value", "?")])
            if found is not None:
                return found
    elif isinstance(root, yaml.SequenceNode):
        for i, item in enumerate(root.value):
            found = _node_path(item, target, [*path, i])
            if found is not None:
                return found
    return None


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, with a one-line error naming the file when it is missing or invalid.

    A key written twice in one mapping is an error (YAML parsers would silently keep the last).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a UTF-8 text file (byte {exc.start}); a config file is YAML text") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    try:
        data = yaml.load(text, Loader=_StrictLoader)
    except _DuplicateKey as dup:
        dotted = ".".join(str(p) for p in [*dup.path, dup.key_node.value])
        raise ConfigError(
            f"{path} line {dup.key_node.start_mark.line + 1}: duplicate key '{dotted}' (first set on line "
            f"{dup.first_line}); YAML would silently keep only the last value — delete one of the two lines"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise ConfigError(f"{path}{where}: not valid YAML ({problem})") from exc
    except RecursionError as exc:
        raise ConfigError(f"{path}: nested too deeply to be a config file") from exc
    except (ValueError, OverflowError, TypeError) as exc:  # e.g. an integer of more than 4300 digits
        raise ConfigError(f"{path}: not a usable YAML value ({' '.join(str(exc).split())[:200]})") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    return data


def deep_merge(base: Mapping[str, Any], delta: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``base`` with ``delta`` merged in recursively (mappings merge, everything else replaces)."""
    out = copy.deepcopy(dict(base))
    for key, value in delta.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def scale_files(scale: str) -> list[Path]:
    """The delta files of ``scale`` over params.yaml, in merge order (rehearsal = paper + rehearsal)."""
    if scale not in SCALES:
        raise ConfigError(f"unknown scale {scale!r}: choose one of {', '.join(SCALES)}")
    if scale == "default":
        return []
    base = SCALE_BASE.get(scale)
    return [*(scale_files(base) if base else []), SCALES_DIR / f"{scale}.yaml"]


def load_config(scale: str = "default", files: Iterable[str | Path] | None = None) -> dict[str, Any]:
    """Merged, validated config: ``params.yaml`` + the scale's delta (+ extra ``files`` in order)."""
    deltas = scale_files(scale)
    deltas.extend(Path(f) for f in files or ())
    cfg, layers = merge_files(PARAMS, deltas)
    validate_config(cfg, source=" + ".join(["params.yaml", *map(str, deltas)]), layers=layers)
    return cfg


def _check_keys_exist(base: Mapping[str, Any], delta: Mapping[str, Any], where: Path, prefix: str = "") -> None:
    """A delta may only change keys that params.yaml defines: a typo must not add a silent new key."""
    for key, value in delta.items():
        dotted = f"{prefix}{key}"
        if key not in base:
            raise ConfigError(f"{where}: unknown key '{dotted}'{_did_you_mean(key, base)}")
        if isinstance(value, Mapping) and isinstance(base[key], Mapping):
            _check_keys_exist(base[key], value, where, dotted + ".")


def _did_you_mean(key: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(key), [str(o) for o in options], n=1)
    return f" (did you mean '{close[0]}'?)" if close else f" (known keys: {', '.join(sorted(map(str, options)))})"


def load_schema() -> dict[str, Any]:
    return read_yaml(SCHEMA)


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
        msg = f"unknown key '{full}'{_did_you_mean(key, allowed)}"
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


def merge_files(base: str | Path, deltas: Iterable[str | Path] = ()) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """``base`` with each delta deep-merged in order (a delta may only change keys the base defines).

    Returns the merged config and the ``(file, data)`` layers, for :func:`validate_config`.
    """
    cfg = read_yaml(base)
    layers: list[tuple[str, Any]] = [(str(base), cfg)]
    for layer in map(Path, deltas):
        delta = read_yaml(layer)
        try:
            _check_keys_exist(cfg, delta, layer)
            cfg = deep_merge(cfg, delta)
        except RecursionError as exc:
            raise ConfigError(f"{layer}: nested too deeply to be a config file") from exc
        layers.append((str(layer), delta))
    return cfg, layers


def get_key(cfg: Mapping[str, Any], dotted: str) -> Any:
    """``get_key(cfg, "sn22.metatrain.inner_lr")``; a missing key is a :class:`ConfigError`."""
    node: Any = cfg
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise ConfigError(f"params.yaml: missing key '{dotted}'")
        node = node[part]
    return node
