"""Cross-dataset table of every few-shot method a registered stage trains (its model file names it): gathers
the runs of pipeline.cross_dataset_eval (one per trained model: method × train meta-dataset × seed, each meta-tested on its
own and every other meta-dataset) into the cross_dataset table, figure and claim dsp-C5 (dsp vs STBP
cross-dataset accuracy, paired over seeds; "not run" with the reason when either is missing), built by
metasnn.reporting.cross_dataset. Every row carries the cost columns (metasnn.evaluation.cost) its runs measured
and the data sources of its train and test meta-datasets. A run made with other episodes, ways or shots than
this table states is an error naming it.
"""

from __future__ import annotations

import json
from pathlib import Path

from metasnn.errors import DataError
from metasnn.reporting.cross_dataset import gather_runs, write_cross_dataset
from metasnn.reporting.provenance import input_sources
from pipeline.cli import main


def add_arguments(p) -> None:
    p.add_argument("--runs", type=Path, nargs="*", default=[], help="run directories of pipeline.cross_dataset_eval")
    p.add_argument("--data", type=Path, nargs="+", required=True, help="meta-dataset directories (data/meta/<dataset>)")
    p.add_argument("--episodes", type=int, default=20, help="meta-test episodes per (model, test dataset)")
    p.add_argument("--ways", type=int, default=5)
    p.add_argument("--shots", type=int, default=1)
    p.add_argument("--tables-dir", type=Path, required=True)
    p.add_argument("--figures-dir", type=Path, required=True)
    p.add_argument("--provenance", type=Path, required=True, help="provenance.json of the table")


def _read(run: Path, args) -> dict:
    path = run / "result.json"
    if not path.is_file():
        raise DataError(f"{run}: no result.json; pass run directories of pipeline.cross_dataset_eval")
    result = json.loads(path.read_text())
    for key in ("episodes", "ways", "shots"):
        if result[key] != getattr(args, key):
            raise DataError(f"{run}: made with {key}={result[key]}, the table states {getattr(args, key)}; rerun it")
    return result


def run(args, ctx):
    results = [_read(r, args) for r in args.runs]  # before anything is written: a stale run fails at once
    ctx.use_sources(input_sources(args.data, where="cross_dataset --data"))
    ctx.use_sources(input_sources(args.runs, where="cross_dataset --runs"))  # runs of stale models conflict
    ctx.seeds = sorted({r["seed"] for r in results})
    runs = gather_runs(results)
    claim = write_cross_dataset(runs, ways=args.ways, shots=args.shots, episodes=args.episodes,
                                scale=ctx.scale, sources=ctx.data_sources, tables_dir=args.tables_dir,
                                figures_dir=args.figures_dir)
    ctx.log.info("dsp-C5: %s", claim.verdict)
    ctx.write_provenance(args.provenance.parent, methods=sorted({k[0] for k in runs.acc}))


if __name__ == "__main__":
    main("cross_dataset", __doc__, add_arguments, run)
