"""STBP baseline (dsp paper): spatio-temporal backpropagation = surrogate-gradient BPTT, no meta-learning.

This is the project's existing supervised surrogate-BPTT training, reused, not re-implemented:
:func:`metasnn.baselines.transfer.pretrain` trains the dsp experiments' backbone
(:func:`metasnn.plasticity.dsp.build_backbone`) as an ordinary classifier on all meta-train classes,
and :func:`metasnn.baselines.transfer.transfer_task_accuracy` fits a new output layer by BPTT on
each task's support set (the rest frozen) and scores its query set. The EIHL baseline
(:mod:`metasnn.baselines.eihl`) shares the few-shot evaluator :class:`TransferFewShot`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from metasnn.baselines.transfer import PretrainConfig, fit_head, pretrain, transfer_task_accuracy, with_head
from metasnn.meta.training import CheckpointConfig

if TYPE_CHECKING:
    from metasnn.baselines.eihl import EIHLConfig
    from metasnn.plasticity.dsp import MethodRun

__all__ = ["TransferFewShot", "train_stbp", "train_and_evaluate", "payload", "load_evaluator"]


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


def payload(backbone: torch.nn.Module, backbone_config: Mapping[str, Any], ways: int, num_steps: int,
            head_steps: int, head_lr: float, method: str = "stbp") -> dict[str, Any]:
    return {"state_dict": backbone.state_dict(), "backbone": dict(backbone_config), "ways": int(ways),
            "num_steps": int(num_steps), "head_steps": int(head_steps), "head_lr": float(head_lr), "method": method}


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
    model = payload(backbone, backbone_config, ways, dataset.num_steps, head_steps, head_lr,
                    method="stbp" if eihl is None else "eihl")
    cost = learner.cost(test[0])
    metrics["pretrain_steps"] = pretrain.steps
    return MethodRun(task_acc, model, cost, rows, metrics, provenance)


def load_evaluator(model_dir: str | Path) -> TransferFewShot:
    """Rebuild the STBP (or EIHL) few-shot learner saved in ``model_dir/model.pt``."""
    from metasnn.io import load_tensors
    from metasnn.plasticity.dsp import build_backbone

    data = load_tensors(Path(model_dir) / "model.pt")
    bb = dict(data["backbone"])
    backbone = build_backbone(bb.pop("frame_shape"), bb.pop("ways"), **bb)
    backbone.load_state_dict(data["state_dict"])
    return TransferFewShot(backbone, data["ways"], data["num_steps"], data["head_steps"], data["head_lr"])
