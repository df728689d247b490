"""HP few-shot: the cross-dataset stage's evaluator (rebuilt from model.pt by the loader its record names)
reproduces the wu22_fewshot_hp stage's own per-episode accuracies on the same episodes, and on the model's own
meta-dataset the cross-dataset resampling is the identity (tiny synthetic Double N-MNIST, stages run in-process)."""

from __future__ import annotations

import csv
import json

import pytest
import torch

from metasnn.data import EpisodeSampler, EpisodeSpec, load_metadataset
from metasnn.data.sources import DataSource
from metasnn.errors import CheckpointError
from metasnn.evaluation.cross_dataset import evaluate_episodes, resample_episode
from metasnn.io import save_tensors
from metasnn.model_file import load_evaluator, read_model
from pipeline import cross_dataset, cross_dataset_eval, wu22_fewshot_hp
from tests.conftest import run_stage, tiny_double_nmnist

SEED, EPISODES, WAYS, SHOTS, QUERIES = 1, 6, 5, 1, 2
# a few meta-training episodes at a high meta lr: the trace's post-synaptic form must matter for the predictions
HP_ARGS = ["--channels", "2", "4", "--episodes", "8", "--lr-meta", "0.2", "--test-episodes", str(EPISODES),
           "--ways", str(WAYS), "--shots", str(SHOTS), "--queries", str(QUERIES), "--seed", str(SEED),
           "--eval-seed", str(10_000 + SEED)]


@pytest.fixture(scope="module")
def hp_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hp_cross")
    meta = tiny_double_nmnist(tmp)
    hp = tmp / f"results/runs/wu22_fewshot_hp/double_nmnist/seed{SEED}"
    assert run_stage(wu22_fewshot_hp, "wu22_fewshot_hp", ["--data", str(meta), *HP_ARGS, "--out", str(hp / "result.json"),
                                                          "--model", str(hp / "model.pt"),
                                                          "--provenance", str(hp / "provenance.json")], tmp) == 0
    return tmp, meta, hp, json.loads((hp / "result.json").read_text())


def test_model_file_records_the_run_and_its_evaluator_reproduces_the_stage_accuracies(hp_run):
    _, meta, hp, result = hp_run
    ds = load_metadataset(meta)
    record, state = read_model(hp)
    assert (record.method, record.paper, record.loader) == ("hp", "wu22", "metasnn.plasticity.fewshot:build_evaluator")
    assert (record.dataset, record.seed, record.frame_shape, record.num_steps, record.time_bin_ms) == (
        ds.name, SEED, ds.frame_shape, ds.num_steps, ds.time_bin_ms)
    assert record.data_sources == {k: s.to_dict() for k, s in ds.data_sources.items()}
    assert record.config["channels"] == [2, 4] and record.config["ways"] == WAYS
    evaluator = load_evaluator(hp)
    assert evaluator.net.config.to_dict() == json.loads((hp / "provenance.json").read_text())["hp_config"]
    assert all(torch.equal(evaluator.net.state_dict()[k], v) for k, v in state.items())
    for split in ("val", "test"):
        episodes = list(EpisodeSampler(ds, split, EpisodeSpec(WAYS, SHOTS, QUERIES), seed=10_000 + SEED).take(EPISODES))
        for ep in episodes:  # own meta-dataset: resampling is the identity
            same = resample_episode(ep, evaluator.frame_shape, evaluator.num_steps)
            assert torch.equal(same.support_x, ep.support_x) and torch.equal(same.query_x, ep.query_x)
        assert evaluate_episodes(evaluator, episodes) == result[f"{split}_task_acc"]
    assert len(set(result["test_task_acc"] + result["val_task_acc"])) > 1  # not a constant (chance) predictor


def test_cross_dataset_within_row_equals_the_stage_on_the_same_episodes(hp_run):
    tmp, meta, hp, result = hp_run
    assert run_stage(cross_dataset_eval, "cross_dataset_eval", [
        "--method", "hp", "--train-dataset", "double_nmnist", "--seed", str(SEED), "--model", str(hp), "--data", str(meta),
        "--episodes", str(EPISODES), "--ways", str(WAYS), "--shots", str(SHOTS), "--queries", str(QUERIES),
        "--eval-seed", str(10_000 + SEED), "--out", str(tmp / "cross"), "--scale", "smoke"], tmp) == 0
    (own,) = json.loads((tmp / "cross/result.json").read_text())["tests"]
    assert own["test_dataset"] == "double_nmnist" and own["task_acc"] == result["test_task_acc"]


def test_an_older_model_file_is_refused(hp_run, tmp_path):
    _, _, hp, _ = hp_run
    old = tmp_path / "results/runs/wu22_fewshot_hp/double_nmnist/seed0"
    record, state = read_model(hp)
    save_tensors({"state_dict": state, "channels": record.config["channels"], "ways": record.config["ways"]},
                 old / "model.pt")  # the payload wu22_fewshot_hp wrote before model.pt carried a record
    with pytest.raises(CheckpointError, match="not a metasnn model file .*rerun the stage that trains it"):
        load_evaluator(old)


# --- constructed inputs (no training): identification errors, per-row data sources -----------------------------
REAL_NMNIST = DataSource("nmnist", "shipped", 900)
EMULATED_ASL = DataSource("asldvs", "synthetic", 480)


def test_cross_dataset_stops_on_a_model_path_it_cannot_identify(tmp_path, capsys):
    stray = tmp_path / "results/runs/somewhere/double_nmnist/seed0"
    stray.mkdir(parents=True)
    assert run_stage(cross_dataset_eval, "cross_dataset_eval", [
        "--method", "mp23", "--train-dataset", "double_nmnist", "--seed", "0", "--model", str(stray),
        "--data", str(tmp_path / "no_data_read_before_the_model_is_loaded"), "--out", str(tmp_path / "cross")],
        tmp_path) == 2
    err = capsys.readouterr().err
    assert str(stray) in err and "no trained mp23 model there (rerun the stage that trains it)" in err
    assert not (tmp_path / "cross").exists()


def test_cross_dataset_stops_on_a_model_of_another_method(hp_run, tmp_path, capsys):
    _, _, hp, _ = hp_run
    assert run_stage(cross_dataset_eval, "cross_dataset_eval", [
        "--method", "mp23", "--train-dataset", "double_nmnist", "--seed", str(SEED), "--model", str(hp),
        "--data", str(tmp_path / "no_data_read_before_the_model_is_loaded"), "--out", str(tmp_path / "cross")],
        tmp_path) == 2
    assert "its model file holds a hp model, not mp23" in capsys.readouterr().err
    assert not (tmp_path / "cross").exists()


def _run(directory, method="dsp", train="double_nmnist", seed=0, episodes=2):
    directory.mkdir(parents=True)
    (directory / "result.json").write_text(json.dumps({
        "method": method, "paper": "dsp", "train_dataset": train, "seed": seed, "ways": 5, "shots": 1, "queries": 2,
        "episodes": episodes, "eval_seed": 1, "cost_notes": [],
        "tests": [{"test_dataset": train, "task_acc": [0.2] * episodes, "cost": {}}]}))
    return directory


def test_cross_dataset_table_refuses_two_runs_of_one_model_a_stray_and_a_stale_run(tmp_path, capsys):
    data = tiny_double_nmnist(tmp_path)
    argv = ["--data", str(data), "--episodes", "2", "--tables-dir", str(tmp_path / "tables"), "--figures-dir",
            str(tmp_path / "figures"), "--provenance", str(tmp_path / "table/provenance.json")]
    cases = {"two cross-dataset runs for dsp trained on double_nmnist seed 0": [_run(tmp_path / "a"), _run(tmp_path / "b")],
             "no result.json": [tmp_path / "empty"],
             "made with episodes=3, the table states 2": [_run(tmp_path / "c", episodes=3)]}
    for message, runs in cases.items():
        assert run_stage(cross_dataset, "cross_dataset", ["--runs", *map(str, runs), *argv], tmp_path) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "tables").exists()


def test_cross_dataset_rows_show_the_train_and_the_test_source(tmp_path):
    from metasnn.reporting.cross_dataset import Runs, write_cross_dataset

    acc = {(m, tr, te): {s: [0.2 + (0.1 + 0.01 * s * s) * (m == "dsp"), 0.3] for s in (0, 1, 2)}
           for m in ("dsp", "stbp") for tr in ("double_nmnist", "double_asldvs") for te in ("double_nmnist", "double_asldvs")}
    claim = write_cross_dataset(Runs(acc=acc, papers={"dsp": "dsp", "stbp": "dsp"}), ways=5, shots=1, episodes=2,
                                scale="default", sources={"nmnist": REAL_NMNIST, "asldvs": EMULATED_ASL},
                                tables_dir=tmp_path / "t", figures_dir=tmp_path / "f")
    with (tmp_path / "t/cross_dataset.csv").open() as fh:
        rows = {(r["method"], r["train_dataset"], r["test_dataset"]): r["data_source"] for r in csv.DictReader(fh)}
    real, emu = REAL_NMNIST.label, EMULATED_ASL.label
    assert rows[("dsp", "double_nmnist", "double_nmnist")] == real
    assert rows[("dsp", "double_asldvs", "double_asldvs")] == emu
    assert rows[("stbp", "double_nmnist", "double_asldvs")] == f"{real} + {emu}"  # train source first
    assert rows[("stbp", "double_asldvs", "double_nmnist")] == f"{emu} + {real}"
    assert claim.claim_id == "dsp-C5" and claim.verdict == "holds"
    assert set(claim.data_source.split(" + ")) == {real, emu}
    (stored,) = json.loads((tmp_path / "t/cross_dataset.claims.json").read_text())
    assert stored["data_source"] == claim.data_source


def test_wu22_fewshot_table_rows_name_their_source_and_skip_sn22_numbers_of_other_data(tmp_path):
    from pipeline import wu22_fewshot_table

    results = []
    for ds, source in (("double_nmnist", REAL_NMNIST), ("double_asldvs", EMULATED_ASL)):
        out = tmp_path / f"runs/{ds}/seed0"
        out.mkdir(parents=True)
        (out / "result.json").write_text(json.dumps({
            "dataset": ds, "seed": 0, "episodes": 2, "ways": 5, "shots": 1, "alpha": 0.5, "cost": {},
            "val_acc": 0.4, "test_acc": 0.5, "val_task_acc": [0.4, 0.4], "test_task_acc": [0.5, 0.5]}))
        (out / "provenance.json").write_text(json.dumps({"data_sources": {source.raw: source.to_dict()}}))
        results.append(out / "result.json")
    sn22 = tmp_path / "sn22_table2_fewshot.csv"
    sn22.write_text("dataset,method,split,reproduced_mean,reproduced_std,data_source\n"
                    f"double_nmnist,maml_snn,test,61.5,1.0,\"{REAL_NMNIST.label}\"\n"
                    "double_nmnist,maml_snn,val,60.0,1.0,emulated N-MNIST\n")
    tables = tmp_path / "tables"
    assert run_stage(wu22_fewshot_table, "wu22_fewshot_table", [
        "--results", *map(str, results), "--sn22", str(sn22), "--tables-dir", str(tables),
        "--figures-dir", str(tmp_path / "figures")], tmp_path) == 0
    with (tables / "wu22_fewshot_hp.csv").open() as fh:
        rows = {(r["dataset"], r["split"]): r for r in csv.DictReader(fh)}
    assert rows[("Double N-MNIST", "meta-test")]["data_source"] == REAL_NMNIST.label
    assert rows[("Double ASL-DVS", "meta-val")]["data_source"] == EMULATED_ASL.label
    assert rows[("Double N-MNIST", "meta-test")]["sn22_mamlsnn_mean"] == "61.5"  # same data: shown
    assert rows[("Double N-MNIST", "meta-val")]["sn22_mamlsnn_mean"] == ""  # sn22 ran on other data: left out
    assert "sn22 columns left out, different data (Double N-MNIST: sn22 ran on emulated N-MNIST" in (
        tables / "wu22_fewshot_hp.md").read_text()


def test_gathered_runs_keep_the_order_of_one_job_over_all_models():
    """Rows, seeds and test datasets come out in the order the single cross-dataset job produced them (model order
    (method, train dataset, numeric seed), then each run's test-dataset order), whatever order --runs has: the
    table's figure means sum in that order, so the table stays byte-identical to the one-job stage's."""
    from metasnn.reporting.cross_dataset import gather_runs

    def result(method, seed, train="double_nmnist"):
        return {"method": method, "paper": "dsp", "train_dataset": train, "seed": seed, "cost_notes": [f"note {method}"],
                "tests": [{"test_dataset": t, "task_acc": [seed / 100], "cost": {"param_bytes": seed}}
                          for t in ("double_nmnist", "double_asldvs")]}

    runs = gather_runs([result("stbp", 10), result("dsp", 10), result("dsp", 2), result("dsp", 0, "double_asldvs")])
    acc, costs, notes = runs.acc, runs.costs, runs.notes
    assert list(acc) == [("dsp", "double_asldvs", "double_nmnist"), ("dsp", "double_asldvs", "double_asldvs"),
                         ("dsp", "double_nmnist", "double_nmnist"), ("dsp", "double_nmnist", "double_asldvs"),
                         ("stbp", "double_nmnist", "double_nmnist"), ("stbp", "double_nmnist", "double_asldvs")]
    assert list(acc[("dsp", "double_nmnist", "double_asldvs")]) == [2, 10]
    assert costs[("dsp", "double_nmnist", "double_asldvs")][10] == {"param_bytes": 10}
    assert notes == {"dsp": {"note dsp"}, "stbp": {"note stbp"}} and runs.papers == {"dsp": "dsp", "stbp": "dsp"}
