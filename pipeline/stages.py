"""The one stage registry: every stage of the pipeline, declared once.

The Snakemake rules (``pipeline/rules/stages.smk``) and ``dvc.yaml`` (``python -m
pipeline.export_dvc``) are both derived from ``STAGES``. To add a stage: write its CLI module
``pipeline/<name>.py`` (see ``pipeline/cli.py``), add a ``register(Stage(...))`` entry below in its
section, put its parameters in ``params.yaml`` + ``pipeline/schemas/config.schema.yaml`` (and the
scale deltas), then run ``python -m pipeline.export_dvc``. Types: ``pipeline/registry.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pipeline.registry import Each, Gather, In, Instance, Out, P, Resources, Stage, W  # noqa: F401

STAGES: dict[str, Stage] = {}


def instances(config: Mapping[str, Any]) -> list[Instance]:
    """Every job of the pipeline for ``config``, in registry order."""
    return [inst for stage in STAGES.values() for inst in stage.instances(config)]


# Wildcard names shared by stages, and the config key listing each one's values.
SEEDS = "seeds"
METADATASETS = "data.metadatasets"
CONFIG_OK = "results/config/validated.json"  # every other stage depends on it (see check_config)


def register(stage: Stage) -> Stage:  
    """Add a stage; every stage except ``check_config`` depends on the validated-config stamp."""
    if stage.name in STAGES:
        raise ValueError(f"stage {stage.name!r} registered twice")
    if stage.name != "check_config":
        stage = replace(stage, deps=(In(CONFIG_OK), *stage.deps))
    STAGES[stage.name] = stage
    return stage


# --- configuration (foundation) --------------------------------------------------------------
# Snakemake validates the merged config when it parses the Snakefile; DVC has no such hook, so this
# stage validates params.yaml (a DVC-only dependency) before anything else runs. Its output does
# not change when a value changes, so it never triggers reruns by itself.
register(Stage(
    name="check_config",
    module="pipeline.check_config",
    description="validate params.yaml against pipeline/schemas/config.schema.yaml before any stage runs",
    args=[
        ("--params", In("params.yaml", engines=("dvc",))),
        ("--out", Out(CONFIG_OK, cache=False)),
    ],
    code=("pipeline/config.py", "pipeline/schemas/config.schema.yaml"),
    resources=Resources(threads=1, mem_mb=500, runtime_min=2),
))


# --- data (issue 3) -------------------------------------------------------------------------


# --- sn22 (issue 4) -------------------------------------------------------------------------


# --- wu22 hybrid plasticity (issue 5) --------------------------------------------------------


# --- dsp / mp23 / ip2 / cross-dataset (issue 6) ----------------------------------------------


# --- hardware (issue 7) ----------------------------------------------------------------------


# --- report (foundation) ---------------------------------------------------------------------
# The report stage gathers every table, claims file and provenance record that the stages above
# declare as outputs; it must stay the last registration.

def _outputs_matching(config: Mapping[str, Any], suffix: str, prefix: str = "results/") -> list[str]:
    paths = []
    for inst in instances(config):
        if inst.stage.name == "report":
            continue
        for out in inst.outputs():
            if out.path.startswith(prefix) and out.path.endswith(suffix):
                paths.append(out.path)
    return paths


def _provenance_sources(config: Mapping[str, Any]) -> list[str]:
    """Directory outputs (each holds a provenance.json) and explicit provenance files."""
    paths = []
    for inst in instances(config):
        if inst.stage.name == "report":
            continue
        for out in inst.outputs():
            if out.directory or out.path.endswith("provenance.json"):
                paths.append(out.path)
    return paths


register(Stage(
    name="report",
    module="pipeline.report",
    description="claims.md/csv and the results/README.md front page from every table the run produced",
    args=[
        ("--tables", Gather(lambda c: _outputs_matching(c, ".csv", "results/tables/"), "tables")),
        ("--claims", Gather(lambda c: _outputs_matching(c, ".claims.json", "results/tables/"), "claims")),
        ("--provenance", Gather(_provenance_sources, "provenance")),
        ("--readme", Out("results/README.md")),
        ("--claims-md", Out("results/claims.md")),
        ("--claims-csv", Out("results/claims.csv")),
    ],
    code=("metasnn/reporting", "metasnn/evaluation/statistics.py", "paper/targets.yaml"),
    resources=Resources(threads=1, mem_mb=1000, runtime_min=5),
))
