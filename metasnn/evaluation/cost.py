"""Hardware-independent cost of a trained model, NeuroBench-style — one implementation for every method.

Measured by running the model on real inputs with forward hooks on its synapses
(``nn.Linear``, ``nn.Conv1d/2d``). Where NeuroBench 2.3.0 measures what a column needs, its code does
the counting (:mod:`metasnn.evaluation.neurobench`; installed ``--no-deps`` by scripts/install.sh);
what it cannot measure stays ours (README, "Cost columns and NeuroBench"):

* **synaptic operations per sample** — NeuroBench's count: for each synapse call, its
  ``single_layer_MACs`` (the layer with every non-zero weight set to 1 and no bias, applied to the
  binarised input) counts exactly the operations that happen: one per (non-zero weight, non-zero
  input element) pair, so a zero-padding tap of a convolution or a zero weight is no operation;
  ``dense_ops`` is its count with every weight and input element 1 (all in-bounds taps). The dense count
  is NeuroBench's on one sample; the effective count is computed by :func:`effective_ops` on the sum of
  the binarised samples (the layer is linear: the same number, from one sample's work instead of the
  batch's, exact in float64; tests/unit/test_neurobench_cost.py compares it with NeuroBench's). Both are
  applied in the hook to the weights that ran (a MAML inner loop's fast weights included), where NeuroBench's
  ``SynapticOperations`` class binarises the module's stored weights after the run. The kind
  stays ours: *effective ACs* when every input of the layer is binary {0, 1} with events (spikes:
  each event is one accumulate per target), *effective MACs* otherwise — NeuroBench calls an input
  in {-1, 0, 1} AC per call, so a dead (all-zero) layer input would be an AC. Layers whose weights act
  on filtered traces (the DECOLLE LIF applies ``W`` to the membrane trace ``P``) are counted as MACs at
  the trace's non-zeros — that is what the implementation computes (a trace decays but does not
  return to 0 once input arrived, so these counts approach the dense count after the first spikes).
  A model that runs no such module (it multiplies its weight tensors directly) has no measurable
  synaptic operations: the column is empty (``None``) and a note says why — never 0.
* **activation sparsity per layer** — ours (NeuroBench finds activation modules by type and cannot
  attribute one shared spike module to layers): the fraction of zeros in each spiking layer's output,
  from the binary tensors returned by the surrogate spike modules (spikingjelly ``SurrogateFunctionBase``:
  a non-spiking model's all-zero ReLU or pooling output is not counted), attributed to the
  neuron layer (:class:`~metasnn.snn.neuron.DecolleLIFNode`) they belong to: a spike computed
  *inside* a node's functional forward is that node's own spike ``S``; a binary tensor computed
  by the model *after* a node ran and before the next one (sn22's inter-layer ``H(pool(U))``) is
  what that layer passes on and replaces its own ``S`` in the count. One surrogate instance shared
  by every layer (as in the sn22 conv SNN) is therefore counted per layer, once. Outside any
  node, the module's own name is used. A model may instead give its spikes via ``spike_trace``,
  which then replaces what the hooks recorded. The column is the mean over layers.
* **parameter footprint** — NeuroBench ``Footprint``: bytes of all parameters and buffers.
* **connection sparsity** — NeuroBench ``ConnectionSparsity``: the fraction of zero weights of the
  model's synapse modules (stored weights); in :meth:`ModelCost.as_dict`, not a table column.
* **state footprint** — ours (NeuroBench has no such metric): bytes of per-sample neuron state:
  ``state_elements_per_sample`` if the model declares it; else the state the DECOLLE nodes carry
  between time steps, measured on the run — ``Q, P`` of the node's input size and ``U, R, S`` of its
  output size per sample; else the spikingjelly memories materialised by the run.

Everything is per sample (divided by the batch size) and averaged over the given inputs.
:func:`mean_columns` averages the columns of several runs (seeds) for a table row.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from spikingjelly.activation_based.surrogate import SurrogateFunctionBase
from torch import nn

from metasnn.evaluation import neurobench as nb
from metasnn.snn.neuron import DecolleLIFNode

__all__ = ["LayerCost", "ModelCost", "measure_cost", "mean_columns", "COST_COLUMNS", "DENSITY_NOTE"]

SYNAPSES = (nn.Linear, nn.Conv1d, nn.Conv2d)
COST_COLUMNS = ("synaptic_ops_per_sample", "op_kind", "activation_sparsity", "param_bytes", "state_bytes")
DENSITY_NOTE = ("synaptic operations counted by NeuroBench 2.3.0 (single_layer_MACs): one per non-zero weight x "
                "non-zero input pair; convolution padding taps are not operations")  # every ModelCost


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
    connection_sparsity: float | None = None  # NeuroBench ConnectionSparsity; not a table column

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
            "synaptic_ops_per_sample": round(self.synaptic_ops, 1) if self.layers else None,
            "op_kind": "+".join(kinds) if kinds else None,
            "activation_sparsity": None if self.mean_activation_sparsity is None else round(self.mean_activation_sparsity, 4),
            "param_bytes": self.param_bytes,
            "state_bytes": self.state_bytes,
        }

    def as_dict(self) -> dict[str, Any]:
        return {"layers": [asdict(layer) for layer in self.layers], "activation_sparsity": dict(self.activation_sparsity),
                "param_bytes": self.param_bytes, "state_bytes": self.state_bytes, "samples": self.samples,
                "synaptic_ops_per_sample": self.synaptic_ops, "dense_ops_per_sample": self.dense_ops,
                "connection_sparsity": self.connection_sparsity, "notes": list(self.notes)}


def _counting_copy(module: nn.Module, dtype: torch.dtype, *, binary: bool = False) -> nn.Module:
    """A hook-free shallow copy of ``module`` with its current weights (fast weights of a functional call
    included) detached, in ``dtype``: what NeuroBench's ``single_layer_MACs`` deep-copies and binarises.
    ``binary``: already binarised as NeuroBench does (every non-zero weight 1), without bias."""
    shadow = copy.copy(module)
    shadow._parameters = {k: None if v is None else v.detach().to(dtype) for k, v in module._parameters.items()}
    if binary:
        shadow._parameters = {"weight": (shadow._parameters["weight"] != 0).to(dtype), "bias": None}
    shadow._forward_hooks, shadow._forward_pre_hooks = OrderedDict(), OrderedDict()
    return shadow


def effective_ops(x: torch.Tensor, module: nn.Module) -> int:
    """NeuroBench's effective operation count (``single_layer_MACs``: the layer with every non-zero weight 1 and
    no bias, applied to the binarised input, summed over every output) of one call of ``module`` on ``x``,
    computed on one summed sample: the layer is linear, so summing its outputs over the batch equals applying it
    to the sum of the binarised samples, and one sample's work replaces the batch's (it was ≈ 80 % of a
    cross-dataset job at the paper's shapes). In float64 every partial sum is an exact integer; NeuroBench's
    float32 sum can round a total above 2**24. tests/unit/test_neurobench_cost.py checks both agree."""
    return _ops_on_sum((_samples(x, module) != 0).sum(0, keepdim=True), module)


def _ops_on_sum(summed: torch.Tensor, module: nn.Module) -> int:
    """:func:`effective_ops` from the per-element count of non-zero samples (``[1, *one input]``)."""
    return int(round(float(_counting_copy(module, torch.float64, binary=True)(summed.to(torch.float64)).sum().item())))


def _samples(x: torch.Tensor, module: nn.Module) -> torch.Tensor:
    """``x`` as ``[N, *one input]`` of ``module``: ``(features,)`` for a linear layer, ``(C, *spatial)`` for a conv."""
    dims = 1 if isinstance(module, nn.Linear) else module.weight.dim() - 1
    return x.reshape(-1, *x.shape[x.dim() - dims:])


def _is_binary(t: torch.Tensor, nonzeros: int | None = None) -> bool:
    """Whether every element is 0 or 1 (``nonzeros``: ``t``'s non-zero count, when known)."""
    nonzeros = int(torch.count_nonzero(t)) if nonzeros is None else nonzeros
    return nonzeros == int(torch.count_nonzero(t == 1))


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
    them outside hookable modules; it replaces the activation sparsity the hooks recorded.
    """
    nb.require_neurobench()
    from neurobench.metrics.utils.layers import single_layer_MACs as single_layer_macs

    samples = int(inputs.shape[batch_dim])
    stats: dict[str, dict[str, Any]] = {}
    spikes: dict[tuple[str, str], list[float]] = {}  # (layer, "own" | "out" | "module") -> [zeros, elements]
    node_state: dict[str, tuple[int, int, int]] = {}  # node -> (input, output elements per sample, bytes/element)
    names = {m: n for n, m in model.named_modules()}
    running: list[str] = []  # DECOLLE nodes whose functional forward is executing
    last_node: list[str] = []  # the node that finished last
    handles = []

    def synapse_hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        x = args[0]
        if not isinstance(x, torch.Tensor) or not isinstance(output, torch.Tensor):
            return
        name = names.get(module, type(module).__name__)
        # NeuroBench counts on binarised copies: at least float32, so that fp16/bf16 models count like the rest
        dtype = torch.promote_types(x.dtype, torch.float32) if x.dtype.is_floating_point else torch.float32
        samples_x = _samples(x, module)
        summed = (samples_x != 0).sum(0, keepdim=True)  # per input element: the samples where it is non-zero
        nonzeros = int(summed.sum())
        effective = _ops_on_sum(summed, module)  # = effective_ops(x, module), sharing one pass over x
        # NeuroBench's dense count (every weight and input element 1) is the same for every sample: one, times N
        dense = single_layer_macs(samples_x[:1].to(dtype), _counting_copy(module, dtype), total=True)[0] * len(samples_x)
        density = nonzeros / max(1, x.numel())
        rec = stats.setdefault(name, {"dense": 0.0, "effective": 0.0, "nnz": 0.0, "numel": 0.0, "binary": True})
        rec["dense"] += float(dense)
        rec["effective"] += float(effective)
        rec["nnz"] += density * x.numel()
        rec["numel"] += x.numel()
        rec["binary"] = rec["binary"] and _is_binary(x, nonzeros)

    def spike_hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        out = output[0] if isinstance(output, tuple) else output
        if not (isinstance(out, torch.Tensor) and out.numel() and out.dtype.is_floating_point):
            return
        nonzeros = int(torch.count_nonzero(out))
        if _is_binary(out, nonzeros):
            if running:
                key = (running[-1], "own")
            elif last_node:
                key = (last_node[-1], "out")
            else:
                key = (names.get(module, type(module).__name__), "module")
            acc = spikes.setdefault(key, [0.0, 0.0])
            acc[0] += float(out.numel() - nonzeros)
            acc[1] += out.numel()

    def traced(node: DecolleLIFNode, name: str, leading: int) -> Callable[..., Any]:
        """``node``'s functional forward, recording that it runs and its state size per sample."""
        original = getattr(node, "multi_step_functional_forward" if leading == 2 else "single_step_functional_forward")

        def run(inputs: Any, states: Any, *args: Any, **kwargs: Any) -> Any:
            running.append(name)
            try:
                result = original(inputs, states, *args, **kwargs)
            finally:
                running.pop()
            x, u = inputs[0], result[0][0]
            per = max(1, int(torch.tensor(x.shape[:leading]).prod()))
            node_state[name] = (x.numel() // per, u.numel() // per, u.element_size())
            last_node[:] = [name]
            return result

        return run

    nodes = [(n, m) for n, m in model.named_modules() if isinstance(m, DecolleLIFNode)]
    for module in model.modules():
        if isinstance(module, SYNAPSES):
            handles.append(module.register_forward_hook(synapse_hook))
        elif isinstance(module, SurrogateFunctionBase):  # spike functions only: a dead ReLU/pool is not a spike
            handles.append(module.register_forward_hook(spike_hook))
    for name, node in nodes:
        node.single_step_functional_forward = traced(node, name, 1)
        node.multi_step_functional_forward = traced(node, name, 2)
    try:
        with torch.no_grad():
            (forward or (lambda m, x: m(x)))(model, inputs)
    finally:
        for h in handles:
            h.remove()
        for _, node in nodes:
            node.__dict__.pop("single_step_functional_forward", None)
            node.__dict__.pop("multi_step_functional_forward", None)

    notes = [DENSITY_NOTE]
    layers = []
    for name, rec in stats.items():
        # AC: binary input with events; an all-zero input (a silent or dead layer) says nothing about the kind
        layers.append(LayerCost(name=name, op_kind="AC" if rec["binary"] and rec["nnz"] > 0 else "MAC", dense_ops=rec["dense"] / samples,
                                effective_ops=rec["effective"] / samples,
                                input_density=rec["nnz"] / rec["numel"] if rec["numel"] else 0.0))
    if not layers:
        notes.append("no synapse module (nn.Linear / nn.Conv1d / nn.Conv2d) ran: the model multiplies its weight "
                     "tensors directly, so synaptic operations are not measured")
    if spike_trace is not None:
        sparsity = {name: float((s == 0).sum().item()) / max(1, s.numel()) for name, s in spike_trace.items()}
    else:
        sparsity = {}
        for (layer, role), (zeros, total) in spikes.items():
            if total and (role != "own" or (layer, "out") not in spikes):  # what a layer passes on wins
                sparsity[layer] = zeros / total
    param_bytes = nb.footprint(model)
    state_bytes = None
    declared = getattr(model, "state_elements_per_sample", None)
    if callable(declared):
        state_bytes = int(declared(inputs)) * inputs.element_size()
    elif node_state:
        state_bytes = sum((2 * n_in + 3 * n_out) * size for n_in, n_out, size in node_state.values())
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
                     state_bytes=state_bytes, samples=samples, notes=notes,
                     connection_sparsity=nb.connection_sparsity(model))


def mean_columns(runs: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The :data:`COST_COLUMNS` of several runs (e.g. one per seed) as one table row's values.

    Numeric columns: the value when every run agrees, else the mean of the runs that have one;
    ``None`` when none has. ``op_kind``: the union of the runs' kinds.
    """
    runs = list(runs)
    row: dict[str, Any] = {}
    for column in COST_COLUMNS:
        values = [r[column] for r in runs if r.get(column) not in (None, "")]
        if column == "op_kind":
            row[column] = "+".join(sorted({k for v in values for k in str(v).split("+")})) or None
        elif not values:
            row[column] = None
        else:
            row[column] = values[0] if all(v == values[0] for v in values) else float(sum(values) / len(values))
    return row
