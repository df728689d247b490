"""sn22 (issue 4): meta-training, few-shot evaluation, and the Fig 3-5 variants.

sn22_metatrain: MAML SNN / FOMAML SNN / MAML CNN x meta-dataset x seed (model, curve, metrics;
checkpoints under results/checkpoints, resumed on rerun). sn22_evaluate: meta-val / meta-test
accuracy on a fixed seeded task set. Fig 3: inner steps at test. Fig 4: maml_snn meta-trained with
the first k layers frozen in the inner loop. Fig 5: maml_snn with thresholded inner updates.
"""

from __future__ import annotations

from pipeline.registry import In, Out, P, Resources, W
from pipeline.stages.common import DEVICE, EVAL_SEED, META, SEED, params, seeded, stage

SN22_TRAIN = "results/runs/sn22_metatrain/{method}/{dataset}/seed{seed}"
SN22_EVAL = "results/runs/sn22_evaluate/{method}/{dataset}/seed{seed}"
SN22_FROZEN = "results/runs/sn22_frozen/frozen{frozen}/{dataset}/seed{seed}"
SN22_THRESHOLD = "results/runs/sn22_threshold/{dataset}/seed{seed}"
SN22_FIG3 = "results/runs/sn22_inner_steps/{dataset}/seed{seed}"
SN22_CODE = ("metasnn/snn", "metasnn/meta", "metasnn/evaluation/fewshot.py", "metasnn/evaluation/statistics.py",
             "metasnn/data", "metasnn/model_file.py")
SN22_EVAL_CODE = (*SN22_CODE, "metasnn/evaluation/cost.py")  # evaluate_fewshot also measures the cost columns
TRAIN_RESOURCES = Resources(threads=1, mem_mb=4000, runtime_min=600, gpu=1)
EVAL_RESOURCES = Resources(threads=1, mem_mb=3000, runtime_min=60, gpu=1)
MAIN = seeded(method="sn22.methods", dataset="sn22.datasets")
FROZEN = seeded(frozen="sn22.fig4.frozen_layers", dataset="sn22.fig4.datasets")
THRESHOLD = seeded(dataset="sn22.fig5.datasets")


def _train_args(out_dir: str, checkpoint_dir: str, method: str = "{method}") -> list:
    """metatrain flags shared by the main, frozen-layer and thresholded runs (all from sn22.train)."""
    return [
        META, SEED,
        *params("sn22.train", "ways", "shots", "queries", "inner_steps", "final_lr_factor", "outer_grad_clip",
                "outer_steps", "tasks_per_step", "burn_in", "pooling", "channels", "init", "lsuv_mean", "cnn_variant",
                "scale_decays", "checkpoint_every", "threads", inner_lr=f"inner_lr.{method}",
                outer_lr=f"outer_lr.{method}", input_pool="input_pool.{dataset}"),
        DEVICE,
        ("--checkpoint-dir", checkpoint_dir),
        ("--out", out_dir),
    ]


def _train_outs(run: str) -> tuple:
    return (Out(f"{run}/model.pt"), Out(f"{run}/curve.csv", kind="plots"), Out(f"{run}/metrics.json", kind="metrics"),
            Out(f"{run}/provenance.json"))


def _register_evaluate(name: str, description: str, matrix: dict, model_dir: str, out_dir: str) -> None:
    """A few-shot evaluation of one training stage's models (pipeline.evaluate_fewshot)."""
    stage(name, module="pipeline.evaluate_fewshot", description=description, matrix=matrix,
          args=[("--model", In(f"{model_dir}/model.pt")), META, EVAL_SEED,
                *params("sn22.eval", "val_tasks", "test_tasks", "repeats"), *params("sn22.train", "threads"), DEVICE,
                ("--out", out_dir)],
          outs=(Out(f"{out_dir}/metrics.json", kind="metrics"), Out(f"{out_dir}/per_task.csv"),
                Out(f"{out_dir}/update_histogram.json"), Out(f"{out_dir}/provenance.json")),
          code=SN22_EVAL_CODE, resources=EVAL_RESOURCES)


stage(
    "sn22_metatrain", module="pipeline.metatrain",
    description="sn22 meta-training: MAML SNN / FOMAML SNN / MAML CNN on a Double meta-dataset (resumable)",
    matrix=MAIN,
    args=[("--method", W("method")),
          *_train_args(SN22_TRAIN, "results/checkpoints/sn22_metatrain/{method}/{dataset}/seed{seed}")],
    outs=_train_outs(SN22_TRAIN), code=SN22_CODE, resources=TRAIN_RESOURCES,
    trains=("fomaml_snn", "maml_cnn", "maml_snn"),
)
_register_evaluate("sn22_evaluate", "sn22 few-shot evaluation: meta-val / meta-test accuracy on a fixed seeded task set",
                   MAIN, SN22_TRAIN, SN22_EVAL)

stage(
    "sn22_inner_steps",
    description="sn22 Fig 3: MAML SNN meta-test accuracy vs inner steps at test time",
    matrix=seeded(dataset="sn22.datasets"),
    args=[("--model", In("results/runs/sn22_metatrain/maml_snn/{dataset}/seed{seed}/model.pt")), META,
          *params("sn22.fig3", "steps", "tasks"), EVAL_SEED, *params("sn22.train", "threads"), DEVICE,
          ("--out", SN22_FIG3)],
    outs=(Out(f"{SN22_FIG3}/results.json"), Out(f"{SN22_FIG3}/metrics.json", kind="metrics"),
          Out(f"{SN22_FIG3}/provenance.json")),
    code=(*SN22_CODE, "pipeline/sn22_inner_steps.py"),
    resources=EVAL_RESOURCES,
)

stage(
    "sn22_frozen_metatrain", module="pipeline.metatrain",
    description="sn22 Fig 4: MAML SNN meta-trained with the first k layers frozen in the inner loop",
    matrix=FROZEN,
    args=[("--method", "maml_snn"), ("--frozen-layers", W("frozen")),
          *_train_args(f"{SN22_FROZEN}/train", "results/checkpoints/sn22_frozen/frozen{frozen}/{dataset}/seed{seed}",
                       "maml_snn")],
    outs=_train_outs(f"{SN22_FROZEN}/train"), code=SN22_CODE, resources=TRAIN_RESOURCES,
)
_register_evaluate("sn22_frozen_evaluate", "sn22 Fig 4: few-shot evaluation of the frozen-layer runs",
                   FROZEN, f"{SN22_FROZEN}/train", f"{SN22_FROZEN}/eval")

stage(
    "sn22_threshold_metatrain", module="pipeline.metatrain",
    description="sn22 Fig 5: MAML SNN meta-trained with thresholded inner updates (Eq. 6)",
    matrix=THRESHOLD,
    args=[("--method", "maml_snn"), ("--inner-threshold", P("sn22.fig5.threshold")),
          *_train_args(f"{SN22_THRESHOLD}/train", "results/checkpoints/sn22_threshold/{dataset}/seed{seed}", "maml_snn")],
    outs=_train_outs(f"{SN22_THRESHOLD}/train"), code=SN22_CODE, resources=TRAIN_RESOURCES,
)
_register_evaluate("sn22_threshold_evaluate", "sn22 Fig 5: few-shot evaluation of the thresholded-update runs",
                   THRESHOLD, f"{SN22_THRESHOLD}/train", f"{SN22_THRESHOLD}/eval")
