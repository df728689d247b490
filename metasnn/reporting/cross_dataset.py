"""cross_dataset: the per-model runs gathered by row, and the table, figure and claim dsp-C5 of the stage.

Each trained model's run (``pipeline.cross_dataset_eval``) names its method, train dataset and seed.
Accuracies are kept as ``{(method, train_dataset, test_dataset): {seed: [task accuracies]}}``.
Each row's ``data_source`` names the sources of its train and of its test meta-dataset (train
first, ``" + "``-joined by :func:`metasnn.data.sources.describe`; one source for within-dataset
rows).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metasnn.data.sources import DataSource
from metasnn.errors import DataError
from metasnn.evaluation.cost import mean_columns
from metasnn.evaluation.cross_dataset import RESAMPLING_NOTE
from metasnn.evaluation.statistics import paired_test
from metasnn.reporting.claims import ClaimResult, claim_from_test, claim_source, write_claims
from metasnn.reporting.figures import figure
from metasnn.reporting.tables import Measurement, write_comparison_table

TABLE = "cross_dataset"
Row = tuple[str, str, str]  # (method, train_dataset, test_dataset)


@dataclass
class Runs:
    """The per-model runs gathered by row: accuracies ``{row: {seed: [task accuracies]}}``, cost columns
    ``{row: {seed: columns}}``, cost notes and paper (from the model's record) by method."""

    acc: dict[Row, dict[int, list[float]]] = field(default_factory=lambda: defaultdict(dict))
    costs: dict[Row, dict[int, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
    notes: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    papers: dict[str, str] = field(default_factory=dict)


def gather_runs(results: Iterable[Mapping[str, Any]]) -> Runs:
    """The per-model runs (``result.json`` of ``pipeline.cross_dataset_eval``) by row, in model order (method,
    train dataset, seed), then test-dataset order."""
    runs = Runs()
    seen: set[tuple[str, str, int]] = set()
    for r in sorted(results, key=lambda r: (r["method"], r["train_dataset"], int(r["seed"]))):
        model = (r["method"], r["train_dataset"], int(r["seed"]))
        if model in seen:
            raise DataError(f"two cross-dataset runs for {model[0]} trained on {model[1]} seed {model[2]}; "
                            "pass one run per method, dataset and seed")
        seen.add(model)
        for test in r["tests"]:
            row = (r["method"], r["train_dataset"], test["test_dataset"])
            runs.acc[row][model[2]] = list(test["task_acc"])
            runs.costs[row][model[2]] = dict(test["cost"])
        runs.notes[r["method"]].update(r["cost_notes"])
        runs.papers[r["method"]] = r["paper"]
    return runs


def measurements(runs: Runs) -> list[Measurement]:
    out = []
    for (method, train_ds, test_ds), per_seed in sorted(runs.acc.items()):
        seeds = sorted(per_seed)
        out.append(Measurement(
            key={"method": method, "train_dataset": train_ds, "test_dataset": test_ds},
            per_seed=[100 * float(np.mean(per_seed[s])) for s in seeds],
            per_task=[100 * a for s in seeds for a in per_seed[s]],
            extra={"transfer": "within (held-out classes)" if train_ds == test_ds else "cross-dataset",
                   "paper": runs.papers[method],
                   **mean_columns(runs.costs.get((method, train_ds, test_ds), {}).values())}))
    return out


def write_cross_dataset(runs: Runs, *, ways: int, shots: int, episodes: int, scale: str,
                        sources: Mapping[str, DataSource], tables_dir: Path, figures_dir: Path) -> ClaimResult:
    """Write the table, figure and ``<table>.claims.json`` (dsp-C5); return the claim."""
    acc = runs.acc
    methods = sorted({k[0] for k in acc})
    notes = [RESAMPLING_NOTE, f"{ways}-way {shots}-shot, {episodes} meta-test episodes per row and seed "
             "(test split); within-dataset rows are the held-out-classes reference",
             "methods: every few-shot model a registered training stage wrote: " + (", ".join(methods) or "none"),
             "cost columns (metasnn.evaluation.cost, per query sample, mean over seeds): the query pass of the row's "
             "first test episode (resampled) through the model adapted on its support, measured by the method's "
             "evaluator (EpisodeEvaluator.cost); synaptic ops counted by NeuroBench (non-zero weight x non-zero input "
             "pairs; convolution padding taps are not operations)",
             "data_source: the train meta-dataset's source, then (cross-dataset rows) the test meta-dataset's",
             *[f"cost, {m}: {'; '.join(sorted(n))}" for m, n in sorted(runs.notes.items()) if n]]
    write_comparison_table(TABLE, measurements(runs), scale=scale, sources=sources, out_dir=tables_dir, notes=notes)
    fig_path = Path(figures_dir) / f"{TABLE}.png"
    with figure(fig_path, width=max(4.5, 1.2 * len(methods) + 2)) as (_, ax):
        kinds = [("within", lambda tr, te: tr == te), ("cross-dataset", lambda tr, te: tr != te)]
        for i, (label, pick) in enumerate(kinds):
            means = [np.mean([100 * np.mean(v) for (m, tr, te), d in acc.items() if m == meth and pick(tr, te)
                              for v in d.values()] or [np.nan]) for meth in methods]
            ax.bar(np.arange(len(methods)) + 0.4 * i, means, 0.4, label=label)
        ax.axhline(100 / ways, color="grey", ls="--", lw=1, label="chance")
        ax.set_xticks(np.arange(len(methods)) + 0.2, methods)
        ax.set_ylabel("meta-test accuracy (%)")
        ax.legend(fontsize=7)
    claim = dsp_claim(acc, scale, sources, fig_path)
    write_claims(Path(tables_dir) / f"{TABLE}.claims.json", [claim])
    return claim


def dsp_claim(acc: Mapping[Row, Mapping[int, list[float]]], scale: str, sources: Mapping[str, DataSource],
              fig_path: Path) -> ClaimResult:
    """dsp-C5: dsp − STBP cross-dataset accuracy, paired over seeds (mean over train→test pairs per seed).

    Its ``data_source`` names the sources of the meta-datasets of the rows it averages.
    """
    fed: list[str] = []

    def per_seed(method: str) -> dict[int, float]:
        vals: dict[int, list[float]] = defaultdict(list)
        for (m, tr, te), d in sorted(acc.items()):
            if m == method and tr != te:
                fed.extend(x for x in (tr, te) if x not in fed)
                for s, v in d.items():
                    vals[s].append(float(np.mean(v)))
        return {s: 100 * float(np.mean(v)) for s, v in vals.items()}

    dsp, stbp = per_seed("dsp"), per_seed("stbp")
    seeds = sorted(set(dsp) & set(stbp))
    data_source = claim_source(sources, fed)  # all sources when no cross-dataset row exists
    if not seeds:
        missing = [m for m, d in (("dsp", dsp), ("stbp", stbp)) if not d]
        return ClaimResult(claim_id="dsp-C5", verdict="not run", effect=None, effect_description="", test="",
                           p_value=None, ci95_low=None, ci95_high=None, n_seeds=None, n_tasks=None, scale=scale,
                           data_source=data_source, table=TABLE, note="no cross-dataset rows for "
                           f"{' and '.join(missing) or 'matching seeds'}: no registered stage trains the method "
                           "(pipeline/stages: trains=) or its training stage did not run")
    test = paired_test([dsp[s] for s in seeds], [stbp[s] for s in seeds])
    return claim_from_test("dsp-C5", test, effect_description="dsp − STBP cross-dataset accuracy (points)", scale=scale,
                           data_source=data_source, table=TABLE, figure=str(fig_path))
