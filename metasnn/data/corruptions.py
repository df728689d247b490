"""Test-time corruptions of wu22 Fig 4 (centre crop, salt-and-pepper noise): they live in
:mod:`metasnn.data.transforms`; this module keeps the old import path."""

from metasnn.data.transforms import CORRUPTION_LEVELS, crop_events, crop_frames, noise_amount, noise_frames

__all__ = ["CORRUPTION_LEVELS", "crop_frames", "noise_frames", "crop_events", "noise_amount"]
