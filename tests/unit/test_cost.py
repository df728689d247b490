"""Hand-computed cost of tiny networks."""

import pytest
import torch
from torch import nn

from metasnn.evaluation.cost import measure_cost
from metasnn.snn.surrogate import FastSigmoid


def Heaviside():
    return FastSigmoid()


def test_linear_on_spikes_counts_accumulates_per_event():
    lin = nn.Linear(4, 3, bias=False)
    model = nn.Sequential(lin)
    x = torch.tensor([[1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0]])  # 3 events over 2 samples
    cost = measure_cost(model, x, batch_dim=0)
    (layer,) = cost.layers
    assert layer.op_kind == "AC"
    assert layer.dense_ops == pytest.approx(4 * 3)  # per sample: 4 inputs x 3 targets
    assert layer.effective_ops == pytest.approx(3 * 3 / 2)  # 3 events x fan-out 3, per sample
    assert cost.param_bytes == 12 * 4


def test_dense_inputs_count_macs_and_spiking_layers_report_sparsity():
    model = nn.Sequential(nn.Linear(2, 4), Heaviside(), nn.Linear(4, 1))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]))
        model[0].bias.zero_()
    x = torch.tensor([[0.5, 0.25]])
    cost = measure_cost(model, x, batch_dim=0)
    first, second = cost.layers
    assert first.op_kind == "MAC" and first.dense_ops == pytest.approx(8)
    assert first.effective_ops == pytest.approx(4)  # each target has one non-zero weight: a zero weight is no synapse
    assert second.op_kind == "AC" and second.input_density == pytest.approx(0.5)
    assert second.effective_ops == pytest.approx(2)  # two spikes x one target
    assert cost.activation_sparsity["1"] == pytest.approx(0.5)
    cols = cost.columns()
    assert cols["synaptic_ops_per_sample"] == pytest.approx(6) and cols["op_kind"] == "AC+MAC"


def test_a_dead_non_spiking_layer_is_neither_a_spike_nor_an_accumulate():
    # a ReLU network whose first layer is dead: its all-zero output is binary-looking but not a spike train
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.MaxPool1d(1), nn.Linear(3, 1))
    with torch.no_grad():
        model[0].weight.fill_(-1.0)
        model[0].bias.zero_()
    cost = measure_cost(model, torch.tensor([[0.5, 0.25]]), batch_dim=0)
    assert cost.activation_sparsity == {}
    assert [layer.op_kind for layer in cost.layers] == ["MAC", "MAC"]
    assert cost.layers[1].effective_ops == 0.0


def _taps(n: int, k: int, pad: int, stride: int = 1) -> int:
    """In-bounds kernel taps summed over the outputs of one conv dimension (padding taps are no synapses)."""
    return sum(sum(0 <= o * stride - pad + t < n for t in range(k)) for o in range((n + 2 * pad - k) // stride + 1))


def test_conv_ops_count_each_event_once_per_target_it_reaches():
    conv = nn.Conv2d(1, 2, 3, padding=1, bias=False)
    dense = measure_cost(nn.Sequential(conv), torch.ones(1, 1, 4, 4), batch_dim=0).layers[0]
    assert dense.dense_ops == pytest.approx(2 * _taps(4, 3, 1) ** 2) == 2 * 10 * 10  # not 2 x 16 x 9: borders
    assert dense.effective_ops == pytest.approx(dense.dense_ops)
    corner, centre = torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4)
    corner[0, 0, 0, 0] = centre[0, 0, 1, 1] = 1.0
    assert measure_cost(nn.Sequential(conv), corner, batch_dim=0).layers[0].effective_ops == pytest.approx(2 * 4)
    assert measure_cost(nn.Sequential(conv), centre, batch_dim=0).layers[0].effective_ops == pytest.approx(2 * 9)


def test_declared_state_is_used():
    class WithState(nn.Sequential):
        def state_elements_per_sample(self, x):
            return 7

    cost = measure_cost(WithState(nn.Linear(2, 2)), torch.ones(3, 2), batch_dim=0)
    assert cost.state_bytes == 28 and cost.samples == 3


def _tiny_conv_snn():
    from metasnn.snn import build_model

    torch.manual_seed(0)
    model = build_model("sn22_snn", (2, 8, 8), 3, channels=(2, 3), burn_in=0.5)
    x = (torch.rand(6, 4, 2, 8, 8) < 0.3).float()
    return model, x


def test_conv_snn_sparsity_is_per_layer_from_the_shared_surrogate():
    """One surrogate instance computes every layer's spikes: each layer is counted once, by what it passes on."""
    model, x = _tiny_conv_snn()
    assert model.surrogate is model.layers[0].surrogate_function  # shared by every layer
    cost = measure_cost(model, x)
    with torch.no_grad():
        _, potentials = model.run(x, burn_in=0, record=True)
    expected = {}
    for i, u in enumerate(potentials[:-1]):  # conv layers pass on H(pool(U))
        s = model.surrogate(model.pool(u.flatten(0, 1)))
        expected[f"layers.{i}"] = float((s == 0).float().mean())
    expected[f"layers.{len(potentials) - 1}"] = float((potentials[-1] <= 0).float().mean())  # readout's own S
    assert cost.activation_sparsity == pytest.approx(expected)
    assert 0.0 < cost.mean_activation_sparsity < 1.0


def test_conv_snn_ops_and_state_from_its_geometry():
    model, x = _tiny_conv_snn()
    cost = measure_cost(model, x)
    steps = x.shape[0]
    # conv0 (2->2, 5x5 pad 2 on 8x8), conv1 (2->3 on 4x4), readout (12->3) per step: in-bounds taps only
    dense = steps * (2 * 2 * _taps(8, 5, 2) ** 2 + 3 * 2 * _taps(4, 5, 2) ** 2 + 3 * 2 * 2 * 3)
    assert cost.dense_ops == pytest.approx(dense)
    assert 0 < cost.synaptic_ops <= cost.dense_ops
    assert {layer.op_kind for layer in cost.layers} == {"MAC"}  # W acts on the membrane trace P, not spikes
    # Q, P of each node's input and U, R, S of its output, per sample, float32
    elements = (2 * 2 * 8 * 8 + 3 * 2 * 8 * 8) + (2 * 2 * 4 * 4 + 3 * 3 * 4 * 4) + (2 * 3 * 2 * 2 + 3 * 3)
    assert cost.state_bytes == 4 * elements
    assert cost.param_bytes == sum(p.numel() * 4 for p in model.parameters())


class DirectWeights(nn.Module):
    """Multiplies its weight tensor directly (no nn.Linear), then spikes with ``spike``."""

    def __init__(self, spike: nn.Module):
        super().__init__()
        self.w = nn.Parameter(torch.ones(2, 3))
        self.spike = spike

    def forward(self, x):
        return self.spike(x @ self.w.T)


def test_weights_multiplied_directly_leave_synaptic_ops_empty():
    cost = measure_cost(DirectWeights(Heaviside()), torch.ones(4, 3), batch_dim=0)
    cols = cost.columns()
    assert cols["synaptic_ops_per_sample"] is None and cols["op_kind"] is None  # not measurable, not 0
    assert any("no synapse module" in n for n in cost.notes)
    assert cols["param_bytes"] == 24


def test_a_given_spike_trace_replaces_the_hooked_spikes():
    model = nn.Sequential(nn.Linear(2, 4), Heaviside())
    cost = measure_cost(model, torch.ones(1, 2), batch_dim=0, spike_trace={"layer": torch.tensor([1.0, 0.0, 0.0, 0.0])})
    assert cost.activation_sparsity == {"layer": 0.75}


def test_mean_columns_over_seeds():
    from metasnn.evaluation.cost import mean_columns

    runs = [{"synaptic_ops_per_sample": 10.0, "op_kind": "MAC", "activation_sparsity": 0.5, "param_bytes": 8,
             "state_bytes": None},
            {"synaptic_ops_per_sample": 20.0, "op_kind": "AC", "activation_sparsity": None, "param_bytes": 8,
             "state_bytes": None}]
    assert mean_columns(runs) == {"synaptic_ops_per_sample": 15.0, "op_kind": "AC+MAC", "activation_sparsity": 0.5,
                                  "param_bytes": 8, "state_bytes": None}
    assert mean_columns([{}]) == dict.fromkeys(mean_columns(runs))
