"""Every trainer runs through the one training loop (metasnn.meta.training.train_loop): a run killed
after a checkpoint resumes to the same weights and curve as an uninterrupted run. (sn22 meta-training:
tests/pipeline/test_sn22_stages.py; the loop itself: test_training.py.)"""

from __future__ import annotations

import pytest
import torch

from metasnn.baselines import eihl as eihl_module
from metasnn.baselines import transfer
from metasnn.baselines.eihl import EIHLConfig, train_eihl
from metasnn.baselines.transfer import PretrainConfig, pretrain
from metasnn.data import load_metadataset
from metasnn.meta.training import CheckpointConfig
from metasnn.plasticity import intrinsic as ip2_module
from metasnn.plasticity import metaplasticity as mp23_module
from metasnn.plasticity import training as wu22_training
from metasnn.plasticity.dsp import backbone_config, build_backbone
from metasnn.plasticity.intrinsic import IntrinsicNet, IP2Config, run_sequence
from metasnn.plasticity.metaplasticity import MP23Config, metatrain
from metasnn.plasticity.training import TrainConfig, build_network, train_network
from tests.conftest import killed_at_step, tiny_double_nmnist
from tests.unit.test_hp import _toy_data
from tests.unit.test_mp23_ip2 import _episode

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
    with killed_at_step(monkeypatch, transfer, 2), pytest.raises(KeyboardInterrupt):
        pretrain(_backbone(dataset), dataset, CFG, seed=0, checkpoint=ckpt)
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


@pytest.mark.parametrize("method", ["gp", "hp"])
def test_wu22_training_resumes_after_a_kill_to_identical_weights(method, tmp_path, monkeypatch):
    train, test = _toy_data(48, 0), _toy_data(24, 1)
    cfg = TrainConfig(epochs=4, batch_size=12, lr_weights=1e-2, lr_meta=1e-2, seed=3)
    full = build_network(method, [16, 12, 3], seed=3)
    expected = train_network(full, method, train, test, cfg)
    ckpt = CheckpointConfig(tmp_path, every=1, config_hash=method)
    with killed_at_step(monkeypatch, wu22_training, 1), pytest.raises(KeyboardInterrupt):
        train_network(build_network(method, [16, 12, 3], seed=3), method, train, test, cfg, checkpoint=ckpt)
    resumed = build_network(method, [16, 12, 3], seed=3)
    ran: list[list[int]] = []
    got = train_network(resumed, method, train, test, cfg, checkpoint=ckpt,
                        progress=lambda steps, desc: ran.append(list(steps)) or steps)
    assert ran == [[1, 2, 3]]  # epoch 1 was checkpointed; the shuffling generator resumes too
    assert got.curves == expected.curves and got.final == expected.final
    a, b = full.state_dict(), resumed.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_eihl_resumes_after_a_kill_with_its_phase_schedule(dataset, tmp_path, monkeypatch):
    cfg, eihl = PretrainConfig(steps=6, batch_size=4, lr=0.05), EIHLConfig(switch_delta=1e-4, min_phase=1)
    full = _backbone(dataset)
    expected = train_eihl(full, dataset, cfg, eihl, seed=0)
    assert len({r["phase"] for r in expected}) == 2  # both phases run, so the schedule state matters
    ckpt = CheckpointConfig(tmp_path, every=1, config_hash="eihl")
    with killed_at_step(monkeypatch, eihl_module, 3), pytest.raises(KeyboardInterrupt):
        train_eihl(_backbone(dataset), dataset, cfg, eihl, seed=0, checkpoint=ckpt)
    resumed = _backbone(dataset)
    ran: list[list[int]] = []
    rows = train_eihl(resumed, dataset, cfg, eihl, seed=0, checkpoint=ckpt, progress=lambda r: ran.append(list(r)) or r)
    assert ran == [[3, 4, 5]] and rows == expected
    a, b = full.state_dict(), resumed.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("meta_optimizer", ["gradient", "es"])
def test_mp23_meta_training_resumes_after_a_kill(meta_optimizer, tmp_path, monkeypatch):
    episodes = [_episode(ways=5, queries=2, steps=10, dtype=torch.float32, seed=s) for s in range(4)]
    cfg = MP23Config(variant="abcd", grid=(2, 2), steps=10, hidden=6, outer_steps=4, meta_optimizer=meta_optimizer,
                     es_pairs=2)
    full, expected = metatrain(cfg, None, seed=3, episode=episodes.__getitem__)
    ckpt = CheckpointConfig(tmp_path, every=1, config_hash=meta_optimizer)
    with killed_at_step(monkeypatch, mp23_module, 2), pytest.raises(KeyboardInterrupt):
        metatrain(cfg, None, seed=3, episode=episodes.__getitem__, checkpoint=ckpt)
    resumed, got = metatrain(cfg, None, seed=3, episode=episodes.__getitem__, checkpoint=ckpt)
    assert got.resumed_from == 2 and got.rows == expected.rows  # ES noise continues where it stopped
    a, b = full.state_dict(), resumed.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("model", ["intrinsic", "point"])
def test_ip2_task_sequence_resumes_after_a_kill(model, tmp_path, monkeypatch):
    episodes = [_episode(ways=3, queries=2, steps=4, dtype=torch.float32, seed=s) for s in range(4)]
    cfg = IP2Config(model=model, ways=3, grid=(2, 2), steps=4, hidden=5, max_steps=3)
    full = IntrinsicNet(cfg, seed=0)
    expected = run_sequence(full, episodes)
    ckpt = CheckpointConfig(tmp_path, every=1, config_hash=model)
    with killed_at_step(monkeypatch, ip2_module, 2), pytest.raises(KeyboardInterrupt):
        run_sequence(IntrinsicNet(cfg, seed=0), episodes, checkpoint=ckpt)
    resumed = IntrinsicNet(cfg, seed=0)
    ran: list[list[int]] = []
    assert run_sequence(resumed, episodes, progress=lambda r: ran.append(list(r)) or r, checkpoint=ckpt) == expected
    assert ran == [[2, 3]]
    a, b = full.state_dict(), resumed.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
