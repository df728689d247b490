"""Test-time corruptions of wu22 Fig 4: centre crop and salt-and-pepper noise.

Pure functions: inputs are never modified, outputs are new arrays/tensors, randomness comes only
from the ``seed`` argument.

* Crop intensity ``ci`` in 0..14: the centre ``(2 ci) x (2 ci)`` square of every frame is zeroed
  (rows ``[H//2 - ci, H//2 + ci)``, columns ``[W//2 - ci, W//2 + ci)``, clipped to the frame); on
  events (N-MNIST 34×34), events inside that square are dropped.
* Noise level ``nl`` in 0..14: salt-and-pepper with ``amount = 0.02 nl`` like wu22's
  ``skimage.util.random_noise(mode="s&p", amount=0.02*nl)``: every entry of the frame tensor
  (each time bin, sample, polarity and pixel) is independently replaced with probability
  ``amount``, half of them by ``1`` (salt: a spurious event where there was none; an existing
  count becomes one event) and half by ``0`` (pepper: the events there are removed).
"""

from __future__ import annotations

import numpy as np
import torch

from metasnn.errors import ConfigError

__all__ = ["CORRUPTION_LEVELS", "crop_frames", "noise_frames", "crop_events", "noise_amount"]

CORRUPTION_LEVELS = range(15)


def _check_level(name: str, level: int) -> int:
    if int(level) != level or not 0 <= level <= 14:
        raise ConfigError(f"{name}={level!r}: must be an integer in 0..14")
    return int(level)


def _window(size: int, ci: int) -> slice:
    return slice(max(0, size // 2 - ci), min(size, size // 2 + ci))


def crop_frames(frames: torch.Tensor | np.ndarray, ci: int) -> torch.Tensor | np.ndarray:
    """Zero the centre ``(2 ci) x (2 ci)`` square of the last two axes of ``frames``."""
    ci = _check_level("ci", ci)
    out = frames.clone() if isinstance(frames, torch.Tensor) else np.array(frames, copy=True)
    if ci:
        out[..., _window(out.shape[-2], ci), _window(out.shape[-1], ci)] = 0
    return out


def crop_events(events: np.ndarray, ci: int, width: int = 34, height: int = 34) -> np.ndarray:
    """Drop events inside the centre ``(2 ci) x (2 ci)`` square of a ``width x height`` sensor."""
    ci = _check_level("ci", ci)
    xs, ys = _window(width, ci), _window(height, ci)
    inside = (events["x"] >= xs.start) & (events["x"] < xs.stop) & (events["y"] >= ys.start) & (events["y"] < ys.stop)
    return events[~inside].copy()


def noise_amount(nl: int) -> float:
    """Salt-and-pepper amount of noise level ``nl`` (0.02 per level)."""
    return 0.02 * _check_level("nl", nl)


def noise_frames(frames: torch.Tensor | np.ndarray, nl: int, seed: int) -> torch.Tensor | np.ndarray:
    """Salt-and-pepper noise of level ``nl`` on event-count frames (see module docstring)."""
    amount = noise_amount(nl)
    is_torch = isinstance(frames, torch.Tensor)
    array = frames.detach().cpu().numpy() if is_torch else np.asarray(frames)
    out = np.array(array, copy=True)
    if amount > 0:
        rng = np.random.default_rng(seed)
        u = rng.random(out.shape, dtype=np.float32)
        out[u < amount / 2] = 1  # salt
        out[(u >= amount / 2) & (u < amount)] = 0  # pepper
    if is_torch:
        return torch.from_numpy(out).to(device=frames.device, dtype=frames.dtype)
    return out
