"""Chip files (schema, provenance of every constant) and the layer -> core mapper."""

from __future__ import annotations

import copy

import pytest
import yaml

from metasnn.errors import ConfigError
from metasnn.hardware.chip import CHIPS_DIR, STATUSES, available_chips, load_chip, parse_chip
from metasnn.hardware.mapping import map_network


def _raw(name: str = "tianjic") -> dict:
    return yaml.safe_load((CHIPS_DIR / f"{name}.yaml").read_text())


@pytest.mark.parametrize("name", ["tianjic", "loihi"])
def test_presets_load_and_every_constant_has_provenance(name):
    chip = load_chip(name)
    assert name in available_chips()
    for key, c in chip.constants.items():
        assert c.status in STATUSES, key
        assert c.source.strip() and c.unit.strip(), key


def test_tianjic_published_facts_and_derived_energy():
    chip = load_chip("tianjic")
    assert (chip["n_cores"], chip["mesh_rows"], chip["mesh_cols"]) == (156, 12, 13)
    assert (chip["axons_per_core"], chip["neurons_per_core"], chip["clock_hz"]) == (256, 256, 300e6)
    assert chip.constants["energy_per_synaptic_op_j"].status == "derived"
    assert chip["energy_per_synaptic_op_j"] == pytest.approx(1 / 649e9, rel=1e-3)
    loihi = load_chip("loihi")
    assert loihi["energy_per_synaptic_op_j"] == pytest.approx(23.6e-12)
    assert loihi["energy_per_hop_j"] == pytest.approx(3.5e-12)


@pytest.mark.parametrize("edit, needle", [
    (lambda d: d["constants"].pop("clock_hz"), "missing constant(s) ['clock_hz']"),
    (lambda d: d["constants"]["clock_hz"].pop("source"), "constants.clock_hz needs exactly"),
    (lambda d: d["constants"]["clock_hz"].update(status="guessed"), "constants.clock_hz.status"),
    (lambda d: d["constants"]["n_cores"].update(value=1.5), "constants.n_cores.value must be an integer"),
    (lambda d: d["constants"]["clock_hz"].update(value=0), "constants.clock_hz.value must be > 0"),
    (lambda d: d["constants"].update(typo_key=d["constants"]["clock_hz"]), "unknown constant(s) ['typo_key']"),
])
def test_bad_chip_file_names_file_and_key(tmp_path, edit, needle):
    data = copy.deepcopy(_raw())
    edit(data)
    path = tmp_path / "bad_chip.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as err:
        load_chip(path)
    assert str(path) in str(err.value) and needle in str(err.value)


def test_missing_chip_file():
    with pytest.raises(ConfigError, match="chip file not found"):
        load_chip("no_such_chip")


def test_scaled_rounds_integers_and_keeps_provenance():
    chip = load_chip("tianjic")
    assert chip.scaled("max_axon_passes", 0.5)["max_axon_passes"] == 1
    assert chip.scaled("energy_per_hop_j", 2.0)["energy_per_hop_j"] == pytest.approx(7e-12)
    assert "board_power_w" not in chip.assumed() and "weight_memory_bytes" in chip.assumed()
    assert chip["energy_per_hop_j"] == pytest.approx(3.5e-12)  # original unchanged


def test_wu22_mapping_784_512_10_is_16_plus_1():
    m = map_network([784, 512, 10], load_chip("tianjic"))
    assert m.cores_per_layer == [16, 1]
    fc1, fc2 = m.layers
    assert (fc1.g_in, fc1.g_out) == (2, 8) and (fc2.g_in, fc2.g_out) == (1, 1)
    assert fc2.tiles[0].passes == 2  # 512 inputs through 256 axons in two AD passes


def test_override_reproduces_70_cores_and_auto_uses_fewer():
    chip = load_chip("tianjic")
    assert map_network([784, 1024, 1024, 10], chip, [32, 32, 6]).n_cores == 70
    assert map_network([784, 1024, 1024, 10], chip).n_cores == 66


@pytest.mark.parametrize("sizes", [[784, 512, 10], [784, 1024, 1024, 10], [100, 37, 3]])
def test_tiles_cover_every_synapse_once_within_limits(sizes):
    chip = load_chip("tianjic")
    m = map_network(sizes, chip)
    for lm in m.layers:
        cover = sum(t.synapses for t in lm.tiles)
        assert cover == lm.spec.n_in * lm.spec.n_out
        for t in lm.tiles:
            assert t.neurons <= chip["neurons_per_core"]
            assert t.passes <= chip["max_axon_passes"]
            assert t.synapses * chip["weight_bits"] <= chip["weight_memory_bytes"] * 8
    cores = [t.core for lm in m.layers for t in lm.tiles]
    assert cores == list(range(m.n_cores))
    assert all(0 <= t.row < chip["mesh_rows"] and 0 <= t.col < chip["mesh_cols"] for lm in m.layers for t in lm.tiles)


def test_strict_fan_in_limit_splits_output_layer():
    chip = load_chip("tianjic").with_value("max_axon_passes", 1)
    assert map_network([784, 512, 10], chip).cores_per_layer == [16, 2]


def test_infeasible_override_names_layer_and_limit():
    chip = load_chip("tianjic")
    with pytest.raises(ConfigError, match=r"layer fc1 \(784->1024\).*fan-in 784 > axons_per_core"):
        map_network([784, 1024, 1024, 10], chip, [1, 32, 6])
    with pytest.raises(ConfigError, match=r"layer fc2 \(64->100\).*weight memory 64 x 100 x 8 bit = 6400 B > "
                                          r"weight_memory_bytes = 4096"):
        map_network([64, 64, 100], chip.with_value("weight_memory_bytes", 4096), [1, 1])


def test_network_larger_than_chip_names_layer_and_core_limit():
    with pytest.raises(ConfigError, match=r"layer fc2 \(2048->2048\).*> n_cores = 156"):
        map_network([784, 2048, 2048, 10], load_chip("tianjic"))


def test_parse_chip_rejects_small_mesh():
    data = _raw()
    data["constants"]["mesh_rows"]["value"] = 2
    with pytest.raises(ConfigError, match="mesh_rows x mesh_cols"):
        parse_chip(data, "x.yaml")
