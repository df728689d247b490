"""Cross-dataset few-shot test of every registered meta-learning method (metasnn/meta/methods.py): each
trained model (method × train meta-dataset × seed, found by matching --models against the methods'
model_dir templates) is meta-tested on the held-out test classes of its own meta-dataset and of every other
meta-dataset given by --data, episodes resampled to the model's frame size and T
(metasnn.evaluation.cross_dataset). Every row carries the cost columns (metasnn.evaluation.cost) of the
method's query pass on the first (resampled) test episode, measured through the evaluator's ``cost`` method.
Writes the cross_dataset table, figure and claim dsp-C5 (dsp vs STBP cross-dataset accuracy, paired over seeds;
"not run" with the reason when either is missing).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from metasnn.data import EpisodeSampler, EpisodeSpec, load_metadataset
from metasnn.evaluation.cost import COST_COLUMNS, DENSITY_NOTE, mean_columns
from metasnn.evaluation.cross_dataset import RESAMPLING_NOTE, episode_cost, evaluate_episodes
from metasnn.evaluation.statistics import paired_test
from metasnn.io import atomic_directory, atomic_write_json
from metasnn.meta.methods import METHODS, load_evaluator
from metasnn.reporting.claims import ClaimResult, claim_from_test, write_claims
from metasnn.reporting.figures import figure
from metasnn.reporting.tables import Measurement, write_comparison_table
from pipeline.cli import main

TABLE = "cross_dataset"


def add_arguments(p) -> None:  # noqa: ANN001
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


def template_regex(template: str) -> re.Pattern[str]:
    """Regex of a ``model_dir`` template with named groups ``dataset`` and ``seed``."""
    parts = re.split(r"(\{dataset\}|\{seed\})", template)
    body = "".join("(?P<dataset>[^/]+)" if t == "{dataset}" else "(?P<seed>[0-9]+)" if t == "{seed}" else re.escape(t)
                   for t in parts)
    return re.compile(rf"(?:^|.*/)({body})(?:/.*)?$")


def identify(path: Path) -> tuple[str, str, int, Path] | None:
    """``(method, dataset, seed, model_dir)`` of a model path, from the first matching method template."""
    text = path.as_posix()
    for name, entry in METHODS.items():
        if not entry.model_dir:
            continue
        m = template_regex(entry.model_dir).match(text)
        if m:
            root = text[: m.end(1)]
            return name, m.group("dataset"), int(m.group("seed")), Path(root)
    return None


def run(args, ctx):  # noqa: ANN001
    torch.set_num_threads(1)
    datasets = {}
    for d in args.data:
        ds = load_metadataset(d)
        datasets[ds.name] = ds
    sources = sorted({json.loads((d / "provenance.json").read_text()).get("data_source") or "unknown"
                      for d in args.data if (d / "provenance.json").is_file()}) or ["unknown"]
    ctx.data_source = source = "+".join(sources)
    found = {}
    for path in args.models:
        ident = identify(path)
        if ident is not None:
            found[ident[:3]] = ident[3]
    ctx.seeds = sorted({k[2] for k in found})
    spec = EpisodeSpec(args.ways, args.shots, args.queries)
    episodes = {name: list(EpisodeSampler(ds, "test", spec, seed=args.eval_seed).take(args.episodes))
                for name, ds in datasets.items()}
    acc: dict[tuple[str, str, str], dict[int, list[float]]] = defaultdict(dict)
    costs: dict[tuple[str, str, str], dict[int, dict]] = defaultdict(dict)
    cost_notes: dict[str, set[str]] = defaultdict(set)
    for (method, train_ds, seed), model_dir in ctx.progress(sorted(found.items()), "cross-dataset models"):
        evaluator = load_evaluator(method, model_dir)
        for test_ds, eps in episodes.items():
            acc[(method, train_ds, test_ds)][seed] = evaluate_episodes(evaluator, eps)
            cost = episode_cost(evaluator, eps[0]) if eps else None
            costs[(method, train_ds, test_ds)][seed] = cost.columns() if cost else dict.fromkeys(COST_COLUMNS)
            cost_notes[method].update([n for n in cost.notes if n != DENSITY_NOTE] if cost
                                      else ["its evaluator has no cost method: cost columns empty"])
        ctx.log.info("%s trained on %s seed %d: %s", method, train_ds, seed,
                     {t: round(float(np.mean(acc[(method, train_ds, t)][seed])), 3) for t in episodes})
    measurements = []
    for (method, train_ds, test_ds), per_seed in sorted(acc.items()):
        seeds = sorted(per_seed)
        measurements.append(Measurement(
            key={"method": method, "train_dataset": train_ds, "test_dataset": test_ds},
            per_seed=[100 * float(np.mean(per_seed[s])) for s in seeds],
            per_task=[100 * a for s in seeds for a in per_seed[s]],
            extra={"transfer": "within (held-out classes)" if train_ds == test_ds else "cross-dataset",
                   "paper": METHODS[method].paper, **mean_columns(costs[(method, train_ds, test_ds)].values())}))
    notes = [RESAMPLING_NOTE, f"{args.ways}-way {args.shots}-shot, {args.episodes} meta-test episodes per row and seed "
             "(test split); within-dataset rows are the held-out-classes reference",
             "methods: every entry of metasnn/meta/methods.py whose training stage ran: "
             + (", ".join(sorted({k[0] for k in found})) or "none"),
             "cost columns (metasnn.evaluation.cost, per query sample, mean over seeds): the query pass of the row's "
             "first test episode (resampled) through the model adapted on its support, measured by the method's "
             "evaluator (EpisodeEvaluator.cost); convolution ops scale dense MACs by input density",
             *[f"cost, {m}: {'; '.join(sorted(n))}" for m, n in sorted(cost_notes.items()) if n]]
    write_comparison_table(TABLE, measurements, scale=ctx.scale, data_source=source, out_dir=args.tables_dir, notes=notes)
    fig_path = args.figures_dir / f"{TABLE}.png"
    methods = sorted({k[0] for k in acc})
    with figure(fig_path, width=max(4.5, 1.2 * len(methods) + 2)) as (_, ax):
        kinds = [("within", lambda tr, te: tr == te), ("cross-dataset", lambda tr, te: tr != te)]
        for i, (label, pick) in enumerate(kinds):
            means = [np.mean([100 * np.mean(v) for (m, tr, te), d in acc.items() if m == meth and pick(tr, te)
                              for v in d.values()] or [np.nan]) for meth in methods]
            ax.bar(np.arange(len(methods)) + 0.4 * i, means, 0.4, label=label)
        ax.axhline(100 / args.ways, color="grey", ls="--", lw=1, label="chance")
        ax.set_xticks(np.arange(len(methods)) + 0.2, methods)
        ax.set_ylabel("meta-test accuracy (%)")
        ax.legend(fontsize=7)
    write_claims(args.tables_dir / f"{TABLE}.claims.json", [dsp_claim(acc, ctx.scale, source, fig_path)])
    with atomic_directory(args.out) as tmp:
        for name, per_row in (("accuracies.json", acc), ("costs.json", costs)):
            atomic_write_json(tmp / name, {f"{m}|{tr}|{te}": {str(s): v for s, v in d.items()}
                                           for (m, tr, te), d in sorted(per_row.items())})
        ctx.write_provenance(tmp, methods=methods)


def dsp_claim(acc, scale: str, source: str, fig_path: Path) -> ClaimResult:  # noqa: ANN001
    """dsp-C5: dsp − STBP cross-dataset accuracy, paired over seeds (mean over train→test pairs per seed)."""

    def per_seed(method: str) -> dict[int, float]:
        vals: dict[int, list[float]] = defaultdict(list)
        for (m, tr, te), d in acc.items():
            if m == method and tr != te:
                for s, v in d.items():
                    vals[s].append(float(np.mean(v)))
        return {s: 100 * float(np.mean(v)) for s, v in vals.items()}

    dsp, stbp = per_seed("dsp"), per_seed("stbp")
    seeds = sorted(set(dsp) & set(stbp))
    if not seeds:
        missing = [m for m, d in (("dsp", dsp), ("stbp", stbp)) if not d]
        return ClaimResult(claim_id="dsp-C5", verdict="not run", effect=None, effect_description="", test="",
                           p_value=None, ci95_low=None, ci95_high=None, n_seeds=None, n_tasks=None, scale=scale,
                           data_source=source, table=TABLE, note="no cross-dataset rows for "
                           f"{' and '.join(missing) or 'matching seeds'}: the method is not registered in "
                           "metasnn/meta/methods.py or its training stage did not run")
    test = paired_test([dsp[s] for s in seeds], [stbp[s] for s in seeds])
    return claim_from_test("dsp-C5", test, effect_description="dsp − STBP cross-dataset accuracy (points)", scale=scale,
                           data_source=source, table=TABLE, figure=str(fig_path))


if __name__ == "__main__":
    main("cross_dataset", __doc__, add_arguments, run)
