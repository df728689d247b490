"""Hybrid plasticity (wu22): neuron, Hebbian trace, reset policies, bi-level gradients, training loop."""

from __future__ import annotations

import pytest
import torch

from metasnn.evaluation.robustness import robustness_sweep
from metasnn.meta.bilevel import bilevel_gradients, joint_gradients
from metasnn.plasticity.hp import FactoredTrace, HPConfig, HPNetwork, hebbian_update, prepare_inputs, wu22_node
from metasnn.plasticity.training import TrainConfig, build_network, mse_loss_fn, spike_rates, train_network
from metasnn.snn.surrogate import Box


def _spikes(*shape: int, p: float = 0.3, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=g) < p).float()


def _boost(net: HPNetwork, alpha: float = 1.0, eta: float = 0.5) -> HPNetwork:
    """Make the plastic path large enough to matter in a few steps."""
    with torch.no_grad():
        for layer in net.layers:
            if layer.plastic:
                layer.alpha.fill_(alpha)
                layer.eta_pre.fill_(eta)
    return net


def test_wu22_node_matches_reference_recursion():
    node = wu22_node(threshold=0.4, decay=0.4)
    drive = torch.randn(8, 3, 5, generator=torch.Generator().manual_seed(1))
    state = node.initial_state()
    u_ref = torch.zeros(3, 5)
    s_ref = torch.zeros(3, 5)
    for t in range(8):
        _, state = node.single_step_functional_forward((drive[t],), state)
        u_ref = (u_ref - 0.4 * s_ref) * 0.4 + drive[t]
        s_ref = (u_ref > 0.4).float()
        torch.testing.assert_close(state[0], u_ref, atol=1e-6, rtol=0)
        torch.testing.assert_close(state[4], s_ref)


def test_box_surrogate_forward_and_gradient():
    x = torch.tensor([-0.7, -0.3, 0.0, 0.2, 0.6], requires_grad=True)
    box = Box(0.5)
    y = box(x)
    assert y.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]
    (g,) = torch.autograd.grad(y.sum(), x)
    assert g.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]
    smooth = Box(0.5, spiking=False)
    assert smooth(x).tolist() == pytest.approx([-0.5, -0.3, 0.0, 0.2, 0.5])


def test_hebbian_update_hand_computed_one_step():
    cfg = HPConfig()  # λ = 0.99, θ_th = 0.4, code form tanh(u/θ − β)
    trace = torch.tensor([[0.5, -1.0], [2.0, 0.0]])  # shared [n_in=2, n_out=2]
    x = torch.tensor([[1.0, 0.0], [1.0, 1.0]])  # batch of 2
    u = torch.tensor([[0.4, -0.2], [0.8, 0.0]])
    eta = torch.tensor([0.1, 0.2])
    beta = torch.tensor([0.5, 0.0])
    post = torch.tanh(u / 0.4 - beta)  # [[tanh(.5), tanh(-.5)], [tanh(1.5), 0]]
    pre = x * eta  # [[.1, 0], [.1, .2]]
    expected = 0.99 * trace + (pre.t() @ post) / 2
    got = hebbian_update(trace, x, u, eta, beta, cfg)
    torch.testing.assert_close(got, expected)
    # per-sample trace: each sample its own outer product, no batch mean
    per = hebbian_update(torch.zeros(2, 2, 2), x, u, eta, beta, cfg)
    torch.testing.assert_close(per[1], torch.outer(pre[1], post[1]))
    # additive form: tanh(u/θ) + β
    add = hebbian_update(torch.zeros(2, 2), x, u, eta, beta, HPConfig(post_form="additive"))
    torch.testing.assert_close(add, (pre.t() @ (torch.tanh(u / 0.4) + beta)) / 2)
    # softmax form (wu22 few-shot code): competitive post term across output neurons
    soft = hebbian_update(torch.zeros(2, 2), x, u, eta, beta, HPConfig(post_form="softmax"))
    torch.testing.assert_close(soft, (pre.t() @ torch.softmax(u - beta, dim=1)) / 2)


def test_trace_is_clamped():
    cfg = HPConfig(trace_clamp=4.0)
    trace = torch.full((3, 2), 3.9)
    x = torch.ones(1, 3)
    u = torch.full((1, 2), 10.0)  # tanh ≈ 1
    out = hebbian_update(trace, x, u, torch.full((3,), 5.0), torch.zeros(2), cfg)
    assert out.max().item() == 4.0
    out = hebbian_update(-trace, x, -u, torch.full((3,), 5.0), torch.zeros(2), cfg)
    assert out.min().item() == -4.0


def test_default_reset_is_batch_independent():
    net = _boost(HPNetwork([12, 8, 3], seed=0))
    x = _spikes(6, 5, 12, p=0.5)
    together = net(x)
    for b in range(5):
        alone = net(x[:, b : b + 1])
        torch.testing.assert_close(alone[0], together[b], atol=1e-6, rtol=0)


@pytest.mark.parametrize("reset", ["episode", "carried"])
def test_shared_trace_modes_couple_the_batch(reset):
    net = _boost(HPNetwork([12, 8, 3], config=HPConfig(reset=reset), seed=0), alpha=5.0)
    x = _spikes(6, 5, 12, p=0.5)
    assert not torch.allclose(net(x[:, :1])[0], net(x)[0])


def test_carried_mode_keeps_the_trace_between_batches():
    net = _boost(HPNetwork([12, 8, 3], config=HPConfig(reset="carried"), seed=0))
    x = _spikes(4, 3, 12, p=0.5)
    before = net(x).detach()
    run = net.run(x)
    net.commit_traces(run.traces)
    assert net.carried_trace_0.abs().sum() > 0
    assert not torch.allclose(net(x), before)


def test_factored_trace_equals_dense_including_clamp():
    x = _spikes(6, 4, 10, p=0.6)
    outs, grads = [], []
    for factored in (True, False):
        net = _boost(HPNetwork([10, 7, 3], config=HPConfig(factored=factored, trace_clamp=0.5), seed=3), eta=0.3)
        out = net(x)
        (g,) = torch.autograd.grad(out.pow(2).sum(), [net.layers[0].eta_pre])
        outs.append(out.detach())
        grads.append(g)
    torch.testing.assert_close(outs[0], outs[1], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(grads[0], grads[1], atol=1e-5, rtol=1e-5)
    # with clamp 0.5 the trace must have been materialised at some step
    net = _boost(HPNetwork([10, 7, 3], config=HPConfig(trace_clamp=0.5), seed=3), eta=0.3)
    assert not isinstance(net.run(x).traces[0], FactoredTrace)


def test_lp_changes_its_hebbian_weights_during_a_forward_pass():
    net = build_network("lp", [20, 10, 3], seed=0)
    assert net.layers[0].plastic and not net.layers[1].plastic
    assert not net.layers[0].synapse.weight.requires_grad  # hidden fixed random
    assert net.layers[1].synapse.weight.requires_grad  # readout trained
    x = _spikes(5, 4, 20, p=0.5)
    traces = net.run(x).dense_traces(net.config.trace_decay)
    assert traces[0].shape == (4, 20, 10)
    assert traces[0].abs().sum() > 0  # P started at zero and moved
    # the Hebbian current changes the hidden drive compared with no plasticity
    with torch.no_grad():
        net.layers[0].alpha.fill_(1.0)
        net.layers[0].eta_pre.fill_(1.0)
        plastic = net.run(x).last_membranes[0]
        net.layers[0].alpha.fill_(0.0)
        frozen = net.run(x).last_membranes[0]
    assert not torch.allclose(plastic, frozen)


def test_method_parameter_groups():
    for method, metas_trained in (("gp", False), ("finetune", False), ("hp", True)):
        net = build_network(method, [6, 4, 3], seed=0)
        trained = {n for n, p in net.named_parameters() if p.requires_grad}
        assert any(".synapse." in n for n in trained)
        assert any(n.endswith(("alpha", "eta_pre", "beta_post")) for n in trained) == metas_trained
    assert all(not layer.plastic for layer in build_network("gp", [6, 4, 3]).layers)


def _smooth_tiny_net() -> HPNetwork:
    net = HPNetwork([6, 5, 3], config=HPConfig(trace_clamp=100.0), seed=1).double()
    with torch.no_grad():
        for layer in net.layers:
            layer.alpha.fill_(0.7)
            layer.eta_pre.uniform_(0.2, 0.6, generator=torch.Generator().manual_seed(2))
            layer.beta_post.fill_(0.1)
            layer.node.surrogate_function.set_spiking_mode(False)  # clamp primitive: box is its exact derivative
    return net


def test_bilevel_outer_gradient_matches_finite_differences():
    net = _smooth_tiny_net()
    g = torch.Generator().manual_seed(5)
    x_tr = 0.3 * torch.rand(4, 5, 6, generator=g, dtype=torch.float64)  # membranes inside the box (|u − θ| < 0.5)
    x_val = 0.3 * torch.rand(4, 5, 6, generator=g, dtype=torch.float64)
    y_tr, y_val = torch.tensor([0, 1, 2, 0, 1]), torch.tensor([2, 1, 0, 0, 2])
    params = dict(net.named_parameters())
    loss_fn = mse_loss_fn(net)
    weights, metas = net.weight_names(), net.meta_names()
    xi = 0.5
    grads = bilevel_gradients(params, weights, metas, loss_fn, (x_tr, y_tr), (x_val, y_val), xi)

    def outer(theta: dict[str, torch.Tensor]) -> float:
        p = {**{n: params[n].detach() for n in weights}, **theta}
        p = {n: t.detach().requires_grad_(n in weights) for n, t in p.items()}
        loss, _ = loss_fn(p, x_tr, y_tr)
        gw = torch.autograd.grad(loss, [p[n] for n in weights])
        fast = {**p, **{n: p[n] - xi * gr for n, gr in zip(weights, gw, strict=True)}}
        return float(loss_fn(fast, x_val, y_val)[0].detach())

    eps = 1e-6
    checked = 0
    for name in metas:
        base = params[name].detach()
        for i in range(min(base.numel(), 3)):
            plus, minus = base.clone(), base.clone()
            plus.view(-1)[i] += eps
            minus.view(-1)[i] -= eps
            theta_p = {n: params[n].detach() for n in metas} | {name: plus}
            theta_m = {n: params[n].detach() for n in metas} | {name: minus}
            fd = (outer(theta_p) - outer(theta_m)) / (2 * eps)
            assert abs(fd) > 1e-5, name  # a gradient that could be wrong
            assert grads.meta[name].view(-1)[i].item() == pytest.approx(fd, rel=1e-4, abs=1e-8), name
            checked += 1
    assert checked >= 6
    # the weight gradient is ∇_w L_train at the current weights
    loss, _ = loss_fn(params, x_tr, y_tr)
    gw = torch.autograd.grad(loss, [params[n] for n in weights])
    for n, gr in zip(weights, gw, strict=True):
        torch.testing.assert_close(grads.weights[n], gr)
    # first order drops the ∂²L/∂θ∂w term: a different meta-gradient
    first = bilevel_gradients(params, weights, metas, loss_fn, (x_tr, y_tr), (x_val, y_val), xi, second_order=False)
    assert any(not torch.allclose(first.meta[n], grads.meta[n]) for n in metas)


def test_joint_gradients_equal_plain_autograd():
    net = _smooth_tiny_net()
    x, y = torch.rand(4, 5, 6, dtype=torch.float64), torch.tensor([0, 1, 2, 0, 1])
    params = dict(net.named_parameters())
    loss_fn = mse_loss_fn(net)
    grads = joint_gradients(params, net.weight_names(), net.meta_names(), loss_fn, (x, y))
    loss, _ = loss_fn(params, x, y)
    names = net.weight_names() + net.meta_names()
    ref = dict(zip(names, torch.autograd.grad(loss, [params[n] for n in names]), strict=True))
    for n in names:
        torch.testing.assert_close(grads.weights.get(n, grads.meta.get(n)), ref[n])


def _toy_data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    protos = (torch.rand(3, 16, generator=torch.Generator().manual_seed(99)) < 0.4).float()
    x = ((torch.rand(4, n, 16, generator=g) < 0.7).float() * protos[y]).clamp(max=1)
    return x, y


@pytest.mark.parametrize("method,mode", [("gp", "bilevel"), ("lp", "bilevel"), ("finetune", "bilevel"),
                                         ("hp", "bilevel"), ("hp", "joint")])
def test_training_is_deterministic_and_learns(method, mode):
    train, test = _toy_data(48, 0), _toy_data(24, 1)
    cfg = TrainConfig(epochs=4, batch_size=12, hp_training=mode, lr_weights=1e-2, lr_meta=1e-2, seed=3)
    results = []
    for _ in range(2):
        net = build_network(method, [16, 12, 3], seed=3)
        before = {n: p.detach().clone() for n, p in net.named_parameters()}
        results.append(train_network(net, method, train, test, cfg))
    assert results[0].curves == results[1].curves
    assert results[0].curves[0]["epoch"] == 0 and len(results[0].curves) == 5
    after = dict(net.named_parameters())
    changed = {n for n in before if not torch.equal(before[n], after[n].detach())}
    if method == "hp":
        assert any(n.endswith("alpha") for n in changed)
    if method == "lp":
        assert changed and all(n.startswith("layers.1.") for n in changed)
    if method == "finetune":
        assert not any(n.endswith(("alpha", "eta_pre", "beta_post")) for n in changed)
    assert results[0].curves[-1]["train_loss"] < results[0].curves[0]["train_loss"]


def test_spike_rates_are_consistent_between_layers():
    net = build_network("hp", [16, 12, 3], seed=0)
    x, _ = _toy_data(20, 0)
    layers = spike_rates(net, x, batch_size=7)
    assert layers[0]["input_rate"] == pytest.approx(float(x.mean()))
    assert layers[1]["input_rate"] == layers[0]["output_rate"]
    assert all(0.0 <= lr["output_rate"] <= 1.0 for lr in layers)


def test_prepare_inputs_pools_and_binarises():
    frames = torch.zeros(2, 1, 2, 4, 4)
    frames[0, 0, 0, 0, 1] = 3.0
    x = prepare_inputs(frames, pool=2)
    assert x.shape == (2, 1, 8)
    assert x[0, 0, 0] == 1.0 and x.sum() == 1.0


def test_robustness_sweep_level_zero_is_the_clean_run():
    net = build_network("hp", [2 * 6 * 6, 8, 3], seed=0)
    frames = _spikes(3, 5, 2, 6, 6, p=0.4)
    labels = torch.tensor([0, 1, 2, 0, 1])
    res = robustness_sweep({"hp": net}, frames, labels, lambda f: prepare_inputs(f), levels=[0, 2], seed=0)
    for kind in ("crop", "noise"):
        rec = res[kind]["hp"]
        assert rec["level"] == [0, 2]
        assert rec["euclidean"][0] == 0.0 and rec["cosine"][0] == pytest.approx(1.0)
        assert rec["euclidean"][1] > 0.0
