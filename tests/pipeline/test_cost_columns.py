"""Cost columns (metasnn.evaluation.cost) of the sn22 Table 2, wu22 few-shot HP and cross-dataset tables, measured
on tiny trained models by the stages themselves (in-process, tiny synthetic Double N-MNIST)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from metasnn.evaluation.cost import COST_COLUMNS
from metasnn.model_file import load_evaluator, read_model
from pipeline import (
    cross_dataset,
    cross_dataset_eval,
    evaluate_fewshot,
    ip2_train,
    metatrain,
    sn22_tables,
    wu22_fewshot_hp,
    wu22_fewshot_table,
)
from tests.conftest import run_stage, tiny_double_nmnist

SN22_TINY = ["--queries", "2", "--burn-in", "0.3", "--channels", "2", "4", "4", "--lsuv-mean", "-0.5", "--threads", "1",
             "--outer-steps", "2", "--inner-lr", "1.0", "--seed", "0"]
HP_TINY = ["--channels", "2", "4", "--episodes", "2", "--test-episodes", "2", "--queries", "2", "--seed", "0", "--eval-seed", "1234"]
IP2_TINY = ["--shots", "1", "--queries", "2", "--hidden", "6", "--max-steps", "2", "--mask-candidates", "threshold",
            "--selection-tasks", "1", "--tasks", "2", "--test-episodes", "1", "--seed", "0", "--eval-seed", "1234"]


def _param_bytes(state_dict) -> int:
    return sum(v.numel() * v.element_size() for v in state_dict.values())


def _taps(n: int, k: int, pad: int, stride: int = 1) -> int:
    """In-bounds kernel taps summed over the outputs of one conv dimension: NeuroBench's dense count (a padding
    tap is no synapse)."""
    return sum(sum(0 <= o * stride - pad + t < n for t in range(k)) for o in range((n + 2 * pad - k) // stride + 1))


def _sn22_dense_ops(record, state, steps: int) -> float:
    """Dense MACs per sample of the sn22 conv stack + readout (all T steps for the SNN), from its geometry."""
    from metasnn.meta.sn22 import load_learner
    from metasnn.snn import SN22ConvSNN

    model, _ = load_learner(record, state)
    _, h, w = model.input_shape
    h, w = h // model.input_pool, w // model.input_pool
    total = 0.0
    for i, layer in enumerate(model.layers):
        syn = getattr(layer, "synapse", layer)
        if i < model.num_conv:  # 'same' convs, 2x2 pooling after each
            k, pad = syn.kernel_size[0], syn.padding[0]
            total += syn.out_channels * syn.in_channels * _taps(h >> i, k, pad) * _taps(w >> i, k, pad)
        else:
            total += syn.in_features * syn.out_features
    return total * (steps if isinstance(model, SN22ConvSNN) else 1)  # the CNN sees one time-summed image


def _same(cell: str, value) -> bool:
    """A CSV cell (6 significant digits) holds ``value`` (empty for None)."""
    if value is None or isinstance(value, str):
        return cell == (value or "")
    return float(cell) == pytest.approx(float(value), rel=1e-5)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def _check_cost(cols, *, dense: float | None, param_bytes: int, spiking: bool = True, synapses: bool = True) -> None:
    assert set(COST_COLUMNS) <= set(cols)
    if synapses:
        ops = float(cols["synaptic_ops_per_sample"])
        assert math.isfinite(ops) and ops > 0
        if dense is not None:
            assert ops <= dense * (1 + 1e-9)
        assert cols["op_kind"] == "MAC"
    else:  # no hookable synapse: explicit empty values, not 0
        assert cols["synaptic_ops_per_sample"] in (None, "") and cols["op_kind"] in (None, "")
    if spiking:
        assert 0.0 <= float(cols["activation_sparsity"]) <= 1.0
        assert float(cols["state_bytes"]) > 0
    else:
        assert cols["activation_sparsity"] in (None, "")
    assert int(float(cols["param_bytes"])) == param_bytes


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Tiny trained models under the registry's model_dir layout (so cross_dataset finds them)."""
    tmp = tmp_path_factory.mktemp("cost")
    meta = tiny_double_nmnist(tmp)
    runs = tmp / "results/runs"
    for method in ("maml_snn", "maml_cnn"):
        out = runs / f"sn22_metatrain/{method}/double_nmnist/seed0"
        assert run_stage(metatrain, "metatrain", ["--method", method, "--data", str(meta), *SN22_TINY,
                                                  "--out", str(out)], tmp) == 0
    hp = runs / "wu22_fewshot_hp/double_nmnist/seed0"
    assert run_stage(wu22_fewshot_hp, "wu22_fewshot_hp", ["--data", str(meta), *HP_TINY, "--out", str(hp / "result.json"),
                                                          "--model", str(hp / "model.pt"),
                                                          "--provenance", str(hp / "provenance.json")], tmp) == 0
    assert run_stage(ip2_train, "ip2_train", ["--data", str(meta), *IP2_TINY,
                                              "--out", str(runs / "ip2_train/double_nmnist/seed0")], tmp) == 0
    return tmp, meta, runs


def test_sn22_table2_carries_the_cost_of_the_adapted_model(trained):
    tmp, meta, runs = trained
    from metasnn.data import load_metadataset

    steps = load_metadataset(meta).num_steps
    evals, measured = [], {}
    for method in ("maml_snn", "maml_cnn"):
        model_dir = runs / f"sn22_metatrain/{method}/double_nmnist/seed0"
        out = runs / f"sn22_evaluate/{method}/double_nmnist/seed0"
        assert run_stage(evaluate_fewshot, "evaluate_fewshot", ["--model", str(model_dir / "model.pt"), "--data", str(meta),
                                                                "--val-tasks", "1", "--test-tasks", "2", "--repeats", "1",
                                                                "--out", str(out)], tmp) == 0
        m = json.loads((out / "metrics.json").read_text())
        record, state = read_model(model_dir)
        dense = _sn22_dense_ops(record, state, steps)
        assert m["dense_ops_per_sample"] == pytest.approx(dense)
        _check_cost(m, dense=dense, param_bytes=_param_bytes(state), spiking=method == "maml_snn")
        assert m["cost_task"] == "test task 0"
        evals.append(out / "metrics.json")
        measured[method] = m
    # the SNN's membrane-trace synapses are MACs at P's density; the CNN's first conv sees sparse event counts
    assert measured["maml_snn"]["synaptic_ops_per_sample"] < measured["maml_snn"]["dense_ops_per_sample"]
    assert measured["maml_cnn"]["state_bytes"] is None

    tables = tmp / "tables"
    assert run_stage(sn22_tables, "sn22_tables", [
        "--evaluations", *map(str, evals),
        "--curves", *[str(runs / f"sn22_metatrain/{m}/double_nmnist/seed0/curve.csv") for m in measured],
        "--noninferiority-margin", "2.0", "--frozen-margin", "5.0", "--transfer-shots-holds", "5",
        "--transfer-shots-fails", "3",
        "--tables-dir", str(tables), "--figures-dir", str(tmp / "figures"), "--scale", "smoke"], tmp) == 0
    rows = [r for r in _rows(tables / "sn22_table2_fewshot.csv") if r["reproduced_mean"]]
    assert {(r["method"], r["split"]) for r in rows} == {(m, s) for m in measured for s in ("val", "test")}
    for r in rows:
        assert all(_same(r[c], measured[r["method"]][c]) for c in COST_COLUMNS), r
    assert "Cost columns" in (tables / "sn22_table2_fewshot.md").read_text()


def test_wu22_fewshot_table_carries_the_cost_of_the_hp_model(trained):
    tmp, meta, runs = trained
    hp = runs / "wu22_fewshot_hp/double_nmnist/seed0"
    result = json.loads((hp / "result.json").read_text())
    cost = result["cost"]
    from metasnn.data import load_metadataset

    net = load_evaluator(hp).net
    dense = float(net.readout.synapse.in_features * net.readout.synapse.out_features)  # one step per query
    _, h, w = load_metadataset(meta).frame_shape
    for conv in net.convs:  # 3x3, stride 2, padding 1, on the time-summed image
        dense += conv.out_channels * conv.in_channels * _taps(h, 3, 1, 2) * _taps(w, 3, 1, 2)
        h, w = (h + 1) // 2, (w + 1) // 2
    assert cost["dense_ops_per_sample"] == pytest.approx(dense)
    _check_cost(cost, dense=dense, param_bytes=_param_bytes(net.state_dict()))
    assert cost["state_bytes"] == 5 * net.ways * 4  # U, Q, P, R, S of the readout neurons, float32

    tables = tmp / "tables_hp"
    assert run_stage(wu22_fewshot_table, "wu22_fewshot_table", [
        "--results", str(hp / "result.json"), "--provenance", str(hp / "provenance.json"),
        "--tables-dir", str(tables), "--figures-dir", str(tmp / "figures_hp"), "--scale", "smoke"], tmp) == 0
    rows = _rows(tables / "wu22_fewshot_hp.csv")
    assert rows and all(_same(r[c], cost[c]) for r in rows for c in COST_COLUMNS)
    assert "α·(x@P)" in (tables / "wu22_fewshot_hp.md").read_text()


def test_cross_dataset_rows_carry_each_methods_cost(trained):
    tmp, meta, runs = trained
    tables = tmp / "tables_cross"
    models = {"maml_snn": runs / "sn22_metatrain/maml_snn/double_nmnist/seed0",
              "maml_cnn": runs / "sn22_metatrain/maml_cnn/double_nmnist/seed0",
              "hp": runs / "wu22_fewshot_hp/double_nmnist/seed0", "ip2": runs / "ip2_train/double_nmnist/seed0"}
    for method, model in models.items():  # one cross_dataset_eval job per trained model, then the table
        assert run_stage(cross_dataset_eval, "cross_dataset_eval", [
            "--method", method, "--train-dataset", "double_nmnist", "--seed", "0", "--model", str(model),
            "--data", str(meta), "--episodes", "2", "--queries", "2", "--out", str(tmp / "cross" / method),
            "--scale", "smoke"], tmp) == 0
    assert run_stage(cross_dataset, "cross_dataset", [
        "--runs", *[str(tmp / "cross" / m) for m in models], "--data", str(meta), "--episodes", "2",
        "--tables-dir", str(tables), "--figures-dir", str(tmp / "figures_cross"),
        "--provenance", str(tmp / "cross_table/provenance.json"), "--scale", "smoke"], tmp) == 0
    rows = {r["method"]: r for r in _rows(tables / "cross_dataset.csv") if r["reproduced_mean"]}
    assert set(rows) == {"maml_snn", "maml_cnn", "hp", "ip2"}
    assert {m: r["paper"] for m, r in rows.items()} == {"maml_snn": "sn22", "maml_cnn": "sn22", "hp": "wu22", "ip2": "ip2"}
    for m in ("maml_snn", "maml_cnn"):
        _check_cost(rows[m], dense=None, param_bytes=_param_bytes(read_model(models[m])[1]), spiking=m == "maml_snn")
    _check_cost(rows["hp"], dense=None, param_bytes=_param_bytes(load_evaluator(models["hp"]).net.state_dict()))
    ip2 = load_evaluator(models["ip2"]).net
    _check_cost(rows["ip2"], dense=None, param_bytes=_param_bytes(ip2.state_dict()), synapses=False)
    md = (tables / "cross_dataset.md").read_text()
    assert "cost, ip2: no synapse module" in md and "cost, hp: not counted: the plastic current" in md
    for m in rows:
        (test,) = json.loads((tmp / "cross" / m / "result.json").read_text())["tests"]
        assert test["test_dataset"] == "double_nmnist" and set(test["cost"]) == set(COST_COLUMNS)
