"""Few-shot evaluation protocol (sn22): adapt on each task's support set, score its query set.

A fixed, seeded set of tasks (episodes ``0 … n−1`` of a split under an evaluation seed that does
not depend on the training seed) is used for every model, so methods and seeds are compared on
the same tasks. Reported:

* per-task query accuracies → mean, 95% CI over tasks (:func:`metasnn.evaluation.statistics.summarize`);
  mean ± std over seeds is computed by the reporting layer from the per-seed means;
* sn22's own ± (labelled): the std of the mean accuracy over ``repeats`` evaluation repeats of one
  model (:func:`repeat_std`; sn22 reported the std over epochs of a single model);
* for a meta-trained sn22 learner: :mod:`metasnn.meta.sn22_evaluation` (inner-update magnitudes, their
  histogram, the cost columns of meta-test task 0).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from metasnn.meta.maml import InnerLoop, LossFn, accuracy, adapt

__all__ = ["TaskOutcome", "evaluate_tasks", "repeat_std", "SN22_STATISTIC_LABEL"]

SN22_STATISTIC_LABEL = (
    "sn22 statistic: std of the mean accuracy over evaluation repeats of one model "
    "(disjoint blocks of the task set); sn22's tables report this kind of spread (std over epochs of a "
    "single model), not the std over seeds"
)


@dataclass
class TaskOutcome:
    """One evaluated task: its query accuracy and (optionally) the inner updates it applied."""

    index: int
    accuracy: float
    support_losses: list[float] = field(default_factory=list)
    updates: list[dict[str, torch.Tensor]] = field(default_factory=list)


def evaluate_tasks(
    params: dict[str, torch.Tensor],
    loss_fn: LossFn,
    episodes: Iterable[Any],
    inner: InnerLoop,
    *,
    steps: int | None = None,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
) -> list[TaskOutcome]:
    """Adapt a copy of ``params`` on every episode's support set and score its query set.

    The meta-parameters are not changed. Inner gradients are first order (no graph is kept);
    the query pass runs without autograd.
    """
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    eval_inner = InnerLoop(steps=inner.steps, lr=inner.lr, second_order=False, adapt=inner.adapt,
                           transform=inner.transform, update=inner.update, record_updates=inner.record_updates)
    outcomes = []
    iterator = progress(episodes) if progress is not None else episodes
    for ep in iterator:
        res = adapt(leaves, loss_fn, ep.support_x, ep.support_y, eval_inner, steps=steps, create_graph=False)
        with torch.no_grad():
            fast = {k: v.detach() for k, v in res.params.items()}
            _, logits = loss_fn(fast, ep.query_x, ep.query_y)
        outcomes.append(TaskOutcome(index=int(getattr(ep, "index", len(outcomes))), accuracy=accuracy(logits, ep.query_y),
                                    support_losses=res.support_losses, updates=res.updates))
    return outcomes


def repeat_std(accuracies: np.ndarray | list[float], repeats: int) -> float:
    """Std (ddof=1) of the mean accuracy over ``repeats`` contiguous, equal blocks of the tasks.

    NaN when fewer than 2 blocks of at least one task can be formed.
    """
    acc = np.asarray(accuracies, dtype=np.float64)
    repeats = min(int(repeats), acc.size)
    if repeats < 2:
        return float("nan")
    size = acc.size // repeats
    means = [acc[i * size:(i + 1) * size].mean() for i in range(repeats)]
    return float(np.std(means, ddof=1))
