"""wu22 stage CLIs end to end on a tiny synthetic N-MNIST: train (deterministic, model files that say what trained
them), robustness, tables."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from metasnn.data.layout import load_manifest
from metasnn.errors import CheckpointError
from metasnn.hardware.rates import load_rates
from metasnn.model_file import load_evaluator, read_model, read_record
from metasnn.plasticity.training import network_from_model
from pipeline import fetch_data, wu22_robustness, wu22_tables, wu22_train
from pipeline.cli import stage_main

SMALL = ["--timesteps", "3", "--hidden", "8", "--pool", "2"]


@pytest.fixture(scope="module")
def nmnist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wu22") / "nmnist"
    rc = stage_main("fetch_data", fetch_data.__doc__, fetch_data.add_arguments, fetch_data.run,
                    ["--raw", "nmnist", "--source", "synthetic", "--nmnist-train-per-class", "3",
                     "--nmnist-test-per-class", "2", "--out", str(out), "--log", str(out.parent / "fetch.log")])
    assert rc == 0
    return out


def _train(nmnist: Path, run_dir: Path, method: str, seed: int) -> int:
    return stage_main("wu22_train", wu22_train.__doc__, wu22_train.add_arguments, wu22_train.run, [
        "--data", str(nmnist), *SMALL, "--method", method, "--seed", str(seed), "--epochs", "2",
        "--batch-size", "10", "--curves", str(run_dir / "curves.csv"), "--metrics", str(run_dir / "metrics.json"),
        "--model", str(run_dir / "model.pt"), "--rates", str(run_dir / "rates.json"),
        "--provenance", str(run_dir / "provenance.json"), "--log", str(run_dir / "log.txt")])


def test_wu22_train_robustness_tables(nmnist, tmp_path):
    runs = tmp_path / "runs"
    for method in ("gp", "lp", "finetune", "hp"):
        for seed in (0, 1):
            assert _train(nmnist, runs / method / f"seed{seed}", method, seed) == 0
    # determinism: same seed => byte-identical curves, metrics and rates
    again = tmp_path / "again"
    assert _train(nmnist, again, "hp", 0) == 0
    for name in ("curves.csv", "metrics.json", "rates.json"):
        assert (again / name).read_bytes() == (runs / "hp" / "seed0" / name).read_bytes(), name
    rates = load_rates(runs / "hp" / "seed0" / "rates.json")
    assert rates.mode == "HP" and rates.source == "measured" and rates.timesteps == 3
    assert load_rates(runs / "lp" / "seed0" / "rates.json").mode == "LP"
    prov = json.loads((runs / "hp" / "seed0" / "provenance.json").read_text())
    assert prov["reset_policy"] == "sample" and prov["hp_training"] == "bilevel"
    curves = (runs / "gp" / "seed0" / "curves.csv").read_text().splitlines()
    assert curves[0] == "epoch,train_loss,train_acc,test_loss,test_acc" and len(curves) == 4
    _check_model_files(nmnist, runs)

    robust = []
    for seed in (0, 1):
        out = tmp_path / f"robust{seed}.json"
        rc = stage_main("wu22_robustness", wu22_robustness.__doc__, wu22_robustness.add_arguments, wu22_robustness.run, [
            "--data", str(nmnist), *SMALL, "--seed", str(seed), "--levels", "0", "7", "14",
            "--models", *[str(runs / m / f"seed{seed}" / "model.pt") for m in ("gp", "lp", "finetune", "hp")],
            "--out", str(out), "--provenance", str(tmp_path / f"rp{seed}" / "provenance.json"),
            "--log", str(tmp_path / "rlog.txt")])
        assert rc == 0
        robust.append(out)
    data = json.loads(robust[0].read_text())
    assert set(data["corruptions"]) == {"crop", "noise"}
    assert data["corruptions"]["crop"]["hp"]["level"] == [0, 7, 14]

    metrics = [str(runs / m / f"seed{s}" / "metrics.json") for m in ("gp", "lp", "finetune", "hp") for s in (0, 1)]
    tables, figures = tmp_path / "tables", tmp_path / "figures"
    rc = stage_main("wu22_tables", wu22_tables.__doc__, wu22_tables.add_arguments, wu22_tables.run, [
        "--metrics", *metrics, "--curves", *[m.replace("metrics.json", "curves.csv") for m in metrics],
        "--robustness", *map(str, robust), "--provenance", *[m.replace("metrics.json", "provenance.json") for m in metrics],
        "--margin", "2.0", "--tables-dir", str(tables), "--figures-dir", str(figures), "--scale", "smoke",
        "--log", str(tmp_path / "t.txt")])
    assert rc == 0
    for table in ("wu22_fig3_convergence", "wu22_fig4_crop", "wu22_fig4_noise", "wu22_fig4_distance"):
        assert (tables / f"{table}.csv").is_file() and (tables / f"{table}.md").is_file()
        assert (figures / f"{table}.png").stat().st_size > 1000
    claims = {c["claim_id"]: c for f in tables.glob("*.claims.json") for c in json.loads(f.read_text())}
    assert set(claims) == {"wu22-C1", "wu22-C2", "wu22-C3"}
    for c in claims.values():
        assert c["verdict"] in ("holds", "does not hold", "inconclusive")
        assert c["n_seeds"] == 2 and c["test"]
    fig3 = (tables / "wu22_fig3_convergence.csv").read_text()
    assert "fine-tune" in fig3 and "smoke" in fig3 and "emulated N-MNIST" in fig3
    assert {c["data_source"] for c in claims.values()} == {"emulated N-MNIST"}


def _check_model_files(nmnist: Path, runs: Path) -> None:
    """Each wu22_train model.pt records its method, the single digits and source that trained it; it is a
    classification network (no few-shot evaluator) that the robustness stage's loader rebuilds."""
    record, state = read_model(runs / "hp" / "seed0" / "model.pt")
    assert (record.method, record.paper, record.loader, record.dataset, record.seed) == ("hp", "wu22", "", "nmnist", 0)
    assert (record.frame_shape, record.num_steps, record.time_bin_ms) == ((2, 34, 34), 3, 100.0)  # 300 ms window / T
    assert record.data_sources == {"nmnist": load_manifest(nmnist).data_source.to_dict()}
    assert record.config["sizes"] == [2 * 17 * 17, 8, 10] and record.config["pool"] == 2
    assert record.config["hp_config"]["reset"] == "sample" and record.config["training"]["epochs"] == 2
    net = network_from_model(record, state)
    assert all(torch.equal(net.state_dict()[k], v) for k, v in state.items())
    assert {(r.method, r.seed) for r in (read_record(runs / m / f"seed{s}" / "model.pt")
                                         for m in ("gp", "lp", "finetune", "hp") for s in (0, 1))} == {
        (m, s) for m in ("gp", "lp", "finetune", "hp") for s in (0, 1)}
    with pytest.raises(CheckpointError, match="not a few-shot learner"):
        load_evaluator(runs / "hp" / "seed0")
    with pytest.raises(CheckpointError, match="holds method 'hp' of paper 'mp23', not a wu22"):
        network_from_model(dataclasses.replace(record, paper="mp23"), state)
