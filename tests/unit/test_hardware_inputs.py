"""The hardware stage's inputs, validated in the library: rates files per mode/coding, the trained inference
networks' metrics.json, the Table S1 dataset, cores per layer; and the run-directory serialisers."""

from __future__ import annotations

import json

import pytest

from metasnn.errors import ConfigError
from metasnn.hardware import experiments as ex
from metasnn.hardware.chip import load_chip
from metasnn.hardware.mapping import map_network, parse_cores_per_layer
from metasnn.hardware.rates import load_rates_by_key, write_rates
from metasnn.hardware.report import constants_csv, phases_csv

LAYERS = [{"name": "fc1", "n_in": 4, "n_out": 3, "input_rate": 0.1, "output_rate": 0.2},
          {"name": "fc2", "n_in": 3, "n_out": 2, "input_rate": 0.2, "output_rate": 0.3}]


def _rates(tmp_path, name, mode="inference", coding="rate"):
    return write_rates(tmp_path / name, model="m", mode=mode, coding=coding, timesteps=2, layers=LAYERS)


def _metrics(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_rates_by_key_and_a_second_file_for_one_key(tmp_path):
    hp, rate, rank = _rates(tmp_path, "hp.json", "HP"), _rates(tmp_path, "r.json"), _rates(tmp_path, "k.json", coding="rank")
    assert sorted(load_rates_by_key([hp, rate, rank])) == ["HP", "inference:rank", "inference:rate"]
    with pytest.raises(ConfigError, match=r"a second rates file for inference:rate \(first: .*r\.json\)"):
        load_rates_by_key([rate, _rates(tmp_path, "r2.json")])


def test_inference_metrics_validated(tmp_path):
    rates = load_rates_by_key([_rates(tmp_path, "r.json")])
    good = _metrics(tmp_path, "ok.json", {"coding": "rate", "test_acc": 0.5, "dataset": "N-MNIST"})
    got = ex.load_inference_metrics([good], rates)
    assert got == {"rate": {"coding": "rate", "test_acc": 0.5, "dataset": "N-MNIST", "path": str(good)}}
    cases = [
        (tmp_path / "missing.json", "inference metrics file not found; run pipeline.wu22_inference"),
        (_metrics(tmp_path, "bad.json", "{"), "not valid JSON (Expecting property name"),
        (_metrics(tmp_path, "list.json", [1]), "'coding' rate or rank, got None"),
        (_metrics(tmp_path, "coding.json", {"coding": "x", "test_acc": 0.5}), "'coding' rate or rank, got 'x'"),
        (_metrics(tmp_path, "acc.json", {"coding": "rate", "test_acc": 1.5}), "'test_acc' must be a fraction"),
        (_metrics(tmp_path, "bool.json", {"coding": "rate", "test_acc": True}), "got True"),
        (_metrics(tmp_path, "rank.json", {"coding": "rank", "test_acc": 0.5}), "no inference rates file for rank"),
    ]
    for path, message in cases:
        with pytest.raises(ConfigError) as err:
            ex.load_inference_metrics([path], rates)
        assert str(err.value).startswith(f"{path}: ") and message in str(err.value), str(err.value)
    with pytest.raises(ConfigError, match="a second inference metrics file for rate coding"):
        ex.load_inference_metrics([good, good], rates)


def test_inference_dataset_agrees_with_the_networks():
    assert ex.inference_dataset(None, {}) == "MNIST"
    assert ex.inference_dataset("F-MNIST", {}) == "F-MNIST"
    nets = {"rate": {"dataset": "N-MNIST"}, "rank": {"dataset": "N-MNIST"}}
    assert ex.inference_dataset(None, nets) == ex.inference_dataset("N-MNIST", nets) == "N-MNIST"
    with pytest.raises(ConfigError, match="--inference-dataset MNIST but .* trained on N-MNIST"):
        ex.inference_dataset("MNIST", nets)
    with pytest.raises(ConfigError, match=r"different datasets \['A', 'B'\]"):
        ex.inference_dataset(None, {"rate": {"dataset": "A"}, "rank": {"dataset": "B"}})


def test_cores_per_layer_from_the_command_line():
    assert parse_cores_per_layer(None) is None and parse_cores_per_layer([]) is None
    assert parse_cores_per_layer(["auto"]) is None
    assert parse_cores_per_layer(["32", "32", "6"]) == [32, 32, 6]
    with pytest.raises(ConfigError, match=r"expected integers or 'auto', got \['auto', '3'\]"):
        parse_cores_per_layer(["auto", "3"])


def test_run_directory_serialisers():
    chip = load_chip("tianjic")
    mapping = map_network([784, 1024, 1024, 10], chip, [32, 32, 6])
    js = mapping.to_json()
    assert js["cores"] == 70 and js["cores_per_layer"] == [32, 32, 6] and len(js["layers"]) == 3
    assert sum(len(layer["tiles"]) for layer in js["layers"]) == 70
    assert constants_csv(chip).splitlines()[0] == "chip,constant,value,unit,status,source"
    study = ex.Study(chip=chip)
    text = phases_csv({("inference:rate", "-", "-"): ex.inference_reports(study)["rate"]})
    assert text.startswith("mode,hp_global_every,hp_global_layers,phase,kind,repeat,")
    assert all(line.startswith("inference:rate,-,-,") for line in text.splitlines()[1:])
