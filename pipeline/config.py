"""Load, merge and validate the pipeline configuration.

``params.yaml`` holds the default scale; ``config/scales/<scale>.yaml`` hold deltas that are
deep-merged on top (the same merge Snakemake applies to ``--configfile``). The merged config is
validated against ``pipeline/schemas/config.schema.yaml``; errors name the file, the dotted key
and the fix, on one line.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from metasnn.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
PARAMS = ROOT / "params.yaml"
SCALES_DIR = ROOT / "config" / "scales"
SCHEMA = Path(__file__).resolve().parent / "schemas" / "config.schema.yaml"
SCALES = ("smoke", "default", "paper")


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, with a one-line error naming the file when it is missing or invalid."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
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


def scale_file(scale: str) -> Path:
    if scale not in SCALES:
        raise ConfigError(f"unknown scale {scale!r}: choose one of {', '.join(SCALES)}")
    return SCALES_DIR / f"{scale}.yaml"


def load_config(scale: str = "default", files: Iterable[str | Path] | None = None) -> dict[str, Any]:
    """Merged, validated config: ``params.yaml`` + the scale's delta (+ extra ``files`` in order)."""
    cfg = read_yaml(PARAMS)
    layers: list[Path] = []
    if scale != "default":
        layers.append(scale_file(scale))
    layers.extend(Path(f) for f in files or ())
    for layer in layers:
        delta = read_yaml(layer)
        _check_keys_exist(cfg, delta, layer)
        cfg = deep_merge(cfg, delta)
    validate_config(cfg, source=" + ".join(["params.yaml", *map(str, layers)]))
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


def validate_config(cfg: Mapping[str, Any], source: str = "params.yaml") -> None:
    """Validate ``cfg`` against the JSON schema; raise :class:`ConfigError` with one clear line."""
    import jsonschema

    schema = load_schema()
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(cfg), key=lambda e: (len(e.path), list(map(str, e.path))))
    if not errors:
        return
    err = errors[0]
    dotted = ".".join(str(p) for p in err.path) or "<top level>"
    if err.validator == "additionalProperties":
        allowed = err.schema.get("properties", {})
        extra = sorted(set(err.instance) - set(allowed))
        key = extra[0] if extra else "?"
        full = f"{dotted}.{key}" if err.path else key
        msg = f"unknown key '{full}'{_did_you_mean(key, allowed)}"
    elif err.validator == "type":
        msg = f"key '{dotted}' must be of type {err.validator_value}, got {err.instance!r}"
        if isinstance(err.instance, str) and err.validator_value in ("number", "integer"):
            msg += " (write floats with a decimal point, e.g. 1.0e-3, so every YAML parser reads a number)"
    elif err.validator == "enum":
        msg = f"key '{dotted}' must be one of {err.validator_value}, got {err.instance!r}"
    elif err.validator == "required":
        msg = f"missing key: {err.message} under '{dotted}'"
    else:
        msg = f"key '{dotted}': {err.message}"
    more = f" (+{len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    raise ConfigError(f"{source}: {msg}{more}")


def get_key(cfg: Mapping[str, Any], dotted: str) -> Any:
    """``get_key(cfg, "sn22.metatrain.inner_lr")``; a missing key is a :class:`ConfigError`."""
    node: Any = cfg
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise ConfigError(f"params.yaml: missing key '{dotted}'")
        node = node[part]
    return node
