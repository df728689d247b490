"""Project the paper-scale cost of every stage from a rehearsal run (the last step of make paper-rehearsal).

Reads the cost each rehearsal job recorded in its sidecar (``logs/<stage>/<job>.run.json``), renders
every job's command at the rehearsal and at the paper scale to find how much each metered loop grows,
and writes the projection table (``<out>.md``, ``<out>.csv``) and, with ``--resources``, the paper-scale
scheduler requests (memory, runtime, threads, GPU) that the Snakemake rules read. The model is
described in metasnn/reporting/projection.py. Not a pipeline stage. Exit status: 0, or 2 on a user error.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import platform
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from metasnn.errors import MetasnnError
from metasnn.io import atomic_write_text
from metasnn.reporting.projection import (
    JobProjection,
    LoopProjection,
    Sizing,
    dir_mb,
    outputs_mb,
    paper_units,
    project_stage,
    resources,
    write_projection,
)
from pipeline.cli import build_parser
from pipeline.config import load_config
from pipeline.registry import Instance
from pipeline.stages import STAGES


def parse_args(inst: Instance, config: dict[str, Any]) -> argparse.Namespace:
    """The job's arguments at ``config``'s scale, parsed by the stage's own parser."""
    module = importlib.import_module(inst.stage.module)
    parser = build_parser(inst.stage.name, module.__doc__, module.add_arguments)
    return parser.parse_args(shlex.split(inst.command(config))[3:])


def measure(workdir: Path, reh_cfg: dict[str, Any], paper_cfg: dict[str, Any]) -> dict[str, list[JobProjection]]:
    """Every rehearsal job that recorded its cost, with its loops sized at paper scale, by stage."""
    jobs: dict[str, list[JobProjection]] = {}
    growth: dict[str, float] = {}  # meta-dataset / raw dataset -> full-size / rehearsal-size factor
    for stage in STAGES.values():
        for inst in stage.instances(reh_cfg):
            sidecar = (workdir / inst.log_path()).with_suffix(".run.json")
            cost = json.loads(sidecar.read_text()).get("cost") if sidecar.is_file() else None
            if cost is None:
                continue
            reh, pap = parse_args(inst, reh_cfg), parse_args(inst, paper_cfg)
            loops = [LoopProjection(lp["desc"], lp["units"], lp["seconds"], lp["first_s"],
                                    paper_units(lp, reh, pap, (reh_cfg, paper_cfg)), " x ".join(lp["per"]) or "–")
                     for lp in cost["loops"]]
            disk = outputs_mb(workdir, [o.path for o in inst.outputs()])
            data = [lp for lp in loops if lp.unit == "recordings"]
            factor = max((lp.paper_units / lp.units for lp in data), default=1.0)
            if data:
                growth[getattr(reh, "dataset", None) or reh.raw] = factor
            reads = [d.removeprefix("data/meta/") for d in inst.deps(reh_cfg) if d.startswith("data/meta/")]
            extra = sum(dir_mb(workdir / "data/meta" / d) * (growth.get(d, 1.0) - 1) for d in reads)
            if data and any(o.path.startswith("data/meta/") for o in inst.outputs()):
                extra += disk * (factor - 1)  # a build holds every recording's binned counts until it writes them
            jobs.setdefault(stage.name, []).append(JobProjection(
                stage.name, dict(inst.wildcards), cost["process_wall_s"], cost["peak_rss_mb"], disk, loops,
                data_growth_mb=extra, disk_growth_mb=disk * (factor - 1)))
    return jobs


def threads_of(inst: Instance, paper_cfg: dict[str, Any]) -> int:
    """A job's threads at paper scale: its --threads argument where it has one, else the registry's."""
    return int(getattr(parse_args(inst, paper_cfg), "threads", None) or inst.stage.resources.threads)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.paper_projection", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("rehearsal"), help="the rehearsal's work directory")
    parser.add_argument("--out", type=Path, default=Path("results/tables/paper_projection"),
                        help="output stem, relative to --workdir (.md and .csv are written)")
    parser.add_argument("--resources", type=Path, default=None,
                        help="also write the paper-scale scheduler requests here (config/resources/paper.yaml)")
    parser.add_argument("--margin", type=float, default=1.5, help="requests = projection x this, rounded up")
    parser.add_argument("--cores", type=int, default=os.cpu_count(), help="cores the rehearsal ran on")
    parser.add_argument("--wall-s", type=float, default=None, help="the rehearsal's wall time (for the header)")
    args = parser.parse_args(argv)
    try:
        reh_cfg, paper_cfg = load_config("rehearsal"), load_config("paper")
        jobs = measure(args.workdir, reh_cfg, paper_cfg)
        if not jobs:
            raise MetasnnError(f"{args.workdir}: no rehearsal job recorded its cost (logs/*/*.run.json); "
                               "run `make paper-rehearsal` first")
        rows = []
        for name, stage in STAGES.items():
            paper = [dict(i.wildcards) for i in stage.instances(paper_cfg)]
            if paper and name in jobs:
                rows.append(project_stage(name, paper, jobs[name], gpu=bool(stage.resources.gpu)))
        missing = [n for n, s in STAGES.items() if n not in jobs and any(True for _ in s.instances(paper_cfg))]
        host = f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPUs ({args.cores} used)"
        wall = f", rehearsal wall time {args.wall_s / 60:.1f} min" if args.wall_s else ""
        header = [f"# Paper-scale cost, projected from the rehearsal ({datetime.now(UTC):%Y-%m-%d})", "",
                  f"REHEARSAL MEASUREMENTS, projected: {host}{wall}, one thread per job (sn22 threads: 1), as "
                  f"many jobs at once as cores. Jobs per stage are the paper config's ({len(paper_cfg['seeds'])} "
                  "seeds; config/scales/paper.yaml)." + (f" Not measured: {', '.join(missing)}." if missing else "")]
        write_projection(args.workdir / args.out, rows, header=header)
        if args.resources is not None:
            threads = {name: max((threads_of(i, paper_cfg) for i in STAGES[name].instances(paper_cfg)), default=1)
                       for name in jobs}
            sized = resources(rows, threads, Sizing(margin=args.margin))
            note = (f"# Paper-scale scheduler requests, written by `python -m pipeline.paper_projection` from the "
                    f"rehearsal's measurements\n# ({host}, {datetime.now(UTC):%Y-%m-%d}): mem_mb = peak RSS x "
                    f"{args.margin}, runtime_min = projected CPU hours per job x {args.margin}\n# (rounded up; "
                    "GPU stages: a CPU upper bound, no GPU was measured). pipeline/rules/stages.smk reads this file "
                    "when the config's scale is paper.\n")
            atomic_write_text(args.resources, note + yaml.safe_dump(sized, sort_keys=False))
        total = sum(r.total_h for r in rows)
        print(f"paper_projection: {len(rows)} stages, {total:.1f} CPU-hours projected -> {args.workdir / args.out}.md"
              + (f", {args.resources}" if args.resources else ""))
    except MetasnnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0 if math.isfinite(total) else 1


if __name__ == "__main__":
    sys.exit(main())
