"""Event arrays to binned count frames.

One recording becomes event *counts* on a grid ``[T, 2, X, Y]`` (time, polarity, x, y — the
torchneuromorphic/sn22 axis order: x before y). The sparse form (:func:`bin_events`: unique
``(t, p, x, y)`` cells with their counts) is what meta-datasets store; :func:`dense_frames`
scatters it into a dense array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metasnn.errors import ConfigError

__all__ = ["FrameSpec", "NMNIST_DIGIT_FRAMES", "ASLDVS_LETTER_FRAMES", "frame_spec", "bin_events", "dense_frames"]


@dataclass(frozen=True)
class FrameSpec:
    """How a recording is cut and binned.

    Attributes
    ----------
    time_bin_us, window_us : int
        Bin width and kept window; ``num_steps = window_us // time_bin_us``.
    crop_x, crop_y : int
        Events with ``x >= crop_x`` or ``y >= crop_y`` are dropped (before downsampling).
    downsample : int
        ``x // downsample``, ``y // downsample``.
    clock : str
        ``"first_event"``: time counts from the recording's first event (Double N-MNIST);
        ``"absolute"``: from 0 (Double ASL-DVS).
    """

    time_bin_us: int
    window_us: int
    crop_x: int
    crop_y: int
    downsample: int
    clock: str

    @property
    def num_steps(self) -> int:
        return self.window_us // self.time_bin_us

    @property
    def width(self) -> int:
        return -(-self.crop_x // self.downsample)

    @property
    def height(self) -> int:
        return -(-self.crop_y // self.downsample)


NMNIST_DIGIT_FRAMES = dict(crop_x=32, crop_y=32, downsample=2, clock="first_event")
ASLDVS_LETTER_FRAMES = dict(crop_x=240, crop_y=180, downsample=6, clock="absolute")


def frame_spec(time_bin_ms: float, window_ms: float, **geometry: object) -> FrameSpec:
    """A :class:`FrameSpec` from millisecond parameters; the window must be a whole number of bins."""
    time_bin_us = int(round(time_bin_ms * 1000))
    window_us = int(round(window_ms * 1000))
    if time_bin_us <= 0 or window_us <= 0:
        raise ConfigError(f"data.time_bin_ms={time_bin_ms} and data.window_ms={window_ms} must be positive")
    if window_us % time_bin_us:
        raise ConfigError(
            f"data.window_ms={window_ms} is not a whole number of data.time_bin_ms={time_bin_ms} bins; "
            "choose a bin that divides the window"
        )
    if window_us // time_bin_us > 65535:
        raise ConfigError(f"data.window_ms / data.time_bin_ms = {window_us // time_bin_us} steps exceeds 65535")
    return FrameSpec(time_bin_us=time_bin_us, window_us=window_us, **geometry)  # type: ignore[arg-type]


def bin_events(events: np.ndarray, spec: FrameSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sparse binned counts of one recording.

    Returns
    -------
    t, p, x, y, count : ndarray
        One entry per non-empty cell, sorted by (t, p, x, y); ``count`` >= 1.
    """
    if len(events) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty, empty
    t = np.asarray(events["t"], dtype=np.int64)
    if spec.clock == "first_event":
        t = t - t.min()
    x = np.asarray(events["x"], dtype=np.int64)
    y = np.asarray(events["y"], dtype=np.int64)
    p = np.asarray(events["p"], dtype=np.int64)
    keep = (t >= 0) & (t < spec.window_us) & (x < spec.crop_x) & (y < spec.crop_y)
    tb = t[keep] // spec.time_bin_us
    xs = x[keep] // spec.downsample
    ys = y[keep] // spec.downsample
    key = ((tb * 2 + p[keep]) * spec.width + xs) * spec.height + ys
    cells, count = np.unique(key, return_counts=True)
    rest, ys = np.divmod(cells, spec.height)
    rest, xs = np.divmod(rest, spec.width)
    tb, ps = np.divmod(rest, 2)
    return tb, ps, xs, ys, count


def dense_frames(events: np.ndarray, spec: FrameSpec, dtype: np.dtype = np.uint16) -> np.ndarray:
    """Dense counts ``[T, 2, X, Y]`` of one recording (counts saturate at the dtype's maximum)."""
    tb, p, x, y, count = bin_events(events, spec)
    out = np.zeros((spec.num_steps, 2, spec.width, spec.height), dtype=dtype)
    out[tb, p, x, y] = np.minimum(count, np.iinfo(dtype).max)
    return out
