"""sn22 (Stewart & Neftci 2022) tables, figures and claims from the per-seed results of the sn22 stages.

Tables ``<id>.csv|md``, figures ``<id>.png`` and claim records ``<id>.claims.json`` for
sn22_table2_fewshot (claims sn22-C1, C2), sn22_fig3_inner_steps (C3), sn22_fig4_frozen_layers (C4),
sn22_table3_update_magnitudes (C5), sn22_fig5_thresholded_updates (C6) and sn22_fig6_transfer (C7).
Accuracies are in %. Each row: mean ± std over seeds; 95% CI over the pooled evaluation tasks where
task-level values exist. Table 2 also carries sn22's own statistic (std over evaluation repeats of
one model, averaged over seeds), labelled. The verdict rules are those of
:mod:`metasnn.reporting.verdicts`; the claim builders (``claim_c1`` … ``claim_c7``) take per-seed
values, so each can be checked on constructed inputs.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metasnn.data.sources import DataSource
from metasnn.evaluation.cost import mean_columns
from metasnn.evaluation.statistics import PairedTest, ci95_mean, one_sample_test
from metasnn.reporting import verdicts
from metasnn.reporting.claims import (
    ClaimResult,
    ClaimSite,
    claim_from_test,
    noninferiority_claim,
    not_run_claim,
    write_claims,
)
from metasnn.reporting.figures import figure, placeholder_figure
from metasnn.reporting.tables import Measurement, write_comparison_table

TABLE2, FIG3, FIG4 = "sn22_table2_fewshot", "sn22_fig3_inner_steps", "sn22_fig4_frozen_layers"
TABLE3, FIG5, FIG6 = "sn22_table3_update_magnitudes", "sn22_fig5_thresholded_updates", "sn22_fig6_transfer"
TABLE_IDS = (TABLE2, FIG3, FIG4, TABLE3, FIG5, FIG6)
DATASETS = ("double_nmnist", "double_asldvs")
UPDATE_DATASET = "double_nmnist"  # Table 3 (update magnitudes) is on Double N-MNIST only
METHOD_LABEL = {"maml_snn": "MAML SNN", "fomaml_snn": "FOMAML SNN", "maml_cnn": "MAML CNN"}
TABLE2_COST_NOTES = (
    "Cost columns (metasnn.evaluation.cost, per sample): measured in sn22_evaluate on the query set of meta-test "
    "task 0 of the fixed evaluation set (--eval-seed), run through the model adapted on that task's support (the "
    "test-time inner loop); mean over seeds (the same on the val and test rows).",
    "SNN: every synapse W multiplies the DECOLLE membrane trace P (a filtered trace, not spikes), so its "
    "operations are MACs, counted by NeuroBench (one per non-zero weight x non-zero P entry; convolution padding "
    "taps are not operations) over all T steps (burn-in included); P decays but does not return to 0 once input "
    "arrived, so after the first spikes this is close to the dense count. activation_sparsity: the "
    "inter-layer spikes H(pool(U)) of the conv layers and the output layer's spikes; state_bytes: Q, P, U, R, S "
    "of every layer.",
    "MAML CNN: MACs of the convs and the linear layer on the time-summed image (NeuroBench's count: non-zero "
    "weight x non-zero input pairs); no "
    "spiking layer and no neuron state, so activation_sparsity and state_bytes are empty.",
)

PerSeed = dict[int, float]


@dataclass(frozen=True)
class Margins:
    """The claim margins and thresholds (params.yaml ``sn22.claims``)."""

    noninferiority: float  # C2, C6 "about equal": CI of the difference above -margin (accuracy points)
    frozen: float  # C4 "costs little": CI of frozen - full above -margin (accuracy points)
    transfer_shots_holds: float  # C7 holds when transfer needs on average at least this many shots ...
    transfer_shots_fails: float  # ... and does not hold when it needs fewer than this many


@dataclass
class Runs:
    """The inputs of the sn22 tables, read by :func:`load_runs`."""

    evals: dict[tuple[str, str], dict[int, dict]] = field(default_factory=lambda: defaultdict(dict))
    curves: dict[tuple[str, str], dict[int, dict[str, np.ndarray]]] = field(default_factory=lambda: defaultdict(dict))
    inner: list[dict] = field(default_factory=list)
    frozen: list[dict] = field(default_factory=list)
    thresholded: list[dict] = field(default_factory=list)
    transfer: list[dict] = field(default_factory=list)

    @property
    def seeds(self) -> list[int]:
        return sorted({s for v in self.evals.values() for s in v})


# --------------------------------------------------------------------------- loading
def _json(path: Path) -> Any:
    return json.loads(Path(path).read_text())


def _per_task(metrics_path: Path, split: str) -> list[float]:
    path = Path(metrics_path).parent / "per_task.csv"
    if not path.is_file():
        return []
    with path.open() as fh:
        return [float(r["acc"]) * 100 for r in csv.DictReader(fh) if r["split"] == split]


def _curve(path: Path) -> dict[str, np.ndarray]:
    with Path(path).open() as fh:
        rows = list(csv.DictReader(fh))
    return {k: np.array([float(r[k]) for r in rows]) for k in (rows[0] if rows else {})}


def _seed_of(path: Path) -> int:
    for part in reversed(Path(path).parts):
        if part.startswith("seed") and part[4:].isdigit():
            return int(part[4:])
    raise ValueError(f"{path}: no seed<N> component in the path")


def _with_path(path: Path) -> dict:
    m = _json(path)
    m["_path"] = str(path)
    return m


def load_runs(*, evaluations: Sequence[Path], curves: Sequence[Path], inner_steps: Sequence[Path] = (),
              frozen: Sequence[Path] = (), threshold: Sequence[Path] = (), transfer: Sequence[Path] = ()) -> Runs:
    """Read the sn22_evaluate metrics, sn22_metatrain curves (with the metrics.json beside each), and the
    inner-step, frozen-layer, thresholded-update and transfer results."""
    runs = Runs()
    for p in evaluations:
        m = _with_path(p)
        runs.evals[(m["method"], m["dataset"])][int(m["seed"] if m.get("seed") is not None else _seed_of(p))] = m
    for p in curves:
        meta = _json(Path(p).parent / "metrics.json")  # written beside the curve by pipeline.metatrain
        runs.curves[(meta["method"], meta["dataset"])][int(meta["seed"])] = _curve(p)
    runs.frozen = [_with_path(p) for p in frozen]
    runs.thresholded = [_with_path(p) for p in threshold]
    runs.inner = [_json(p) for p in inner_steps]
    runs.transfer = [_json(p) for p in transfer]
    return runs


def _matched(a: Mapping[int, float], b: Mapping[int, float]) -> tuple[list[float], list[float]]:
    seeds = sorted(set(a) & set(b))
    return [a[s] for s in seeds], [b[s] for s in seeds]


def _diffs(a: Mapping[int, float], b: Mapping[int, float]) -> list[float]:
    x, y = _matched(a, b)
    return [p - q for p, q in zip(x, y, strict=True)]


def _largest_minus_baseline(by: Mapping[tuple[str, int], PerSeed], datasets: Sequence[str],
                            baseline: int | None) -> list[float]:
    """Per dataset, the seed-paired differences of the largest setting minus ``baseline`` (``None``: the
    smallest setting present; a baseline that is missing pairs nothing)."""
    diffs: list[float] = []
    for d in datasets:
        ks = sorted(k for dd, k in by if dd == d)
        diffs += _diffs(by[(d, ks[-1])], by.get((d, ks[0] if baseline is None else baseline), {}))
    return diffs


def _method_diffs(acc: Mapping[tuple[str, str, str], PerSeed], a: str, b: str) -> tuple[list[float], list[str]]:
    """Meta-test accuracy differences ``a − b`` paired over (dataset, seed), and the datasets that had pairs."""
    diffs, names = [], []
    for dataset in DATASETS:
        d = _diffs(acc.get((a, dataset, "test"), {}), acc.get((b, dataset, "test"), {}))
        diffs += d
        if d:
            names.append(dataset)
    return diffs, names


def _relabel(t: PairedTest, test: str) -> PairedTest:
    return PairedTest(t.effect, t.ci95_low, t.ci95_high, t.p_value, t.n, test)


# --------------------------------------------------------------------------- claims (constructed-input testable)
def claim_c1(acc: Mapping[tuple[str, str, str], PerSeed], site: ClaimSite) -> ClaimResult:
    """sn22-C1 (MAML SNN beats FOMAML SNN): sign rule on the paired (dataset, seed) differences of the
    meta-test accuracy. ``acc[(method, dataset, split)][seed]``."""
    diffs, names = _method_diffs(acc, "maml_snn", "fomaml_snn")
    if not diffs:
        return not_run_claim("sn22-C1", table=site.table, scale=site.scale, data_source=site.source(),
                             why="needs maml_snn and fomaml_snn evaluations")
    t = _relabel(one_sample_test(diffs, 0.0), "paired t-test over (dataset, seed) pairs (two-sided)")
    return claim_from_test("sn22-C1", t, effect_description="MAML SNN − FOMAML SNN meta-test accuracy, points",
                           scale=site.scale, data_source=site.source(names), table=site.table, figure=site.figure,
                           note=f"datasets: {', '.join(names)}")


def claim_c2(acc: Mapping[tuple[str, str, str], PerSeed], margin: float, site: ClaimSite) -> ClaimResult:
    """sn22-C2 (MAML SNN about equal to MAML CNN): non-inferiority at ``margin`` points over (dataset, seed)."""
    diffs, names = _method_diffs(acc, "maml_snn", "maml_cnn")
    if not diffs:
        return not_run_claim("sn22-C2", table=site.table, scale=site.scale, data_source=site.source(),
                             why="needs maml_snn and maml_cnn evaluations")
    return noninferiority_claim("sn22-C2", diffs, margin,
                                effect_description="MAML SNN − MAML CNN meta-test accuracy, points (pairs: dataset × seed)",
                                scale=site.scale, data_source=site.source(names), table=site.table, figure=site.figure)


def claim_c3(by: Mapping[tuple[str, int], PerSeed], site: ClaimSite) -> ClaimResult:
    """sn22-C3 (more inner steps at test help): sign rule on most minus fewest steps, paired over (dataset, seed).
    ``by[(dataset, steps)][seed]``."""
    datasets = sorted({d for d, _ in by})
    if not datasets:
        return not_run_claim("sn22-C3", table=site.table, scale=site.scale, data_source=site.source(),
                             why="no sn22_inner_steps results")
    diffs = _largest_minus_baseline(by, datasets, baseline=None)
    t = _relabel(one_sample_test(diffs, 0.0), "paired t-test over (dataset, seed): most vs fewest steps")
    return claim_from_test("sn22-C3", t, effect_description="accuracy at the most minus the fewest inner steps, points",
                           scale=site.scale, data_source=site.source(datasets), table=site.table, figure=site.figure)


def claim_c4(by: Mapping[tuple[str, int], PerSeed], margin: float, site: ClaimSite) -> ClaimResult:
    """sn22-C4 (freezing layers in the inner loop costs little): non-inferiority at ``margin`` of the most
    layers frozen minus none (k = 0), paired over (dataset, seed). ``by[(dataset, frozen_layers)][seed]``."""
    datasets = sorted({d for d, k in by if k != 0})
    if not datasets:
        return not_run_claim("sn22-C4", table=site.table, scale=site.scale, data_source=site.source(),
                             why="no sn22_frozen_evaluate results")
    diffs = _largest_minus_baseline(by, datasets, baseline=0)
    return noninferiority_claim("sn22-C4", diffs, margin,
                                effect_description="accuracy with the most layers frozen minus none frozen, points",
                                scale=site.scale, data_source=site.source(datasets), table=site.table,
                                figure=site.figure)


def claim_c5(vals: Mapping[tuple[str, str], PerSeed], site: ClaimSite) -> ClaimResult:
    """sn22-C5 (meta-learned inner updates are larger than non-meta ones, paper ~10x): sign rule on
    log10(MAML inner avg |Δw| / non-meta avg |Δw|) over seeds. ``vals[(update, statistic)][seed]``."""
    src = site.source([UPDATE_DATASET])
    inner, nonmeta = _matched(vals.get(("maml_inner", "avg"), {}), vals.get(("non_meta", "avg"), {}))
    if not inner:
        why = ("needs maml_snn runs and the transfer baseline on double_nmnist" if not vals
               else "needs both maml_inner and non_meta magnitudes")
        return not_run_claim("sn22-C5", table=site.table, scale=site.scale, data_source=src, why=why)
    logs = [math.log10(a / b) for a, b in zip(inner, nonmeta, strict=True) if a > 0 and b > 0]
    t = one_sample_test(logs, 0.0)
    ratio = 10 ** t.effect if math.isfinite(t.effect) else float("nan")
    return claim_from_test("sn22-C5", _relabel(t, "one-sample t-test of log10(inner/non-meta) over seeds"),
                           effect_description="log10 of (MAML inner avg |Δw|) / (non-meta avg |Δw|)",
                           scale=site.scale, data_source=src, table=site.table, figure=site.figure,
                           note=f"geometric-mean ratio {ratio:.3g}x (paper: ~10x)")


def claim_c6(vals: Mapping[tuple[str, str, str], PerSeed], margin: float, site: ClaimSite) -> ClaimResult:
    """sn22-C6 (thresholded inner updates: about equal accuracy, fewer but larger updates): all-of the
    non-inferiority of the accuracy at ``margin``, the sign rule on the non-zero update count (fewer) and on
    log10 of the mean non-zero |Δw| (larger), paired over (dataset, seed). ``vals[(dataset, variant, quantity)]``
    with variants ``full`` / ``thresholded`` and quantities ``accuracy``, ``nonzero_updates``,
    ``mean_nonzero_magnitude``."""
    datasets = sorted({d for d, v, _ in vals if v == "thresholded"})
    if not datasets:
        return not_run_claim("sn22-C6", table=site.table, scale=site.scale, data_source=site.source(),
                             why="no sn22_threshold_evaluate results")
    acc_d, cnt_d, mag_d = [], [], []
    for d in datasets:
        acc_d += _diffs(vals[(d, "thresholded", "accuracy")], vals.get((d, "full", "accuracy"), {}))
        cnt_d += _diffs(vals[(d, "thresholded", "nonzero_updates")], vals.get((d, "full", "nonzero_updates"), {}))
        a, b = _matched(vals[(d, "thresholded", "mean_nonzero_magnitude")],
                        vals.get((d, "full", "mean_nonzero_magnitude"), {}))
        mag_d += [math.log10(x / y) for x, y in zip(a, b, strict=True) if x > 0 and y > 0]
    acc = verdicts.noninferiority_part("accuracy kept", acc_d, margin)
    fewer, larger = one_sample_test(cnt_d, 0.0), one_sample_test(mag_d, 0.0)
    parts = [acc, verdicts.sign_part("fewer updates", fewer, -1), verdicts.sign_part("larger updates", larger, +1)]
    verdict = verdicts.all_of(p.verdict for p in parts)
    t = acc.test
    return ClaimResult(claim_id="sn22-C6", verdict=verdict, effect=t.effect,
                       effect_description="thresholded − full meta-test accuracy, points",
                       test=f"all three must hold: {t.test}; paired t-tests of the non-zero update count "
                            "(fewer) and of log10 mean |Δw| (larger)",
                       p_value=t.p_value, ci95_low=t.ci95_low, ci95_high=t.ci95_high, n_seeds=t.n, n_tasks=None,
                       scale=site.scale, data_source=site.source(datasets), table=site.table, figure=site.figure,
                       note="; ".join(f"{p.name}: {p.verdict}" for p in parts)
                            + f"; count change {fewer.effect:.4g} (p={fewer.p_value:.3g}), "
                              f"log10 magnitude change {larger.effect:.3g} (p={larger.p_value:.3g})")


def claim_c7(vals: Mapping[tuple[str, str, int], PerSeed], margins: Margins, site: ClaimSite) -> ClaimResult:
    """sn22-C7 (transfer learning needs many shots to match MAML 1-shot): all-of the sign rule on MAML 1-shot
    minus transfer 1-shot (paired over (dataset, seed)) and the threshold rule on the mean number of shots at
    which transfer first matches MAML (max k + 1 when never); inconclusive when the test cannot decide.
    ``vals[(dataset, method, shots)][seed]`` with methods ``transfer`` and ``maml_snn`` (at 1 shot)."""
    datasets = sorted({d for d, meth, _ in vals if meth == "transfer"})
    if not datasets:
        return not_run_claim("sn22-C7", table=site.table, scale=site.scale, data_source=site.source(),
                             why="no sn22_transfer results")
    crossings, gaps = [], []
    for d in datasets:
        ks = sorted(k for dd, meth, k in vals if dd == d and meth == "transfer")
        maml = vals.get((d, "maml_snn", 1), {})
        for s in sorted(maml):
            tr = {k: vals[(d, "transfer", k)].get(s) for k in ks}
            if tr.get(ks[0]) is None:
                continue
            crossings.append(next((k for k in ks if tr[k] is not None and tr[k] >= maml[s]), ks[-1] + 1))
            gaps.append(maml[s] - tr[ks[0]])
    if not gaps:
        return not_run_claim("sn22-C7", table=site.table, scale=site.scale, data_source=site.source(datasets),
                             why="needs maml_snn evaluations on the transfer datasets")
    t = one_sample_test(gaps, 0.0)
    mean_k = float(np.mean(crossings))
    hi, lo = margins.transfer_shots_holds, margins.transfer_shots_fails
    verdict = (verdicts.all_of([verdicts.sign(t, +1), verdicts.threshold(mean_k, holds_at=hi, fails_below=lo)])
               if verdicts.decidable(t) else verdicts.INCONCLUSIVE)
    return ClaimResult(claim_id="sn22-C7", verdict=verdict, effect=mean_k,
                       effect_description="mean shots k at which transfer first matches MAML SNN 1-shot "
                                          "(max k + 1 when never)",
                       test=f"paired t-test MAML 1-shot − transfer 1-shot > 0, and mean crossing k >= {hi:g} "
                            f"(paper: ~9-10); 'does not hold' if transfer wins at 1 shot or crosses at k < {lo:g}",
                       p_value=t.p_value, ci95_low=t.ci95_low, ci95_high=t.ci95_high, n_seeds=t.n, n_tasks=None,
                       scale=site.scale, data_source=site.source(datasets), table=site.table, figure=site.figure,
                       note=f"per-seed crossings {crossings}; MAML − transfer at 1 shot {t.effect:.3g} points")


# --------------------------------------------------------------------------- tables and figures
def _site(tid: str, scale: str, sources: Mapping[str, DataSource], figures_dir: Path) -> ClaimSite:
    return ClaimSite(scale=scale, sources=sources, table=tid, figure=str(Path(figures_dir) / f"{tid}.png"))


def table2(runs: Runs, margins: Margins, *, scale: str, sources: Mapping[str, DataSource], tables_dir: Path,
           figures_dir: Path) -> list[ClaimResult]:
    site = _site(TABLE2, scale, sources, figures_dir)
    ms, acc = [], defaultdict(dict)  # acc[(method, dataset, split)][seed]
    for (method, dataset), by_seed in sorted(runs.evals.items()):
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
    write_comparison_table(TABLE2, ms, scale=scale, sources=sources, out_dir=tables_dir,
                           caption="Accuracy in %. `sn22_statistic_std_repeats`: sn22's own ± — the std of the mean "
                                   "accuracy over `n_repeats` evaluation repeats of one model (disjoint task blocks), "
                                   "averaged over seeds; `reproduced_std` is the std over seeds.",
                           notes=TABLE2_COST_NOTES)
    with figure(site.figure, ncols=2, width=4.2, title="sn22 Table 2: 1-shot 5-way meta-test accuracy") as (_, axes):
        for ax, dataset in zip(np.ravel(axes), DATASETS, strict=False):
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
    return [claim_c1(acc, site), claim_c2(acc, margins.noninferiority, site)]


def _maml_snn_rows(by: Mapping[tuple[str, int], PerSeed], pooled: Mapping[tuple[str, int], list[float]],
                   setting: str) -> list[Measurement]:
    """A table row per (dataset, value of ``setting``) of the MAML SNN variants: per-seed and pooled per-task accuracy."""
    return [Measurement(key={"dataset": d, "method": "maml_snn", setting: k},
                        per_seed=[v[s] for s in sorted(v)], per_task=pooled.get((d, k)) or None)
            for (d, k), v in sorted(by.items())]


def fig3(runs: Runs, *, scale: str, sources: Mapping[str, DataSource], tables_dir: Path,
         figures_dir: Path) -> list[ClaimResult]:
    site = _site(FIG3, scale, sources, figures_dir)
    by = defaultdict(dict)  # (dataset, steps) -> seed -> acc
    pooled = defaultdict(list)
    for r in runs.inner:
        for k, a, tasks in zip(r["steps"], r["acc_mean"], (r["per_task"][str(k)] for k in r["steps"]), strict=True):
            by[(r["dataset"], k)][r["seed"]] = a * 100
            pooled[(r["dataset"], k)] += [t * 100 for t in tasks]
    ms = _maml_snn_rows(by, pooled, "inner_steps")
    write_comparison_table(FIG3, ms, scale=scale, sources=sources, out_dir=tables_dir,
                           caption="MAML SNN meta-test accuracy (%) with k inner SGD steps at test time "
                                   "(meta-trained with the training value).")
    if not ms:
        placeholder_figure(site.figure, "no inner-step results")
        return [claim_c3(by, site)]
    with figure(site.figure, title="sn22 Fig 3: accuracy vs inner steps at test") as (_, ax):
        for d in sorted({d for d, _ in by}):
            ks = sorted(k for dd, k in by if dd == d)
            means = [np.mean(list(by[(d, k)].values())) for k in ks]
            ci = [ci95_mean(pooled[(d, k)]) for k in ks]
            ax.plot(ks, means, marker="o", label=d)
            ax.fill_between(ks, [c[0] for c in ci], [c[1] for c in ci], alpha=0.2)
        ax.set_xlabel("inner steps at test")
        ax.set_ylabel("meta-test accuracy (%)")
        ax.legend()
    return [claim_c3(by, site)]


def fig4(runs: Runs, margins: Margins, *, scale: str, sources: Mapping[str, DataSource], tables_dir: Path,
         figures_dir: Path) -> list[ClaimResult]:
    site = _site(FIG4, scale, sources, figures_dir)
    by = defaultdict(dict)
    pooled = defaultdict(list)
    datasets = sorted({m["dataset"] for m in runs.frozen})
    for d in datasets:
        for s, m in runs.evals.get(("maml_snn", d), {}).items():
            by[(d, 0)][s] = m["test_acc_mean"] * 100
            pooled[(d, 0)] += _per_task(m["_path"], "test")
    for m in runs.frozen:
        by[(m["dataset"], m["frozen_layers"])][m["seed"]] = m["test_acc_mean"] * 100
        pooled[(m["dataset"], m["frozen_layers"])] += _per_task(m["_path"], "test")
    ms = _maml_snn_rows(by, pooled, "frozen_layers")
    write_comparison_table(FIG4, ms, scale=scale, sources=sources, out_dir=tables_dir,
                           caption="MAML SNN meta-test accuracy (%) when the first k layers are not adapted in the "
                                   "inner loop (meta-trained and tested that way; k = 0 is the main MAML SNN run).")
    if not runs.frozen:
        placeholder_figure(site.figure, "no frozen-layer results")
        return [claim_c4(by, margins.frozen, site)]
    with figure(site.figure, title="sn22 Fig 4: accuracy vs frozen layers") as (_, ax):
        for d in datasets:
            ks = sorted(k for dd, k in by if dd == d)
            ax.errorbar(ks, [np.mean(list(by[(d, k)].values())) for k in ks],
                        yerr=[np.std(list(by[(d, k)].values()), ddof=1) if len(by[(d, k)]) > 1 else 0 for k in ks],
                        marker="o", capsize=3, label=d)
        ax.set_xlabel("layers frozen in the inner loop")
        ax.set_ylabel("meta-test accuracy (%)")
        ax.legend()
    return [claim_c4(by, margins.frozen, site)]


def table3(runs: Runs, *, scale: str, sources: Mapping[str, DataSource], tables_dir: Path,
           figures_dir: Path) -> list[ClaimResult]:
    site = _site(TABLE3, scale, sources, figures_dir)
    d = UPDATE_DATASET
    vals = defaultdict(dict)  # (update, stat) -> seed -> value
    within_std = defaultdict(list)
    for s, c in runs.curves.get(("maml_snn", d), {}).items():
        for st in ("avg", "sum", "max"):
            v = c.get(f"out_update_{st}")
            if v is not None and v.size:
                vals[("maml_outer", st)][s] = float(v.mean())
                within_std[("maml_outer", st)].append(float(v.std(ddof=1)) if v.size > 1 else 0.0)
    for s, m in runs.evals.get(("maml_snn", d), {}).items():
        for st in ("avg", "sum", "max"):
            vals[("maml_inner", st)][s] = m[f"test_inner_update_{st}"]
            within_std[("maml_inner", st)].append(m[f"test_inner_update_{st}_std"])
    for r in runs.transfer:
        if r["dataset"] != d:
            continue
        for st in ("avg", "sum", "max"):
            v = np.asarray(r["nonmeta_update"][st])
            vals[("non_meta", st)][r["seed"]] = float(v.mean())
            within_std[("non_meta", st)].append(float(v.std(ddof=1)) if v.size > 1 else 0.0)
    ms = [Measurement(key={"update": u, "statistic": st}, per_seed=[v[s] for s in sorted(v)], datasets=(d,),
                      extra={"std_over_updates": float(np.mean(within_std[(u, st)])) if within_std[(u, st)] else None})
          for (u, st), v in sorted(vals.items())]
    write_comparison_table(TABLE3, ms, scale=scale, sources=sources, out_dir=tables_dir,
                           caption="|Δw| of the output layer's weights on Double N-MNIST: MAML outer = one Adam "
                                   "meta-update, MAML inner = the first inner SGD step on a test task, non-meta = one "
                                   "Adam step of the 64-way pretraining (transfer baseline). `std_over_updates` is the "
                                   "spread over updates within a run (the paper's ±), averaged over seeds.")
    if not vals:
        placeholder_figure(site.figure, "no update-magnitude data")
        return [claim_c5(vals, site)]
    with figure(site.figure, title="sn22 Table 3: output-layer |Δw| (avg)") as (_, ax):
        names = [u for u in ("maml_outer", "maml_inner", "non_meta") if (u, "avg") in vals]
        ax.bar(names, [np.mean(list(vals[(u, "avg")].values())) for u in names], color="tab:green")
        ax.set_yscale("log")
        ax.set_ylabel("mean |Δw| per update")
    return [claim_c5(vals, site)]


def fig5(runs: Runs, margins: Margins, *, scale: str, sources: Mapping[str, DataSource], tables_dir: Path,
         figures_dir: Path) -> list[ClaimResult]:
    site = _site(FIG5, scale, sources, figures_dir)
    quantities = {"accuracy": ("test_acc_mean", 100.0), "nonzero_updates": ("test_nonzero_updates_mean", 1.0),
                  "mean_nonzero_magnitude": ("test_nonzero_update_mean_abs", 1.0)}
    vals = defaultdict(dict)
    pooled = defaultdict(list)  # accuracy rows: 95% CI over the pooled meta-test tasks
    datasets = sorted({m["dataset"] for m in runs.thresholded})
    for d in datasets:
        for variant, by_seed in (("full", runs.evals.get(("maml_snn", d), {})),
                                 ("thresholded", {m["seed"]: m for m in runs.thresholded if m["dataset"] == d})):
            for s, m in sorted(by_seed.items()):
                for q, (key, mul) in quantities.items():
                    vals[(d, variant, q)][s] = m[key] * mul
                pooled[(d, variant, "accuracy")] += _per_task(m["_path"], "test")
    ms = [Measurement(key={"dataset": d, "variant": v, "quantity": q}, per_seed=[x[s] for s in sorted(x)],
                      per_task=pooled.get((d, v, q)) or None)
          for (d, v, q), x in sorted(vals.items())]
    write_comparison_table(FIG5, ms, scale=scale, sources=sources, out_dir=tables_dir,
                           caption="Full vs thresholded inner updates (sn22 Eq. 6, Θ = fraction of the update range): "
                                   "meta-test accuracy (%), non-zero weight updates per task, mean |Δw| of the non-zero "
                                   "updates.")
    if not runs.thresholded:
        placeholder_figure(site.figure, "no thresholded-update results")
        return [claim_c6(vals, margins.noninferiority, site)]
    with figure(site.figure, title="sn22 Fig 5: non-zero inner-update magnitudes (meta-test)") as (_, ax):
        for variant, paths in (("full", [m["_path"] for d in datasets
                                         for m in runs.evals.get(("maml_snn", d), {}).values()]),
                               ("thresholded", [m["_path"] for m in runs.thresholded])):
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
    return [claim_c6(vals, margins.noninferiority, site)]


def fig6(runs: Runs, margins: Margins, *, scale: str, sources: Mapping[str, DataSource], tables_dir: Path,
         figures_dir: Path) -> list[ClaimResult]:
    site = _site(FIG6, scale, sources, figures_dir)
    vals, pooled = defaultdict(dict), defaultdict(list)
    datasets = sorted({r["dataset"] for r in runs.transfer})
    for r in runs.transfer:
        for k, a in zip(r["shots"], r["acc_mean"], strict=True):
            vals[(r["dataset"], "transfer", k)][r["seed"]] = a * 100
            pooled[(r["dataset"], "transfer", k)] += [x * 100 for x in r["per_task"][str(k)]]
    for d in datasets:
        for s, m in runs.evals.get(("maml_snn", d), {}).items():
            vals[(d, "maml_snn", 1)][s] = m["test_acc_mean"] * 100
            pooled[(d, "maml_snn", 1)] += _per_task(m["_path"], "test")
    ms = [Measurement(key={"dataset": d, "method": meth, "shots": k}, per_seed=[v[s] for s in sorted(v)],
                      per_task=pooled[(d, meth, k)] or None) for (d, meth, k), v in sorted(vals.items())]
    write_comparison_table(FIG6, ms, scale=scale, sources=sources, out_dir=tables_dir,
                           caption="Transfer learning (64-way pretraining, new output layer trained on k shots per "
                                   "class, conv stack frozen) vs MAML SNN at 1 shot; meta-test accuracy (%).")
    if not runs.transfer:
        placeholder_figure(site.figure, "no transfer results")
        return [claim_c7(vals, margins, site)]
    with figure(site.figure, title="sn22 Fig 6: transfer learning vs MAML (1 shot)") as (_, ax):
        for d in datasets:
            ks = sorted(k for dd, meth, k in vals if dd == d and meth == "transfer")
            ax.plot(ks, [np.mean(list(vals[(d, "transfer", k)].values())) for k in ks], marker="o", label=f"transfer {d}")
            if (d, "maml_snn", 1) in vals:
                ax.axhline(np.mean(list(vals[(d, "maml_snn", 1)].values())), ls="--", label=f"MAML SNN 1-shot {d}")
        ax.set_xlabel("shots k")
        ax.set_ylabel("meta-test accuracy (%)")
        ax.legend(fontsize=7)
    return [claim_c7(vals, margins, site)]


def _finite(claims: list[ClaimResult]) -> list[ClaimResult]:
    """Claims with non-finite numbers stored as null (strict JSON)."""
    for c in claims:
        for f in ("effect", "p_value", "ci95_low", "ci95_high"):
            v = getattr(c, f)
            if isinstance(v, float) and not math.isfinite(v):
                setattr(c, f, None)
    return claims


def write_sn22(runs: Runs, margins: Margins, *, scale: str, sources: Mapping[str, DataSource], tables_dir: Path,
               figures_dir: Path) -> dict[str, list[ClaimResult]]:
    """Write every sn22 table, figure and ``<id>.claims.json``; return the claims by table id."""
    tables_dir, figures_dir = Path(tables_dir), Path(figures_dir)
    tables_dir.mkdir(parents=True, exist_ok=True)
    figures_dir.mkdir(parents=True, exist_ok=True)
    where = {"scale": scale, "sources": sources, "tables_dir": tables_dir, "figures_dir": figures_dir}
    claims = {TABLE2: table2(runs, margins, **where), FIG3: fig3(runs, **where), FIG4: fig4(runs, margins, **where),
              TABLE3: table3(runs, **where), FIG5: fig5(runs, margins, **where), FIG6: fig6(runs, margins, **where)}
    for tid, found in claims.items():
        write_claims(tables_dir / f"{tid}.claims.json", _finite(found))
    return claims
