"""Claim verdicts: one record per claim of ``paper/targets.yaml``, each with the statistic behind it.

A table builder that tests a claim writes a :class:`ClaimResult` (``<table>.claims.json``); the
report stage gathers them into ``results/claims.md`` and ``.csv``. Verdicts: ``holds``,
``does not hold``, ``inconclusive`` (the statistic cannot decide, e.g. one seed or p ≥ α), or
``not run``. No verdict without a statistic; the rules that turn a statistic into a verdict live in
:mod:`metasnn.reporting.verdicts`. A claim tested separately per dataset has one record per dataset
(same ``claim_id``); :func:`read_claims` keeps them all.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from metasnn.data.sources import DataSource, describe
from metasnn.evaluation.statistics import PairedTest
from metasnn.io import atomic_write_json, atomic_write_text
from metasnn.reporting import verdicts
from metasnn.reporting.tables import row_sources
from metasnn.reporting.targets import load_targets
from metasnn.reporting.verdicts import ALPHA

VERDICTS = ("holds", "does not hold", "inconclusive", "not run")


@dataclass
class ClaimResult:
    claim_id: str
    verdict: str
    effect: float | None
    effect_description: str
    test: str
    p_value: float | None
    ci95_low: float | None
    ci95_high: float | None
    n_seeds: int | None
    n_tasks: int | None
    scale: str
    data_source: str
    table: str
    figure: str | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if self.verdict in ("holds", "does not hold") and not self.test:
            raise ValueError(f"claim {self.claim_id}: a verdict needs the statistic it rests on")


def verdict_from_test(result: PairedTest, *, direction: int = +1, alpha: float = ALPHA) -> str:
    """The sign rule (:func:`metasnn.reporting.verdicts.sign`): ``holds`` when the effect has the claimed
    sign and p < α; ``does not hold`` when the opposite sign is significant; ``inconclusive`` otherwise."""
    return verdicts.sign(result, direction, alpha)


def claim_source(sources: Mapping[str, DataSource], datasets: Sequence[str] = ()) -> str:
    """The ``data_source`` of a claim resting on ``datasets`` (raw or meta-dataset names; all of
    ``sources`` when none are named), as the table rows write it."""
    return describe(row_sources({}, sources, datasets))


@dataclass(frozen=True)
class ClaimSite:
    """Where a claim is reported (scale, table, figure) and the data sources that may have fed it."""

    scale: str
    sources: Mapping[str, DataSource]
    table: str
    figure: str | None = None

    def source(self, datasets: Sequence[str] = ()) -> str:
        """:func:`claim_source` of ``datasets`` (all sources when none are named)."""
        return claim_source(self.sources, datasets)


def claim_from_test(claim_id: str, result: PairedTest, *, effect_description: str, direction: int = +1,
                    scale: str, data_source: str, table: str, figure: str | None = None,
                    n_tasks: int | None = None, note: str = "") -> ClaimResult:
    return ClaimResult(
        claim_id=claim_id, verdict=verdict_from_test(result, direction=direction), effect=result.effect,
        effect_description=effect_description, test=result.test, p_value=result.p_value,
        ci95_low=result.ci95_low, ci95_high=result.ci95_high, n_seeds=result.n, n_tasks=n_tasks,
        scale=scale, data_source=data_source, table=table, figure=figure, note=note,
    )


def noninferiority_claim(claim_id: str, diff: Sequence[float], margin: float, *, effect_description: str,
                         scale: str, data_source: str, table: str, figure: str | None = None,
                         n_tasks: int | None = None, note: str = "") -> ClaimResult:
    """A claim decided by the non-inferiority rule (:func:`metasnn.reporting.verdicts.noninferiority`) on
    the paired differences ``diff``; effect and CI are those of the mean difference, p the one-sided one."""
    part = verdicts.noninferiority_part("", diff, margin)
    t = part.test
    return ClaimResult(claim_id=claim_id, verdict=part.verdict, effect=t.effect, effect_description=effect_description,
                       test=t.test, p_value=t.p_value, ci95_low=t.ci95_low, ci95_high=t.ci95_high, n_seeds=t.n,
                       n_tasks=n_tasks, scale=scale, data_source=data_source, table=table, figure=figure, note=note)


def not_run_claim(claim_id: str, *, table: str, scale: str, data_source: str, why: str,
                  effect_description: str = "", n_seeds: int | None = None, figure: str | None = None) -> ClaimResult:
    """The record of a claim its stage could not test (missing inputs); ``why`` says what is missing."""
    return ClaimResult(claim_id=claim_id, verdict="not run", effect=None, effect_description=effect_description,
                       test="", p_value=None, ci95_low=None, ci95_high=None, n_seeds=n_seeds, n_tasks=None,
                       scale=scale, data_source=data_source, table=table, figure=figure, note=why)


def write_claims(path: str | Path, results: Sequence[ClaimResult]) -> Path:
    known = load_targets().claims
    for r in results:
        if r.claim_id not in known:
            raise ValueError(f"unknown claim id {r.claim_id!r}; add it to paper/targets.yaml")
    return atomic_write_json(path, [asdict(r) for r in results])


def read_claims(paths: Iterable[str | Path]) -> dict[str, list[ClaimResult]]:
    """Every claim record of ``paths``, by claim id, in file order (a claim tested per dataset has several)."""
    names = {f.name for f in fields(ClaimResult)}
    out: dict[str, list[ClaimResult]] = {}
    for p in paths:
        for rec in json.loads(Path(p).read_text()):
            out.setdefault(rec["claim_id"], []).append(ClaimResult(**{k: v for k, v in rec.items() if k in names}))
    return out


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def claims_rows(found: Mapping[str, ClaimResult | Sequence[ClaimResult]]) -> list[dict[str, Any]]:
    """One row per claim record (several for a claim tested per dataset), in ``paper/targets.yaml`` order;
    a claim without a record gets a ``not run`` row."""
    targets = load_targets()
    rows = []
    for cid, claim in targets.claims.items():
        results = found.get(cid) or []
        if isinstance(results, ClaimResult):
            results = [results]
        if not results:
            rows.append({"claim": cid, "paper": claim.paper, "statement": claim.statement, "verdict": "not run",
                         "effect": None, "effect_description": "", "test": "", "p_value": None, "ci95_low": None,
                         "ci95_high": None, "n_seeds": None, "n_tasks": None, "scale": "", "data_source": "",
                         "table": ", ".join(claim.tables), "figure": "", "note": "no stage has produced this claim yet"})
        for r in results:
            rows.append({"claim": cid, "paper": claim.paper, "statement": claim.statement, **{
                k: v for k, v in asdict(r).items() if k != "claim_id"}})
    return rows


CLAIM_COLUMNS = ["claim", "paper", "statement", "verdict", "effect", "effect_description", "test", "p_value",
                 "ci95_low", "ci95_high", "n_seeds", "n_tasks", "scale", "data_source", "table", "figure", "note"]


def render_claims(rows: Sequence[Mapping[str, Any]], *, tables_dir: str = "tables", figures_dir: str = "figures") -> str:
    out = ["# Claims", "",
           "One row per claim of the covered papers. Verdicts rest on the statistic shown (α = 0.05): `holds` — "
           "the claimed effect is significant in the claimed direction; `does not hold` — significant the other "
           "way; `inconclusive` — the test cannot decide at this n; `not run` — no stage produced it.", "",
           "| claim | statement | verdict | effect | test | p | 95% CI | n seeds | n tasks | scale | data | evidence | note |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        tables = [t.strip() for t in str(r.get("table") or "").split(",") if t.strip()]
        links = [f"[{t}]({tables_dir}/{t}.md)" for t in tables]
        if r.get("figure"):
            links.append(f"[fig]({figures_dir}/{Path(str(r['figure'])).name})")
        ci = "–" if r.get("ci95_low") is None else f"[{_fmt(r['ci95_low'])}, {_fmt(r['ci95_high'])}]"
        effect = _fmt(r.get("effect")) + (f" ({r['effect_description']})" if r.get("effect_description") else "")
        out.append("| " + " | ".join([
            r["claim"], str(r["statement"]), f"**{r['verdict']}**", effect, r.get("test") or "–", _fmt(r.get("p_value")),
            ci, _fmt(r.get("n_seeds")), _fmt(r.get("n_tasks")), r.get("scale") or "–", r.get("data_source") or "–",
            ", ".join(links), str(r.get("note") or "")]).replace("\n", " ") + " |")
    return "\n".join(out) + "\n"


def write_claims_summary(out_md: str | Path, out_csv: str | Path,
                         found: Mapping[str, ClaimResult | Sequence[ClaimResult]]) -> None:
    from metasnn.reporting.tables import render_csv

    rows = claims_rows(found)
    atomic_write_text(out_csv, render_csv(CLAIM_COLUMNS, rows))
    atomic_write_text(out_md, render_claims(rows))
