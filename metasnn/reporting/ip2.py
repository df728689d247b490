"""ip2_learning_to_learn: table, figure and claim ip2-C1 from the ``ip2_train`` run records.

Inner steps to criterion at each task of the learning-to-learn sequence for the intrinsic-plasticity
RSNN and the point-neuron baseline (mean ± std over seeds), the per-seed OLS slope of steps vs task
index, and meta-test accuracy. Claim ip2-C1 (learning gets faster across tasks with intrinsic
plasticity, not with point neurons): intersection-union test — holds only if both the one-sample
t-test of the intrinsic slopes (< 0) and the paired t-test of intrinsic − point slopes (< 0) are
significant; reported p = the larger of the two.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from metasnn.data.sources import DataSource
from metasnn.evaluation.statistics import one_sample_test, paired_test
from metasnn.reporting import verdicts
from metasnn.reporting.claims import ClaimResult, claim_source, verdict_from_test, write_claims
from metasnn.reporting.figures import figure
from metasnn.reporting.tables import Measurement, write_comparison_table

TABLE = "ip2_learning_to_learn"
MODELS = {"intrinsic": "intrinsic-plasticity RSNN", "point": "point neurons (weights adapt)"}


def slope(values: Sequence[float]) -> float:
    """OLS slope of ``values`` against their index."""
    x = np.arange(len(values), dtype=np.float64)
    return float(np.polyfit(x, np.asarray(values, dtype=np.float64), 1)[0])


def _notes(results: Sequence[Mapping[str, Any]]) -> list[str]:
    masks = sorted({r["mask"] for r in results})
    units = ", ".join(f"{r['dataset']}/seed{r['seed']}" for r in results)
    return [
        f"units = (dataset, seed) runs: {units}",
        f"steps to criterion: inner gradient steps until support accuracy >= criterion (capped); selected mask(s): "
        f"{', '.join(masks)}",
        "criterion and cap, the same for both models: "
        + ", ".join(sorted({f"support accuracy >= {r.get('criterion', '?')} within {r.get('max_steps', '?')} steps"
                            for r in results}))
        + "; inner-loop lr per model (its own fast parameters): "
        + ", ".join(f"{m} {', '.join(sorted({str(r[m].get('inner_lr', '?')) for r in results}))}" for m in MODELS),
        "intrinsic: fast = masked intrinsic parameters (weights fixed) + homeostatic penalty, slow = mask "
        "selection then a first-order weight update after each task; point: readout weights adapted by SGD and "
        "carried across tasks, no meta level",
        f"cost columns (accuracy rows; metasnn.evaluation.cost): query pass of meta-test episode 0 after the "
        f"inner loop on its support, run {results[0]['dataset']}/seed{results[0]['seed']}; synaptic_ops_per_sample "
        "and op_kind are empty: the network multiplies its weight tensors directly (no nn.Linear), so no synapse "
        "can be hooked",
    ]


def write_ip2(results: Sequence[Mapping[str, Any]], *, scale: str, sources: Mapping[str, DataSource],
              tables_dir: Path, figures_dir: Path) -> ClaimResult:
    """Write the table, figure and ``<table>.claims.json`` (ip2-C1); return the claim."""
    results = sorted(results, key=lambda r: (r["dataset"], r["seed"]))
    datasets = sorted({r["dataset"] for r in results})  # every row pools the runs of all datasets
    n_tasks = min(len(r[m]["steps_to_criterion"]) for r in results for m in MODELS)
    slopes = {m: [slope(r[m]["steps_to_criterion"][:n_tasks]) for r in results] for m in MODELS}
    measurements = []
    for m, label in MODELS.items():
        for k in range(n_tasks):
            measurements.append(Measurement(key={"model": label, "task_index": k}, datasets=datasets,
                                            per_seed=[r[m]["steps_to_criterion"][k] for r in results]))
        measurements.append(Measurement(key={"model": label, "task_index": "slope (steps per task)"},
                                        per_seed=slopes[m], datasets=datasets))
        measurements.append(Measurement(key={"model": label, "task_index": "meta-test accuracy (%)"},
                                        per_seed=[100 * r[m]["test_acc"] for r in results],
                                        per_task=[100 * a for r in results for a in r[m]["test_task_acc"]],
                                        extra=results[0][m]["cost"], datasets=datasets))
    write_comparison_table(TABLE, measurements, scale=scale, sources=sources, out_dir=tables_dir, notes=_notes(results))
    fig_path = Path(figures_dir) / f"{TABLE}.png"
    with figure(fig_path, width=5.5) as (_, ax):
        for m, label in MODELS.items():
            arr = np.array([r[m]["steps_to_criterion"][:n_tasks] for r in results], dtype=float)
            ax.plot(np.arange(n_tasks), arr.mean(0), marker="o", ms=3, label=f"{label} (slope {np.mean(slopes[m]):+.3f})")
            if len(arr) > 1:
                sd = arr.std(0, ddof=1)
                ax.fill_between(np.arange(n_tasks), arr.mean(0) - sd, arr.mean(0) + sd, alpha=0.2)
        ax.set_xlabel("task index in the sequence")
        ax.set_ylabel("inner steps to criterion")
        ax.legend(fontsize=7)
    own = one_sample_test(slopes["intrinsic"])
    diff = paired_test(slopes["intrinsic"], slopes["point"])
    v_own, v_diff = verdict_from_test(own, direction=-1), verdict_from_test(diff, direction=-1)
    verdict = verdicts.all_of([v_own, v_diff])  # intersection-union: both parts must hold
    p = max((t.p_value for t in (own, diff)), key=lambda v: -1 if v is None or math.isnan(v) else v)
    claim = ClaimResult(
        claim_id="ip2-C1", verdict=verdict, effect=own.effect, effect_description="mean slope of steps to criterion "
        "vs task index, intrinsic model (steps per task)", test="intersection-union: one-sample t-test of intrinsic "
        "slopes < 0 AND paired t-test intrinsic − point slopes < 0", p_value=p, ci95_low=own.ci95_low,
        ci95_high=own.ci95_high, n_seeds=own.n, n_tasks=n_tasks, scale=scale,
        data_source=claim_source(sources, datasets), table=TABLE, figure=str(fig_path),
        note=f"intrinsic slope test: {v_own} (p={own.p_value:.3g}); intrinsic − point slope "
        f"{diff.effect:+.3f}: {v_diff} (p={diff.p_value:.3g}); point slope mean {np.mean(slopes['point']):+.3f}")
    write_claims(Path(tables_dir) / f"{TABLE}.claims.json", [claim])
    return claim
