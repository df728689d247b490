"""MAML / FOMAML meta-gradients (finite differences, float64), freezing, thresholding, schedule."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from metasnn.meta import (
    InnerLoop,
    MetaOptimizer,
    adapt,
    functional_loss,
    meta_loss,
    task_loss,
    threshold_transform,
)
from metasnn.snn import SN22ConvSNN, initialise, layer_parameter_groups

torch.set_num_threads(1)


def _tiny(seed: int = 0, smooth: bool = True, ways: int = 3, burn_in: int = 0):
    # burn_in=0 for finite differences: the burn-in states depend on the weights but are not
    # differentiated by design (sn22), so a finite difference would see a term autograd does not.
    torch.manual_seed(seed)
    model = SN22ConvSNN((2, 8, 8), ways, channels=(2, 3, 4), burn_in=burn_in).double()
    steps = 9
    ep = SimpleNamespace(
        support_x=torch.rand(steps, ways, 2, 8, 8, dtype=torch.float64),
        support_y=torch.arange(ways),
        query_x=torch.rand(steps, 2 * ways, 2, 8, 8, dtype=torch.float64),
        query_y=torch.arange(ways).repeat(2),
    )
    initialise(model, "lsuv", ep.support_x, generator=torch.Generator().manual_seed(seed), zero_output=False)
    if smooth:
        model.surrogate.set_spiking_mode(False)  # differentiable forward, same backward code
    return model, ep


def _meta_grad(model, ep, inner):
    params = dict(model.named_parameters())
    loss, _, _ = task_loss(params, functional_loss(model), ep, inner)
    return loss, torch.autograd.grad(loss, list(params.values()))


def _objective(model, ep, inner, flat: torch.Tensor) -> float:
    params, offset = {}, 0
    for name, p in model.named_parameters():
        params[name] = flat[offset:offset + p.numel()].view_as(p).clone().requires_grad_()
        offset += p.numel()
    loss, _, _ = task_loss(params, functional_loss(model), ep, inner)
    return float(loss.detach())


@pytest.mark.parametrize("steps,frozen", [(1, 0), (2, 1)])
def test_second_order_meta_gradient_matches_central_differences(steps, frozen):
    model, ep = _tiny(seed=steps)
    groups = layer_parameter_groups(model)
    adapt_names = tuple(n for g in groups[frozen:] for n in g)
    inner = InnerLoop(steps=steps, lr=0.5, second_order=True, adapt=adapt_names)
    loss, grads = _meta_grad(model, ep, inner)
    g = torch.cat([t.flatten() for t in grads])
    theta = torch.cat([p.detach().flatten() for p in model.parameters()])
    gen = torch.Generator().manual_seed(11)
    eps = 1e-5
    for _ in range(3):
        v = torch.randn(theta.shape, generator=gen, dtype=torch.float64)
        fd = (_objective(model, ep, inner, theta + eps * v) - _objective(model, ep, inner, theta - eps * v)) / (2 * eps)
        analytic = float(g @ v)
        assert analytic == pytest.approx(fd, rel=1e-5, abs=1e-8), (analytic, fd)
    # per-coordinate check on the first conv weight and the readout bias
    for idx in (0, theta.numel() - 1):
        e = torch.zeros_like(theta)
        e[idx] = 1.0
        fd = (_objective(model, ep, inner, theta + eps * e) - _objective(model, ep, inner, theta - eps * e)) / (2 * eps)
        assert float(g[idx]) == pytest.approx(fd, rel=1e-5, abs=1e-8)


def test_first_order_ignores_second_order_terms_and_differs():
    model, ep = _tiny(seed=3)
    _, g2 = _meta_grad(model, ep, InnerLoop(lr=0.5, second_order=True))
    _, g1 = _meta_grad(model, ep, InnerLoop(lr=0.5, second_order=False))
    flat1 = torch.cat([t.flatten() for t in g1])
    flat2 = torch.cat([t.flatten() for t in g2])
    assert (flat1 - flat2).norm() > 1e-3 * flat2.norm()
    # FOMAML's meta-gradient is the query gradient at the (detached) adapted weights
    params = dict(model.named_parameters())
    fn = functional_loss(model)
    fast = adapt(params, fn, ep.support_x, ep.support_y, InnerLoop(lr=0.5, second_order=False)).params
    fast = {k: v.detach().requires_grad_() for k, v in fast.items()}
    loss, _ = fn(fast, ep.query_x, ep.query_y)
    direct = torch.autograd.grad(loss, list(fast.values()))
    for a, b in zip(g1, direct, strict=True):
        torch.testing.assert_close(a, b)


def test_spiking_mode_second_and_first_order_differ_and_are_finite():
    model, ep = _tiny(seed=4, smooth=False, burn_in=3)
    _, g2 = _meta_grad(model, ep, InnerLoop(lr=1.0, second_order=True))
    _, g1 = _meta_grad(model, ep, InnerLoop(lr=1.0, second_order=False))
    flat1 = torch.cat([t.flatten() for t in g1])
    flat2 = torch.cat([t.flatten() for t in g2])
    assert torch.isfinite(flat1).all() and torch.isfinite(flat2).all()
    assert (flat1 - flat2).norm() > 1e-3 * flat2.norm()


def test_frozen_layers_unchanged_in_inner_loop_but_still_meta_trained():
    model, ep = _tiny(seed=5, smooth=False, burn_in=3)
    groups = layer_parameter_groups(model)
    adapt_names = tuple(n for g in groups[2:] for n in g)
    params = dict(model.named_parameters())
    res = adapt(params, functional_loss(model), ep.support_x, ep.support_y,
                InnerLoop(steps=3, lr=1.0, adapt=adapt_names, record_updates=True))
    for name in (n for g in groups[:2] for n in g):
        assert res.params[name] is params[name]
    changed = [n for n in adapt_names if not torch.equal(res.params[n], params[n])]
    assert changed, "no adapted parameter changed"
    assert set(res.updates[0]) <= set(adapt_names)
    assert len(res.support_losses) == 3
    loss, _, _ = task_loss(params, functional_loss(model), ep, InnerLoop(adapt=adapt_names))
    g = torch.autograd.grad(loss, params["layers.0.synapse.weight"])[0]
    assert g.abs().sum() > 0  # frozen in the inner loop, still receives a meta-gradient
    with pytest.raises(KeyError):
        adapt(params, functional_loss(model), ep.support_x, ep.support_y, InnerLoop(adapt=("nope",)))


def test_threshold_transform_keeps_updates_above_five_percent_of_range():
    delta = torch.tensor([-1.0, -0.04, 0.0, 0.05, 0.2, 1.0], dtype=torch.float64)
    out = threshold_transform(0.05)("w", delta)
    # range = 2.0, theta = 0.1
    assert out.tolist() == [-1.0, 0.0, 0.0, 0.0, 0.2, 1.0]
    d = torch.tensor([0.3, -0.01], requires_grad=True)
    out = threshold_transform(0.05)("w", d)
    (g,) = torch.autograd.grad(out.sum(), d)
    assert g.tolist() == [1.0, 0.0]


def test_meta_loss_averages_tasks_and_reports_accuracy():
    model, ep = _tiny(seed=6, smooth=False)
    params = dict(model.named_parameters())
    inner = InnerLoop(lr=1.0)
    single, _, _ = task_loss(params, functional_loss(model), ep, inner)
    loss, acc, results = meta_loss(params, functional_loss(model), [ep, ep], inner)
    torch.testing.assert_close(loss, single)
    assert 0.0 <= acc <= 1.0 and len(results) == 2


def test_meta_optimizer_cosine_to_lr_over_50():
    w = torch.zeros(3, requires_grad=True)
    opt = MetaOptimizer([w], lr=2e-3, total_steps=10)
    lrs = []
    for _ in range(10):
        lrs.append(opt.lr)
        opt.step((w - 1.0).pow(2).sum())
    assert lrs[0] == pytest.approx(2e-3)
    assert opt.lr == pytest.approx(2e-3 / 50)
    assert lrs[5] == pytest.approx((2e-3 + 4e-5) / 2)
    assert all(a >= b for a, b in zip(lrs, lrs[1:], strict=False))
    state = opt.state_dict()
    opt2 = MetaOptimizer([w], lr=2e-3, total_steps=10)
    opt2.load_state_dict(state)
    assert opt2.lr == pytest.approx(opt.lr)


def test_meta_optimizer_clips_the_outer_gradient_before_adam():
    w = torch.zeros(4, requires_grad=True)
    opt = MetaOptimizer([w], lr=1e-3, total_steps=5, grad_clip=1.0)
    norm = opt.step((w * torch.tensor([300.0, -400.0, 0.0, 0.0])).sum())  # gradient norm 500
    assert norm == pytest.approx(500.0)  # the reported norm is the raw one
    assert float(w.grad.norm()) == pytest.approx(1.0)  # Adam saw the clipped gradient
    exp_avg_sq = opt.optimizer.state[w]["exp_avg_sq"]
    torch.testing.assert_close(exp_avg_sq, 0.001 * torch.tensor([0.6, 0.8, 0.0, 0.0]).pow(2))
    unclipped = MetaOptimizer([torch.zeros(4, requires_grad=True)], lr=1e-3, total_steps=5)
    assert unclipped.grad_clip is None


def test_sn22_config_passes_the_outer_clip_and_rejects_a_negative_one():
    from metasnn.errors import ConfigError
    from metasnn.meta.sn22 import SN22Config

    assert SN22Config().outer_grad_clip == 0.0  # sn22: no clipping
    assert SN22Config.from_dict(SN22Config(outer_grad_clip=1.0).to_dict()).outer_grad_clip == 1.0
    with pytest.raises(ConfigError, match="outer_grad_clip"):
        SN22Config(outer_grad_clip=-1.0)


def test_meta_optimizer_step_scales_shrink_one_tensors_adam_step():
    a, b = torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    opt = MetaOptimizer([a, b], lr=1e-2, total_steps=5, step_scales=[1.0, 0.1])
    opt.step((a - 1.0).pow(2).sum() + (b - 1.0).pow(2).sum())
    torch.testing.assert_close(a.detach(), torch.full((2,), 1e-2))  # Adam's first step: lr in the gradient's sign
    torch.testing.assert_close(b.detach(), torch.full((2,), 1e-3))
    with pytest.raises(ValueError, match="step_scales"):
        MetaOptimizer([a, b], lr=1e-2, total_steps=5, step_scales=[1.0])
