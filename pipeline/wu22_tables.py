"""wu22 tables and figures from the single-digit runs: wu22_fig3_convergence (GP / LP / fine-tune /
HP curves and final accuracy), wu22_fig4_crop and wu22_fig4_noise (accuracy vs ci / nl),
wu22_fig4_distance (membrane distance / cosine similarity corrupted vs clean), with the claim
verdicts wu22-C1 (fig3), wu22-C2 (crop + noise, in the crop claims file) and wu22-C3 (distance),
each resting on paired tests over seeds (metasnn.evaluation.statistics). The tables and claims are
built by metasnn.reporting.wu22.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from metasnn.reporting import wu22
from metasnn.reporting.provenance import input_sources
from pipeline.cli import main
from pipeline.cli_flags import add_table_dirs


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--metrics", type=Path, nargs="+", required=True, help="wu22_train metrics JSONs")
    p.add_argument("--curves", type=Path, nargs="+", required=True, help="wu22_train curves CSVs (same order)")
    p.add_argument("--robustness", type=Path, nargs="+", required=True, help="wu22_robustness JSONs (one per seed)")
    p.add_argument("--provenance", type=Path, nargs="+", default=[],
                   help="wu22_train provenance.json files (their data sources feed every row and claim)")
    p.add_argument("--margin", type=float, required=True,
                   help="wu22-C1 'HP >= GP': non-inferiority margin in accuracy points")
    add_table_dirs(p)


def run(args: argparse.Namespace, ctx) -> None:
    sources = ctx.use_sources(input_sources(args.provenance, where="wu22_tables inputs"))
    runs = wu22.read_runs(args.metrics, args.curves)
    robust = wu22.read_robustness(args.robustness)
    ctx.seeds = sorted({s for m in runs.values() for s in m})
    wu22.write_wu22(runs, robust, margin=args.margin, scale=ctx.scale, sources=sources, tables_dir=args.tables_dir,
                    figures_dir=args.figures_dir)


if __name__ == "__main__":
    main("wu22_tables", __doc__, add_arguments, run)
