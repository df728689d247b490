"""Few-shot methods: the one interface through which every meta-learning method is evaluated.

A trained model is one self-describing file (``model.pt``, :mod:`metasnn.model_file`): its record names the
method and the loader ``"package.module:function"`` that rebuilds it as an :class:`EpisodeEvaluator` from the
record and the saved state, so ``metasnn.model_file.load_evaluator(model_dir)`` needs no registry. The
evaluator adapts on an episode's support set the way the method does (MAML inner steps, Hebbian trace,
learned per-synapse plasticity, intrinsic plasticity, ...) and returns the query accuracy; its optional
``cost(episode)`` measures the cost columns of that query pass (:mod:`metasnn.evaluation.cost`). Which
stage trains which method is declared once, in the stage registry (``trains=`` in ``pipeline/stages``).
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["EpisodeEvaluator"]


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
