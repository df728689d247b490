"""dsp rule: hand-computed cases, the update through metasnn.meta.maml, and a float64 finite-difference
check of the meta-gradient with respect to eta on a tiny network."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from metasnn.meta.maml import InnerLoop, adapt
from metasnn.plasticity import dsp
from metasnn.snn.surrogate import FastSigmoid


def test_hebbian_term_hand_computed():
    # T=2, B=2 (labels 0 and 1), F=2 features, N=2 ways, shots=1
    pre = torch.tensor([[[1.0, 0.0], [0.0, 2.0]],
                        [[3.0, 0.0], [0.0, 4.0]]])  # [T, B, F]
    post = dsp.teacher_post(torch.tensor([0, 1]), 2, 2, torch.float32)  # 1[i=y] - 1/2
    assert post[0].tolist() == [[0.5, -0.5], [-0.5, 0.5]]
    f = dsp.hebbian_term(pre, post, shots=1)
    # f_ij = sum_b sum_t post_bi * pre_bj / (T * shots)
    # i=0: b0 contributes +0.5*(1+3, 0) ; b1 contributes -0.5*(0, 2+4) -> (2, -3) / 2
    assert f.tolist() == [[1.0, -1.5], [-1.0, 1.5]]


def test_update_rule_through_adapt_is_eta_times_f():
    w0 = torch.zeros(2, 3, requires_grad=True)
    eta = torch.tensor([[1.0, 2.0, 0.5], [0.0, 1.0, 3.0]])
    f = torch.tensor([[1.0, -1.0, 2.0], [0.5, 0.5, -1.0]])

    def energy(params, x, y):
        return -(params["w"] * f).sum(), f

    inner = InnerLoop(steps=2, lr=1.0, second_order=False, adapt=("w",), update=dsp.dsp_update_rule(eta, "w"))
    fast = adapt({"w": w0}, energy, torch.zeros(1), torch.zeros(1), inner).params["w"]
    assert torch.allclose(fast, 2 * eta * f)  # two presentations, each + eta * f


def _tiny_learner(dtype=torch.float64) -> dsp.DSPLearner:
    cfg = dsp.DSPConfig(ways=2, shots=1, queries=2, channels=(), input_pool=2, burn_in=0.0, init="default",
                        eta_init=0.3, outer_steps=1)
    torch.manual_seed(0)
    learner = dsp.DSPLearner((2, 4, 4), cfg, time_bin_ms=1.0).to(dtype)
    # smooth surrogate forward (same backward as spiking) so finite differences are meaningful
    learner.snn.surrogate = FastSigmoid(spiking=False)
    for layer in learner.snn.layers:
        layer.surrogate_function = learner.snn.surrogate
    with torch.no_grad():
        learner.snn.layers[-1].synapse.weight.normal_(0, 0.3)
        learner.eta.uniform_(0.1, 0.6)
    return learner


def _episode(dtype=torch.float64):
    g = torch.Generator().manual_seed(1)
    return SimpleNamespace(support_x=torch.rand(6, 2, 2, 4, 4, generator=g, dtype=dtype) * 2,
                           support_y=torch.tensor([0, 1]),
                           query_x=torch.rand(6, 4, 2, 4, 4, generator=g, dtype=dtype) * 2,
                           query_y=torch.tensor([0, 1, 0, 1]))


def test_meta_gradient_wrt_eta_matches_finite_differences():
    learner = _tiny_learner()
    ep = _episode()
    params = dict(learner.named_parameters())
    inner = dsp.inner_loop(learner, params, second_order=True)
    loss, _ = dsp.task_loss(learner, params, ep, inner)
    (grad,) = torch.autograd.grad(loss, [params["eta"]])
    assert grad.abs().sum() > 0
    eps = 1e-6
    rng = np.random.default_rng(0)
    for _ in range(4):
        i, j = int(rng.integers(grad.shape[0])), int(rng.integers(grad.shape[1]))
        vals = []
        for sign in (+1, -1):
            with torch.no_grad():
                p = {k: v.detach().clone() for k, v in params.items()}
                p["eta"][i, j] += sign * eps
                p[learner.weight_name].requires_grad_(True)
            lo, _ = dsp.task_loss(learner, p, ep, dsp.inner_loop(learner, p, second_order=False))
            vals.append(float(lo.detach()))
        fd = (vals[0] - vals[1]) / (2 * eps)
        assert fd == pytest.approx(float(grad[i, j]), rel=1e-5, abs=1e-9)


def test_meta_gradient_reaches_w0_of_the_feature_path_second_order_only():
    cfg = dsp.DSPConfig(ways=2, shots=1, queries=2, channels=(2,), input_pool=1, burn_in=0.0, init="default",
                        outer_steps=1)
    torch.manual_seed(0)
    learner = dsp.DSPLearner((2, 4, 4), cfg).double()
    learner.snn.surrogate = FastSigmoid(spiking=False)
    ep = _episode()
    params = dict(learner.named_parameters())
    conv = "snn.layers.0.synapse.weight"
    with torch.no_grad():
        params[learner.weight_name].zero_()  # query path sees the conv only through the plastic update
    grads = {}
    for order in (True, False):
        loss, _ = dsp.task_loss(learner, params, ep, dsp.inner_loop(learner, params, second_order=order))
        (grads[order],) = torch.autograd.grad(loss, [params[conv]])
    # the conv weights reach the query loss through the forward pass (both orders) and, in second order
    # only, through the Hebbian term f of the plastic update: the two gradients must differ
    assert grads[True].abs().sum() > 0
    assert not torch.allclose(grads[True], grads[False])


def test_convergence_step_and_eta_statistics():
    acc = [0.2] * 5 + [0.6] * 10
    assert dsp.convergence_step(acc, window=1, fraction=0.95) == 5
    assert dsp.convergence_step(acc, window=5, fraction=1.0) == 9
    stats = dsp.eta_statistics(torch.tensor([1.0, 1.0, 3.0, 3.0]))
    assert stats["eta_mean"] == 2.0
    assert stats["eta_std"] == pytest.approx(np.std([1, 1, 3, 3], ddof=1))
    assert stats["eta_cv"] == pytest.approx(stats["eta_std"] / 2.0)
    assert stats["eta_negative_fraction"] == 0.0


def test_fixed_eta_is_not_a_meta_parameter_and_stays_constant():
    cfg = dsp.DSPConfig(ways=2, channels=(), learn_eta=False, eta_init=0.25)
    learner = dsp.DSPLearner((2, 4, 4), cfg)
    assert all(p is not learner.eta for p in learner.meta_parameters())
    assert torch.all(learner.eta == 0.25)


def test_backbone_uses_the_sn22_input_pool():
    bb = dsp.build_backbone((2, 4, 4), 3, channels=(), input_pool=2)
    x = torch.ones(1, 1, 2, 4, 4)
    assert bb.input_pool == 2 and bb.feature_size == 8
    assert bb(x).shape == (1, 3)
