"""Cross-dataset few-shot evaluation: episodes resampled to a trained model, and the per-method evaluation loop.

A model meta-trained on one meta-dataset is tested on episodes of the other. Its episodes are
first brought to the trained model's frame size and number of time steps by
:func:`metasnn.data.transforms.resample_frames` (the one resampling in the project, re-exported
here; also used by the small plasticity models to pool their inputs onto a coarse grid): time by
linear interpolation of cumulative event counts, space by area pooling times the area ratio, total
counts preserved. :data:`RESAMPLING_NOTE` states this in every table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from metasnn.data.transforms import resample_frames

__all__ = ["RESAMPLING_NOTE", "resample_frames", "resample_episode", "evaluate_episodes", "episode_cost"]

RESAMPLING_NOTE = (
    "cross-dataset inputs resampled to the trained model's frame size and T: time by linear interpolation of "
    "cumulative event counts at the new bin edges, space by area (adaptive average) pooling times the area "
    "ratio; total event counts preserved"
)


def resample_episode(episode, frame_shape: Sequence[int], num_steps: int):
    """A copy of ``episode`` (a :class:`metasnn.data.Episode`) with support and query frames resampled."""
    return replace(episode, support_x=resample_frames(episode.support_x, frame_shape, num_steps),
                   query_x=resample_frames(episode.query_x, frame_shape, num_steps))


def evaluate_episodes(evaluator: Callable[[object], float], episodes: Iterable[object]) -> list[float]:
    """Per-task query accuracy of an :class:`~metasnn.meta.methods.EpisodeEvaluator` on ``episodes``,
    each resampled to the evaluator's ``frame_shape`` and ``num_steps`` first (a no-op on its own dataset)."""
    frame_shape = tuple(evaluator.frame_shape)  # type: ignore[attr-defined]
    steps = int(evaluator.num_steps)  # type: ignore[attr-defined]
    return [float(evaluator(resample_episode(ep, frame_shape, steps))) for ep in episodes]


def episode_cost(evaluator: object, episode: object):
    """The cost (:class:`metasnn.evaluation.cost.ModelCost`) of an evaluator's query pass on ``episode``, resampled
    like :func:`evaluate_episodes`; ``None`` when the evaluator has no ``cost`` method."""
    cost = getattr(evaluator, "cost", None)
    if cost is None:
        return None
    return cost(resample_episode(episode, tuple(evaluator.frame_shape), int(evaluator.num_steps)))  # type: ignore[attr-defined]
