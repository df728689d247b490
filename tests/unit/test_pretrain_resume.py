"""Supervised (STBP) pretraining runs through the one training loop: a run killed after a checkpoint
resumes to the same weights and curve as an uninterrupted run."""

from __future__ import annotations

import pytest
import torch

from metasnn.baselines import transfer
from metasnn.baselines.transfer import PretrainConfig, pretrain
from metasnn.data import load_metadataset
from metasnn.meta.training import CheckpointConfig
from metasnn.plasticity.dsp import backbone_config, build_backbone
from tests.conftest import tiny_double_nmnist

CFG = PretrainConfig(steps=4, batch_size=4)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pretrain")
    tiny_double_nmnist(tmp)
    return load_metadataset(tmp / "meta/double_nmnist")


def _backbone(ds):
    torch.manual_seed(0)
    return build_backbone(**backbone_config(ds, len(ds.classes("train")), channels=[2], input_pool=2, burn_in=0.5))


def test_pretraining_resumes_after_a_kill_to_identical_weights(dataset, tmp_path, monkeypatch):
    full = _backbone(dataset)
    rows_full = pretrain(full, dataset, CFG, seed=0)
    ckpt = CheckpointConfig(tmp_path / "ckpt", every=1, config_hash="run")
    real_loop = transfer.train_loop

    def killed_after_two_steps(*args, **kwargs):
        def after_step(step, row):
            if step == 2:  # 2 steps are checkpointed, step 2 itself is lost
                raise KeyboardInterrupt
        return real_loop(*args, **{**kwargs, "after_step": after_step})

    monkeypatch.setattr(transfer, "train_loop", killed_after_two_steps)
    with pytest.raises(KeyboardInterrupt):
        pretrain(_backbone(dataset), dataset, CFG, seed=0, checkpoint=ckpt)
    monkeypatch.setattr(transfer, "train_loop", real_loop)
    resumed = _backbone(dataset)
    ran: list[list[int]] = []
    rows = pretrain(resumed, dataset, CFG, seed=0, checkpoint=ckpt, progress=lambda r: ran.append(list(r)) or r)
    assert ran == [[2, 3]]  # resumed after the 2 checkpointed steps
    assert rows == rows_full
    a, b = full.state_dict(), resumed.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_checkpoint_of_another_run_is_not_resumed(dataset, tmp_path):
    pretrain(_backbone(dataset), dataset, PretrainConfig(steps=2, batch_size=4), seed=0,
             checkpoint=CheckpointConfig(tmp_path, every=1, config_hash="other run"))
    rows = pretrain(_backbone(dataset), dataset, CFG, seed=0, checkpoint=CheckpointConfig(tmp_path, 1, "this run"))
    assert [r["step"] for r in rows] == [0, 1, 2, 3]
