"""Hand-computed cost of tiny networks."""

import pytest
import torch
from torch import nn

from metasnn.evaluation.cost import measure_cost


class Heaviside(nn.Module):
    def forward(self, x):
        return (x > 0).float()


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
    assert first.op_kind == "MAC" and first.effective_ops == pytest.approx(8)
    assert second.op_kind == "AC" and second.input_density == pytest.approx(0.5)
    assert second.effective_ops == pytest.approx(2)  # two spikes x one target
    assert cost.activation_sparsity["1"] == pytest.approx(0.5)
    cols = cost.columns()
    assert cols["synaptic_ops_per_sample"] == pytest.approx(10) and cols["op_kind"] == "AC+MAC"


def test_conv_effective_ops_scale_with_input_density():
    conv = nn.Conv2d(1, 2, 3, padding=1, bias=False)
    x = torch.zeros(1, 1, 4, 4)
    dense = measure_cost(nn.Sequential(conv), torch.ones(1, 1, 4, 4), batch_dim=0).layers[0]
    x[0, 0, 0, 0] = 1.0
    sparse = measure_cost(nn.Sequential(conv), x, batch_dim=0).layers[0]
    assert dense.dense_ops == pytest.approx(2 * 16 * 9)
    assert sparse.effective_ops == pytest.approx(dense.dense_ops / 16)


def test_declared_state_is_used():
    class WithState(nn.Sequential):
        def state_elements_per_sample(self, x):
            return 7

    cost = measure_cost(WithState(nn.Linear(2, 2)), torch.ones(3, 2), batch_dim=0)
    assert cost.state_bytes == 28 and cost.samples == 3
