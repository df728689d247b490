"""dsp tables, figures and claims from the dsp_train / dsp_beta_sweep runs.

dsp_table1_methods (STDP / STBP / EIHL (approximate) / dsp few-shot accuracy per meta-dataset, with
cost columns), dsp_table3_fixed_vs_dynamic (accuracy and convergence step, fixed vs meta-learned η),
dsp_fig4_eta_hist (distribution of the learned η_ij with summary statistics), dsp_fig5_beta_sweep
(accuracy vs meta learning rate β). Claims dsp-C1..C4 are tested with paired t-tests over
(dataset, seed) pairs (dsp-C3 once per swept dataset) and written next to the tables as
<id>.claims.json. The tables and claims are built by metasnn.reporting.dsp.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from metasnn.reporting import dsp
from metasnn.reporting.provenance import input_sources
from pipeline.cli import main
from pipeline.cli_flags import add_table_dirs


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs", type=Path, nargs="+", required=True,
                   help="metrics.json of the dsp_train runs (tasks.json, curve.csv, model.pt, provenance.json beside it)")
    p.add_argument("--sweep", type=Path, nargs="*", default=[], help="metrics.json of the dsp_beta_sweep runs")
    p.add_argument("--sweep-datasets", nargs="*",
                   help="datasets of the beta sweep: their dsp_train dsp runs supply beta = dsp.beta")
    p.add_argument("--heterogeneity-cv", type=float, required=True,
                   help="dsp-C2: the learned eta counts as heterogeneous when its CV exceeds this")
    add_table_dirs(p)
    p.add_argument("--provenance", type=Path, required=True, help="provenance.json of this stage")


def run(args: argparse.Namespace, ctx) -> None:
    sources = ctx.use_sources(input_sources([*args.runs, *args.sweep], where="dsp_tables inputs"))
    runs = dsp.load_runs(args.runs, args.sweep, args.sweep_datasets)
    ctx.seeds = runs.seeds
    dsp.write_dsp(runs, heterogeneity_cv=args.heterogeneity_cv, scale=ctx.scale, sources=sources,
                  tables_dir=args.tables_dir, figures_dir=args.figures_dir)
    args.provenance.parent.mkdir(parents=True, exist_ok=True)
    ctx.write_provenance(args.provenance.parent)


if __name__ == "__main__":
    main("dsp_tables", __doc__, add_arguments, run)
