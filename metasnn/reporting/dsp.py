"""dsp tables, figures and claims from the dsp_train / dsp_beta_sweep runs.

dsp_table1_methods (STDP / STBP / EIHL (approximate) / dsp few-shot accuracy per meta-dataset, with
cost columns), dsp_table3_fixed_vs_dynamic (accuracy and convergence step, fixed vs meta-learned η),
dsp_fig4_eta_hist (distribution of the learned η_ij with summary statistics), dsp_fig5_beta_sweep
(accuracy vs meta learning rate β). Claims dsp-C1, C2, C4 are tested over (dataset, seed) pairs, dsp-C3
once per swept dataset (one record each), by the rules of :mod:`metasnn.reporting.verdicts`; the
claim builders (``claim_c1`` … ``claim_c4``) take per-seed values, so each can be checked on
constructed inputs.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metasnn.data.sources import DataSource
from metasnn.evaluation.cost import COST_COLUMNS
from metasnn.evaluation.statistics import one_sample_test, paired_test
from metasnn.reporting import verdicts
from metasnn.reporting.claims import ClaimResult, ClaimSite, claim_from_test, not_run_claim, write_claims
from metasnn.reporting.figures import figure
from metasnn.reporting.tables import Measurement, write_comparison_table
from metasnn.reporting.verdicts import Part

TABLE1, TABLE3 = "dsp_table1_methods", "dsp_table3_fixed_vs_dynamic"
FIG4, FIG5 = "dsp_fig4_eta_hist", "dsp_fig5_beta_sweep"
TABLE_IDS = (TABLE1, TABLE3, FIG4, FIG5)
LABELS = {"stdp": "STDP", "stbp": "STBP", "eihl": "EIHL (approximate)", "dsp": "dsp"}
ORDER = ("stdp", "stbp", "eihl", "dsp")  # dsp-C4: dsp > EIHL > STBP > STDP
EIHL_NOTE = "EIHL approximate (no public code): gradient phases alternating with contraction+pruning phases"
ETA_STATS = ("eta_mean", "eta_std", "eta_cv", "eta_min", "eta_q05", "eta_q25", "eta_median", "eta_q75", "eta_q95",
             "eta_max", "eta_negative_fraction")

RunsBy = Mapping[tuple[str, str], Mapping[int, Mapping[str, Any]]]  # (method, dataset) -> seed -> metrics


@dataclass
class Runs:
    """The dsp_train runs by (method, dataset) and the β-sweep runs by (dataset, β), each seed -> metrics."""

    runs: dict[tuple[str, str], dict[int, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
    sweep: dict[tuple[str, float], dict[int, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))

    @property
    def datasets(self) -> list[str]:
        return sorted({d for (_, d) in self.runs})

    @property
    def seeds(self) -> list[int]:
        return sorted({s for v in self.runs.values() for s in v})


def _load(metrics_file: Path) -> dict[str, Any]:
    run_dir = Path(metrics_file).parent
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics["task_acc"] = json.loads((run_dir / "tasks.json").read_text())["test_task_acc"]
    metrics["dir"] = run_dir
    return metrics


def load_runs(runs: Sequence[Path], sweep: Sequence[Path] = (), sweep_datasets: Sequence[str] = ()) -> Runs:
    """Read the runs (metrics.json with tasks.json beside it). The main dsp runs of ``sweep_datasets`` are also
    the sweep's point at β = dsp.beta."""
    out = Runs()
    for p in runs:
        m = _load(p)
        out.runs[(m["method"], m["dataset"])][int(m["seed"])] = m
    for p in sweep:
        m = _load(p)
        out.sweep[(m["dataset"], float(m["beta"]))][int(m["seed"])] = m
    for (method, d), per in out.runs.items():
        if method == "dsp" and d in sweep_datasets:
            for seed, m in per.items():
                out.sweep[(d, float(m["beta"]))].setdefault(seed, m)
    return out


def _pairs(runs: RunsBy, a: str, b: str, key: str, datasets: Sequence[str]) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for d in datasets:
        for seed in sorted(set(runs.get((a, d), {})) & set(runs.get((b, d), {}))):
            xs.append(float(runs[(a, d)][seed][key]))
            ys.append(float(runs[(b, d)][seed][key]))
    return xs, ys


def _fmt_test(name: str, t) -> str:
    return f"{name}: effect {t.effect:.3g}, p = {t.p_value:.3g}, n = {t.n}"


def composite_claim(claim_id: str, parts: Sequence[Part], *, effect_description: str, data_source: str,
                    site: ClaimSite, note: str = "") -> ClaimResult:
    """An all-of claim (:func:`metasnn.reporting.verdicts.combine`), reported with its deciding part: effect
    and CI in the claimed direction, and every part's test and verdict in the note."""
    verdict, deciding = verdicts.combine(parts)
    test, direction = deciding.test, deciding.direction
    detail = "; ".join(f"{_fmt_test(p.name, p.test)} → {p.verdict}" for p in parts)
    return ClaimResult(
        claim_id=claim_id, verdict=verdict, effect=direction * test.effect,
        effect_description=f"{effect_description}; deciding test: {deciding.name}", test=test.test,
        p_value=test.p_value, ci95_low=direction * (test.ci95_low if direction > 0 else test.ci95_high),
        ci95_high=direction * (test.ci95_high if direction > 0 else test.ci95_low),
        n_seeds=test.n, n_tasks=None, scale=site.scale, data_source=data_source, table=site.table, figure=site.figure,
        note="; ".join(x for x in (detail, note) if x))


def _site(tid: str, scale: str, sources: Mapping[str, DataSource]) -> ClaimSite:
    return ClaimSite(scale=scale, sources=sources, table=tid, figure=f"results/figures/{tid}.png")


# --------------------------------------------------------------------------- claims (constructed-input testable)
def claim_c4(runs: RunsBy, datasets: Sequence[str], site: ClaimSite) -> ClaimResult:
    """dsp-C4 (dsp > EIHL > STBP > STDP): all-of three sign rules on the paired (dataset, seed) accuracy
    differences of neighbouring methods. ``runs[(method, dataset)][seed]["test_acc"]`` (fraction)."""
    parts = []
    for hi, lo in (("dsp", "eihl"), ("eihl", "stbp"), ("stbp", "stdp")):
        a, b = _pairs(runs, hi, lo, "test_acc", datasets)
        parts.append(verdicts.sign_part(f"{LABELS[hi]} − {LABELS[lo]}",
                                        paired_test([100 * v for v in a], [100 * v for v in b]), +1))
    return composite_claim("dsp-C4", parts, effect_description="accuracy difference (points), paired over (dataset, seed)",
                           data_source=site.source(datasets), site=site, note=EIHL_NOTE)


def claim_c1(runs: RunsBy, datasets: Sequence[str], site: ClaimSite) -> ClaimResult:
    """dsp-C1 (meta-learned η beats fixed η: more accurate and faster to converge): all-of two sign rules,
    paired over (dataset, seed). ``runs[(method, dataset)][seed]`` with ``test_acc`` and ``convergence_step``
    for methods ``dsp`` and ``dsp_fixed``."""
    acc_a, acc_b = _pairs(runs, "dsp", "dsp_fixed", "test_acc", datasets)
    conv_a, conv_b = _pairs(runs, "dsp_fixed", "dsp", "convergence_step", datasets)
    parts = [verdicts.sign_part("accuracy dynamic − fixed (points)",
                                paired_test([100 * v for v in acc_a], [100 * v for v in acc_b]), +1),
             verdicts.sign_part("convergence step fixed − dynamic", paired_test(conv_a, conv_b), +1)]
    return composite_claim("dsp-C1", parts, effect_description="paired over (dataset, seed)",
                           data_source=site.source(datasets), site=site)


def claim_c2(cvs: Sequence[float], heterogeneity_cv: float, datasets: Sequence[str], site: ClaimSite) -> ClaimResult:
    """dsp-C2 (the learned η_ij are heterogeneous): sign rule on CV(η) − ``heterogeneity_cv`` over (dataset, seed)."""
    return claim_from_test("dsp-C2", one_sample_test(cvs, heterogeneity_cv), direction=+1,
                           effect_description=f"CV of learned η_ij minus {heterogeneity_cv:g} (over (dataset, seed))",
                           scale=site.scale, data_source=site.source(datasets), table=site.table, figure=site.figure,
                           note=f"heterogeneous = coefficient of variation above {heterogeneity_cv:g} "
                                "(η starts uniform: CV 0)")


def claim_c3(dataset: str, sweep: Mapping[float, Mapping[int, Mapping[str, Any]]], site: ClaimSite) -> ClaimResult:
    """dsp-C3 on one dataset (accuracy peaks at an intermediate β): the interior-optimum rule on the seeds every
    β has. ``sweep[beta][seed]["test_acc"]`` (fraction)."""
    betas = sorted(sweep)
    seeds = sorted(set.intersection(*[set(sweep[b]) for b in betas]))
    acc = {b: [100 * sweep[b][s]["test_acc"] for s in seeds] for b in betas}
    res = verdicts.interior_optimum(acc, label="β {a:g} − β {b:g} (points)")
    desc = f"on {dataset}; best β = {res.best:g} (highest mean accuracy; selection on the same runs)"
    src = site.source([dataset])
    if res.interior:
        return composite_claim("dsp-C3", res.parts, effect_description=f"accuracy at the best β minus each end {desc}",
                               data_source=src, site=site)
    if not res.parts:
        return ClaimResult("dsp-C3", "inconclusive", None, desc, "", None, None, None, len(seeds), None, site.scale,
                           src, site.table, site.figure, note="fewer than 3 β values")
    claim = claim_from_test("dsp-C3", res.parts[0].test, direction=+1, scale=site.scale, data_source=src,
                            table=site.table, figure=site.figure,
                            effect_description=f"accuracy best interior β {res.best_interior:g} − end β {res.best:g} "
                                               f"(points) {desc}")
    if claim.verdict == "inconclusive":
        claim.note = "the best mean accuracy is at an end of the β range"
    return claim


# --------------------------------------------------------------------------- tables and figures
def table1(r: Runs, *, scale: str, sources: Mapping[str, DataSource], tables_dir: Path, figures_dir: Path) -> ClaimResult:
    runs, datasets = r.runs, r.datasets
    t1 = []
    for d in datasets:
        for method in ORDER:
            per = runs.get((method, d))
            if not per:
                continue
            first = per[min(per)]
            extra = {c: first.get(c) for c in COST_COLUMNS}
            t1.append(Measurement(key={"dataset": d, "method": LABELS[method]},
                                  per_seed=[100 * per[s]["test_acc"] for s in sorted(per)],
                                  per_task=[100 * a for s in sorted(per) for a in per[s]["task_acc"]],
                                  extra=extra, note=EIHL_NOTE if method == "eihl" else ""))
    write_comparison_table(TABLE1, t1, scale=scale, sources=sources, out_dir=tables_dir,
                           caption="1-shot 5-way meta-test accuracy (%) on the same tasks for every method; "
                                   "cost columns measured on one query batch of seed 0 (the task-time network).",
                           notes=[EIHL_NOTE, "paper numbers are CIFAR (ResNet) and out of scope: reference only"])
    with figure(figures_dir / f"{TABLE1}.png", width=6.0, title="dsp Table 1 — few-shot accuracy") as (_, ax):
        width = 0.8 / max(1, len(datasets))
        for i, d in enumerate(datasets):
            means = [np.mean([100 * r["test_acc"] for r in runs.get((m, d), {}).values()] or [math.nan]) for m in ORDER]
            stds = [np.std([100 * r["test_acc"] for r in runs.get((m, d), {}).values()] or [math.nan]) for m in ORDER]
            ax.bar(np.arange(len(ORDER)) + i * width, means, width, yerr=stds, label=d, capsize=3)
        ax.set_xticks(np.arange(len(ORDER)) + width * (len(datasets) - 1) / 2, [LABELS[m] for m in ORDER])
        ax.axhline(100 / 5, color="grey", ls=":", lw=1)
        ax.set_ylabel("meta-test accuracy (%)")
        ax.legend()
    return claim_c4(runs, datasets, _site(TABLE1, scale, sources))


def table3(r: Runs, *, scale: str, sources: Mapping[str, DataSource], tables_dir: Path, figures_dir: Path) -> ClaimResult:
    runs, datasets = r.runs, r.datasets
    t3 = []
    for variant, method in (("fixed_eta", "dsp_fixed"), ("dynamic_eta", "dsp")):
        for d in datasets:
            per = runs.get((method, d))
            if not per:
                continue
            t3.append(Measurement(key={"variant": variant, "metric": f"accuracy_pct:{d}"},
                                  per_seed=[100 * per[s]["test_acc"] for s in sorted(per)],
                                  per_task=[100 * a for s in sorted(per) for a in per[s]["task_acc"]],
                                  extra={"dataset": d, "outer_steps": per[min(per)].get("outer_steps")}, datasets=(d,)))
            t3.append(Measurement(key={"variant": variant, "metric": f"convergence_step:{d}"},
                                  per_seed=[per[s]["convergence_step"] for s in sorted(per)],
                                  extra={"dataset": d, "outer_steps": per[min(per)].get("outer_steps")}, datasets=(d,)))
    write_comparison_table(
        TABLE3, t3, scale=scale, sources=sources, out_dir=tables_dir,
        caption="Fixed η (η_ij = eta_init, not meta-learned; w_0 still meta-learned) vs meta-learned η_ij. "
                "Convergence step: first outer step at which the 10-step moving average of the meta-training "
                "query accuracy reaches 95% of its maximum (the paper reports epochs on CIFAR).",
        notes=["paper rows (accuracy_pct, convergence_epoch) are CIFAR numbers, not run here (reference only)"])
    claim = claim_c1(runs, datasets, _site(TABLE3, scale, sources))
    with figure(figures_dir / f"{TABLE3}.png", ncols=len(datasets) or 1, width=4.0,
                title="dsp Table 3 — meta-training curves, fixed vs meta-learned η") as (_, axes):
        axes = np.asarray(axes).ravel()
        for ax, d in zip(axes, datasets, strict=False):
            for method, label in (("dsp_fixed", "fixed η"), ("dsp", "meta-learned η")):
                curves = [_curve_acc(r["dir"]) for r in runs.get((method, d), {}).values()]
                curves = [c for c in curves if c.size]
                if curves:
                    n = min(c.size for c in curves)
                    mean = np.mean([c[:n] for c in curves], axis=0)
                    w = min(10, n)
                    ax.plot(np.arange(w - 1, n), np.convolve(mean, np.ones(w) / w, mode="valid"), label=label)
            ax.set_title(d)
            ax.set_xlabel("outer step")
            ax.set_ylabel("query accuracy (moving avg)")
            ax.legend()
    return claim


def fig4(r: Runs, heterogeneity_cv: float, *, scale: str, sources: Mapping[str, DataSource], tables_dir: Path,
         figures_dir: Path) -> ClaimResult:
    runs, datasets = r.runs, r.datasets
    f4, cvs = [], []
    for d in datasets:
        per = runs.get(("dsp", d), {})
        for stat in ETA_STATS:
            if per:
                f4.append(Measurement(key={"dataset": d, "statistic": stat.removeprefix("eta_")},
                                      per_seed=[per[s][stat] for s in sorted(per)]))
        cvs += [per[s]["eta_cv"] for s in sorted(per)]
    write_comparison_table(FIG4, f4, scale=scale, sources=sources, out_dir=tables_dir,
                           caption="Summary statistics of the meta-learned per-synapse learning rates η_ij of the "
                                   "plastic output layer (mean ± std over seeds of each statistic).")
    claim = claim_c2(cvs, heterogeneity_cv, [d for d in datasets if runs.get(("dsp", d))],
                     _site(FIG4, scale, sources))
    with figure(figures_dir / f"{FIG4}.png", ncols=len(datasets) or 1, width=4.0,
                title="dsp Fig 4 — learned η_ij (all seeds)") as (_, axes):
        axes = np.asarray(axes).ravel()
        for ax, d in zip(axes, datasets, strict=False):
            learned = [_learned_eta(r["dir"]) for r in runs.get(("dsp", d), {}).values()]
            if learned:
                ax.hist(np.concatenate([values for values, _ in learned]), bins=50, color="C0")
                ax.axvline(learned[0][1], color="k", ls="--", lw=1, label="η at init")
                ax.legend()
            ax.set_title(d)
            ax.set_xlabel("η_ij")
            ax.set_ylabel("synapses")
    return claim


def fig5(r: Runs, *, scale: str, sources: Mapping[str, DataSource], tables_dir: Path,
         figures_dir: Path) -> list[ClaimResult]:
    """The β sweep table and figure; one dsp-C3 record per swept dataset."""
    sweep = r.sweep
    f5 = []
    by_dataset: dict[str, list[float]] = defaultdict(list)
    for (d, beta) in sorted(sweep):
        per = sweep[(d, beta)]
        by_dataset[d].append(beta)
        f5.append(Measurement(key={"dataset": d, "beta": f"{beta:g}"},
                              per_seed=[100 * per[s]["test_acc"] for s in sorted(per)],
                              per_task=[100 * a for s in sorted(per) for a in per[s]["task_acc"]]))
    write_comparison_table(FIG5, f5, scale=scale, sources=sources, out_dir=tables_dir,
                           caption="1-shot 5-way meta-test accuracy (%) of dsp vs the meta learning rate β.",
                           notes=["paper: optimum near β = 1e-3 on CIFAR (reference only)"])
    site = _site(FIG5, scale, sources)
    claims = [claim_c3(d, {b: sweep[(d, b)] for b in betas}, site) for d, betas in by_dataset.items()]
    if not claims:
        claims = [not_run_claim("dsp-C3", table=FIG5, scale=scale, data_source=site.source(), why="no beta-sweep runs")]
    with figure(figures_dir / f"{FIG5}.png", title="dsp Fig 5 — accuracy vs meta learning rate β") as (_, ax):
        for d, betas in by_dataset.items():
            means = [100 * np.mean([r["test_acc"] for r in sweep[(d, b)].values()]) for b in betas]
            stds = [100 * np.std([r["test_acc"] for r in sweep[(d, b)].values()]) for b in betas]
            ax.errorbar(betas, means, yerr=stds, marker="o", capsize=3, label=d)
        ax.set_xscale("log")
        ax.set_xlabel("β (meta learning rate)")
        ax.set_ylabel("meta-test accuracy (%)")
        ax.legend()
    return claims


def write_dsp(r: Runs, *, heterogeneity_cv: float, scale: str, sources: Mapping[str, DataSource], tables_dir: Path,
              figures_dir: Path) -> dict[str, list[ClaimResult]]:
    """Write every dsp table, figure and ``<id>.claims.json``; return the claims by table id."""
    tables_dir, figures_dir = Path(tables_dir), Path(figures_dir)
    tables_dir.mkdir(parents=True, exist_ok=True)
    figures_dir.mkdir(parents=True, exist_ok=True)
    where = {"scale": scale, "sources": sources, "tables_dir": tables_dir, "figures_dir": figures_dir}
    claims = {TABLE1: [table1(r, **where)], TABLE3: [table3(r, **where)], FIG4: [fig4(r, heterogeneity_cv, **where)],
              FIG5: fig5(r, **where)}
    for tid, found in claims.items():
        write_claims(tables_dir / f"{tid}.claims.json", found)
    return claims


def _curve_acc(run_dir: Path) -> np.ndarray:
    lines = (run_dir / "curve.csv").read_text().splitlines()
    if len(lines) < 2:
        return np.zeros(0)
    header = lines[0].split(",")
    col = header.index("acc")
    return np.array([float(line.split(",")[col]) for line in lines[1:]])


def _learned_eta(run_dir: Path) -> tuple[np.ndarray, float]:
    """The learned η_ij of the dsp run in ``run_dir`` (its model.pt, :mod:`metasnn.model_file`) and η at init."""
    from metasnn.model_file import read_model

    record, state = read_model(run_dir)
    return state["eta"].double().flatten().numpy(), float(record.config["eta_init"])
