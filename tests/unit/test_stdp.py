"""Pair-based STDP: hand-computed trace values, sign follows spike order, weights actually change."""

from __future__ import annotations

import math

import pytest
import torch

from metasnn.baselines.stdp import STDPConfig, STDPFewShot, stdp_traces, stdp_update
from metasnn.plasticity.dsp import build_backbone


def _train(T: int, times: list[int]) -> torch.Tensor:
    s = torch.zeros(T, 1, 1)
    for t in times:
        s[t, 0, 0] = 1.0
    return s


def test_traces_hand_computed():
    tr = stdp_traces(_train(4, [0, 2]), 0.5)
    assert tr[:, 0, 0].tolist() == [1.0, 0.5, 1.25, 0.625]


@pytest.mark.parametrize("gap", [1, 2, 5])
def test_pre_before_post_potentiates(gap):
    cfg = STDPConfig(a_plus=0.1, a_minus=0.05, tau_plus_ms=10.0, tau_minus_ms=10.0)
    dw = stdp_update(_train(10, [2]), _train(10, [2 + gap]), cfg, dt_ms=1.0)
    assert float(dw) == pytest.approx(0.1 * math.exp(-gap / 10.0))
    assert float(dw) > 0


@pytest.mark.parametrize("gap", [1, 2, 5])
def test_post_before_pre_depresses(gap):
    cfg = STDPConfig(a_plus=0.1, a_minus=0.05, tau_plus_ms=10.0, tau_minus_ms=20.0)
    dw = stdp_update(_train(10, [2 + gap]), _train(10, [2]), cfg, dt_ms=1.0)
    assert float(dw) == pytest.approx(-0.05 * math.exp(-gap / 20.0))
    assert float(dw) < 0


def test_coincident_and_dt_scaling():
    cfg = STDPConfig(a_plus=0.1, a_minus=0.04, tau_plus_ms=10.0, tau_minus_ms=10.0)
    assert float(stdp_update(_train(3, [1]), _train(3, [1]), cfg)) == pytest.approx(0.06)
    # a 1-step gap is 5 ms at 5-ms bins
    dw = stdp_update(_train(5, [0]), _train(5, [1]), cfg, dt_ms=5.0)
    assert float(dw) == pytest.approx(0.1 * math.exp(-0.5))


def test_few_shot_head_weights_change_only_in_label_rows():
    torch.manual_seed(0)
    bb = build_backbone((2, 8, 8), 3, channels=(4,), input_pool=1)
    learner = STDPFewShot(bb, STDPConfig(), ways=3, num_steps=6, dt_ms=1.0)
    x = (torch.rand(6, 2, 2, 8, 8) < 0.3).float() * 3
    w = learner.head_weights(x, torch.tensor([0, 2]))
    pre = bb.head_inputs(x)
    assert pre.sum() > 0
    assert w[0].abs().sum() > 0 and w[2].abs().sum() > 0  # weights actually change
    assert torch.all(w[1] == 0)  # no teacher spikes in class 1's neuron: no pairs
    logits = learner.logits(x, torch.tensor([0, 2]), x)
    assert logits.shape == (2, 3) and torch.isfinite(logits).all()
