"""STBP baseline (dsp paper): spatio-temporal backpropagation = surrogate-gradient BPTT, no meta-learning.

This is the project's existing supervised surrogate-BPTT training, reused, not re-implemented:
:func:`metasnn.baselines.transfer.pretrain` trains the dsp experiments' backbone
(:func:`metasnn.plasticity.dsp.build_backbone`) as an ordinary classifier on all meta-train classes,
and :func:`metasnn.baselines.transfer.transfer_task_accuracy` fits a new output layer by BPTT on
each task's support set (the rest frozen) and scores its query set. The EIHL baseline
(:mod:`metasnn.baselines.eihl`) shares the few-shot evaluator :class:`TransferFewShot`.

The trained backbone is saved as ``model.pt`` (:mod:`metasnn.model_file`): its record (method ``stbp`` or
``eihl``, paper ``"dsp"``, loader :func:`build_evaluator`; config: the backbone's :func:`build_backbone
<metasnn.plasticity.dsp.build_backbone>` arguments, the few-shot ways and output-layer training, the
pretraining and EIHL configs) and the backbone's ``state_dict``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch

from metasnn.baselines.transfer import PretrainConfig, fit_head, pretrain, transfer_task_accuracy, with_head
from metasnn.meta.training import CheckpointConfig

if TYPE_CHECKING:
    from metasnn.baselines.eihl import EIHLConfig
    from metasnn.model_file import ModelRecord
    from metasnn.plasticity.dsp import MethodRun

__all__ = ["LOADER", "TransferFewShot", "train_stbp", "train_and_evaluate", "build_evaluator"]

#: the function an STBP (or EIHL) model record names to rebuild its few-shot evaluator
LOADER = "metasnn.baselines.stbp:build_evaluator"


class TransferFewShot:
    """A pretrained backbone + a new output layer trained on the support set (an ``EpisodeEvaluator``)."""

    def __init__(self, backbone: torch.nn.Module, ways: int, num_steps: int, head_steps: int, head_lr: float):
        self.backbone = backbone.eval()
        self.ways = int(ways)
        self.num_steps = int(num_steps)
        self.head_steps = int(head_steps)
        self.head_lr = float(head_lr)
        self.frame_shape = tuple(backbone.input_shape)

    def __call__(self, episode: Any) -> float:
        return transfer_task_accuracy(self.backbone, episode.support_x, episode.support_y, episode.query_x,
                                      episode.query_y, self.ways, self.head_steps, self.head_lr)

    def cost(self, episode: Any):
        """Cost (:func:`metasnn.evaluation.cost.measure_cost`) of the query pass through the backbone with the
        output layer trained on ``episode``'s support."""
        from metasnn.evaluation.cost import measure_cost

        head = fit_head(self.backbone, episode.support_x, episode.support_y, self.ways, self.head_steps, self.head_lr)
        return measure_cost(with_head(self.backbone, head), episode.query_x)


def train_stbp(backbone: torch.nn.Module, dataset: Any, cfg: PretrainConfig, seed: int,
               progress: Callable[[Iterable[int]], Iterable[int]] | None = None,
               checkpoint: CheckpointConfig | None = None) -> list[dict[str, float]]:
    """Surrogate-BPTT training of ``backbone`` on the meta-train classes; returns the curve rows."""
    torch.manual_seed(seed)
    return pretrain(backbone, dataset, cfg, seed, progress=progress, checkpoint=checkpoint)


def train_and_evaluate(dataset: Any, seed: int, test: Sequence[Any], *, pretrain: PretrainConfig,
                       backbone_config: Mapping[str, Any], ways: int, head_steps: int, head_lr: float,
                       eihl: EIHLConfig | None = None, progress: Callable[[Iterable[int]], Iterable[int]] | None = None,
                       task_progress: Callable[[Sequence[Any]], Iterable[Any]] | None = None,
                       checkpoint: CheckpointConfig | None = None) -> MethodRun:
    """The STBP baseline of the dsp experiments (the EIHL one when ``eihl`` is given): train the backbone
    (:func:`metasnn.plasticity.dsp.build_backbone` of ``backbone_config``) on the meta-train classes, then score
    the meta-test ``test`` episodes with a new ``ways``-way output layer trained on each support set. With
    ``checkpoint`` the pretraining resumes after a kill."""
    from metasnn.plasticity.dsp import MethodRun, build_backbone

    torch.manual_seed(seed)
    backbone = build_backbone(**backbone_config)
    metrics: dict[str, Any] = {}
    provenance: dict[str, Any] = {}
    if eihl is None:
        rows = train_stbp(backbone, dataset, pretrain, seed, progress=progress, checkpoint=checkpoint)
    else:
        from metasnn.baselines.eihl import APPROXIMATE_NOTE, train_eihl

        rows = train_eihl(backbone, dataset, pretrain, eihl, seed, progress=progress, checkpoint=checkpoint)
        metrics["eihl_phase_switches"] = int(sum(1 for a, b in zip(rows, rows[1:], strict=False)
                                                 if a["phase"] != b["phase"]))
        metrics["eihl_final_sparsity"] = float(rows[-1]["sparsity"])
        metrics["note"] = APPROXIMATE_NOTE
        provenance["eihl_config"] = eihl.to_dict()
    learner = TransferFewShot(backbone, ways, dataset.num_steps, head_steps, head_lr)
    task_acc = [learner(ep) for ep in (test if task_progress is None else task_progress(test))]
    cost = learner.cost(test[0])
    metrics["pretrain_steps"] = pretrain.steps
    config = {"backbone": dict(backbone_config), "ways": int(ways), "head_steps": int(head_steps),
              "head_lr": float(head_lr), "pretrain": dataclasses.asdict(pretrain),
              "eihl": None if eihl is None else eihl.to_dict()}
    return MethodRun(task_acc, backbone.state_dict(), cost, rows, metrics, provenance, config=config, loader=LOADER)


def build_evaluator(record: ModelRecord, state: Mapping[str, torch.Tensor]) -> TransferFewShot:
    """The few-shot evaluator of an STBP (or EIHL) ``model.pt`` (:mod:`metasnn.model_file`; the loader its record
    names): the backbone of the record's config with the saved weights, T from the record."""
    from metasnn.plasticity.dsp import build_backbone

    cfg = record.config
    backbone = build_backbone(**cfg["backbone"])
    backbone.load_state_dict(state)
    return TransferFewShot(backbone, cfg["ways"], record.num_steps, cfg["head_steps"], cfg["head_lr"])
