"""EIHL baseline (dsp paper) — **approximate**: the EIHL paper has no public code.

What is implemented (a reading of the method's description, labelled "approximate" everywhere):
supervised surrogate-BPTT training of the dsp experiments' backbone on the meta-train classes that
alternates two phases, switched on the change of weight sparsity:

* **excitation**: ordinary gradient steps (Adam on the cross-entropy, as STBP) on all weights;
  pruned weights may regrow.
* **inhibition**: each step contracts every synaptic weight, ``w ← (1 − κ)·w``, and prunes (sets to
  zero) the ``prune_fraction`` smallest-magnitude non-zero weights of each layer.

Sparsity ``σ`` = fraction of synaptic weights with ``|w| < ε · RMS(w)`` of their layer (``ε`` =
``silent_fraction``). The run starts in excitation. Excitation switches to inhibition once ``σ``
has *fallen* by ``switch_delta`` since the phase began (the network densified); inhibition switches
back once ``σ`` has *risen* by ``switch_delta`` (the target sparsification is reached). Each phase
lasts at least ``min_phase`` steps. The few-shot evaluation is the STBP one (new output layer
trained on the support set, :class:`metasnn.baselines.stbp.TransferFewShot`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from metasnn.baselines.transfer import PretrainConfig, _batch, prepare_pretraining
from metasnn.config_dict import DictConfig
from metasnn.errors import ConfigError
from metasnn.meta.maml import accuracy
from metasnn.meta.training import CheckpointConfig, check_finite_loss, train_loop

__all__ = ["EIHLConfig", "EIHLSchedule", "weight_sparsity", "inhibit", "train_eihl", "APPROXIMATE_NOTE"]

APPROXIMATE_NOTE = ("EIHL approximate: no public code; alternating gradient (excitation) and contraction+pruning "
                    "(inhibition) phases switched on sparsity change, as read from the paper's description")
EXCITATION, INHIBITION = 0, 1


@dataclass(frozen=True)
class EIHLConfig(DictConfig):
    contraction: float = 0.05  # κ: w ← (1 − κ) w per inhibition step
    prune_fraction: float = 0.02  # smallest non-zero weights zeroed per inhibition step and layer
    switch_delta: float = 0.005  # sparsity change that ends a phase
    silent_fraction: float = 0.1  # ε: |w| < ε·RMS(layer) counts as silent
    min_phase: int = 3  # steps a phase lasts at least

    def __post_init__(self) -> None:
        if not (0 <= self.contraction < 1 and 0 <= self.prune_fraction < 1):
            raise ConfigError("EIHL: contraction and prune_fraction must be in [0, 1)")
        if self.switch_delta <= 0 or self.silent_fraction <= 0 or self.min_phase < 1:
            raise ConfigError("EIHL: switch_delta and silent_fraction must be > 0, min_phase >= 1")


def synaptic_weights(model: nn.Module) -> list[torch.Tensor]:
    return [m.weight for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


@torch.no_grad()
def weight_sparsity(weights: Iterable[torch.Tensor], silent_fraction: float) -> float:
    """Fraction of weights with ``|w| < silent_fraction · RMS`` of their own tensor."""
    silent = total = 0
    for w in weights:
        rms = float(w.pow(2).mean().sqrt())
        silent += int((w.abs() < silent_fraction * rms).sum()) if rms > 0 else w.numel()
        total += w.numel()
    return silent / max(1, total)


@torch.no_grad()
def inhibit(weights: Iterable[torch.Tensor], contraction: float, prune_fraction: float) -> None:
    """One inhibition step in place: contract every weight, prune the smallest non-zero ones per tensor."""
    for w in weights:
        w.mul_(1.0 - contraction)
        nonzero = w[w != 0].abs()
        k = int(prune_fraction * nonzero.numel())
        if k > 0:
            threshold = torch.kthvalue(nonzero.flatten(), k).values
            w[w.abs() <= threshold] = 0.0


class EIHLSchedule:
    """The phase switch: excitation ↔ inhibition on a sparsity change of ``switch_delta``."""

    def __init__(self, cfg: EIHLConfig, sparsity: float):
        self.cfg = cfg
        self.phase = EXCITATION
        self.start_sparsity = sparsity
        self.steps_in_phase = 0
        self.switches = 0

    def observe(self, sparsity: float) -> int:
        """Record the sparsity after a step; switch phase if due; returns the phase of the next step."""
        self.steps_in_phase += 1
        change = sparsity - self.start_sparsity
        due = (change <= -self.cfg.switch_delta) if self.phase == EXCITATION else (change >= self.cfg.switch_delta)
        if due and self.steps_in_phase >= self.cfg.min_phase:
            self.phase = INHIBITION if self.phase == EXCITATION else EXCITATION
            self.start_sparsity = sparsity
            self.steps_in_phase = 0
            self.switches += 1
        return self.phase

    def state_dict(self) -> dict[str, float]:
        return {"phase": self.phase, "start_sparsity": self.start_sparsity, "steps_in_phase": self.steps_in_phase,
                "switches": self.switches}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.phase, self.start_sparsity = int(state["phase"]), float(state["start_sparsity"])
        self.steps_in_phase, self.switches = int(state["steps_in_phase"]), int(state["switches"])


def train_eihl(model: nn.Module, dataset: Any, cfg: PretrainConfig, eihl: EIHLConfig, seed: int,
               progress: Callable[[Iterable[int]], Iterable[int]] | None = None,
               checkpoint: CheckpointConfig | None = None) -> list[dict[str, float]]:
    """EIHL (approximate) training of ``model`` on all meta-train classes; curve rows with phase and sparsity.

    The STBP initialisation (:func:`metasnn.baselines.transfer.prepare_pretraining`: the excitation phase is
    STBP training); runs through :func:`metasnn.meta.training.train_loop`, the phase schedule checkpointed
    with the weights, so a killed run resumes.
    """
    torch.manual_seed(seed)
    classes, opt = prepare_pretraining(model, dataset, cfg, seed)
    weights = synaptic_weights(model)
    schedule = EIHLSchedule(eihl, weight_sparsity(weights, eihl.silent_fraction))

    def step_fn(step: int) -> dict[str, float]:
        x, y = _batch(dataset, classes, cfg.batch_size, seed, step)
        phase = schedule.phase
        if phase == EXCITATION:
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            check_finite_loss(float(loss.detach()), step, hint="lower the EIHL/pretraining learning rate")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        else:
            inhibit(weights, eihl.contraction, eihl.prune_fraction)
            with torch.no_grad():
                logits = model(x)
                loss = F.cross_entropy(logits, y)
        sparsity = weight_sparsity(weights, eihl.silent_fraction)
        schedule.observe(sparsity)
        return {"loss": float(loss.detach()), "acc": accuracy(logits.detach(), y), "phase": float(phase),
                "sparsity": sparsity}

    return train_loop(step_fn, cfg.steps, {"model": model, "optimizer": opt, "schedule": schedule},
                      checkpoint=checkpoint, progress=progress,
                      divergence_hint="lower the EIHL/pretraining learning rate").rows
