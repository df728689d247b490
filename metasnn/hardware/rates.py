"""Per-layer spike rates: the event-driven input of the hardware cost model.

Rates file format (JSON, written by training stages with :func:`write_rates`, read with
:func:`load_rates`)::

    {
      "format": "metasnn-spike-rates/1",
      "model": "wu22_hp_mlp",           # free text: which trained model the rates come from
      "mode": "HP",                     # LP | GP | HP | inference (which learning mode trained it)
      "coding": "rate",                 # rate | rank   (input coding; matters for inference)
      "timesteps": 3,                   # T, simulation steps per sample
      "source": "measured",             # measured | placeholder
      "note": "mean over 1000 test samples",   # optional free text
      "layers": [
        {"name": "fc1", "n_in": 784, "n_out": 512, "input_rate": 0.13, "output_rate": 0.05},
        {"name": "fc2", "n_in": 512, "n_out": 10,  "input_rate": 0.05, "output_rate": 0.08}
      ]
    }

``input_rate`` / ``output_rate`` are mean spikes per neuron per timestep (in [0, 1]) of the
layer's inputs and of its neurons, averaged over neurons, timesteps and samples. Consecutive
layers must agree (``layers[i].output_rate == layers[i+1].input_rate`` within 1e-6). The cost model
applies rates to a network *by layer index*: a rates file measured on a network of the same depth
can be applied to the paper's layer sizes (the file's own sizes are recorded next to the result).

Without a rates file the stage uses :func:`placeholder_rates`, whose values are stated in
:data:`PLACEHOLDER_NOTE` and are labelled ``source: placeholder`` in every output.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from metasnn.errors import ConfigError
from metasnn.io import atomic_write_json, read_document

FORMAT = "metasnn-spike-rates/1"
MODES = ("LP", "GP", "HP", "inference")
CODINGS = ("rate", "rank")
SOURCES = ("measured", "placeholder")

#: MNIST mean pixel intensity (0.1307, the usual normalisation constant) read as a Bernoulli rate.
PLACEHOLDER_INPUT_RATE = 0.1307
#: fraction of non-zero MNIST pixels (~19 %): inputs that fire once under rank (first-spike) coding.
PLACEHOLDER_RANK_INPUT_FRACTION = 0.19
#: assumed mean rate of hidden and output neurons under rate coding.
PLACEHOLDER_HIDDEN_RATE = 0.10
#: assumed fraction of hidden/output neurons that fire (once) under rank coding.
PLACEHOLDER_RANK_HIDDEN_FRACTION = 0.5

PLACEHOLDER_NOTE = (
    "PLACEHOLDER spike rates, not measured: rate coding uses input rate 0.1307 (MNIST mean pixel "
    "intensity as a Bernoulli rate) and 0.10 spikes/neuron/step for hidden and output neurons; rank "
    "coding fires each neuron at most once per sample: 19% of inputs and 50% of hidden/output neurons, "
    "i.e. rate = fraction / T."
)


@dataclasses.dataclass(frozen=True)
class LayerRates:
    name: str
    n_in: int
    n_out: int
    input_rate: float
    output_rate: float


@dataclasses.dataclass(frozen=True)
class SpikeRates:
    """Validated contents of a rates file."""

    model: str
    mode: str
    coding: str
    timesteps: int
    source: str
    layers: tuple[LayerRates, ...]
    note: str = ""
    path: str = "<placeholder>"

    @property
    def sizes(self) -> list[int]:
        return [self.layers[0].n_in, *[lr.n_out for lr in self.layers]]

    @property
    def is_placeholder(self) -> bool:
        return self.source == "placeholder"

    def label(self) -> str:
        """Short provenance label for tables: ``measured:<file>`` or ``placeholder``."""
        return "placeholder" if self.is_placeholder else f"measured:{Path(self.path).name}"

    def scaled(self, factor: float) -> SpikeRates:
        """All rates multiplied by ``factor`` (clipped to 1); used by the sensitivity analysis."""
        layers = tuple(dataclasses.replace(lr, input_rate=min(1.0, lr.input_rate * factor),
                                           output_rate=min(1.0, lr.output_rate * factor)) for lr in self.layers)
        return dataclasses.replace(self, layers=layers)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "model": self.model, "mode": self.mode, "coding": self.coding,
            "timesteps": self.timesteps, "source": self.source, "note": self.note,
            "layers": [dataclasses.asdict(lr) for lr in self.layers],
        }


def _number(where: str, key: str, value: Any, low: float, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: {key} must be a number, got {value!r}")
    if value < low or (high is not None and value > high):
        rng = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ConfigError(f"{where}: {key} = {value} is outside {rng}")
    return float(value)


def parse_rates(data: Any, where: str) -> SpikeRates:
    """Validate a parsed rates mapping (see the module docstring for the format)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a JSON object with keys format, model, mode, timesteps, layers")
    if data.get("format") != FORMAT:
        raise ConfigError(f"{where}: 'format' must be {FORMAT!r}, got {data.get('format')!r}")
    for key in ("model", "mode", "timesteps", "layers"):
        if key not in data:
            raise ConfigError(f"{where}: missing key {key!r}")
    known = {"format", "model", "mode", "coding", "timesteps", "source", "note", "layers"}
    extra = sorted(set(data) - known)
    if extra:
        raise ConfigError(f"{where}: unknown key(s) {extra}; allowed: {', '.join(sorted(known))}")
    mode, coding, source = data["mode"], data.get("coding", "rate"), data.get("source", "measured")
    if mode not in MODES:
        raise ConfigError(f"{where}: mode {mode!r} must be one of {', '.join(MODES)}")
    if coding not in CODINGS:
        raise ConfigError(f"{where}: coding {coding!r} must be one of {', '.join(CODINGS)}")
    if source not in SOURCES:
        raise ConfigError(f"{where}: source {source!r} must be one of {', '.join(SOURCES)}")
    t = data["timesteps"]
    if isinstance(t, bool) or not isinstance(t, int) or t < 1:
        raise ConfigError(f"{where}: timesteps must be a positive integer, got {t!r}")
    if not isinstance(data["layers"], list) or not data["layers"]:
        raise ConfigError(f"{where}: layers must be a non-empty list")
    layers = []
    for i, entry in enumerate(data["layers"]):
        key = f"layers[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: {key} must be an object with name, n_in, n_out, input_rate, output_rate")
        need = {"name", "n_in", "n_out", "input_rate", "output_rate"}
        if set(entry) != need:
            raise ConfigError(f"{where}: {key} needs exactly {sorted(need)}, got {sorted(entry)}")
        for size_key in ("n_in", "n_out"):
            v = entry[size_key]
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"{where}: {key}.{size_key} must be a positive integer, got {v!r}")
        layers.append(LayerRates(
            name=str(entry["name"]), n_in=entry["n_in"], n_out=entry["n_out"],
            input_rate=_number(where, f"{key}.input_rate", entry["input_rate"], 0.0, 1.0),
            output_rate=_number(where, f"{key}.output_rate", entry["output_rate"], 0.0, 1.0)))
    for i in range(len(layers) - 1):
        a, b = layers[i], layers[i + 1]
        if a.n_out != b.n_in:
            raise ConfigError(f"{where}: layers[{i}].n_out = {a.n_out} but layers[{i + 1}].n_in = {b.n_in}")
        if abs(a.output_rate - b.input_rate) > 1e-6:
            raise ConfigError(f"{where}: layers[{i}].output_rate = {a.output_rate} but layers[{i + 1}].input_rate "
                              f"= {b.input_rate}; the output of one layer is the input of the next")
    return SpikeRates(model=str(data["model"]), mode=mode, coding=coding, timesteps=t, source=source,
                      layers=tuple(layers), note=str(data.get("note", "")), path=where)


def load_rates(path: str | Path) -> SpikeRates:
    """Read and validate a rates file."""
    path = Path(path)
    data = read_document(path, "rates", "run the training stage that writes it or omit --rates")
    return parse_rates(data, str(path))


def load_rates_by_key(paths: Sequence[str | Path]) -> dict[str, SpikeRates]:
    """Read rates files into the keys a hardware study takes (``LP``, ``GP``, ``HP``, ``inference:<coding>``);
    a second file for the same mode/coding is an error."""
    out: dict[str, SpikeRates] = {}
    for path in paths:
        r = load_rates(path)
        key = r.mode if r.mode != "inference" else f"inference:{r.coding}"
        if key in out:
            raise ConfigError(f"{path}: a second rates file for {key} (first: {out[key].path}); give one per mode/coding")
        out[key] = r
    return out


def write_rates(path: str | Path, *, model: str, mode: str, timesteps: int, layers: Sequence[dict[str, Any]],
                coding: str = "rate", source: str = "measured", note: str = "") -> Path:
    """Validate and write a rates file atomically (for training stages that measure spike rates)."""
    data = {"format": FORMAT, "model": model, "mode": mode, "coding": coding, "timesteps": int(timesteps),
            "source": source, "note": note,
            "layers": [{"name": str(d["name"]), "n_in": int(d["n_in"]), "n_out": int(d["n_out"]),
                        "input_rate": float(d["input_rate"]), "output_rate": float(d["output_rate"])}
                       for d in layers]}
    parse_rates(data, str(path))
    return atomic_write_json(path, data)


def placeholder_rates(sizes: Sequence[int], timesteps: int, mode: str = "inference",
                      coding: str = "rate") -> SpikeRates:
    """Stated placeholder rates for a network (see :data:`PLACEHOLDER_NOTE`); never call them measured."""
    if coding == "rate":
        r_in, r_hidden = PLACEHOLDER_INPUT_RATE, PLACEHOLDER_HIDDEN_RATE
    elif coding == "rank":
        r_in = PLACEHOLDER_RANK_INPUT_FRACTION / timesteps
        r_hidden = PLACEHOLDER_RANK_HIDDEN_FRACTION / timesteps
    else:
        raise ConfigError(f"coding {coding!r} must be one of {', '.join(CODINGS)}")
    sizes = [int(s) for s in sizes]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(LayerRates(f"fc{i + 1}", sizes[i], sizes[i + 1], r_in if i == 0 else r_hidden, r_hidden))
    return SpikeRates(model="placeholder", mode=mode, coding=coding, timesteps=int(timesteps), source="placeholder",
                      layers=tuple(layers), note=PLACEHOLDER_NOTE)


def check_depth(rates: SpikeRates, n_layers: int, purpose: str) -> None:
    """Rates are applied by layer index: the depths must agree."""
    if len(rates.layers) != n_layers:
        raise ConfigError(f"{rates.path}: has {len(rates.layers)} layers {rates.sizes} but {purpose} has {n_layers}; "
                          "rates are applied by layer index, so the depths must match")
