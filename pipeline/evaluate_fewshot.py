"""Few-shot evaluation of a meta-trained sn22 learner (sn22 protocol).

Adapts the model on every task of a fixed, seeded task set (--eval-seed, independent of the
training seed, so all methods and seeds see the same tasks) of the meta-validation and meta-test
splits and scores the query sets. Writes into --out:

* metrics.json — flat: val/test mean accuracy, 95% CI over tasks, n_tasks; sn22's own statistic
  (std over --repeats evaluation repeats of this one model, labelled); output-layer inner-update
  magnitudes (sn22 Table 3 "MAML inner": mean over tasks of avg/sum/max |Δw|, and their std);
  count of non-zero inner updates; the NeuroBench-style cost columns (metasnn.evaluation.cost) of the
  query pass of meta-test task 0 of the fixed task set through the model adapted on its support
  (``cost_task``), with the dense operation count beside them;
* per_task.csv — split, task, accuracy, output-layer update avg/sum/max, non-zero update count;
* update_histogram.json — histogram of the non-zero inner-update magnitudes (all adapted weights,
  meta-test tasks; fixed log-spaced bins) for sn22 Fig 5;
* provenance.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from metasnn.evaluation.fewshot import SN22_STATISTIC_LABEL, evaluate_tasks, repeat_std
from metasnn.evaluation.statistics import summarize
from metasnn.io import atomic_directory, atomic_write_json, atomic_write_text, load_tensors
from metasnn.meta.maml import functional_loss
from metasnn.meta.sn22 import (
    SN22Evaluator,
    load_learner,
    make_inner_loop,
    output_layer_names,
    resolve_device,
    update_magnitudes,
)
from pipeline.cli import main

HIST_EDGES = np.logspace(-8, 1, 37)  # |Δw| bins, 4 per decade


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=Path, required=True, help="model.pt written by pipeline.metatrain")
    p.add_argument("--data", type=Path, required=True, help="meta-dataset directory")
    p.add_argument("--eval-seed", type=int, default=1234, help="seed of the fixed evaluation task set")
    p.add_argument("--val-tasks", type=int, default=600)
    p.add_argument("--test-tasks", type=int, default=600)
    p.add_argument("--queries", type=int, default=None, help="query samples per class (default: the training value)")
    p.add_argument("--inner-steps", type=int, default=None, help="inner steps at test (default: the training value)")
    p.add_argument("--repeats", type=int, default=10, help="evaluation repeats for sn22's own ± statistic")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu", help="cpu | cuda | auto (CUDA when available)")
    p.add_argument("--out", type=Path, required=True)


def evaluate_split(model, cfg, ds, split: str, n_tasks: int, eval_seed: int, queries: int, inner_steps: int,
                   progress=None):
    """Per-task outcomes of one split (tasks ``0..n_tasks-1`` of the evaluation sampler)."""
    from metasnn.data import EpisodeSampler, EpisodeSpec

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
    from metasnn.data import EpisodeSampler, EpisodeSpec

    episode = EpisodeSampler(ds, "test", EpisodeSpec(cfg.ways, cfg.shots, queries), seed=eval_seed).episode(0)
    cost = SN22Evaluator(model, cfg, ds.frame_shape, ds.num_steps).cost(episode.to(device), steps=inner_steps)
    return {**cost.columns(), "dense_ops_per_sample": round(cost.dense_ops, 1), "cost_task": "test task 0"}


def run(args: argparse.Namespace, ctx) -> None:
    from metasnn.data import load_metadataset

    torch.set_num_threads(max(1, args.threads))
    payload = load_tensors(args.model)
    device = resolve_device(args.device)
    ctx.device = str(device)
    model, cfg = load_learner(payload, device)
    ds = load_metadataset(args.data)
    ctx.use_sources(ds.data_sources)
    train_prov = args.model.parent / "provenance.json"
    ctx.seeds = [int(s) for s in _train_seeds(train_prov)]
    queries = cfg.queries if args.queries is None else args.queries
    steps = cfg.inner_steps if args.inner_steps is None else args.inner_steps
    out_name = output_layer_names(model)[0]
    rows, metrics = [], {"method": cfg.method, "dataset": ds.name, "seed": ctx.seeds[0] if ctx.seeds else None,
                         "inner_steps": steps, "frozen_layers": cfg.frozen_layers,
                         "inner_threshold": cfg.inner_threshold, "eval_seed": args.eval_seed,
                         "repeats": args.repeats, "sn22_statistic_label": SN22_STATISTIC_LABEL}
    hist = np.zeros(len(HIST_EDGES) - 1, dtype=np.int64)
    for split, n in (("val", args.val_tasks), ("test", args.test_tasks)):
        outcomes = evaluate_split(
            model, cfg, ds, split, n, args.eval_seed, queries, steps,
            progress=lambda it, s, total: ctx.progress(it, f"{cfg.method} {ds.name} {s}", total=total))
        accs = np.array([o.accuracy for o in outcomes])
        summary = summarize(accs)
        mags, nonzero, nz_abs_sum = [], [], 0.0
        for o in outcomes:
            first = o.updates[0] if o.updates else {}
            m = update_magnitudes(first[out_name]) if out_name in first else {"avg": 0.0, "sum": 0.0, "max": 0.0}
            nz = int(sum(int((d != 0).sum()) for upd in o.updates for d in upd.values()))
            nz_abs_sum += float(sum(float(d.abs().sum()) for upd in o.updates for d in upd.values()))
            mags.append(m)
            nonzero.append(nz)
            rows.append((split, o.index, o.accuracy, m["avg"], m["sum"], m["max"], nz))
            if split == "test":
                for upd in o.updates:
                    for d in upd.values():
                        a = d.abs().flatten().cpu().numpy()
                        hist += np.histogram(a[a > 0], bins=HIST_EDGES)[0]
        metrics.update({
            f"{split}_acc_mean": summary.mean, f"{split}_acc_ci95_low": summary.ci95_low,
            f"{split}_acc_ci95_high": summary.ci95_high, f"{split}_acc_std_tasks": summary.std,
            f"{split}_n_tasks": summary.n, f"{split}_sn22_repeat_std": repeat_std(accs, args.repeats),
            f"{split}_inner_update_avg": float(np.mean([m["avg"] for m in mags])) if mags else float("nan"),
            f"{split}_inner_update_avg_std": float(np.std([m["avg"] for m in mags], ddof=1)) if len(mags) > 1 else 0.0,
            f"{split}_inner_update_sum": float(np.mean([m["sum"] for m in mags])) if mags else float("nan"),
            f"{split}_inner_update_sum_std": float(np.std([m["sum"] for m in mags], ddof=1)) if len(mags) > 1 else 0.0,
            f"{split}_inner_update_max": float(np.mean([m["max"] for m in mags])) if mags else float("nan"),
            f"{split}_inner_update_max_std": float(np.std([m["max"] for m in mags], ddof=1)) if len(mags) > 1 else 0.0,
            f"{split}_nonzero_updates_mean": float(np.mean(nonzero)) if nonzero else float("nan"),
            f"{split}_nonzero_update_mean_abs": nz_abs_sum / max(1, int(np.sum(nonzero))),
        })
        ctx.log.info("%s %s: %.4f (95%% CI %.4f–%.4f, %d tasks)", ds.name, split, summary.mean, summary.ci95_low,
                     summary.ci95_high, summary.n)
    adapt_names = make_inner_loop(cfg, model).adapt
    n_adapted = sum(p.numel() for n, p in model.named_parameters() if adapt_names is None or n in adapt_names)
    metrics["adapted_weights_per_step"] = int(n_adapted)
    metrics.update(task_cost(model, cfg, ds, args.eval_seed, queries, steps, device))
    lines = ["split,task,acc,out_update_avg,out_update_sum,out_update_max,nonzero_updates"]
    lines += [f"{s},{i},{a!r},{u1!r},{u2!r},{u3!r},{nz}" for s, i, a, u1, u2, u3, nz in rows]
    with atomic_directory(args.out) as tmp:
        atomic_write_json(tmp / "metrics.json", metrics)
        atomic_write_text(tmp / "per_task.csv", "\n".join(lines) + "\n")
        atomic_write_json(tmp / "update_histogram.json", {"edges": HIST_EDGES.tolist(), "counts": hist.tolist(),
                                                           "split": "test", "inner_threshold": cfg.inner_threshold})
        ctx.write_provenance(tmp)


def _train_seeds(prov_path: Path) -> list[int]:
    import json

    if prov_path.is_file():
        return list(json.loads(prov_path.read_text()).get("seeds", []))
    return []


if __name__ == "__main__":
    main("evaluate_fewshot", __doc__, add_arguments, run)
