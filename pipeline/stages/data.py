"""Foundation stages: the config check, the raw data, the meta-datasets (issue 3)."""

from __future__ import annotations

from pipeline.registry import Each, Gather, In, Out, P, Resources, W
from pipeline.stages.common import CONFIG_OK, METADATASETS, params, stage

# --- configuration (foundation) --------------------------------------------------------------
# Snakemake validates the merged config when it parses the Snakefile; DVC has no such hook, so this
# stage validates params.yaml (a DVC-only dependency) before anything else runs. Its output does
# not change when a value changes, so it never triggers reruns by itself.
stage(
    "check_config",
    description="validate params.yaml against pipeline/schemas/config.schema.yaml (and, for a section it does not "
                "describe, the shape of its defaults) before any stage runs",
    args=[
        ("--params", In("params.yaml", engines=("dvc",))),
        ("--out", Out(CONFIG_OK, cache=False)),
    ],
    code=("pipeline/config.py", "pipeline/config_schema.py", "pipeline/config_infer.py",
          "pipeline/schemas/config.schema.yaml"),
    resources=Resources(threads=1, mem_mb=500, runtime_min=2),
)


# --- data (issue 3) -------------------------------------------------------------------------
# fetch_data writes data/fetched/<raw> (manifest; synthetic files inside it, download/local point at
# data.root); build_metadataset writes data/meta/<dataset> (sparse per-recording counts + index);
# inspect_data writes the example-frame figure (sn22 Fig 2 style) and dataset statistics.
RAW_OF_METADATASET = {"double_nmnist": "nmnist", "double_asldvs": "asldvs"}  # = metasnn.data.metadataset.RAW_OF

stage(
    "fetch_data",
    description="raw N-MNIST / ASL-DVS recordings (synthetic emulator, tonic download or a local copy) + manifest",
    matrix={"raw": ("nmnist", "asldvs")},
    args=[
        ("--raw", W("raw")),
        ("--source", P("data.source.{raw}")),
        ("--shipped", In("datasets", directory=True)),
        *params("data", "root", "on_corrupt"),
        ("--seed", P("data.synthetic.seed")),
        *params("data.synthetic", "nmnist_train_per_class", "nmnist_test_per_class", "asldvs_per_class"),
        ("--out", Out("data/fetched/{raw}", directory=True)),
    ],
    code=("metasnn/data",),
    resources=Resources(threads=1, mem_mb=2000, runtime_min=30),
)

stage(
    "build_metadataset",
    description="Double N-MNIST / Double ASL-DVS meta-dataset (sn22): binned per-recording counts + class splits",
    matrix={"dataset": METADATASETS},
    derived={"raw": lambda wc: RAW_OF_METADATASET[wc["dataset"]]},
    args=[
        ("--dataset", W("dataset")),
        ("--raw", In("data/fetched/{raw}", directory=True)),
        *params("data", "sampling", "time_bin_ms", "window_ms", "on_corrupt", "recordings_per_class.{dataset}",
                "asl_train_fraction"),
        ("--out", Out("data/meta/{dataset}", directory=True)),
    ],
    code=("metasnn/data",),
    resources=Resources(threads=1, mem_mb=4000, runtime_min=60),
)

stage(
    "inspect_data",
    description="dataset statistics, a figure of example frames of the meta-datasets (like sn22 Fig 2), and the sensor "
                "emulator measured against the shipped real N-MNIST recordings",
    args=[
        ("--meta", Each("data/meta/{dataset}", over={"dataset": METADATASETS})),
        ("--fetched", Gather(lambda c: sorted({f"data/fetched/{RAW_OF_METADATASET[d]}" for d in c["data"]["metadatasets"]}),
                             "fetched")),
        ("--seed", P("data.synthetic.seed")),
        ("--real-nmnist", In("datasets/N-MNIST", directory=True)),
        ("--figure", Out("results/figures/sn22_fig2_examples.png")),
        ("--stats", Out("results/data/statistics.csv")),
        ("--stats-md", Out("results/data/statistics.md")),
        ("--emulator-table", Out("results/tables/emulator_vs_real.csv")),
        ("--emulator-table-md", Out("results/tables/emulator_vs_real.md")),
    ],
    code=("metasnn/data",),
    resources=Resources(threads=1, mem_mb=2000, runtime_min=10),
)
