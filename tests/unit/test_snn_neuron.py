"""The sn22 DECOLLE LIF node, its surrogate and the sn22 networks."""

from __future__ import annotations

import pytest
import torch
from spikingjelly.activation_based import functional as sj_functional
from spikingjelly.activation_based import neuron as sj_neuron
from torch import nn

from metasnn.snn import (
    DecolleLIFNode,
    FastSigmoid,
    SN22ConvSNN,
    build_model,
    fast_sigmoid_spike,
    initialise,
    layer_parameter_groups,
    model_names,
    resolve_burn_in,
)

torch.set_num_threads(1)


# --------------------------------------------------------------------------- surrogate
def test_surrogate_forward_is_heaviside_and_backward_is_fast_sigmoid():
    x = torch.tensor([-2.0, -0.1, 0.0, 0.1, 3.0], dtype=torch.float64, requires_grad=True)
    s = FastSigmoid(slope=10.0)(x)
    assert s.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]
    (g,) = torch.autograd.grad(s.sum(), x)
    expected = 1.0 / (10.0 * x.detach().abs() + 1.0) ** 2
    torch.testing.assert_close(g, expected)


def test_surrogate_is_twice_differentiable_against_finite_differences():
    x = torch.linspace(-1.3, 1.1, 17, dtype=torch.float64).requires_grad_()
    (g,) = torch.autograd.grad(fast_sigmoid_spike.apply(x, 10.0, True).sum(), x, create_graph=True)
    (gg,) = torch.autograd.grad(g.sum(), x)
    eps = 1e-6

    def first(z: torch.Tensor) -> torch.Tensor:
        z = z.detach().requires_grad_()
        return torch.autograd.grad(fast_sigmoid_spike.apply(z, 10.0, True).sum(), z)[0]

    fd = (first(x + eps) - first(x - eps)) / (2 * eps)
    torch.testing.assert_close(gg, fd, rtol=1e-6, atol=1e-6)
    # closed form: -2·slope·sign(x)/(slope|x|+1)^3
    torch.testing.assert_close(gg, -20.0 * x.detach().sign() / (10.0 * x.detach().abs() + 1.0) ** 3)


def test_smooth_mode_backward_matches_primitive_gradcheck_and_gradgradcheck():
    x = (torch.rand(12, dtype=torch.float64) - 0.5).requires_grad_()
    f = lambda z: fast_sigmoid_spike.apply(z, 10.0, False)  # noqa: E731
    assert torch.autograd.gradcheck(f, (x,))
    assert torch.autograd.gradgradcheck(f, (x,))


def test_surrogate_is_a_spikingjelly_surrogate():
    from spikingjelly.activation_based import surrogate as sj_surrogate

    assert isinstance(FastSigmoid(), sj_surrogate.SurrogateFunctionBase)
    assert issubclass(DecolleLIFNode, sj_neuron.BaseNode)


# --------------------------------------------------------------------------- neuron
def _manual_lif(x: torch.Tensor, w: float, b: float, alpha=0.95, beta=0.9, arp=0.65, wrp=1.0, gain=10.0):
    """Plain-Python transcription of DECOLLE LIFLayer.forward for one scalar neuron."""
    q = p = r = s = 0.0
    us = []
    for x_t in x.tolist():
        q_new = beta * q + (1 - beta) * x_t * gain
        p = alpha * p + (1 - alpha) * q
        q = q_new
        r = arp * r - (1 - arp) * s * wrp
        u = w * p + b + r
        s = 1.0 if u > 0 else 0.0
        us.append(u)
    return torch.tensor(us, dtype=torch.float64)


@pytest.mark.parametrize("mode", ["s", "m"])
def test_node_matches_decolle_recursion_golden(mode):
    torch.manual_seed(0)
    x = (torch.rand(40) < 0.3).double()
    lin = nn.Linear(1, 1).double()
    with torch.no_grad():
        lin.weight.fill_(3.0)
        lin.bias.fill_(-0.05)
    node = DecolleLIFNode(lin, input_gain=10.0)
    expected = _manual_lif(x, 3.0, -0.05)
    xs = x.view(40, 1, 1)
    if mode == "m":
        (u,), _ = node.multi_step_functional_forward((xs,), node.materialize_states((xs,), node.initial_state(), "m"))
        u = u.flatten()
    else:
        st, us = node.initial_state(), []
        for t in range(40):
            st = node.materialize_states((xs[t],), st, "s")
            (u_t,), st = node.single_step_functional_forward((xs[t],), st)
            us.append(u_t)
        u = torch.stack(us).flatten()
    torch.testing.assert_close(u, expected, rtol=1e-12, atol=1e-12)
    # the refractory trace really acts: some steps spiked, and U dips right after a spike
    spikes = (expected > 0).nonzero().flatten()
    assert len(spikes) > 0


def test_folded_blocks_carry_state_exactly():
    torch.manual_seed(1)
    conv = nn.Conv2d(2, 3, 3, padding=1).double()
    node = DecolleLIFNode(conv, input_gain=10.0)
    x = (torch.rand(12, 4, 2, 5, 5) < 0.2).double()
    (u_all,), st_all = node.multi_step_functional_forward((x,), node.initial_state())
    (u_a,), st = node.multi_step_functional_forward((x[:5],), node.initial_state())
    (u_b,), st_b = node.multi_step_functional_forward((x[5:],), st)
    torch.testing.assert_close(torch.cat([u_a, u_b]), u_all, rtol=1e-12, atol=1e-12)
    for a, b in zip(st_all, st_b, strict=True):
        torch.testing.assert_close(torch.as_tensor(a), torch.as_tensor(b), rtol=1e-12, atol=1e-12)


def test_stateful_spikingjelly_api_matches_functional():
    torch.manual_seed(2)
    node = DecolleLIFNode(nn.Linear(6, 4).double(), step_mode="m")
    x = (torch.rand(9, 3, 6) < 0.4).double()
    u1 = node(x)
    u2 = node(x)  # continues from the stored state
    sj_functional.reset_net(node)
    u3 = node(x)
    torch.testing.assert_close(u1, u3)
    assert not torch.allclose(u1, u2)
    (uf,), _ = node.multi_step_functional_forward((x,), node.initial_state())
    torch.testing.assert_close(u1, uf)


def test_node_parameters_are_configurable():
    node = DecolleLIFNode(nn.Linear(2, 2), alpha=0.5, beta=0.25, alpha_refractory=0.0, w_refractory=2.0,
                          v_threshold=0.3, input_gain=4.0, surrogate_function=FastSigmoid(slope=3.0))
    assert (node.alpha, node.beta, node.alpha_refractory, node.w_refractory, node.v_threshold, node.input_gain) == (
        0.5, 0.25, 0.0, 2.0, 0.3, 4.0)
    assert node.surrogate_function.slope == 3.0
    with pytest.raises(ValueError):
        DecolleLIFNode(nn.Linear(2, 2), alpha=1.5)


# --------------------------------------------------------------------------- networks
@pytest.mark.parametrize("shape,features", [((2, 32, 16), 1024), ((2, 80, 30), 3840)])
def test_sn22_feature_sizes(shape, features):
    model = build_model("sn22_snn", shape, ways=5)
    assert model.feature_size == features
    assert model.layers[-1].synapse.in_features == features
    assert [type(layer.synapse).__name__ for layer in model.layers] == ["Conv2d"] * 3 + ["Linear"]
    assert model.layers[0].input_gain == 10.0 and model.layers[1].input_gain == 1.0
    cnn = build_model("sn22_cnn", shape, ways=5)
    assert cnn.feature_size == features


@pytest.mark.parametrize("pooling", ["avg", "max"])
@pytest.mark.parametrize("inter_layer", ["spike", "softsign"])
def test_folded_equals_stepwise_outputs_and_gradients(pooling, inter_layer):
    torch.manual_seed(3)
    model = SN22ConvSNN((2, 16, 8), 3, channels=(4, 5, 6), pooling=pooling, burn_in=4,
                        inter_layer=inter_layer).double()
    x = (torch.rand(10, 3, 2, 16, 8) < 0.3).double()
    initialise(model, "lsuv", x, zero_output=False)
    grads = {}
    for mode, block in (("s", None), ("m", None), ("m", 3)):
        model.step_mode, model.time_block = mode, block
        out = model(x)
        g = torch.autograd.grad((out**2).sum(), list(model.parameters()))
        grads[(mode, block)] = (out, g)
    ref_out, ref_g = grads[("s", None)]
    for key in (("m", None), ("m", 3)):
        out, g = grads[key]
        torch.testing.assert_close(out, ref_out, rtol=1e-10, atol=1e-10)
        for a, b in zip(g, ref_g, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10)
    assert any(gr.abs().sum() > 0 for gr in ref_g[:-2]), "no gradient reached the conv layers"


def test_burn_in_blocks_gradient_and_counts():
    assert resolve_burn_in(0.7, 100) == 70
    assert resolve_burn_in(70, 100) == 70
    assert resolve_burn_in(0.0, 10) == 0
    assert resolve_burn_in(200, 10) == 9
    with pytest.raises(ValueError):
        resolve_burn_in(1.5, 10)
    torch.manual_seed(4)
    model = SN22ConvSNN((2, 8, 8), 2, channels=(2, 2, 2), burn_in=5).double()
    x = (torch.rand(14, 2, 2, 8, 8) < 0.4).double().requires_grad_()
    model(x).sum().backward()
    assert x.grad[:5].abs().sum() == 0  # no gradient through the burn-in window
    # P uses the previous Q, so each of the 4 layers delays the input by one step
    assert x.grad[5:10].abs().sum() > 0
    assert x.grad[10:].abs().sum() == 0


def test_lsuv_init_reaches_unit_variance():
    torch.manual_seed(5)
    model = build_model("sn22_snn", (2, 32, 16), ways=5)
    x = (torch.rand(12, 5, 2, 32, 16) < 0.1).float()
    stats = initialise(model, "lsuv", x, generator=torch.Generator().manual_seed(0))
    assert len(stats) == 4
    for st in stats[:3]:
        assert abs(st["var"] - 1.0) <= 0.15 and abs(st["mean"]) <= 0.15, stats
    assert model.layers[3].synapse.weight.abs().sum() == 0  # zero readout (DECOLLE zeroes linear layers)
    stats = initialise(model, "lsuv", x, generator=torch.Generator().manual_seed(0), zero_output=False,
                       target_mean=-0.5)
    for st in stats:
        assert abs(st["var"] - 1.0) <= 0.15 and abs(st["mean"] + 0.5) <= 0.15, stats


def test_default_init_is_deterministic_and_bounded():
    a = build_model("sn22_snn", (2, 32, 16), ways=5)
    b = build_model("sn22_snn", (2, 32, 16), ways=5)
    initialise(a, "default", generator=torch.Generator().manual_seed(7))
    initialise(b, "default", generator=torch.Generator().manual_seed(7))
    for (n, p), q in zip(a.named_parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q), n
    w = a.layers[1].synapse.weight
    assert w.abs().max() <= 1 / (32 * 25) ** 0.5 + 1e-7
    assert all(layer.synapse.bias.abs().sum() == 0 for layer in a.layers)


def test_cnn_sums_events_over_time():
    torch.manual_seed(6)
    cnn = build_model("sn22_cnn", (2, 32, 16), ways=5).double()
    x = torch.rand(7, 3, 2, 32, 16, dtype=torch.float64)
    out = cnn(x)
    torch.testing.assert_close(out, cnn(x.flip(0)))  # time order is irrelevant: a static image
    assert out.shape == (3, 5)


def test_registry_and_layer_groups():
    assert {"sn22_snn", "sn22_cnn", "sn22_cnn_softsign"} <= set(model_names())
    soft = build_model("sn22_cnn_softsign", (2, 32, 16), ways=5)
    assert soft.inter_layer == "softsign"
    groups = layer_parameter_groups(soft)
    assert groups[0] == ["layers.0.synapse.weight", "layers.0.synapse.bias"]
    assert len(groups) == 4
    with pytest.raises(ValueError, match="unknown model"):
        build_model("nope", (2, 32, 16), ways=5)
    with pytest.raises(ValueError, match="too small"):
        build_model("sn22_snn", (2, 4, 4), ways=5)


@pytest.mark.parametrize("mode", ["s", "m"])
def test_head_split_equals_forward(mode):
    torch.manual_seed(8)
    model = SN22ConvSNN((2, 16, 8), 4, channels=(3, 4, 5), burn_in=0.4, step_mode=mode).double()
    x = (torch.rand(10, 3, 2, 16, 8) < 0.3).double()
    initialise(model, "lsuv", x, zero_output=False)
    torch.testing.assert_close(model.head_forward(model.head_inputs(x)), model(x), rtol=1e-12, atol=1e-12)
    head = model.new_head(2)
    assert head.synapse.weight.shape == (2, model.feature_size) and head.synapse.weight.abs().sum() == 0
    assert head.alpha == model.layers[-1].alpha


def test_input_pool_sums_events_and_shrinks_features():
    from metasnn.snn import pool_input

    x = torch.ones(3, 2, 2, 8, 6)
    pooled = pool_input(x, 2)
    assert pooled.shape == (3, 2, 2, 4, 3) and torch.all(pooled == 4.0)
    assert build_model("sn22_snn", (2, 80, 30), 5, input_pool=2).feature_size == 128 * 5 * 1
    assert build_model("sn22_cnn", (2, 80, 30), 5, input_pool=2).feature_size == 128 * 5 * 1
    model = build_model("sn22_snn", (2, 80, 30), 5, input_pool=2, channels=(2, 2, 2))
    assert model(torch.rand(4, 2, 2, 80, 30)).shape == (2, 5)


def test_dt_scaling_of_decays():
    model = build_model("sn22_snn", (2, 32, 16), 5, dt_ms=5.0)
    assert model.layers[0].alpha == pytest.approx(0.95**5)
    assert model.layers[0].beta == pytest.approx(0.9**5)
    assert model.layers[0].alpha_refractory == pytest.approx(0.65**5)


# --------------------------------------------------------------------------- functional step, traces
def test_decolle_step_is_the_node_step_and_takes_per_neuron_parameters():
    from metasnn.snn import DecolleParams, DecolleState, decolle_step

    torch.manual_seed(9)
    node = DecolleLIFNode(nn.Linear(5, 3).double(), alpha=0.8, beta=0.6, v_threshold=0.2, input_gain=4.0)
    x = (torch.rand(6, 2, 5) < 0.5).double()
    st_node = st_fn = node.initial_state()
    for t in range(6):
        st_node = node.materialize_states((x[t],), st_node, "s")
        (u_node,), st_node = node.single_step_functional_forward((x[t],), st_node)
        u_fn, st_fn = decolle_step(x[t], node.materialize_states((x[t],), st_fn, "s"), node.params, node.synapse)
        assert torch.equal(u_node, u_fn)
    assert isinstance(st_fn, DecolleState) and torch.equal(st_fn.s, st_node[4])
    # per-neuron decays and thresholds broadcast over the batch; identity synapse when none is given
    params = DecolleParams(alpha=torch.tensor([0.0, 0.5]), beta=torch.tensor([0.0, 0.5]), alpha_refractory=0.0,
                           w_refractory=0.0, threshold=torch.tensor([0.5, 0.5]), spike=FastSigmoid(),
                           p_from_new_q=True)
    u, st = decolle_step(torch.ones(1, 2), DecolleState(0.0, 0.0, 0.0, 0.0, 0.0), params)
    assert u.tolist() == [[1.0, 0.25]] and st.s.tolist() == [[1.0, 0.0]]


def test_exponential_trace_hand_computed():
    from metasnn.snn import exponential_trace, trace_step

    s = torch.tensor([1.0, 0.0, 1.0, 0.0]).view(4, 1)
    assert exponential_trace(s, 0.5).flatten().tolist() == [1.0, 0.5, 1.25, 0.625]
    assert exponential_trace(s, 0.5, 0.5).flatten().tolist() == [0.5, 0.25, 0.625, 0.3125]  # running average
    assert trace_step(torch.tensor(2.0), torch.tensor(1.0), 0.25, 3.0).item() == 3.5


@pytest.mark.parametrize("mode", ["s", "m"])
def test_layer_potentials_upto_stops_early_with_the_same_numbers(mode):
    torch.manual_seed(10)
    x = (torch.rand(8, 2, 2, 16, 8) < 0.3).float()
    model = SN22ConvSNN((2, 16, 8), 3, channels=(3, 4), burn_in=0.25, step_mode=mode, time_block=3)
    full = model.layer_potentials(x)
    for i in range(len(full)):
        part = model.layer_potentials(x, upto=i)
        assert len(part) == i + 1 and all(torch.equal(a, b) for a, b in zip(part, full, strict=False))
    cnn = build_model("sn22_cnn", (2, 16, 8), 3, channels=(3, 4))
    full = cnn.layer_potentials(x)
    assert len(cnn.layer_potentials(x, upto=1)) == 2 and torch.equal(cnn.layer_potentials(x, upto=1)[1], full[1])


def test_box_and_fast_sigmoid_modules_share_one_surrogate_module():
    from metasnn.snn.surrogate import Box, box_spike

    x = torch.tensor([-0.7, -0.2, 0.3, 0.9], requires_grad=True)
    (g,) = torch.autograd.grad(Box(0.5)(x).sum(), x)
    assert g.tolist() == [0.0, 1.0, 1.0, 0.0]
    assert torch.equal(Box(0.5, spiking=False)(x), box_spike.apply(x, 0.5, False))
    assert torch.equal(FastSigmoid(3.0, spiking=False)(x), fast_sigmoid_spike.apply(x, 3.0, False))
    assert FastSigmoid(3.0).slope == 3.0 and Box(0.25).half_width == 0.25
