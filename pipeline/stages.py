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
# fetch_data writes data/fetched/<raw> (manifest; synthetic files inside it, download/local point at
# data.root); build_metadataset writes data/meta/<dataset> (sparse per-recording counts + index);
# inspect_data writes the example-frame figure (sn22 Fig 2 style) and dataset statistics.
RAW_OF_METADATASET = {"double_nmnist": "nmnist", "double_asldvs": "asldvs"}  # = metasnn.data.metadataset.RAW_OF

register(Stage(
    name="fetch_data",
    module="pipeline.fetch_data",
    description="raw N-MNIST / ASL-DVS recordings (synthetic emulator, tonic download or a local copy) + manifest",
    matrix={"raw": ("nmnist", "asldvs")},
    args=[
        ("--raw", W("raw")),
        ("--source", P("data.source")),
        ("--root", P("data.root")),
        ("--on-corrupt", P("data.on_corrupt")),
        ("--seed", P("data.synthetic.seed")),
        ("--nmnist-train-per-class", P("data.synthetic.nmnist_train_per_class")),
        ("--nmnist-test-per-class", P("data.synthetic.nmnist_test_per_class")),
        ("--asldvs-per-class", P("data.synthetic.asldvs_per_class")),
        ("--out", Out("data/fetched/{raw}", directory=True)),
    ],
    code=("metasnn/data",),
    resources=Resources(threads=1, mem_mb=2000, runtime_min=30),
))

register(Stage(
    name="build_metadataset",
    module="pipeline.build_metadataset",
    description="Double N-MNIST / Double ASL-DVS meta-dataset (sn22): binned per-recording counts + class splits",
    matrix={"dataset": METADATASETS},
    derived={"raw": lambda wc: RAW_OF_METADATASET[wc["dataset"]]},
    args=[
        ("--dataset", W("dataset")),
        ("--raw", In("data/fetched/{raw}", directory=True)),
        ("--sampling", P("data.sampling")),
        ("--time-bin-ms", P("data.time_bin_ms")),
        ("--window-ms", P("data.window_ms")),
        ("--on-corrupt", P("data.on_corrupt")),
        ("--recordings-per-class", P("data.recordings_per_class.{dataset}")),
        ("--asl-train-fraction", P("data.asl_train_fraction")),
        ("--out", Out("data/meta/{dataset}", directory=True)),
    ],
    code=("metasnn/data",),
    resources=Resources(threads=1, mem_mb=4000, runtime_min=60),
))

register(Stage(
    name="inspect_data",
    module="pipeline.inspect_data",
    description="dataset statistics and a figure of example frames of the meta-datasets (like sn22 Fig 2)",
    args=[
        ("--meta", Each("data/meta/{dataset}", over={"dataset": METADATASETS})),
        ("--fetched", Gather(lambda c: sorted({f"data/fetched/{RAW_OF_METADATASET[d]}" for d in c["data"]["metadatasets"]}),
                             "fetched")),
        ("--seed", P("data.synthetic.seed")),
        ("--figure", Out("results/figures/sn22_fig2_examples.png")),
        ("--stats", Out("results/data/statistics.csv")),
        ("--stats-md", Out("results/data/statistics.md")),
    ],
    code=("metasnn/data",),
    resources=Resources(threads=1, mem_mb=2000, runtime_min=10),
))


# --- sn22 (issue 4) -------------------------------------------------------------------------


# --- wu22 hybrid plasticity (issue 5) --------------------------------------------------------


# --- dsp / mp23 / ip2 / cross-dataset (issue 6) ----------------------------------------------


# --- hardware (issue 7) ----------------------------------------------------------------------
# Spike rates: until the wu22 training stages (issue 5) write rates files (format in
# metasnn/hardware/rates.py, writer metasnn.hardware.rates.write_rates) the stage runs on stated
# placeholder rates, labelled so in every output. To wire them, add to args e.g.
#   ("--rates", Each("results/runs/<wu22 stage>/{mode}/seed0/spike_rates.json", over={"mode": <list key>}))
HARDWARE_TABLES = ("wu22_fig5ef_learning_cost", "wu22_tableS1_inference", "wu22_fig5d_energy_scaling",
                   "wu22_hardware_sensitivity")
register(Stage(
    name="estimate_hardware",
    module="pipeline.estimate_hardware",
    description="Tianjic-style cost estimate: LP/GP/HP route cost and throughput, inference energy/latency, sensitivity",
    args=[
        ("--chip", P("hardware.chip")),
        ("--compare-chips", P("hardware.compare_chips")),
        ("--learning-layers", P("hardware.learning_layers")),
        ("--learning-timesteps", P("hardware.learning_timesteps")),
        ("--learning-cores", P("hardware.learning_cores")),
        ("--hp-global-every", P("hardware.hp_global_every")),
        ("--hp-global-layers", P("hardware.hp_global_layers")),
        ("--reference-every", P("hardware.reference_every")),
        ("--reference-layers", P("hardware.reference_layers")),
        ("--inference-layers", P("hardware.inference_layers")),
        ("--inference-cores", P("hardware.inference_cores")),
        ("--inference-timesteps", P("hardware.inference_timesteps")),
        ("--inference-dataset", P("hardware.inference_dataset")),
        ("--scaling-hidden", P("hardware.scaling_hidden")),
        ("--much-less-ratio", P("hardware.much_less_ratio")),
        ("--min-advantage", P("hardware.min_advantage")),
        ("--sensitivity-factors", P("hardware.sensitivity_factors")),
        ("--measure", P("hardware.measure")),
        ("--measure-seconds", P("hardware.measure_seconds")),
        ("--tables-dir", "results/tables"),
        ("--figures-dir", "results/figures"),
        ("--metrics", Out("results/metrics/estimate_hardware.json", kind="metrics")),
        ("--out-dir", Out("results/runs/estimate_hardware", directory=True)),
    ],
    outs=(
        *[Out(f"results/tables/{t}.{ext}") for t in HARDWARE_TABLES for ext in ("csv", "md")],
        Out("results/tables/wu22_fig5ef_learning_cost.claims.json"),
        Out("results/tables/wu22_tableS1_inference.claims.json"),
        Out("results/figures/wu22_fig5ef_learning_cost.png"),
        Out("results/figures/wu22_fig5d_energy_scaling.png"),
    ),
    code=("metasnn/hardware", "metasnn/hardware/chips/tianjic.yaml", "metasnn/hardware/chips/loihi.yaml",
          "metasnn/reporting"),
    resources=Resources(threads=1, mem_mb=1500, runtime_min=5),
))



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
