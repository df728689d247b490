"""mp23 stage CLIs in-process on a tiny synthetic Double N-MNIST: every rule variant trains, the run files are
deterministic, the model file's record says what trained it and the evaluator it names reproduces a task accuracy,
and mp23_table writes the table, figure and claim mp23-C1 with the meta-training settings in its notes; ip2_train
writes the same kind of model file."""

from __future__ import annotations

import csv
import json

import pytest

from metasnn.data import EpisodeSampler, EpisodeSpec, load_metadataset
from metasnn.data.sources import describe
from metasnn.model_file import load_evaluator, read_model, read_record
from pipeline import ip2_train, mp23_table, mp23_train
from tests.conftest import run_stage, tiny_double_nmnist

TINY = ["--queries", "2", "--train-queries", "1", "--hidden", "8", "--steps", "6", "--outer-steps", "3",
        "--outer-lr", "0.003", "--rule-lr-factor", "0.5", "--test-episodes", "2"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mp23")
    tiny_double_nmnist(tmp)
    return tmp / "meta/double_nmnist"


def _train(data, out, seed, extra=()):
    return run_stage(mp23_train, "mp23_train", ["--data", str(data), "--seed", str(seed), "--eval-seed", "10000", *TINY,
                                                *extra, "--out", str(out)], out.parent)


def test_mp23_train_resumes_after_a_kill_to_identical_outputs(data, tmp_path, monkeypatch, caplog):
    """Killed in the second rule variant after a checkpoint: the rerun skips the finished variant's steps."""
    from metasnn.plasticity import metaplasticity

    variants = ["--variants", "abcd", "fixed"]
    assert _train(data, tmp_path / "full", 0, variants) == 0
    ckpt = [*variants, "--checkpoint-dir", str(tmp_path / "ckpt"), "--checkpoint-every", "1"]
    real_loop, calls = metaplasticity.train_loop, []

    def killed(*args, **kwargs):
        calls.append(1)

        def after_step(step, row):
            if len(calls) == 2 and step == 1:  # the second variant: step 0 checkpointed, step 1 lost
                raise KeyboardInterrupt
        return real_loop(*args, **{**kwargs, "after_step": after_step})

    monkeypatch.setattr(metaplasticity, "train_loop", killed)
    assert _train(data, tmp_path / "resumed", 0, ckpt) == 130
    assert not (tmp_path / "resumed").exists()
    monkeypatch.setattr(metaplasticity, "train_loop", real_loop)
    with caplog.at_level("INFO", logger="metasnn.meta.training"):
        assert _train(data, tmp_path / "resumed", 0, ckpt) == 0
    assert "at step 3 of 3" in caplog.text and "at step 1 of 3" in caplog.text  # abcd done, fixed half done
    for name in ("result.json", "metrics.json", "curves.csv"):
        assert (tmp_path / "resumed" / name).read_bytes() == (tmp_path / "full" / name).read_bytes(), name


def test_mp23_stages_end_to_end(data, tmp_path):
    runs = []
    for seed in (0, 1):
        out = tmp_path / "runs" / f"seed{seed}"
        assert _train(data, out, seed) == 0
        runs.append(out)
    result = json.loads((runs[0] / "result.json").read_text())
    assert set(result["variants"]) == {"abcd", "bd", "a_only", "fixed"}
    assert result["training"] == {"outer_steps": 3, "outer_lr": 0.003, "rule_lr_factor": 0.5, "train_queries": 1}
    assert all(0.0 <= v["test_acc"] <= 1.0 and len(v["val_task_acc"]) == 2 for v in result["variants"].values())
    # the fixed rule is never trained: B = C = D stay 0; the meta-learned rules move
    assert result["variants"]["fixed"]["rule_mean_abs"]["d"] == 0.0 < result["variants"]["abcd"]["rule_mean_abs"]["d"]
    # determinism: same seed => byte-identical run files
    again = tmp_path / "again"
    assert _train(data, again, 0) == 0
    for name in ("result.json", "metrics.json", "curves.csv"):
        assert (again / name).read_bytes() == (runs[0] / name).read_bytes(), name
    # the model file: its record, every variant's network; the evaluator its loader rebuilds (the abcd variant,
    # raw frames) reproduces the run's first meta-test task accuracy (encoded episodes)
    ds = load_metadataset(data)
    record, state = read_model(runs[0])
    _check_record(record, ds, "mp23", "mp23", "metasnn.plasticity.metaplasticity:build_evaluator", seed=0)
    assert record.extra == {"variants": ["abcd", "bd", "a_only", "fixed"]} and set(state) == set(record.extra["variants"])
    assert record.config["hidden"] == 8 and "variant" not in record.config  # the settings the variants share
    ep = EpisodeSampler(ds, "test", EpisodeSpec(5, 1, 2), seed=10_000).episode(0)
    assert load_evaluator(runs[0])(ep) == pytest.approx(result["variants"]["abcd"]["test_task_acc"][0])
    tables, figures = tmp_path / "tables", tmp_path / "figures"
    assert run_stage(mp23_table, "mp23_table", ["--runs", *map(str, runs), "--tables-dir", str(tables),
                                                "--figures-dir", str(figures)], tmp_path) == 0
    assert (figures / "mp23_rule_ablation.png").is_file()
    md = (tables / "mp23_rule_ablation.md").read_text()
    assert "3 outer steps, lr 0.003 (rule tensors × 0.5), 1 training queries per class" in md
    (claim,) = json.loads((tables / "mp23_rule_ablation.claims.json").read_text())
    assert claim["claim_id"] == "mp23-C1" and claim["verdict"] in ("holds", "does not hold", "inconclusive")
    fed_by = describe(load_metadataset(data).data_sources.values())  # the fetched source, e.g. "emulated N-MNIST"
    assert claim["data_source"] == fed_by
    assert {r["data_source"] for r in csv.DictReader((tables / "mp23_rule_ablation.csv").open())} == {fed_by}


def _check_record(record, ds, method, paper, loader, seed):
    """``record`` (a model file's) names the method, its loader and the meta-dataset, seed and source that trained it."""
    assert (record.method, record.paper, record.loader) == (method, paper, loader)
    assert (record.dataset, record.seed) == (ds.name, seed)
    assert (record.frame_shape, record.num_steps, record.time_bin_ms) == (ds.frame_shape, ds.num_steps, ds.time_bin_ms)
    assert record.data_sources == {k: s.to_dict() for k, s in ds.data_sources.items()}


def test_ip2_train_writes_a_model_file_whose_evaluator_reproduces_the_run(data, tmp_path):
    from metasnn.plasticity.intrinsic import build_evaluator

    out = tmp_path / "ip2"
    assert run_stage(ip2_train, "ip2_train", [
        "--data", str(data), "--shots", "1", "--queries", "2", "--hidden", "6", "--max-steps", "2", "--mask-candidates",
        "threshold", "--selection-tasks", "1", "--tasks", "2", "--test-episodes", "2", "--seed", "1", "--eval-seed", "77",
        "--out", str(out)], tmp_path) == 0
    result = json.loads((out / "result.json").read_text())
    ds = load_metadataset(data)
    record, state = read_model(out)
    _check_record(record, ds, "ip2", "ip2", "metasnn.plasticity.intrinsic:build_evaluator", seed=1)
    assert record.extra == {"mask": ["threshold"]} and set(state) == {"intrinsic", "point"}
    assert record.config["hidden"] == 6 and "model" not in record.config  # the settings both networks share
    episodes = list(EpisodeSampler(ds, "test", EpisodeSpec(5, 1, 2), seed=77).take(2))
    assert [load_evaluator(out)(ep) for ep in episodes] == result["intrinsic"]["test_task_acc"]
    assert [build_evaluator(record, state, "point")(ep) for ep in episodes] == result["point"]["test_task_acc"]


def test_a_model_file_without_the_variant_asked_for_names_what_it_holds(data, tmp_path):
    from metasnn.errors import CheckpointError
    from metasnn.plasticity.metaplasticity import build_evaluator

    assert _train(data, tmp_path / "run", 0, ["--variants", "fixed", "--outer-steps", "1"]) == 0
    assert read_record(tmp_path / "run").extra == {"variants": ["fixed"]}
    with pytest.raises(CheckpointError, match="holds no network 'abcd' \\(it has fixed\\)"):
        load_evaluator(tmp_path / "run")
    assert build_evaluator(*read_model(tmp_path / "run"), variant="fixed").net.config.variant == "fixed"


# --- table stages on constructed run records (no training): per-row data sources -------------------------------
REAL_NMNIST = {"raw": "nmnist", "source": "shipped", "recordings": 900}
EMULATED_ASL = {"raw": "asldvs", "source": "synthetic", "recordings": 480}
RAW_OF = {"double_nmnist": ("nmnist", REAL_NMNIST), "double_asldvs": ("asldvs", EMULATED_ASL)}


def _run_dir(root, dataset, seed, result, source=None):
    raw, src = RAW_OF[dataset]
    out = root / dataset / f"seed{seed}"
    out.mkdir(parents=True)
    (out / "result.json").write_text(json.dumps(result))
    (out / "provenance.json").write_text(json.dumps({"stage": "x", "data_sources": {raw: source or src}}))
    return out


def _mp23_result(dataset, seed):
    cost = {"synaptic_ops_per_sample": 10.0, "op_kind": "AC", "activation_sparsity": 0.5, "param_bytes": 4,
            "state_bytes": 4}
    variants = {v: {"test_acc": 0.2 + 0.1 * i + 0.01 * seed, "test_task_acc": [0.2 + 0.1 * i, 0.3 + 0.1 * i],
                    "cost": cost, "rule_mean_abs": dict.fromkeys(("eta", "a", "b", "c", "d"), 0.1)}
                for i, v in enumerate(("fixed", "a_only", "bd", "abcd"))}
    return {"dataset": dataset, "seed": seed, "variants": variants}


def _table(module, name, runs, tables, figures):
    """Run a table stage on the run directories ``runs``; its log goes beside ``tables``."""
    return run_stage(module, name, ["--runs", *map(str, runs), "--tables-dir", str(tables),
                                    "--figures-dir", str(figures)], tables.parent)


def test_mp23_table_names_each_rows_data_source_and_the_claims(tmp_path):
    runs = [_run_dir(tmp_path / "runs", ds, s, _mp23_result(ds, s)) for ds in RAW_OF for s in (0, 1)]
    tables = tmp_path / "tables"
    assert _table(mp23_table, "mp23_table", runs, tables, tmp_path / "figures") == 0
    rows = list(csv.DictReader((tables / "mp23_rule_ablation.csv").open()))
    assert {r["dataset"]: r["data_source"] for r in rows} == {
        "double_nmnist": "real N-MNIST (subset, 900 recordings)", "double_asldvs": "emulated ASL-DVS"}
    assert all(r["comparable"] == "no" for r in rows)  # a subset and an emulator: never comparable
    (claim,) = json.loads((tables / "mp23_rule_ablation.claims.json").read_text())
    assert claim["data_source"] == "emulated ASL-DVS + real N-MNIST (subset, 900 recordings)"  # datasets sorted


def test_table_stages_refuse_runs_fed_by_two_sources_of_one_dataset(tmp_path):
    runs = [_run_dir(tmp_path / "a", "double_nmnist", 0, _mp23_result("double_nmnist", 0)),
            _run_dir(tmp_path / "b", "double_nmnist", 1, _mp23_result("double_nmnist", 1),
                     source={"raw": "nmnist", "source": "synthetic", "recordings": 1000})]
    assert _table(mp23_table, "mp23_table", runs, tmp_path / "t", tmp_path / "f") == 2
    assert not (tmp_path / "t" / "mp23_rule_ablation.csv").exists()


def _ip2_result(dataset, seed):
    cost = {"synaptic_ops_per_sample": None, "op_kind": None, "activation_sparsity": 0.5, "param_bytes": 4,
            "state_bytes": 4}
    model = lambda steps: {"steps_to_criterion": steps, "test_acc": 0.3, "test_task_acc": [0.3, 0.3],  # noqa: E731
                           "cost": cost, "inner_lr": 0.1}
    return {"dataset": dataset, "seed": seed, "mask": "threshold", "criterion": 0.8, "max_steps": 20,
            "intrinsic": model([10 - 2 * k + (seed * k) % 3 for k in range(4)]), "point": model([10, 10, 11, 10 + seed])}


def test_ip2_table_rows_pool_the_datasets_and_say_so(tmp_path):
    from pipeline import ip2_table

    runs = [_run_dir(tmp_path / "runs", ds, s, _ip2_result(ds, s)) for ds in RAW_OF for s in (0, 1)]
    tables = tmp_path / "tables"
    assert _table(ip2_table, "ip2_table", runs, tables, tmp_path / "figures") == 0
    rows = list(csv.DictReader((tables / "ip2_learning_to_learn.csv").open()))
    both = "emulated ASL-DVS + real N-MNIST (subset, 900 recordings)"
    assert rows and {r["data_source"] for r in rows} == {both}
    (claim,) = json.loads((tables / "ip2_learning_to_learn.claims.json").read_text())
    assert claim["claim_id"] == "ip2-C1" and claim["data_source"] == both
