"""Cross-dataset few-shot evaluation: one resampling of event frames, and the per-method evaluation loop.

A model meta-trained on one meta-dataset is tested on episodes of the other. Its episodes are
first brought to the trained model's frame size and number of time steps by
:func:`resample_frames` — the one resampling in the project, also used by the small plasticity
models (mp23, ip2) to pool their inputs onto a coarse grid:

* **time**: the cumulative event count of every pixel is linearly interpolated at the new bin
  edges, so each new bin holds the events of the old bins it covers (fractions for partial
  overlaps) and the total count is preserved exactly;
* **space**: area resampling (adaptive average pooling over the source pixels each target pixel
  covers) multiplied by the area ratio ``(H·W)_src / (H·W)_dst``, so the total count is preserved
  (exactly when the sizes divide, up to the overlap of adaptive windows otherwise).

Polarity channels are kept as they are. :data:`RESAMPLING_NOTE` states this in every table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

import torch
import torch.nn.functional as F

__all__ = ["RESAMPLING_NOTE", "resample_frames", "resample_episode", "evaluate_episodes", "episode_cost"]

RESAMPLING_NOTE = (
    "cross-dataset inputs resampled to the trained model's frame size and T: time by linear interpolation of "
    "cumulative event counts at the new bin edges, space by area (adaptive average) pooling times the area "
    "ratio; total event counts preserved"
)


def _resample_time(x: torch.Tensor, steps: int) -> torch.Tensor:
    src = x.shape[0]
    if steps == src:
        return x
    if src % steps == 0:  # whole bins: plain sums (same result as the interpolation, faster)
        return x.reshape(steps, src // steps, *x.shape[1:]).sum(1)
    flat = x.reshape(src, -1).to(torch.float64)
    cum = torch.cat([flat.new_zeros(1, flat.shape[1]), flat.cumsum(0)])  # [src+1, N] counts up to each edge
    edges = torch.linspace(0.0, float(src), steps + 1, dtype=torch.float64)
    lo = edges.floor().clamp(max=src - 1).long()
    frac = (edges - lo.to(torch.float64)).unsqueeze(1)
    at_edges = cum[lo] + frac * (cum[lo + 1] - cum[lo])  # cumulative counts at the new edges
    out = (at_edges[1:] - at_edges[:-1]).to(x.dtype)
    return out.reshape(steps, *x.shape[1:])


def resample_frames(x: torch.Tensor, frame_shape: Sequence[int], num_steps: int) -> torch.Tensor:
    """Resample event counts ``[T, B, C, H, W]`` to ``[num_steps, B, C, H', W']`` (``frame_shape = (C, H', W')``).

    Total event counts per sample and channel are preserved (see the module docstring).
    """
    if x.dim() != 5:
        raise ValueError(f"resample_frames expects [T, B, C, H, W] frames, got shape {tuple(x.shape)}")
    channels, height, width = (int(v) for v in frame_shape)
    if x.shape[2] != channels:
        raise ValueError(f"resample_frames: {x.shape[2]} channels cannot become {channels}")
    out = x
    src_h, src_w = x.shape[-2:]
    if (src_h, src_w) != (height, width):  # space first: both maps are linear, so the order does not matter
        steps, batch = out.shape[:2]
        pooled = F.adaptive_avg_pool2d(out.reshape(steps * batch, channels, src_h, src_w), (height, width))
        out = (pooled * ((src_h * src_w) / (height * width))).reshape(steps, batch, channels, height, width)
    return _resample_time(out, int(num_steps))


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
