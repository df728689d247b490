"""MAML family (second-order MAML, first-order MAML) over an explicit parameter dict.

Everything here is generic: a method supplies

* ``params`` — a ``dict[str, Tensor]`` of meta-parameters (usually ``dict(model.named_parameters())``),
* ``loss_fn(params, x, y) -> (loss, logits)`` — e.g. :func:`functional_loss` around a model,

and reuses :func:`adapt` (inner loop), :func:`task_loss` (adapt on support, evaluate on query) and
:func:`meta_loss` (mean over tasks). Inner updates are plain SGD ``w ← w − lr·∇w`` by default; a
method with its own update rule passes ``InnerLoop.update`` and/or ``InnerLoop.transform``.

Second order (``second_order=True``): the inner gradients are built with ``create_graph=True`` so
the outer gradient flows through them (Hessian-vector terms). First order (FOMAML): the inner
gradients are detached, the query gradient at the adapted weights is used as the meta-gradient.
Only ordinary autograd is used (spikingjelly neurons do not support ``torch.func.grad``/``vmap``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "Params",
    "LossFn",
    "EpisodeLike",
    "InnerLoop",
    "AdaptResult",
    "functional_loss",
    "adapt",
    "task_loss",
    "meta_loss",
    "adapted_names",
    "threshold_transform",
    "accuracy",
]

Params = dict[str, torch.Tensor]
LossFn = Callable[[Mapping[str, torch.Tensor], torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
#: ``update(name, param, grad, lr) -> new_param`` (default: ``param − lr·grad``).
UpdateRule = Callable[[str, torch.Tensor, torch.Tensor, float], torch.Tensor]
#: ``transform(name, delta) -> delta`` applied to each inner update before it is added.
UpdateTransform = Callable[[str, torch.Tensor], torch.Tensor]


class EpisodeLike(Protocol):
    support_x: torch.Tensor
    support_y: torch.Tensor
    query_x: torch.Tensor
    query_y: torch.Tensor


@dataclass(frozen=True)
class InnerLoop:
    """Inner-loop configuration.

    Attributes
    ----------
    steps, lr:
        Number of SGD steps on the support set and their learning rate (sn22: 1 step, lr 1.0).
    second_order:
        Differentiate through the inner gradients (MAML) or not (FOMAML).
    adapt:
        Names of the parameters the inner loop updates (``None``: all). The others stay at their
        meta-learned values inside the task ("frozen" layers) but are still meta-trained.
    transform:
        Optional map of each raw update ``Δ = −lr·g`` (e.g. :func:`threshold_transform`).
    update:
        Optional update rule replacing SGD (gets the raw gradient).
    record_updates:
        Keep detached copies of the applied updates in :class:`AdaptResult` (Table 3, Fig 5).
    """

    steps: int = 1
    lr: float = 1.0
    second_order: bool = True
    adapt: tuple[str, ...] | None = None
    transform: UpdateTransform | None = None
    update: UpdateRule | None = None
    record_updates: bool = False


@dataclass
class AdaptResult:
    """Adapted (fast) parameters, the support losses seen at each step and (optionally) the updates."""

    params: Params
    support_losses: list[float] = field(default_factory=list)
    updates: list[Params] = field(default_factory=list)


def functional_loss(model: nn.Module, loss: Callable[..., torch.Tensor] = F.cross_entropy) -> LossFn:
    """``loss_fn(params, x, y)`` running ``model`` with the weights in ``params`` (``functional_call``).

    Parameters missing from ``params`` (and buffers) come from the module itself.
    """

    def loss_fn(params: Mapping[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor):
        logits = torch.func.functional_call(model, dict(params), (x,), strict=False)
        return loss(logits, y), logits

    return loss_fn


def adapted_names(params: Mapping[str, torch.Tensor], inner: InnerLoop) -> list[str]:
    """The parameter names the inner loop updates (``inner.adapt`` ∩ ``params``, in ``params`` order)."""
    if inner.adapt is None:
        return list(params)
    wanted = set(inner.adapt)
    unknown = wanted - set(params)
    if unknown:
        raise KeyError(f"inner-loop parameters not in the parameter dict: {sorted(unknown)}")
    return [n for n in params if n in wanted]


def adapt(
    params: Mapping[str, torch.Tensor],
    loss_fn: LossFn,
    x: torch.Tensor,
    y: torch.Tensor,
    inner: InnerLoop,
    *,
    steps: int | None = None,
    create_graph: bool | None = None,
) -> AdaptResult:
    """Run the inner loop on ``(x, y)`` starting from ``params``; returns the fast weights.

    ``create_graph`` defaults to ``inner.second_order`` and is forced off when gradients are
    disabled. Adapted parameters must require grad (leaves or functions of the meta-parameters).
    """
    n_steps = inner.steps if steps is None else steps
    if create_graph is None:
        create_graph = inner.second_order
    create_graph = create_graph and torch.is_grad_enabled()
    names = adapted_names(params, inner)
    fast: Params = dict(params)
    result = AdaptResult(params=fast)
    for _ in range(n_steps):
        with torch.enable_grad():
            loss, _ = loss_fn(fast, x, y)
            targets = [fast[n] for n in names]
            grads = torch.autograd.grad(loss, targets, create_graph=create_graph, allow_unused=True)
        result.support_losses.append(float(loss.detach()))
        applied: Params = {}
        for name, grad in zip(names, grads, strict=True):
            if grad is None:
                continue
            if not create_graph:
                grad = grad.detach()
            old = fast[name]
            if inner.update is not None:
                new = inner.update(name, old, grad, inner.lr)
                delta = new - old
            else:
                delta = -inner.lr * grad
            if inner.transform is not None:
                delta = inner.transform(name, delta)
            fast[name] = old + delta
            if inner.record_updates:
                applied[name] = delta.detach().clone()
        if inner.record_updates:
            result.updates.append(applied)
    return result


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of ``argmax(logits) == y``."""
    return float((logits.argmax(-1) == y).float().mean())


def task_loss(
    params: Mapping[str, torch.Tensor],
    loss_fn: LossFn,
    episode: EpisodeLike,
    inner: InnerLoop,
    *,
    steps: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor, AdaptResult]:
    """Adapt on the support set, return ``(query_loss, query_logits, adapt_result)``."""
    result = adapt(params, loss_fn, episode.support_x, episode.support_y, inner, steps=steps)
    loss, logits = loss_fn(result.params, episode.query_x, episode.query_y)
    return loss, logits, result


def meta_loss(
    params: Mapping[str, torch.Tensor],
    loss_fn: LossFn,
    episodes: Sequence[EpisodeLike] | Iterable[EpisodeLike],
    inner: InnerLoop,
) -> tuple[torch.Tensor, float, list[AdaptResult]]:
    """Mean query loss over ``episodes`` (the MAML outer objective), mean query accuracy, adapt results."""
    losses, accs, results = [], [], []
    for ep in episodes:
        loss, logits, res = task_loss(params, loss_fn, ep, inner)
        losses.append(loss)
        accs.append(accuracy(logits.detach(), ep.query_y))
        results.append(res)
    if not losses:
        raise ValueError("meta_loss needs at least one episode")
    return torch.stack(losses).mean(), sum(accs) / len(accs), results


def threshold_transform(fraction: float = 0.05) -> UpdateTransform:
    """sn22 Eq. 6: keep an inner update only where ``|Δw| > Θ``, ``Θ = fraction · (max Δ − min Δ)``.

    The range is taken per parameter tensor. The mask is not differentiated (a gate); the kept
    entries carry their gradient.
    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"threshold fraction must be in [0, 1), got {fraction}")

    def transform(name: str, delta: torch.Tensor) -> torch.Tensor:
        d = delta.detach()
        theta = fraction * (d.max() - d.min())
        return delta * (d.abs() > theta).to(delta.dtype)

    return transform
