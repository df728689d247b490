"""Event arrays: the one in-memory representation of a raw recording.

A recording is a NumPy structured array with fields ``x``, ``y``, ``t`` (microseconds) and ``p``
(polarity 0/1), the field names and order tonic uses for N-MNIST, so tonic transforms accept it.
Polarity is a small integer (not ``bool``) so that it can index a polarity axis directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["EVENT_DTYPE", "SensorSpec", "NMNIST_SENSOR", "ASLDVS_SENSOR", "ASL_LETTERS", "make_events"]

EVENT_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", np.int8)])


@dataclass(frozen=True)
class SensorSpec:
    """Resolution of a sensor: ``width`` (x range) by ``height`` (y range), two polarities."""

    name: str
    width: int
    height: int


NMNIST_SENSOR = SensorSpec("nmnist", 34, 34)
ASLDVS_SENSOR = SensorSpec("asldvs", 240, 180)

# ASL-DVS letters: a..y without j (j and z need motion); index 0..23 as in the split file.
ASL_LETTERS: tuple[str, ...] = tuple("abcdefghiklmnopqrstuvwxy")


def make_events(x: np.ndarray, y: np.ndarray, t: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Pack equal-length coordinate arrays into an :data:`EVENT_DTYPE` structured array."""
    n = len(t)
    if not (len(x) == len(y) == len(p) == n):
        raise ValueError("x, y, t, p must have the same length")
    events = np.empty(n, dtype=EVENT_DTYPE)
    events["x"] = x
    events["y"] = y
    events["t"] = t
    events["p"] = p
    return events
