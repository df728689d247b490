"""dsp: per-synapse meta-learned plasticity — inner loop ``Δw_ij = η_ij · f(s_i, s_j)``.

Network: the project's sn22 conv SNN (:class:`~metasnn.snn.models.SN22ConvSNN`, DECOLLE LIF
neurons, small channels at default scale). Its output (readout) layer is plastic; every weight
``w_0`` and the per-synapse learning rates ``η_ij`` (one per output-layer synapse, ``[ways, F]``)
are meta-parameters.

**Plasticity rule** (the ``f`` of the paper, stated here). During the support presentation the
label is clamped onto the output layer: the post-synaptic spike train of output neuron ``i`` for
support sample ``b`` is the teacher ``s_i^b(t) = 1[i = y_b]`` at every step. The pre-synaptic
activity of synapse ``j`` is the output layer's own presynaptic membrane trace ``P_j^b(t)``
(:meth:`DecolleLIFNode.filter_traces` of the conv stack's output spikes: the same trace the synapse
multiplies). ``f`` is the label-driven Hebbian (pre-trace × post-spike) product, centred on the
mean teacher rate ``1/ways`` so that a support sample depresses the rows of the other classes::

    f_ij = (1 / (T · shots)) · Σ_b Σ_t (s_i^b(t) − 1/ways) · P_j^b(t)
    w_ij ← w_ij + η_ij · f_ij                      (once per support presentation, ``inner_steps`` times)

The rule runs through :func:`metasnn.meta.maml.adapt` with a custom update rule: the support
"loss" is the Hebbian energy ``E(W) = −Σ_ij W_ij f_ij`` (``∂E/∂W = −f`` because the clamped
post-synaptic side does not depend on ``W``) and the update is ``w − η ⊙ ∂E/∂w``. With
``second_order=True`` the graph of ``f`` is kept, so the query loss differentiates through the
unrolled inner loop into ``η`` and every ``w_0`` (MAML-style). The outer optimiser is Adam with
meta learning rate ``β`` (default 1e-3) on ``{η, w_0}``; the fixed-η ablation keeps
``η_ij = eta_init`` and meta-learns ``w_0`` only.

A trained learner is saved as ``model.pt`` (:mod:`metasnn.model_file`): its record (method ``dsp`` or
``dsp_fixed``, paper ``"dsp"``, loader :func:`build_evaluator`, the :class:`DSPConfig`, frame shape, T and bin
width of the meta-dataset) and its weights (``state_dict``, η included).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from metasnn.config_dict import DictConfig
from metasnn.data.transforms import sum_pool
from metasnn.errors import ConfigError
from metasnn.meta.maml import InnerLoop, Params, accuracy, adapt
from metasnn.meta.outer import MetaOptimizer
from metasnn.meta.training import CheckpointConfig, TrainResult, train_loop
from metasnn.model_file import ModelRecord
from metasnn.snn import SN22ConvSNN, build_model, initialise

__all__ = [
    "DSPConfig",
    "DSPLearner",
    "hebbian_term",
    "dsp_update_rule",
    "inner_loop",
    "task_loss",
    "metatrain",
    "evaluate",
    "adapted_weights",
    "eta_statistics",
    "convergence_step",
    "LOADER",
    "DSPEvaluator",
    "build_evaluator",
    "OUTPUT_WEIGHT",
    "build_backbone",
    "backbone_config",
    "MethodRun",
    "train_and_evaluate",
]

OUTPUT_WEIGHT = "snn.layers.{last}.synapse.weight"
#: the function a dsp (or fixed-η dsp) learner's model record names to rebuild its few-shot evaluator
LOADER = "metasnn.plasticity.dsp:build_evaluator"


def build_backbone(frame_shape: Sequence[int], ways: int, *, channels: Sequence[int], input_pool: int,
                   pooling: str = "avg", burn_in: float = 0.5, time_bin_ms: float = 1.0,
                   scale_decays: bool = True) -> SN22ConvSNN:
    """The backbone SNN of the dsp experiments, shared by dsp and its STDP / STBP / EIHL baselines so their
    accuracies and costs are comparable: the sn22 conv SNN (built by name) with its input sum-pool front end."""
    return build_model("sn22_snn", tuple(frame_shape), ways, input_pool=int(input_pool), channels=tuple(channels),
                       pooling=pooling, burn_in=float(burn_in), dt_ms=float(time_bin_ms) if scale_decays else 1.0)


def backbone_config(dataset: Any, ways: int, *, channels: Sequence[int], input_pool: int,
                    burn_in: float) -> dict[str, Any]:
    """:func:`build_backbone` keyword arguments for ``dataset`` (frames, time bins) and ``ways`` outputs, as the
    baselines' ``model.pt`` records (:mod:`metasnn.model_file`) carry them in their config."""
    return {"frame_shape": list(dataset.frame_shape), "ways": int(ways), "channels": list(channels),
            "input_pool": input_pool, "pooling": "avg", "burn_in": burn_in,
            "time_bin_ms": float(dataset.time_bin_ms), "scale_decays": True}


@dataclass
class MethodRun:
    """One method of the dsp experiments (dsp, fixed-η dsp or a baseline) trained and scored on the meta-test
    tasks: what ``pipeline.dsp_train`` writes (``model.pt``, :mod:`metasnn.model_file`: :meth:`model_record`
    and ``state``)."""

    task_acc: list[float]  # query accuracy per meta-test task
    state: dict[str, Any]  # model.pt's state: the weights the method's ``loader`` rebuilds its learner from
    cost: Any  # metasnn.evaluation.cost.ModelCost of meta-test task 0 through the method's evaluator
    rows: list[dict[str, float]] = field(default_factory=list)  # training curve, one row per step
    metrics: dict[str, Any] = field(default_factory=dict)  # the method's own metrics (η statistics, ...)
    provenance: dict[str, Any] = field(default_factory=dict)  # the method's configuration, for provenance.json
    config: dict[str, Any] = field(default_factory=dict)  # model.pt's record config: what rebuilds the learner
    loader: str = ""  # model.pt's record loader: the function that rebuilds the few-shot evaluator

    def model_record(self, method: str, dataset: Any, seed: int) -> ModelRecord:
        """The record of this run's model, trained as ``method`` on ``dataset`` (a loaded meta-dataset)."""
        return ModelRecord.of(method, "dsp", self.loader, dataset=dataset, seed=seed, config=self.config)

    def flat_metrics(self) -> dict[str, Any]:
        """The method's metrics, mean meta-test accuracy, final training loss and accuracy (mean over the last
        tenth of the curve) and the cost columns of meta-test task 0."""
        out = dict(self.metrics)
        out["test_acc"] = float(np.mean(self.task_acc))
        if self.rows:
            tail = self.rows[-max(1, len(self.rows) // 10):]
            out["final_train_loss"] = float(np.mean([r["loss"] for r in tail]))
            out["final_train_acc"] = float(np.mean([r["acc"] for r in tail]))
        out.update(self.cost.columns())
        return out


@dataclass(frozen=True)
class DSPConfig(DictConfig):
    """Everything that defines one dsp meta-training run."""

    ways: int = 5
    shots: int = 1
    queries: int = 10
    channels: tuple[int, ...] = (8, 16)
    input_pool: int = 2  # sum-pool input frames by this factor (1: sn22 resolution)
    pooling: str = "avg"
    burn_in: float = 0.5  # fraction of T run without gradients in the query pass
    init: str = "lsuv"
    eta_init: float = 2.0  # η_ij at initialisation (and the fixed-η value)
    learn_eta: bool = True  # False: fixed-η ablation (η not meta-learned)
    inner_steps: int = 1  # support presentations (plasticity updates) per task
    beta: float = 1.0e-3  # meta learning rate (Adam) on η and w_0
    final_lr_factor: float = 1.0  # cosine schedule to beta × this (1.0: constant β)
    outer_steps: int = 100
    tasks_per_step: int = 1
    second_order: bool = True
    scale_decays: bool = True
    max_loss: float = 1.0e4

    def __post_init__(self) -> None:
        if self.ways < 2 or self.shots < 1 or self.queries < 1:
            raise ConfigError("dsp: ways >= 2, shots >= 1 and queries >= 1 are required")
        if self.inner_steps < 0 or self.outer_steps < 1 or self.tasks_per_step < 1:
            raise ConfigError("dsp: inner_steps must be >= 0, outer_steps and tasks_per_step >= 1")
        if not self.beta > 0:
            raise ConfigError(f"dsp: the meta learning rate beta must be > 0, got {self.beta}")
        if not 0.0 <= self.burn_in < 1.0:
            raise ConfigError(f"dsp: burn_in is a fraction in [0, 1), got {self.burn_in}")


# --------------------------------------------------------------------------- the rule
def hebbian_term(pre_trace: torch.Tensor, post: torch.Tensor, shots: int) -> torch.Tensor:
    """``f_ij = Σ_b Σ_t post_bi(t) · pre_bj(t) / (T · shots)`` for ``pre [T, B, F]``, ``post [T, B, N]``.

    Returns ``[N, F]`` (the output layer's weight shape).
    """
    steps = pre_trace.shape[0]
    return torch.einsum("tbi,tbj->ij", post, pre_trace) / (steps * shots)


def teacher_post(y: torch.Tensor, ways: int, steps: int, dtype: torch.dtype) -> torch.Tensor:
    """Label-clamped post-synaptic spikes centred on the mean rate: ``1[i = y_b] − 1/ways``, ``[T, B, N]``."""
    centred = F.one_hot(y, ways).to(dtype) - 1.0 / ways
    return centred.unsqueeze(0).expand(steps, -1, -1)


def dsp_update_rule(eta: torch.Tensor, weight_name: str) -> Callable[[str, torch.Tensor, torch.Tensor, float], torch.Tensor]:
    """``InnerLoop.update``: ``w ← w − lr · η ⊙ ∂E/∂w`` on ``weight_name`` (``∂E/∂w = −f``: ``w + lr·η⊙f``)."""

    def update(name: str, param: torch.Tensor, grad: torch.Tensor, lr: float) -> torch.Tensor:
        if name != weight_name:
            return param - lr * grad
        return param - lr * eta * grad

    return update


class DSPLearner(nn.Module):
    """sn22 conv SNN + per-synapse learning rates ``eta`` of its output layer.

    ``forward(x)`` gives the query logits; ``forward(x, pre_trace=True)`` gives the output layer's
    presynaptic trace ``P`` over all ``T`` steps ``[T, B, F]`` (with autograd, for the rule).
    """

    def __init__(self, frame_shape: Sequence[int], cfg: DSPConfig, time_bin_ms: float = 1.0):
        super().__init__()
        self.cfg = cfg
        self.frame_shape = tuple(int(v) for v in frame_shape)
        self.time_bin_ms = float(time_bin_ms)
        self.snn = build_backbone(self.frame_shape, cfg.ways, channels=cfg.channels, input_pool=cfg.input_pool,
                                  pooling=cfg.pooling, burn_in=cfg.burn_in, time_bin_ms=time_bin_ms,
                                  scale_decays=cfg.scale_decays)
        out = self.snn.layers[-1].synapse
        self.eta = nn.Parameter(torch.full((out.out_features, out.in_features), float(cfg.eta_init)),
                                requires_grad=cfg.learn_eta)
        self.weight_name = OUTPUT_WEIGHT.format(last=len(self.snn.layers) - 1)

    def pre_trace(self, x: torch.Tensor) -> torch.Tensor:
        snn = self.snn
        steps, batch = x.shape[0], x.shape[1]
        if snn.num_conv == 0:
            h = sum_pool(x, snn.input_pool).flatten(2)
        else:
            _, potentials = snn.run(x, burn_in=0, record=True)
            u = potentials[snn.num_conv - 1]
            h = snn.surrogate(snn.pool(u.flatten(0, 1))).unflatten(0, (steps, batch)).flatten(2)
        p_seq, _, _ = snn.layers[-1].filter_traces(h.contiguous(), 0.0, 0.0)
        return p_seq

    def forward(self, x: torch.Tensor, pre_trace: bool = False) -> torch.Tensor:
        return self.pre_trace(x) if pre_trace else self.snn(x)

    def meta_parameters(self) -> list[torch.Tensor]:
        return [p for p in self.parameters() if p.requires_grad]


def _call(learner: DSPLearner, params: Mapping[str, torch.Tensor], x: torch.Tensor, **kw: Any) -> torch.Tensor:
    return torch.func.functional_call(learner, dict(params), (x,), kw, strict=False)


def hebbian_energy(learner: DSPLearner) -> Callable[[Mapping[str, torch.Tensor], torch.Tensor, torch.Tensor],
                                                     tuple[torch.Tensor, torch.Tensor]]:
    """Support "loss" ``E(W) = −Σ W ⊙ f`` whose gradient is the negated Hebbian term (see module doc)."""
    cfg = learner.cfg

    def energy(params: Mapping[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor):
        pre = _call(learner, params, x, pre_trace=True)
        f = hebbian_term(pre, teacher_post(y, cfg.ways, pre.shape[0], pre.dtype), cfg.shots)
        return -(params[learner.weight_name] * f).sum(), f

    return energy


def inner_loop(learner: DSPLearner, params: Mapping[str, torch.Tensor], *, second_order: bool | None = None,
               steps: int | None = None) -> InnerLoop:
    """The dsp inner loop: only the output weight adapts, by the plasticity rule with ``params['eta']``."""
    cfg = learner.cfg
    return InnerLoop(steps=cfg.inner_steps if steps is None else steps, lr=1.0,
                     second_order=cfg.second_order if second_order is None else second_order,
                     adapt=(learner.weight_name,), update=dsp_update_rule(params["eta"], learner.weight_name))


def adapt_to_support(learner: DSPLearner, params: Mapping[str, torch.Tensor], support_x: torch.Tensor,
                     support_y: torch.Tensor, inner: InnerLoop) -> Params:
    """Fast weights after the plastic support presentation(s)."""
    if inner.steps == 0:
        return dict(params)
    return adapt(params, hebbian_energy(learner), support_x, support_y, inner).params


def task_loss(learner: DSPLearner, params: Mapping[str, torch.Tensor], episode: Any,
              inner: InnerLoop) -> tuple[torch.Tensor, torch.Tensor]:
    """Plastic adaptation on the support, cross-entropy on the query; ``(loss, logits)``."""
    fast = adapt_to_support(learner, params, episode.support_x, episode.support_y, inner)
    logits = _call(learner, fast, episode.query_x)
    return F.cross_entropy(logits, episode.query_y), logits


# --------------------------------------------------------------------------- training
def build_learner(cfg: DSPConfig, dataset: Any, seed: int) -> DSPLearner:
    """A freshly initialised learner (LSUV on a meta-train support batch, as sn22)."""
    from metasnn.data import EpisodeSampler, EpisodeSpec

    torch.manual_seed(seed)
    learner = DSPLearner(tuple(dataset.frame_shape), cfg, getattr(dataset, "time_bin_ms", 1.0))
    first = EpisodeSampler(dataset, "train", EpisodeSpec(cfg.ways, cfg.shots, cfg.queries), seed=seed).episode(0)
    initialise(learner.snn, cfg.init, first.support_x, generator=torch.Generator().manual_seed(seed))
    return learner


def eta_statistics(eta: torch.Tensor) -> dict[str, float]:
    """Summary of the learned ``η_ij``: mean, std, CV (= std/|mean|), min/max and quantiles."""
    v = eta.detach().double().flatten()
    mean, std = float(v.mean()), float(v.std(unbiased=True)) if v.numel() > 1 else 0.0
    qs = torch.quantile(v, torch.tensor([0.05, 0.25, 0.5, 0.75, 0.95], dtype=torch.float64)).tolist()
    return {"eta_mean": mean, "eta_std": std, "eta_cv": std / abs(mean) if mean != 0 else math.inf,
            "eta_min": float(v.min()), "eta_q05": qs[0], "eta_q25": qs[1], "eta_median": qs[2], "eta_q75": qs[3],
            "eta_q95": qs[4], "eta_max": float(v.max()), "eta_negative_fraction": float((v < 0).double().mean())}


def metatrain(cfg: DSPConfig, dataset: Any, seed: int, *, checkpoint: CheckpointConfig | None = None,
              progress: Callable[[range], Any] | None = None) -> tuple[DSPLearner, TrainResult]:
    """Meta-train ``η`` (unless fixed) and ``w_0`` on ``dataset``'s train split; curve rows per outer step."""
    from metasnn.data import EpisodeSampler, EpisodeSpec

    learner = build_learner(cfg, dataset, seed)
    sampler = EpisodeSampler(dataset, "train", EpisodeSpec(cfg.ways, cfg.shots, cfg.queries), seed=seed)
    params = dict(learner.named_parameters())
    optimizer = MetaOptimizer(learner.meta_parameters(), cfg.beta, cfg.outer_steps, cfg.final_lr_factor)
    inner = inner_loop(learner, params)

    def step_fn(step: int) -> dict[str, float]:
        losses, accs = [], []
        for j in range(cfg.tasks_per_step):
            ep = sampler.episode(1 + step * cfg.tasks_per_step + j)  # episode 0 initialised the network
            loss, logits = task_loss(learner, params, ep, inner)
            losses.append(loss)
            accs.append(accuracy(logits.detach(), ep.query_y))
        loss = torch.stack(losses).mean()
        value = float(loss.detach())
        if not math.isfinite(value) or value > cfg.max_loss:
            return {"loss": value, "acc": float(np.mean(accs))}
        lr = optimizer.lr
        norm = optimizer.step(loss)
        eta = params["eta"].detach()
        return {"loss": value, "acc": float(np.mean(accs)), "lr": lr, "grad_norm": norm,
                "eta_mean": float(eta.mean()), "eta_std": float(eta.std())}

    result = train_loop(step_fn, cfg.outer_steps, {"model": learner, "optimizer": optimizer}, checkpoint=checkpoint,
                        max_loss=cfg.max_loss, progress=progress,
                        divergence_hint="lower --beta or --eta-init")
    return learner, result


def train_and_evaluate(cfg: DSPConfig, dataset: Any, seed: int, test: Sequence[Any], *,
                       checkpoint: CheckpointConfig | None = None, progress: Callable[[range], Any] | None = None,
                       convergence_window: int = 10, convergence_fraction: float = 0.95) -> MethodRun:
    """:func:`metatrain`, then score the meta-test ``test`` episodes; metrics: outer steps, β, the
    :func:`convergence_step` of the training accuracy and the :func:`eta_statistics`."""
    learner, result = metatrain(cfg, dataset, seed, checkpoint=checkpoint, progress=progress)
    rows = result.rows
    task_acc = evaluate(learner, test)
    metrics = {"outer_steps": cfg.outer_steps, "beta": cfg.beta,
               "convergence_step": convergence_step([r["acc"] for r in rows], convergence_window, convergence_fraction),
               **eta_statistics(learner.eta)}
    cost = DSPEvaluator(learner, dataset.num_steps).cost(test[0])
    return MethodRun(task_acc, learner.state_dict(), cost, rows, metrics, {"dsp_config": cfg.to_dict()},
                     config=cfg.to_dict(), loader=LOADER)


def evaluate(learner: DSPLearner, episodes: Sequence[Any] | Any, steps: int | None = None) -> list[float]:
    """Query accuracy per episode after the plastic support presentation (no meta-gradient)."""
    out = []
    for ep in episodes:
        fast = adapted_weights(learner, ep, steps)
        with torch.no_grad():
            logits = _call(learner, fast, ep.query_x)
        out.append(accuracy(logits, ep.query_y))
    return out


def adapted_weights(learner: DSPLearner, episode: Any, steps: int | None = None) -> Params:
    """The learner's weights after the plastic presentation of ``episode``'s support (detached)."""
    params = {k: v.detach() for k, v in learner.named_parameters()}
    params[learner.weight_name] = params[learner.weight_name].clone().requires_grad_(True)
    inner = inner_loop(learner, params, second_order=False, steps=steps)
    fast = adapt_to_support(learner, params, episode.support_x, episode.support_y, inner)
    return {k: v.detach() for k, v in fast.items()}


def convergence_step(acc: Sequence[float], window: int = 10, fraction: float = 0.95) -> int:
    """First outer step at which the moving average (``window``) of the meta-training query accuracy
    reaches ``fraction`` of its maximum (the step index is the window's last step)."""
    a = np.asarray(list(acc), dtype=np.float64)
    if a.size == 0:
        return 0
    w = max(1, min(int(window), a.size))
    smooth = np.convolve(a, np.ones(w) / w, mode="valid")
    target = fraction * float(smooth.max())
    return int(np.argmax(smooth >= target - 1e-12)) + w - 1


# --------------------------------------------------------------------------- evaluator
class DSPEvaluator:
    """:class:`~metasnn.meta.methods.EpisodeEvaluator` of a trained dsp learner."""

    def __init__(self, learner: DSPLearner, num_steps: int):
        self.learner = learner
        self.frame_shape = learner.frame_shape
        self.num_steps = int(num_steps)

    def __call__(self, episode: Any) -> float:
        return evaluate(self.learner, [episode])[0]

    def cost(self, episode: Any):
        """Cost (:func:`metasnn.evaluation.cost.measure_cost`) of the query pass through the task-time network:
        the conv SNN with the output weights the plastic support presentation left (the learning rates η act
        only while adapting and are not counted in ``param_bytes``)."""
        from metasnn.evaluation.cost import measure_cost

        snn = {k.removeprefix("snn."): v for k, v in adapted_weights(self.learner, episode).items() if k.startswith("snn.")}
        return measure_cost(self.learner.snn, episode.query_x,
                            forward=lambda m, x: torch.func.functional_call(m, snn, (x,), strict=False))


def build_evaluator(record: ModelRecord, state: Mapping[str, torch.Tensor]) -> DSPEvaluator:
    """The few-shot evaluator of a dsp (or fixed-η dsp) ``model.pt`` (:mod:`metasnn.model_file`; the loader its
    record names): the learner of the record's config, frames and bin width with the saved weights, T from
    the record."""
    learner = DSPLearner(record.frame_shape, DSPConfig.from_dict(record.config), record.time_bin_ms)
    learner.load_state_dict(state)
    return DSPEvaluator(learner, record.num_steps)
