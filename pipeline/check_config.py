"""Validate params.yaml against the config schema (the DVC run's first stage).

Snakemake validates the merged configuration when it parses the Snakefile; ``dvc repro`` has no
such hook, so every DVC stage depends on this stage's stamp. The stamp's content does not depend on
parameter values, so a valid edit reruns only the stages whose own parameters changed.

Beyond the schema: a key written twice in one file, an integer key holding ``5.0`` and a NaN/inf
value are errors too. ``--configfile`` deltas (e.g. ``config/scales/paper.yaml``) are merged in
order and checked the same way, as the Snakefile does with Snakemake's ``--configfile``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from metasnn.io import atomic_write_json
from pipeline.cli import StageContext, main
from pipeline.config import SCHEMA, merge_files, validate_config


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", type=Path, default=Path("params.yaml"), help="the parameter file to validate")
    p.add_argument("--configfile", type=Path, action="append", default=[],
                   help="a delta merged over --params before validating (repeatable, in order)")
    p.add_argument("--out", type=Path, required=True, help="stamp written when the file is valid")


def run(args: argparse.Namespace, ctx: StageContext) -> None:
    cfg, layers = merge_files(args.params, args.configfile)
    validate_config(cfg, source=" + ".join(map(str, [args.params, *args.configfile])), layers=layers)
    atomic_write_json(args.out, {"valid": True, "params": str(args.params), "schema": str(SCHEMA.name)})
    ctx.log.info("%s is valid", args.params)


if __name__ == "__main__":
    main("check_config", __doc__, add_arguments, run)
