"""Cross-dataset few-shot test (issue 6): every few-shot method a registered stage declares it ``trains``,
one job per trained model (method x train meta-dataset x seed) on its own and every other
meta-dataset (cross_dataset_eval), then the table and claim dsp-C5 (cross_dataset). Where each model is
comes from its training stage's declared outputs, never from a path written here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.registry import Each, Gather, Instance, JobDeps, Jobs, Out, Resources, W
from pipeline.stages.common import EVAL_SEED, METADATASETS, STAGES, params, stage
from pipeline.stages.outputs import TABLE_CODE, table_outs, table_stage
from pipeline.stages.plasticity import PLASTICITY_CODE

CROSS_RUN = "results/runs/cross_dataset_eval/{method}/{dataset}/seed{seed}"
ALL_DATA = ("--data", Each("data/meta/{dataset}", over={"dataset": METADATASETS}))


def _trained_models(config: Mapping[str, Any]) -> list[dict[str, str]]:
    """One job per trained model: every job of a stage that declares the few-shot methods it ``trains``."""
    return [{"method": method, "dataset": inst.wildcards["dataset"], "seed": inst.wildcards["seed"]}
            for st in STAGES.values() for method, inst in sorted(st.trained_models(config), key=lambda m: m[0])]


def _training_job(wc: Mapping[str, str]) -> Instance:
    """The job of the stage that trains ``wc``'s method and wrote the model of ``wc`` (method, dataset, seed)."""
    (stage,) = [st for st in STAGES.values() if wc["method"] in st.trains]
    return Instance(stage, {k: wc[k] for k in stage.wildcards})


def _model_dir(wc: Mapping[str, str]) -> str:
    """The directory the method's loader reads: the folder of its training job's model.pt, or its directory output."""
    job = _training_job(wc)
    outs = job.outputs()
    dirs = [o.path.rpartition("/")[0] for o in outs if o.path.endswith("/model.pt")] or [o.path for o in outs if o.directory]
    if len(dirs) != 1:
        raise ValueError(f"stage {job.stage.name}: declares no single model.pt or directory output for {wc['method']}")
    return dirs[0]


stage(
    "cross_dataset_eval",
    description="one trained few-shot model meta-tested on its own and every other meta-dataset (accuracies, cost)",
    matrix=Jobs(("method", "dataset", "seed"), _trained_models),
    derived={"model": _model_dir},
    args=[
        ("--method", W("method")), ("--train-dataset", W("dataset")), ("--seed", W("seed")),
        ("--model", "{model}"),
        ALL_DATA,
        *params("cross_dataset", "episodes", "ways", "shots", "queries"), EVAL_SEED,
        ("--out", Out(CROSS_RUN, directory=True)),
    ],
    deps=(JobDeps(lambda wc: [o.path for o in _training_job(wc).outputs()]),),
    code=PLASTICITY_CODE + ("metasnn/baselines",),
    resources=Resources(threads=1, mem_mb=3000, runtime_min=20),
)

table_stage(
    "cross_dataset",
    description="cross_dataset table/figure and claim dsp-C5 from every trained model's cross-dataset run",
    inputs=[
        ("--runs", Gather(lambda c: [o.path for i in STAGES["cross_dataset_eval"].instances(c) for o in i.outputs()],
                          "runs")),
        ALL_DATA,
        *params("cross_dataset", "episodes", "ways", "shots"),
    ],
    after=[("--provenance", Out("results/runs/cross_dataset/provenance.json"))],
    outs=table_outs(("cross_dataset",)),
    code=(*TABLE_CODE, "metasnn/evaluation/cross_dataset.py"),
)
