"""Frame transforms in one module: sum pooling, resampling, corruptions (old import paths still work)."""

from __future__ import annotations

import torch

from metasnn.data import transforms


def test_sum_pool_preserves_counts():
    x = torch.arange(2 * 3 * 2 * 4 * 6, dtype=torch.float32).reshape(2, 3, 2, 4, 6)
    pooled = transforms.sum_pool(x, 2)
    assert pooled.shape == (2, 3, 2, 2, 3)
    assert torch.equal(pooled.sum((-1, -2)), x.sum((-1, -2)))
    assert transforms.sum_pool(x, 1) is x


def test_resample_frames_preserves_counts_and_matches_the_cross_dataset_path():
    from metasnn.evaluation.cross_dataset import resample_frames

    torch.manual_seed(0)
    x = torch.poisson(torch.full((10, 3, 2, 32, 16), 0.3))
    for shape, steps in (((2, 8, 4), 5), ((2, 8, 4), 7), ((2, 80, 30), 10)):
        out = transforms.resample_frames(x, shape, steps)
        assert out.shape == (steps, 3, *shape)
        exact = 32 % shape[1] == 0 and 16 % shape[2] == 0  # else up to the overlap of adaptive windows
        torch.testing.assert_close(out.sum((0, 3, 4)), x.sum((0, 3, 4)), rtol=1e-5 if exact else 1e-2, atol=1e-3)
        assert torch.equal(out, resample_frames(x, shape, steps))


def test_corruptions_keep_their_old_import_path():
    from metasnn.data import corruptions

    for name in corruptions.__all__:
        assert getattr(corruptions, name) is getattr(transforms, name)
