"""ip2_learning_to_learn table and figure: inner steps to criterion at each task of the learning-to-learn
sequence for the intrinsic-plasticity RSNN and the point-neuron baseline (mean ± std over seeds), the
per-seed OLS slope of steps vs task index, and meta-test accuracy. Claim ip2-C1 (learning gets faster across
tasks with intrinsic plasticity, not with point neurons): intersection-union test — holds only if both the
one-sample t-test of the intrinsic slopes (< 0) and the paired t-test of intrinsic − point slopes (< 0) are
significant; reported p = the larger of the two. Built by metasnn.reporting.ip2; the data sources come from
the runs' provenance records.
"""

from __future__ import annotations

import json
from pathlib import Path

from metasnn.reporting.ip2 import write_ip2
from metasnn.reporting.provenance import input_sources
from pipeline.cli import main


def add_arguments(p) -> None:
    p.add_argument("--runs", type=Path, nargs="+", required=True, help="ip2_train output directories")
    p.add_argument("--tables-dir", type=Path, required=True)
    p.add_argument("--figures-dir", type=Path, required=True)


def run(args, ctx):
    results = [json.loads((d / "result.json").read_text()) for d in args.runs]
    sources = ctx.use_sources(input_sources(args.runs, where="ip2_table --runs"))
    ctx.seeds = sorted({r["seed"] for r in results})
    claim = write_ip2(results, scale=ctx.scale, sources=sources, tables_dir=args.tables_dir,
                      figures_dir=args.figures_dir)
    ctx.log.info("ip2-C1: %s (%s)", claim.verdict, claim.note)


if __name__ == "__main__":
    main("ip2_table", __doc__, add_arguments, run)
