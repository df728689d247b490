"""Few-shot methods by name: one interface through which every meta-learning method is evaluated.

Each method lives in its own module and exposes a loader ``load_evaluator(model_dir) ->
EpisodeEvaluator`` that rebuilds its trained model from the directory its training stage wrote.
The evaluator adapts on an episode's support set the way the method does (MAML inner steps,
Hebbian trace, learned per-synapse plasticity, intrinsic plasticity, ...) and returns the query
accuracy; its optional ``cost(episode)`` measures the cost columns of that query pass
(:mod:`metasnn.evaluation.cost`). Cross-dataset tests and any other method-agnostic evaluation go
through this registry.

Adding a method = its own module + one entry in :data:`METHODS`::

    "dsp": MethodEntry(paper="dsp", loader="metasnn.plasticity.dsp:load_evaluator",
                       trained_by="dsp_train", description="per-synapse meta-learned plasticity"),
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
    trained_by: str  # the registry stage whose output directory the loader reads
    description: str = ""
    #: where ``trained_by`` writes one trained model, with ``{dataset}`` and ``{seed}`` placeholders (the
    #: directory the loader reads); the cross-dataset stage matches the training stage's outputs against it.
    model_dir: str = ""


#: Every meta-learning method of the benchmark. Keep alphabetical within a paper.
METHODS: dict[str, MethodEntry] = {
    "fomaml_snn": MethodEntry(paper="sn22", loader="metasnn.meta.sn22:load_evaluator", trained_by="sn22_metatrain",
                              description="first-order MAML, DECOLLE conv SNN",
                              model_dir="results/runs/sn22_metatrain/fomaml_snn/{dataset}/seed{seed}"),
    "maml_cnn": MethodEntry(paper="sn22", loader="metasnn.meta.sn22:load_evaluator", trained_by="sn22_metatrain",
                            description="second-order MAML, non-spiking CNN on time-summed frames",
                            model_dir="results/runs/sn22_metatrain/maml_cnn/{dataset}/seed{seed}"),
    "maml_snn": MethodEntry(paper="sn22", loader="metasnn.meta.sn22:load_evaluator", trained_by="sn22_metatrain",
                            description="second-order MAML, DECOLLE conv SNN (sn22)",
                            model_dir="results/runs/sn22_metatrain/maml_snn/{dataset}/seed{seed}"),
    "dsp": MethodEntry(paper="dsp", loader="metasnn.plasticity.dsp:load_evaluator", trained_by="dsp_train",
                       description="per-synapse meta-learned plasticity eta_ij (label-driven Hebbian output layer)",
                       model_dir="results/runs/dsp_train/dsp/{dataset}/seed{seed}"),
    "eihl": MethodEntry(paper="dsp", loader="metasnn.baselines.stbp:load_evaluator", trained_by="dsp_train",
                        description="EIHL (approximate) pretraining + new output layer trained on the support",
                        model_dir="results/runs/dsp_train/eihl/{dataset}/seed{seed}"),
    "stbp": MethodEntry(paper="dsp", loader="metasnn.baselines.stbp:load_evaluator", trained_by="dsp_train",
                        description="STBP (surrogate BPTT) pretraining + new output layer trained on the support",
                        model_dir="results/runs/dsp_train/stbp/{dataset}/seed{seed}"),
    "stdp": MethodEntry(paper="dsp", loader="metasnn.baselines.stdp:load_evaluator", trained_by="dsp_train",
                        description="pair-based STDP output layer (label teacher) on a frozen backbone",
                        model_dir="results/runs/dsp_train/stdp/{dataset}/seed{seed}"),
    "hp": MethodEntry(paper="wu22", loader="metasnn.plasticity.fewshot:load_evaluator", trained_by="wu22_fewshot_hp",
                      description="hybrid plasticity: conv features + plastic readout storing the labelled support",
                      model_dir="results/runs/wu22_fewshot_hp/{dataset}/seed{seed}"),
    "mp23": MethodEntry(paper="mp23", loader="metasnn.plasticity.metaplasticity:load_evaluator", trained_by="mp23_train",
                        description="meta-learned ABCD plasticity rule, weights built from zero per episode",
                        model_dir="results/runs/mp23_train/{dataset}/seed{seed}"),
    "ip2": MethodEntry(paper="ip2", loader="metasnn.plasticity.intrinsic:load_evaluator", trained_by="ip2_train",
                       description="bi-level intrinsic plasticity RSNN (masked intrinsic parameters adapt per task)",
                       model_dir="results/runs/ip2_train/{dataset}/seed{seed}"),
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
