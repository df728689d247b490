"""wu22_fewshot_hp table and figure: HP few-shot accuracy (meta-val / meta-test) on both meta-datasets,
mean ± std over seeds with a 95% CI over test tasks and the cost columns (metasnn.evaluation.cost) of the
trained model, beside sn22's MAML SNN numbers of the same run and data (read from
results/tables/sn22_table2_fewshot.csv when the sn22 stage produced it). Built by metasnn.reporting.fewshot_hp;
each row's data source comes from the runs' provenance records.
"""

from __future__ import annotations

import json
from pathlib import Path

from metasnn.reporting.fewshot_hp import sn22_rows, write_fewshot_hp
from metasnn.reporting.provenance import input_sources
from pipeline.cli import main


def add_arguments(p) -> None:
    p.add_argument("--results", type=Path, nargs="+", required=True, help="wu22_fewshot_hp result JSONs")
    p.add_argument("--provenance", type=Path, nargs="*", default=[],
                   help="their provenance.json files (default: the one beside each result)")
    p.add_argument("--sn22", type=Path, nargs="*", default=[], help="sn22_table2_fewshot.csv (optional)")
    p.add_argument("--tables-dir", type=Path, required=True)
    p.add_argument("--figures-dir", type=Path, required=True)


def run(args, ctx):
    results = [json.loads(p.read_text()) for p in args.results]
    sources = ctx.use_sources(input_sources(args.provenance or args.results, where="wu22_fewshot_table inputs"))
    ctx.seeds = sorted({r["seed"] for r in results})
    write_fewshot_hp(results, sn22_rows(args.sn22), scale=ctx.scale, sources=sources, tables_dir=args.tables_dir,
                     figures_dir=args.figures_dir)


if __name__ == "__main__":
    main("wu22_fewshot_table", __doc__, add_arguments, run)
