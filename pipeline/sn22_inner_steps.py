"""sn22 Fig 3: meta-test accuracy of a meta-trained learner versus inner steps at test time.

Evaluates the model of --model on the fixed, seeded meta-test task set (--eval-seed) with each of
--steps inner SGD steps (the meta-training inner loop is unchanged). Writes into --out:
results.json (per step count: mean accuracy, 95% CI over tasks, per-task accuracies),
metrics.json, provenance.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from metasnn.io import atomic_directory, atomic_write_json
from metasnn.meta.sn22_evaluation import evaluate_split
from pipeline.cli import main
from pipeline.cli_flags import add_device_flags, add_flags
from pipeline.cli_runs import accuracy_curve, add_point
from pipeline.evaluate_fewshot import add_trained_model_flags, load_trained


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_trained_model_flags(p)
    p.add_argument("--steps", type=int, nargs="+", help="inner steps at test, one evaluation each")
    add_flags(p, int, "--tasks", "--eval-seed")
    add_device_flags(p)
    p.add_argument("--out", type=Path, required=True)


def run(args: argparse.Namespace, ctx) -> None:
    model, cfg, ds, _ = load_trained(args, ctx)
    results = accuracy_curve("steps", method=cfg.method, dataset=ds.name, seed=ctx.seeds[0],
                             train_inner_steps=cfg.inner_steps)
    for k in args.steps:
        outcomes = evaluate_split(model, cfg, ds, "test", args.tasks, args.eval_seed, cfg.queries, k,
                                  progress=lambda it, s, total, k=k: ctx.progress(it, f"{k} inner steps", total=total, per=("tasks", "steps")))
        ctx.log.info("%d inner steps: %.4f", k, add_point(results, "steps", k, [o.accuracy for o in outcomes]))
    metrics = {f"test_acc_{k}steps": a for k, a in zip(results["steps"], results["acc_mean"], strict=True)}
    with atomic_directory(args.out) as tmp:
        atomic_write_json(tmp / "results.json", results)
        atomic_write_json(tmp / "metrics.json", metrics)
        ctx.write_provenance(tmp)


if __name__ == "__main__":
    main("sn22_inner_steps", __doc__, add_arguments, run)
