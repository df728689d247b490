"""mp23 stage CLIs in-process on a tiny synthetic Double N-MNIST: every rule variant trains, the run files are
deterministic, the method registry's evaluator reproduces a task accuracy, and mp23_table writes the table,
figure and claim mp23-C1 with the meta-training settings in its notes."""

from __future__ import annotations

import json

import pytest

from metasnn.data import EpisodeSampler, EpisodeSpec, load_metadataset
from metasnn.meta.methods import load_evaluator
from pipeline import mp23_table, mp23_train
from tests.conftest import run_stage, tiny_double_nmnist

TINY = ["--queries", "2", "--train-queries", "1", "--hidden", "8", "--steps", "6", "--outer-steps", "3",
        "--outer-lr", "0.003", "--rule-lr-factor", "0.5", "--test-episodes", "2"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mp23")
    tiny_double_nmnist(tmp)
    return tmp / "meta/double_nmnist"


def _train(data, out, seed):
    return run_stage(mp23_train, "mp23_train", ["--data", str(data), "--seed", str(seed), *TINY, "--out", str(out)],
                     out.parent)


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
    # the registry's evaluator (raw frames) reproduces the run's first meta-test task accuracy (encoded episodes)
    ep = EpisodeSampler(load_metadataset(data), "test", EpisodeSpec(5, 1, 2), seed=10_000).episode(0)
    assert load_evaluator("mp23", runs[0])(ep) == pytest.approx(result["variants"]["abcd"]["test_task_acc"][0])
    tables, figures = tmp_path / "tables", tmp_path / "figures"
    assert run_stage(mp23_table, "mp23_table", ["--runs", *map(str, runs), "--tables-dir", str(tables),
                                                "--figures-dir", str(figures)], tmp_path) == 0
    assert (figures / "mp23_rule_ablation.png").is_file()
    md = (tables / "mp23_rule_ablation.md").read_text()
    assert "3 outer steps, lr 0.003 (rule tensors × 0.5), 1 training queries per class" in md
    (claim,) = json.loads((tables / "mp23_rule_ablation.claims.json").read_text())
    assert claim["claim_id"] == "mp23-C1" and claim["verdict"] in ("holds", "does not hold", "inconclusive")
