"""Paper targets (``paper/targets.yaml``): every reported number and every claim, by id."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from metasnn.errors import ConfigError

TARGETS_FILE = Path(__file__).resolve().parents[2] / "paper" / "targets.yaml"
RULES = ("within_pm_or_ci", "reference_only")


@dataclass(frozen=True)
class TargetRow:
    key: Mapping[str, str]
    value: float
    pm: float | None = None


@dataclass(frozen=True)
class TableTarget:
    id: str
    paper: str
    source: str
    title: str
    unit: str
    key: tuple[str, ...]
    rule: str
    paper_pm: str = ""
    rows: tuple[TargetRow, ...] = field(default_factory=tuple)

    def lookup(self, key: Mapping[str, Any]) -> TargetRow | None:
        wanted = {k: str(key.get(k)) for k in self.key}
        for row in self.rows:
            if all(str(row.key.get(k)) == wanted[k] for k in self.key):
                return row
        return None


@dataclass(frozen=True)
class ClaimTarget:
    id: str
    paper: str
    statement: str
    tables: tuple[str, ...]


@dataclass(frozen=True)
class Targets:
    papers: Mapping[str, str]
    tables: Mapping[str, TableTarget]
    claims: Mapping[str, ClaimTarget]

    def table(self, table_id: str) -> TableTarget:
        if table_id not in self.tables:
            raise ConfigError(f"{TARGETS_FILE}: no table '{table_id}'; known ids: {', '.join(sorted(self.tables))}")
        return self.tables[table_id]


def _parse(data: Mapping[str, Any], path: Path) -> Targets:
    try:
        tables = {}
        for tid, t in data["tables"].items():
            key = tuple(t["key"])
            rows = []
            for r in t.get("rows", []):
                unknown = set(r) - set(key) - {"value", "pm"}
                if unknown:
                    raise ConfigError(f"{path}: table {tid}: row has keys {sorted(unknown)} not in key {list(key)}")
                rows.append(TargetRow({k: str(r[k]) for k in key}, float(r["value"]), None if r.get("pm") is None else float(r["pm"])))
            if t["rule"] not in RULES:
                raise ConfigError(f"{path}: table {tid}: rule must be one of {RULES}")
            tables[tid] = TableTarget(tid, t["paper"], t["source"], t["title"], t.get("unit", ""), key, t["rule"],
                                      t.get("paper_pm", ""), tuple(rows))
        claims = {
            cid: ClaimTarget(cid, c["paper"], c["statement"], tuple(c["tables"])) for cid, c in data["claims"].items()
        }
    except KeyError as exc:
        raise ConfigError(f"{path}: missing field {exc}") from exc
    for claim in claims.values():
        for tid in claim.tables:
            if tid not in tables:
                raise ConfigError(f"{path}: claim {claim.id} refers to unknown table '{tid}'")
    return Targets(dict(data["papers"]), tables, claims)


@lru_cache(maxsize=4)
def load_targets(path: str | Path = TARGETS_FILE) -> Targets:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: paper targets file not found")
    return _parse(yaml.safe_load(path.read_text()), path)


DEVIATIONS_FILE = TARGETS_FILE.parent / "deviations.yaml"
SCALES = ("smoke", "default", "rehearsal", "paper")
"""Every run scale. ``rehearsal`` is the paper scale with its loop counts capped (make paper-rehearsal): it
reports under the paper's deviations, and its numbers are costs, never results."""
DEVIATION_SCALE = {"rehearsal": "paper"}  # a scale that reports under another scale's deviations


@dataclass(frozen=True)
class Deviation:
    """A known difference between what a run computes and what a paper did (``paper/deviations.yaml``)."""

    paper: str
    scales: tuple[str, ...]
    text: str


@lru_cache(maxsize=4)
def load_deviations(path: str | Path = DEVIATIONS_FILE) -> tuple[Deviation, ...]:
    """The entries of ``paper/deviations.yaml``, checked against the papers of ``targets.yaml``."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: deviations file not found")
    papers = load_targets().papers
    out = []
    for i, entry in enumerate(yaml.safe_load(path.read_text()) or []):
        try:
            dev = Deviation(str(entry["paper"]), tuple(str(s) for s in entry["scales"]), " ".join(str(entry["text"]).split()))
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"{path}: entry {i}: needs paper, scales and text") from exc
        if dev.paper not in papers:
            raise ConfigError(f"{path}: entry {i}: unknown paper {dev.paper!r} (known: {', '.join(papers)})")
        bad = sorted(set(dev.scales) - (set(SCALES) - set(DEVIATION_SCALE)))
        if bad or not dev.scales:
            raise ConfigError(f"{path}: entry {i}: scales must be a non-empty subset of {[x for x in SCALES if x not in DEVIATION_SCALE]}, got {bad}")
        out.append(dev)
    return tuple(out)
