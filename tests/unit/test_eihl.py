"""EIHL (approximate): inhibition contracts and prunes, sparsity measure, phase switching on sparsity change."""

from __future__ import annotations

import pytest
import torch

from metasnn.baselines.eihl import EXCITATION, INHIBITION, EIHLConfig, EIHLSchedule, inhibit, weight_sparsity


def test_inhibit_contracts_and_prunes_smallest():
    w = torch.tensor([[0.1, -0.2, 0.3, -0.4, 0.5, 0.6, -0.7, 0.8, 0.9, 1.0]])
    inhibit([w], contraction=0.5, prune_fraction=0.2)
    expected = torch.tensor([[0.0, 0.0, 0.15, -0.2, 0.25, 0.3, -0.35, 0.4, 0.45, 0.5]])
    assert torch.allclose(w, expected)
    # already-zero weights do not count towards the pruned fraction
    inhibit([w], contraction=0.0, prune_fraction=0.25)
    assert int((w == 0).sum()) == 4


def test_weight_sparsity_relative_to_rms():
    w = torch.tensor([1.0, -1.0, 0.05, 0.0])  # rms = sqrt(2.0025/4) ~ 0.707
    assert weight_sparsity([w], 0.1) == pytest.approx(0.5)
    assert weight_sparsity([torch.zeros(3)], 0.1) == 1.0


def test_schedule_switches_on_sparsity_change():
    sched = EIHLSchedule(EIHLConfig(switch_delta=0.1, min_phase=2), sparsity=0.5)
    assert sched.phase == EXCITATION
    assert sched.observe(0.35) == EXCITATION  # dropped enough but min_phase not reached
    assert sched.observe(0.35) == INHIBITION  # densified by 0.15 >= 0.1 -> inhibit
    assert sched.observe(0.40) == INHIBITION
    assert sched.observe(0.44) == INHIBITION  # +0.09 < 0.1
    assert sched.observe(0.46) == EXCITATION  # +0.11 -> excite again
    assert sched.switches == 2


def test_config_validation():
    from metasnn.errors import ConfigError

    with pytest.raises(ConfigError):
        EIHLConfig(contraction=1.0)


class _FakeDataset:
    """Random event counts for a few train classes (what pretrain / train_eihl draw from)."""

    def classes(self, split):
        return ["a", "b", "c"]

    def draw(self, split, class_label, n, rng):
        return torch.from_numpy(rng.poisson(0.3 + 0.3 * "abc".index(class_label), size=(6, n, 2, 8, 8)).astype("float32"))


def test_eihl_without_an_inhibition_phase_is_stbp():
    """EIHL's excitation phase is STBP training: with the phase switch out of reach (no inhibition step) it
    must give STBP's weights exactly — same initialisation (LSUV with the output layer rescaled, not zeroed,
    and the pretraining LSUV target mean), same batches, same Adam steps."""
    from metasnn.baselines.eihl import train_eihl
    from metasnn.baselines.stbp import train_stbp
    from metasnn.baselines.transfer import PretrainConfig
    from metasnn.plasticity.dsp import build_backbone

    cfg = PretrainConfig(steps=3, batch_size=4, lr=1e-2, lsuv_mean=-0.25)
    nets = [build_backbone((2, 8, 8), 3, channels=(2,), input_pool=1) for _ in range(2)]
    train_stbp(nets[0], _FakeDataset(), cfg, seed=0)
    rows = train_eihl(nets[1], _FakeDataset(), cfg, EIHLConfig(switch_delta=10.0), seed=0)
    assert all(r["phase"] == EXCITATION for r in rows)
    for (name, a), b in zip(nets[0].state_dict().items(), nets[1].state_dict().values(), strict=True):
        assert torch.equal(a, b), name
