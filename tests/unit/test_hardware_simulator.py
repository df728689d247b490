"""Phase simulator on hand-computed cases, rate scaling, HP knobs, rates files."""

from __future__ import annotations

import json

import pytest
import yaml

from metasnn.errors import ConfigError
from metasnn.hardware.chip import CHIPS_DIR, load_chip, parse_chip
from metasnn.hardware.mapping import map_network
from metasnn.hardware.rates import load_rates, parse_rates, placeholder_rates, write_rates
from metasnn.hardware.simulator import simulate

TOY = {  # a 2 x 2 mesh chip with round numbers, so every count below can be computed by hand
    "n_cores": 4, "mesh_rows": 2, "mesh_cols": 2, "clock_hz": 1.0e6, "axons_per_core": 4, "neurons_per_core": 4,
    "weight_memory_bytes": 1024, "weight_bits": 8, "max_axon_passes": 1, "neuron_allocation_power_of_two": False,
    "energy_per_synaptic_op_j": 1e-12, "synaptic_ops_per_cycle": 1, "axon_pass_cycles": 0,
    "weight_updates_per_cycle": 1, "energy_per_weight_update_j": 2e-12, "neuron_updates_per_cycle": 1,
    "energy_per_neuron_update_j": 3e-12, "packet_payload_bytes": 8, "packet_header_bytes": 4, "spikes_per_packet": 1,
    "value_bytes": 2, "cycles_per_packet": 1, "cycles_per_hop": 1, "energy_per_packet_j": 4e-12,
    "energy_per_hop_j": 5e-12, "phase_sync_cycles": 10, "meta_params_per_core": 4, "chip_static_power_w": 0.0,
    "board_power_w": 1.0, "io_port_row": 0, "io_port_col": -1,
}


@pytest.fixture
def toy():
    data = yaml.safe_load((CHIPS_DIR / "tianjic.yaml").read_text())
    for key, value in TOY.items():
        data["constants"][key]["value"] = value
    chip = parse_chip(data, "toy.yaml")
    mapping = map_network([6, 4, 2], chip)  # fc1 on cores 0,1 (fan-in split 3+3), fc2 on core 2
    rates = parse_rates({"format": "metasnn-spike-rates/1", "model": "toy", "mode": "inference", "timesteps": 1,
                         "layers": [{"name": "fc1", "n_in": 6, "n_out": 4, "input_rate": 0.5, "output_rate": 0.25},
                                    {"name": "fc2", "n_in": 4, "n_out": 2, "input_rate": 0.25, "output_rate": 0.5}]},
                        "toy_rates.json")
    return mapping, rates


def test_toy_mapping_is_two_layers_on_three_cores(toy):
    mapping, _ = toy
    assert mapping.cores_per_layer == [2, 1]
    assert [(t.row, t.col) for lm in mapping.layers for t in lm.tiles] == [(0, 0), (0, 1), (1, 0)]


def test_inference_hand_computed(toy):
    mapping, rates = toy
    rep = simulate(mapping, rates, "inference")
    phases = {p.name: p for p in rep.phases}
    # input: port (0,-1) -> core0 (1 hop) and core1 (2 hops), 3 inputs x 0.5 each
    assert phases["input"].packets == 3 and phases["input"].packet_hops == 4.5
    assert phases["input"].router_cycles == 3 + 2 and phases["input"].cycles == 15
    # partial sums: AD 3 x 0.5 x 4 = 6 ops per core; core1 sends ceil(4 x 2 B / 8 B) = 1 packet, 1 hop
    assert phases["fwd_partial:fc1"].ad_cycles == 6 and phases["fwd_partial:fc1"].packets == 1
    assert phases["fwd_partial:fc1"].cycles == 6 + 2 + 10
    # merge on core0: 4 adds, 4 neurons, 4 x 0.25 = 1 spike packet to core2 (1 hop)
    assert phases["fwd_merge:fc1"].cycles == 4 + 4 + 2 + 10
    # fc2 on core2: 4 x 0.25 x 2 = 2 ops, 2 neurons, 2 x 0.5 = 1 packet to the port (2 hops)
    assert phases["fwd:fc2"].cycles == 2 + 2 + 3 + 10
    m = rep.metrics
    assert m["cycles_per_sample"] == 70 and m["latency_s"] == pytest.approx(70e-6)
    assert m["route_cost_packets"] == 6 and m["packet_hops"] == 8.5 and m["route_bytes"] == 6 * 12
    assert m["synaptic_ops"] == 18 and m["neuron_updates"] == 6
    assert m["energy_dynamic_j"] == pytest.approx((18 * 1 + 6 * 3 + 6 * 4 + 8.5 * 5) * 1e-12)
    assert m["energy_board_j"] == pytest.approx(70e-6) and m["energy_static_j"] == 0
    assert m["compute_ratio"] == pytest.approx(14 / 32)
    assert m["throughput_samples_per_s"] == pytest.approx(1e6 / 70)
    assert m["cycles_per_sample_overlapped"] == (5 + 10) + (6 + 10) + (4 + 10) + (3 + 10)


def test_learning_modes_hand_computed(toy):
    mapping, rates = toy
    lp = simulate(mapping, rates, "LP").metrics
    assert lp["cycles_per_sample"] == 70 + 16 and lp["route_cost_packets"] == 6
    assert lp["route_cost_learning_packets"] == 0 and lp["weight_updates"] == 14
    gp = simulate(mapping, rates, "GP").metrics
    assert gp["cycles_per_sample"] == 70 + 15 + 12 + 28 + 20 + 22 + 22
    assert gp["route_cost_packets"] == 9 and gp["route_cost_learning_packets"] == 3
    hp = simulate(mapping, rates, "HP", hp_global_every=2, hp_global_layers="all").metrics
    assert hp["cycles_per_sample"] == pytest.approx(86 + (119 + 19) / 2)
    assert hp["route_cost_packets"] == pytest.approx(6 + (3 + 3) / 2)
    out = simulate(mapping, rates, "HP", hp_global_every=1, hp_global_layers="output").metrics
    assert out["cycles_per_sample"] == 86 + 15 + 12 + 18 + 18 + 17
    assert out["route_cost_packets"] == 6 + 1 + 1


def test_doubling_rates_doubles_event_driven_counts(toy):
    mapping, rates = toy
    a = simulate(mapping, rates, "inference")
    b = simulate(mapping, rates.scaled(2.0), "inference")
    pa = {p.name: p for p in a.phases}
    pb = {p.name: p for p in b.phases}
    for name in ("input", "fwd:fc2"):
        assert pb[name].packets == 2 * pa[name].packets
        assert pb[name].packet_hops == 2 * pa[name].packet_hops
    assert pb["fwd_merge:fc1"].packets == 2 * pa["fwd_merge:fc1"].packets
    assert pb["fwd_partial:fc1"].packets == pa["fwd_partial:fc1"].packets  # dense partial sums do not scale
    fwd = lambda r: sum(p.synaptic_ops for p in r.phases if not p.name.startswith("fwd_merge"))  # noqa: E731
    assert fwd(b) == 2 * fwd(a)


def test_hp_knobs_on_wu22_network():
    chip = load_chip("tianjic")
    m = map_network([784, 512, 10], chip)
    r = placeholder_rates([784, 512, 10], 3, "HP")
    lp, gp = simulate(m, r, "LP").metrics, simulate(m, r, "GP").metrics
    hp = {(k, lay): simulate(m, r, "HP", hp_global_every=k, hp_global_layers=lay).metrics
          for k in (1, 4, 16, 1024) for lay in ("all", "output")}
    # full per-sample global path: HP routes and waits at least as much as GP
    assert hp[(1, "all")]["route_cost_packets"] >= gp["route_cost_packets"]
    assert hp[(1, "all")]["throughput_samples_per_s"] < gp["throughput_samples_per_s"]
    # amortising or restricting the global path lowers HP's cost monotonically, towards LP
    for lay in ("all", "output"):
        rc = [hp[(k, lay)]["route_cost_packets"] for k in (1, 4, 16, 1024)]
        tc = [hp[(k, lay)]["throughput_samples_per_s"] for k in (1, 4, 16, 1024)]
        assert rc == sorted(rc, reverse=True) and tc == sorted(tc)
        assert lp["throughput_samples_per_s"] > tc[-1] > 0.95 * lp["throughput_samples_per_s"]
    assert hp[(1, "output")]["route_cost_learning_packets"] < hp[(1, "all")]["route_cost_learning_packets"] / 10
    assert hp[(16, "all")]["route_cost_learning_packets"] == pytest.approx(
        hp[(1, "all")]["route_cost_learning_packets"] / 16)


def test_simulate_rejects_bad_knobs_and_depth(toy):
    mapping, rates = toy
    with pytest.raises(ConfigError, match="hp_global_every"):
        simulate(mapping, rates, "HP", hp_global_every=0)
    with pytest.raises(ConfigError, match="hp_global_layers"):
        simulate(mapping, rates, "HP", hp_global_layers="hidden")
    with pytest.raises(ConfigError, match="depths must match"):
        simulate(map_network([6, 4, 4, 2], mapping.chip), rates, "LP")


def test_rates_round_trip_and_validation(tmp_path):
    path = tmp_path / "rates.json"
    layers = [{"name": "fc1", "n_in": 784, "n_out": 512, "input_rate": 0.2, "output_rate": 0.05},
              {"name": "fc2", "n_in": 512, "n_out": 10, "input_rate": 0.05, "output_rate": 0.1}]
    write_rates(path, model="wu22_hp", mode="HP", timesteps=3, layers=layers, note="test")
    r = load_rates(path)
    assert r.sizes == [784, 512, 10] and r.mode == "HP" and not r.is_placeholder
    assert r.label() == "measured:rates.json"
    bad = json.loads(path.read_text())
    bad["layers"][1]["input_rate"] = 0.06
    path.write_text(json.dumps(bad))
    with pytest.raises(ConfigError, match=r"rates.json: layers\[0\].output_rate"):
        load_rates(path)
    bad["layers"][1]["input_rate"] = 1.5
    path.write_text(json.dumps(bad))
    with pytest.raises(ConfigError, match=r"layers\[1\].input_rate = 1.5 is outside"):
        load_rates(path)
    with pytest.raises(ConfigError, match="rates file not found"):
        load_rates(tmp_path / "missing.json")


def test_placeholder_rates_are_labelled_and_rank_fires_once():
    rate = placeholder_rates([784, 1024, 10], 8, coding="rate")
    rank = placeholder_rates([784, 1024, 10], 8, coding="rank")
    assert rate.is_placeholder and rate.label() == "placeholder" and "PLACEHOLDER" in rate.note
    assert all(lr.output_rate * 8 <= 1.0 for lr in rank.layers)
