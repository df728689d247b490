"""Bi-level optimisation of weights ``w`` and meta-parameters ``θ`` (wu22's HP training).

Paper form (default), per step::

    inner:  w' = w − ξ·∇_w L_train(w, θ)                      (one SGD step on w only)
    outer:  g_θ = ∇_θ L_val(w'(θ), θ)                          (exact autograd, second order)
    then    w ← Adam(w, ∇_w L_train),  θ ← Adam(θ, g_θ)         (alternating updates)

The inner step is :func:`metasnn.meta.maml.adapt` restricted to the weight names (the same MAML
machinery as sn22; ``second_order=True`` keeps the graph of ``∇_w L_train`` so ``g_θ`` includes the
``−ξ·∂²L_train/∂θ∂w · ∇_w' L_val`` term — wu22's code approximates it by finite differences; we
differentiate exactly). The weight gradient ``∇_w L_train`` is read back from the recorded inner
update (``Δw = −ξ·∇_w L_train``), so the training loss is differentiated once.

Code-faithful form: :func:`joint_gradients` — one minibatch gradient of the same loss for ``w``
and ``θ`` (wu22's released code).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from metasnn.meta.maml import InnerLoop, LossFn, adapt

__all__ = ["BilevelGradients", "bilevel_gradients", "joint_gradients", "apply_gradients"]


@dataclass
class BilevelGradients:
    """Gradients for the weight and meta-parameter optimisers, with the losses they came from."""

    weights: dict[str, torch.Tensor]
    meta: dict[str, torch.Tensor]
    train_loss: float
    val_loss: float
    train_outputs: torch.Tensor | None = None


def bilevel_gradients(
    params: Mapping[str, torch.Tensor],
    weight_names: Sequence[str],
    meta_names: Sequence[str],
    loss_fn: LossFn,
    train: tuple[torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, torch.Tensor],
    inner_lr: float,
    second_order: bool = True,
) -> BilevelGradients:
    """``∇_w L_train(w, θ)`` and ``∇_θ L_val(w − ξ∇_w L_train, θ)`` (see the module docstring).

    ``params`` maps every name of ``weight_names`` and ``meta_names`` to a tensor requiring grad.
    ``second_order=False`` drops the ``∂²L/∂θ∂w`` term (first-order approximation).
    """
    if inner_lr <= 0:
        raise ValueError(f"inner_lr (ξ) must be > 0, got {inner_lr}")
    inner = InnerLoop(steps=1, lr=inner_lr, second_order=second_order, adapt=tuple(weight_names),
                      record_updates=True)
    result = adapt(params, loss_fn, train[0], train[1], inner)
    weight_grads = {n: -d / inner_lr for n, d in result.updates[0].items()}
    val_loss, _ = loss_fn(result.params, val[0], val[1])
    meta_grads = _gradients(val_loss, params, meta_names) if meta_names else {}
    return BilevelGradients(weight_grads, meta_grads, result.support_losses[0], float(val_loss.detach()))


def joint_gradients(
    params: Mapping[str, torch.Tensor],
    weight_names: Sequence[str],
    meta_names: Sequence[str],
    loss_fn: LossFn,
    batch: tuple[torch.Tensor, torch.Tensor],
) -> BilevelGradients:
    """wu22 code: one minibatch loss, its gradient for both ``w`` and ``θ``."""
    loss, outputs = loss_fn(params, batch[0], batch[1])
    g = _gradients(loss, params, [*weight_names, *meta_names])
    value = float(loss.detach())
    return BilevelGradients({n: g[n] for n in weight_names}, {n: g[n] for n in meta_names}, value, value,
                            outputs.detach())


def _gradients(loss: torch.Tensor, params: Mapping[str, torch.Tensor], names: Sequence[str]) -> dict[str, torch.Tensor]:
    """``∂loss/∂params[n]`` for each of ``names``; zeros where ``loss`` does not depend on it."""
    grads = torch.autograd.grad(loss, [params[n] for n in names], allow_unused=True)
    return {n: (g if g is not None else torch.zeros_like(params[n])) for n, g in zip(names, grads, strict=True)}


def apply_gradients(params: Mapping[str, torch.Tensor], grads: Mapping[str, torch.Tensor],
                    optimizer: torch.optim.Optimizer) -> None:
    """Set ``.grad`` of the named leaf parameters and take one optimiser step."""
    if not grads:
        return
    optimizer.zero_grad(set_to_none=True)
    for name, g in grads.items():
        params[name].grad = g.detach().clone()
    optimizer.step()
