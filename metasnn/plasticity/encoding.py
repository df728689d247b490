"""Input encoding of the small plasticity models (mp23, ip2): event frames pooled onto a coarse grid.

``[T, B, 2, H, W]`` counts → :func:`~metasnn.evaluation.cross_dataset.resample_frames` to
``[steps, B, 2, gh, gw]`` (counts preserved) → ``log1p`` → ``[steps, B, 2·gh·gw]`` input currents.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from metasnn.evaluation.cross_dataset import resample_frames

__all__ = ["pooled_input", "input_size"]


def input_size(grid: Sequence[int]) -> int:
    """Number of input channels for a ``(gh, gw)`` grid (two polarities)."""
    return 2 * int(grid[0]) * int(grid[1])


def pooled_input(frames: torch.Tensor, grid: Sequence[int], steps: int) -> torch.Tensor:
    """``log1p`` of the event counts pooled onto ``grid`` over ``steps`` time bins, flattened per step."""
    pooled = resample_frames(frames, (2, int(grid[0]), int(grid[1])), int(steps))
    return torch.log1p(pooled.clamp_min(0.0)).flatten(2)
