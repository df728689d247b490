"""sn22 tables, figures and claims from the per-seed results of the sn22 stages.

Writes results/tables/<id>.csv|md, results/figures/<id>.png and results/tables/<id>.claims.json for
sn22_table2_fewshot (claims sn22-C1, C2), sn22_fig3_inner_steps (C3), sn22_fig4_frozen_layers (C4),
sn22_table3_update_magnitudes (C5), sn22_fig5_thresholded_updates (C6) and sn22_fig6_transfer (C7).
Accuracies are in %. Each row: mean ± std over seeds; 95% CI over the pooled evaluation tasks where
task-level values exist. Table 2 also carries sn22's own statistic (std over evaluation repeats of
one model, averaged over seeds), labelled. The tables and claims are built by metasnn.reporting.sn22;
the claim margins and thresholds come from params.yaml (sn22.claims).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from metasnn.reporting import sn22
from metasnn.reporting.provenance import input_sources
from pipeline.cli import main
from pipeline.cli_flags import add_table_dirs


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--evaluations", type=Path, nargs="+", required=True, help="sn22_evaluate metrics.json files")
    p.add_argument("--curves", type=Path, nargs="+", required=True, help="sn22_metatrain curve.csv files")
    p.add_argument("--inner-steps", type=Path, nargs="*", default=[], help="sn22_inner_steps results.json files")
    p.add_argument("--frozen", type=Path, nargs="*", default=[], help="sn22_frozen_evaluate metrics.json files")
    p.add_argument("--threshold", type=Path, nargs="*", default=[], help="sn22_threshold_evaluate metrics.json files")
    p.add_argument("--transfer", type=Path, nargs="*", default=[], help="sn22_transfer results.json files")
    p.add_argument("--noninferiority-margin", type=float, required=True,
                   help="accuracy points: 'about equal' (C2, C6) means the CI of the difference stays above -margin")
    p.add_argument("--frozen-margin", type=float, required=True,
                   help="accuracy points: 'costs little' (C4) means the CI of frozen-minus-full stays above -margin")
    p.add_argument("--transfer-shots-holds", type=float, required=True,
                   help="C7 holds when transfer needs on average at least this many shots to match MAML SNN 1-shot")
    p.add_argument("--transfer-shots-fails", type=float, required=True,
                   help="C7 does not hold when transfer matches MAML SNN 1-shot at fewer shots than this on average")
    add_table_dirs(p)


def run(args: argparse.Namespace, ctx) -> None:
    inputs = [*args.evaluations, *args.frozen, *args.threshold, *args.inner_steps, *args.transfer]
    sources = ctx.use_sources(input_sources(inputs, where="sn22_tables inputs"))  # provenance.json beside each
    runs = sn22.load_runs(evaluations=args.evaluations, curves=args.curves, inner_steps=args.inner_steps,
                          frozen=args.frozen, threshold=args.threshold, transfer=args.transfer)
    ctx.seeds = runs.seeds
    margins = sn22.Margins(noninferiority=args.noninferiority_margin, frozen=args.frozen_margin,
                           transfer_shots_holds=args.transfer_shots_holds,
                           transfer_shots_fails=args.transfer_shots_fails)
    sn22.write_sn22(runs, margins, scale=args.scale, sources=sources, tables_dir=args.tables_dir,
                    figures_dir=args.figures_dir)
    ctx.log.info("sn22 tables written to %s", args.tables_dir)


if __name__ == "__main__":
    main("sn22_tables", __doc__, add_arguments, run)
