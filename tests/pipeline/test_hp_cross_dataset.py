"""HP few-shot: the cross-dataset stage's evaluator (registry entry "hp", rebuilt from model.pt) reproduces the
wu22_fewshot_hp stage's own per-episode accuracies on the same episodes, and on the model's own meta-dataset the
cross-dataset resampling is the identity (tiny synthetic Double N-MNIST, stages run in-process)."""

from __future__ import annotations

import json

import pytest
import torch

from metasnn.data import EpisodeSampler, EpisodeSpec, load_metadataset
from metasnn.errors import CheckpointError
from metasnn.evaluation.cross_dataset import evaluate_episodes, resample_episode
from metasnn.io import load_tensors, save_tensors
from metasnn.meta.methods import load_evaluator
from pipeline import cross_dataset, wu22_fewshot_hp
from tests.conftest import run_stage, tiny_double_nmnist

SEED, EPISODES, WAYS, SHOTS, QUERIES = 1, 6, 5, 1, 2
# a few meta-training episodes at a high meta lr: the trace's post-synaptic form must matter for the predictions
HP_ARGS = ["--channels", "2", "4", "--episodes", "8", "--lr-meta", "0.2", "--test-episodes", str(EPISODES),
           "--ways", str(WAYS), "--shots", str(SHOTS), "--queries", str(QUERIES), "--seed", str(SEED)]


@pytest.fixture(scope="module")
def hp_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hp_cross")
    meta = tiny_double_nmnist(tmp)
    hp = tmp / f"results/runs/wu22_fewshot_hp/double_nmnist/seed{SEED}"
    assert run_stage(wu22_fewshot_hp, "wu22_fewshot_hp", ["--data", str(meta), *HP_ARGS, "--out", str(hp / "result.json"),
                                                          "--model", str(hp / "model.pt"),
                                                          "--provenance", str(hp / "provenance.json")], tmp) == 0
    return tmp, meta, hp, json.loads((hp / "result.json").read_text())


def test_registry_evaluator_rebuilds_the_stage_network_and_reproduces_its_accuracies(hp_run):
    _, meta, hp, result = hp_run
    evaluator = load_evaluator("hp", hp)
    assert evaluator.net.config.to_dict() == json.loads((hp / "provenance.json").read_text())["hp_config"]
    ds = load_metadataset(meta)
    for split in ("val", "test"):
        episodes = list(EpisodeSampler(ds, split, EpisodeSpec(WAYS, SHOTS, QUERIES), seed=10_000 + SEED).take(EPISODES))
        for ep in episodes:  # own meta-dataset: resampling is the identity
            same = resample_episode(ep, evaluator.frame_shape, evaluator.num_steps)
            assert torch.equal(same.support_x, ep.support_x) and torch.equal(same.query_x, ep.query_x)
        assert evaluate_episodes(evaluator, episodes) == result[f"{split}_task_acc"]
    assert len(set(result["test_task_acc"] + result["val_task_acc"])) > 1  # not a constant (chance) predictor


def test_cross_dataset_within_row_equals_the_stage_on_the_same_episodes(hp_run):
    tmp, meta, hp, result = hp_run
    assert run_stage(cross_dataset, "cross_dataset", [
        "--data", str(meta), "--models", str(hp), "--episodes", str(EPISODES), "--ways", str(WAYS), "--shots",
        str(SHOTS), "--queries", str(QUERIES), "--eval-seed", str(10_000 + SEED), "--tables-dir", str(tmp / "tables"),
        "--figures-dir", str(tmp / "figures"), "--out", str(tmp / "cross"), "--scale", "smoke"], tmp) == 0
    acc = json.loads((tmp / "cross/accuracies.json").read_text())
    assert acc["hp|double_nmnist|double_nmnist"][str(SEED)] == result["test_task_acc"]


def test_an_older_payload_without_the_hp_constants_is_refused(hp_run, tmp_path):
    _, _, hp, _ = hp_run
    old = tmp_path / "results/runs/wu22_fewshot_hp/double_nmnist/seed0"
    payload = load_tensors(hp / "model.pt")
    save_tensors({k: payload[k] for k in ("state_dict", "channels", "ways")}, old / "model.pt")
    with pytest.raises(CheckpointError, match="rerun pipeline.wu22_fewshot_hp"):
        load_evaluator("hp", old)
