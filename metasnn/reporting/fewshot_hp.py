"""wu22_fewshot_hp: table and figure of HP few-shot accuracy from the ``wu22_fewshot_hp`` run records.

Meta-val / meta-test accuracy on each meta-dataset, mean ± std over seeds with a 95% CI over test
tasks and the cost columns (metasnn.evaluation.cost) of the trained model, beside sn22's MAML SNN
numbers of the same run (read from ``sn22_table2_fewshot.csv`` when the sn22 stage produced it). An
sn22 number is put beside an HP row only when it was measured on the same data (its ``data_source``
cell equals the HP row's); otherwise the notes say why it is missing.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from metasnn.data.sources import DataSource, describe
from metasnn.evaluation.cost import mean_columns
from metasnn.reporting.figures import figure
from metasnn.reporting.tables import Measurement, row_sources, write_comparison_table

TABLE = "wu22_fewshot_hp"
LABELS = {"double_nmnist": "Double N-MNIST", "double_asldvs": "Double ASL-DVS"}
SPLITS = {"val": "meta-val", "test": "meta-test"}
NOTES = [
    "HP few-shot: conv features on time-summed frames + plastic output layer; label clamped onto the output during "
    "the support presentation; meta-trained with one joint gradient for weights and θ (wu22 code's update); 95% CI "
    "over all test tasks of all seeds.",
    "Cost columns (metasnn.evaluation.cost, per query sample, mean over seeds): the query pass of meta-test episode 0 "
    "with the trace its support left; they count the conv features' and the readout's W·x operations (MACs: tanh "
    "features are not spikes); the plastic current α·(x@P) and the Hebbian update are not included. "
    "activation_sparsity: the readout's spikes; state_bytes: the readout neurons' U, Q, P, R, S per query — the "
    "episode's Hebbian trace P (features × ways, shared by the queries) is not included.",
]


@dataclass(frozen=True)
class SN22Row:
    """One reproduced row of sn22_table2_fewshot."""

    mean: float
    std: float
    data_source: str


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


def sn22_rows(paths: Sequence[Path]) -> dict[tuple[str, str, str], SN22Row]:
    """``(dataset_key, split, method) -> SN22Row`` from sn22's comparison table, if present."""
    out: dict[tuple[str, str, str], SN22Row] = {}
    for path in paths:
        if not Path(path).is_file():
            continue
        with Path(path).open(newline="") as fh:
            for row in csv.DictReader(fh):
                if not row.get("reproduced_mean"):
                    continue
                ds = next((k for k in LABELS if _norm(k) in _norm(row.get("dataset", ""))
                           or _norm(LABELS[k]) in _norm(row.get("dataset", ""))), None)
                split_text = _norm(row.get("split", ""))
                split = "val" if "val" in split_text else "test" if "test" in split_text else None
                if ds and split:
                    std = float(row["reproduced_std"]) if row.get("reproduced_std") else float("nan")
                    out[(ds, split, row.get("method", ""))] = SN22Row(float(row["reproduced_mean"]), std,
                                                                      row.get("data_source") or "")
    return out


def write_fewshot_hp(results: Sequence[Mapping[str, Any]], sn22: Mapping[tuple[str, str, str], SN22Row], *,
                     scale: str, sources: Mapping[str, DataSource], tables_dir: Path, figures_dir: Path) -> list[str]:
    """Write the table and figure; return the table's notes."""
    by_ds: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for r in results:
        by_ds[r["dataset"]].append(r)
    measurements, used, mismatched = [], False, set()
    for ds in sorted(by_ds):
        runs = sorted(by_ds[ds], key=lambda r: r["seed"])
        label = describe(row_sources({}, sources, [ds]))
        for split, split_label in SPLITS.items():
            extra = {"episodes": runs[0]["episodes"], "ways": runs[0]["ways"], "shots": runs[0]["shots"],
                     "learned_alpha": float(np.mean([r["alpha"] for r in runs])),
                     **mean_columns(r.get("cost", {}) for r in runs)}
            for (d, s, method), row in sorted(sn22.items()):
                if d != ds or s != split:
                    continue
                if row.data_source and row.data_source != label:
                    mismatched.add(f"{LABELS.get(ds, ds)}: sn22 ran on {row.data_source}, HP on {label}")
                    continue
                extra[f"sn22_{_norm(method)}_mean"] = row.mean
                extra[f"sn22_{_norm(method)}_std"] = row.std
                used = True
            measurements.append(Measurement(
                key={"dataset": LABELS.get(ds, ds), "method": "HP (plastic readout)", "split": split_label},
                per_seed=[100 * r[f"{split}_acc"] for r in runs], datasets=[ds],
                per_task=[100 * a for r in runs for a in r[f"{split}_task_acc"]], extra=extra))
    notes = list(NOTES)
    if not sn22:
        notes.append("sn22 MAML numbers: not available in this run (no sn22_table2_fewshot table was produced).")
    elif used:
        notes.append("sn22 columns: reproduced mean / std of sn22_table2_fewshot from the same run and data.")
    notes += [f"sn22 columns left out, different data ({m})" for m in sorted(mismatched)]
    write_comparison_table(TABLE, measurements, scale=scale, sources=sources, out_dir=tables_dir, notes=notes)
    _figure(by_ds, sn22, Path(figures_dir) / f"{TABLE}.png", sources)
    return notes


def _figure(by_ds: Mapping[str, Sequence[Mapping[str, Any]]], sn22: Mapping[tuple[str, str, str], SN22Row],
            path: Path, sources: Mapping[str, DataSource]) -> None:
    cells = [(ds, s) for ds in sorted(by_ds) for s in SPLITS]
    with figure(path, title="wu22 HP few-shot (5-way 1-shot)") as (_, ax):
        names = [f"{LABELS.get(ds, ds)}\n{SPLITS[s]}" for ds, s in cells]
        means = [100 * float(np.mean([r[f"{s}_acc"] for r in by_ds[ds]])) for ds, s in cells]
        stds = [100 * float(np.std([r[f"{s}_acc"] for r in by_ds[ds]])) for ds, s in cells]
        ax.bar(range(len(names)), means, yerr=stds, capsize=3, label="HP")
        legend = "sn22 MAML SNN"
        for i, (ds, s) in enumerate(cells):
            label = describe(row_sources({}, sources, [ds]))
            maml = [row for (d, sp, m), row in sn22.items() if d == ds and sp == s and _norm(m) == "mamlsnn"
                    and (not row.data_source or row.data_source == label)]
            if maml:
                ax.plot([i - 0.4, i + 0.4], [maml[0].mean] * 2, color="k", label=legend)
                legend = None
        ax.set_xticks(range(len(names)), names)
        ax.set(ylabel="accuracy (%)")
        ax.legend()
