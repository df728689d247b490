"""mp23_rule_ablation: table, figure and claim mp23-C1 from the ``mp23_train`` run records.

Few-shot meta-test accuracy of the mp23 rule variants (ABCD / BD / A-only / fixed) per meta-dataset,
mean ± std over seeds with a 95% CI over test tasks and cost columns. Claim mp23-C1 (the meta-learned
ABCD rule beats the fixed and ablated rules): paired t-test over seeds of ABCD minus the strongest
other variant (by mean accuracy), seed values averaged over the datasets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from metasnn.data.sources import DataSource
from metasnn.evaluation.statistics import paired_test
from metasnn.reporting.claims import ClaimResult, claim_from_test, claim_source, write_claims
from metasnn.reporting.figures import figure
from metasnn.reporting.tables import Measurement, write_comparison_table

TABLE = "mp23_rule_ablation"
LABELS = {"abcd": "ABCD", "bd": "BD", "a_only": "A-only", "fixed": "fixed (ABCD, not meta-learned)"}


def training_note(results: Sequence[Mapping[str, Any]]) -> str:
    """The meta-training settings of the runs (``result.json`` ``training``), per dataset where they differ."""
    per: dict[str, set[str]] = {}
    for r in results:
        t = r.get("training")
        if t:
            per.setdefault(r["dataset"], set()).add(
                f"{t['outer_steps']} outer steps, lr {t['outer_lr']:g} (rule tensors × {t['rule_lr_factor']:g}), "
                f"{t['train_queries']} training queries per class")
    return "".join(f"; {ds}: {', '.join(sorted(v))}" for ds, v in sorted(per.items()))


def write_mp23(results: Sequence[Mapping[str, Any]], *, scale: str, sources: Mapping[str, DataSource],
               tables_dir: Path, figures_dir: Path) -> ClaimResult | None:
    """Write the table, figure and (when ABCD and another variant ran) ``<table>.claims.json``; return the claim."""
    seeds = sorted({r["seed"] for r in results})
    datasets = sorted({r["dataset"] for r in results})
    variants = [v for v in LABELS if all(v in r["variants"] for r in results)]
    acc = {(r["dataset"], r["seed"], v): 100 * r["variants"][v]["test_acc"] for r in results for v in variants}
    measurements = []
    for ds in datasets:
        runs = sorted((r for r in results if r["dataset"] == ds), key=lambda r: r["seed"])
        for v in variants:
            measurements.append(Measurement(
                key={"dataset": ds, "rule": LABELS[v]}, per_seed=[acc[(ds, r["seed"], v)] for r in runs],
                per_task=[100 * a for r in runs for a in r["variants"][v]["test_task_acc"]],
                extra={**runs[0]["variants"][v]["cost"],
                       **{f"mean_abs_{k}": round(float(np.mean([r["variants"][v]["rule_mean_abs"][k] for r in runs])), 4)
                          for k in ("eta", "a", "b", "c", "d")}}))
    notes = ["5-way 1-shot; plastic output weights start at zero in every episode and are built by the rule "
             "during the support (label clamped), max-abs normalised; meta-test = held-out classes",
             "rule meta-learned by gradient through the unrolled support presentation (Adam); B = C = D = 0 and "
             "A = 1 + 0.1·N(0,1) at the start of meta-training" + training_note(results),
             "cost columns: query inference of the hidden layer (the plastic W·x readout is not a hooked synapse)"]
    write_comparison_table(TABLE, measurements, scale=scale, sources=sources, out_dir=tables_dir, notes=notes)
    fig_path = Path(figures_dir) / f"{TABLE}.png"
    with figure(fig_path, width=5.5) as (_, ax):
        width = 0.8 / max(1, len(datasets))
        for i, ds in enumerate(datasets):
            means = [np.mean([acc[(ds, s, v)] for s in seeds]) for v in variants]
            stds = [np.std([acc[(ds, s, v)] for s in seeds], ddof=1) if len(seeds) > 1 else 0 for v in variants]
            ax.bar(np.arange(len(variants)) + i * width, means, width, yerr=stds, label=ds, capsize=3)
        ax.axhline(100 / 5, color="grey", ls="--", lw=1, label="chance")
        ax.set_xticks(np.arange(len(variants)) + width * (len(datasets) - 1) / 2, [LABELS[v].split(" ")[0] for v in variants])
        ax.set_ylabel("meta-test accuracy (%)")
        ax.legend(fontsize=7)
    others = [v for v in variants if v != "abcd"]
    if "abcd" not in variants or not others:
        return None
    per_seed = {v: [np.mean([acc[(ds, s, v)] for ds in datasets]) for s in seeds] for v in variants}
    strongest = max(others, key=lambda v: np.mean(per_seed[v]))
    test = paired_test(per_seed["abcd"], per_seed[strongest])
    claim = claim_from_test(
        "mp23-C1", test, effect_description=f"ABCD − {LABELS[strongest]} accuracy (points)", scale=scale,
        data_source=claim_source(sources, datasets), table=TABLE, figure=str(fig_path),
        n_tasks=len(results[0]["variants"]["abcd"]["test_task_acc"]),
        note=f"strongest alternative by mean: {LABELS[strongest]}; seed values averaged over {', '.join(datasets)}")
    write_claims(Path(tables_dir) / f"{TABLE}.claims.json", [claim])
    return claim
