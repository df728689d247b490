"""Per-split metrics of a few-shot evaluation (sn22 Table 3 update magnitudes, non-zero updates, Fig 5 histogram,
per_task.csv) and the flat metrics of a dsp-experiment method run."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from metasnn.evaluation.fewshot import TaskOutcome
from metasnn.meta.sn22_evaluation import HIST_EDGES, per_task_csv, split_metrics, update_histogram
from metasnn.plasticity.dsp import MethodRun

OUT = "layers.2.synapse.weight"


def _outcomes():
    return [TaskOutcome(0, 0.5, updates=[{OUT: torch.tensor([[0.0, -2.0], [1.0, 0.0]]), "w0": torch.tensor([0.5])},
                                         {OUT: torch.tensor([[0.0, 3e-6], [0.0, 0.0]])}]),
            TaskOutcome(1, 1.0, updates=[{OUT: torch.tensor([[0.0, 0.0], [0.0, 4.0]])}]),
            TaskOutcome(2, 0.0)]  # no updates recorded


def test_split_metrics_and_rows():
    metrics, rows = split_metrics("test", _outcomes(), OUT, repeats=3)
    assert rows == [("test", 0, 0.5, 0.75, 3.0, 2.0, 4), ("test", 1, 1.0, 1.0, 4.0, 4.0, 1),
                    ("test", 2, 0.0, 0.0, 0.0, 0.0, 0)]
    assert metrics["test_acc_mean"] == pytest.approx(0.5) and metrics["test_n_tasks"] == 3
    assert metrics["test_sn22_repeat_std"] == pytest.approx(0.5)
    assert metrics["test_inner_update_avg"] == pytest.approx(1.75 / 3)
    assert metrics["test_inner_update_max_std"] == pytest.approx(float(np.std([2.0, 4.0, 0.0], ddof=1)))
    assert metrics["test_nonzero_updates_mean"] == pytest.approx(5 / 3)
    assert metrics["test_nonzero_update_mean_abs"] == pytest.approx((3.5 + 3e-6 + 4.0) / 5)
    one, _ = split_metrics("val", _outcomes()[:1], OUT, repeats=2)
    assert one["val_inner_update_avg_std"] == 0.0 and np.isnan(one["val_sn22_repeat_std"])


def test_update_histogram_counts_nonzero_magnitudes():
    hist = update_histogram(_outcomes())
    assert hist.dtype == np.int64 and hist.shape == (len(HIST_EDGES) - 1,)
    assert hist.sum() == 5  # |Δw| = 2, 1, 0.5, 3e-6, 4; zeros (and values outside the edges) are not counted
    assert hist[np.searchsorted(HIST_EDGES, 3e-6, side="right") - 1] == 1


def test_per_task_csv_writes_floats_exactly():
    text = per_task_csv([("val", 3, 0.1, 0.2, 0.30000000000000004, 1.0, 7)])
    assert text == ("split,task,acc,out_update_avg,out_update_sum,out_update_max,nonzero_updates\n"
                    "val,3,0.1,0.2,0.30000000000000004,1.0,7\n")


def test_method_run_flat_metrics():
    cost = SimpleNamespace(columns=lambda: {"synaptic_ops_per_sample": 12.0})
    rows = [{"loss": float(i), "acc": i / 20} for i in range(20)]
    run = MethodRun([0.5, 1.0], {}, cost, rows, metrics={"beta": 0.1})
    assert run.flat_metrics() == {"beta": 0.1, "test_acc": 0.75, "final_train_loss": 18.5,
                                  "final_train_acc": pytest.approx(0.925), "synaptic_ops_per_sample": 12.0}
    assert "final_train_loss" not in MethodRun([1.0], {}, cost).flat_metrics()
