"""Snapshot a run's claim verdicts for the report's real-vs-emulated comparison:
``python -m pipeline.snapshot_claims results/claims.csv --out paper/emulated_claims.json``.

Run it after a pipeline run with N-MNIST emulated (``data.source.nmnist: synthetic``), at the scale the
comparison is for. It records every claim's verdict, effect and p with the run's scale, data sources (merged
from the provenance records, default: every ``provenance.json`` under data/fetched and results/) and commit
(metasnn.reporting.reference_claims). Not a pipeline stage. Exit status: 0, or 2 on a user error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from metasnn.errors import MetasnnError
from metasnn.reporting.provenance import read_provenance
from metasnn.reporting.reference_claims import DEFAULT_PATH, read_claims_csv, snapshot_claims, write_snapshot


def default_provenance(root: Path = Path(".")) -> list[Path]:
    return sorted(root.glob("data/fetched/*/provenance.json")) + sorted(root.glob("results/**/provenance.json"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.snapshot_claims", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("claims_csv", type=Path, help="results/claims.csv of the emulated run")
    parser.add_argument("--provenance", type=Path, nargs="*", default=None,
                        help="the run's stage outputs or provenance.json files (default: all under data/fetched, results)")
    parser.add_argument("--out", type=Path, default=Path(DEFAULT_PATH))
    args = parser.parse_args(argv)
    try:
        paths = default_provenance() if args.provenance is None else args.provenance
        records = [r for r in map(read_provenance, paths) if r is not None]
        snapshot = snapshot_claims(read_claims_csv(args.claims_csv), records, where=str(args.claims_csv))
        write_snapshot(args.out, snapshot)
    except MetasnnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.out}: {len(snapshot.claims)} claims, {snapshot.scale} scale, "
          f"{snapshot.to_dict()['data_source']}, commit {snapshot.commit or 'unknown'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
