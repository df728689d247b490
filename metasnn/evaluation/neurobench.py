"""NeuroBench 2.3.0's complexity metrics on this project's models — the reference :mod:`metasnn.evaluation.cost`
is checked against, and what it uses for the static metrics.

NeuroBench (``neurobench==2.3.0``) is installed with ``--no-deps`` (scripts/install.sh): its metadata
requires torchaudio (and numba, llvmlite, tonic), which would replace the pinned torch. The parts used
here — ``neurobench.metrics.static``, ``neurobench.metrics.workload``, ``neurobench.models`` — import
only torch, snntorch (installed ``--no-deps`` too), numpy and the standard library; torchaudio is
imported only by its speech data sets and MFCC/speech2spikes preprocessors, nir only by
``Benchmark.to_nir``, tqdm only by ``neurobench.benchmarks``; numba, llvmlite and tonic by nothing.

What NeuroBench measures and how it meets our models (details: README, "Cost columns and NeuroBench"):

* ``Footprint`` — bytes of parameters and buffers: exactly our ``param_bytes``.
* ``ConnectionSparsity`` — fraction of zero weights of the ``Linear``/``Conv``/RNN modules (biases not
  counted) found among the network's children; we had no such column.
* ``SynapticOperations`` — per synapse call, a copy of the layer with every non-zero weight set to 1 and
  no bias is applied to the binarised input: *exactly* the (non-zero weight, non-zero input) pairs,
  so padding taps and zero weights are not operations; ``Dense`` counts every in-bounds tap. The call is
  AC when its input is in {-1, 0, 1}, else MAC. Per sample = divided by ``data[0].size(0)``.
* ``ActivationSparsity`` / ``ActivationSparsityByLayer`` — zeros over elements of the outputs of
  modules recognised *by type* (``nn.ReLU``, ``nn.Sigmoid``, snnTorch ``SpikingNeuron``, plus any type
  given to ``add_activation_module``), pooled over all of them / keyed by the module's attribute name.
  Our spikes come from spikingjelly ``SurrogateFunctionBase`` modules, which it recognises only when
  that type is added (done here); the DECOLLE node itself returns its membrane potential, not spikes.

NeuroBench's data convention is batch-first ``[B, T, ...]``; ours is time-major ``[T, B, ...]``. The
wrapper here runs the model exactly as :func:`~metasnn.evaluation.cost.measure_cost` does (same
``forward``) and hands the metrics the batch size, so both count per sample.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

__all__ = ["NEUROBENCH_INSTALL", "NEUROBENCH_VERSION", "require_neurobench", "footprint", "connection_sparsity",
           "neurobench_cost"]

NEUROBENCH_VERSION = "2.3.0"
NEUROBENCH_INSTALL = f"python -m pip install --no-deps neurobench=={NEUROBENCH_VERSION}"


def require_neurobench() -> Any:
    """Import NeuroBench's metrics lazily; a clear error naming the install command if it is missing."""
    try:
        import neurobench
        from neurobench.metrics import static, workload  # noqa: F401
        from neurobench.models import TorchModel  # noqa: F401
    except ImportError as err:  # ModuleNotFoundError for neurobench itself or snntorch
        raise ImportError(
            f"metasnn.evaluation.cost needs NeuroBench {NEUROBENCH_VERSION} for its static cost metrics "
            f"({err}); install it with `{NEUROBENCH_INSTALL}` (and snntorch==1.0.0, also --no-deps), "
            "or run scripts/install.sh") from err
    return neurobench


def _wrap(model: nn.Module, forward: Callable[[nn.Module, torch.Tensor], Any] | None = None) -> Any:
    """``model`` as a NeuroBench ``TorchModel`` that keeps the model's train/eval mode and runs ``forward``."""
    require_neurobench()
    from neurobench.models import TorchModel

    class _Model(TorchModel):
        def __init__(self) -> None:  # TorchModel.__init__ would call net.eval(): leave the mode as it is
            super(TorchModel, self).__init__()
            self.net = model

        def __call__(self, batch: torch.Tensor) -> Any:
            return (forward or (lambda m, x: m(x)))(self.net, batch)

    return _Model()


def footprint(model: nn.Module) -> int:
    """NeuroBench ``Footprint``: bytes of all parameters and buffers."""
    require_neurobench()
    from neurobench.metrics.static import Footprint

    return int(Footprint()(_wrap(model)))


def connection_sparsity(model: nn.Module) -> float | None:
    """NeuroBench ``ConnectionSparsity`` (fraction of zero synaptic weights, rounded to 4 decimals); ``None``
    when the network has no ``Linear``/``Conv``/RNN module below its top level (NeuroBench divides 0 by 0)."""
    require_neurobench()
    from neurobench.metrics.static import ConnectionSparsity

    try:
        return float(ConnectionSparsity()(_wrap(model)))
    except ZeroDivisionError:
        return None


def neurobench_cost(
    model: nn.Module,
    inputs: torch.Tensor,
    *,
    batch_dim: int = 1,
    forward: Callable[[nn.Module, torch.Tensor], Any] | None = None,
    activation_types: Sequence[type] | None = None,
) -> dict[str, Any]:
    """Every NeuroBench complexity metric of one run of ``forward(model, inputs)`` (default ``model(inputs)``).

    ``inputs`` holds the samples along ``batch_dim`` (1 for time-major ``[T, B, ...]``), as for
    :func:`~metasnn.evaluation.cost.measure_cost`. ``activation_types`` are the module types whose
    outputs count as activations besides NeuroBench's own (default: spikingjelly's surrogate spike
    modules). Returns ``footprint``, ``parameter_count``, ``connection_sparsity``,
    ``synaptic_operations`` (``Effective_MACs``, ``Effective_ACs``, ``Dense``, per sample; NeuroBench's
    ``SynapticOperations`` run on each synapse module in turn, so ``synaptic_operations_by_layer`` has them
    per module name and ``synaptic_operations`` is their sum),
    ``activation_sparsity`` (pooled; ``None`` when no activation module ran) and
    ``activation_sparsity_by_layer``.
    """
    require_neurobench()
    from neurobench.metrics.static import ParameterCount
    from neurobench.metrics.workload import ActivationSparsity, ActivationSparsityByLayer, SynapticOperations

    if activation_types is None:
        from spikingjelly.activation_based.surrogate import SurrogateFunctionBase

        activation_types = (SurrogateFunctionBase,)
    nb = _wrap(model, forward)
    for kind in activation_types:
        nb.add_activation_module(kind)
    samples = int(inputs.shape[batch_dim])
    data = (torch.empty(samples), None)  # NeuroBench takes the sample count from data[0].size(0)
    names = {m: n for n, m in model.named_modules()}
    nb.register_hooks()
    try:
        with torch.no_grad():
            preds = nb(inputs)
            hooks = list(nb.connection_hooks)
            ops_by_layer = {}
            for hook in hooks:  # NeuroBench's SynapticOperations, one synapse at a time: its totals by layer
                if hook.inputs:
                    nb.connection_hooks = [hook]
                    synops = SynapticOperations()
                    synops.reset()
                    ops_by_layer[names.get(hook.layer, type(hook.layer).__name__)] = {
                        k: float(v) for k, v in synops(nb, preds, data).items()}
            nb.connection_hooks = hooks
            ran = any(hook.activation_outputs for hook in nb.activation_hooks)
            pooled = ActivationSparsity()(nb, preds, data) if ran else None
            by_layer = ActivationSparsityByLayer()(nb, preds, data) if ran else {}
    finally:
        nb.cleanup_hooks()
    ops = {k: float(sum(layer[k] for layer in ops_by_layer.values()))
           for k in ("Effective_MACs", "Effective_ACs", "Dense")}
    return {"footprint": footprint(model), "parameter_count": int(ParameterCount()(nb)),
            "connection_sparsity": connection_sparsity(model), "synaptic_operations": ops,
            "synaptic_operations_by_layer": ops_by_layer, "activation_sparsity": pooled,
            "activation_sparsity_by_layer": dict(by_layer)}
