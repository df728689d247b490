"""The estimate_hardware stage: outputs, placeholder labelling, rates files, determinism, speed."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest
import torch

from metasnn.data.layout import load_manifest
from metasnn.hardware.rates import load_rates, write_rates
from metasnn.model_file import read_model
from metasnn.plasticity.training import network_from_model
from pipeline import estimate_hardware as stage
from pipeline import fetch_data, wu22_inference
from pipeline.cli import stage_main

SHIPPED = Path(__file__).resolve().parents[2] / "datasets"

TABLES = ("wu22_fig5ef_learning_cost", "wu22_tableS1_inference", "wu22_fig5d_energy_scaling",
          "wu22_hardware_sensitivity")


def _run(tmp_path, name, *extra):
    out = tmp_path / name
    argv = ["--out-dir", str(out / "run"), "--tables-dir", str(out / "tables"), "--figures-dir", str(out / "figures"),
            "--metrics", str(out / "metrics.json"), "--log", str(out / "log.txt"), "--measure", "false",
            "--placeholder-rates", "allow", *extra]  # params.yaml forbids placeholder rates
    assert stage_main("estimate_hardware", stage.__doc__, stage.add_arguments, stage.run, argv) == 0
    return out


def _rows(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_stage_outputs_deterministic_and_labelled_placeholder(tmp_path):
    t0 = time.perf_counter()
    a = _run(tmp_path, "a")
    elapsed = time.perf_counter() - t0
    assert elapsed < 60
    b = _run(tmp_path, "b")
    for tid in TABLES:
        for ext in (".csv", ".md"):
            assert (a / "tables" / f"{tid}{ext}").read_bytes() == (b / "tables" / f"{tid}{ext}").read_bytes()
    for fid in ("wu22_fig5ef_learning_cost", "wu22_fig5d_energy_scaling"):
        assert (a / "figures" / f"{fid}.png").read_bytes() == (b / "figures" / f"{fid}.png").read_bytes()
    assert (a / "metrics.json").read_bytes() == (b / "metrics.json").read_bytes()
    rows = _rows(a / "tables" / "wu22_fig5ef_learning_cost.csv")
    # no rates file: no recordings behind the rates (rates status is in the rates column)
    assert {r["data_source"] for r in rows} == {"unknown"}
    assert {r["rates"] for r in rows} == {"placeholder"}
    assert "PLACEHOLDER spike rates" in (a / "tables" / "wu22_fig5ef_learning_cost.md").read_text()
    assert {r["cores"] for r in rows} == {"17"}
    hp = [r for r in rows if r["mode"] == "HP" and r["metric"] == "route_cost_packets"]
    assert {(r["hp_global_every"], r["hp_global_layers"]) for r in hp} >= {("1", "all"), ("64", "output")}
    assert all(r["paper_throughput_ordering_holds"] in ("yes", "no") for r in hp)
    inf = _rows(a / "tables" / "wu22_tableS1_inference.csv")
    chip_rows = [r for r in inf if r["platform"] == "Tianjic" and r["reproduced_mean"]]
    assert {r["cores"] for r in chip_rows} == {"70"}
    claims = json.loads((a / "tables" / "wu22_fig5ef_learning_cost.claims.json").read_text())
    assert claims[0]["claim_id"] == "wu22-C4" and claims[0]["data_source"] == "unknown"
    assert "placeholder" in claims[0]["note"].lower()
    prov = json.loads((a / "run" / "provenance.json").read_text())
    assert prov["data_sources"] == {}
    sens = _rows(a / "tables" / "wu22_hardware_sensitivity.csv")
    assert {r["factor"] for r in sens} == {"0.5", "1", "2"} and "spike_rates" in {r["constant"] for r in sens}


def test_stage_uses_measured_rates_file(tmp_path):
    rates = tmp_path / "hp_rates.json"
    write_rates(rates, model="wu22_hp", mode="HP", timesteps=3, layers=[
        {"name": "fc1", "n_in": 784, "n_out": 512, "input_rate": 0.05, "output_rate": 0.02},
        {"name": "fc2", "n_in": 512, "n_out": 10, "input_rate": 0.02, "output_rate": 0.1}])
    out = _run(tmp_path, "r", "--rates", str(rates), "--hp-global-every", "1", "16", "--sensitivity-factors", "1")
    rows = _rows(out / "tables" / "wu22_fig5ef_learning_cost.csv")
    assert {r["rates"] for r in rows if r["mode"] == "HP"} == {"measured:hp_rates.json"}
    assert {r["rates"] for r in rows if r["mode"] != "HP"} == {"placeholder"}  # LP/GP still say so
    used = json.loads((out / "run" / "rates_used.json").read_text())
    assert used["learning"]["HP"]["layers"][0]["input_rate"] == 0.05 and used["placeholder"] is True


def test_stage_reports_user_errors_on_one_line(tmp_path, capsys):
    argv = ["--out-dir", str(tmp_path / "o"), "--tables-dir", str(tmp_path / "t"), "--figures-dir", str(tmp_path / "f"),
            "--metrics", str(tmp_path / "m.json"), "--log", str(tmp_path / "l.txt"), "--measure", "false",
            "--placeholder-rates", "allow", "--inference-cores", "1", "32", "6"]
    assert stage_main("estimate_hardware", stage.__doc__, stage.add_arguments, stage.run, argv) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error:") and "layer fc1" in err and "fan-in" in err


@pytest.fixture(scope="module")
def inference_runs(tmp_path_factory) -> Path:
    """wu22_inference (rate and rank coding) on a few shipped real N-MNIST recordings, tiny network."""
    root = tmp_path_factory.mktemp("wu22_inference")
    fetched = root / "nmnist"
    assert stage_main("fetch_data", fetch_data.__doc__, fetch_data.add_arguments, fetch_data.run, [
        "--raw", "nmnist", "--source", "local", "--root", str(SHIPPED), "--out", str(fetched),
        "--log", str(root / "fetch.log")]) == 0
    for coding in ("rate", "rank"):
        run = root / coding
        assert stage_main("wu22_inference", wu22_inference.__doc__, wu22_inference.add_arguments, wu22_inference.run, [
            "--data", str(fetched), "--coding", coding, "--hidden", "8", "--pool", "2", "--timesteps", "8",
            "--train-per-class", "3", "--test-per-class", "1", "--epochs", "1", "--batch-size", "10",
            "--measure-seconds", "0.05", "--curves", str(run / "curves.csv"), "--metrics", str(run / "metrics.json"),
            "--model", str(run / "model.pt"), "--rates", str(run / "rates.json"),
            "--provenance", str(run / "provenance.json"), "--log", str(run / "log.txt")]) == 0
    return root


def _learning_rates(tmp_path) -> list[str]:
    paths = []
    for mode, r_out in (("LP", 0.03), ("GP", 0.04), ("HP", 0.05)):
        path = tmp_path / f"{mode.lower()}_rates.json"
        write_rates(path, model=f"wu22_{mode}", mode=mode, timesteps=3, layers=[
            {"name": "fc1", "n_in": 784, "n_out": 512, "input_rate": 0.05, "output_rate": r_out},
            {"name": "fc2", "n_in": 512, "n_out": 10, "input_rate": r_out, "output_rate": 0.1}])
        paths.append(str(path))
    return paths


def test_wu22_inference_writes_measured_rates_accuracy_and_latency(inference_runs):
    for coding in ("rate", "rank"):
        rates = load_rates(inference_runs / coding / "rates.json")
        assert (rates.mode, rates.coding, rates.source, rates.timesteps) == ("inference", coding, "measured", 8)
        assert rates.sizes == [2 * 17 * 17, 8, 8, 10]
        metrics = json.loads((inference_runs / coding / "metrics.json").read_text())
        assert metrics["dataset"] == "N-MNIST" and metrics["n_test"] == 10 and 0.0 <= metrics["test_acc"] <= 1.0
        assert metrics["latency_s"] > 0 and metrics["network"] == "578-8-8-10"
        prov = json.loads((inference_runs / coding / "provenance.json").read_text())
        assert prov["coding"] == coding and "real N-MNIST" in prov["data_source"]
        record, state = read_model(inference_runs / coding / "model.pt")  # a GP network trained on single digits
        assert (record.method, record.paper, record.loader, record.dataset, record.seed) == ("gp", "wu22", "", "nmnist", 0)
        assert (record.frame_shape, record.num_steps, record.time_bin_ms) == ((2, 34, 34), 8, 300.0 / 8)
        assert record.data_sources == {"nmnist": load_manifest(inference_runs / "nmnist").data_source.to_dict()}
        assert record.config["coding"] == coding and record.config["sizes"] == rates.sizes
        net = network_from_model(record, state)
        assert net.config.readout == "mean" and all(torch.equal(net.state_dict()[k], v) for k, v in state.items())
    rank = load_rates(inference_runs / "rank" / "rates.json")
    assert rank.layers[0].input_rate <= 1 / 8  # each input fires at most once in T = 8 steps


def test_stage_uses_measured_inference_rates_with_accuracy_and_cpu_latency(tmp_path, inference_runs):
    codings = ("rate", "rank")
    out = _run(tmp_path, "m", "--rates", *_learning_rates(tmp_path),
               "--rates", *[str(inference_runs / c / "rates.json") for c in codings],
               "--inference-metrics", *[str(inference_runs / c / "metrics.json") for c in codings],
               "--placeholder-rates", "forbid", "--hp-global-every", "16", "--sensitivity-factors", "1")
    inf = _rows(out / "tables" / "wu22_tableS1_inference.csv")
    ours = [r for r in inf if r["reproduced_mean"]]
    assert {r["dataset"] for r in ours} == {"N-MNIST"}  # the dataset the rates were measured on
    assert all(r["data_source"].startswith("real N-MNIST") for r in ours)  # from the rates files' provenance
    chip = [r for r in ours if r["platform"] == "Tianjic"]
    assert {r["rates"] for r in chip} == {"measured:rates.json"} and {r["coding"] for r in chip} == set(codings)
    acc = {r["coding"]: float(r["reproduced_mean"]) for r in chip if r["metric"] == "acc_pct"}
    want = {c: 100 * json.loads((inference_runs / c / "metrics.json").read_text())["test_acc"] for c in codings}
    assert acc == pytest.approx(want)
    md = (out / "tables" / "wu22_tableS1_inference.md").read_text()
    cpu = [line for line in md.splitlines() if "CPU, trained network (this machine)" in line and "latency_ms" in line]
    assert len(cpu) == 2 and all("[578-8-8-10]" in line for line in cpu)  # measured latency beside the estimate
    for tid in TABLES:
        for ext in (".csv", ".md"):
            assert "placeholder" not in (out / "tables" / f"{tid}{ext}").read_text().lower(), tid + ext
    for claims in (out / "tables").glob("*.claims.json"):
        assert "placeholder" not in claims.read_text().lower()
    assert json.loads((out / "metrics.json").read_text())["placeholder_rates"] is False
    used = json.loads((out / "run" / "rates_used.json").read_text())
    assert used["placeholder"] is False and used["inference"]["rank"]["source"] == "measured"
    assert set(used["inference_networks"]) == set(codings)
    c5 = json.loads((out / "tables" / "wu22_tableS1_inference.claims.json").read_text())[0]
    assert "N-MNIST GPU row" in c5["test"]


def test_placeholder_rates_forbidden_and_inconsistent_inputs_are_one_line_errors(tmp_path, capsys, inference_runs):
    base = ["--out-dir", str(tmp_path / "o"), "--tables-dir", str(tmp_path / "t"), "--figures-dir", str(tmp_path / "f"),
            "--metrics", str(tmp_path / "m.json"), "--log", str(tmp_path / "l.txt"), "--measure", "false",
            "--placeholder-rates", "allow"]
    cases = [
        (["--placeholder-rates", "forbid"], "no measured spike rates for LP, GP, HP, inference:rate, inference:rank"),
        (["--inference-metrics", str(inference_runs / "rank" / "metrics.json")], "no inference rates file for rank"),
        (["--rates", str(inference_runs / "rate" / "rates.json"), "--inference-metrics",
          str(inference_runs / "rate" / "metrics.json"), "--inference-dataset", "MNIST"], "trained on N-MNIST"),
    ]
    for extra, message in cases:
        assert stage_main("estimate_hardware", stage.__doc__, stage.add_arguments, stage.run, base + extra) == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert err.startswith("error:") and message in err, err
