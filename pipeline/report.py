"""Write results/claims.md|csv and the results/README.md front page.

Gathers the tables (results/tables/*.csv), the claim records (*.claims.json) and the provenance of
every stage the registry declares, and states for each table and claim of paper/targets.yaml
whether this run produced it ("not run yet" otherwise).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from metasnn.io import atomic_write_text
from metasnn.reporting.claims import read_claims, write_claims_summary
from metasnn.reporting.index import render_index
from pipeline.cli import StageContext, main


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tables", type=Path, nargs="*", default=[], help="table CSVs produced by the run")
    p.add_argument("--claims", type=Path, nargs="*", default=[], help="claim records (*.claims.json)")
    p.add_argument("--provenance", type=Path, nargs="*", default=[],
                   help="stage output directories (holding provenance.json) or provenance JSON files")
    p.add_argument("--readme", type=Path, required=True)
    p.add_argument("--claims-md", type=Path, required=True)
    p.add_argument("--claims-csv", type=Path, required=True)


def _collect_run(paths: list[Path], scale: str) -> dict:
    records = []
    for p in paths:
        f = p / "provenance.json" if p.is_dir() else p
        if f.is_file():
            records.append(json.loads(f.read_text()))
    sources = sorted({r.get("data_source") for r in records if r.get("data_source")})
    shas = sorted({r.get("git_sha") for r in records if r.get("git_sha")})
    return {
        "scale": scale,
        "data_source": ", ".join(sources) or "unknown",
        "git_sha": ", ".join(shas) or None,
        "git_dirty": any(r.get("git_dirty") for r in records),
        "wall_time_s": sum(float(r.get("wall_time_s") or 0.0) for r in records) if records else None,
        "n_stages": len(records),
        "devices": sorted({str(r.get("gpu") or r.get("device")) for r in records if r.get("device")}),
    }


def run(args: argparse.Namespace, ctx: StageContext) -> None:
    missing = [p for p in [*args.tables, *args.claims] if not p.is_file()]
    if missing:
        from metasnn.errors import DataError

        raise DataError(f"{missing[0]}: input table/claims file not found; run the stage that produces it first")
    found = read_claims(args.claims)
    write_claims_summary(args.claims_md, args.claims_csv, found)
    run_info = _collect_run(args.provenance, ctx.scale)
    ctx.data_source = run_info["data_source"]
    figures_dir = args.readme.parent / "figures"
    atomic_write_text(args.readme, render_index(tables=args.tables, figures_dir=figures_dir, claims=found, run=run_info))
    ctx.log.info("report: %d tables, %d claims with verdicts", len(args.tables), len(found))


if __name__ == "__main__":
    main("report", __doc__, add_arguments, run)
