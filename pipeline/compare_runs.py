"""Diff the tables of two runs: ``python -m pipeline.compare_runs RUN_A RUN_B [--table ID] [--tol 0]``.

A run is a ``results/`` directory (or a copy of one, e.g. from another branch, scale or
``dvc exp``). For every table present in either run, rows are matched on the table's key columns
(``paper/targets.yaml``) and the measured columns compared; prints one Markdown section per table
with changed rows (``ours A → ours B``, difference), rows only in one run, and a one-line summary.
Exit status: 0 when the runs agree within ``--tol``, 1 when they differ, 2 on a user error.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

from metasnn.errors import DataError, MetasnnError
from metasnn.reporting.targets import load_targets

MEASURED = ("reproduced_mean", "reproduced_std", "ci95_low", "ci95_high", "n_seeds", "n_tasks")


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _key_columns(table_id: str, rows: list[dict[str, str]]) -> list[str]:
    targets = load_targets().tables
    if table_id in targets:
        return list(targets[table_id].key)
    if not rows:
        return []
    return [c for c in rows[0] if c not in MEASURED and c not in ("paper_value", "paper_pm", "note")][:1]


def _num(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def compare_tables(table_id: str, a: list[dict[str, str]], b: list[dict[str, str]], tol: float) -> tuple[list[str], int]:
    keys = _key_columns(table_id, a or b)
    index_a = {tuple(r.get(k, "") for k in keys): r for r in a}
    index_b = {tuple(r.get(k, "") for k in keys): r for r in b}
    lines, differences = [], 0
    for key in sorted(set(index_a) | set(index_b)):
        ra, rb = index_a.get(key), index_b.get(key)
        name = " / ".join(key)
        if ra is None or rb is None:
            differences += 1
            lines.append(f"| {name} | only in {'B' if ra is None else 'A'} | | |")
            continue
        for col in MEASURED:
            va, vb = ra.get(col, ""), rb.get(col, "")
            if va == vb:
                continue
            na, nb = _num(va), _num(vb)
            if na is not None and nb is not None and math.isclose(na, nb, abs_tol=tol, rel_tol=0.0):
                continue
            differences += 1
            delta = f"{nb - na:+.4g}" if na is not None and nb is not None else ""
            lines.append(f"| {name} | {col} | {va or '–'} → {vb or '–'} | {delta} |")
    return lines, differences


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.compare_runs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_a", type=Path, help="results directory of run A")
    parser.add_argument("run_b", type=Path, help="results directory of run B")
    parser.add_argument("--table", action="append", default=None, help="only this table id (repeatable)")
    parser.add_argument("--tol", type=float, default=0.0, help="absolute tolerance for numeric differences")
    args = parser.parse_args(argv)
    try:
        dirs = []
        for run in (args.run_a, args.run_b):
            tables = run / "tables" if (run / "tables").is_dir() else run
            if not tables.is_dir() or not any(tables.glob("*.csv")):
                raise DataError(f"{run}: no tables found (expected a results/ directory with tables/*.csv)")
            dirs.append(tables)
        ids = sorted({p.stem for d in dirs for p in d.glob("*.csv")})
        if args.table:
            ids = [t for t in ids if t in args.table]
        total = 0
        for tid in ids:
            pa, pb = dirs[0] / f"{tid}.csv", dirs[1] / f"{tid}.csv"
            if not pa.is_file() or not pb.is_file():
                total += 1
                print(f"## {tid}\n\nonly in run {'A' if pa.is_file() else 'B'}\n")
                continue
            lines, n = compare_tables(tid, _read(pa), _read(pb), args.tol)
            total += n
            if lines:
                print(f"## {tid}\n\n| row | column | A → B | B − A |\n|---|---|---|---|")
                print("\n".join(lines) + "\n")
        print(f"{len(ids)} tables compared, {total} difference(s) beyond tol={args.tol:g}")
        return 1 if total else 0
    except MetasnnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
