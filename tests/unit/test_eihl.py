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
