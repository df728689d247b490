"""sn22 (Stewart & Neftci 2022): MAML SNN, FOMAML SNN and MAML CNN on the Double meta-datasets.

Methods:

* ``maml_snn`` — :class:`~metasnn.snn.models.SN22ConvSNN`, second-order MAML.
* ``fomaml_snn`` — the same network, first-order MAML.
* ``maml_cnn`` — the non-spiking baseline, second-order MAML: the paper's time-summed-image CNN
  (``cnn_variant="paper"``, default) or the code's softsign network (``cnn_variant="softsign"``).

Protocol (paper scale): 5-way 1-shot, 10 queries per class, inner SGD lr 1.0 with 1 step at train
and test on all layers, Adam 2e-3 with a per-step cosine schedule to lr/50, 1 task per outer step,
200 outer steps × 100 epochs, burn-in 70 of 100 steps, LSUV init on the first support batch.

A meta-trained learner is saved as ``model.pt`` (:mod:`metasnn.model_file`): its record (method, paper
``"sn22"``, loader :func:`build_evaluator`, the config, frame shape, T and bin width of the meta-dataset)
and its weights (:func:`model_state`); :func:`load_learner` rebuilds the network from the two.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from metasnn.config_dict import DictConfig
from metasnn.errors import ConfigError
from metasnn.evaluation.cost import measure_cost
from metasnn.evaluation.fewshot import evaluate_tasks
from metasnn.meta.maml import InnerLoop, UpdateTransform, adapt, functional_loss, meta_loss, threshold_transform
from metasnn.meta.outer import MetaOptimizer
from metasnn.meta.training import CheckpointConfig, TrainResult, train_loop
from metasnn.model_file import ModelRecord
from metasnn.snn import build_model, initialise, layer_parameter_groups

__all__ = [
    "METHODS",
    "SN22Config",
    "build_learner",
    "make_inner_loop",
    "output_layer_names",
    "update_magnitudes",
    "metatrain",
    "LOADER",
    "model_record",
    "model_state",
    "load_learner",
    "build_evaluator",
    "resolve_device",
]


def resolve_device(name: str) -> torch.device:
    """``cpu`` | ``cuda`` | ``auto`` (CUDA when available) → a torch device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} requested but CUDA is not available; use --device cpu or auto")
    return torch.device(name)

#: method → (model name, second order)
METHODS: dict[str, tuple[str, bool]] = {
    "maml_snn": ("sn22_snn", True),
    "fomaml_snn": ("sn22_snn", False),
    "maml_cnn": ("sn22_cnn", True),
}


@dataclass(frozen=True)
class SN22Config(DictConfig):
    """Everything that defines one sn22 meta-training run (hashed for checkpoints)."""

    method: str = "maml_snn"
    cnn_variant: str = "paper"  # paper | softsign (maml_cnn only)
    ways: int = 5
    shots: int = 1
    queries: int = 10
    inner_steps: int = 1
    inner_lr: float = 1.0
    outer_lr: float = 2e-3
    outer_grad_clip: float = 0.0  # global-norm clip of the outer gradient (0 = off, as sn22)
    final_lr_factor: float = 1.0 / 50.0
    outer_steps: int = 20000
    tasks_per_step: int = 1
    burn_in: float = 0.7  # fraction of the T steps run without gradients
    pooling: str = "avg"
    input_pool: int = 1  # sum-pool input frames k x k (1 = sn22)
    channels: tuple[int, ...] = (32, 64, 128)
    init: str = "lsuv"
    lsuv_mean: float = 0.0  # LSUV target mean of the spiking layers' U (sn22/DECOLLE: 0; negative = sparser
    #                         spiking). The time-summed CNN always uses 0 (a negative mean kills its ReLUs).
    frozen_layers: int = 0  # first k layers not adapted in the inner loop during meta-training
    scale_decays: bool = True  # per-step decays = sn22 decays ** time_bin_ms
    inner_threshold: float = 0.0  # sn22 Eq. 6 gating of inner updates (fraction of the update range; 0 = off)
    max_loss: float = 1.0e4

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"unknown sn22 method {self.method!r}: choose one of {', '.join(METHODS)}")
        if self.cnn_variant not in ("paper", "softsign"):
            raise ConfigError(f"cnn_variant must be 'paper' or 'softsign', got {self.cnn_variant!r}")
        if not 0 <= self.frozen_layers <= 3:
            raise ConfigError(f"frozen_layers must be in 0..3 (the output layer always adapts), got {self.frozen_layers}")
        if self.inner_steps < 0 or self.outer_steps < 1 or self.tasks_per_step < 1:
            raise ConfigError("inner_steps must be >= 0, outer_steps and tasks_per_step >= 1")
        if not 0.0 <= self.burn_in < 1.0:
            raise ConfigError(f"burn_in is a fraction in [0, 1), got {self.burn_in}")
        if self.outer_grad_clip < 0:
            raise ConfigError(f"outer_grad_clip must be >= 0 (0 = off), got {self.outer_grad_clip}")
        if not 0.0 <= self.inner_threshold < 1.0:
            raise ConfigError(f"inner_threshold is a fraction in [0, 1), got {self.inner_threshold}")

    @property
    def second_order(self) -> bool:
        return METHODS[self.method][1]

    @property
    def model_name(self) -> str:
        name = METHODS[self.method][0]
        if self.method == "maml_cnn" and self.cnn_variant == "softsign":
            return "sn22_cnn_softsign"
        return name


def build_learner(cfg: SN22Config, frame_shape: tuple[int, int, int], time_bin_ms: float = 1.0) -> nn.Module:
    """The network of ``cfg.method`` for frames ``(2, H, W)`` binned at ``time_bin_ms``."""
    opts: dict[str, Any] = {"channels": tuple(cfg.channels), "pooling": cfg.pooling, "input_pool": cfg.input_pool}
    if cfg.model_name != "sn22_cnn":
        opts["burn_in"] = float(cfg.burn_in)
        opts["dt_ms"] = float(time_bin_ms) if cfg.scale_decays else 1.0
    return build_model(cfg.model_name, frame_shape, cfg.ways, **opts)


def make_inner_loop(
    cfg: SN22Config,
    model: nn.Module,
    *,
    frozen_layers: int | None = None,
    steps: int | None = None,
    transform: UpdateTransform | None = None,
    record_updates: bool = False,
) -> InnerLoop:
    """The inner loop of ``cfg`` (optionally with other frozen layers / steps / an update transform)."""
    frozen = cfg.frozen_layers if frozen_layers is None else frozen_layers
    if transform is None and cfg.inner_threshold > 0:
        transform = threshold_transform(cfg.inner_threshold)
    groups = layer_parameter_groups(model)
    adapt = None if frozen == 0 else tuple(n for g in groups[frozen:] for n in g)
    return InnerLoop(steps=cfg.inner_steps if steps is None else steps, lr=cfg.inner_lr,
                     second_order=cfg.second_order, adapt=adapt, transform=transform,
                     record_updates=record_updates)


def output_layer_names(model: nn.Module) -> list[str]:
    """Parameter names of the output (readout) layer's weight matrix."""
    return [n for n in layer_parameter_groups(model)[-1] if n.endswith("weight")]


def update_magnitudes(delta: torch.Tensor) -> dict[str, float]:
    """sn22 Table 3 statistics of one weight update: mean, sum and max of ``|Δw|``."""
    a = delta.detach().abs()
    return {"avg": float(a.mean()), "sum": float(a.sum()), "max": float(a.max())}


def metatrain(
    cfg: SN22Config,
    dataset: Any,
    seed: int,
    *,
    checkpoint: CheckpointConfig | None = None,
    progress: Callable[[range], Any] | None = None,
    after_step: Callable[[int, Mapping[str, float]], None] | None = None,
    device: torch.device | str = "cpu",
) -> tuple[nn.Module, TrainResult, dict[str, Any]]:
    """Meta-train ``cfg`` on ``dataset``'s train split with episode seed ``seed``.

    Returns ``(model, curve, info)``; ``info`` holds the LSUV statistics. Curve rows: ``loss``,
    ``acc`` (query accuracy after adaptation), ``lr``, ``grad_norm`` and the output layer's outer
    update ``out_update_avg/sum/max`` (sn22 Table 3, "MAML outer").
    """
    from metasnn.data import EpisodeSampler, EpisodeSpec

    torch.manual_seed(seed)
    spec = EpisodeSpec(cfg.ways, cfg.shots, cfg.queries)
    sampler = EpisodeSampler(dataset, "train", spec, seed=seed)
    device = torch.device(device)
    model = build_learner(cfg, tuple(dataset.frame_shape), getattr(dataset, "time_bin_ms", 1.0))
    first = sampler.episode(0)
    stats = initialise(model, cfg.init, first.support_x, generator=torch.Generator().manual_seed(seed),
                       target_mean=0.0 if cfg.model_name == "sn22_cnn" else cfg.lsuv_mean)
    model.to(device)
    params = dict(model.named_parameters())
    loss_fn = functional_loss(model)
    inner = make_inner_loop(cfg, model)
    optimizer = MetaOptimizer(params.values(), cfg.outer_lr, cfg.outer_steps, cfg.final_lr_factor,
                              grad_clip=cfg.outer_grad_clip or None)
    out_name = output_layer_names(model)[0]

    def step_fn(step: int) -> dict[str, float]:
        episodes = [sampler.episode(step * cfg.tasks_per_step + j).to(device) for j in range(cfg.tasks_per_step)]
        lr = optimizer.lr
        loss, acc, _ = meta_loss(params, loss_fn, episodes, inner)
        loss_value = float(loss.detach())
        if not math.isfinite(loss_value) or loss_value > cfg.max_loss:
            return {"loss": loss_value, "acc": acc}  # train_loop raises TrainingDivergedError
        before = params[out_name].detach().clone()
        norm = optimizer.step(loss)
        mags = update_magnitudes(params[out_name].detach() - before)
        return {"loss": loss_value, "acc": acc, "lr": lr, "grad_norm": norm,
                "out_update_avg": mags["avg"], "out_update_sum": mags["sum"], "out_update_max": mags["max"]}

    result = train_loop(
        step_fn, cfg.outer_steps, {"model": model, "optimizer": optimizer},
        checkpoint=checkpoint, max_loss=cfg.max_loss, progress=progress, after_step=after_step,
        divergence_hint="lower --outer-lr / --inner-lr, or use --init lsuv so potentials start at unit variance",
    )
    return model, result, {"lsuv": stats}


#: the function a sn22 learner's model record names to rebuild its few-shot evaluator
LOADER = "metasnn.meta.sn22:build_evaluator"


def model_record(cfg: SN22Config, dataset: Any, seed: int) -> ModelRecord:
    """The record of a learner meta-trained with ``cfg`` on ``dataset`` (a loaded meta-dataset) with ``seed``."""
    return ModelRecord.of(cfg.method, "sn22", LOADER, dataset=dataset, seed=seed, config=cfg)


def model_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The ``state`` of a sn22 learner's model file: its weights (the record rebuilds the network)."""
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


def load_learner(record: ModelRecord, state: Mapping[str, torch.Tensor],
                 device: torch.device | str = "cpu") -> tuple[nn.Module, SN22Config]:
    """The network of a sn22 model file (:func:`metasnn.model_file.read_model`) on ``device``, and its config."""
    cfg = SN22Config.from_dict(record.config)
    model = build_learner(cfg, record.frame_shape, record.time_bin_ms)
    model.load_state_dict(state)
    return model.to(device), cfg


class SN22Evaluator:
    """:class:`~metasnn.meta.methods.EpisodeEvaluator` of a meta-trained sn22 learner: the test-time
    inner loop of its config on the support set (first order, as in evaluation), query accuracy."""

    def __init__(self, model: nn.Module, cfg: SN22Config, frame_shape: tuple[int, int, int], num_steps: int):
        self.model, self.cfg = model.eval(), cfg
        self.frame_shape = tuple(frame_shape)
        self.num_steps = int(num_steps)

    def __call__(self, episode: Any) -> float:
        params = dict(self.model.named_parameters())
        (outcome,) = evaluate_tasks(params, functional_loss(self.model), [episode], make_inner_loop(self.cfg, self.model))
        return outcome.accuracy

    def adapted_params(self, episode: Any, steps: int | None = None) -> dict[str, torch.Tensor]:
        """The fast weights of the test-time inner loop on ``episode``'s support (first order, as
        :func:`~metasnn.evaluation.fewshot.evaluate_tasks` adapts), detached."""
        leaves = {k: v.detach().clone().requires_grad_(True) for k, v in self.model.named_parameters()}
        inner = make_inner_loop(self.cfg, self.model, steps=steps)
        res = adapt(leaves, functional_loss(self.model), episode.support_x, episode.support_y, inner,
                    create_graph=False)
        return {k: v.detach() for k, v in res.params.items()}

    def cost(self, episode: Any, steps: int | None = None):
        """Cost (:func:`metasnn.evaluation.cost.measure_cost`) of the query pass of ``episode`` through the
        model adapted on its support — the network whose accuracy the evaluation scores."""
        fast = self.adapted_params(episode, steps)
        return measure_cost(self.model, episode.query_x,
                            forward=lambda m, x: torch.func.functional_call(m, fast, (x,), strict=False))


def build_evaluator(record: ModelRecord, state: Mapping[str, torch.Tensor]) -> SN22Evaluator:
    """The few-shot evaluator of a sn22 model file (the record's loader): frames and T from the record."""
    model, cfg = load_learner(record, state)
    return SN22Evaluator(model, cfg, record.frame_shape, record.num_steps)
