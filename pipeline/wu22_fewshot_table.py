"""wu22_fewshot_hp table and figure: HP few-shot accuracy (meta-val / meta-test) on both meta-datasets,
mean ± std over seeds with a 95% CI over test tasks and the cost columns (metasnn.evaluation.cost) of the
trained model, beside sn22's MAML SNN numbers of the same run (read from results/tables/sn22_table2_fewshot.csv
when the sn22 stage produced it).
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np

from metasnn.evaluation.cost import mean_columns
from metasnn.reporting.figures import figure
from metasnn.reporting.tables import Measurement, write_comparison_table
from pipeline.cli import main

TABLE = "wu22_fewshot_hp"
LABELS = {"double_nmnist": "Double N-MNIST", "double_asldvs": "Double ASL-DVS"}
SPLITS = {"val": "meta-val", "test": "meta-test"}


def add_arguments(p) -> None:  # noqa: ANN001
    p.add_argument("--results", type=Path, nargs="+", required=True, help="wu22_fewshot_hp result JSONs")
    p.add_argument("--provenance", type=Path, nargs="*", default=[])
    p.add_argument("--sn22", type=Path, nargs="*", default=[], help="sn22_table2_fewshot.csv (optional)")
    p.add_argument("--tables-dir", type=Path, required=True)
    p.add_argument("--figures-dir", type=Path, required=True)


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


def sn22_rows(paths: list[Path]) -> dict[tuple[str, str, str], tuple[float, float]]:
    """``(dataset_key, split, method) -> (mean, std)`` from sn22's comparison table, if present."""
    out: dict[tuple[str, str, str], tuple[float, float]] = {}
    for path in paths:
        if not path.is_file():
            continue
        with path.open() as fh:
            for row in csv.DictReader(fh):
                if not row.get("reproduced_mean"):
                    continue
                ds = next((k for k in LABELS if _norm(k) in _norm(row.get("dataset", ""))
                           or _norm(LABELS[k]) in _norm(row.get("dataset", ""))), None)
                split = "val" if "val" in _norm(row.get("split", "")) else "test" if "test" in _norm(row.get("split", "")) else None
                if ds and split:
                    std = float(row["reproduced_std"]) if row.get("reproduced_std") else float("nan")
                    out[(ds, split, row.get("method", ""))] = (float(row["reproduced_mean"]), std)
    return out


def run(args, ctx):  # noqa: ANN001
    results = [json.loads(p.read_text()) for p in args.results]
    sources = sorted({json.loads(p.read_text()).get("data_source") or "unknown" for p in args.provenance if p.is_file()})
    source = "+".join(sources) if sources else "unknown"
    ctx.data_source = source
    ctx.seeds = sorted({r["seed"] for r in results})
    by_ds: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        by_ds[r["dataset"]].append(r)
    sn22 = sn22_rows(args.sn22)
    measurements = []
    for ds in sorted(by_ds):
        runs = sorted(by_ds[ds], key=lambda r: r["seed"])
        for split, label in SPLITS.items():
            extra = {"episodes": runs[0]["episodes"], "ways": runs[0]["ways"], "shots": runs[0]["shots"],
                     "learned_alpha": float(np.mean([r["alpha"] for r in runs])),
                     **mean_columns(r.get("cost", {}) for r in runs)}
            for (d, s, method), (mean, std) in sorted(sn22.items()):
                if d == ds and s == split:
                    extra[f"sn22_{_norm(method)}_mean"] = mean
                    extra[f"sn22_{_norm(method)}_std"] = std
            measurements.append(Measurement(
                key={"dataset": LABELS.get(ds, ds), "method": "HP (plastic readout)", "split": label},
                per_seed=[100 * r[f"{split}_acc"] for r in runs],
                per_task=[100 * a for r in runs for a in r[f"{split}_task_acc"]], extra=extra))
    notes = ["HP few-shot: conv features on time-summed frames + plastic output layer; label clamped onto the "
             "output during the support presentation; meta-trained with one joint gradient for weights and θ "
             "(wu22 code's update); 95% CI over all test tasks of all seeds.",
             "Cost columns (metasnn.evaluation.cost, per query sample, mean over seeds): the query pass of meta-test "
             "episode 0 with the trace its support left; they count the conv features' and the readout's W·x "
             "operations (MACs: tanh features are not spikes); the plastic current α·(x@P) and the Hebbian update "
             "are not included. activation_sparsity: the readout's spikes; state_bytes: the readout neurons' "
             "U, Q, P, R, S per query — the episode's Hebbian trace P (features × ways, shared by the queries) is "
             "not included."]
    if not sn22:
        notes.append("sn22 MAML numbers: not available in this run (no sn22_table2_fewshot table was produced).")
    else:
        notes.append("sn22 columns: reproduced mean / std of sn22_table2_fewshot from the same run.")
    write_comparison_table(TABLE, measurements, scale=ctx.scale, data_source=source, out_dir=args.tables_dir,
                           notes=notes)
    with figure(args.figures_dir / f"{TABLE}.png", title="wu22 HP few-shot (5-way 1-shot)") as (_, ax):
        names = [f"{LABELS.get(ds, ds)}\n{SPLITS[s]}" for ds in sorted(by_ds) for s in SPLITS]
        means = [m for ds in sorted(by_ds) for s in SPLITS
                 for m in [100 * float(np.mean([r[f"{s}_acc"] for r in by_ds[ds]]))]]
        stds = [100 * float(np.std([r[f"{s}_acc"] for r in by_ds[ds]])) for ds in sorted(by_ds) for s in SPLITS]
        ax.bar(range(len(names)), means, yerr=stds, capsize=3, label="HP")
        for i, (ds, s) in enumerate((ds, s) for ds in sorted(by_ds) for s in SPLITS):
            maml = [v for (d, sp, m), v in sn22.items() if d == ds and sp == s and _norm(m) == "mamlsnn"]
            if maml:
                ax.plot([i - 0.4, i + 0.4], [maml[0][0]] * 2, color="k", label="sn22 MAML SNN" if i == 0 else None)
        ax.set_xticks(range(len(names)), names)
        ax.set(ylabel="accuracy (%)")
        ax.legend()


if __name__ == "__main__":
    main("wu22_fewshot_table", __doc__, add_arguments, run)
