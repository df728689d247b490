"""HP few-shot learning (wu22): conv features + a plastic output layer with label clamping.

Per episode (wu22 few-shot code, ``hybridNet``):

1. every sample's events are summed over time into a static 2-channel image (``log1p`` of the
   counts) and passed through a small conv stack with ``tanh`` (wu22 uses ``tanh`` convs as its
   feature extractor) → feature vector ``x``;
2. **support presentation**: the support samples are presented one per time step (each from a
   rested neuron; only the trace carries over) to the plastic output layer (:class:`~metasnn.plasticity.hp.HPLinear`, wu22 neuron) while the label is
   clamped onto the output as an extra current ``label_gain · onehot(y)``; the layer's Hebbian
   trace ``P`` (one per episode) stores the class–feature correlations. The post-synaptic term is
   wu22's few-shot one, ``softmax(u − β)`` over the output neurons (``post_form="softmax"``): with
   the non-competitive ``tanh`` every column would learn every support sample;
3. **query**: every query sample is presented once from a rested neuron with the trace left by the
   support (queries do not update ``P``, so they do not influence each other); the output
   membrane divided by θ_th is the logit.

The conv weights and ``W`` (global) and the layer's θ = {α, η_pre, β_post} (meta) are trained
across episodes on the query cross-entropy with one gradient for both (wu22 code's joint update).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from metasnn.model_file import ModelRecord
from metasnn.plasticity.hp import HPConfig, HPLinear, hebbian_update
from metasnn.snn.neuron import DecolleLIFNode

__all__ = ["FEWSHOT_HP_CONFIG", "LOADER", "HPFewShotNet", "HPFewShotEvaluator", "episode_accuracy", "model_record",
           "build_evaluator"]

#: The HP layer constants of few-shot HP: one trace per episode, wu22's competitive few-shot post term. The
#: training stage builds the network with it; the model's record keeps it for :func:`build_evaluator`.
FEWSHOT_HP_CONFIG = HPConfig(reset="episode", post_form="softmax")
#: the loader a trained HP few-shot model's record names (:func:`metasnn.model_file.load_evaluator` calls it)
LOADER = "metasnn.plasticity.fewshot:build_evaluator"


class HPFewShotNet(nn.Module):
    """Conv features + plastic output layer for ``ways``-way episodes on ``[T, B, 2, H, W]`` frames."""

    def __init__(self, frame_hw: Sequence[int], ways: int, channels: Sequence[int] = (16, 32),
                 label_gain: float = 10.0, config: HPConfig | None = None, seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(int(seed))
        self.config = config or FEWSHOT_HP_CONFIG
        self.ways = int(ways)
        self.channels = [int(c) for c in channels]
        self.label_gain = float(label_gain)
        convs = []
        c_in, h, w = 2, int(frame_hw[0]), int(frame_hw[1])
        for c_out in channels:
            conv = nn.Conv2d(c_in, int(c_out), 3, stride=2, padding=1)
            bound = 1.0 / (c_in * 9) ** 0.5
            with torch.no_grad():
                conv.weight.uniform_(-bound, bound, generator=gen)
                conv.bias.uniform_(-bound, bound, generator=gen)
            convs.append(conv)
            c_in, h, w = int(c_out), (h + 1) // 2, (w + 1) // 2
        self.convs = nn.ModuleList(convs)
        self.n_features = c_in * h * w
        self.readout = HPLinear(self.n_features, self.ways, plastic=True, config=self.config, generator=gen)

    def weight_names(self) -> list[str]:
        return [n for n, _ in self.named_parameters() if n.startswith("convs.") or ".synapse." in n]

    def meta_names(self) -> list[str]:
        return [n for n, _ in self.named_parameters() if n.rsplit(".", 1)[-1] in ("alpha", "eta_pre", "beta_post")]

    def features(self, frames: torch.Tensor) -> torch.Tensor:
        x = torch.log1p(frames.sum(0))
        for conv in self.convs:
            x = torch.tanh(conv(x))
        return x.flatten(1)

    def support_trace(self, support_x: torch.Tensor, support_y: torch.Tensor) -> torch.Tensor:
        """Present the support one sample per step with the label clamped; returns the trace ``P``."""
        feats = self.features(support_x)
        layer = self.readout
        trace = feats.new_zeros(layer.n_in, layer.n_out)
        clamp = self.label_gain * F.one_hot(support_y, self.ways).to(feats.dtype)
        for k in range(feats.shape[0]):
            x = feats[k : k + 1]
            drive = layer.synapse(x) + layer.alpha * (x @ trace) + clamp[k : k + 1]
            # each presentation starts from a rested neuron: with the soft reset and gain 10 the clamped
            # membrane would otherwise leak into the next sample's step (wu22's code resets hard on a spike)
            _, state = layer.node.single_step_functional_forward((drive,), DecolleLIFNode.initial_state())
            trace = hebbian_update(trace, x, state[0], layer.eta_pre, layer.beta_post, self.config)
        return trace

    def query_logits(self, query_x: torch.Tensor, trace: torch.Tensor) -> torch.Tensor:
        feats = self.features(query_x)
        layer = self.readout
        drive = layer.synapse(feats) + layer.alpha * (feats @ trace)
        _, state = layer.node.single_step_functional_forward((drive,), DecolleLIFNode.initial_state())
        return state[0] / self.config.threshold

    def forward(self, support_x: torch.Tensor, support_y: torch.Tensor, query_x: torch.Tensor) -> torch.Tensor:
        """Query logits ``[Q, ways]`` after presenting the labelled support."""
        return self.query_logits(query_x, self.support_trace(support_x, support_y))


@torch.no_grad()
def episode_accuracy(net: HPFewShotNet, episode) -> float:
    """The one HP few-shot episode evaluation: query accuracy after presenting the labelled support (fresh trace)."""
    logits = net(episode.support_x, episode.support_y, episode.query_x)
    return float((logits.argmax(1) == episode.query_y).float().mean())


class HPFewShotEvaluator:
    """:class:`~metasnn.meta.methods.EpisodeEvaluator` of a trained :class:`HPFewShotNet` (the training stage scores
    its meta-val / meta-test episodes through it too)."""

    def __init__(self, net: HPFewShotNet, frame_shape: Sequence[int], num_steps: int):
        self.net, self.frame_shape, self.num_steps = net.eval(), tuple(int(v) for v in frame_shape), int(num_steps)

    def __call__(self, episode) -> float:
        return episode_accuracy(self.net, episode)

    @torch.no_grad()
    def cost(self, episode):
        """Cost (:func:`metasnn.evaluation.cost.measure_cost`) of the query pass with the Hebbian trace the
        labelled support left. Counted: the conv features and the readout's ``W·x``; not counted: the
        plastic current ``α·(x@P)`` (a matrix product outside ``nn.Linear``) and the Hebbian update."""
        from metasnn.evaluation.cost import measure_cost

        trace = self.net.support_trace(episode.support_x, episode.support_y)
        cost = measure_cost(self.net, episode.query_x, forward=lambda m, x: m.query_logits(x, trace))
        cost.notes.append(f"not counted: the plastic current α·(x@P) ({trace.numel()} trace entries per episode, "
                          "shared by its queries, not in state_bytes) and the Hebbian update")
        return cost


def model_record(net: HPFewShotNet, dataset: Any, seed: int) -> ModelRecord:
    """The record of ``net`` trained on ``dataset`` (a loaded meta-dataset) with ``seed``: its config is what
    :func:`build_evaluator` rebuilds the same network from (channels, ways, label gain, HP constants); its state
    is ``net.state_dict()``."""
    config = {"channels": list(net.channels), "ways": net.ways, "label_gain": net.label_gain,
              "hp_config": net.config.to_dict()}
    return ModelRecord.of("hp", "wu22", LOADER, dataset=dataset, seed=seed, config=config)


def build_evaluator(record: ModelRecord, state: Mapping[str, Any]) -> HPFewShotEvaluator:
    """The evaluator of the HP few-shot network of ``model.pt`` (:mod:`metasnn.model_file`, written by
    ``pipeline.wu22_fewshot_hp``): the record carries the HP constants, label gain, frame size and T the stage
    trained and evaluated with, so the rebuilt network is the stage's and, on its own meta-dataset, the
    resampling is the identity."""
    cfg = record.config
    net = HPFewShotNet(record.frame_shape[1:], int(cfg["ways"]), cfg["channels"], float(cfg["label_gain"]),
                       HPConfig.from_dict(cfg["hp_config"]))
    net.load_state_dict(state)
    return HPFewShotEvaluator(net, record.frame_shape, record.num_steps)
