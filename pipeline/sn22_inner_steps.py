"""sn22 Fig 3: meta-test accuracy of a meta-trained learner versus inner steps at test time.

Evaluates the model of --model on the fixed, seeded meta-test task set (--eval-seed) with each of
--steps inner SGD steps (the meta-training inner loop is unchanged). Writes into --out:
results.json (per step count: mean accuracy, 95% CI over tasks, per-task accuracies),
metrics.json, provenance.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from metasnn.evaluation.fewshot import evaluate_split
from metasnn.evaluation.statistics import summarize
from metasnn.io import atomic_directory, atomic_write_json, load_tensors
from metasnn.meta.sn22 import load_learner, resolve_device
from pipeline.cli import main


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=Path, required=True, help="model.pt written by pipeline.metatrain")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--steps", type=int, nargs="+", default=list(range(1, 11)))
    p.add_argument("--tasks", type=int, default=600)
    p.add_argument("--eval-seed", type=int, default=1234)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu", help="cpu | cuda | auto (CUDA when available)")
    p.add_argument("--out", type=Path, required=True)


def run(args: argparse.Namespace, ctx) -> None:
    from metasnn.data import load_metadataset

    torch.set_num_threads(max(1, args.threads))
    device = resolve_device(args.device)
    ctx.device = str(device)
    model, cfg = load_learner(load_tensors(args.model), device)
    ds = load_metadataset(args.data)
    ctx.use_sources(ds.data_sources)
    prov = args.model.parent / "provenance.json"
    ctx.seeds = list(json.loads(prov.read_text()).get("seeds", [])) if prov.is_file() else []
    results = {"method": cfg.method, "dataset": ds.name, "seed": ctx.seeds[0] if ctx.seeds else None,
               "train_inner_steps": cfg.inner_steps, "steps": [],
               "acc_mean": [], "acc_ci95_low": [], "acc_ci95_high": [], "per_task": {}}
    for k in args.steps:
        outcomes = evaluate_split(model, cfg, ds, "test", args.tasks, args.eval_seed, cfg.queries, k,
                                  progress=lambda it, s, total, k=k: ctx.progress(it, f"{k} inner steps", total=total, per=("tasks", "steps")))
        accs = [o.accuracy for o in outcomes]
        s = summarize(accs)
        results["steps"].append(int(k))
        results["acc_mean"].append(s.mean)
        results["acc_ci95_low"].append(s.ci95_low)
        results["acc_ci95_high"].append(s.ci95_high)
        results["per_task"][str(k)] = accs
        ctx.log.info("%d inner steps: %.4f", k, s.mean)
    metrics = {f"test_acc_{k}steps": a for k, a in zip(results["steps"], results["acc_mean"], strict=True)}
    with atomic_directory(args.out) as tmp:
        atomic_write_json(tmp / "results.json", results)
        atomic_write_json(tmp / "metrics.json", metrics)
        ctx.write_provenance(tmp)


if __name__ == "__main__":
    main("sn22_inner_steps", __doc__, add_arguments, run)
