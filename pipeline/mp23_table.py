"""mp23_rule_ablation table and figure: few-shot meta-test accuracy of the mp23 rule variants (ABCD / BD /
A-only / fixed) per meta-dataset, mean ± std over seeds with a 95% CI over test tasks and cost columns; claim
mp23-C1 (the meta-learned ABCD rule beats the fixed and ablated rules): paired t-test over seeds of ABCD
minus the strongest other variant (by mean accuracy), seed values averaged over the datasets.
Built by metasnn.reporting.mp23; each row's data source comes from the runs' provenance records.
"""

from __future__ import annotations

import json
from pathlib import Path

from metasnn.reporting.mp23 import write_mp23
from metasnn.reporting.provenance import input_sources
from pipeline.cli import main


def add_arguments(p) -> None:
    p.add_argument("--runs", type=Path, nargs="+", required=True, help="mp23_train output directories")
    p.add_argument("--tables-dir", type=Path, required=True)
    p.add_argument("--figures-dir", type=Path, required=True)


def run(args, ctx):
    results = [json.loads((d / "result.json").read_text()) for d in args.runs]
    sources = ctx.use_sources(input_sources(args.runs, where="mp23_table --runs"))
    ctx.seeds = sorted({r["seed"] for r in results})
    claim = write_mp23(results, scale=ctx.scale, sources=sources, tables_dir=args.tables_dir,
                       figures_dir=args.figures_dir)
    if claim is not None:
        ctx.log.info("mp23-C1: %s (effect %.2f, p=%s)", claim.verdict, claim.effect, claim.p_value)


if __name__ == "__main__":
    main("mp23_table", __doc__, add_arguments, run)
