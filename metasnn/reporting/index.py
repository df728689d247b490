"""``results/README.md``: the front page of a run — what ran, on what data (per raw dataset), at what
scale, the claims' verdicts, how they compare with an emulated-N-MNIST run, and links to every table,
figure and claim.

:func:`collect_run` gathers the run facts from the stages' provenance records (and the fetch stage's
manifests, for the recordings per class); :func:`render_index` writes the page.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from metasnn.data.sources import FULL_RECORDINGS, RAW_NAMES, DataSource, describe, merge_sources, sources_from_record
from metasnn.reporting.claims import claims_rows
from metasnn.reporting.provenance import read_provenance
from metasnn.reporting.reference_claims import ClaimsSnapshot, real_vs_emulated_section
from metasnn.reporting.targets import DEVIATION_SCALE, load_deviations, load_targets

CAVEATS = {
    "rehearsal": "REHEARSAL, NOT RESULTS: every stage ran at the papers' tensor shapes with its loops capped to "
                 "a few steps and tasks (config/scales/rehearsal.yaml), to measure what the paper scale costs "
                 "(results/tables/paper_projection.md). No accuracy or verdict below means anything.",
    "scale": "Runs below the paper scale use fewer outer steps, coarser time bins, fewer tasks and seeds "
             "than the papers (config/scales/*.yaml); treat numbers as a check of the pipeline and of the "
             "claims' direction, not of their magnitude.",
    "code_vs_paper": "Where a paper's text and its released code disagree, the default follows the text and the "
                     "code's behaviour is an option (e.g. data.sampling: code, HP reset policy); see the "
                     "[README](../README.md) (sections Data and Methods), paper/deviations.yaml and each table's "
                     "notes.",
}


def _thousands(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def dataset_caveat(source: DataSource, class_counts: Mapping[str, tuple[int, int]] | None = None) -> str:
    """The caveat of one raw dataset's source ('' for the full real dataset).

    ``class_counts``: ``{split: (fewest, most)}`` recordings per class, from the fetch manifest.
    """
    name = RAW_NAMES[source.raw]
    if not source.real:
        return (f"{name} is emulated: its events come from the embedded sensor emulator "
                "(metasnn/data/EMULATION.md), not from an event camera. Absolute accuracies on it are not "
                "comparable to the papers'; orderings and trends are what is tested.")
    if source.full:
        return ""
    text = (f"{name} is real but only a subset: {_thousands(source.recordings)} of the "
            f"{_thousands(FULL_RECORDINGS[source.raw])} recordings the papers used, so numbers on it are not "
            "comparable to theirs (a data-size difference, not only a scale one).")
    if class_counts:
        per = ", ".join(f"{split} {lo}–{hi}" if lo != hi else f"{split} {lo}" for split, (lo, hi) in
                        sorted(class_counts.items()))
        fewest = min(lo for lo, _ in class_counts.values())
        text += (f" Recordings per class: {per}. With as few as {fewest} recordings in a class, meta-val and "
                 "meta-test tasks draw the same recordings again and again (how often: data/meta/*/pool_stats.md).")
    elif source.source == "shipped":
        text += (" Its Test split has only 2–15 recordings per digit (datasets/README.md), so meta-val and "
                 "meta-test tasks draw the same recordings again and again (how often: data/meta/*/pool_stats.md).")
    return text


def collect_run(paths: Sequence[str | Path], scale: str) -> dict[str, Any]:
    """The facts of a run from its stages' outputs (directories holding ``provenance.json``, or the files).

    Two stages fed by different sources of one raw dataset are an error (stale outputs; rerun them).
    """
    records, class_counts = [], {}
    for p in paths:
        record = read_provenance(p)
        if record is None:
            continue
        records.append(record)
        manifest = Path(p) if Path(p).is_dir() else Path(p).parent
        manifest = manifest / "manifest.json"
        if manifest.is_file():
            data = json.loads(manifest.read_text())
            counts = {split: (min(c.values()), max(c.values())) for split, c in (data.get("counts") or {}).items() if c}
            if counts and data.get("dataset"):
                class_counts[str(data["dataset"])] = counts
    sources = merge_sources(*[sources_from_record(r) for r in records], where="report --provenance")
    shas = sorted({r.get("git_sha") for r in records if r.get("git_sha")})
    return {
        "scale": scale,
        "data_sources": sources,
        "data_source": describe(sources.values()) if sources else "unknown",
        "class_counts": class_counts,
        "git_sha": ", ".join(shas) or None,
        "git_dirty": any(r.get("git_dirty") for r in records),
        "wall_time_s": sum(float(r.get("wall_time_s") or 0.0) for r in records) if records else None,
        "n_stages": len(records),
        "devices": sorted({str(r.get("gpu") or r.get("device")) for r in records if r.get("device")}),
    }


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _g(text: str) -> str:
    try:
        return f"{float(text):.4g}"
    except ValueError:
        return text


def _summary_lines(rows: Sequence[Mapping[str, str]], key: Sequence[str]) -> list[tuple[str, str, str | None, str]]:
    out = []
    for r in rows:
        if not r.get("paper_value"):
            continue
        ours = None  # not produced by this run
        if r.get("reproduced_mean"):
            ours = _g(r["reproduced_mean"])
            if r.get("reproduced_std"):
                ours += f" ± {_g(r['reproduced_std'])}"
            if r.get("ci95_low"):
                ours += f" (95% CI {_g(r['ci95_low'])}..{_g(r['ci95_high'])} over {r.get('ci_over') or '?'})"
            ours += f", n={r.get('n_seeds') or '?'} seeds"
        paper = r["paper_value"] + (f" ± {r['paper_pm']}" if r.get("paper_pm") else "")
        out.append((" / ".join(r.get(k, "") for k in key), paper, ours, r.get("data_source") or "–"))
    return out


def _this_run(run: Mapping[str, Any]) -> list[str]:
    sources: Mapping[str, DataSource] = run.get("data_sources") or {}
    lines = ["## This run", "", f"- scale: **{run.get('scale', '?')}**"]
    if run.get("scale") == "rehearsal":
        lines += ["", f"> **{CAVEATS['rehearsal']}**", ""]
    if sources:
        lines.append("- data, per raw dataset (from the stages' provenance records):")
        lines += [f"  - {RAW_NAMES[raw]}: **{s.label}** (`data.source.{raw}: {s.source}`)" for raw, s in sorted(sources.items())]
    else:
        lines.append(f"- data: **{run.get('data_source') or 'unknown'}**")
    lines += [f"- git: `{run.get('git_sha') or 'unknown'}`{' (uncommitted changes)' if run.get('git_dirty') else ''}",
              f"- compute time of the stages (sum of their wall times): {_fmt_s(run.get('wall_time_s'))} "
              f"over {run.get('n_stages', 0)} stage runs",
              f"- device(s): {', '.join(run.get('devices', [])) or 'unknown'}", ""]
    return lines


def render_index(
    *,
    tables: Sequence[Path],
    figures_dir: Path,
    claims: Mapping[str, Any],
    run: Mapping[str, Any],
    reference: ClaimsSnapshot | None = None,
    reference_path: str | None = None,
) -> str:
    """The front page. ``run``: :func:`collect_run`'s facts; ``reference``: the emulated-N-MNIST claims
    snapshot read from ``reference_path`` (``None`` when not given or absent: the section says so)."""
    targets = load_targets()
    produced = {p.stem: p for p in tables}
    sources: Mapping[str, DataSource] = run.get("data_sources") or {}
    lines = ["# metasnn results", "",
             "Generated by the `report` stage; do not edit. Everything here was measured by this run.", "",
             *_this_run(run)]
    rows = claims_rows(claims)
    counts = {v: sum(1 for r in rows if r["verdict"] == v) for v in ("holds", "does not hold", "inconclusive", "not run")}
    on = f" on {describe(sources.values())}" if sources else ""
    lines += ["## Claims", "",
              f"Verdicts of this run{on}: {counts['holds']} hold, {counts['does not hold']} do not hold, "
              f"{counts['inconclusive']} inconclusive, {counts['not run']} not run — details with the statistic "
              "behind each verdict in [claims.md](claims.md).", "",
              "| claim | verdict | effect | p | 95% CI | n seeds | data | statement |", "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['claim']} | {r['verdict']} | {_num(r.get('effect'))} | {_num(r.get('p_value'))} | {_ci(r)} | "
              f"{r.get('n_seeds') or '–'} | {r.get('data_source') or '–'} | {r['statement']} |" for r in rows]
    lines += ["", *real_vs_emulated_section(claims, scale=str(run.get("scale")), sources=sources,
                                            reference=reference, reference_path=reference_path)]
    lines += ["## Paper numbers vs ours", ""]
    csv_rows = {tid: _read_csv(path) for tid, path in produced.items()}
    table_data = {tid: sorted({r["data_source"] for r in rows_ if r.get("data_source") and r.get("reproduced_mean")})
                  for tid, rows_ in csv_rows.items()}  # what fed the rows this run measured
    summary, unproduced = [], []
    for tid, t in targets.tables.items():
        if tid not in produced or not t.rows:
            continue
        missing = []
        for name, paper, ours, data in _summary_lines(csv_rows[tid], t.key):
            if ours is None:
                missing.append(name)
            else:
                summary.append(f"| {tid} | {name} | {paper} | {ours} | {data} |")
        if missing:
            unproduced.append(f"- {tid}: {len(missing)} paper numbers this run does not produce "
                              f"({'; '.join(missing[:4])}{'; …' if len(missing) > 4 else ''})")
    if summary:
        lines += ["| table | row | paper | ours | data |", "|---|---|---|---|---|", *summary]
    else:
        lines.append("No table with paper numbers has been produced by this run yet.")
    if unproduced:
        lines += ["", *unproduced]
    lines += ["", "## Tables and figures", "", "| id | paper | what it shows | data | table | figure |",
              "|---|---|---|---|---|---|"]
    for tid, t in targets.tables.items():
        fig = figures_dir / f"{tid}.png"
        table_link = f"[md](tables/{tid}.md) · [csv](tables/{tid}.csv)" if tid in produced else "not run yet"
        fig_link = f"[png](figures/{tid}.png)" if fig.is_file() else "–"
        data = "; ".join(table_data.get(tid, [])) or "–"
        lines.append(f"| {tid} | {t.paper} ({t.source}) | {t.title} | {data} | {table_link} | {fig_link} |")
    extra = sorted(set(produced) - set(targets.tables))
    if extra:
        lines += ["", "Other tables: " + ", ".join(f"[{t}](tables/{t}.md)" for t in extra)]
    lines += ["", "## Caveats", ""]
    for raw, s in sorted(sources.items()):
        caveat = dataset_caveat(s, (run.get("class_counts") or {}).get(raw))
        if caveat:
            lines.append(f"- {caveat}")
    if not sources:
        lines.append("- No stage recorded its data sources: what fed these numbers is unknown.")
    if run.get("scale") != "paper":
        lines.append(f"- {CAVEATS['scale']}")
    lines.append(f"- {CAVEATS['code_vs_paper']}")
    scale = DEVIATION_SCALE.get(run.get("scale"), run.get("scale"))
    deviations = [d for d in load_deviations() if scale in d.scales]
    if deviations:
        lines += ["", f"### Known differences from the papers at the {run.get('scale')} scale", "",
                  "From paper/deviations.yaml; the measurements behind each choice are in the comments of "
                  "params.yaml and config/scales/.", ""]
        lines += [f"- **{d.paper}**: {d.text}" for d in deviations]
    return "\n".join(lines) + "\n"


def _num(value: Any) -> str:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{float(value):.3g}"


def _ci(row: Mapping[str, Any]) -> str:
    low, high = row.get("ci95_low"), row.get("ci95_high")
    return "–" if low is None or high is None else f"[{_num(low)}, {_num(high)}]"


def _fmt_s(seconds: Any) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "unknown"
    seconds = float(seconds)
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.1f} s"
