"""Chip descriptions as data: load, validate and vary the constants of the hardware cost model.

A chip file (``metasnn/hardware/chips/<name>.yaml``) has ``name``, ``description`` and
``constants``; every constant is a mapping ``{value, unit, source, status}`` with ``status`` one of
``published`` (a number stated in a paper), ``derived`` (computed from published numbers) or
``assumed`` (our choice). :func:`load_chip` validates the file and raises
:class:`metasnn.errors.ConfigError` naming the file and the key on any problem.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from metasnn.errors import ConfigError
from metasnn.io import read_document

CHIPS_DIR = Path(__file__).resolve().parent / "chips"
STATUSES = ("published", "derived", "assumed")

#: constant name -> kind ("int" positive integer, "int0" integer (may be <= 0), "float" >= 0, "bool")
CONSTANT_KINDS: dict[str, str] = {
    "n_cores": "int",
    "mesh_rows": "int",
    "mesh_cols": "int",
    "clock_hz": "float",
    "axons_per_core": "int",
    "neurons_per_core": "int",
    "process_nm": "float",
    "weight_bits": "int",
    "weight_memory_bytes": "int",
    "max_axon_passes": "int",
    "neuron_allocation_power_of_two": "bool",
    "energy_per_synaptic_op_j": "float",
    "synaptic_ops_per_cycle": "float",
    "axon_pass_cycles": "float",
    "weight_updates_per_cycle": "float",
    "energy_per_weight_update_j": "float",
    "neuron_updates_per_cycle": "float",
    "energy_per_neuron_update_j": "float",
    "packet_payload_bytes": "int",
    "packet_header_bytes": "int",
    "spikes_per_packet": "int",
    "value_bytes": "int",
    "cycles_per_packet": "float",
    "cycles_per_hop": "float",
    "energy_per_packet_j": "float",
    "energy_per_hop_j": "float",
    "phase_sync_cycles": "float",
    "meta_params_per_core": "int",
    "chip_static_power_w": "float",
    "board_power_w": "float",
    "io_port_row": "int0",
    "io_port_col": "int0",
}
#: rates (per cycle) that must be strictly positive because they divide
_POSITIVE = ("clock_hz", "synaptic_ops_per_cycle", "weight_updates_per_cycle", "neuron_updates_per_cycle")


@dataclasses.dataclass(frozen=True)
class Constant:
    """One named chip constant with its provenance."""

    value: Any
    unit: str
    source: str
    status: str


@dataclasses.dataclass(frozen=True)
class Chip:
    """A validated chip description. ``chip["clock_hz"]`` returns the constant's value."""

    name: str
    description: str
    constants: Mapping[str, Constant]
    path: str = "<memory>"

    def __getitem__(self, key: str) -> Any:
        try:
            return self.constants[key].value
        except KeyError:
            raise ConfigError(f"{self.path}: chip {self.name!r} has no constant {key!r}") from None

    def assumed(self) -> list[str]:
        """Names of the numeric constants whose status is ``assumed`` (the sensitivity set)."""
        return [k for k, c in self.constants.items()
                if c.status == "assumed" and CONSTANT_KINDS[k] in ("int", "float")]

    def with_value(self, key: str, value: Any) -> Chip:
        """A copy with one constant replaced (validated like a file value)."""
        self[key]
        new = dict(self.constants)
        new[key] = dataclasses.replace(self.constants[key], value=value)
        chip = dataclasses.replace(self, constants=new)
        _check_value(chip.path, key, value)
        return chip

    def scaled(self, key: str, factor: float) -> Chip:
        """A copy with one numeric constant multiplied by ``factor`` (integers rounded, kept >= 1)."""
        kind = CONSTANT_KINDS[key]
        value = self[key] * factor
        if kind == "int":
            value = max(1, int(round(value)))
        elif kind == "int0":
            value = int(round(value))
        return self.with_value(key, value)

    def table(self) -> list[dict[str, Any]]:
        """Rows ``{constant, value, unit, status, source}`` in file order (for docs and outputs)."""
        return [{"chip": self.name, "constant": k, "value": c.value, "unit": c.unit, "status": c.status,
                 "source": c.source} for k, c in self.constants.items()]


def _check_value(where: str, key: str, value: Any) -> None:
    kind = CONSTANT_KINDS[key]
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: constants.{key}.value must be true or false, got {value!r}")
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: constants.{key}.value must be a number, got {value!r}")
    if kind in ("int", "int0") and int(value) != value:
        raise ConfigError(f"{where}: constants.{key}.value must be an integer, got {value!r}")
    if kind == "int" and value < 1:
        raise ConfigError(f"{where}: constants.{key}.value must be >= 1, got {value!r}")
    if kind == "float" and value < 0:
        raise ConfigError(f"{where}: constants.{key}.value must be >= 0, got {value!r}")
    if key in _POSITIVE and value <= 0:
        raise ConfigError(f"{where}: constants.{key}.value must be > 0, got {value!r}")


def parse_chip(data: Any, where: str) -> Chip:
    """Validate a parsed chip mapping; ``where`` names the file in error messages."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping with keys name, description, constants")
    for key in ("name", "description", "constants"):
        if key not in data:
            raise ConfigError(f"{where}: missing top-level key {key!r}")
    extra = set(data) - {"name", "description", "constants"}
    if extra:
        raise ConfigError(f"{where}: unknown top-level key(s) {sorted(extra)}; allowed: name, description, constants")
    raw = data["constants"]
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: 'constants' must be a mapping of name -> {{value, unit, source, status}}")
    unknown = [k for k in raw if k not in CONSTANT_KINDS]
    if unknown:
        raise ConfigError(f"{where}: unknown constant(s) {unknown}; known: {', '.join(CONSTANT_KINDS)}")
    missing = [k for k in CONSTANT_KINDS if k not in raw]
    if missing:
        raise ConfigError(f"{where}: missing constant(s) {missing}")
    constants: dict[str, Constant] = {}
    for key, entry in raw.items():
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: constants.{key} must be a mapping with value, unit, source, status")
        fields = set(entry)
        need = {"value", "unit", "source", "status"}
        if fields != need:
            lack, more = sorted(need - fields), sorted(fields - need)
            raise ConfigError(f"{where}: constants.{key} needs exactly value, unit, source, status"
                              + (f"; missing {lack}" if lack else "") + (f"; unknown {more}" if more else ""))
        if entry["status"] not in STATUSES:
            raise ConfigError(f"{where}: constants.{key}.status is {entry['status']!r}; use one of {', '.join(STATUSES)}")
        for text_key in ("unit", "source"):
            if not isinstance(entry[text_key], str) or not entry[text_key].strip():
                raise ConfigError(f"{where}: constants.{key}.{text_key} must be a non-empty string")
        _check_value(where, key, entry["value"])
        value = entry["value"]
        if CONSTANT_KINDS[key] in ("int", "int0"):
            value = int(value)
        constants[key] = Constant(value=value, unit=entry["unit"], source=entry["source"], status=entry["status"])
    if constants["mesh_rows"].value * constants["mesh_cols"].value < constants["n_cores"].value:
        raise ConfigError(f"{where}: mesh_rows x mesh_cols is smaller than n_cores")
    return Chip(name=str(data["name"]), description=str(data["description"]).strip(), constants=constants, path=where)


def chip_path(name_or_path: str | Path) -> Path:
    """Resolve a preset name (``tianjic``, ``loihi``) or a path to a chip YAML file."""
    text = str(name_or_path)
    if text.endswith((".yaml", ".yml")) or "/" in text:
        return Path(text)
    return CHIPS_DIR / f"{text}.yaml"


def available_chips() -> list[str]:
    return sorted(p.stem for p in CHIPS_DIR.glob("*.yaml"))


def load_chip(name_or_path: str | Path = "tianjic") -> Chip:
    """Load and validate a chip description (preset name or YAML path)."""
    path = chip_path(name_or_path)
    data = read_document(path, "chip", f"use a preset ({', '.join(available_chips())}) or a YAML path")
    return parse_chip(data, str(path))
