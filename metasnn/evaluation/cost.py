"""Hardware-independent cost of a trained model, NeuroBench-style — one implementation for every method.

Measured by running the model on real inputs with forward hooks on its synapses
(``nn.Linear``, ``nn.Conv1d/2d``):

* **synaptic operations per sample** — for each synapse call, the dense multiply-accumulates
  (``output elements × fan-in``) scaled by the density of its input (the fraction of non-zero
  input elements): *effective ACs* when the input is binary (spikes: each event is one
  accumulate per target), *effective MACs* otherwise. For convolutions the scaling by input
  density is exact up to border effects (stated). Layers whose weights act on filtered traces
  (the DECOLLE LIF applies ``W`` to the membrane trace ``P``) are counted as MACs at the trace's
  density — that is what the implementation computes.
* **activation sparsity per layer** — the fraction of zeros in each spiking layer's output
  (recorded from modules returning binary tensors, or given by the model via ``spike_trace``).
* **parameter footprint** — bytes of all parameters and buffers.
* **state footprint** — bytes of per-sample neuron state (``state_elements_per_sample`` if the
  model declares it, else the spikingjelly memories materialised by the run).

Everything is per sample (divided by the batch size) and averaged over the given inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

__all__ = ["LayerCost", "ModelCost", "measure_cost", "COST_COLUMNS"]

SYNAPSES = (nn.Linear, nn.Conv1d, nn.Conv2d)
COST_COLUMNS = ("synaptic_ops_per_sample", "op_kind", "activation_sparsity", "param_bytes", "state_bytes")


@dataclass
class LayerCost:
    name: str
    op_kind: str  # "AC" (binary input) | "MAC"
    dense_ops: float  # per sample
    effective_ops: float  # per sample
    input_density: float


@dataclass
class ModelCost:
    layers: list[LayerCost]
    activation_sparsity: Mapping[str, float]
    param_bytes: int
    state_bytes: int | None
    samples: int
    notes: list[str] = field(default_factory=list)

    @property
    def synaptic_ops(self) -> float:
        return float(sum(layer.effective_ops for layer in self.layers))

    @property
    def dense_ops(self) -> float:
        return float(sum(layer.dense_ops for layer in self.layers))

    @property
    def mean_activation_sparsity(self) -> float | None:
        vals = list(self.activation_sparsity.values())
        return float(sum(vals) / len(vals)) if vals else None

    def columns(self) -> dict[str, Any]:
        """The cost columns every method table carries (see :data:`COST_COLUMNS`)."""
        kinds = sorted({layer.op_kind for layer in self.layers})
        return {
            "synaptic_ops_per_sample": round(self.synaptic_ops, 1),
            "op_kind": "+".join(kinds) if kinds else "",
            "activation_sparsity": None if self.mean_activation_sparsity is None else round(self.mean_activation_sparsity, 4),
            "param_bytes": self.param_bytes,
            "state_bytes": self.state_bytes,
        }

    def as_dict(self) -> dict[str, Any]:
        return {"layers": [asdict(layer) for layer in self.layers], "activation_sparsity": dict(self.activation_sparsity),
                "param_bytes": self.param_bytes, "state_bytes": self.state_bytes, "samples": self.samples,
                "synaptic_ops_per_sample": self.synaptic_ops, "dense_ops_per_sample": self.dense_ops,
                "notes": list(self.notes)}


def _fan_in(module: nn.Module) -> int:
    if isinstance(module, nn.Linear):
        return module.in_features
    k = 1
    for s in module.kernel_size:  # type: ignore[union-attr]
        k *= int(s)
    return (module.in_channels // module.groups) * k  # type: ignore[union-attr]


def _is_binary(t: torch.Tensor) -> bool:
    return bool(torch.all((t == 0) | (t == 1)).item())


def measure_cost(
    model: nn.Module,
    inputs: torch.Tensor,
    *,
    batch_dim: int = 1,
    forward: Callable[[nn.Module, torch.Tensor], Any] | None = None,
    spike_trace: Mapping[str, torch.Tensor] | None = None,
) -> ModelCost:
    """Run ``forward(model, inputs)`` (default ``model(inputs)``) under hooks and measure its cost.

    ``inputs`` holds ``B`` samples along ``batch_dim`` (1 for time-major ``[T, B, ...]``).
    ``spike_trace`` optionally maps layer names to their output spikes when the model computes
    them outside hookable modules.
    """
    samples = int(inputs.shape[batch_dim])
    stats: dict[str, dict[str, Any]] = {}
    sparsity_counts: dict[str, list[float]] = {}
    names = {m: n for n, m in model.named_modules()}
    handles = []

    def synapse_hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        x = args[0]
        if not isinstance(x, torch.Tensor) or not isinstance(output, torch.Tensor):
            return
        name = names.get(module, type(module).__name__)
        dense = float(output.numel()) * _fan_in(module)
        density = float((x != 0).sum().item()) / max(1, x.numel())
        rec = stats.setdefault(name, {"dense": 0.0, "effective": 0.0, "nnz": 0.0, "numel": 0.0, "binary": True})
        rec["dense"] += dense
        rec["effective"] += dense * density
        rec["nnz"] += density * x.numel()
        rec["numel"] += x.numel()
        rec["binary"] = rec["binary"] and _is_binary(x)

    def spike_hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        out = output[0] if isinstance(output, tuple) else output
        if isinstance(out, torch.Tensor) and out.numel() and out.dtype.is_floating_point and _is_binary(out):
            zeros = float((out == 0).sum().item())
            acc = sparsity_counts.setdefault(names.get(module, type(module).__name__), [0.0, 0.0])
            acc[0] += zeros
            acc[1] += out.numel()

    for module in model.modules():
        if isinstance(module, SYNAPSES):
            handles.append(module.register_forward_hook(synapse_hook))
        elif not list(module.children()):
            handles.append(module.register_forward_hook(spike_hook))
    try:
        with torch.no_grad():
            (forward or (lambda m, x: m(x)))(model, inputs)
    finally:
        for h in handles:
            h.remove()

    layers = []
    for name, rec in stats.items():
        layers.append(LayerCost(name=name, op_kind="AC" if rec["binary"] else "MAC", dense_ops=rec["dense"] / samples,
                                effective_ops=rec["effective"] / samples,
                                input_density=rec["nnz"] / rec["numel"] if rec["numel"] else 0.0))
    sparsity = {k: v[0] / v[1] for k, v in sparsity_counts.items() if v[1]}
    for name, spikes in (spike_trace or {}).items():
        sparsity[name] = float((spikes == 0).sum().item()) / max(1, spikes.numel())
    param_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    param_bytes += sum(b.numel() * b.element_size() for b in model.buffers())
    state_bytes = None
    declared = getattr(model, "state_elements_per_sample", None)
    notes = ["convolution effective ops scale dense MACs by input density (exact up to borders)"]
    if callable(declared):
        state_bytes = int(declared(inputs)) * inputs.element_size()
    else:
        mem = 0
        for module in model.modules():
            for value in getattr(module, "_memories", {}).values():
                if isinstance(value, torch.Tensor) and value.dim() > 0:
                    mem += value.numel() * value.element_size()
        if mem:
            state_bytes = mem // samples
        else:
            notes.append("state footprint not measurable: the model keeps no per-sample state in modules")
    return ModelCost(layers=layers, activation_sparsity=sparsity, param_bytes=int(param_bytes),
                     state_bytes=state_bytes, samples=samples, notes=notes)
