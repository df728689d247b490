"""The public evaluation API: recordings in their original layout -> meta-dataset -> the protocol's tasks."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from metasnn.data.episodes import EpisodeSampler, EpisodeSpec
from metasnn.errors import DataError
from metasnn.evaluation.protocol import EvaluationProtocol, evaluate, metadataset_from_recordings
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def real_subset(tmp_path_factory):
    """A small copy of the shipped real recordings in their original layout (2 per digit and split)."""
    root = tmp_path_factory.mktemp("raw") / "N-MNIST"
    for split in ("Train", "Test"):
        for digit in range(10):
            files = sorted((ROOT / "datasets/N-MNIST" / split / str(digit)).glob("*.bin"))[:2]
            (root / split / str(digit)).mkdir(parents=True)
            for f in files:
                shutil.copy(f, root / split / str(digit) / f.name)
    return root


def test_metadataset_from_recordings_records_a_local_real_source(real_subset, tmp_path):
    ds = metadataset_from_recordings("double_nmnist", real_subset, tmp_path / "meta", time_bin_ms=10, window_ms=100)
    assert ds.num_steps == 10 and ds.frame_shape == (2, 32, 16)
    (source,) = ds.data_sources.values()
    assert (source.source, source.recordings, source.label) == ("local", 40, "real N-MNIST (subset, 40 recordings)")


def test_protocol_tasks_are_the_samplers_and_evaluate_scores_each(real_subset, tmp_path):
    ds = metadataset_from_recordings("double_nmnist", real_subset, tmp_path / "meta", time_bin_ms=10, window_ms=100)
    protocol = EvaluationProtocol(split="test", ways=5, shots=1, queries=2, tasks=3, seed=1234)
    ours = list(protocol.episodes(ds))
    direct = list(EpisodeSampler(ds, "test", EpisodeSpec(5, 1, 2), seed=1234).take(3))
    for a, b in zip(ours, direct, strict=True):
        assert a.classes == b.classes and torch.equal(a.query_x, b.query_x)

    class Nearest:  # a stand-in learner: 1-nearest support sample on summed counts
        frame_shape, num_steps = ds.frame_shape, ds.num_steps

        def __call__(self, ep):
            s, q = ep.support_x.sum(0).flatten(1), ep.query_x.sum(0).flatten(1)
            pred = ep.support_y[torch.cdist(q, s).argmin(1)]
            return float((pred == ep.query_y).float().mean())

    result = evaluate(Nearest(), ds, protocol)
    assert result.accuracies.shape == (3,) and np.all((result.accuracies >= 0) & (result.accuracies <= 1))
    assert result.dataset == "double_nmnist" and result.protocol == protocol


def test_bad_directory_is_one_clear_error(tmp_path):
    with pytest.raises(DataError, match="expected layout"):
        metadataset_from_recordings("double_nmnist", tmp_path / "nowhere", tmp_path / "meta", time_bin_ms=5)
    assert not (tmp_path / "meta").exists()
