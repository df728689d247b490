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

from metasnn.evaluation.fewshot import SN22_STATISTIC_LABEL
from metasnn.io import atomic_directory, atomic_write_json, atomic_write_text
from metasnn.meta.sn22 import load_learner, output_layer_names
from metasnn.meta.sn22_evaluation import (
    HIST_EDGES,
    adapted_weights_per_step,
    evaluate_split,
    per_task_csv,
    split_metrics,
    task_cost,
    update_histogram,
)
from metasnn.model_file import read_model
from pipeline.cli import main
from pipeline.cli_flags import add_device_flags, add_flags
from pipeline.cli_runs import use_device


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_trained_model_flags(p)
    p.add_argument("--eval-seed", type=int, help="seed of the fixed evaluation task set")
    add_flags(p, int, "--val-tasks", "--test-tasks")
    p.add_argument("--queries", type=int, default=None, help="query samples per class (default: the training value)")
    p.add_argument("--inner-steps", type=int, default=None, help="inner steps at test (default: the training value)")
    p.add_argument("--repeats", type=int, help="evaluation repeats for sn22's own ± statistic")
    add_device_flags(p)
    p.add_argument("--out", type=Path, required=True)


def add_trained_model_flags(p: argparse.ArgumentParser) -> None:
    """``--model`` (a meta-trained sn22 learner) and ``--data`` (the meta-dataset it is tested on)."""
    p.add_argument("--model", type=Path, required=True,
                   help="model.pt (metasnn.model_file) written by pipeline.metatrain")
    p.add_argument("--data", type=Path, required=True, help="meta-dataset directory")


def load_trained(args: argparse.Namespace, ctx):
    """The learner of ``--model`` on ``--device`` (and its config), the meta-dataset of ``--data``, and the
    device; records the data sources and the learner's training seed (from its model record) in ``ctx``."""
    from metasnn.data import load_metadataset

    device = use_device(args, ctx)
    record, state = read_model(args.model)
    model, cfg = load_learner(record, state, device)
    ds = load_metadataset(args.data)
    ctx.use_sources(ds.data_sources)
    ctx.seeds = [record.seed]
    return model, cfg, ds, device


def run(args: argparse.Namespace, ctx) -> None:
    model, cfg, ds, device = load_trained(args, ctx)
    queries = cfg.queries if args.queries is None else args.queries
    steps = cfg.inner_steps if args.inner_steps is None else args.inner_steps
    out_name = output_layer_names(model)[0]
    rows, metrics = [], {"method": cfg.method, "dataset": ds.name, "seed": ctx.seeds[0],
                         "inner_steps": steps, "frozen_layers": cfg.frozen_layers,
                         "inner_threshold": cfg.inner_threshold, "eval_seed": args.eval_seed,
                         "repeats": args.repeats, "sn22_statistic_label": SN22_STATISTIC_LABEL}
    for split, n in (("val", args.val_tasks), ("test", args.test_tasks)):
        outcomes = evaluate_split(
            model, cfg, ds, split, n, args.eval_seed, queries, steps,
            progress=lambda it, s, total: ctx.progress(it, f"{cfg.method} {ds.name} {s}", total=total, per=f"{s}_tasks"))
        split_values, split_rows = split_metrics(split, outcomes, out_name, args.repeats)
        metrics.update(split_values)
        rows += split_rows
        if split == "test":
            hist = update_histogram(outcomes)
        ctx.log.info("%s %s: %.4f (95%% CI %.4f–%.4f, %d tasks)", ds.name, split, split_values[f"{split}_acc_mean"],
                     split_values[f"{split}_acc_ci95_low"], split_values[f"{split}_acc_ci95_high"],
                     split_values[f"{split}_n_tasks"])
    metrics["adapted_weights_per_step"] = adapted_weights_per_step(model, cfg)
    metrics.update(task_cost(model, cfg, ds, args.eval_seed, queries, steps, device))
    with atomic_directory(args.out) as tmp:
        atomic_write_json(tmp / "metrics.json", metrics)
        atomic_write_text(tmp / "per_task.csv", per_task_csv(rows))
        atomic_write_json(tmp / "update_histogram.json", {"edges": HIST_EDGES.tolist(), "counts": hist.tolist(),
                                                           "split": "test", "inner_threshold": cfg.inner_threshold})
        ctx.write_provenance(tmp)


if __name__ == "__main__":
    main("evaluate_fewshot", __doc__, add_arguments, run)
