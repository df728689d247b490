"""wu22 tables and figures from the single-digit runs: wu22_fig3_convergence (GP / LP / fine-tune /
HP curves and final accuracy), wu22_fig4_crop and wu22_fig4_noise (accuracy vs ci / nl),
wu22_fig4_distance (membrane distance / cosine similarity corrupted vs clean), with the claim
verdicts wu22-C1 (fig3), wu22-C2 (crop + noise, in the crop claims file) and wu22-C3 (distance),
each resting on paired tests over seeds (metasnn.evaluation.statistics).
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from metasnn.evaluation.cost import mean_columns
from metasnn.evaluation.statistics import PairedTest, one_sample_test, paired_test
from metasnn.reporting.claims import ClaimResult, claim_from_test, verdict_from_test, write_claims
from metasnn.reporting.figures import figure
from metasnn.reporting.tables import Measurement, write_comparison_table
from pipeline.cli import main

DATASET = "N-MNIST single digits"
LABELS = {"gp": "GP", "lp": "LP", "finetune": "fine-tune", "hp": "HP"}
ORDER = ("gp", "lp", "finetune", "hp")


def add_arguments(p) -> None:  # noqa: ANN001
    p.add_argument("--metrics", type=Path, nargs="+", required=True, help="wu22_train metrics JSONs")
    p.add_argument("--curves", type=Path, nargs="+", required=True, help="wu22_train curves CSVs (same order)")
    p.add_argument("--robustness", type=Path, nargs="+", required=True, help="wu22_robustness JSONs (one per seed)")
    p.add_argument("--provenance", type=Path, nargs="+", default=[], help="wu22_train provenance (scale, data source)")
    p.add_argument("--margin", type=float, default=2.0,
                   help="wu22-C1 'HP >= GP': non-inferiority margin in accuracy points")
    p.add_argument("--tables-dir", type=Path, required=True)
    p.add_argument("--figures-dir", type=Path, required=True)


# ----------------------------------------------------------------------------- reading
def read_runs(metrics: list[Path], curves: list[Path]) -> dict[str, dict[int, dict]]:
    runs: dict[str, dict[int, dict]] = defaultdict(dict)
    for m_path, c_path in zip(metrics, curves, strict=True):
        m = json.loads(m_path.read_text())
        with c_path.open() as fh:
            rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(fh)]
        runs[m["method"]][int(m["seed"])] = {"metrics": m, "curves": rows}
    return runs


def _data_source(provenance: list[Path]) -> str:
    sources = sorted({json.loads(p.read_text()).get("data_source") or "unknown" for p in provenance if p.is_file()})
    return "+".join(sources) if sources else "unknown"


def epochs_to_fraction(curve: list[dict], fraction: float = 0.9) -> float:
    """First epoch whose test accuracy reaches ``fraction`` of the run's best test accuracy."""
    accs = [r["test_acc"] for r in curve]
    target = fraction * max(accs)
    return float(next(r["epoch"] for r in curve if r["test_acc"] >= target))


# ----------------------------------------------------------------------------- claims
def combined_claim(claim_id: str, parts: list[tuple[str, PairedTest, int]], *, scale: str, data_source: str,
                   table: str, figure_path: str, what: str) -> ClaimResult:
    """One verdict from several tests: holds if all hold, does not hold if any significantly fails."""
    verdicts = [verdict_from_test(t, direction=d) for _, t, d in parts]
    if "does not hold" in verdicts:
        overall = "does not hold"
    elif all(v == "holds" for v in verdicts):
        overall = "holds"
    else:
        overall = "inconclusive"
    if overall == "holds":
        idx = int(np.argmax([t.p_value for _, t, _ in parts]))
    else:
        idx = verdicts.index(overall)
    label, primary, direction = parts[idx]
    note = "; ".join(f"{lab}: effect {t.effect:+.4g}, p={t.p_value:.3g}, n={t.n} → {v}"
                     for (lab, t, _), v in zip(parts, verdicts, strict=True))
    base = claim_from_test(claim_id, primary, effect_description=f"{label} ({what})", direction=direction,
                           scale=scale, data_source=data_source, table=table, figure=figure_path,
                           note=f"verdict combines: {note}")
    return dataclasses.replace(base, verdict=overall)


# ----------------------------------------------------------------------------- fig 3
def convergence(runs, args, scale: str, source: str) -> list[ClaimResult]:  # noqa: ANN001
    table = "wu22_fig3_convergence"
    methods = [m for m in ORDER if m in runs]
    measurements = []
    for m in methods:
        seeds = sorted(runs[m])
        metrics = [runs[m][s]["metrics"] for s in seeds]
        extra = {"final_test_loss": float(np.mean([x["test_loss"] for x in metrics])),
                 "final_train_acc": float(np.mean([100 * x["train_acc"] for x in metrics])),
                 "epochs_to_90pct_best": float(np.mean([epochs_to_fraction(runs[m][s]["curves"]) for s in seeds])),
                 "epochs": int(metrics[0]["epochs"])}
        extra.update(mean_columns(metrics))
        measurements.append(Measurement(key={"dataset": DATASET, "method": LABELS[m]},
                                        per_seed=[100 * x["test_acc"] for x in metrics], extra=extra))
    notes = ["reproduced_mean: final test accuracy (%) after the last epoch, mean ± std over seeds.",
             "epochs_to_90pct_best: first epoch reaching 90% of the run's best test accuracy (convergence speed).",
             "Cost columns (metasnn.evaluation.cost) count W·x synaptic operations; the plastic current α·(x@P) "
             "and the Hebbian update are not included."]
    write_comparison_table(table, measurements, scale=scale, data_source=source, out_dir=args.tables_dir,
                           notes=notes)
    fig_path = args.figures_dir / f"{table}.png"
    with figure(fig_path, ncols=2, title="wu22 Fig 3: GP / LP / fine-tune / HP on N-MNIST single digits") as (_, grid):
        axes = np.ravel(grid)
        for m in methods:
            seeds = sorted(runs[m])
            epochs = [r["epoch"] for r in runs[m][seeds[0]]["curves"]]
            for ax, key, scale_ in ((axes[0], "test_loss", 1.0), (axes[1], "test_acc", 100.0)):
                vals = np.array([[scale_ * r[key] for r in runs[m][s]["curves"]] for s in seeds])
                mean, std = vals.mean(0), vals.std(0)
                ax.plot(epochs, mean, label=LABELS[m])
                ax.fill_between(epochs, mean - std, mean + std, alpha=0.2)
        axes[0].set(xlabel="epoch", ylabel="test MSE loss")
        axes[1].set(xlabel="epoch", ylabel="test accuracy (%)")
        axes[1].legend()
    if not {"hp", "gp", "lp", "finetune"} <= set(runs):
        return []
    common = sorted(set(runs["hp"]) & set(runs["gp"]) & set(runs["lp"]) & set(runs["finetune"]))
    acc = {m: [100 * runs[m][s]["metrics"]["test_acc"] for s in common] for m in ORDER}
    diff_gp = [h - g for h, g in zip(acc["hp"], acc["gp"], strict=True)]
    parts = [
        (f"HP − GP vs −{args.margin:g} pts (non-inferiority)", one_sample_test(diff_gp, -args.margin), +1),
        ("HP − LP", paired_test(acc["hp"], acc["lp"]), +1),
        ("HP − fine-tune", paired_test(acc["hp"], acc["finetune"]), +1),
    ]
    claim = combined_claim("wu22-C1", parts, scale=scale, data_source=source, table=table,
                           figure_path=str(fig_path), what="final test accuracy, % points, paired over seeds")
    conv = {m: float(np.mean([epochs_to_fraction(runs[m][s]["curves"]) for s in common])) for m in ("hp", "gp")}
    claim = dataclasses.replace(claim, note=claim.note + f"; convergence (epochs to 90% of best, not tested): "
                                f"HP {conv['hp']:.1f}, GP {conv['gp']:.1f}")
    return [claim]


# ----------------------------------------------------------------------------- fig 4
def _by_method(robust: list[dict], kind: str) -> dict[str, dict[int, dict]]:
    out: dict[str, dict[int, dict]] = defaultdict(dict)
    for r in robust:
        for method, rec in r["corruptions"].get(kind, {}).items():
            out[method][int(r["seed"])] = rec
    return out


def _degradation(rec: dict) -> float:
    """Clean accuracy minus mean accuracy over the corrupted levels (% points)."""
    acc = np.array(rec["accuracy"]) * 100
    levels = np.array(rec["level"])
    return float(acc[levels == 0].mean() - acc[levels > 0].mean())


def accuracy_tables(robust: list[dict], args, scale: str, source: str) -> list[ClaimResult]:  # noqa: ANN001
    parts = []
    fig_paths = {}
    for kind, table, level_key, label in (("crop", "wu22_fig4_crop", "ci", "crop intensity ci"),
                                          ("noise", "wu22_fig4_noise", "nl", "noise level nl")):
        data = _by_method(robust, kind)
        methods = [m for m in ORDER if m in data]
        measurements = []
        for m in methods:
            seeds = sorted(data[m])
            levels = data[m][seeds[0]]["level"]
            for i, level in enumerate(levels):
                measurements.append(Measurement(
                    key={"dataset": DATASET, "method": LABELS[m], level_key: level},
                    per_seed=[100 * data[m][s]["accuracy"][i] for s in seeds],
                    extra={"degradation_pts": float(np.mean([_degradation(data[m][s]) for s in seeds]))}))
        write_comparison_table(table, measurements, scale=scale, data_source=source, out_dir=args.tables_dir,
                               notes=["Models trained on clean data; corruption applied to the test set only "
                                      "(metasnn.data.corruptions).",
                                      "degradation_pts: clean accuracy minus mean accuracy over levels > 0, mean over seeds.",
                                      "Double N-MNIST few-shot variant not run: the few-shot HP model is evaluated "
                                      "clean only (wu22_fewshot_hp), to stay within the default-scale time budget."])
        fig_path = args.figures_dir / f"{table}.png"
        fig_paths[kind] = fig_path
        with figure(fig_path, title=f"wu22 Fig 4: accuracy vs {label}") as (_, ax):
            for m in methods:
                seeds = sorted(data[m])
                levels = data[m][seeds[0]]["level"]
                vals = np.array([[100 * a for a in data[m][s]["accuracy"]] for s in seeds])
                ax.errorbar(levels, vals.mean(0), yerr=vals.std(0), label=LABELS[m], capsize=2)
            ax.set(xlabel=label, ylabel="test accuracy (%)")
            ax.legend()
        if "hp" in data and "gp" in data:
            common = sorted(set(data["hp"]) & set(data["gp"]))
            deg_gp = [_degradation(data["gp"][s]) for s in common]
            deg_hp = [_degradation(data["hp"][s]) for s in common]
            parts.append((f"{kind}: degradation GP − HP", paired_test(deg_gp, deg_hp), +1))
    if not parts:
        return []
    return [combined_claim("wu22-C2", parts, scale=scale, data_source=source, table="wu22_fig4_crop",
                           figure_path=str(fig_paths["crop"]),
                           what="accuracy points lost, clean minus mean over ci/nl > 0, paired over seeds")]


def distance_table(robust: list[dict], args, scale: str, source: str) -> list[ClaimResult]:  # noqa: ANN001
    table = "wu22_fig4_distance"
    measurements = []
    parts = []
    fig_path = args.figures_dir / f"{table}.png"
    with figure(fig_path, ncols=2, nrows=2, title="wu22 Fig 4e-f: first hidden layer, corrupted vs clean") as (_, axes):
        for row, kind in enumerate(("crop", "noise")):
            data = _by_method(robust, kind)
            methods = [m for m in ORDER if m in data]
            for m in methods:
                seeds = sorted(data[m])
                levels = data[m][seeds[0]]["level"]
                for col, metric in enumerate(("euclidean", "cosine")):
                    vals = np.array([data[m][s][metric] for s in seeds])
                    for i, level in enumerate(levels):
                        measurements.append(Measurement(
                            key={"corruption": kind, "level": level, "method": LABELS[m], "metric": metric},
                            per_seed=list(vals[:, i])))
                    axes[row][col].errorbar(levels, vals.mean(0), yerr=vals.std(0), label=LABELS[m], capsize=2)
                    axes[row][col].set(xlabel="ci" if kind == "crop" else "nl",
                                       ylabel="Euclidean distance" if metric == "euclidean" else "cosine similarity")
            axes[row][0].legend()
            if "hp" in data and "gp" in data:
                common = sorted(set(data["hp"]) & set(data["gp"]))

                def mean_corrupted(rec: dict, metric: str) -> float:
                    lv = np.array(rec["level"])
                    return float(np.array(rec[metric])[lv > 0].mean())

                parts.append((f"{kind}: Euclidean GP − HP",
                              paired_test([mean_corrupted(data["gp"][s], "euclidean") for s in common],
                                          [mean_corrupted(data["hp"][s], "euclidean") for s in common]), +1))
                parts.append((f"{kind}: cosine HP − GP",
                              paired_test([mean_corrupted(data["hp"][s], "cosine") for s in common],
                                          [mean_corrupted(data["gp"][s], "cosine") for s in common]), +1))
    write_comparison_table(table, measurements, scale=scale, data_source=source, out_dir=args.tables_dir,
                           notes=["Membrane potentials of the first hidden layer at the last time step; per-sample "
                                  "distance / similarity between the corrupted and the clean input, averaged over "
                                  "test samples. Euclidean distances depend on each network's membrane scale; the "
                                  "cosine similarity does not."])
    if not parts:
        return []
    return [combined_claim("wu22-C3", parts, scale=scale, data_source=source, table=table,
                           figure_path=str(fig_path), what="mean over corrupted levels, paired over seeds")]


def run(args, ctx):  # noqa: ANN001
    runs = read_runs(args.metrics, args.curves)
    robust = [json.loads(p.read_text()) for p in args.robustness]
    source = _data_source(args.provenance)
    ctx.data_source = source
    ctx.seeds = sorted({s for m in runs.values() for s in m})
    scale = ctx.scale
    args.tables_dir.mkdir(parents=True, exist_ok=True)
    args.figures_dir.mkdir(parents=True, exist_ok=True)
    write_claims(args.tables_dir / "wu22_fig3_convergence.claims.json", convergence(runs, args, scale, source))
    write_claims(args.tables_dir / "wu22_fig4_crop.claims.json", accuracy_tables(robust, args, scale, source))
    write_claims(args.tables_dir / "wu22_fig4_distance.claims.json", distance_table(robust, args, scale, source))


if __name__ == "__main__":
    main("wu22_tables", __doc__, add_arguments, run)
