"""Our cost columns (metasnn.evaluation.cost) against NeuroBench 2.3.0's metrics on small models: equal where
both measure the same thing, and the documented relation where they legitimately differ."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from metasnn.evaluation.cost import effective_ops, measure_cost
from metasnn.evaluation.neurobench import NEUROBENCH_INSTALL, neurobench_cost
from metasnn.snn.surrogate import FastSigmoid
from tests.unit.test_cost import DirectWeights

ROOT = Path(__file__).resolve().parents[2]


def _spiking_mlp():
    """Linear → spike → Linear → spike → Linear, one spike module per layer, some weights exactly zero."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), FastSigmoid(), nn.Linear(5, 4), FastSigmoid(), nn.Linear(4, 3))
    with torch.no_grad():
        model[0].weight[:, 0] = 0.0  # a dead input: 5 of 30 weights
        model[2].weight[1, :2] = 0.0  # 2 of 20
    x = (torch.rand(8, 6) < 0.5).float()
    return model, x


def test_what_neurobench_metrics_import():
    """The metric and model modules import torch, snntorch, numpy (and tqdm for Benchmark) — not torchaudio,
    numba, llvmlite, tonic or nir, which its metadata requires (hence --no-deps)."""
    code = ("import sys, neurobench.metrics.static, neurobench.metrics.workload, neurobench.models, "
            "neurobench.benchmarks; print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    loaded = set(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split())
    assert {"torch", "snntorch", "numpy"} <= loaded
    assert not loaded & {"torchaudio", "numba", "llvmlite", "tonic", "nir", "torchvision"}


def test_both_agree_on_a_spiking_mlp():
    model, x = _spiking_mlp()
    ours = measure_cost(model, x, batch_dim=0)
    ref = neurobench_cost(model, x, batch_dim=0)
    # footprint and connection sparsity: NeuroBench's, exactly
    assert ours.param_bytes == ref["footprint"] == 4 * sum(p.numel() for p in model.parameters())
    assert ours.connection_sparsity == ref["connection_sparsity"] == round(7 / (30 + 20 + 12), 4)
    # synaptic operations, per layer and in total, exactly (zero weights are no operations)
    by_layer = ref["synaptic_operations_by_layer"]
    for layer in ours.layers:
        nb = by_layer[layer.name]
        assert layer.effective_ops == nb["Effective_ACs"] + nb["Effective_MACs"]
        assert layer.dense_ops == nb["Dense"]
        assert (layer.op_kind == "AC") == (nb["Effective_MACs"] == 0)  # every input here is binary
    assert ours.synaptic_ops == pytest.approx(sum(ref["synaptic_operations"][k] for k in ("Effective_ACs", "Effective_MACs")))
    first = by_layer["0"]  # by hand: each input event reaches the targets it has a non-zero weight to
    events = x.clone()
    events[:, 0] = 0.0  # input 0's weights are all zero
    assert first["Effective_ACs"] == pytest.approx(float(events.sum()) * 5 / len(x))
    assert first["Dense"] == 6 * 5
    # activation sparsity: one spike module per layer, so the per-layer values are the same ...
    assert ours.activation_sparsity == pytest.approx(ref["activation_sparsity_by_layer"])
    assert set(ours.activation_sparsity) == {"1", "3"}
    # ... our column is their mean over layers, NeuroBench's scalar is pooled over elements (5 vs 4 neurons)
    assert ours.columns()["activation_sparsity"] == pytest.approx(
        sum(ours.activation_sparsity.values()) / 2, abs=5e-5)
    pooled = (5 * ours.activation_sparsity["1"] + 4 * ours.activation_sparsity["3"]) / 9
    assert ref["activation_sparsity"] == pytest.approx(pooled)


def test_conv_snn_ops_agree_and_a_shared_spike_module_is_not_attributed_by_neurobench():
    from metasnn.snn import build_model

    torch.manual_seed(0)
    model = build_model("sn22_snn", (2, 8, 8), 3, channels=(2, 3), burn_in=0.5)
    x = (torch.rand(6, 4, 2, 8, 8) < 0.3).float()
    ours = measure_cost(model, x)
    ref = neurobench_cost(model, x)
    assert ours.param_bytes == ref["footprint"]
    for layer in ours.layers:  # DECOLLE synapses act on the membrane trace P: MACs, padding taps excluded
        nb = ref["synaptic_operations_by_layer"][layer.name]
        assert layer.op_kind == "MAC" and nb["Effective_ACs"] == 0
        assert (layer.effective_ops, layer.dense_ops) == (nb["Effective_MACs"], nb["Dense"])
    # NeuroBench finds the one surrogate instance every layer shares under each name that holds it and pools
    # every call (own spikes S and the passed-on H(pool(U)) alike): it cannot give per-layer values; ours can
    assert set(ref["activation_sparsity_by_layer"]) == {"surrogate", "surrogate_function"}
    assert all(v == pytest.approx(ref["activation_sparsity"]) for v in ref["activation_sparsity_by_layer"].values())
    assert set(ours.activation_sparsity) == {f"layers.{i}" for i in range(3)}


def test_a_relu_network_has_activation_sparsity_for_neurobench_but_not_for_us():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(32, 2))
    x = torch.rand(3, 1, 4, 4)
    ours, ref = measure_cost(model, x, batch_dim=0), neurobench_cost(model, x, batch_dim=0)
    relu = model[1](model[0](x))
    assert ref["activation_sparsity"] == pytest.approx(float((relu == 0).float().mean()))  # ReLU zeros count
    assert ours.activation_sparsity == {} and ours.columns()["activation_sparsity"] is None  # spikes only
    assert ours.synaptic_ops == pytest.approx(ref["synaptic_operations"]["Effective_MACs"])
    assert ours.dense_ops == ref["synaptic_operations"]["Dense"] == 2 * 10 * 10 + 32 * 2  # 3x3 pad 1 on 4x4: 10 taps/dim


def test_weights_multiplied_directly_have_no_neurobench_synapses_either():
    model, x = DirectWeights(FastSigmoid()), torch.ones(4, 3)
    ours, ref = measure_cost(model, x, batch_dim=0), neurobench_cost(model, x, batch_dim=0)
    assert ours.columns()["synaptic_ops_per_sample"] is None and ref["synaptic_operations_by_layer"] == {}
    assert ours.connection_sparsity is None and ref["connection_sparsity"] is None  # NeuroBench would divide 0 by 0
    assert ours.param_bytes == ref["footprint"] == 24


def test_missing_neurobench_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "neurobench", None)  # import neurobench -> ImportError
    with pytest.raises(ImportError, match="pip install --no-deps neurobench==2.3.0"):
        measure_cost(nn.Sequential(nn.Linear(2, 2)), torch.ones(1, 2), batch_dim=0)
    assert NEUROBENCH_INSTALL == "python -m pip install --no-deps neurobench==2.3.0"


def test_install_scripts_pin_neurobench_without_dependencies():
    for script in (ROOT / "scripts" / "install.sh", ROOT / "envs" / "metasnn.post-deploy.sh"):
        assert "--no-deps neurobench==2.3.0" in script.read_text()


def test_ours_counts_the_weights_that_ran_neurobench_the_stored_ones():
    """With fast weights (a MAML inner loop through torch.func.functional_call) ours binarises the weights the
    run used; NeuroBench's metric class binarises the module's stored weights after the run."""
    model = nn.Sequential(nn.Linear(3, 2, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]]))  # 2 stored zeros
    fast = {"0.weight": torch.ones(2, 3)}  # adaptation moved them off 0

    def forward(m, x):
        return torch.func.functional_call(m, fast, (x,))

    x = torch.ones(1, 3)
    ours, ref = measure_cost(model, x, batch_dim=0, forward=forward), neurobench_cost(model, x, batch_dim=0, forward=forward)
    assert ours.synaptic_ops == 6 and ref["synaptic_operations"]["Effective_ACs"] == 4
    assert ours.dense_ops == ref["synaptic_operations"]["Dense"] == 6


@pytest.mark.parametrize("layer, shape", [
    (nn.Conv2d(3, 4, 3, padding=1), (10, 3, 9, 7)),               # 'same' conv: padding taps are no operations
    (nn.Conv2d(3, 4, 3, stride=2, padding=1), (6, 3, 9, 8)),      # stride 2 (the HP features)
    (nn.Conv2d(2, 3, 5, padding=2, bias=False), (2, 4, 2, 12, 12)),  # folded [T, B, C, H, W] input
    (nn.Conv1d(2, 3, 3, padding=1), (5, 2, 11)),
    (nn.Linear(7, 5), (4, 3, 7)),                                # [T, B, features]
])
def test_effective_ops_on_the_summed_sample_equal_neurobench_single_layer_macs(layer, shape):
    """The linearity shortcut counts exactly what NeuroBench's single_layer_MACs counts on the whole batch:
    sparse non-binary inputs (negative values too) and zero weights included."""
    from neurobench.metrics.utils.layers import single_layer_MACs

    torch.manual_seed(1)
    with torch.no_grad():
        layer.weight[layer.weight.abs() < 0.05] = 0.0
    x = torch.randn(*shape) * (torch.rand(*shape) < 0.3)
    folded = x.reshape(-1, *x.shape[-(layer.weight.dim() - 1):]) if isinstance(layer, nn.Conv2d | nn.Conv1d) else x
    assert effective_ops(x, layer) == single_layer_MACs(folded, layer)[0] > 0
