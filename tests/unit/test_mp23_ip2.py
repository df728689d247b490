"""mp23 rule, ip2 intrinsic neuron, cross-dataset resampling: hand-computed cases and float64 gradient checks."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from metasnn.data import Episode
from metasnn.errors import ConfigError
from metasnn.evaluation.cross_dataset import resample_frames
from metasnn.meta.maml import InnerLoop, adapt
from metasnn.plasticity.intrinsic import DEFAULT_INNER_LR, IntrinsicNet, IP2Config, parse_mask, steps_to_criterion
from metasnn.plasticity.metaplasticity import (
    MetaplasticityNet,
    MP23Config,
    bound_max_abs,
    encode_episode,
    es_gradient,
    max_abs_normalise,
    metatrain,
    rule_update,
)


def test_rule_update_hand_computed():
    pre = torch.tensor([[1.0, 0.0], [0.5, 1.0]])  # x: 2 samples, 2 pre
    post = torch.tensor([[1.0], [0.0]])  # y: 2 samples, 1 post
    one = torch.ones(1, 2)
    # A-only, C = 0: mean_b x_j y = [0.5, 0]
    assert torch.allclose(rule_update(pre, post, one, one, 0 * one, 0 * one, 0 * one), torch.tensor([[0.5, 0.0]]))
    # full rule, eta = 2, A = 1, C = 0.5, B = 3, D = -1:
    # A·(mean xy − C·mean x) = [0.5 − 0.375, 0 − 0.25]; B·mean y = 1.5; D = −1
    got = rule_update(pre, post, 2 * one, one, 3 * one, 0.5 * one, -one)
    assert torch.allclose(got, 2 * torch.tensor([[0.125 + 0.5, -0.25 + 0.5]]))


def test_normalisations():
    w = torch.tensor([[0.5, -2.0]])
    assert torch.allclose(max_abs_normalise(w), torch.tensor([[0.25, -1.0]]))
    assert torch.allclose(bound_max_abs(w), torch.tensor([[0.25, -1.0]]))
    assert torch.equal(bound_max_abs(torch.tensor([[0.5, -0.2]])), torch.tensor([[0.5, -0.2]]))
    assert torch.equal(max_abs_normalise(torch.zeros(2, 2)), torch.zeros(2, 2))


def _episode(ways=3, shots=1, queries=2, steps=4, hw=(8, 4), seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    sx = torch.poisson(torch.full((steps, ways * shots, 2, *hw), 0.8), generator=g).to(dtype)
    qx = torch.poisson(torch.full((steps, ways * queries, 2, *hw), 0.8), generator=g).to(dtype)
    return SimpleNamespace(support_x=sx, support_y=torch.arange(ways).repeat_interleave(shots),
                           query_x=qx, query_y=torch.arange(ways).repeat_interleave(queries))


def test_mp23_weights_start_at_zero_and_a_only_is_hebbian():
    cfg = MP23Config(variant="a_only", ways=3, grid=(2, 2), steps=10, hidden=6)  # output spikes need ~6 steps
    net = MetaplasticityNet(cfg, seed=0)
    assert all(float(net.rule[k].detach().abs().sum()) == 0.0 for k in ("b", "c", "d"))
    ep = _episode(steps=10, dtype=torch.float32)
    w = net.episode_weights(ep.support_x, ep.support_y)
    assert w.shape == (3, 6) and float(w.detach().abs().max()) == pytest.approx(1.0)
    assert (w >= 0).all()  # A > 0, x, y >= 0: a Hebbian rule without C/B/D only potentiates
    assert "rule.b" not in net.meta_names() and "rule.a" in net.meta_names()
    assert not any(n.startswith("rule.") for n in MetaplasticityNet(MP23Config(variant="fixed")).meta_names())


def test_mp23_meta_gradient_matches_finite_differences_float64():
    torch.manual_seed(0)
    cfg = MP23Config(variant="abcd", ways=3, grid=(2, 2), steps=4, hidden=5, eta_init=1.0)
    net = MetaplasticityNet(cfg, seed=1, spiking=False).double()
    with torch.no_grad():
        for k in ("b", "c", "d"):
            net.rule[k].copy_(0.1 * torch.randn(3, 5, dtype=torch.float64))
    ep = _episode()
    params = [net.rule["eta"], net.rule["a"], net.rule["b"], net.rule["c"], net.rule["d"], net.hidden.synapse.weight,
              net.log_scale]
    loss, _ = net.episode_loss(ep)
    grads = torch.autograd.grad(loss, params)
    h = 1e-6
    for p, g in zip(params, grads, strict=True):
        for idx in [(0, 0), (1, 2), (2, 4)] if p.dim() == 2 else [()]:
            with torch.no_grad():
                p[idx] += h
                up = float(net.episode_loss(ep)[0])
                p[idx] -= 2 * h
                down = float(net.episode_loss(ep)[0])
                p[idx] += h
            assert float(g[idx]) == pytest.approx((up - down) / (2 * h), rel=1e-4, abs=1e-8)


def test_mp23_encoded_episode_gives_the_same_numbers():
    cfg = MP23Config(variant="abcd", ways=3, grid=(2, 2), steps=4, hidden=5)
    net = MetaplasticityNet(cfg, seed=0)
    raw = _episode(dtype=torch.float32)
    raw = Episode(raw.support_x, raw.support_y, raw.query_x, raw.query_y, ("a", "b", "c"), 0)
    enc = encode_episode(raw, cfg.grid, cfg.steps)
    assert enc.support_x.shape == (4, 3, 8) and enc.query_y is raw.query_y
    with torch.no_grad():
        assert torch.equal(net.episode_loss(raw)[1], net.episode_loss(enc)[1])


def test_mp23_rule_lr_factor_scales_only_the_rule_steps():
    """One outer step: the rule tensors move rule_lr_factor times as far as with factor 1, the hidden layer the same."""
    ep = _episode(ways=5, queries=2, steps=10, dtype=torch.float32)
    moved = {}
    for factor in (1.0, 0.25):
        cfg = MP23Config(variant="abcd", grid=(2, 2), steps=10, hidden=6, outer_steps=1, rule_lr_factor=factor)
        init = MetaplasticityNet(cfg, seed=3).state_dict()
        net, _ = metatrain(cfg, None, seed=3, episode=lambda step: ep)
        moved[factor] = {k: v - init[k] for k, v in net.state_dict().items()}
    for name, delta in moved[1.0].items():
        expected = 0.25 * delta if name.startswith("rule.") else delta
        assert torch.allclose(moved[0.25][name], expected, atol=1e-6), name  # float32 at eta = 10
    assert float(moved[1.0]["rule.d"].abs().max()) > 0  # the rule did move
    with pytest.raises(ConfigError, match="rule_lr_factor"):
        MP23Config(rule_lr_factor=0.0)


def test_es_gradient_estimates_a_quadratic_gradient():
    theta = torch.tensor([1.0, -2.0], dtype=torch.float64)
    est = es_gradient(lambda: float((theta**2).sum()), [theta], sigma=0.1, pairs=400,
                      generator=torch.Generator().manual_seed(0))
    assert torch.allclose(est[0], torch.tensor([2.0, -4.0], dtype=torch.float64), atol=0.5)
    assert torch.allclose(theta, torch.tensor([1.0, -2.0], dtype=torch.float64), atol=1e-12)  # restored


def test_ip2_inner_gradient_matches_finite_differences_float64():
    cfg = IP2Config(ways=3, grid=(2, 2), steps=4, hidden=5, recurrent=True)
    net = IntrinsicNet(cfg, seed=0, spiking=False).double()
    ep = _episode()
    params = dict(net.named_parameters())
    names = ("threshold", "tau_m", "tau_d", "w_rec")
    loss, _ = net.inner_loss(params, ep.support_x, ep.support_y)
    grads = torch.autograd.grad(loss, [params[n] for n in names])
    h = 1e-6
    for name, g in zip(names, grads, strict=True):
        p = params[name]
        idx = (1,) if p.dim() == 1 else (1, 2)
        with torch.no_grad():
            p[idx] += h
            up = float(net.inner_loss(params, ep.support_x, ep.support_y)[0])
            p[idx] -= 2 * h
            down = float(net.inner_loss(params, ep.support_x, ep.support_y)[0])
            p[idx] += h
        assert float(g[idx]) == pytest.approx((up - down) / (2 * h), rel=1e-4, abs=1e-8)


def test_ip2_inner_loop_adapts_only_the_mask():
    cfg = IP2Config(ways=3, grid=(2, 2), steps=4, hidden=5, mask=parse_mask("threshold"), criterion=1.0, max_steps=2)
    net = IntrinsicNet(cfg, seed=0)
    params = dict(net.named_parameters())
    steps, fast = steps_to_criterion(net, params, _episode(dtype=torch.float32))
    assert steps == 2
    assert not torch.equal(fast["threshold"], params["threshold"])
    for n in ("tau_m", "tau_d", "w_in", "w_out"):
        assert fast[n] is params[n]
    point = IntrinsicNet(IP2Config(model="point", ways=3, grid=(2, 2), steps=4, hidden=5), seed=0)
    assert point.fast_names() == ("w_out", "b_out") and float(point.tau_d.abs().sum()) == 0.0
    with pytest.raises(Exception, match="ip2 mask"):
        parse_mask("threshold+gain")


def _class_episode(seed: int, ways=5, shots=2, queries=3, steps=10, hw=(16, 8)):
    """Poisson events from one random spatial rate map per class (learnable from the support)."""
    g = torch.Generator().manual_seed(seed)
    maps = torch.rand(ways, 2, *hw, generator=g) * 1.5

    def draw(n):
        y = torch.arange(ways).repeat_interleave(n)
        return torch.poisson(maps[y].expand(steps, -1, -1, -1, -1).contiguous(), generator=g), y

    (sx, sy), (qx, qy) = draw(shots), draw(queries)
    return SimpleNamespace(support_x=sx, support_y=sy, query_x=qx, query_y=qy)


@pytest.mark.parametrize("model", ["intrinsic", "point"])
def test_ip2_default_inner_loop_of_each_model_learns_its_support(model):
    """Each model's default inner lr suits its fast parameters (a shared 5.0 blew the point readout's support loss
    up ~60x in one step and left the intrinsic model at the step cap): the first steps lower the support loss
    without blowing it up, and the criterion is reached before the (shared) cap."""
    cfg = IP2Config(model=model)
    assert cfg.inner_lr == DEFAULT_INNER_LR[model] and cfg.criterion == IP2Config().criterion
    steps = []
    for seed in range(3):
        ep = _class_episode(seed)
        net = IntrinsicNet(cfg, seed=seed)
        params = dict(net.named_parameters())
        inner = InnerLoop(steps=1, lr=cfg.inner_lr, second_order=False, adapt=net.fast_names())
        losses = adapt(params, net.inner_loss, ep.support_x, ep.support_y, inner, steps=4).support_losses
        assert min(losses[1:]) < losses[0] and max(losses[1:]) < 1.1 * losses[0], losses
        steps.append(steps_to_criterion(net, params, ep)[0])
    assert sum(steps) / len(steps) < cfg.max_steps


def test_resample_frames_preserves_counts_and_identity():
    g = torch.Generator().manual_seed(0)
    x = torch.poisson(torch.full((7, 3, 2, 32, 16), 0.3), generator=g)
    same = resample_frames(x, (2, 32, 16), 7)
    assert torch.equal(same, x)
    out = resample_frames(x, (2, 8, 4), 5)  # non-divisible T, divisible space
    assert out.shape == (5, 3, 2, 8, 4)
    assert torch.allclose(out.sum((0, 3, 4)), x.sum((0, 3, 4)), rtol=1e-5)
    up = resample_frames(x, (2, 80, 30), 10)
    assert up.shape == (10, 3, 2, 80, 30)
    assert torch.allclose(up.sum((0, 3, 4)), x.sum((0, 3, 4)), rtol=0.1)
    # time only: bin edges at 0, 3.5, 7 of 7 → halves split the middle bin
    t = torch.arange(1.0, 8.0).view(7, 1, 1, 1, 1)
    assert torch.allclose(resample_frames(t, (1, 1, 1), 2).flatten(), torch.tensor([1 + 2 + 3 + 2.0, 2.0 + 5 + 6 + 7]))
