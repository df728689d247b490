"""Weight initialisation for the sn22 networks.

* ``"lsuv"`` (sn22 code, DECOLLE ``init_LSUV``; data-dependent): orthogonal weights, zero bias,
  then layer by layer (input first) the weights are rescaled so that the layer's potential ``U``
  over a data batch (all gradient-window steps, all samples, all units) has variance ≈ 1, and the
  bias is shifted so its mean ≈ 0. Iterates (the spiking layers are nonlinear) until both are within
  ``tol`` or ``max_iter`` passes are done. sn22 applies it to the first support batch.
  The output layer's weights are then set to zero (``zero_output=True``, default): DECOLLE's
  ``reset_parameters`` zeroes linear layers, which LSUV cannot rescale. A zero readout makes the
  first inner step a centred nearest-prototype classifier of the support traces, which is what lets
  one-step MAML start above chance.
* ``"default"`` (simple, data-free): PyTorch's default Kaiming-uniform weights
  (``a = √5``, i.e. ``U(±1/√fan_in)``) and zero biases.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["initialise", "lsuv_init", "default_init", "INIT_SCHEMES"]

INIT_SCHEMES = ("lsuv", "default")


def _weight_layers(model: nn.Module) -> list[nn.Module]:
    out = []
    for layer in model.layers:  # type: ignore[attr-defined]
        out.append(getattr(layer, "synapse", layer))
    return out


def default_init(model: nn.Module, generator: torch.Generator | None = None) -> None:
    """Kaiming-uniform weights ``U(±1/√fan_in)`` and zero biases on every weight layer."""
    with torch.no_grad():
        for layer in _weight_layers(model):
            fan_in = layer.weight[0].numel()
            bound = 1.0 / math.sqrt(fan_in)
            layer.weight.uniform_(-bound, bound, generator=generator)
            if layer.bias is not None:
                layer.bias.zero_()


def lsuv_init(
    model: nn.Module,
    x_seq: torch.Tensor,
    *,
    target_mean: float = 0.0,
    target_var: float = 1.0,
    tol: float = 0.1,
    max_iter: int = 10,
    zero_output: bool = True,
    generator: torch.Generator | None = None,
) -> list[dict[str, float]]:
    """Layer-sequential unit-variance init on ``x_seq`` ``[T, B, 2, H, W]``; returns per-layer final stats.

    With ``zero_output`` the last layer is not rescaled but zeroed (weights and bias).
    """
    layers = _weight_layers(model)
    with torch.no_grad():
        for layer in layers:
            w = layer.weight
            flat = torch.empty(w.shape[0], w[0].numel(), dtype=w.dtype)
            _orthogonal_(flat, generator)
            w.copy_(flat.view_as(w))
            if layer.bias is not None:
                layer.bias.zero_()
        stats = []
        for i, layer in enumerate(layers):
            if zero_output and i == len(layers) - 1:
                layer.weight.zero_()
                if layer.bias is not None:
                    layer.bias.zero_()
                stats.append({"layer": i, "mean": 0.0, "var": 0.0})
                continue
            mean = var = float("nan")
            for _ in range(max_iter):
                u = model.layer_potentials(x_seq, upto=i)[i]  # type: ignore[attr-defined]  # layers 0..i only
                mean, var = float(u.mean()), float(u.var())
                if not (math.isfinite(mean) and math.isfinite(var)):
                    break
                if abs(var - target_var) <= tol and abs(mean - target_mean) <= tol:
                    break
                layer.weight.mul_(math.sqrt(target_var / max(var, 1e-2)))
                if layer.bias is not None:
                    layer.bias.sub_(mean - target_mean)
            stats.append({"layer": i, "mean": mean, "var": var})
    return stats


def _orthogonal_(flat: torch.Tensor, generator: torch.Generator | None) -> None:
    """``nn.init.orthogonal_`` with an explicit generator (rows or columns orthonormal)."""
    rows, cols = flat.shape
    a = torch.randn(max(rows, cols), min(rows, cols), generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)
    if rows < cols:
        q = q.T
    flat.copy_(q[:rows, :cols].to(flat.dtype))


def initialise(
    model: nn.Module,
    scheme: str,
    x_seq: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    zero_output: bool = True,
    target_mean: float = 0.0,
    target_var: float = 1.0,
) -> list[dict[str, float]]:
    """Apply ``scheme`` (``"lsuv"`` needs a data batch ``x_seq``); returns LSUV stats or ``[]``."""
    if scheme == "default":
        default_init(model, generator)
        return []
    if scheme == "lsuv":
        if x_seq is None:
            raise ValueError("LSUV initialisation needs a data batch")
        return lsuv_init(model, x_seq, generator=generator, zero_output=zero_output, target_mean=target_mean,
                         target_var=target_var)
    raise ValueError(f"unknown init scheme {scheme!r}: choose one of {', '.join(INIT_SCHEMES)}")
