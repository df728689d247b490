"""The outer (meta) optimiser: Adam with a cosine schedule stepped once per outer step.

sn22: Adam lr 2e-3, cosine annealing to lr/50 over all outer steps (200 per epoch × 100 epochs).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

from metasnn.errors import TrainingDivergedError

__all__ = ["MetaOptimizer"]


class MetaOptimizer:
    """Adam + per-step cosine annealing from ``lr`` to ``lr · final_lr_factor`` over ``total_steps``.

    Parameters
    ----------
    params:
        The meta-parameters.
    lr:
        Initial learning rate.
    total_steps:
        Number of outer steps the schedule spans.
    final_lr_factor:
        ``eta_min = lr · final_lr_factor`` (sn22: 1/50).
    grad_clip:
        Optional global-norm clip (``None``: off, as sn22).
    step_scales:
        Optional factor per parameter (same order as ``params``): that parameter's Adam update is
        multiplied by it. Adam's moments do not depend on the step size, so this is a per-tensor
        learning rate that follows the same cosine schedule (mp23: rule tensors at 0.1×).
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        lr: float,
        total_steps: int,
        final_lr_factor: float = 1.0 / 50.0,
        grad_clip: float | None = None,
        step_scales: Iterable[float] | None = None,
    ):
        self.params = [p for p in params]
        scales = [1.0] * len(self.params) if step_scales is None else [float(f) for f in step_scales]
        if len(scales) != len(self.params) or not all(f > 0 for f in scales):
            raise ValueError("step_scales needs one positive factor per parameter")
        self.scaled = [(p, f) for p, f in zip(self.params, scales, strict=True) if f != 1.0]
        if total_steps < 1:
            raise ValueError(f"total_steps must be >= 1, got {total_steps}")
        self.optimizer = torch.optim.Adam(self.params, lr=lr)
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.optimizer, T_max=total_steps, eta_min=lr * final_lr_factor
        )
        self.grad_clip = grad_clip

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def step(self, loss: torch.Tensor) -> float:
        """Backpropagate ``loss``, take one Adam step, advance the schedule; returns the gradient norm.

        A non-finite gradient raises :class:`~metasnn.errors.TrainingDivergedError` before any
        weight changes.
        """
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grads = [p.grad for p in self.params if p.grad is not None]
        norm = float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))) if grads else 0.0
        if not math.isfinite(norm):
            self.optimizer.zero_grad(set_to_none=True)
            raise TrainingDivergedError(
                f"outer gradient is not finite (norm = {norm!r}) at scheduler step {self.scheduler.last_epoch}; "
                "the weights were not updated: lower the outer/inner learning rates or check the input data"
            )
        if self.grad_clip is not None and math.isfinite(norm):
            torch.nn.utils.clip_grad_norm_(self.params, self.grad_clip)
        before = [p.detach().clone() for p, _ in self.scaled]
        self.optimizer.step()
        with torch.no_grad():
            for (p, factor), old in zip(self.scaled, before, strict=True):
                p.sub_(old).mul_(factor).add_(old)
        self.scheduler.step()
        return norm

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
