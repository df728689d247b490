"""Output helpers of the registry sections: run files, table stages, and outputs gathered from other stages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.registry import ArgValue, Gather, Out, Resources, Stage
from pipeline.stages.common import instances, stage

TABLES, FIGURES = "results/tables", "results/figures"
TABLE_CODE = ("metasnn/reporting", "metasnn/evaluation/statistics.py", "metasnn/evaluation/cost.py", "paper/targets.yaml")
TABLE_RESOURCES = Resources(threads=1, mem_mb=1000, runtime_min=5)


def run_outs(run: str, *files: tuple[str, str, str]) -> list[tuple[str, Out]]:
    """Arguments for the files of one run directory: ``(flag, file name, kind)`` each."""
    return [(flag, Out(f"{run}/{name}", kind=kind)) for flag, name, kind in files]


def table_outs(tables: tuple[str, ...], exts: tuple[str, ...] = ("csv", "md", "claims.json"),
               claims: tuple[str, ...] = (), figures: tuple[str, ...] | None = None) -> tuple[Out, ...]:
    """A table stage's outputs: each table's ``exts``, then the claims of ``claims``, then the figures."""
    return (*[Out(f"{TABLES}/{t}.{ext}") for t in tables for ext in exts],
            *[Out(f"{TABLES}/{t}.claims.json") for t in claims],
            *[Out(f"{FIGURES}/{t}.png") for t in (tables if figures is None else figures)])


def table_stage(name: str, inputs: Sequence[tuple[str, ArgValue]], after: Sequence[tuple[str, ArgValue]] = (),
                code: tuple[str, ...] = TABLE_CODE, resources: Resources = TABLE_RESOURCES, **fields: Any) -> Stage:
    """A stage writing tables and figures: args ``inputs``, ``--tables-dir``/``--figures-dir``, then ``after``."""
    return stage(name, args=[*inputs, ("--tables-dir", TABLES), ("--figures-dir", FIGURES), *after], code=code,
                 resources=resources, **fields)


def outputs_matching(config: Mapping[str, Any], suffix: str, prefix: str = "results/") -> list[str]:
    """Outputs of every job but the report's whose path has ``prefix`` and ``suffix``."""
    return [out.path for inst in instances(config) if inst.stage.name != "report" for out in inst.outputs()
            if out.path.startswith(prefix) and out.path.endswith(suffix)]


def tables_matching(suffix: str, label: str) -> Gather:
    """Every output in the tables directory whose name ends in ``suffix`` (the report's and others' inputs)."""
    return Gather(lambda c: outputs_matching(c, suffix, f"{TABLES}/"), label)
