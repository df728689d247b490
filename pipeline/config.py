"""Load, merge and validate the pipeline configuration.

``params.yaml`` holds the default scale; ``config/scales/<scale>.yaml`` hold deltas that are
deep-merged on top (the same merge Snakemake applies to ``--configfile``). The merged config is
validated against ``pipeline/schemas/config.schema.yaml``; errors name the file, the dotted key
and the fix, on one line.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from metasnn.errors import ConfigError
from metasnn.reporting.targets import SCALES
from pipeline.config_schema import SCHEMA, did_you_mean, load_schema, validate_config, validate_workflow_config
from pipeline.config_yaml import read_yaml

__all__ = ["ROOT", "PARAMS", "SCALES", "SCALES_DIR", "SCHEMA", "read_yaml", "deep_merge", "scale_files", "load_config",
           "merge_files", "get_key", "load_schema", "validate_config", "validate_workflow_config"]

ROOT = Path(__file__).resolve().parent.parent
PARAMS = ROOT / "params.yaml"
SCALES_DIR = ROOT / "config" / "scales"
SCALE_BASE = {"rehearsal": "paper"}  # a scale whose file is a delta over another scale's


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
            raise ConfigError(f"{where}: unknown key '{dotted}'{did_you_mean(key, base)}")
        if isinstance(value, Mapping) and isinstance(base[key], Mapping):
            _check_keys_exist(base[key], value, where, dotted + ".")


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
