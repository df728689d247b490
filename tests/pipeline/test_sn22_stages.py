"""sn22 stage CLIs as the pipeline runs them (in-process, tiny sizes): resume, determinism, tables, model files."""

from __future__ import annotations

import json

import pytest
import torch

from metasnn.io import load_tensors
from metasnn.meta import sn22 as sn22_module
from metasnn.model_file import read_model, read_record
from pipeline import (
    evaluate_fewshot,
    metatrain,
    sn22_inner_steps,
    sn22_tables,
    sn22_transfer,
)
from tests.conftest import run_stage, tiny_double_nmnist

TINY = ["--queries", "2", "--burn-in", "0.3", "--channels", "2", "4", "4", "--lsuv-mean", "-0.5", "--threads", "1"]


stage = run_stage


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sn22")
    tiny_double_nmnist(tmp)
    return tmp


def _train(data, out, method="maml_snn", steps=6, extra=(), tmp=None):
    argv = ["--method", method, "--data", str(data / "meta/double_nmnist"), "--seed", "0", "--outer-steps", str(steps),
            "--inner-lr", "1.0", *TINY, *extra, "--out", str(out)]
    return stage(metatrain, "metatrain", argv, tmp or out.parent)


def test_metatrain_resumes_after_interrupt_to_identical_weights(data, tmp_path, monkeypatch):
    assert _train(data, tmp_path / "full", steps=7) == 0
    ckpt = ["--checkpoint-dir", str(tmp_path / "ckpt"), "--checkpoint-every", "2"]
    real_loop = sn22_module.train_loop

    def interrupted(*args, **kwargs):
        def after_step(step, row):
            if step == 4:  # checkpoints exist after 2 and 4 completed steps; step 4 itself is lost
                raise KeyboardInterrupt
        return real_loop(*args, **{**kwargs, "after_step": after_step})

    monkeypatch.setattr(sn22_module, "train_loop", interrupted)
    assert _train(data, tmp_path / "resumed", steps=7, extra=ckpt) == 130
    assert not (tmp_path / "resumed").exists()  # nothing half-written
    assert load_tensors(tmp_path / "ckpt/checkpoint.pt")["completed_steps"] == 4
    monkeypatch.setattr(sn22_module, "train_loop", real_loop)
    assert _train(data, tmp_path / "resumed", steps=7, extra=ckpt) == 0
    _, a = read_model(tmp_path / "full")
    _, b = read_model(tmp_path / "resumed")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert (tmp_path / "full/curve.csv").read_bytes() == (tmp_path / "resumed/curve.csv").read_bytes()
    assert json.loads((tmp_path / "resumed/metrics.json").read_text())["resumed_from_step"] == 4


def test_divergence_is_a_one_line_error(data, tmp_path, capsys):
    rc = _train(data, tmp_path / "bad", steps=3, extra=["--max-loss", "1e-6"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert err[-1].startswith("error: training diverged at outer step 0")
    assert not (tmp_path / "bad").exists()


@pytest.mark.slow
def test_sn22_chain_tables_and_determinism(data, tmp_path):
    meta = str(data / "meta/double_nmnist")
    runs = tmp_path / "runs"
    evals = []
    for method in ("maml_snn", "fomaml_snn", "maml_cnn"):
        assert _train(data, runs / f"train/{method}", method=method, steps=3, tmp=tmp_path) == 0
        out = runs / f"eval/{method}"
        assert stage(evaluate_fewshot, "evaluate_fewshot", ["--model", str(runs / f"train/{method}/model.pt"),
                                                            "--data", meta, "--val-tasks", "3", "--test-tasks", "4",
                                                            "--repeats", "2", "--out", str(out)], tmp_path) == 0
        evals.append(out / "metrics.json")
    m = json.loads(evals[0].read_text())
    assert m["method"] == "maml_snn" and m["seed"] == 0 and 0.0 <= m["test_acc_mean"] <= 1.0
    assert m["test_n_tasks"] == 4 and m["test_inner_update_avg"] > 0
    # same model + eval seed => byte-identical evaluation outputs
    again = runs / "eval/maml_snn_again"
    assert stage(evaluate_fewshot, "evaluate_fewshot", ["--model", str(runs / "train/maml_snn/model.pt"), "--data", meta,
                                                        "--val-tasks", "3", "--test-tasks", "4", "--repeats", "2",
                                                        "--out", str(again)], tmp_path) == 0
    for f in ("metrics.json", "per_task.csv", "update_histogram.json"):
        assert (again / f).read_bytes() == (runs / "eval/maml_snn" / f).read_bytes(), f
    # same arguments => same weights and curve
    assert _train(data, runs / "train/maml_snn_again", steps=3, tmp=tmp_path) == 0
    assert (runs / "train/maml_snn_again/curve.csv").read_bytes() == (runs / "train/maml_snn/curve.csv").read_bytes()

    assert stage(sn22_inner_steps, "sn22_inner_steps", ["--model", str(runs / "train/maml_snn/model.pt"), "--data", meta,
                                                        "--steps", "1", "2", "--tasks", "3",
                                                        "--out", str(runs / "fig3")], tmp_path) == 0
    assert _train(data, runs / "frozen/train", steps=2, extra=["--frozen-layers", "3"], tmp=tmp_path) == 0
    assert stage(evaluate_fewshot, "evaluate_fewshot", ["--model", str(runs / "frozen/train/model.pt"), "--data", meta,
                                                        "--val-tasks", "2", "--test-tasks", "3",
                                                        "--out", str(runs / "frozen/eval")], tmp_path) == 0
    frozen = json.loads((runs / "frozen/eval/metrics.json").read_text())
    frozen_record = read_record(runs / "frozen/train")  # the frozen stage keeps its method; the config says frozen
    assert frozen_record.method == "maml_snn" and frozen_record.config["frozen_layers"] == 3
    assert frozen["frozen_layers"] == 3 and frozen["adapted_weights_per_step"] < m["adapted_weights_per_step"]
    assert _train(data, runs / "thr/train", steps=2, extra=["--inner-threshold", "0.05"], tmp=tmp_path) == 0
    assert stage(evaluate_fewshot, "evaluate_fewshot", ["--model", str(runs / "thr/train/model.pt"), "--data", meta,
                                                        "--val-tasks", "2", "--test-tasks", "3",
                                                        "--out", str(runs / "thr/eval")], tmp_path) == 0
    thr = json.loads((runs / "thr/eval/metrics.json").read_text())
    assert read_record(runs / "thr/train").config["inner_threshold"] == 0.05
    assert thr["test_nonzero_updates_mean"] < thr["adapted_weights_per_step"]  # the gate removed updates
    assert stage(sn22_transfer, "sn22_transfer", ["--data", meta, "--seed", "0", "--channels", "2", "4", "4",
                                                  "--burn-in", "0.3", "--pretrain-steps", "3", "--pretrain-batch", "4",
                                                  "--shots", "1", "2", "--queries", "2", "--tasks", "2",
                                                  "--head-steps", "3", "--out", str(runs / "transfer")], tmp_path) == 0
    tr = json.loads((runs / "transfer/results.json").read_text())
    assert tr["shots"] == [1, 2] and len(tr["per_task"]["2"]) == 2

    def tables_stage(tables, figures):
        return stage(sn22_tables, "sn22_tables", [
            "--evaluations", *map(str, evals), "--curves", *[str(runs / f"train/{m}/curve.csv") for m in
                                                              ("maml_snn", "fomaml_snn", "maml_cnn")],
            "--inner-steps", str(runs / "fig3/results.json"), "--frozen", str(runs / "frozen/eval/metrics.json"),
            "--threshold", str(runs / "thr/eval/metrics.json"), "--transfer", str(runs / "transfer/results.json"),
            "--noninferiority-margin", "2.0", "--frozen-margin", "5.0", "--transfer-shots-holds", "5",
            "--transfer-shots-fails", "3", "--tables-dir", str(tables), "--figures-dir", str(figures),
            "--scale", "smoke"], tmp_path)

    tables, figures = tmp_path / "tables", tmp_path / "figures"
    assert tables_stage(tables, figures) == 0
    assert tables_stage(tmp_path / "tables2", figures) == 0
    for f in sorted(tables.iterdir()):  # same inputs => byte-identical tables and claims
        if f.suffix in (".csv", ".json"):
            assert f.read_bytes() == (tmp_path / "tables2" / f.name).read_bytes(), f.name
    for tid in ("sn22_table2_fewshot", "sn22_fig3_inner_steps", "sn22_fig4_frozen_layers",
                "sn22_table3_update_magnitudes", "sn22_fig5_thresholded_updates", "sn22_fig6_transfer"):
        assert (tables / f"{tid}.csv").is_file() and (tables / f"{tid}.md").is_file()
        assert (figures / f"{tid}.png").stat().st_size > 1000
        claims = json.loads((tables / f"{tid}.claims.json").read_text())
        assert claims and all(c["verdict"] in ("holds", "does not hold", "inconclusive", "not run") for c in claims)
    rows = (tables / "sn22_table2_fewshot.csv").read_text().splitlines()
    header = rows[0].split(",")
    snn_test = next(r.split(",") for r in rows if r.startswith("double_nmnist,maml_snn,test"))
    assert float(snn_test[header.index("reproduced_mean")]) == pytest.approx(m["test_acc_mean"] * 100)
    assert snn_test[header.index("data_source")] == "emulated N-MNIST"  # the tiny set is emulated (tiny_double_nmnist)
    c1 = json.loads((tables / "sn22_table2_fewshot.claims.json").read_text())[0]
    assert c1["claim_id"] == "sn22-C1" and c1["data_source"] == "emulated N-MNIST"


def test_claim_margins_and_thresholds_come_from_params(capsys):
    """The claim margins / thresholds of sn22, dsp and wu22 are params (DVC-tracked), not CLI defaults."""
    from pipeline import dsp_tables, wu22_tables
    from pipeline.cli import build_parser
    from pipeline.registry import P
    from pipeline.stages import STAGES

    wanted = {"sn22_tables": {"--noninferiority-margin": "sn22.claims.noninferiority_margin",
                              "--frozen-margin": "sn22.claims.frozen_margin",
                              "--transfer-shots-holds": "sn22.claims.transfer_shots_holds",
                              "--transfer-shots-fails": "sn22.claims.transfer_shots_fails"},
              "dsp_tables": {"--heterogeneity-cv": "dsp.heterogeneity_cv"},
              "wu22_tables": {"--margin": "wu22.noninferiority_margin"}}
    for name, flags in wanted.items():
        args = dict(STAGES[name].args)
        assert {f: args[f] for f in flags} == {f: P(k) for f, k in flags.items()}, name
    for module, name in ((sn22_tables, "sn22_tables"), (dsp_tables, "dsp_tables"), (wu22_tables, "wu22_tables")):
        actions = {a.option_strings[0]: a for a in build_parser(name, module.__doc__, module.add_arguments)._actions
                   if a.option_strings}
        for flag in wanted[name]:
            assert actions[flag].required and actions[flag].default is None, (name, flag)


def test_model_file_records_the_learner_and_rebuilds_its_evaluator(data, tmp_path):
    """metatrain's model.pt says what it is (record) and load_evaluator(dir) rebuilds the learner from it alone:
    the same query accuracy as evaluate_fewshot's and as a direct evaluation, on the same episodes."""
    from metasnn.data import EpisodeSampler, EpisodeSpec, load_metadataset
    from metasnn.evaluation.fewshot import evaluate_tasks
    from metasnn.meta.maml import functional_loss
    from metasnn.meta.sn22 import LOADER, SN22Config, make_inner_loop
    from metasnn.model_file import load_evaluator

    out = tmp_path / "run"
    assert _train(data, out, method="fomaml_snn", extra=["--frozen-layers", "1"]) == 0
    ds = load_metadataset(data / "meta/double_nmnist")
    record = read_record(out)
    assert (record.method, record.paper, record.loader) == ("fomaml_snn", "sn22", LOADER)
    assert LOADER == "metasnn.meta.sn22:build_evaluator"
    assert record.dataset == ds.name == "double_nmnist" and record.seed == 0
    assert record.frame_shape == tuple(ds.frame_shape) and record.num_steps == ds.num_steps
    assert record.time_bin_ms == ds.time_bin_ms == 10.0
    assert record.data_sources == {k: v.to_dict() for k, v in ds.data_sources.items()}
    assert record.data_sources["nmnist"]["source"] == "synthetic"
    cfg = SN22Config.from_dict(record.config)
    assert cfg.method == "fomaml_snn" and cfg.frozen_layers == 1 and cfg.channels == (2, 4, 4) and cfg.queries == 2

    (tmp_path / "run/provenance.json").unlink()  # the evaluator needs the model file only
    evaluator = load_evaluator(out)
    assert evaluator.cfg == cfg and evaluator.frame_shape == record.frame_shape
    assert evaluator.num_steps == record.num_steps
    assert stage(evaluate_fewshot, "evaluate_fewshot", ["--model", str(out / "model.pt"),
                                                        "--data", str(data / "meta/double_nmnist"),
                                                        "--val-tasks", "1", "--test-tasks", "2", "--repeats", "1",
                                                        "--out", str(tmp_path / "eval")], tmp_path) == 0
    metrics = json.loads((tmp_path / "eval/metrics.json").read_text())
    assert metrics["seed"] == record.seed  # the learner's seed comes from its record
    staged = [float(r.split(",")[2]) for r in (tmp_path / "eval/per_task.csv").read_text().splitlines()
              if r.startswith("test,")]
    sampler = EpisodeSampler(ds, "test", EpisodeSpec(cfg.ways, cfg.shots, cfg.queries), seed=metrics["eval_seed"])
    model = evaluator.model
    for i, acc in enumerate(staged):
        episode = sampler.episode(i)
        (direct,) = evaluate_tasks(dict(model.named_parameters()), functional_loss(model), [episode],
                                   make_inner_loop(cfg, model))
        assert evaluator(episode) == acc == direct.accuracy and 0.0 <= acc <= 1.0


def test_transfer_model_file_records_the_pretrained_network(data, tmp_path):
    """sn22_transfer's model.pt: method "transfer", paper "sn22", no few-shot loader; its config rebuilds the net."""
    from metasnn.errors import CheckpointError
    from metasnn.model_file import load_evaluator
    from metasnn.snn import build_model

    meta = data / "meta/double_nmnist"
    assert stage(sn22_transfer, "sn22_transfer", ["--data", str(meta), "--seed", "1", "--channels", "2", "4", "4",
                                                  "--burn-in", "0.3", "--pretrain-steps", "2", "--pretrain-batch", "4",
                                                  "--pretrain-lr", "0.002", "--init", "lsuv", "--lsuv-mean", "-0.5",
                                                  "--shots", "1", "--queries", "2", "--tasks", "1", "--head-steps", "2",
                                                  "--out", str(tmp_path / "transfer")], tmp_path) == 0
    record, state = read_model(tmp_path / "transfer")
    assert (record.method, record.paper, record.loader) == ("transfer", "sn22", "")
    assert record.dataset == "double_nmnist" and record.seed == 1 and record.num_steps == 10
    assert record.frame_shape == (2, 32, 16) and record.data_sources["nmnist"]["source"] == "synthetic"
    config = dict(record.config)
    assert config.pop("pretrain") == {"steps": 2, "batch_size": 4, "lr": 2e-3, "init": "lsuv", "lsuv_mean": -0.5}
    net = build_model(config.pop("model"), record.frame_shape, config.pop("classes"), **config)
    net.load_state_dict(state)  # the record's config rebuilds the pretrained network its state fits
    assert net.layers[-1].synapse.out_features == 64
    with pytest.raises(CheckpointError, match="not a few-shot learner"):
        load_evaluator(tmp_path / "transfer")
