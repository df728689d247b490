"""dsp stage CLIs in-process on a tiny synthetic Double N-MNIST: every method trains, determinism of the
run files, the model file of every run (its record rebuilds the method's evaluator), and the tables +
claims of dsp_tables."""

from __future__ import annotations

import json
import shutil

import pytest

from metasnn.data import EpisodeSampler, EpisodeSpec, load_metadataset
from metasnn.model_file import load_evaluator, read_model
from metasnn.plasticity.dsp import DSPConfig
from pipeline import dsp_tables, dsp_train
from tests.conftest import killed_at_step, run_stage, tiny_double_nmnist

EVAL_SEED = 10_000  # the meta-test tasks: episode seed
TINY = ["--queries", "2", "--train-queries", "1", "--channels", "2", "--input-pool", "2", "--outer-steps", "4",
        "--pretrain-steps", "3", "--batch-size", "4", "--head-steps", "3", "--eval-tasks", "2",
        "--convergence-window", "2", "--eval-seed", str(EVAL_SEED)]


stage = run_stage


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dsp")
    tiny_double_nmnist(tmp)
    return tmp / "meta/double_nmnist"


def _train(data, out, method, seed, extra=()):
    return stage(dsp_train, "dsp_train", ["--method", method, "--data", str(data), "--seed", str(seed), *TINY, *extra,
                                          "--out", str(out)], out.parent)


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    """Every dsp_train method trained with seeds 0 and 1: run directory by (method, seed)."""
    root = tmp_path_factory.mktemp("runs")
    dirs = {(method, seed): root / method / f"seed{seed}" for method in dsp_train.METHODS for seed in (0, 1)}
    for (method, seed), out in dirs.items():
        assert _train(data, out, method, seed) == 0
    return dirs


LOADERS = {"dsp": "metasnn.plasticity.dsp:build_evaluator", "dsp_fixed": "metasnn.plasticity.dsp:build_evaluator",
           "stdp": "metasnn.baselines.stdp:build_evaluator", "stbp": "metasnn.baselines.stbp:build_evaluator",
           "eihl": "metasnn.baselines.stbp:build_evaluator"}


def test_dsp_train_model_file_record_rebuilds_the_evaluator(data, trained, tmp_path):
    """model.pt alone says what the model is and rebuilds the evaluator that scored the run's first task."""
    ds = load_metadataset(data)
    ep = EpisodeSampler(ds, "test", EpisodeSpec(5, 1, 2), seed=EVAL_SEED).episode(0)
    assert set(LOADERS) == set(dsp_train.METHODS)
    for (method, seed), run_dir in trained.items():
        record, state = read_model(run_dir)
        assert (record.method, record.paper, record.loader, record.dataset, record.seed) == \
            (method, "dsp", LOADERS[method], "double_nmnist", seed)
        assert record.frame_shape == tuple(ds.frame_shape) == (2, 32, 16)
        assert (record.num_steps, record.time_bin_ms) == (ds.num_steps, ds.time_bin_ms)
        assert record.data_sources == {"nmnist": ds.data_sources["nmnist"].to_dict()}
        assert record.data_sources["nmnist"]["source"] == "synthetic"
        assert all(hasattr(v, "shape") for v in state.values())  # the weights only: the rest is the record
        if method.startswith("dsp"):
            assert DSPConfig.from_dict(record.config).learn_eta == (method == "dsp")
        alone = tmp_path / method / f"seed{seed}"  # no metrics.json, provenance.json or meta-dataset beside it
        alone.mkdir(parents=True)
        shutil.copy(run_dir / "model.pt", alone / "model.pt")
        evaluator = load_evaluator(alone)
        assert (evaluator.num_steps, evaluator.frame_shape) == (ds.num_steps, tuple(ds.frame_shape))
        first = json.loads((run_dir / "tasks.json").read_text())["test_task_acc"][0]
        assert evaluator(ep) == first, (method, seed)


def test_dsp_stages_end_to_end(data, trained, tmp_path):
    runs = [out / "metrics.json" for out in trained.values()]
    m = json.loads((trained[("dsp", 0)] / "metrics.json").read_text())
    assert 0.0 <= m["test_acc"] <= 1.0 and m["eta_cv"] > 0 and m["synaptic_ops_per_sample"] > 0
    assert json.loads((trained[("dsp_fixed", 0)] / "metrics.json").read_text())["eta_cv"] == 0.0
    assert json.loads((trained[("stdp", 0)] / "metrics.json").read_text())["stdp_weight_change_abs_mean"] > 0
    assert "approximate" in json.loads((trained[("eihl", 0)] / "metrics.json").read_text())["note"]
    # determinism: same seed => byte-identical run files
    again = tmp_path / "again"
    assert _train(data, again, "dsp", 0) == 0
    for name in ("metrics.json", "tasks.json", "curve.csv"):
        assert (again / name).read_bytes() == (trained[("dsp", 0)] / name).read_bytes(), name
    # beta sweep (one extra beta) + tables and claims
    sweep = []
    for seed in (0, 1):
        out = tmp_path / "sweep" / f"seed{seed}"
        assert _train(data, out, "dsp", seed, ["--beta", "0.01"]) == 0
        sweep.append(out / "metrics.json")
    tables, figures = tmp_path / "tables", tmp_path / "figures"
    argv = ["--runs", *map(str, runs), "--sweep", *map(str, sweep), "--sweep-datasets", "double_nmnist",
            "--heterogeneity-cv", "0.1", "--tables-dir", str(tables), "--figures-dir", str(figures), "--provenance", str(tmp_path / "tp/provenance.json")]
    assert stage(dsp_tables, "dsp_tables", argv, tmp_path) == 0
    for tid in dsp_tables_ids():
        assert (tables / f"{tid}.csv").is_file() and (tables / f"{tid}.md").is_file() and (figures / f"{tid}.png").is_file()
    table1 = (tables / "dsp_table1_methods.csv").read_text()
    assert "EIHL (approximate)" in table1 and "synaptic_ops_per_sample" in table1.splitlines()[0]
    claims = {c["claim_id"]: c for tid in dsp_tables_ids()
              for c in json.loads((tables / f"{tid}.claims.json").read_text())}
    assert set(claims) == {"dsp-C1", "dsp-C2", "dsp-C3", "dsp-C4"}
    assert all(c["verdict"] in ("holds", "does not hold", "inconclusive") for c in claims.values())
    assert all(c["data_source"] == "emulated N-MNIST" for c in claims.values())  # the tiny set is emulated
    prov = json.loads((tmp_path / "tp/provenance.json").read_text())
    assert prov["data_source"] == "emulated N-MNIST" and set(prov["data_sources"]) == {"nmnist"}
    first_csv = (tables / "dsp_fig5_beta_sweep.csv").read_bytes()
    assert b"0.001" in first_csv and b"0.01" in first_csv
    assert stage(dsp_tables, "dsp_tables", argv, tmp_path) == 0
    assert (tables / "dsp_fig5_beta_sweep.csv").read_bytes() == first_csv


def dsp_tables_ids():
    return ("dsp_table1_methods", "dsp_table3_fixed_vs_dynamic", "dsp_fig4_eta_hist", "dsp_fig5_beta_sweep")


@pytest.mark.parametrize("method,module", [("dsp", "metasnn.plasticity.dsp"), ("stbp", "metasnn.baselines.transfer"),
                                           ("eihl", "metasnn.baselines.eihl")])
def test_dsp_train_resumes_after_a_kill_to_identical_outputs(data, tmp_path, monkeypatch, caplog, method, module):
    """dsp_train with --checkpoint-dir (the registry passes one): killed after a checkpoint, rerun, same files."""
    import importlib

    assert _train(data, tmp_path / "full", method, 0) == 0
    ckpt = ["--checkpoint-dir", str(tmp_path / "ckpt"), "--checkpoint-every", "1"]
    with killed_at_step(monkeypatch, importlib.import_module(module), 1):  # step 0 checkpointed, step 1 lost
        assert _train(data, tmp_path / "resumed", method, 0, ckpt) == 130
    assert not (tmp_path / "resumed").exists()  # nothing half-written
    with caplog.at_level("INFO", logger="metasnn.meta.training"):
        assert _train(data, tmp_path / "resumed", method, 0, ckpt) == 0
    assert "at step 1 of" in caplog.text  # resumed after the checkpointed step, not rerun from scratch
    for name in ("metrics.json", "tasks.json", "curve.csv"):
        assert (tmp_path / "resumed" / name).read_bytes() == (tmp_path / "full" / name).read_bytes(), name
