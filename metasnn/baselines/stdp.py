"""STDP baseline (dsp paper): pair-based spike-timing-dependent plasticity with traces, no meta-learning.

Rule (all-to-all pair-based STDP, online with exponential traces; per synapse ``j → i``)::

    x_j(t) = e^{−Δt/τ+} · x_j(t−1) + s_j(t)          presynaptic trace
    y_i(t) = e^{−Δt/τ−} · y_i(t−1) + s_i(t)          postsynaptic trace
    Δw_ij = Σ_t [ A+ · x_j(t) · s_i(t)  −  A− · y_i(t) · s_j(t) ]

so a presynaptic spike ``d`` steps *before* a postsynaptic one potentiates by ``A+·e^{−d·Δt/τ+}``
and one ``d`` steps *after* it depresses by ``A−·e^{−d·Δt/τ−}`` (coincident spikes: ``A+ − A−``).
``Δt`` is the time-bin width in ms.

Few-shot learner: the dsp experiments' backbone (:func:`metasnn.plasticity.dsp.build_backbone`,
LSUV-initialised on meta-train data, never trained) provides binary feature spikes; a fresh,
zero-initialised output layer learns by STDP during the support presentation with the label
clamped as the teacher (the label's output neuron spikes at every step, the others are silent).
Queries are read out from that layer's membrane at the last step, as every sn22-style network.

The backbone is saved as ``model.pt`` (:mod:`metasnn.model_file`): its record (method ``stdp``, paper
``"dsp"``, loader :func:`build_evaluator`; config: the STDP constants, the backbone's
:func:`build_backbone <metasnn.plasticity.dsp.build_backbone>` arguments and its initialisation) and the
backbone's ``state_dict``; the STDP time step ``Δt`` is the record's bin width.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from metasnn.config_dict import DictConfig
from metasnn.errors import ConfigError
from metasnn.meta.maml import accuracy
from metasnn.snn.traces import exponential_trace

if TYPE_CHECKING:
    from metasnn.model_file import ModelRecord
    from metasnn.plasticity.dsp import MethodRun

__all__ = ["LOADER", "STDPConfig", "stdp_traces", "stdp_update", "STDPFewShot", "train_and_evaluate", "build_evaluator"]

#: the function an STDP model record names to rebuild its few-shot evaluator
LOADER = "metasnn.baselines.stdp:build_evaluator"


@dataclass(frozen=True)
class STDPConfig(DictConfig):
    """Pair-based STDP constants (time constants in ms) and the number of support presentations."""

    a_plus: float = 0.01
    a_minus: float = 0.001
    tau_plus_ms: float = 20.0
    tau_minus_ms: float = 20.0
    presentations: int = 1

    def __post_init__(self) -> None:
        if self.tau_plus_ms <= 0 or self.tau_minus_ms <= 0:
            raise ConfigError("STDP time constants tau_plus_ms and tau_minus_ms must be > 0")
        if self.a_plus < 0 or self.a_minus < 0 or self.presentations < 1:
            raise ConfigError("STDP amplitudes must be >= 0 and presentations >= 1")


def stdp_traces(spikes: torch.Tensor, decay: float) -> torch.Tensor:
    """``x(t) = decay · x(t−1) + s(t)`` over the leading time axis of ``spikes`` ``[T, ...]``
    (:func:`~metasnn.snn.traces.exponential_trace`)."""
    return exponential_trace(spikes, decay)


def stdp_update(pre: torch.Tensor, post: torch.Tensor, cfg: STDPConfig, dt_ms: float = 1.0) -> torch.Tensor:
    """Weight change ``[I, J]`` from presynaptic spikes ``pre [T, B, J]`` and postsynaptic ``post [T, B, I]``
    (summed over the batch and time)."""
    x_pre = stdp_traces(pre, math.exp(-dt_ms / cfg.tau_plus_ms))
    y_post = stdp_traces(post, math.exp(-dt_ms / cfg.tau_minus_ms))
    potentiation = torch.einsum("tbi,tbj->ij", post, x_pre)
    depression = torch.einsum("tbi,tbj->ij", y_post, pre)
    return cfg.a_plus * potentiation - cfg.a_minus * depression


class STDPFewShot:
    """Frozen backbone + STDP-trained output layer; an :class:`~metasnn.meta.methods.EpisodeEvaluator`."""

    def __init__(self, backbone: torch.nn.Module, cfg: STDPConfig, ways: int, num_steps: int, dt_ms: float):
        self.backbone = backbone.eval()
        self.cfg = cfg
        self.ways = int(ways)
        self.num_steps = int(num_steps)
        self.dt_ms = float(dt_ms)
        self.frame_shape = tuple(backbone.input_shape)

    @torch.no_grad()
    def head_weights(self, support_x: torch.Tensor, support_y: torch.Tensor) -> torch.Tensor:
        """The output layer's weights after ``presentations`` STDP passes over the labelled support."""
        pre = self.backbone.head_inputs(support_x)  # binary feature spikes [T, B, F]
        teacher = F.one_hot(support_y, self.ways).to(pre.dtype).unsqueeze(0).expand(pre.shape[0], -1, -1)
        w = pre.new_zeros(self.ways, pre.shape[-1])
        for _ in range(self.cfg.presentations):
            w = w + stdp_update(pre, teacher, self.cfg, self.dt_ms)
        return w

    @torch.no_grad()
    def head(self, support_x: torch.Tensor, support_y: torch.Tensor) -> torch.nn.Module:
        """The output layer one task uses: zero bias, the STDP weights of its labelled support."""
        head = self.backbone.new_head(self.ways)
        head.synapse.weight.copy_(self.head_weights(support_x, support_y))
        return head

    @torch.no_grad()
    def logits(self, support_x: torch.Tensor, support_y: torch.Tensor, query_x: torch.Tensor) -> torch.Tensor:
        return self.backbone.head_forward(self.backbone.head_inputs(query_x), self.head(support_x, support_y))

    def __call__(self, episode: Any) -> float:
        return accuracy(self.logits(episode.support_x, episode.support_y, episode.query_x), episode.query_y)

    def cost(self, episode: Any):
        """Cost (:func:`metasnn.evaluation.cost.measure_cost`) of the query pass through the backbone with the
        STDP output layer of ``episode``'s support."""
        from metasnn.baselines.transfer import with_head
        from metasnn.evaluation.cost import measure_cost

        return measure_cost(with_head(self.backbone, self.head(episode.support_x, episode.support_y)), episode.query_x)


def train_and_evaluate(cfg: STDPConfig, dataset: Any, seed: int, test: Sequence[Any], *,
                       backbone_config: Mapping[str, Any], shots: int, train_queries: int, init: str,
                       task_progress: Callable[[Sequence[Any]], Iterable[Any]] | None = None) -> MethodRun:
    """The STDP baseline of the dsp experiments: the backbone (:func:`metasnn.plasticity.dsp.build_backbone` of
    ``backbone_config``) initialised on meta-train episode 0 (``init``), never trained, scored on the meta-test
    ``test`` episodes; metric: the mean ``|Δw|`` STDP gives the output layer on the support of task 0."""
    from metasnn.data import EpisodeSampler, EpisodeSpec
    from metasnn.plasticity.dsp import MethodRun, build_backbone
    from metasnn.snn import initialise

    ways = int(backbone_config["ways"])
    torch.manual_seed(seed)
    backbone = build_backbone(**backbone_config)
    first = EpisodeSampler(dataset, "train", EpisodeSpec(ways, shots, train_queries), seed=seed).episode(0)
    initialise(backbone, init, first.support_x, generator=torch.Generator().manual_seed(seed))
    learner = STDPFewShot(backbone, cfg, ways, dataset.num_steps, dataset.time_bin_ms)
    task_acc = [learner(ep) for ep in (test if task_progress is None else task_progress(test))]
    w = learner.head_weights(test[0].support_x, test[0].support_y)
    metrics = {"stdp_weight_change_abs_mean": float(w.abs().mean())}
    config = {"stdp": cfg.to_dict(), "backbone": dict(backbone_config), "init": init}
    return MethodRun(task_acc, backbone.state_dict(), learner.cost(test[0]), metrics=metrics,
                     provenance={"stdp_config": cfg.to_dict()}, config=config, loader=LOADER)


def build_evaluator(record: ModelRecord, state: Mapping[str, torch.Tensor]) -> STDPFewShot:
    """The few-shot evaluator of an STDP ``model.pt`` (:mod:`metasnn.model_file`; the loader its record names):
    the backbone of the record's config with the saved weights, T and the STDP time step from the record."""
    from metasnn.plasticity.dsp import build_backbone

    bb = record.config["backbone"]
    backbone = build_backbone(**bb)
    backbone.load_state_dict(state)
    return STDPFewShot(backbone, STDPConfig.from_dict(record.config["stdp"]), bb["ways"], record.num_steps,
                       record.time_bin_ms)
