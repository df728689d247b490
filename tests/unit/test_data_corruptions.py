"""Crop and salt-and-pepper corruptions (wu22 Fig 4)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from metasnn.data.events import make_events
from metasnn.data.transforms import crop_events, crop_frames, noise_frames
from metasnn.errors import ConfigError


def test_crop_zeroes_exactly_the_centre_square():
    frames = torch.ones(3, 2, 2, 34, 34)
    out = crop_frames(frames, 4)
    assert torch.equal(frames, torch.ones_like(frames))  # input untouched
    assert out[..., 13:21, 13:21].sum() == 0
    assert out.sum() == frames.sum() - 3 * 2 * 2 * 64
    assert torch.equal(crop_frames(frames, 0), frames)
    assert crop_frames(np.ones((34, 34)), 14).sum() == 34 * 34 - 28 * 28


def test_crop_events_drops_events_inside():
    ev = make_events([16, 17, 0, 20], [16, 17, 0, 13], [1, 2, 3, 4], [1, 0, 1, 1])
    kept = crop_events(ev, 4)  # square [13, 21)
    assert kept["t"].tolist() == [3]
    assert len(crop_events(ev, 0)) == 4


def test_noise_is_seeded_and_has_the_right_rate():
    frames = torch.zeros(10, 4, 2, 34, 34)
    frames[::2] = 3.0
    a = noise_frames(frames, 5, seed=1)
    assert torch.equal(a, noise_frames(frames, 5, seed=1)) and not torch.equal(a, noise_frames(frames, 5, seed=2))
    changed_salt = ((frames == 0) & (a == 1)).float().mean() / (frames == 0).float().mean()
    assert abs(changed_salt.item() - 0.05) < 0.005  # half of amount 0.10
    removed = ((frames == 3) & (a == 0)).float().mean() / (frames == 3).float().mean()
    assert abs(removed.item() - 0.05) < 0.005
    assert set(torch.unique(a).tolist()) <= {0.0, 1.0, 3.0}
    assert torch.equal(noise_frames(frames, 0, seed=1), frames)
    assert frames[1].sum() == 0  # input untouched


@pytest.mark.parametrize("level", [-1, 15, 2.5])
def test_levels_are_checked(level):
    with pytest.raises(ConfigError):
        crop_frames(torch.zeros(2, 2), level)
    with pytest.raises(ConfigError):
        noise_frames(torch.zeros(2, 2), level, seed=0)
