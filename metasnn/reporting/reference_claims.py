"""Claim verdicts on real vs emulated N-MNIST: a committed snapshot of an emulated run's claims, and the
front-page section that compares this run's verdicts against it.

Every claim is re-tested on real data (N-MNIST's default source is the shipped real recordings). So
that the emulator's bias stays visible, the claims of a run with N-MNIST emulated are kept in
``paper/emulated_claims.json`` — written by :func:`snapshot_claims` (``python -m
pipeline.snapshot_claims``) from that run's ``results/claims.csv`` and provenance — and the report
stage lists every claim whose verdict differs between the two (:func:`real_vs_emulated_section`).

The snapshot is one JSON object::

    {"format": "metasnn-claims-snapshot/1",
     "about": "...", "scale": "default",
     "data_source": "emulated ASL-DVS + emulated N-MNIST",
     "data_sources": {"asldvs": {...DataSource...}, "nmnist": {...}},
     "commit": "<git sha of the run's stages>" | null, "dirty": false | true | null,
     "claims": [{"claim": "sn22-C1", "datasets": ["nmnist"], "verdict": "holds", "effect": 4.2,
                 "effect_description": "...", "p_value": 0.01, "n_seeds": 3,
                 "data_source": "emulated N-MNIST"}, ...]}

One record per row of claims.csv: a claim tested per dataset has one record per dataset. Records are
matched across the two runs by claim id and ``datasets`` — the raw datasets named in the record's
data source, which (unlike the data source itself) do not change with the source. Verdicts are only
compared at the same scale; when the file is absent, of another scale, or not from an emulated-N-MNIST
run, the section says so and compares nothing.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metasnn.data.sources import RAW_NAMES, DataSource, describe, merge_sources, sources_from_record
from metasnn.errors import DataError
from metasnn.io import atomic_write_json
from metasnn.reporting.claims import VERDICTS

FORMAT = "metasnn-claims-snapshot/1"
DEFAULT_PATH = "paper/emulated_claims.json"
RAW = "nmnist"  # the raw dataset whose source differs between the two runs
EMULATED_RUN = "snakemake --cores 8 all --configfile config/data/emulated-nmnist.yaml"
REMAKE = (f"To (re)make it: run the pipeline with N-MNIST emulated at this scale (`{EMULATED_RUN}`, plus the "
          "scale's `--configfile`), then `python -m pipeline.snapshot_claims results/claims.csv --out "
          f"{DEFAULT_PATH}`, commit the file, and rerun the pipeline with the default sources.")
FIELDS = ("claim", "datasets", "verdict", "effect", "effect_description", "p_value", "n_seeds", "data_source")
Record = dict[str, Any]


def datasets_of(data_source: str) -> list[str]:
    """The raw datasets a ``data_source`` cell names (``"real N-MNIST (…) + emulated ASL-DVS"`` -> both)."""
    return sorted(raw for raw, name in RAW_NAMES.items() if name in str(data_source or ""))


def _record(claim: str, verdict: str, effect: Any, effect_description: str, p_value: Any, n_seeds: Any,
            data_source: str, scale: str = "") -> Record:
    if verdict not in VERDICTS:
        raise ValueError(f"claim {claim}: unknown verdict {verdict!r}")
    return {"claim": claim, "datasets": datasets_of(data_source), "verdict": verdict, "effect": _float(effect),
            "effect_description": effect_description or "", "p_value": _float(p_value), "n_seeds": _int(n_seeds),
            "data_source": data_source or "", "scale": scale or ""}


@dataclass(frozen=True)
class ClaimsSnapshot:
    """The claim records of one run, with the scale, data sources and commit they came from."""

    scale: str
    data_sources: dict[str, DataSource]
    commit: str | None
    dirty: bool | None
    claims: list[Record]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "about": "claim verdicts of one metasnn run (results/claims.csv), made by python -m pipeline.snapshot_claims; "
                     "the report stage compares a run's verdicts against them (--reference-claims)",
            "scale": self.scale,
            "data_source": describe(self.data_sources.values()) if self.data_sources else "unknown",
            "data_sources": {k: v.to_dict() for k, v in sorted(self.data_sources.items())},
            "commit": self.commit,
            "dirty": self.dirty,
            "claims": [{k: r.get(k) for k in FIELDS} for r in self.claims],
        }


def _float(text: Any) -> float | None:
    if text is None or text == "":
        return None
    value = float(text)
    return None if math.isnan(value) else value


def _int(text: Any) -> int | None:
    return None if text is None or text == "" else int(float(text))


def read_claims_csv(path: str | Path) -> list[Record]:
    """The claim records (one per row) of a ``claims.csv`` written by the report stage."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: not found; run the report stage first (it writes results/claims.csv)")
    out: list[Record] = []
    with path.open(newline="") as fh:
        for i, row in enumerate(csv.DictReader(fh), start=2):
            try:
                out.append(_record(row["claim"], row["verdict"], row.get("effect"), row.get("effect_description", ""),
                                   row.get("p_value"), row.get("n_seeds"), row.get("data_source", ""),
                                   row.get("scale", "")))
            except (KeyError, TypeError, ValueError) as exc:
                raise DataError(f"{path}, line {i}: not a claims.csv row ({type(exc).__name__}: {exc})") from exc
    return out


def claim_records(claims: Mapping[str, Any]) -> list[Record]:
    """The records of this run's claims (``{id: ClaimResult or [ClaimResult, ...]}``, as read_claims gives)."""
    out = []
    for cid, found in sorted(claims.items()):
        for c in (found if isinstance(found, (list, tuple)) else [found]):
            out.append(_record(cid, c.verdict, c.effect, c.effect_description, c.p_value, c.n_seeds, c.data_source,
                               c.scale))
    return out


def snapshot_claims(claims: Sequence[Record], records: Iterable[Mapping[str, Any]], *,
                    where: str = "claims", require_emulated: Sequence[str] = (RAW,)) -> ClaimsSnapshot:
    """The snapshot of a run's claim records (from :func:`read_claims_csv`) and its provenance ``records``.

    The data sources are merged from the records (two sources for one dataset are an error); every
    claim's data source must be made of them, and all claims must be of one scale, or the claims are not
    from that run. ``require_emulated``: raw datasets that must be emulated in it.
    """
    records = list(records)
    sources = merge_sources(*[sources_from_record(r) for r in records], where=f"{where}: provenance")
    if not sources:
        raise DataError(f"{where}: the provenance records name no data source; pass the run's stage outputs "
                        "(e.g. data/fetched/nmnist data/fetched/asldvs)")
    for raw in require_emulated:
        if raw not in sources or sources[raw].real:
            got = sources[raw].label if raw in sources else "not used"
            raise DataError(f"{where}: {RAW_NAMES.get(raw, raw)} is {got} in this run, not emulated; make the "
                            f"snapshot from a run with data.source.{raw}: synthetic")
    labels = {s.label for s in sources.values()}
    ran = [c for c in claims if c["verdict"] != "not run"]
    for c in ran:
        alien = [p for p in str(c.get("data_source") or "").split(" + ") if p and p != "unknown" and p not in labels]
        if alien:
            raise DataError(f"{where}: claim {c['claim']} was measured on {' + '.join(alien)}, which the provenance "
                            f"records do not name ({describe(sources.values())}); snapshot the claims of the run "
                            "these records describe")
    scales = sorted({c["scale"] for c in ran if c.get("scale")})
    if len(scales) != 1:
        raise DataError(f"{where}: " + ("no claim has a verdict" if not scales else
                                        "claims of several scales: " + ", ".join(scales)) + "; snapshot one complete run")
    shas = sorted({str(r["git_sha"]) for r in records if r.get("git_sha")})
    dirty = [r.get("git_dirty") for r in records if r.get("git_dirty") is not None]
    return ClaimsSnapshot(scale=scales[0], data_sources=sources, commit=", ".join(shas) or None,
                          dirty=any(dirty) if dirty else None, claims=[{k: c.get(k) for k in FIELDS} for c in claims])


def write_snapshot(path: str | Path, snapshot: ClaimsSnapshot) -> Path:
    return atomic_write_json(path, snapshot.to_dict())


def read_snapshot(path: str | Path) -> ClaimsSnapshot:
    """Read a snapshot file; a malformed one is a :class:`DataError` naming it."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT!r}")
        claims = [_record(str(c["claim"]), c["verdict"], c.get("effect"), c.get("effect_description", ""),
                          c.get("p_value"), c.get("n_seeds"), c.get("data_source", "")) for c in data["claims"]]
        return ClaimsSnapshot(scale=str(data["scale"]), data_sources=sources_from_record(data),
                              commit=data.get("commit"), dirty=data.get("dirty"), claims=claims)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, DataError) as exc:
        raise DataError(f"{path}: not a claims snapshot ({type(exc).__name__}: {exc}); remake it with "
                        "python -m pipeline.snapshot_claims") from exc


def _num(value: Any) -> str:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{float(value):.3g}"


def _kind(source: DataSource | None) -> str:
    if source is None:
        return "not used"
    return source.label


def _by_claim(records: Iterable[Record]) -> dict[str, dict[tuple[str, ...], Record]]:
    """``{claim: {datasets: record}}`` of the records with a verdict."""
    out: dict[str, dict[tuple[str, ...], Record]] = {}
    for r in records:
        if r["verdict"] != "not run":
            mine = out.setdefault(r["claim"], {})
            key = tuple(r["datasets"])
            n = 2
            while key in mine:  # two records on the same data: matched in file order
                key, n = (*tuple(r["datasets"]), f"#{n}"), n + 1
            mine[key] = r
    return out


def real_vs_emulated_section(claims: Mapping[str, Any], *, scale: str, sources: Mapping[str, DataSource],
                             reference: ClaimsSnapshot | None, reference_path: str | None) -> list[str]:
    """Lines of the front page's "Real vs emulated N-MNIST" section.

    ``claims``: this run's claims by id (a ClaimResult or a list of them per id); ``reference``: the
    snapshot read from ``reference_path`` (``None`` when no path was given or the file is absent).
    """
    name = RAW_NAMES[RAW]
    lines = [f"## Real vs emulated {name}", ""]
    ours = sources.get(RAW)
    if reference is None:
        why = ("No emulated-run snapshot was given to the report stage (`--reference-claims`)" if not reference_path
               else f"`{reference_path}` does not exist")
        return lines + [f"{why}: no verdict is compared with an emulated-{name} run. {REMAKE}", ""]
    ref = reference.data_sources.get(RAW)
    ref_data = describe(reference.data_sources.values()) if reference.data_sources else "unknown data"
    where = f"`{reference_path}` (commit {reference.commit or 'unknown'}, {reference.scale} scale, {ref_data})"
    if reference.scale != scale:
        return lines + [f"The emulated-run snapshot {where} is of the {reference.scale} scale, this run of the "
                        f"{scale} scale: verdicts of different scales are not compared. {REMAKE}", ""]
    if ours is None or not ours.real:
        return lines + [f"This run's {name} is {_kind(ours)}, so its verdicts above are not real-data verdicts: "
                        f"nothing to compare with the snapshot {where}.", ""]
    if ref is None or ref.real:
        return lines + [f"The snapshot {where} is not of an emulated-{name} run ({name}: {_kind(ref)}): no "
                        f"comparison. {REMAKE}", ""]
    now, then = _by_claim(claim_records(claims)), _by_claim(reference.claims)
    compared, differ, missing = 0, [], []
    for cid in sorted(set(now) | set(then)):
        a, b = now.get(cid, {}), then.get(cid, {})
        keys = sorted(set(a) | set(b))
        for key in keys:
            label = cid if len(keys) == 1 else f"{cid} ({' + '.join(RAW_NAMES.get(k, k) for k in key) or 'no dataset'})"
            if key not in a or key not in b:
                missing.append(label)
                continue
            compared += 1
            if a[key]["verdict"] == b[key]["verdict"]:
                continue
            effects = f"effect {_num(a[key]['effect'])} vs {_num(b[key]['effect'])}"
            if RAW in key:
                differ.append(f"- {label}: {a[key]['verdict']} on real {name}, {b[key]['verdict']} on emulated {name} "
                              f"({effects})")
            else:  # not fed by N-MNIST: the difference is not the emulator's
                differ.append(f"- {label}: {a[key]['verdict']} in this run, {b[key]['verdict']} in the emulated-{name} "
                              f"run, though not fed by {name} ({effects})")
    lines += [f"This run's verdicts ({ours.label}) against an emulated-{name} run: {where}.", "",
              f"{compared - len(differ)} of {compared} claim verdicts made in both runs agree; {len(differ)} differ"
              + (":" if differ else ".")]
    if differ:
        lines += ["", *differ]
    others = sorted(r for r in set(sources) | set(reference.data_sources)
                    if r != RAW and sources.get(r) != reference.data_sources.get(r))
    if others:
        lines += ["", "Note: " + "; ".join(
            f"{RAW_NAMES[r]} differs too (this run: {_kind(sources.get(r))}; snapshot: "
            f"{_kind(reference.data_sources.get(r))})" for r in others) + f", so not every difference is due to {name}."]
    if missing:
        lines += ["", f"Not compared (a verdict in only one of the two runs): {', '.join(missing)}."]
    lines += ["", f"The emulated run is one command away: `{EMULATED_RUN}` (then "
              f"`python -m pipeline.snapshot_claims results/claims.csv --out {DEFAULT_PATH}`).", ""]
    return lines
