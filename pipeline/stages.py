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

from pipeline.registry import Each, Gather, In, Instance, Out, P, Resources, Stage, W

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
        ("--source", P("data.source.{raw}")),
        ("--shipped", In("datasets", directory=True)),
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
))


# --- sn22 (issue 4) -------------------------------------------------------------------------
# sn22_metatrain: MAML SNN / FOMAML SNN / MAML CNN x meta-dataset x seed (model, curve, metrics;
# checkpoints under results/checkpoints, resumed on rerun). sn22_evaluate: meta-val / meta-test
# accuracy on a fixed seeded task set. Fig 3: inner steps at test. Fig 4: maml_snn meta-trained with
# the first k layers frozen in the inner loop. Fig 5: maml_snn with thresholded inner updates.
# Fig 6: 64-way pretraining + new last layer on k shots. sn22_tables: all sn22 tables, figures, claims.
SN22_TRAIN = "results/runs/sn22_metatrain/{method}/{dataset}/seed{seed}"
SN22_EVAL = "results/runs/sn22_evaluate/{method}/{dataset}/seed{seed}"
SN22_FROZEN = "results/runs/sn22_frozen/frozen{frozen}/{dataset}/seed{seed}"
SN22_THRESHOLD = "results/runs/sn22_threshold/{dataset}/seed{seed}"
SN22_FIG3 = "results/runs/sn22_inner_steps/{dataset}/seed{seed}"
SN22_FIG6 = "results/runs/sn22_transfer/{dataset}/seed{seed}"
SN22_CODE = ("metasnn/snn", "metasnn/meta", "metasnn/evaluation/fewshot.py", "metasnn/evaluation/statistics.py",
             "metasnn/data", "pipeline/metatrain.py", "pipeline/evaluate_fewshot.py")
SN22_EVAL_CODE = (*SN22_CODE, "metasnn/evaluation/cost.py")  # evaluate_fewshot also measures the cost columns
SN22_TABLES = ("sn22_table2_fewshot", "sn22_fig3_inner_steps", "sn22_fig4_frozen_layers",
               "sn22_table3_update_magnitudes", "sn22_fig5_thresholded_updates", "sn22_fig6_transfer")


def _sn22_train_args(out_dir: str, checkpoint_dir: str, method: str = "{method}") -> list:
    """metatrain flags shared by the main, frozen-layer and thresholded runs (all from sn22.train)."""
    keys = ("ways", "shots", "queries", "inner_steps", "final_lr_factor", "outer_grad_clip", "outer_steps",
            "tasks_per_step", "burn_in", "pooling", "channels", "init", "lsuv_mean", "cnn_variant", "scale_decays",
            "checkpoint_every", "threads")
    return [
        ("--data", In("data/meta/{dataset}", directory=True)),
        ("--seed", W("seed")),
        *[(f"--{k.replace('_', '-')}", P(f"sn22.train.{k}")) for k in keys],
        ("--inner-lr", P(f"sn22.train.inner_lr.{method}")),
        ("--outer-lr", P(f"sn22.train.outer_lr.{method}")),
        ("--input-pool", P("sn22.train.input_pool.{dataset}")),
        ("--device", P("device")),
        ("--checkpoint-dir", checkpoint_dir),
        ("--out", out_dir),
    ]


def _sn22_train_outs(run: str) -> tuple:
    return (Out(f"{run}/model.pt"), Out(f"{run}/curve.csv", kind="plots"), Out(f"{run}/metrics.json", kind="metrics"),
            Out(f"{run}/provenance.json"))


def _sn22_eval_args(model_dir: str, out_dir: str) -> list:
    return [
        ("--model", In(f"{model_dir}/model.pt")),
        ("--data", In("data/meta/{dataset}", directory=True)),
        ("--eval-seed", P("eval_seed")),
        ("--val-tasks", P("sn22.eval.val_tasks")),
        ("--test-tasks", P("sn22.eval.test_tasks")),
        ("--repeats", P("sn22.eval.repeats")),
        ("--threads", P("sn22.train.threads")),
        ("--device", P("device")),
        ("--out", out_dir),
    ]


def _sn22_eval_outs(run: str) -> tuple:
    return (Out(f"{run}/metrics.json", kind="metrics"), Out(f"{run}/per_task.csv"),
            Out(f"{run}/update_histogram.json"), Out(f"{run}/provenance.json"))


register(Stage(
    name="sn22_metatrain",
    module="pipeline.metatrain",
    description="sn22 meta-training: MAML SNN / FOMAML SNN / MAML CNN on a Double meta-dataset (resumable)",
    matrix={"method": "sn22.methods", "dataset": "sn22.datasets", "seed": SEEDS},
    args=[("--method", W("method")),
          *_sn22_train_args(SN22_TRAIN, "results/checkpoints/sn22_metatrain/{method}/{dataset}/seed{seed}")],
    outs=_sn22_train_outs(SN22_TRAIN),
    code=SN22_CODE,
    resources=Resources(threads=1, mem_mb=4000, runtime_min=600, gpu=1),
))

register(Stage(
    name="sn22_evaluate",
    module="pipeline.evaluate_fewshot",
    description="sn22 few-shot evaluation: meta-val / meta-test accuracy on a fixed seeded task set",
    matrix={"method": "sn22.methods", "dataset": "sn22.datasets", "seed": SEEDS},
    args=_sn22_eval_args(SN22_TRAIN, SN22_EVAL),
    outs=_sn22_eval_outs(SN22_EVAL),
    code=SN22_EVAL_CODE,
    resources=Resources(threads=1, mem_mb=3000, runtime_min=60, gpu=1),
))

register(Stage(
    name="sn22_inner_steps",
    module="pipeline.sn22_inner_steps",
    description="sn22 Fig 3: MAML SNN meta-test accuracy vs inner steps at test time",
    matrix={"dataset": "sn22.datasets", "seed": SEEDS},
    args=[("--model", In("results/runs/sn22_metatrain/maml_snn/{dataset}/seed{seed}/model.pt")),
          ("--data", In("data/meta/{dataset}", directory=True)),
          ("--steps", P("sn22.fig3.steps")),
          ("--tasks", P("sn22.fig3.tasks")),
          ("--eval-seed", P("eval_seed")),
          ("--threads", P("sn22.train.threads")),
          ("--device", P("device")),
          ("--out", SN22_FIG3)],
    outs=(Out(f"{SN22_FIG3}/results.json"), Out(f"{SN22_FIG3}/metrics.json", kind="metrics"),
          Out(f"{SN22_FIG3}/provenance.json")),
    code=(*SN22_CODE, "pipeline/sn22_inner_steps.py"),
    resources=Resources(threads=1, mem_mb=3000, runtime_min=60, gpu=1),
))

register(Stage(
    name="sn22_frozen_metatrain",
    module="pipeline.metatrain",
    description="sn22 Fig 4: MAML SNN meta-trained with the first k layers frozen in the inner loop",
    matrix={"frozen": "sn22.fig4.frozen_layers", "dataset": "sn22.fig4.datasets", "seed": SEEDS},
    args=[("--method", "maml_snn"), ("--frozen-layers", W("frozen")),
          *_sn22_train_args(f"{SN22_FROZEN}/train", "results/checkpoints/sn22_frozen/frozen{frozen}/{dataset}/seed{seed}",
                            "maml_snn")],
    outs=_sn22_train_outs(f"{SN22_FROZEN}/train"),
    code=SN22_CODE,
    resources=Resources(threads=1, mem_mb=4000, runtime_min=600, gpu=1),
))

register(Stage(
    name="sn22_frozen_evaluate",
    module="pipeline.evaluate_fewshot",
    description="sn22 Fig 4: few-shot evaluation of the frozen-layer runs",
    matrix={"frozen": "sn22.fig4.frozen_layers", "dataset": "sn22.fig4.datasets", "seed": SEEDS},
    args=_sn22_eval_args(f"{SN22_FROZEN}/train", f"{SN22_FROZEN}/eval"),
    outs=_sn22_eval_outs(f"{SN22_FROZEN}/eval"),
    code=SN22_EVAL_CODE,
    resources=Resources(threads=1, mem_mb=3000, runtime_min=60, gpu=1),
))

register(Stage(
    name="sn22_threshold_metatrain",
    module="pipeline.metatrain",
    description="sn22 Fig 5: MAML SNN meta-trained with thresholded inner updates (Eq. 6)",
    matrix={"dataset": "sn22.fig5.datasets", "seed": SEEDS},
    args=[("--method", "maml_snn"), ("--inner-threshold", P("sn22.fig5.threshold")),
          *_sn22_train_args(f"{SN22_THRESHOLD}/train", "results/checkpoints/sn22_threshold/{dataset}/seed{seed}",
                            "maml_snn")],
    outs=_sn22_train_outs(f"{SN22_THRESHOLD}/train"),
    code=SN22_CODE,
    resources=Resources(threads=1, mem_mb=4000, runtime_min=600, gpu=1),
))

register(Stage(
    name="sn22_threshold_evaluate",
    module="pipeline.evaluate_fewshot",
    description="sn22 Fig 5: few-shot evaluation of the thresholded-update runs",
    matrix={"dataset": "sn22.fig5.datasets", "seed": SEEDS},
    args=_sn22_eval_args(f"{SN22_THRESHOLD}/train", f"{SN22_THRESHOLD}/eval"),
    outs=_sn22_eval_outs(f"{SN22_THRESHOLD}/eval"),
    code=SN22_EVAL_CODE,
    resources=Resources(threads=1, mem_mb=3000, runtime_min=60, gpu=1),
))

register(Stage(
    name="sn22_transfer",
    module="pipeline.sn22_transfer",
    description="sn22 Fig 6: pretrain on all meta-train classes, new last layer on k shots (also Table 3 non-meta)",
    matrix={"dataset": "sn22.fig6.datasets", "seed": SEEDS},
    args=[("--data", In("data/meta/{dataset}", directory=True)),
          ("--seed", W("seed")),
          ("--channels", P("sn22.train.channels")),
          ("--input-pool", P("sn22.train.input_pool.{dataset}")),
          ("--pooling", P("sn22.train.pooling")),
          ("--burn-in", P("sn22.train.burn_in")),
          ("--init", P("sn22.train.init")),
          ("--lsuv-mean", P("sn22.train.lsuv_mean")),
          ("--scale-decays", P("sn22.train.scale_decays")),
          ("--pretrain-steps", P("sn22.fig6.pretrain_steps")),
          ("--pretrain-batch", P("sn22.fig6.pretrain_batch")),
          ("--pretrain-lr", P("sn22.fig6.pretrain_lr")),
          ("--ways", P("sn22.train.ways")),
          ("--shots", P("sn22.fig6.shots")),
          ("--queries", P("sn22.train.queries")),
          ("--tasks", P("sn22.fig6.tasks")),
          ("--eval-seed", P("eval_seed")),
          ("--head-steps", P("sn22.fig6.head_steps")),
          ("--head-lr", P("sn22.fig6.head_lr")),
          ("--threads", P("sn22.train.threads")),
          ("--device", P("device")),
          ("--out", SN22_FIG6)],
    outs=(Out(f"{SN22_FIG6}/results.json"), Out(f"{SN22_FIG6}/curve.csv", kind="plots"),
          Out(f"{SN22_FIG6}/metrics.json", kind="metrics"), Out(f"{SN22_FIG6}/model.pt"),
          Out(f"{SN22_FIG6}/provenance.json")),
    code=(*SN22_CODE, "metasnn/baselines/transfer.py", "pipeline/sn22_transfer.py"),
    resources=Resources(threads=1, mem_mb=3000, runtime_min=120, gpu=1),
))

register(Stage(
    name="sn22_tables",
    module="pipeline.sn22_tables",
    description="sn22 Table 2, Figs 3-6, Table 3: tables, figures and claims sn22-C1..C7",
    args=[
        ("--evaluations", Each(f"{SN22_EVAL}/metrics.json",
                               over={"method": "sn22.methods", "dataset": "sn22.datasets", "seed": SEEDS})),
        ("--curves", Each(f"{SN22_TRAIN}/curve.csv",
                          over={"method": "sn22.methods", "dataset": "sn22.datasets", "seed": SEEDS})),
        ("--inner-steps", Each(f"{SN22_FIG3}/results.json", over={"dataset": "sn22.datasets", "seed": SEEDS})),
        ("--frozen", Each(f"{SN22_FROZEN}/eval/metrics.json",
                          over={"frozen": "sn22.fig4.frozen_layers", "dataset": "sn22.fig4.datasets", "seed": SEEDS})),
        ("--threshold", Each(f"{SN22_THRESHOLD}/eval/metrics.json", over={"dataset": "sn22.fig5.datasets", "seed": SEEDS})),
        ("--transfer", Each(f"{SN22_FIG6}/results.json", over={"dataset": "sn22.fig6.datasets", "seed": SEEDS})),
        ("--noninferiority-margin", P("sn22.claims.noninferiority_margin")),
        ("--frozen-margin", P("sn22.claims.frozen_margin")),
        ("--transfer-shots-holds", P("sn22.claims.transfer_shots_holds")),
        ("--transfer-shots-fails", P("sn22.claims.transfer_shots_fails")),
        ("--tables-dir", "results/tables"),
        ("--figures-dir", "results/figures"),
    ],
    deps=(Each(f"{SN22_EVAL}/per_task.csv", over={"method": "sn22.methods", "dataset": "sn22.datasets", "seed": SEEDS}),
          Each(f"{SN22_EVAL}/provenance.json", over={"method": "sn22.methods", "dataset": "sn22.datasets", "seed": SEEDS}),
          Each(f"{SN22_FROZEN}/eval/per_task.csv",
               over={"frozen": "sn22.fig4.frozen_layers", "dataset": "sn22.fig4.datasets", "seed": SEEDS}),
          Each(f"{SN22_THRESHOLD}/eval/per_task.csv", over={"dataset": "sn22.fig5.datasets", "seed": SEEDS}),
          Each(f"{SN22_THRESHOLD}/eval/update_histogram.json", over={"dataset": "sn22.fig5.datasets", "seed": SEEDS}),
          Each(f"{SN22_FIG6}/curve.csv", over={"dataset": "sn22.fig6.datasets", "seed": SEEDS})),
    outs=(*[Out(f"results/tables/{t}.{ext}") for t in SN22_TABLES for ext in ("csv", "md")],
          *[Out(f"results/tables/{t}.claims.json") for t in SN22_TABLES],
          *[Out(f"results/figures/{t}.png") for t in SN22_TABLES]),
    code=("metasnn/reporting", "metasnn/evaluation/statistics.py", "metasnn/evaluation/cost.py", "paper/targets.yaml",
          "pipeline/sn22_tables.py"),
    resources=Resources(threads=1, mem_mb=1500, runtime_min=5),
))


# --- wu22 hybrid plasticity (issue 5) --------------------------------------------------------
# wu22_train: one learning mode (gp / lp / finetune / hp) x seed on N-MNIST single digits -> curves,
# metrics, weights, spike rates (hardware format), provenance. wu22_robustness: crop / noise sweeps of
# one seed's models. wu22_tables: Fig 3 / Fig 4 tables, figures and claims wu22-C1..C3.
WU22_RUN = "results/runs/wu22_train/{method}/seed{seed}"
WU22_CODE = ("metasnn/plasticity", "metasnn/meta", "metasnn/snn", "metasnn/data", "metasnn/evaluation",
             "metasnn/hardware/rates.py")


def _wu22_data_args() -> list:
    """Flags that rebuild the single-digit inputs and network identically in train and robustness."""
    return [
        ("--data", In("data/fetched/nmnist", directory=True)),
        ("--timesteps", P("wu22.timesteps")),
        ("--window-ms", P("wu22.window_ms")),
        ("--pool", P("wu22.pool")),
        ("--hidden", P("wu22.hidden")),
        ("--train-per-class", P("wu22.train_per_class")),
        ("--test-per-class", P("wu22.test_per_class")),
        ("--reset", P("wu22.reset")),
        ("--post-form", P("wu22.post_form")),
        ("--readout-clamp", P("wu22.readout_clamp")),
    ]


register(Stage(
    name="wu22_train",
    module="pipeline.wu22_train",
    description="wu22 GP / LP / fine-tune / HP training on N-MNIST single digits (curves, weights, spike rates)",
    matrix={"method": "wu22.methods", "seed": SEEDS},
    args=[
        *_wu22_data_args(),
        ("--method", W("method")),
        ("--seed", W("seed")),
        ("--epochs", P("wu22.epochs")),
        ("--batch-size", P("wu22.batch_size")),
        ("--lr-weights", P("wu22.lr_weights")),
        ("--lr-meta", P("wu22.lr_meta")),
        ("--hp-training", P("wu22.hp_training")),
        ("--inner-lr", P("wu22.inner_lr")),
        ("--second-order", P("wu22.second_order")),
        ("--curves", Out(f"{WU22_RUN}/curves.csv", kind="plots")),
        ("--metrics", Out(f"{WU22_RUN}/metrics.json", kind="metrics")),
        ("--model", Out(f"{WU22_RUN}/model.pt")),
        ("--rates", Out(f"{WU22_RUN}/rates.json")),
        ("--provenance", Out(f"{WU22_RUN}/provenance.json")),
    ],
    code=WU22_CODE,
    resources=Resources(threads=1, mem_mb=3000, runtime_min=60),
))

register(Stage(
    name="wu22_robustness",
    module="pipeline.wu22_robustness",
    description="wu22 Fig 4: accuracy and hidden-membrane drift under crop (ci) and noise (nl), one seed",
    matrix={"seed": SEEDS},
    args=[
        *_wu22_data_args(),
        ("--seed", W("seed")),
        ("--models", Each(f"{WU22_RUN}/model.pt", over={"method": "wu22.methods"})),
        ("--levels", P("wu22.levels")),
        ("--out", Out("results/runs/wu22_robustness/seed{seed}/robustness.json")),
        ("--provenance", Out("results/runs/wu22_robustness/seed{seed}/provenance.json")),
    ],
    code=WU22_CODE,
    resources=Resources(threads=1, mem_mb=2000, runtime_min=20),
))

WU22_TABLES = ("wu22_fig3_convergence", "wu22_fig4_crop", "wu22_fig4_noise", "wu22_fig4_distance")
register(Stage(
    name="wu22_tables",
    module="pipeline.wu22_tables",
    description="wu22 Fig 3 / Fig 4 tables, figures and claims wu22-C1..C3 from the single-digit runs",
    args=[
        ("--metrics", Each(f"{WU22_RUN}/metrics.json", over={"method": "wu22.methods", "seed": SEEDS})),
        ("--curves", Each(f"{WU22_RUN}/curves.csv", over={"method": "wu22.methods", "seed": SEEDS})),
        ("--robustness", Each("results/runs/wu22_robustness/seed{seed}/robustness.json", over={"seed": SEEDS})),
        ("--provenance", Each(f"{WU22_RUN}/provenance.json", over={"method": "wu22.methods", "seed": SEEDS})),
        ("--margin", P("wu22.noninferiority_margin")),
        ("--tables-dir", "results/tables"),
        ("--figures-dir", "results/figures"),
    ],
    outs=(
        *[Out(f"results/tables/{t}.{ext}") for t in WU22_TABLES for ext in ("csv", "md")],
        *[Out(f"results/tables/{t}.claims.json") for t in ("wu22_fig3_convergence", "wu22_fig4_crop", "wu22_fig4_distance")],
        *[Out(f"results/figures/{t}.png") for t in WU22_TABLES],
    ),
    code=("metasnn/reporting", "metasnn/evaluation/statistics.py", "metasnn/evaluation/cost.py", "paper/targets.yaml"),
    resources=Resources(threads=1, mem_mb=1000, runtime_min=5),
))


# wu22_fewshot_hp: HP few-shot (conv features + plastic readout, label clamped during the support) per
# meta-dataset x seed; wu22_fewshot_table: the table beside sn22's MAML numbers when sn22 produced them.
register(Stage(
    name="wu22_fewshot_hp",
    module="pipeline.wu22_fewshot_hp",
    description="wu22 HP few-shot on one meta-dataset: plastic output layer storing the labelled support",
    matrix={"dataset": "wu22.fewshot.datasets", "seed": SEEDS},
    args=[
        ("--data", In("data/meta/{dataset}", directory=True)),
        ("--seed", W("seed")), ("--eval-seed", P("eval_seed")),
        ("--channels", P("wu22.fewshot.channels")),
        ("--episodes", P("wu22.fewshot.episodes")),
        ("--test-episodes", P("wu22.fewshot.test_episodes")),
        ("--ways", P("wu22.fewshot.ways")),
        ("--shots", P("wu22.fewshot.shots")),
        ("--queries", P("wu22.fewshot.queries")),
        ("--label-gain", P("wu22.fewshot.label_gain")),
        ("--lr-weights", P("wu22.fewshot.lr_weights")),
        ("--lr-meta", P("wu22.fewshot.lr_meta")),
        ("--out", Out("results/runs/wu22_fewshot_hp/{dataset}/seed{seed}/result.json")),
        ("--model", Out("results/runs/wu22_fewshot_hp/{dataset}/seed{seed}/model.pt")),
        ("--provenance", Out("results/runs/wu22_fewshot_hp/{dataset}/seed{seed}/provenance.json")),
    ],
    code=WU22_CODE,
    resources=Resources(threads=1, mem_mb=3000, runtime_min=60),
))

register(Stage(
    name="wu22_fewshot_table",
    module="pipeline.wu22_fewshot_table",
    description="wu22_fewshot_hp table/figure: HP few-shot beside sn22 MAML (when sn22's table exists)",
    args=[
        ("--results", Each("results/runs/wu22_fewshot_hp/{dataset}/seed{seed}/result.json",
                           over={"dataset": "wu22.fewshot.datasets", "seed": SEEDS})),
        ("--provenance", Each("results/runs/wu22_fewshot_hp/{dataset}/seed{seed}/provenance.json",
                              over={"dataset": "wu22.fewshot.datasets", "seed": SEEDS})),
        ("--sn22", Gather(lambda c: _outputs_matching(c, "/sn22_table2_fewshot.csv", "results/tables/"), "sn22")),
        ("--tables-dir", "results/tables"),
        ("--figures-dir", "results/figures"),
    ],
    outs=(Out("results/tables/wu22_fewshot_hp.csv"), Out("results/tables/wu22_fewshot_hp.md"),
          Out("results/figures/wu22_fewshot_hp.png")),
    code=("metasnn/reporting", "metasnn/evaluation/statistics.py", "metasnn/evaluation/cost.py", "paper/targets.yaml"),
    resources=Resources(threads=1, mem_mb=1000, runtime_min=5),
))


# --- dsp (issue 6) ---
# dsp_train: one method (dsp / dsp_fixed / stdp / stbp / eihl) x meta-dataset x seed on the shared backbone
# -> model, metrics (accuracy, convergence step, eta statistics, cost), per-task accuracies, curve, provenance.
# dsp_beta_sweep: dsp at the other meta learning rates beta (the dsp_train run supplies beta = dsp.beta).
# dsp_tables: dsp_table1_methods, dsp_table3_fixed_vs_dynamic, dsp_fig4_eta_hist, dsp_fig5_beta_sweep + dsp-C1..C4.
DSP_RUN = "results/runs/dsp_train/{method}/{dataset}/seed{seed}"
DSP_SWEEP_RUN = "results/runs/dsp_beta_sweep/dsp_beta{beta}/{dataset}/seed{seed}"
DSP_CODE = ("metasnn/plasticity/dsp.py", "metasnn/baselines", "metasnn/meta", "metasnn/snn", "metasnn/data",
            "metasnn/evaluation/cost.py")
DSP_TABLES = ("dsp_table1_methods", "dsp_table3_fixed_vs_dynamic", "dsp_fig4_eta_hist", "dsp_fig5_beta_sweep")
DSP_RUN_FILES = (("model.pt", "out"), ("metrics.json", "metrics"), ("curve.csv", "plots"), ("tasks.json", "out"),
                 ("provenance.json", "out"))


def _dsp_args() -> list:
    """Flags shared by dsp_train and dsp_beta_sweep (the backbone, dsp, baselines and evaluation)."""
    return [
        ("--data", In("data/meta/{dataset}", directory=True)),
        ("--seed", W("seed")),
        ("--ways", P("dsp.ways")), ("--shots", P("dsp.shots")), ("--queries", P("dsp.queries")),
        ("--train-queries", P("dsp.train_queries")),
        ("--channels", P("dsp.channels")), ("--input-pool", P("dsp.input_pool.{dataset}")),
        ("--burn-in", P("dsp.burn_in")),
        ("--outer-steps", P("dsp.outer_steps")), ("--eta-init", P("dsp.eta_init")),
        ("--inner-steps", P("dsp.inner_steps")), ("--second-order", P("dsp.second_order")),
        ("--a-plus", P("dsp.stdp.a_plus")), ("--a-minus", P("dsp.stdp.a_minus")),
        ("--tau-plus-ms", P("dsp.stdp.tau_plus_ms")), ("--tau-minus-ms", P("dsp.stdp.tau_minus_ms")),
        ("--stdp-presentations", P("dsp.stdp.presentations")),
        ("--pretrain-steps", P("dsp.pretrain.steps")), ("--batch-size", P("dsp.pretrain.batch_size")),
        ("--pretrain-lr", P("dsp.pretrain.lr")), ("--head-steps", P("dsp.pretrain.head_steps")),
        ("--head-lr", P("dsp.pretrain.head_lr")),
        ("--eihl-contraction", P("dsp.eihl.contraction")), ("--eihl-prune-fraction", P("dsp.eihl.prune_fraction")),
        ("--eihl-switch-delta", P("dsp.eihl.switch_delta")), ("--eihl-silent-fraction", P("dsp.eihl.silent_fraction")),
        ("--eihl-min-phase", P("dsp.eihl.min_phase")),
        ("--eval-tasks", P("dsp.eval.tasks")), ("--eval-seed", P("eval_seed")),
        ("--convergence-window", P("dsp.convergence.window")),
        ("--convergence-fraction", P("dsp.convergence.fraction")),
    ]


register(Stage(
    name="dsp_train",
    module="pipeline.dsp_train",
    description="dsp experiments: train + few-shot evaluate dsp / fixed-eta dsp / STDP / STBP / EIHL (approximate)",
    matrix={"method": "dsp.methods", "dataset": "dsp.datasets", "seed": SEEDS},
    args=[("--method", W("method")), *_dsp_args(), ("--beta", P("dsp.beta")), ("--out", DSP_RUN)],
    outs=tuple(Out(f"{DSP_RUN}/{name}", kind=kind) for name, kind in DSP_RUN_FILES),
    code=DSP_CODE,
    resources=Resources(threads=1, mem_mb=2000, runtime_min=30),
))

register(Stage(
    name="dsp_beta_sweep",
    module="pipeline.dsp_train",
    description="dsp Fig 5: dsp meta-trained at the other meta learning rates beta",
    matrix={"beta": "dsp.beta_sweep.betas", "dataset": "dsp.beta_sweep.datasets", "seed": SEEDS},
    args=[("--method", "dsp"), *_dsp_args(), ("--beta", W("beta")), ("--out", DSP_SWEEP_RUN)],
    outs=tuple(Out(f"{DSP_SWEEP_RUN}/{name}", kind=kind) for name, kind in DSP_RUN_FILES),
    code=DSP_CODE,
    resources=Resources(threads=1, mem_mb=2000, runtime_min=30),
))

register(Stage(
    name="dsp_tables",
    module="pipeline.dsp_tables",
    description="dsp Table 1 / Table 3 / Fig 4 / Fig 5 tables, figures and claims dsp-C1..C4",
    args=[
        ("--runs", Each(f"{DSP_RUN}/metrics.json", over={"method": "dsp.methods", "dataset": "dsp.datasets",
                                                          "seed": SEEDS})),
        ("--sweep", Each(f"{DSP_SWEEP_RUN}/metrics.json", over={"beta": "dsp.beta_sweep.betas",
                                                                 "dataset": "dsp.beta_sweep.datasets", "seed": SEEDS})),
        ("--sweep-datasets", P("dsp.beta_sweep.datasets")),
        ("--heterogeneity-cv", P("dsp.heterogeneity_cv")),
        ("--tables-dir", "results/tables"),
        ("--figures-dir", "results/figures"),
        ("--provenance", Out("results/runs/dsp_tables/provenance.json")),
    ],
    deps=(
        *[Each(f"{DSP_RUN}/{name}", over={"method": "dsp.methods", "dataset": "dsp.datasets", "seed": SEEDS})
          for name in ("tasks.json", "curve.csv", "model.pt", "provenance.json")],
        *[Each(f"{DSP_SWEEP_RUN}/{name}", over={"beta": "dsp.beta_sweep.betas", "dataset": "dsp.beta_sweep.datasets",
                                                "seed": SEEDS})
          for name in ("tasks.json", "provenance.json")],
    ),
    outs=(
        *[Out(f"results/tables/{t}.{ext}") for t in DSP_TABLES for ext in ("csv", "md", "claims.json")],
        *[Out(f"results/figures/{t}.png") for t in DSP_TABLES],
    ),
    code=("metasnn/reporting", "metasnn/evaluation/statistics.py", "metasnn/plasticity/dsp.py", "paper/targets.yaml"),
    resources=Resources(threads=1, mem_mb=1000, runtime_min=5),
))


# --- dsp / mp23 / ip2 / cross-dataset (issue 6) ----------------------------------------------
# --- mp23 / ip2 / cross-dataset (issue 6) ---
# mp23_train: every rule variant (ABCD / BD / A-only / fixed) x meta-dataset x seed; mp23_table: mp23_rule_ablation
# + mp23-C1. ip2_train: mask selection + learning-to-learn sequence (intrinsic RSNN and point-neuron baseline) x
# meta-dataset x seed; ip2_table: ip2_learning_to_learn + ip2-C1. cross_dataset: every method of
# metasnn/meta/methods.py whose training stage is registered, on its own and the other meta-dataset + dsp-C5.
MP23_RUN = "results/runs/mp23_train/{dataset}/seed{seed}"
IP2_RUN = "results/runs/ip2_train/{dataset}/seed{seed}"
PLASTICITY_CODE = ("metasnn/plasticity", "metasnn/meta", "metasnn/snn", "metasnn/data", "metasnn/evaluation")

register(Stage(
    name="mp23_train",
    module="pipeline.mp23_train",
    description="mp23 metaplasticity: meta-learn the per-synapse ABCD rule and its ablations on one meta-dataset",
    matrix={"dataset": "mp23.datasets", "seed": SEEDS},
    args=[
        ("--data", In("data/meta/{dataset}", directory=True)),
        ("--seed", W("seed")), ("--eval-seed", P("eval_seed")),
        ("--variants", P("mp23.variants")),
        ("--ways", P("mp23.ways")), ("--shots", P("mp23.shots")), ("--queries", P("mp23.queries")),
        ("--train-queries", P("mp23.train_queries")),
        ("--grid", P("mp23.grid")), ("--steps", P("mp23.steps")), ("--hidden", P("mp23.hidden")),
        ("--label-gain", P("mp23.label_gain")), ("--eta-init", P("mp23.eta_init")),
        ("--outer-steps", P("mp23.outer_steps")), ("--outer-lr", P("mp23.outer_lr.{dataset}")),
        ("--rule-lr-factor", P("mp23.rule_lr_factor")),
        ("--meta-optimizer", P("mp23.meta_optimizer")), ("--es-pairs", P("mp23.es_pairs")),
        ("--es-sigma", P("mp23.es_sigma")), ("--test-episodes", P("mp23.test_episodes")),
        ("--out", Out(MP23_RUN, directory=True)),
    ],
    code=PLASTICITY_CODE,
    resources=Resources(threads=1, mem_mb=2000, runtime_min=30),
))

register(Stage(
    name="mp23_table",
    module="pipeline.mp23_table",
    description="mp23_rule_ablation table/figure and claim mp23-C1 (paired over seeds)",
    args=[
        ("--runs", Each(MP23_RUN, over={"dataset": "mp23.datasets", "seed": SEEDS})),
        ("--tables-dir", "results/tables"),
        ("--figures-dir", "results/figures"),
    ],
    outs=(Out("results/tables/mp23_rule_ablation.csv"), Out("results/tables/mp23_rule_ablation.md"),
          Out("results/tables/mp23_rule_ablation.claims.json"), Out("results/figures/mp23_rule_ablation.png")),
    code=("metasnn/reporting", "metasnn/evaluation/statistics.py", "paper/targets.yaml"),
    resources=Resources(threads=1, mem_mb=1000, runtime_min=5),
))

register(Stage(
    name="ip2_train",
    module="pipeline.ip2_train",
    description="ip2 intrinsic plasticity: mask selection, learning-to-learn sequence vs point-neuron baseline",
    matrix={"dataset": "ip2.datasets", "seed": SEEDS},
    args=[
        ("--data", In("data/meta/{dataset}", directory=True)),
        ("--seed", W("seed")), ("--eval-seed", P("eval_seed")),
        ("--recurrent", P("ip2.recurrent")),
        ("--ways", P("ip2.ways")), ("--shots", P("ip2.shots")), ("--queries", P("ip2.queries")),
        ("--grid", P("ip2.grid")), ("--steps", P("ip2.steps")), ("--hidden", P("ip2.hidden")),
        ("--inner-lr", P("ip2.inner_lr.intrinsic")), ("--point-inner-lr", P("ip2.inner_lr.point")),
        ("--max-steps", P("ip2.max_steps")), ("--criterion", P("ip2.criterion")),
        ("--homeostasis", P("ip2.homeostasis")), ("--target-rate", P("ip2.target_rate")),
        ("--outer-lr", P("ip2.outer_lr")), ("--mask-candidates", P("ip2.mask_candidates")),
        ("--selection-tasks", P("ip2.selection_tasks")), ("--tasks", P("ip2.tasks")),
        ("--test-episodes", P("ip2.test_episodes")),
        ("--out", Out(IP2_RUN, directory=True)),
    ],
    code=PLASTICITY_CODE,
    resources=Resources(threads=1, mem_mb=2000, runtime_min=30),
))

register(Stage(
    name="ip2_table",
    module="pipeline.ip2_table",
    description="ip2_learning_to_learn table/figure and claim ip2-C1 (slopes of steps to criterion over seeds)",
    args=[
        ("--runs", Each(IP2_RUN, over={"dataset": "ip2.datasets", "seed": SEEDS})),
        ("--tables-dir", "results/tables"),
        ("--figures-dir", "results/figures"),
    ],
    outs=(Out("results/tables/ip2_learning_to_learn.csv"), Out("results/tables/ip2_learning_to_learn.md"),
          Out("results/tables/ip2_learning_to_learn.claims.json"), Out("results/figures/ip2_learning_to_learn.png")),
    code=("metasnn/reporting", "metasnn/evaluation/statistics.py", "paper/targets.yaml"),
    resources=Resources(threads=1, mem_mb=1000, runtime_min=5),
))


def _trained_models(config: Mapping[str, Any]) -> list[str]:
    """Output directories (or model files) of every registered method's training stage (metasnn/meta/methods.py)."""
    from metasnn.meta.methods import METHODS
    from pipeline.cross_dataset import template_regex

    paths: list[str] = []
    for entry in METHODS.values():
        if not entry.model_dir or entry.trained_by not in STAGES:
            continue
        pattern = template_regex(entry.model_dir)
        for inst in STAGES[entry.trained_by].instances(config):
            for out in inst.outputs():
                if pattern.match(out.path) and out.path not in paths:
                    paths.append(out.path)
    return paths


register(Stage(
    name="cross_dataset",
    module="pipeline.cross_dataset",
    description="every registered few-shot method meta-tested on its own and the other meta-dataset + dsp-C5",
    args=[
        ("--data", Each("data/meta/{dataset}", over={"dataset": METADATASETS})),
        ("--models", Gather(_trained_models, "models")),
        ("--episodes", P("cross_dataset.episodes")),
        ("--ways", P("cross_dataset.ways")), ("--shots", P("cross_dataset.shots")),
        ("--queries", P("cross_dataset.queries")), ("--eval-seed", P("eval_seed")),
        ("--tables-dir", "results/tables"),
        ("--figures-dir", "results/figures"),
        ("--out", Out("results/runs/cross_dataset", directory=True)),
    ],
    outs=(Out("results/tables/cross_dataset.csv"), Out("results/tables/cross_dataset.md"),
          Out("results/tables/cross_dataset.claims.json"), Out("results/figures/cross_dataset.png")),
    code=PLASTICITY_CODE + ("metasnn/baselines", "metasnn/reporting", "paper/targets.yaml"),
    resources=Resources(threads=1, mem_mb=3000, runtime_min=20),
))



# --- hardware (issue 7) ----------------------------------------------------------------------
# Spike rates (format: metasnn/hardware/rates.py): LP / GP / HP from wu22_train, inference (rate and
# rank coding) from wu22_inference, which trains wu22's Table S1 network [input-H-H-10] on N-MNIST
# single digits and also measures its test accuracy and CPU latency. estimate_hardware runs with
# --placeholder-rates forbid (hardware.placeholder_rates): the pipeline never uses placeholder rates.
WU22_INFERENCE_RUN = "results/runs/wu22_inference/{coding}/seed{seed}"

register(Stage(
    name="wu22_inference",
    module="pipeline.wu22_inference",
    description="wu22 Table S1 inference network [input-H-H-10] (rate / rank coding): rates, accuracy, CPU latency",
    matrix={"coding": "hardware.inference_net.codings", "seed": "wu22.rates_seed"},
    args=[
        ("--data", In("data/fetched/nmnist", directory=True)),
        ("--coding", W("coding")),
        ("--seed", W("seed")),
        ("--timesteps", P("hardware.inference_timesteps")),
        ("--window-ms", P("hardware.inference_net.window_ms")),
        ("--pool", P("hardware.inference_net.pool")),
        ("--hidden", P("hardware.inference_net.hidden")),
        ("--train-per-class", P("hardware.inference_net.train_per_class")),
        ("--test-per-class", P("hardware.inference_net.test_per_class")),
        ("--epochs", P("hardware.inference_net.epochs")),
        ("--batch-size", P("hardware.inference_net.batch_size")),
        ("--lr", P("hardware.inference_net.lr")),
        ("--measure", P("hardware.measure")),
        ("--measure-seconds", P("hardware.measure_seconds")),
        ("--curves", Out(f"{WU22_INFERENCE_RUN}/curves.csv", kind="plots")),
        ("--metrics", Out(f"{WU22_INFERENCE_RUN}/metrics.json", kind="metrics")),
        ("--model", Out(f"{WU22_INFERENCE_RUN}/model.pt")),
        ("--rates", Out(f"{WU22_INFERENCE_RUN}/rates.json")),
        ("--provenance", Out(f"{WU22_INFERENCE_RUN}/provenance.json")),
    ],
    code=("metasnn/hardware/inference.py", "metasnn/hardware/measure.py", "metasnn/hardware/rates.py",
          "metasnn/plasticity", "metasnn/snn", "metasnn/data", "pipeline/wu22_train.py"),
    resources=Resources(threads=1, mem_mb=3000, runtime_min=30),
))

HARDWARE_TABLES = ("wu22_fig5ef_learning_cost", "wu22_tableS1_inference", "wu22_fig5d_energy_scaling",
                   "wu22_hardware_sensitivity")
register(Stage(
    name="estimate_hardware",
    module="pipeline.estimate_hardware",
    description="Tianjic-style cost estimate: LP/GP/HP route cost and throughput, inference energy/latency, sensitivity",
    args=[
        ("--chip", P("hardware.chip")),
        ("--compare-chips", P("hardware.compare_chips")),
        # measured spike rates of the trained wu22 GP / LP / HP models (issue 5; empty list -> placeholders)
        ("--rates", Each("results/runs/wu22_train/{method}/seed{rates_seed}/rates.json",
                         over={"method": "wu22.rates_methods", "rates_seed": "wu22.rates_seed"})),
        # measured spike rates, accuracy and CPU latency of the Table S1 inference network (rate / rank coding)
        ("--rates", Each("results/runs/wu22_inference/{coding}/seed{rates_seed}/rates.json",
                         over={"coding": "hardware.inference_net.codings", "rates_seed": "wu22.rates_seed"})),
        ("--inference-metrics", Each("results/runs/wu22_inference/{coding}/seed{rates_seed}/metrics.json",
                                     over={"coding": "hardware.inference_net.codings", "rates_seed": "wu22.rates_seed"})),
        ("--placeholder-rates", P("hardware.placeholder_rates")),
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


EMULATED_CLAIMS = "paper/emulated_claims.json"  # claims of an emulated-N-MNIST run (python -m pipeline.snapshot_claims)


def _reference_claims(config: Mapping[str, Any]) -> list[str]:
    """The emulated-N-MNIST claims snapshot, a dependency once it exists (the front page says when it does not)."""
    from pipeline.config import ROOT

    return [EMULATED_CLAIMS] if (ROOT / EMULATED_CLAIMS).is_file() else []


register(Stage(
    name="report",
    module="pipeline.report",
    description="claims.md/csv and the results/README.md front page from every table the run produced",
    args=[
        ("--tables", Gather(lambda c: _outputs_matching(c, ".csv", "results/tables/"), "tables")),
        ("--claims", Gather(lambda c: _outputs_matching(c, ".claims.json", "results/tables/"), "claims")),
        ("--provenance", Gather(_provenance_sources, "provenance")),
        ("--reference-claims", EMULATED_CLAIMS),
        ("--readme", Out("results/README.md")),
        ("--claims-md", Out("results/claims.md")),
        ("--claims-csv", Out("results/claims.csv")),
    ],
    deps=(Gather(_reference_claims, "reference_claims"),),
    code=("metasnn/reporting", "metasnn/evaluation/statistics.py", "paper/targets.yaml", "paper/deviations.yaml"),
    resources=Resources(threads=1, mem_mb=1000, runtime_min=5),
))
