"""Cross-dataset few-shot test of one trained model (one job per method × train meta-dataset × seed; the
registry lists the models its training stages write): the model in --model, rebuilt by the loader its model
file's record names (metasnn.model_file), is meta-tested on the held-out test classes of every meta-dataset given by
--data (its own and the others), episodes resampled to the model's frame size and T
(metasnn.evaluation.cross_dataset). Every test meta-dataset gets the cost columns (metasnn.evaluation.cost)
of the method's query pass on its first (resampled) test episode, measured through the evaluator's ``cost``
method. Writes result.json (per-task accuracies, cost columns and notes per test meta-dataset) and
provenance.json into --out; pipeline.cross_dataset gathers the runs into the table and claim dsp-C5.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from metasnn.data import EpisodeSampler, EpisodeSpec, load_metadataset
from metasnn.errors import DataError, MetasnnError
from metasnn.evaluation.cost import COST_COLUMNS, DENSITY_NOTE
from metasnn.evaluation.cross_dataset import episode_cost, evaluate_episodes
from metasnn.io import atomic_directory, atomic_write_json
from metasnn.model_file import load_evaluator, read_record
from metasnn.reporting.provenance import input_sources
from pipeline.cli import main

NO_COST = "its evaluator has no cost method: cost columns empty"


def add_arguments(p) -> None:
    p.add_argument("--method", required=True, help="the model's few-shot method (its model file's record must name it)")
    p.add_argument("--train-dataset", required=True, help="the meta-dataset the model was trained on")
    p.add_argument("--seed", type=int, required=True, help="the model's training seed")
    p.add_argument("--model", type=Path, required=True, help="the trained-model directory (its training stage's output)")
    p.add_argument("--data", type=Path, nargs="+", required=True, help="meta-dataset directories (data/meta/<dataset>)")
    p.add_argument("--episodes", type=int, default=20, help="meta-test episodes per test meta-dataset")
    p.add_argument("--ways", type=int, default=5)
    p.add_argument("--shots", type=int, default=1)
    p.add_argument("--queries", type=int, default=10)
    p.add_argument("--eval-seed", type=int, default=4321)
    p.add_argument("--out", type=Path, required=True, help="run directory (result.json, provenance.json)")


def run(args, ctx):
    torch.set_num_threads(1)
    try:  # before any data is read: a path that holds no model of the method fails at once
        record = read_record(args.model)
        if record.method != args.method:
            raise DataError(f"its model file holds a {record.method} model, not {args.method}")
        evaluator = load_evaluator(args.model)
    except (MetasnnError, OSError) as exc:
        raise DataError(f"{args.model}: no trained {args.method} model there (rerun the stage that trains it): "
                        f"{exc}") from exc
    datasets = [load_metadataset(path) for path in args.data]
    for ds in datasets:
        ctx.use_sources(ds.data_sources)
    ctx.use_sources(input_sources([args.model], where="cross_dataset_eval --model"))  # a stale model conflicts
    ctx.seeds = [args.seed]
    spec = EpisodeSpec(args.ways, args.shots, args.queries)
    tests, notes = [], set()
    for ds in ctx.progress(datasets, "test meta-datasets", per="episodes"):
        eps = list(EpisodeSampler(ds, "test", spec, seed=args.eval_seed).take(args.episodes))
        acc = evaluate_episodes(evaluator, eps)
        cost = episode_cost(evaluator, eps[0]) if eps else None
        tests.append({"test_dataset": ds.name, "task_acc": acc,
                      "cost": cost.columns() if cost else dict.fromkeys(COST_COLUMNS)})
        notes.update([n for n in cost.notes if n != DENSITY_NOTE] if cost else [NO_COST])
    ctx.log.info("%s trained on %s seed %d: %s", args.method, args.train_dataset, args.seed,
                 {t["test_dataset"]: round(float(np.mean(t["task_acc"])), 3) for t in tests})
    with atomic_directory(args.out) as tmp:
        atomic_write_json(tmp / "result.json", {
            "method": args.method, "paper": record.paper, "train_dataset": args.train_dataset, "seed": args.seed, "ways": args.ways,
            "shots": args.shots, "queries": args.queries, "episodes": args.episodes, "eval_seed": args.eval_seed,
            "tests": tests, "cost_notes": sorted(notes)})
        ctx.write_provenance(tmp, method=args.method)


if __name__ == "__main__":
    main("cross_dataset_eval", __doc__, add_arguments, run)
