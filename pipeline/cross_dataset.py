"""Cross-dataset few-shot test of every registered meta-learning method (metasnn/meta/methods.py): each
trained model (method × train meta-dataset × seed, identified by matching --models against the methods'
model_dir templates; a path that matches none is an error naming it) is meta-tested on the held-out test
classes of its own meta-dataset and of every other meta-dataset given by --data, episodes resampled to the
model's frame size and T (metasnn.evaluation.cross_dataset). Every row carries the cost columns
(metasnn.evaluation.cost) of the method's query pass on the first (resampled) test episode, measured through
the evaluator's ``cost`` method, and the data sources of its train and test meta-datasets. Writes the
cross_dataset table, figure and claim dsp-C5 (dsp vs STBP cross-dataset accuracy, paired over seeds; "not run"
with the reason when either is missing), built by metasnn.reporting.cross_dataset.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from metasnn.data import EpisodeSampler, EpisodeSpec, load_metadataset
from metasnn.evaluation.cost import COST_COLUMNS, DENSITY_NOTE
from metasnn.evaluation.cross_dataset import episode_cost, evaluate_episodes
from metasnn.io import atomic_directory, atomic_write_json
from metasnn.meta.methods import load_evaluator
from metasnn.reporting.cross_dataset import identify, identify_all, template_regex, write_cross_dataset  # noqa: F401 - identify, template_regex: re-exported (pipeline/stages.py, tests)
from metasnn.reporting.provenance import input_sources
from pipeline.cli import main


def add_arguments(p) -> None:
    p.add_argument("--data", type=Path, nargs="+", required=True, help="meta-dataset directories (data/meta/<dataset>)")
    p.add_argument("--models", type=Path, nargs="*", default=[], help="trained-model directories (or files inside them)")
    p.add_argument("--episodes", type=int, default=20, help="meta-test episodes per (model, test dataset)")
    p.add_argument("--ways", type=int, default=5)
    p.add_argument("--shots", type=int, default=1)
    p.add_argument("--queries", type=int, default=10)
    p.add_argument("--eval-seed", type=int, default=4321)
    p.add_argument("--tables-dir", type=Path, required=True)
    p.add_argument("--figures-dir", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="run directory (per-task accuracies, provenance)")


def run(args, ctx):
    torch.set_num_threads(1)
    found = identify_all(args.models)  # before any data is read: an unknown model path fails at once
    datasets = {ds.name: ds for ds in map(load_metadataset, args.data)}
    for ds in datasets.values():
        ctx.use_sources(ds.data_sources)
    ctx.use_sources(input_sources(list(found.values()), where="cross_dataset --models"))  # stale models conflict
    ctx.seeds = sorted({k[2] for k in found})
    spec = EpisodeSpec(args.ways, args.shots, args.queries)
    episodes = {name: list(EpisodeSampler(ds, "test", spec, seed=args.eval_seed).take(args.episodes))
                for name, ds in datasets.items()}
    acc: dict[tuple[str, str, str], dict[int, list[float]]] = defaultdict(dict)
    costs: dict[tuple[str, str, str], dict[int, dict]] = defaultdict(dict)
    cost_notes: dict[str, set[str]] = defaultdict(set)
    for (method, train_ds, seed), model_dir in ctx.progress(sorted(found.items()), "cross-dataset models", per=("seeds", "episodes")):
        evaluator = load_evaluator(method, model_dir)
        for test_ds, eps in episodes.items():
            acc[(method, train_ds, test_ds)][seed] = evaluate_episodes(evaluator, eps)
            cost = episode_cost(evaluator, eps[0]) if eps else None
            costs[(method, train_ds, test_ds)][seed] = cost.columns() if cost else dict.fromkeys(COST_COLUMNS)
            cost_notes[method].update([n for n in cost.notes if n != DENSITY_NOTE] if cost
                                      else ["its evaluator has no cost method: cost columns empty"])
        ctx.log.info("%s trained on %s seed %d: %s", method, train_ds, seed,
                     {t: round(float(np.mean(acc[(method, train_ds, t)][seed])), 3) for t in episodes})
    claim = write_cross_dataset(acc, costs, cost_notes, ways=args.ways, shots=args.shots, episodes=args.episodes,
                                scale=ctx.scale, sources=ctx.data_sources, tables_dir=args.tables_dir,
                                figures_dir=args.figures_dir)
    ctx.log.info("dsp-C5: %s", claim.verdict)
    with atomic_directory(args.out) as tmp:
        for name, per_row in (("accuracies.json", acc), ("costs.json", costs)):
            atomic_write_json(tmp / name, {f"{m}|{tr}|{te}": {str(s): v for s, v in d.items()}
                                           for (m, tr, te), d in sorted(per_row.items())})
        ctx.write_provenance(tmp, methods=sorted({k[0] for k in acc}))


if __name__ == "__main__":
    main("cross_dataset", __doc__, add_arguments, run)
