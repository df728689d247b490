"""The one table writer: measured values beside the paper's, as ``<id>.csv`` and ``<id>.md``.

Every comparison table has the key columns of its target (``paper/targets.yaml``) followed by
``paper_value, paper_pm, reproduced_mean, reproduced_std, ci95_low, ci95_high, ci_over, n_seeds,
n_tasks, scale, data_source, comparable, agrees, note`` and any extra columns the caller adds
(e.g. cost columns). A target row without a measurement says ``not run yet``; a measurement
without a target has an empty paper value. Rows are comparable to the paper only at the ``paper``
scale on the full real dataset; otherwise the note says why not.

Each row's ``data_source`` names what fed *that row*: the sources of the datasets in its key
(columns ``dataset``, ``train_dataset``, ``test_dataset``), or those the measurement names
(``Measurement.datasets``), or else every source the table was given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metasnn.data.sources import DataSource, comparability, describe, raw_of
from metasnn.errors import ConfigError
from metasnn.evaluation.statistics import ci95_mean, summarize
from metasnn.io import atomic_write_text
from metasnn.reporting.targets import TableTarget, load_targets

NOT_RUN = "not run yet"
DATASET_COLUMNS = ("dataset", "train_dataset", "test_dataset")  # key columns that name the data a row used
BASE_COLUMNS = [
    "paper_value", "paper_pm", "reproduced_mean", "reproduced_std", "ci95_low", "ci95_high", "ci_over",
    "n_seeds", "n_tasks", "scale", "data_source", "comparable", "agrees", "note",
]


@dataclass
class Measurement:
    """One measured row.

    ``per_seed``: one value per seed (mean and std are over seeds). ``per_task``: optional pooled
    task-level values; when given, the 95% CI is over tasks, otherwise over seeds.
    ``volatile``: a wall-clock measurement (latency, energy read from counters) that differs from
    run to run; shown in the Markdown table, kept out of the CSV so CSVs stay byte-identical for
    the same config and seeds.
    """

    key: Mapping[str, Any]
    per_seed: Sequence[float]
    per_task: Sequence[float] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""
    volatile: bool = False
    datasets: Sequence[str] = ()  # raw / meta-dataset names that fed the row, when its key does not say


def row_sources(key: Mapping[str, Any], sources: Mapping[str, DataSource], datasets: Sequence[str] = ()) -> list[DataSource]:
    """The sources that fed a row: those of ``datasets``, else of the dataset key columns, else all of ``sources``."""
    names = list(datasets) or [str(key[c]) for c in DATASET_COLUMNS if c in key and key[c] not in (None, "")]
    if not names:
        return list(sources.values())
    out = []
    for name in names:
        try:
            raw = raw_of(name)
        except ConfigError:  # a key value that is not a dataset name
            continue
        if raw in sources and sources[raw] not in out:
            out.append(sources[raw])
    return out


def build_rows(
    target: TableTarget, measurements: Sequence[Measurement], *, scale: str, sources: Mapping[str, DataSource]
) -> tuple[list[str], list[dict[str, Any]]]:
    """Merge measurements with the target rows; return (columns, rows) in a deterministic order."""
    key_cols = list(target.key)
    extra_cols: list[str] = []
    for m in measurements:
        missing = [k for k in key_cols if k not in m.key]
        if missing:
            raise ValueError(f"table {target.id}: measurement {dict(m.key)} lacks key columns {missing}")
        for c in m.extra:
            if c not in extra_cols:
                extra_cols.append(c)
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, ...]] = set()
    for m in measurements:
        k = tuple(str(m.key[c]) for c in key_cols)
        if k in seen:
            raise ValueError(f"table {target.id}: two measurements for key {k}")
        seen.add(k)
        s = summarize(m.per_seed)
        if m.per_task is not None and len(m.per_task) > 1:
            lo, hi = ci95_mean(m.per_task)
            ci_over, n_tasks = "tasks", len(m.per_task)
        else:
            lo, hi, ci_over, n_tasks = s.ci95_low, s.ci95_high, ("seeds" if s.n > 1 else ""), None
        tr = target.lookup(m.key)
        fed_by = row_sources(m.key, sources, m.datasets)
        comparable, why = comparability(scale, fed_by)
        row = {c: str(m.key[c]) for c in key_cols}
        agrees: Any = ""
        if tr is not None and target.rule == "within_pm_or_ci" and comparable and math.isfinite(s.mean):
            half = (hi - lo) / 2 if math.isfinite(lo) else 0.0
            agrees = abs(tr.value - s.mean) <= (tr.pm or 0.0) + half
        notes = [n for n in (why if tr is not None else "", m.note,
                             "measured wall-clock, varies between runs (not in the CSV)" if m.volatile else "") if n]
        row.update({
            "paper_value": tr.value if tr else None, "paper_pm": tr.pm if tr else None,
            "reproduced_mean": s.mean, "reproduced_std": s.std, "ci95_low": lo, "ci95_high": hi,
            "ci_over": ci_over, "n_seeds": s.n, "n_tasks": n_tasks, "scale": scale, "data_source": describe(fed_by),
            "comparable": comparable, "agrees": agrees, "note": "; ".join(notes),
        })
        row.update({c: m.extra.get(c) for c in extra_cols})
        row["_volatile"] = m.volatile
        rows.append(row)
    for tr in target.rows:
        k = tuple(str(tr.key[c]) for c in key_cols)
        if k in seen:
            continue
        row = {c: tr.key[c] for c in key_cols}
        row.update({c: None for c in BASE_COLUMNS})
        row.update({"paper_value": tr.value, "paper_pm": tr.pm, "scale": scale,
                    "data_source": describe(row_sources(tr.key, sources)),
                    "comparable": "", "agrees": "", "note": NOT_RUN})
        row.update({c: None for c in extra_cols})
        rows.append(row)
    return key_cols + BASE_COLUMNS + extra_cols, rows


def _cell(value: Any, md: bool = False) -> str:
    if value is None:
        return "" if not md else "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "" if not md else "–"
        return f"{value:.4g}" if md else f"{value:.6g}"
    return str(value)


def _csv_cell(value: Any) -> str:
    text = _cell(value)
    if any(c in text for c in ',"\n'):
        text = '"' + text.replace('"', '""') + '"'
    return text


def render_csv(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    lines = [",".join(columns)]
    lines += [",".join(_csv_cell(r.get(c)) for c in columns) for r in rows]
    return "\n".join(lines) + "\n"


def render_markdown(target: TableTarget, columns: Sequence[str], rows: Sequence[Mapping[str, Any]],
                    *, caption: str = "", notes: Sequence[str] = ()) -> str:
    papers = load_targets().papers
    out = [f"# {target.id}", "", f"**{target.title}**", "",
           f"Paper: {papers.get(target.paper, target.paper)} — {target.source}."]
    if target.paper_pm:
        out.append(f"Paper ± is the {target.paper_pm}.")
    out.append("Ours: mean ± std over seeds; 95% CI over tasks where `ci_over` = tasks, else over seeds.")
    if caption:
        out += ["", caption]
    out += ["", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        out.append("| " + " | ".join(_cell(r.get(c), md=True).replace("|", "\\|") for c in columns) + " |")
    if notes:
        out += ["", *[f"- {n}" for n in notes]]
    return "\n".join(out) + "\n"


def write_comparison_table(
    table_id: str,
    measurements: Sequence[Measurement],
    *,
    scale: str,
    sources: Mapping[str, DataSource],
    out_dir: str | Path,
    caption: str = "",
    notes: Sequence[str] = (),
) -> tuple[Path, Path]:
    """Write ``<out_dir>/<table_id>.csv`` and ``.md`` atomically; return both paths."""
    target = load_targets().table(table_id)
    columns, rows = build_rows(target, measurements, scale=scale, sources=sources)
    out_dir = Path(out_dir)
    stable = [r for r in rows if not r.get("_volatile")]
    csv_path = atomic_write_text(out_dir / f"{table_id}.csv", render_csv(columns, stable))
    md_path = atomic_write_text(out_dir / f"{table_id}.md",
                                render_markdown(target, columns, rows, caption=caption, notes=notes))
    return csv_path, md_path
