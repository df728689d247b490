"""Single N-MNIST digits as dense count frames (wu22's single-digit experiments)."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import torch

from metasnn.data.events import NMNIST_SENSOR
from metasnn.data.frames import dense_frames, frame_spec
from metasnn.data.layout import load_manifest, read_recording
from metasnn.errors import ConfigError, DataError

__all__ = ["load_single_digits"]


def load_single_digits(
    fetched_dir: str | os.PathLike,
    split: str,
    time_bin_ms: float = 1.0,
    window_ms: float = 300.0,
    crop: bool = False,
    per_class: int | None = None,
    on_corrupt: str = "error",
    progress: Callable | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Single-digit N-MNIST frames from a fetched N-MNIST directory (``data/fetched/nmnist``).

    Parameters
    ----------
    split : {"train", "test"}
        N-MNIST's own Train / Test recordings.
    time_bin_ms, window_ms : float
        Bin width and window; the clock starts at each recording's first event.
        ``T = window_ms / time_bin_ms``.
    crop : bool
        ``False``: full 34×34 sensor; ``True``: x, y cropped to [0, 32) (no downsampling).
    per_class : int or None
        First ``per_class`` recordings of each digit (file order); ``None``: all.

    Returns
    -------
    frames : torch.Tensor
        float32 event counts ``[T, B, 2, S, S]`` (polarity, x, y), S = 34 or 32.
    labels : torch.Tensor
        int64 digits ``[B]``, grouped by digit in ascending order.
    """
    manifest = load_manifest(fetched_dir)
    if manifest.dataset != "nmnist":
        raise DataError(f"{fetched_dir}: holds {manifest.dataset!r} recordings; single digits need N-MNIST")
    if split not in ("train", "test"):
        raise ConfigError(f"split {split!r}: single N-MNIST digits come from 'train' or 'test'")
    size = 32 if crop else NMNIST_SENSOR.width
    spec = frame_spec(time_bin_ms, window_ms, crop_x=size, crop_y=size, downsample=1, clock="first_event")
    jobs = [(int(d), rel) for d, rels in sorted(manifest.files[split].items()) for rel in rels[:per_class]]
    frames = np.zeros((len(jobs), spec.num_steps, 2, size, size), dtype=np.float32)
    labels = np.zeros(len(jobs), dtype=np.int64)
    keep = np.ones(len(jobs), dtype=bool)
    for i, (digit, rel) in enumerate(progress(jobs, "single digits") if progress else jobs):
        try:
            events = read_recording("nmnist", manifest.path(rel))
        except DataError:
            if on_corrupt != "skip":
                raise
            keep[i] = False
            continue
        frames[i] = dense_frames(events, spec)
        labels[i] = digit
    frames, labels = frames[keep], labels[keep]
    return torch.from_numpy(np.ascontiguousarray(frames.transpose(1, 0, 2, 3, 4))), torch.from_numpy(labels)
