"""Write results/claims.md|csv and the results/README.md front page.

Gathers the tables (results/tables/*.csv), the claim records (*.claims.json) and the provenance of
every stage the registry declares, and states for each table and claim of paper/targets.yaml
whether this run produced it ("not run yet" otherwise), and per raw dataset what fed the run.
With --reference-claims (a snapshot of an emulated-N-MNIST run's claims, made by
``python -m pipeline.snapshot_claims``) the front page lists every claim whose verdict differs
between real and emulated N-MNIST; an absent file or one of another scale is said so, not compared.
Built by metasnn.reporting.index.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from metasnn.errors import DataError
from metasnn.io import atomic_write_text
from metasnn.reporting.claims import read_claims, write_claims_summary
from metasnn.reporting.index import collect_run, render_index
from metasnn.reporting.reference_claims import read_snapshot
from pipeline.cli import StageContext, main


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tables", type=Path, nargs="*", default=[], help="table CSVs produced by the run")
    p.add_argument("--claims", type=Path, nargs="*", default=[], help="claim records (*.claims.json)")
    p.add_argument("--provenance", type=Path, nargs="*", default=[],
                   help="stage output directories (holding provenance.json) or provenance JSON files")
    p.add_argument("--reference-claims", type=Path, nargs="?", default=None, const=None,
                   help="claims snapshot of an emulated-N-MNIST run (paper/emulated_claims.json; may be absent)")
    p.add_argument("--readme", type=Path, required=True)
    p.add_argument("--claims-md", type=Path, required=True)
    p.add_argument("--claims-csv", type=Path, required=True)


def run(args: argparse.Namespace, ctx: StageContext) -> None:
    missing = [p for p in [*args.tables, *args.claims] if not p.is_file()]
    if missing:
        raise DataError(f"{missing[0]}: input table/claims file not found; run the stage that produces it first")
    found = read_claims(args.claims)
    write_claims_summary(args.claims_md, args.claims_csv, found)
    run_info = collect_run(args.provenance, ctx.scale)
    ctx.use_sources(run_info["data_sources"])
    ref_path = args.reference_claims
    reference = read_snapshot(ref_path) if ref_path is not None and ref_path.is_file() else None
    page = render_index(tables=args.tables, figures_dir=args.readme.parent / "figures", claims=found, run=run_info,
                        reference=reference, reference_path=None if ref_path is None else str(ref_path))
    atomic_write_text(args.readme, page)
    ctx.log.info("report: %d tables, %d claims with verdicts", len(args.tables), len(found))


if __name__ == "__main__":
    main("report", __doc__, add_arguments, run)
