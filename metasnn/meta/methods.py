"""Few-shot methods by name: one interface through which every meta-learning method is evaluated.

Each method lives in its own module and exposes a loader ``load_evaluator(model_dir) ->
EpisodeEvaluator`` that rebuilds its trained model from the directory its training stage wrote.
The evaluator adapts on an episode's support set the way the method does (MAML inner steps,
Hebbian trace, learned per-synapse plasticity, intrinsic plasticity, ...) and returns the query
accuracy; its optional ``cost(episode)`` measures the cost columns of that query pass
(:mod:`metasnn.evaluation.cost`). Cross-dataset tests and any other method-agnostic evaluation go
through this registry.

Adding a method = its own module + one entry in :data:`METHODS` (paper, loader, training stage,
``name=description``); the pipeline finds its trained models from the training stage's declared outputs::

    **_entries("dsp", "metasnn.plasticity.dsp:load_evaluator", "dsp_train",
               dsp="per-synapse meta-learned plasticity"),
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from metasnn.errors import ConfigError

__all__ = ["EpisodeEvaluator", "MethodEntry", "METHODS", "get_method", "load_evaluator"]


class EpisodeEvaluator(Protocol):
    """A trained few-shot learner, ready to adapt on a support set and score the query set."""

    #: ``(2, H, W)`` frames and ``T`` time steps the model was trained on (episodes of another
    #: dataset are resampled to this before evaluation).
    frame_shape: tuple[int, int, int]
    num_steps: int

    def __call__(self, episode: object) -> float:
        """Adapt on ``episode.support_x/support_y``; return accuracy on ``query_x/query_y`` in [0, 1]."""
        ...

    # Optional: ``cost(episode) -> metasnn.evaluation.cost.ModelCost`` — the NeuroBench-style cost of the
    # query pass through the model adapted on the support, measured by ``measure_cost`` (every evaluator of
    # this benchmark has one; :func:`metasnn.evaluation.cross_dataset.episode_cost` calls it when present).


@dataclass(frozen=True)
class MethodEntry:
    paper: str
    loader: str  # "package.module:function" returning an EpisodeEvaluator for a model directory
    #: the pipeline stage that trains the method; the directory its loader reads is that stage's declared
    #: output (its model.pt's folder, or its directory output), so the pipeline knows where every model is
    trained_by: str
    description: str = ""


def _entries(paper: str, loader: str, trained_by: str, **descriptions: str) -> dict[str, MethodEntry]:
    """The entries of the methods one loader rebuilds from one training stage's outputs, by name."""
    return {name: MethodEntry(paper, loader, trained_by, text) for name, text in descriptions.items()}


#: Every meta-learning method of the benchmark. Keep alphabetical within a paper.
METHODS: dict[str, MethodEntry] = {
    **_entries("sn22", "metasnn.meta.sn22:load_evaluator", "sn22_metatrain",
               fomaml_snn="first-order MAML, DECOLLE conv SNN",
               maml_cnn="second-order MAML, non-spiking CNN on time-summed frames",
               maml_snn="second-order MAML, DECOLLE conv SNN (sn22)"),
    **_entries("dsp", "metasnn.plasticity.dsp:load_evaluator", "dsp_train",
               dsp="per-synapse meta-learned plasticity eta_ij (label-driven Hebbian output layer)"),
    **_entries("dsp", "metasnn.baselines.stbp:load_evaluator", "dsp_train",
               eihl="EIHL (approximate) pretraining + new output layer trained on the support",
               stbp="STBP (surrogate BPTT) pretraining + new output layer trained on the support"),
    **_entries("dsp", "metasnn.baselines.stdp:load_evaluator", "dsp_train",
               stdp="pair-based STDP output layer (label teacher) on a frozen backbone"),
    **_entries("wu22", "metasnn.plasticity.fewshot:load_evaluator", "wu22_fewshot_hp",
               hp="hybrid plasticity: conv features + plastic readout storing the labelled support"),
    **_entries("mp23", "metasnn.plasticity.metaplasticity:load_evaluator", "mp23_train",
               mp23="meta-learned ABCD plasticity rule, weights built from zero per episode"),
    **_entries("ip2", "metasnn.plasticity.intrinsic:load_evaluator", "ip2_train",
               ip2="bi-level intrinsic plasticity RSNN (masked intrinsic parameters adapt per task)"),
}


def get_method(name: str) -> MethodEntry:
    if name not in METHODS:
        raise ConfigError(f"unknown few-shot method {name!r}; registered: {', '.join(sorted(METHODS)) or 'none'}")
    return METHODS[name]


def load_evaluator(name: str, model_dir: str | Path) -> EpisodeEvaluator:
    """Import the method's loader lazily and build its evaluator from ``model_dir``."""
    entry = get_method(name)
    module_name, _, func_name = entry.loader.partition(":")
    loader: Callable[[Path], EpisodeEvaluator] = getattr(importlib.import_module(module_name), func_name)
    return loader(Path(model_dir))
