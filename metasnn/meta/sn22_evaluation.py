"""Evaluation of a meta-trained sn22 learner (the sn22_evaluate and sn22_inner_steps stages): per-task outcomes
of a split through the generic protocol (:func:`metasnn.evaluation.fewshot.evaluate_tasks`), the magnitudes of its
output-layer inner updates (sn22 Table 3), the count of non-zero updates and their histogram (sn22 Fig 5), and
the cost columns of meta-test task 0."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch

from metasnn.data import EpisodeSampler, EpisodeSpec
from metasnn.evaluation.fewshot import TaskOutcome, evaluate_tasks, repeat_std
from metasnn.evaluation.statistics import summarize
from metasnn.meta.maml import functional_loss
from metasnn.meta.sn22 import SN22Evaluator, make_inner_loop, update_magnitudes

__all__ = ["HIST_EDGES", "evaluate_split", "task_cost", "adapted_weights_per_step", "split_metrics",
           "update_histogram", "per_task_csv"]

HIST_EDGES = np.logspace(-8, 1, 37)  # |Δw| bins of update_histogram, 4 per decade


def evaluate_split(model, cfg, ds, split: str, n_tasks: int, eval_seed: int, queries: int, inner_steps: int,
                   progress=None):
    """Per-task outcomes of one split (tasks ``0..n_tasks-1`` of the evaluation sampler)."""

    sampler = EpisodeSampler(ds, split, EpisodeSpec(cfg.ways, cfg.shots, queries), seed=eval_seed)
    inner = make_inner_loop(cfg, model, steps=inner_steps, record_updates=True)
    params = dict(model.named_parameters())
    device = next(model.parameters()).device
    episodes = (sampler.episode(i).to(device) for i in range(n_tasks))
    if progress is not None:
        episodes = progress(episodes, split, n_tasks)
    return evaluate_tasks(params, functional_loss(model), episodes, inner)


def task_cost(model, cfg, ds, eval_seed: int, queries: int, inner_steps: int, device) -> dict:
    """Cost columns of meta-test task 0 of the evaluation set: its query pass through the model adapted on its
    support (metasnn.evaluation.cost), plus the dense synaptic operation count they are a fraction of."""

    episode = EpisodeSampler(ds, "test", EpisodeSpec(cfg.ways, cfg.shots, queries), seed=eval_seed).episode(0)
    cost = SN22Evaluator(model, cfg, ds.frame_shape, ds.num_steps).cost(episode.to(device), steps=inner_steps)
    return {**cost.columns(), "dense_ops_per_sample": round(cost.dense_ops, 1), "cost_task": "test task 0"}


def adapted_weights_per_step(model: torch.nn.Module, cfg: Any) -> int:
    """Weights the learner's inner loop adapts at every step (all of them unless layers are frozen)."""

    adapt_names = make_inner_loop(cfg, model).adapt
    return int(sum(p.numel() for n, p in model.named_parameters() if adapt_names is None or n in adapt_names))


def split_metrics(split: str, outcomes: Sequence[TaskOutcome], output_layer: str,
                  repeats: int) -> tuple[dict[str, Any], list[tuple]]:
    """Flat metrics of one split (``<split>_acc_mean``, its 95% CI over tasks, sn22's repeat std, the mean and std
    over tasks of the first inner update's avg/sum/max ``|Δw|`` on ``output_layer``, non-zero updates) and its
    per-task rows ``(split, task, acc, out_update_avg, out_update_sum, out_update_max, nonzero_updates)``."""

    accs = np.array([o.accuracy for o in outcomes])
    summary = summarize(accs)
    rows, mags, nonzero, nz_abs_sum = [], [], [], 0.0
    for o in outcomes:
        first = o.updates[0] if o.updates else {}
        m = update_magnitudes(first[output_layer]) if output_layer in first else {"avg": 0.0, "sum": 0.0, "max": 0.0}
        nz = int(sum(int((d != 0).sum()) for upd in o.updates for d in upd.values()))
        nz_abs_sum += float(sum(float(d.abs().sum()) for upd in o.updates for d in upd.values()))
        mags.append(m)
        nonzero.append(nz)
        rows.append((split, o.index, o.accuracy, m["avg"], m["sum"], m["max"], nz))
    metrics = {
        f"{split}_acc_mean": summary.mean, f"{split}_acc_ci95_low": summary.ci95_low,
        f"{split}_acc_ci95_high": summary.ci95_high, f"{split}_acc_std_tasks": summary.std,
        f"{split}_n_tasks": summary.n, f"{split}_sn22_repeat_std": repeat_std(accs, repeats),
        f"{split}_inner_update_avg": float(np.mean([m["avg"] for m in mags])) if mags else float("nan"),
        f"{split}_inner_update_avg_std": float(np.std([m["avg"] for m in mags], ddof=1)) if len(mags) > 1 else 0.0,
        f"{split}_inner_update_sum": float(np.mean([m["sum"] for m in mags])) if mags else float("nan"),
        f"{split}_inner_update_sum_std": float(np.std([m["sum"] for m in mags], ddof=1)) if len(mags) > 1 else 0.0,
        f"{split}_inner_update_max": float(np.mean([m["max"] for m in mags])) if mags else float("nan"),
        f"{split}_inner_update_max_std": float(np.std([m["max"] for m in mags], ddof=1)) if len(mags) > 1 else 0.0,
        f"{split}_nonzero_updates_mean": float(np.mean(nonzero)) if nonzero else float("nan"),
        f"{split}_nonzero_update_mean_abs": nz_abs_sum / max(1, int(np.sum(nonzero))),
    }
    return metrics, rows


def update_histogram(outcomes: Iterable[TaskOutcome], edges: np.ndarray = HIST_EDGES) -> np.ndarray:
    """Counts of the non-zero inner-update magnitudes ``|Δw|`` (every adapted weight, every step) in ``edges``."""
    hist = np.zeros(len(edges) - 1, dtype=np.int64)
    for o in outcomes:
        for upd in o.updates:
            for d in upd.values():
                a = d.abs().flatten().cpu().numpy()
                hist += np.histogram(a[a > 0], bins=edges)[0]
    return hist


def per_task_csv(rows: Iterable[tuple]) -> str:
    """``per_task.csv`` text of :func:`split_metrics` rows (floats as ``repr``: they read back exactly)."""
    lines = ["split,task,acc,out_update_avg,out_update_sum,out_update_max,nonzero_updates"]
    lines += [f"{s},{i},{a!r},{u1!r},{u2!r},{u3!r},{nz}" for s, i, a, u1, u2, u3, nz in rows]
    return "\n".join(lines) + "\n"
