"""sn22 tables, figures and claims from the per-seed results of the sn22 stages.

Writes results/tables/<id>.csv|md, results/figures/<id>.png and results/tables/<id>.claims.json for
sn22_table2_fewshot (claims sn22-C1, C2), sn22_fig3_inner_steps (C3), sn22_fig4_frozen_layers (C4),
sn22_table3_update_magnitudes (C5), sn22_fig5_thresholded_updates (C6) and sn22_fig6_transfer (C7).
Accuracies are in %. Each row: mean ± std over seeds; 95% CI over the pooled evaluation tasks where
task-level values exist. Table 2 also carries sn22's own statistic (std over evaluation repeats of
one model, averaged over seeds), labelled.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from metasnn.evaluation.cost import mean_columns
from metasnn.evaluation.statistics import PairedTest, ci95_mean, noninferiority_test, one_sample_test
from metasnn.reporting.claims import ClaimResult, claim_from_test, write_claims
from metasnn.reporting.figures import figure, placeholder_figure
from metasnn.reporting.tables import Measurement, write_comparison_table
from pipeline.cli import main

METHOD_LABEL = {"maml_snn": "MAML SNN", "fomaml_snn": "FOMAML SNN", "maml_cnn": "MAML CNN"}
TABLE2_COST_NOTES = (
    "Cost columns (metasnn.evaluation.cost, per sample): measured in sn22_evaluate on the query set of meta-test "
    "task 0 of the fixed evaluation set (--eval-seed), run through the model adapted on that task's support (the "
    "test-time inner loop); mean over seeds (the same on the val and test rows).",
    "SNN: every synapse W multiplies the DECOLLE membrane trace P (a filtered trace, not spikes), so its "
    "operations are MACs at P's density over all T steps (burn-in included); P decays but does not return to 0 "
    "once input arrived, so after the first spikes this is close to the dense count. activation_sparsity: the "
    "inter-layer spikes H(pool(U)) of the conv layers and the output layer's spikes; state_bytes: Q, P, U, R, S "
    "of every layer.",
    "MAML CNN: MACs of the convs and the linear layer on the time-summed image at their input density; no "
    "spiking layer and no neuron state, so activation_sparsity and state_bytes are empty.",
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--evaluations", type=Path, nargs="+", required=True, help="sn22_evaluate metrics.json files")
    p.add_argument("--curves", type=Path, nargs="+", required=True, help="sn22_metatrain curve.csv files")
    p.add_argument("--inner-steps", type=Path, nargs="*", default=[], help="sn22_inner_steps results.json files")
    p.add_argument("--frozen", type=Path, nargs="*", default=[], help="sn22_frozen_evaluate metrics.json files")
    p.add_argument("--threshold", type=Path, nargs="*", default=[], help="sn22_threshold_evaluate metrics.json files")
    p.add_argument("--transfer", type=Path, nargs="*", default=[], help="sn22_transfer results.json files")
    p.add_argument("--noninferiority-margin", type=float, default=2.0,
                   help="accuracy points: 'about equal' (C2, C6) means the CI of the difference stays above -margin")
    p.add_argument("--frozen-margin", type=float, default=5.0,
                   help="accuracy points: 'costs little' (C4) means the CI of frozen-minus-full stays above -margin")
    p.add_argument("--tables-dir", type=Path, required=True)
    p.add_argument("--figures-dir", type=Path, required=True)


# --------------------------------------------------------------------------- loading
def _json(path: Path) -> Any:
    return json.loads(Path(path).read_text())


def _per_task(metrics_path: Path, split: str) -> list[float]:
    path = Path(metrics_path).parent / "per_task.csv"
    if not path.is_file():
        return []
    with path.open() as fh:
        return [float(r["acc"]) * 100 for r in csv.DictReader(fh) if r["split"] == split]


def _data_source(paths: Iterable[Path]) -> str:
    found = set()
    for p in paths:
        prov = Path(p).parent / "provenance.json"
        if prov.is_file():
            found.add(str(_json(prov).get("data_source")))
    return found.pop() if len(found) == 1 else ("mixed" if found else "unknown")


def _curve(path: Path) -> dict[str, np.ndarray]:
    with Path(path).open() as fh:
        rows = list(csv.DictReader(fh))
    return {k: np.array([float(r[k]) for r in rows]) for k in (rows[0] if rows else {})}


def _seed_of(path: Path) -> int:
    for part in reversed(Path(path).parts):
        if part.startswith("seed") and part[4:].isdigit():
            return int(part[4:])
    raise ValueError(f"{path}: no seed<N> component in the path")


def _matched(a: dict[int, float], b: dict[int, float]) -> tuple[list[float], list[float]]:
    seeds = sorted(set(a) & set(b))
    return [a[s] for s in seeds], [b[s] for s in seeds]


def _noninferiority(claim_id: str, diff: Sequence[float], margin: float, *, what: str, scale: str, data_source: str,
                    table: str, figure_path: str, n_tasks: int | None = None, note: str = "") -> ClaimResult:
    """holds: CI of the mean difference above −margin; does not hold: CI below −margin. The p-value is the
    non-inferiority test's (one-sided, H0: mean ≤ −margin)."""
    t = noninferiority_test(diff, margin)
    if t.n < 2 or not math.isfinite(t.ci95_low):
        verdict = "inconclusive"
    elif t.ci95_low > -margin:
        verdict = "holds"
    elif t.ci95_high < -margin:
        verdict = "does not hold"
    else:
        verdict = "inconclusive"
    return ClaimResult(claim_id=claim_id, verdict=verdict, effect=t.effect, effect_description=what,
                       test=f"non-inferiority, margin {margin:g} points: 95% t-CI of the mean difference vs -{margin:g} "
                            f"(p: one-sided t-test of H0 mean <= -{margin:g})",
                       p_value=t.p_value, ci95_low=t.ci95_low, ci95_high=t.ci95_high, n_seeds=t.n, n_tasks=n_tasks,
                       scale=scale, data_source=data_source, table=table, figure=figure_path, note=note)


def _not_run(claim_id: str, table: str, scale: str, data_source: str, why: str) -> ClaimResult:
    return ClaimResult(claim_id=claim_id, verdict="not run", effect=None, effect_description="", test="",
                       p_value=None, ci95_low=None, ci95_high=None, n_seeds=None, n_tasks=None, scale=scale,
                       data_source=data_source, table=table, note=why)


# --------------------------------------------------------------------------- tables
def table2(evals: dict, args, scale: str, src: str) -> tuple[list[ClaimResult], dict]:
    tid = "sn22_table2_fewshot"
    fig = str(args.figures_dir / f"{tid}.png")
    ms, acc = [], defaultdict(dict)  # acc[(method, dataset, split)][seed]
    for (method, dataset), by_seed in sorted(evals.items()):
        for split in ("val", "test"):
            per_seed = {s: m[f"{split}_acc_mean"] * 100 for s, m in by_seed.items()}
            acc[(method, dataset, split)] = per_seed
            pooled = [a for s, m in sorted(by_seed.items()) for a in _per_task(m["_path"], split)]
            rep = [m[f"{split}_sn22_repeat_std"] * 100 for m in by_seed.values() if math.isfinite(m[f"{split}_sn22_repeat_std"])]
            ms.append(Measurement(
                key={"dataset": dataset, "method": method, "split": split},
                per_seed=[per_seed[s] for s in sorted(per_seed)], per_task=pooled or None,
                extra={"sn22_statistic_std_repeats": float(np.mean(rep)) if rep else None,
                       "n_repeats": next(iter(by_seed.values()))["repeats"],
                       **mean_columns(by_seed.values())},
            ))
    write_comparison_table(tid, ms, scale=scale, data_source=src, out_dir=args.tables_dir,
                           caption="Accuracy in %. `sn22_statistic_std_repeats`: sn22's own ± — the std of the mean "
                                   "accuracy over `n_repeats` evaluation repeats of one model (disjoint task blocks), "
                                   "averaged over seeds; `reproduced_std` is the std over seeds.",
                           notes=TABLE2_COST_NOTES)
    with figure(fig, ncols=2, width=4.2, title="sn22 Table 2: 1-shot 5-way meta-test accuracy") as (_, axes):
        for ax, dataset in zip(np.ravel(axes), ("double_nmnist", "double_asldvs"), strict=False):
            methods = [m for m in METHOD_LABEL if (m, dataset, "test") in acc]
            means = [np.mean(list(acc[(m, dataset, "test")].values())) for m in methods]
            stds = [np.std(list(acc[(m, dataset, "test")].values()), ddof=1) if len(acc[(m, dataset, "test")]) > 1 else 0
                    for m in methods]
            ax.bar(range(len(methods)), means, yerr=stds, color="tab:blue", alpha=0.8, label="ours")
            ax.axhline(20.0, color="grey", ls=":", label="chance")
            ax.set_xticks(range(len(methods)), [METHOD_LABEL[m] for m in methods], rotation=15)
            ax.set_title(dataset)
            ax.set_ylabel("accuracy (%)")
            ax.set_ylim(0, 100)
            ax.legend(fontsize=7)
    claims = []
    diffs, names = [], []
    for dataset in ("double_nmnist", "double_asldvs"):
        a, b = _matched(acc.get(("maml_snn", dataset, "test"), {}), acc.get(("fomaml_snn", dataset, "test"), {}))
        diffs += [x - y for x, y in zip(a, b, strict=True)]
        if a:
            names.append(dataset)
    if diffs:
        t = one_sample_test(diffs, 0.0)
        claims.append(claim_from_test("sn22-C1", PairedTest(t.effect, t.ci95_low, t.ci95_high, t.p_value, t.n,
                                                             "paired t-test over (dataset, seed) pairs (two-sided)"),
                                      effect_description="MAML SNN − FOMAML SNN meta-test accuracy, points",
                                      scale=scale, data_source=src, table=tid, figure=fig,
                                      note=f"datasets: {', '.join(names)}"))
    else:
        claims.append(_not_run("sn22-C1", tid, scale, src, "needs maml_snn and fomaml_snn evaluations"))
    diffs = []
    for dataset in ("double_nmnist", "double_asldvs"):
        a, b = _matched(acc.get(("maml_snn", dataset, "test"), {}), acc.get(("maml_cnn", dataset, "test"), {}))
        diffs += [x - y for x, y in zip(a, b, strict=True)]
    if diffs:
        claims.append(_noninferiority("sn22-C2", diffs, args.noninferiority_margin,
                                      what="MAML SNN − MAML CNN meta-test accuracy, points (pairs: dataset × seed)",
                                      scale=scale, data_source=src, table=tid, figure_path=fig))
    else:
        claims.append(_not_run("sn22-C2", tid, scale, src, "needs maml_snn and maml_cnn evaluations"))
    return claims, acc


def fig3(results: list[dict], args, scale: str, src: str) -> list[ClaimResult]:
    tid = "sn22_fig3_inner_steps"
    fig = str(args.figures_dir / f"{tid}.png")
    by = defaultdict(dict)  # (dataset, steps) -> seed -> acc
    pooled = defaultdict(list)
    for r in results:
        for k, a, tasks in zip(r["steps"], r["acc_mean"], (r["per_task"][str(k)] for k in r["steps"]), strict=True):
            by[(r["dataset"], k)][r["seed"]] = a * 100
            pooled[(r["dataset"], k)] += [t * 100 for t in tasks]
    ms = [Measurement(key={"dataset": d, "method": "maml_snn", "inner_steps": k},
                      per_seed=[v[s] for s in sorted(v)], per_task=pooled[(d, k)] or None)
          for (d, k), v in sorted(by.items())]
    write_comparison_table(tid, ms, scale=scale, data_source=src, out_dir=args.tables_dir,
                           caption="MAML SNN meta-test accuracy (%) with k inner SGD steps at test time "
                                   "(meta-trained with the training value).")
    if not ms:
        placeholder_figure(fig, "no inner-step results")
        return [_not_run("sn22-C3", tid, scale, src, "no sn22_inner_steps results")]
    with figure(fig, title="sn22 Fig 3: accuracy vs inner steps at test") as (_, ax):
        for d in sorted({d for d, _ in by}):
            ks = sorted(k for dd, k in by if dd == d)
            means = [np.mean(list(by[(d, k)].values())) for k in ks]
            ci = [ci95_mean(pooled[(d, k)]) for k in ks]
            ax.plot(ks, means, marker="o", label=d)
            ax.fill_between(ks, [c[0] for c in ci], [c[1] for c in ci], alpha=0.2)
        ax.set_xlabel("inner steps at test")
        ax.set_ylabel("meta-test accuracy (%)")
        ax.legend()
    diffs = []
    for d in sorted({d for d, _ in by}):
        ks = sorted(k for dd, k in by if dd == d)
        a, b = _matched(by[(d, ks[-1])], by[(d, ks[0])])
        diffs += [x - y for x, y in zip(a, b, strict=True)]
    t = one_sample_test(diffs, 0.0)
    return [claim_from_test("sn22-C3", PairedTest(t.effect, t.ci95_low, t.ci95_high, t.p_value, t.n,
                                                  "paired t-test over (dataset, seed): most vs fewest steps"),
                            effect_description="accuracy at the most minus the fewest inner steps, points",
                            scale=scale, data_source=src, table=tid, figure=fig)]


def fig4(evals: dict, frozen: list[dict], args, scale: str, src: str) -> list[ClaimResult]:
    tid = "sn22_fig4_frozen_layers"
    fig = str(args.figures_dir / f"{tid}.png")
    by = defaultdict(dict)
    pooled = defaultdict(list)
    datasets = sorted({m["dataset"] for m in frozen})
    for d in datasets:
        for s, m in evals.get(("maml_snn", d), {}).items():
            by[(d, 0)][s] = m["test_acc_mean"] * 100
            pooled[(d, 0)] += _per_task(m["_path"], "test")
    for m in frozen:
        by[(m["dataset"], m["frozen_layers"])][m["seed"]] = m["test_acc_mean"] * 100
        pooled[(m["dataset"], m["frozen_layers"])] += _per_task(m["_path"], "test")
    ms = [Measurement(key={"dataset": d, "method": "maml_snn", "frozen_layers": k},
                      per_seed=[v[s] for s in sorted(v)], per_task=pooled[(d, k)] or None)
          for (d, k), v in sorted(by.items())]
    write_comparison_table(tid, ms, scale=scale, data_source=src, out_dir=args.tables_dir,
                           caption="MAML SNN meta-test accuracy (%) when the first k layers are not adapted in the "
                                   "inner loop (meta-trained and tested that way; k = 0 is the main MAML SNN run).")
    if not frozen:
        placeholder_figure(fig, "no frozen-layer results")
        return [_not_run("sn22-C4", tid, scale, src, "no sn22_frozen_evaluate results")]
    with figure(fig, title="sn22 Fig 4: accuracy vs frozen layers") as (_, ax):
        for d in datasets:
            ks = sorted(k for dd, k in by if dd == d)
            ax.errorbar(ks, [np.mean(list(by[(d, k)].values())) for k in ks],
                        yerr=[np.std(list(by[(d, k)].values()), ddof=1) if len(by[(d, k)]) > 1 else 0 for k in ks],
                        marker="o", capsize=3, label=d)
        ax.set_xlabel("layers frozen in the inner loop")
        ax.set_ylabel("meta-test accuracy (%)")
        ax.legend()
    diffs = []
    for d in datasets:
        kmax = max(k for dd, k in by if dd == d)
        a, b = _matched(by[(d, kmax)], by[(d, 0)])
        diffs += [x - y for x, y in zip(a, b, strict=True)]
    return [_noninferiority("sn22-C4", diffs, args.frozen_margin,
                            what="accuracy with the most layers frozen minus none frozen, points",
                            scale=scale, data_source=src, table=tid, figure_path=fig)]


def table3(evals: dict, curves: dict, transfer: list[dict], scale: str, src: str, args) -> list[ClaimResult]:
    tid = "sn22_table3_update_magnitudes"
    fig = str(args.figures_dir / f"{tid}.png")
    d = "double_nmnist"
    vals = defaultdict(dict)  # (update, stat) -> seed -> value
    within_std = defaultdict(list)
    for s, c in curves.get(("maml_snn", d), {}).items():
        for st in ("avg", "sum", "max"):
            v = c.get(f"out_update_{st}")
            if v is not None and v.size:
                vals[("maml_outer", st)][s] = float(v.mean())
                within_std[("maml_outer", st)].append(float(v.std(ddof=1)) if v.size > 1 else 0.0)
    for s, m in evals.get(("maml_snn", d), {}).items():
        for st in ("avg", "sum", "max"):
            vals[("maml_inner", st)][s] = m[f"test_inner_update_{st}"]
            within_std[("maml_inner", st)].append(m[f"test_inner_update_{st}_std"])
    for r in transfer:
        if r["dataset"] != d:
            continue
        for st in ("avg", "sum", "max"):
            v = np.asarray(r["nonmeta_update"][st])
            vals[("non_meta", st)][r["seed"]] = float(v.mean())
            within_std[("non_meta", st)].append(float(v.std(ddof=1)) if v.size > 1 else 0.0)
    ms = [Measurement(key={"update": u, "statistic": st}, per_seed=[v[s] for s in sorted(v)],
                      extra={"std_over_updates": float(np.mean(within_std[(u, st)])) if within_std[(u, st)] else None})
          for (u, st), v in sorted(vals.items())]
    write_comparison_table(tid, ms, scale=scale, data_source=src, out_dir=args.tables_dir,
                           caption="|Δw| of the output layer's weights on Double N-MNIST: MAML outer = one Adam "
                                   "meta-update, MAML inner = the first inner SGD step on a test task, non-meta = one "
                                   "Adam step of the 64-way pretraining (transfer baseline). `std_over_updates` is the "
                                   "spread over updates within a run (the paper's ±), averaged over seeds.")
    if not vals:
        placeholder_figure(fig, "no update-magnitude data")
        return [_not_run("sn22-C5", tid, scale, src, "needs maml_snn runs and the transfer baseline on double_nmnist")]
    with figure(fig, title="sn22 Table 3: output-layer |Δw| (avg)") as (_, ax):
        names = [u for u in ("maml_outer", "maml_inner", "non_meta") if ("" + u, "avg") in vals]
        ax.bar(names, [np.mean(list(vals[(u, "avg")].values())) for u in names], color="tab:green")
        ax.set_yscale("log")
        ax.set_ylabel("mean |Δw| per update")
    inner, nonmeta = _matched(vals.get(("maml_inner", "avg"), {}), vals.get(("non_meta", "avg"), {}))
    if not inner:
        return [_not_run("sn22-C5", tid, scale, src, "needs both maml_inner and non_meta magnitudes")]
    logs = [math.log10(a / b) for a, b in zip(inner, nonmeta, strict=True) if a > 0 and b > 0]
    t = one_sample_test(logs, 0.0)
    ratio = 10 ** t.effect if math.isfinite(t.effect) else float("nan")
    return [claim_from_test("sn22-C5", PairedTest(t.effect, t.ci95_low, t.ci95_high, t.p_value, t.n,
                                                  "one-sample t-test of log10(inner/non-meta) over seeds"),
                            effect_description="log10 of (MAML inner avg |Δw|) / (non-meta avg |Δw|)",
                            scale=scale, data_source=src, table=tid, figure=fig,
                            note=f"geometric-mean ratio {ratio:.3g}x (paper: ~10x)")]


def fig5(evals: dict, thresholded: list[dict], scale: str, src: str, args) -> list[ClaimResult]:
    tid = "sn22_fig5_thresholded_updates"
    fig = str(args.figures_dir / f"{tid}.png")
    quantities = {"accuracy": ("test_acc_mean", 100.0), "nonzero_updates": ("test_nonzero_updates_mean", 1.0),
                  "mean_nonzero_magnitude": ("test_nonzero_update_mean_abs", 1.0)}
    vals = defaultdict(dict)
    pooled = defaultdict(list)  # accuracy rows: 95% CI over the pooled meta-test tasks
    datasets = sorted({m["dataset"] for m in thresholded})
    for d in datasets:
        for variant, by_seed in (("full", evals.get(("maml_snn", d), {})),
                                 ("thresholded", {m["seed"]: m for m in thresholded if m["dataset"] == d})):
            for s, m in sorted(by_seed.items()):
                for q, (key, mul) in quantities.items():
                    vals[(d, variant, q)][s] = m[key] * mul
                pooled[(d, variant, "accuracy")] += _per_task(m["_path"], "test")
    ms = [Measurement(key={"dataset": d, "variant": v, "quantity": q}, per_seed=[x[s] for s in sorted(x)],
                      per_task=pooled.get((d, v, q)) or None)
          for (d, v, q), x in sorted(vals.items())]
    write_comparison_table(tid, ms, scale=scale, data_source=src, out_dir=args.tables_dir,
                           caption="Full vs thresholded inner updates (sn22 Eq. 6, Θ = fraction of the update range): "
                                   "meta-test accuracy (%), non-zero weight updates per task, mean |Δw| of the non-zero "
                                   "updates.")
    if not thresholded:
        placeholder_figure(fig, "no thresholded-update results")
        return [_not_run("sn22-C6", tid, scale, src, "no sn22_threshold_evaluate results")]
    with figure(fig, title="sn22 Fig 5: non-zero inner-update magnitudes (meta-test)") as (_, ax):
        for variant, paths in (("full", [m["_path"] for d in datasets for m in evals.get(("maml_snn", d), {}).values()]),
                               ("thresholded", [m["_path"] for m in thresholded])):
            counts = None
            for p in paths:
                h = _json(Path(p).parent / "update_histogram.json")
                counts = np.asarray(h["counts"]) if counts is None else counts + np.asarray(h["counts"])
                edges = np.asarray(h["edges"])
            if counts is not None:
                ax.stairs(counts, edges, label=variant)
        ax.set_xscale("log")
        ax.set_xlabel("|Δw| of non-zero inner updates")
        ax.set_ylabel("count (all seeds)")
        ax.legend()
    acc_d, cnt_d, mag_d = [], [], []
    for d in datasets:
        a, b = _matched(vals[(d, "thresholded", "accuracy")], vals[(d, "full", "accuracy")])
        acc_d += [x - y for x, y in zip(a, b, strict=True)]
        a, b = _matched(vals[(d, "thresholded", "nonzero_updates")], vals[(d, "full", "nonzero_updates")])
        cnt_d += [x - y for x, y in zip(a, b, strict=True)]
        a, b = _matched(vals[(d, "thresholded", "mean_nonzero_magnitude")], vals[(d, "full", "mean_nonzero_magnitude")])
        mag_d += [math.log10(x / y) for x, y in zip(a, b, strict=True) if x > 0 and y > 0]
    acc_claim = _noninferiority("sn22-C6", acc_d, args.noninferiority_margin, what="", scale=scale,
                                data_source=src, table=tid, figure_path=fig)
    fewer, larger = one_sample_test(cnt_d, 0.0), one_sample_test(mag_d, 0.0)
    parts = {"accuracy kept": acc_claim.verdict,
             "fewer updates": _sign_verdict(fewer, -1), "larger updates": _sign_verdict(larger, +1)}
    if all(v == "holds" for v in parts.values()):
        verdict = "holds"
    elif any(v == "does not hold" for v in parts.values()):
        verdict = "does not hold"
    else:
        verdict = "inconclusive"
    return [ClaimResult(claim_id="sn22-C6", verdict=verdict, effect=acc_claim.effect,
                        effect_description="thresholded − full meta-test accuracy, points",
                        test=f"all three must hold: {acc_claim.test}; paired t-tests of the non-zero update count "
                             "(fewer) and of log10 mean |Δw| (larger)",
                        p_value=acc_claim.p_value, ci95_low=acc_claim.ci95_low, ci95_high=acc_claim.ci95_high,
                        n_seeds=acc_claim.n_seeds, n_tasks=None, scale=scale, data_source=src, table=tid, figure=fig,
                        note="; ".join(f"{k}: {v}" for k, v in parts.items())
                             + f"; count change {fewer.effect:.4g} (p={fewer.p_value:.3g}), "
                               f"log10 magnitude change {larger.effect:.3g} (p={larger.p_value:.3g})")]


def _sign_verdict(t: PairedTest, direction: int, alpha: float = 0.05) -> str:
    if t.n < 2 or not math.isfinite(t.p_value):
        return "inconclusive"
    if t.p_value < alpha:
        return "holds" if direction * t.effect > 0 else "does not hold"
    return "inconclusive"


def fig6(evals: dict, transfer: list[dict], scale: str, src: str, args) -> list[ClaimResult]:
    tid = "sn22_fig6_transfer"
    fig = str(args.figures_dir / f"{tid}.png")
    vals, pooled = defaultdict(dict), defaultdict(list)
    datasets = sorted({r["dataset"] for r in transfer})
    for r in transfer:
        for k, a in zip(r["shots"], r["acc_mean"], strict=True):
            vals[(r["dataset"], "transfer", k)][r["seed"]] = a * 100
            pooled[(r["dataset"], "transfer", k)] += [x * 100 for x in r["per_task"][str(k)]]
    for d in datasets:
        for s, m in evals.get(("maml_snn", d), {}).items():
            vals[(d, "maml_snn", 1)][s] = m["test_acc_mean"] * 100
            pooled[(d, "maml_snn", 1)] += _per_task(m["_path"], "test")
    ms = [Measurement(key={"dataset": d, "method": meth, "shots": k}, per_seed=[v[s] for s in sorted(v)],
                      per_task=pooled[(d, meth, k)] or None) for (d, meth, k), v in sorted(vals.items())]
    write_comparison_table(tid, ms, scale=scale, data_source=src, out_dir=args.tables_dir,
                           caption="Transfer learning (64-way pretraining, new output layer trained on k shots per "
                                   "class, conv stack frozen) vs MAML SNN at 1 shot; meta-test accuracy (%).")
    if not transfer:
        placeholder_figure(fig, "no transfer results")
        return [_not_run("sn22-C7", tid, scale, src, "no sn22_transfer results")]
    crossings, gaps = [], []
    with figure(fig, title="sn22 Fig 6: transfer learning vs MAML (1 shot)") as (_, ax):
        for d in datasets:
            ks = sorted(k for dd, meth, k in vals if dd == d and meth == "transfer")
            ax.plot(ks, [np.mean(list(vals[(d, "transfer", k)].values())) for k in ks], marker="o", label=f"transfer {d}")
            if (d, "maml_snn", 1) in vals:
                ax.axhline(np.mean(list(vals[(d, "maml_snn", 1)].values())), ls="--", label=f"MAML SNN 1-shot {d}")
                maml = vals[(d, "maml_snn", 1)]
                for s in sorted(maml):
                    tr = {k: vals[(d, "transfer", k)].get(s) for k in ks}
                    if tr.get(ks[0]) is None:
                        continue
                    k_star = next((k for k in ks if tr[k] is not None and tr[k] >= maml[s]), ks[-1] + 1)
                    crossings.append(k_star)
                    gaps.append(maml[s] - tr[ks[0]])
        ax.set_xlabel("shots k")
        ax.set_ylabel("meta-test accuracy (%)")
        ax.legend(fontsize=7)
    if not gaps:
        return [_not_run("sn22-C7", tid, scale, src, "needs maml_snn evaluations on the transfer datasets")]
    t = one_sample_test(gaps, 0.0)
    mean_k = float(np.mean(crossings))
    if t.n < 2 or not math.isfinite(t.p_value):
        verdict = "inconclusive"
    elif t.p_value < 0.05 and t.effect > 0 and mean_k >= 5:
        verdict = "holds"
    elif (t.p_value < 0.05 and t.effect < 0) or mean_k < 3:
        verdict = "does not hold"
    else:
        verdict = "inconclusive"
    return [ClaimResult(claim_id="sn22-C7", verdict=verdict, effect=mean_k,
                        effect_description="mean shots k at which transfer first matches MAML SNN 1-shot "
                                           "(max k + 1 when never)",
                        test="paired t-test MAML 1-shot − transfer 1-shot > 0, and mean crossing k >= 5 "
                             "(paper: ~9-10); 'does not hold' if transfer wins at 1 shot or crosses at k < 3",
                        p_value=t.p_value, ci95_low=t.ci95_low, ci95_high=t.ci95_high, n_seeds=t.n, n_tasks=None,
                        scale=scale, data_source=src, table=tid, figure=fig,
                        note=f"per-seed crossings {crossings}; MAML − transfer at 1 shot {t.effect:.3g} points")]


def _write_claims(path: Path, claims: list[ClaimResult]) -> None:
    """Claims with non-finite numbers stored as null (strict JSON)."""
    for c in claims:
        for f in ("effect", "p_value", "ci95_low", "ci95_high"):
            v = getattr(c, f)
            if isinstance(v, float) and not math.isfinite(v):
                setattr(c, f, None)
    write_claims(path, claims)


# --------------------------------------------------------------------------- main
def run(args: argparse.Namespace, ctx) -> None:  # noqa: ANN001
    scale = args.scale
    evals: dict[tuple[str, str], dict[int, dict]] = defaultdict(dict)
    for p in args.evaluations:
        m = _json(p)
        m["_path"] = str(p)
        evals[(m["method"], m["dataset"])][int(m["seed"] if m.get("seed") is not None else _seed_of(p))] = m
    curves: dict[tuple[str, str], dict[int, dict]] = defaultdict(dict)
    for p in args.curves:
        meta = _json(Path(p).parent / "metrics.json")  # written beside the curve by pipeline.metatrain
        curves[(meta["method"], meta["dataset"])][int(meta["seed"])] = _curve(p)
    frozen = []
    for p in args.frozen:
        m = _json(p)
        m["_path"] = str(p)
        frozen.append(m)
    thresholded = []
    for p in args.threshold:
        m = _json(p)
        m["_path"] = str(p)
        thresholded.append(m)
    inner = [_json(p) for p in args.inner_steps]
    transfer = [_json(p) for p in args.transfer]
    src = _data_source([*args.evaluations, *args.frozen, *args.threshold, *args.inner_steps, *args.transfer])
    ctx.data_source = src
    ctx.seeds = sorted({s for v in evals.values() for s in v})
    args.tables_dir.mkdir(parents=True, exist_ok=True)
    args.figures_dir.mkdir(parents=True, exist_ok=True)
    c2, _ = table2(evals, args, scale, src)
    _write_claims(args.tables_dir / "sn22_table2_fewshot.claims.json", c2)
    _write_claims(args.tables_dir / "sn22_fig3_inner_steps.claims.json", fig3(inner, args, scale, src))
    _write_claims(args.tables_dir / "sn22_fig4_frozen_layers.claims.json", fig4(evals, frozen, args, scale, src))
    _write_claims(args.tables_dir / "sn22_table3_update_magnitudes.claims.json",
                 table3(evals, curves, transfer, scale, src, args))
    _write_claims(args.tables_dir / "sn22_fig5_thresholded_updates.claims.json",
                 fig5(evals, thresholded, scale, src, args))
    _write_claims(args.tables_dir / "sn22_fig6_transfer.claims.json", fig6(evals, transfer, scale, src, args))
    ctx.log.info("sn22 tables written to %s", args.tables_dir)


if __name__ == "__main__":
    main("sn22_tables", __doc__, add_arguments, run)
