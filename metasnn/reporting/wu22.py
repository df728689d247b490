"""wu22 (hybrid plasticity) tables, figures and claims from the single-digit runs.

wu22_fig3_convergence (GP / LP / fine-tune / HP curves and final accuracy), wu22_fig4_crop and
wu22_fig4_noise (accuracy vs ci / nl), wu22_fig4_distance (membrane distance / cosine similarity
corrupted vs clean), with the claim verdicts wu22-C1 (fig3), wu22-C2 (crop + noise, in the crop claims
file) and wu22-C3 (distance), each an all-of claim over paired tests over seeds
(:mod:`metasnn.reporting.verdicts`). The claim builders (``claim_c1`` … ``claim_c3``) take per-seed
values, so each can be checked on constructed inputs. (The few-shot HP table is
:mod:`metasnn.reporting.fewshot_hp`; the hardware tables :mod:`metasnn.hardware.report`.)
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from metasnn.data.sources import DataSource
from metasnn.evaluation.cost import mean_columns
from metasnn.evaluation.statistics import paired_test
from metasnn.reporting import verdicts
from metasnn.reporting.claims import ClaimResult, ClaimSite, claim_from_test, write_claims
from metasnn.reporting.figures import figure
from metasnn.reporting.tables import Measurement, write_comparison_table
from metasnn.reporting.verdicts import Part

FIG3, CROP, NOISE, DISTANCE = "wu22_fig3_convergence", "wu22_fig4_crop", "wu22_fig4_noise", "wu22_fig4_distance"
TABLE_IDS = (FIG3, CROP, NOISE, DISTANCE)
DATASET = "N-MNIST single digits"
RAW = ("nmnist",)  # every row and claim rests on the single-digit N-MNIST recordings
LABELS = {"gp": "GP", "lp": "LP", "finetune": "fine-tune", "hp": "HP"}
ORDER = ("gp", "lp", "finetune", "hp")

PerSeed = Mapping[int, float]


# ----------------------------------------------------------------------------- reading
def read_runs(metrics: Sequence[Path], curves: Sequence[Path]) -> dict[str, dict[int, dict]]:
    """wu22_train runs: method -> seed -> {"metrics": ..., "curves": [row, ...]} (``metrics``/``curves`` in the same order)."""
    runs: dict[str, dict[int, dict]] = defaultdict(dict)
    for m_path, c_path in zip(metrics, curves, strict=True):
        m = json.loads(Path(m_path).read_text())
        with Path(c_path).open() as fh:
            rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(fh)]
        runs[m["method"]][int(m["seed"])] = {"metrics": m, "curves": rows}
    return runs


def read_robustness(paths: Sequence[Path]) -> list[dict]:
    return [json.loads(Path(p).read_text()) for p in paths]


def epochs_to_fraction(curve: Sequence[Mapping[str, float]], fraction: float = 0.9) -> float:
    """First epoch whose test accuracy reaches ``fraction`` of the run's best test accuracy."""
    accs = [r["test_acc"] for r in curve]
    target = fraction * max(accs)
    return float(next(r["epoch"] for r in curve if r["test_acc"] >= target))


# ----------------------------------------------------------------------------- claims
def combined_claim(claim_id: str, parts: Sequence[Part], *, site: ClaimSite, what: str) -> ClaimResult:
    """An all-of claim (:func:`metasnn.reporting.verdicts.combine`) reported with its deciding part's statistic;
    every part's effect, p and verdict in the note."""
    overall, primary = verdicts.combine(parts)
    note = "; ".join(f"{p.name}: effect {p.test.effect:+.4g}, p={p.test.p_value:.3g}, n={p.test.n} → {p.verdict}"
                     for p in parts)
    base = claim_from_test(claim_id, primary.test, effect_description=f"{primary.name} ({what})",
                           direction=primary.direction, scale=site.scale, data_source=site.source(RAW),
                           table=site.table, figure=site.figure, note=f"verdict combines: {note}")
    return dataclasses.replace(base, verdict=overall)


def claim_c1(acc: Mapping[str, PerSeed], epochs: Mapping[str, PerSeed], margin: float,
             site: ClaimSite) -> ClaimResult | None:
    """wu22-C1 (HP at least as accurate as GP, better than LP and fine-tune): all-of the non-inferiority of
    HP − GP at ``margin`` points and the sign rule on HP − LP and HP − fine-tune, paired over the seeds every
    method has. ``acc[method][seed]``: final test accuracy (%); ``epochs[method][seed]``: epochs to 90% of the
    best (reported, not tested). None unless all four methods ran."""
    if not set(ORDER) <= set(acc):
        return None
    common = sorted(set(acc["hp"]) & set(acc["gp"]) & set(acc["lp"]) & set(acc["finetune"]))
    a = {m: [acc[m][s] for s in common] for m in ORDER}
    parts = [
        verdicts.noninferiority_part(f"HP − GP vs −{margin:g} pts (non-inferiority)",
                                     [h - g for h, g in zip(a["hp"], a["gp"], strict=True)], margin),
        verdicts.sign_part("HP − LP", paired_test(a["hp"], a["lp"]), +1),
        verdicts.sign_part("HP − fine-tune", paired_test(a["hp"], a["finetune"]), +1),
    ]
    claim = combined_claim("wu22-C1", parts, site=site, what="final test accuracy, % points, paired over seeds")
    conv = {m: float(np.mean([epochs[m][s] for s in common])) for m in ("hp", "gp")}
    return dataclasses.replace(claim, note=claim.note + f"; convergence (epochs to 90% of best, not tested): "
                               f"HP {conv['hp']:.1f}, GP {conv['gp']:.1f}")


def claim_c2(degradation: Mapping[str, Mapping[str, PerSeed]], site: ClaimSite) -> ClaimResult | None:
    """wu22-C2 (HP degrades less than GP under crop and noise): all-of the sign rule on GP − HP accuracy lost
    (clean minus mean over corrupted levels), per corruption, paired over seeds. ``degradation[kind][method][seed]``.
    None when no corruption has both GP and HP."""
    parts = []
    for kind in ("crop", "noise"):
        data = degradation.get(kind, {})
        if "hp" in data and "gp" in data:
            common = sorted(set(data["hp"]) & set(data["gp"]))
            parts.append(verdicts.sign_part(f"{kind}: degradation GP − HP",
                                            paired_test([data["gp"][s] for s in common],
                                                        [data["hp"][s] for s in common]), +1))
    if not parts:
        return None
    return combined_claim("wu22-C2", parts, site=site,
                          what="accuracy points lost, clean minus mean over ci/nl > 0, paired over seeds")


def claim_c3(distance: Mapping[tuple[str, str], Mapping[str, PerSeed]], site: ClaimSite) -> ClaimResult | None:
    """wu22-C3 (HP's hidden representation moves less under corruption): all-of, per corruption, the sign rule
    on GP − HP Euclidean distance and HP − GP cosine similarity (means over corrupted levels), paired over seeds.
    ``distance[(kind, metric)][method][seed]`` with metrics ``euclidean`` and ``cosine``. None without GP and HP."""
    parts = []
    for kind in ("crop", "noise"):
        euc, cos = distance.get((kind, "euclidean"), {}), distance.get((kind, "cosine"), {})
        if not ("hp" in euc and "gp" in euc):
            continue
        common = sorted(set(euc["hp"]) & set(euc["gp"]))
        parts.append(verdicts.sign_part(f"{kind}: Euclidean GP − HP", paired_test(
            [euc["gp"][s] for s in common], [euc["hp"][s] for s in common]), +1))
        parts.append(verdicts.sign_part(f"{kind}: cosine HP − GP", paired_test(
            [cos["hp"][s] for s in common], [cos["gp"][s] for s in common]), +1))
    if not parts:
        return None
    return combined_claim("wu22-C3", parts, site=site, what="mean over corrupted levels, paired over seeds")


# ----------------------------------------------------------------------------- fig 3
def convergence(runs: Mapping[str, Mapping[int, dict]], margin: float, *, scale: str,
                sources: Mapping[str, DataSource], tables_dir: Path, figures_dir: Path) -> list[ClaimResult]:
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
        measurements.append(Measurement(key={"dataset": DATASET, "method": LABELS[m]}, datasets=RAW,
                                        per_seed=[100 * x["test_acc"] for x in metrics], extra=extra))
    notes = ["reproduced_mean: final test accuracy (%) after the last epoch, mean ± std over seeds.",
             "epochs_to_90pct_best: first epoch reaching 90% of the run's best test accuracy (convergence speed).",
             "Cost columns (metasnn.evaluation.cost) count W·x synaptic operations; the plastic current α·(x@P) "
             "and the Hebbian update are not included."]
    write_comparison_table(FIG3, measurements, scale=scale, sources=sources, out_dir=tables_dir, notes=notes)
    fig_path = Path(figures_dir) / f"{FIG3}.png"
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
    acc = {m: {s: 100 * r["metrics"]["test_acc"] for s, r in runs[m].items()} for m in methods}
    epochs = {m: {s: epochs_to_fraction(r["curves"]) for s, r in runs[m].items()} for m in methods}
    site = ClaimSite(scale=scale, sources=sources, table=FIG3, figure=str(fig_path))
    claim = claim_c1(acc, epochs, margin, site)
    return [claim] if claim else []


# ----------------------------------------------------------------------------- fig 4
def _by_method(robust: Sequence[dict], kind: str) -> dict[str, dict[int, dict]]:
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


def _mean_corrupted(rec: dict, metric: str) -> float:
    lv = np.array(rec["level"])
    return float(np.array(rec[metric])[lv > 0].mean())


def accuracy_tables(robust: Sequence[dict], *, scale: str, sources: Mapping[str, DataSource], tables_dir: Path,
                    figures_dir: Path) -> list[ClaimResult]:
    degradation: dict[str, dict[str, dict[int, float]]] = {}
    fig_paths = {}
    for kind, table, level_key, label in (("crop", CROP, "ci", "crop intensity ci"),
                                          ("noise", NOISE, "nl", "noise level nl")):
        data = _by_method(robust, kind)
        methods = [m for m in ORDER if m in data]
        measurements = []
        for m in methods:
            seeds = sorted(data[m])
            levels = data[m][seeds[0]]["level"]
            for i, level in enumerate(levels):
                measurements.append(Measurement(
                    key={"dataset": DATASET, "method": LABELS[m], level_key: level}, datasets=RAW,
                    per_seed=[100 * data[m][s]["accuracy"][i] for s in seeds],
                    extra={"degradation_pts": float(np.mean([_degradation(data[m][s]) for s in seeds]))}))
        write_comparison_table(table, measurements, scale=scale, sources=sources, out_dir=tables_dir,
                               notes=["Models trained on clean data; corruption applied to the test set only "
                                      "(metasnn.data.corruptions).",
                                      "degradation_pts: clean accuracy minus mean accuracy over levels > 0, mean over seeds.",
                                      "Double N-MNIST few-shot variant not run: the few-shot HP model is evaluated "
                                      "clean only (wu22_fewshot_hp), to stay within the default-scale time budget."])
        fig_path = Path(figures_dir) / f"{table}.png"
        fig_paths[kind] = fig_path
        with figure(fig_path, title=f"wu22 Fig 4: accuracy vs {label}") as (_, ax):
            for m in methods:
                seeds = sorted(data[m])
                levels = data[m][seeds[0]]["level"]
                vals = np.array([[100 * a for a in data[m][s]["accuracy"]] for s in seeds])
                ax.errorbar(levels, vals.mean(0), yerr=vals.std(0), label=LABELS[m], capsize=2)
            ax.set(xlabel=label, ylabel="test accuracy (%)")
            ax.legend()
        degradation[kind] = {m: {s: _degradation(rec) for s, rec in data[m].items()} for m in methods}
    site = ClaimSite(scale=scale, sources=sources, table=CROP, figure=str(fig_paths["crop"]))
    claim = claim_c2(degradation, site)
    return [claim] if claim else []


def distance_table(robust: Sequence[dict], *, scale: str, sources: Mapping[str, DataSource], tables_dir: Path,
                   figures_dir: Path) -> list[ClaimResult]:
    measurements = []
    distance: dict[tuple[str, str], dict[str, dict[int, float]]] = {}
    fig_path = Path(figures_dir) / f"{DISTANCE}.png"
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
                            per_seed=list(vals[:, i]), datasets=RAW))
                    axes[row][col].errorbar(levels, vals.mean(0), yerr=vals.std(0), label=LABELS[m], capsize=2)
                    axes[row][col].set(xlabel="ci" if kind == "crop" else "nl",
                                       ylabel="Euclidean distance" if metric == "euclidean" else "cosine similarity")
                    distance.setdefault((kind, metric), {})[m] = {s: _mean_corrupted(rec, metric)
                                                                  for s, rec in data[m].items()}
            axes[row][0].legend()
    write_comparison_table(DISTANCE, measurements, scale=scale, sources=sources, out_dir=tables_dir,
                           notes=["Membrane potentials of the first hidden layer at the last time step; per-sample "
                                  "distance / similarity between the corrupted and the clean input, averaged over "
                                  "test samples. Euclidean distances depend on each network's membrane scale; the "
                                  "cosine similarity does not."])
    claim = claim_c3(distance, ClaimSite(scale=scale, sources=sources, table=DISTANCE, figure=str(fig_path)))
    return [claim] if claim else []


def write_wu22(runs: Mapping[str, Mapping[int, dict]], robust: Sequence[dict], *, margin: float, scale: str,
               sources: Mapping[str, DataSource], tables_dir: Path, figures_dir: Path) -> dict[str, list[ClaimResult]]:
    """Write the four tables and figures and the claims files (wu22-C2 beside the crop table); return them."""
    tables_dir, figures_dir = Path(tables_dir), Path(figures_dir)
    tables_dir.mkdir(parents=True, exist_ok=True)
    figures_dir.mkdir(parents=True, exist_ok=True)
    where = {"scale": scale, "sources": sources, "tables_dir": tables_dir, "figures_dir": figures_dir}
    claims = {FIG3: convergence(runs, margin, **where), CROP: accuracy_tables(robust, **where),
              DISTANCE: distance_table(robust, **where)}
    for tid, found in claims.items():
        write_claims(tables_dir / f"{tid}.claims.json", found)
    return claims
