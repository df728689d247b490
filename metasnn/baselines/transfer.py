"""sn22 Fig 6 transfer-learning baseline (and Table 3's "non-meta" training).

1. **Pretrain** the sn22 SNN as an ordinary classifier on all meta-train classes (64-way for
   Double N-MNIST) with Adam on random minibatches — plain supervised training, no meta-learning.
   Each step's output-layer weight change is recorded (sn22 Table 3, "non-meta").
2. **Transfer**: for each test task, freeze the conv stack, put a new zero-initialised output layer
   (5-way) on it and train only that layer on the ``k`` support shots per class; score the query
   set. The conv stack runs once per task (:meth:`SN22ConvSNN.head_inputs`), then only the head
   is trained.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from metasnn.meta.maml import accuracy
from metasnn.meta.training import CheckpointConfig, check_finite_loss, train_loop
from metasnn.snn import SN22ConvSNN, initialise

__all__ = ["PretrainConfig", "prepare_pretraining", "pretrain", "transfer_task_accuracy", "fit_head", "with_head"]


@dataclass(frozen=True)
class PretrainConfig:
    steps: int = 2000
    batch_size: int = 32
    lr: float = 2e-3
    init: str = "lsuv"
    lsuv_mean: float = 0.0


def _batch(dataset: Any, classes: list[str], batch_size: int, seed: int, step: int) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 77, int(step)]))
    labels = rng.integers(0, len(classes), size=batch_size)
    xs = [dataset.draw("train", classes[int(c)], 1, rng) for c in labels]
    return torch.cat(xs, dim=1), torch.from_numpy(labels.astype(np.int64))


def prepare_pretraining(model: SN22ConvSNN, dataset: Any, cfg: PretrainConfig,
                        seed: int) -> tuple[list[str], torch.optim.Optimizer]:
    """The meta-train classes and the Adam optimiser of a supervised pretraining run, after the model's
    initialisation (LSUV on a batch no training step draws)."""
    classes = dataset.classes("train")
    if model.ways != len(classes):
        raise ValueError(f"model has {model.ways} outputs but the train split has {len(classes)} classes")
    x0, _ = _batch(dataset, classes, cfg.batch_size, seed, cfg.steps)  # an index no training step uses
    device = next(model.parameters()).device
    initialise(model.cpu(), cfg.init, x0, generator=torch.Generator().manual_seed(seed), target_mean=cfg.lsuv_mean,
               zero_output=False)
    model.to(device)
    return classes, torch.optim.Adam(model.parameters(), lr=cfg.lr)


def pretrain(
    model: SN22ConvSNN,
    dataset: Any,
    cfg: PretrainConfig,
    seed: int,
    progress: Callable[[Iterable[int]], Iterable[int]] | None = None,
    checkpoint: CheckpointConfig | None = None,
) -> list[dict[str, float]]:
    """Supervised training of ``model`` (``ways`` = number of meta-train classes); returns curve rows.

    Runs through :func:`metasnn.meta.training.train_loop`: with ``checkpoint`` a killed run resumes
    from its last checkpoint and ends with the same weights as an uninterrupted one.
    """
    classes, opt = prepare_pretraining(model, dataset, cfg, seed)
    device = next(model.parameters()).device
    out_w = model.layers[-1].synapse.weight

    def step_fn(step: int) -> dict[str, float]:
        x, y = _batch(dataset, classes, cfg.batch_size, seed, step)
        x, y = x.to(device), y.to(device)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        check_finite_loss(float(loss.detach()), step, hint="lower the pretraining learning rate")
        before = out_w.detach().clone()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        delta = (out_w.detach() - before).abs()
        return {"loss": float(loss.detach()), "acc": accuracy(logits.detach(), y),
                "out_update_avg": float(delta.mean()), "out_update_sum": float(delta.sum()),
                "out_update_max": float(delta.max())}

    return train_loop(step_fn, cfg.steps, {"model": model, "optimizer": opt}, checkpoint=checkpoint,
                      progress=progress, divergence_hint="lower the pretraining learning rate").rows


def transfer_task_accuracy(
    model: SN22ConvSNN,
    support_x: torch.Tensor,
    support_y: torch.Tensor,
    query_x: torch.Tensor,
    query_y: torch.Tensor,
    ways: int,
    head_steps: int = 100,
    head_lr: float = 1e-2,
) -> float:
    """Train a new output layer on the support set (conv stack frozen); query accuracy."""
    head = fit_head(model, support_x, support_y, ways, head_steps, head_lr)
    with torch.no_grad():
        return accuracy(model.head_forward(model.head_inputs(query_x), head), query_y)


def fit_head(model: SN22ConvSNN, support_x: torch.Tensor, support_y: torch.Tensor, ways: int,
             head_steps: int = 100, head_lr: float = 1e-2) -> torch.nn.Module:
    """A new ``ways``-way output layer trained by Adam on the support set (the conv stack frozen)."""
    h_support = model.head_inputs(support_x)
    head = model.new_head(ways)
    opt = torch.optim.Adam(head.parameters(), lr=head_lr)
    for _ in range(head_steps):
        loss = F.cross_entropy(model.head_forward(h_support, head), support_y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return head


def with_head(model: SN22ConvSNN, head: torch.nn.Module) -> SN22ConvSNN:
    """A copy of ``model`` whose output layer is ``head``: the network one task runs (for its cost columns)."""
    out = copy.deepcopy(model)
    out.layers[-1] = copy.deepcopy(head)
    return out
