"""Transforms of event-count frames ``[T, B, C, H, W]``: pooling, resampling and test-time corruptions.

Pure functions: inputs are never modified, outputs are new tensors/arrays, randomness comes only
from a ``seed`` argument.

**Pooling** — :func:`sum_pool`: event counts summed over ``k × k`` pixel blocks (the sn22 networks'
``input_pool``, HP's input pooling).

**Resampling** — :func:`resample_frames`: event counts brought to another frame size and number of
time steps (cross-dataset evaluation: a model tested on episodes of another meta-dataset; the small
plasticity models' coarse input grid):

* **time**: the cumulative event count of every pixel is linearly interpolated at the new bin
  edges, so each new bin holds the events of the old bins it covers (fractions for partial
  overlaps) and the total count is preserved exactly;
* **space**: area resampling (adaptive average pooling over the source pixels each target pixel
  covers) multiplied by the area ratio ``(H·W)_src / (H·W)_dst``, so the total count is preserved
  (exactly when the sizes divide, up to the overlap of adaptive windows otherwise).

Polarity channels are kept as they are.

**Corruptions** (wu22 Fig 4): centre crop and salt-and-pepper noise.

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

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from metasnn.errors import ConfigError

__all__ = ["sum_pool", "resample_frames", "CORRUPTION_LEVELS", "crop_frames", "noise_frames", "crop_events",
           "noise_amount"]

CORRUPTION_LEVELS = range(15)


# --------------------------------------------------------------------------- pooling
def sum_pool(x_seq: torch.Tensor, k: int) -> torch.Tensor:
    """Sum-pool ``[T, B, C, H, W]`` event counts over ``k × k`` pixels (``k = 1``: unchanged)."""
    if k == 1:
        return x_seq
    steps, batch = x_seq.shape[:2]
    pooled = F.avg_pool2d(x_seq.flatten(0, 1), k) * float(k * k)
    return pooled.unflatten(0, (steps, batch))


# --------------------------------------------------------------------------- resampling
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


# --------------------------------------------------------------------------- corruptions
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
