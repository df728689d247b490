"""mp23 metaplasticity and ip2 intrinsic plasticity (issue 6).

mp23_train: every rule variant (ABCD / BD / A-only / fixed) x meta-dataset x seed; mp23_table: mp23_rule_ablation
+ mp23-C1. ip2_train: mask selection + learning-to-learn sequence (intrinsic RSNN and point-neuron baseline) x
meta-dataset x seed; ip2_table: ip2_learning_to_learn + ip2-C1.
"""

from __future__ import annotations

from pipeline.registry import Each, Out, Resources
from pipeline.stages.common import EVAL_SEED, META, SEED, params, seeded, stage
from pipeline.stages.outputs import table_outs, table_stage

MP23_RUN = "results/runs/mp23_train/{dataset}/seed{seed}"
IP2_RUN = "results/runs/ip2_train/{dataset}/seed{seed}"
PLASTICITY_CODE = ("metasnn/plasticity", "metasnn/meta", "metasnn/snn", "metasnn/data", "metasnn/evaluation",
                   "metasnn/model_file.py")


def _register_paper(paper: str, run: str, train_args: list, table: str, description: str, table_description: str,
                    checkpoints: bool = False) -> None:
    """A paper's training stage (meta-dataset x seed, one run directory; ``checkpoints``: it resumes from
    results/checkpoints) and its table stage (one table + claim)."""
    over = seeded(dataset=f"{paper}.datasets")
    if checkpoints:
        train_args = [*train_args, ("--checkpoint-dir", f"results/checkpoints/{paper}_train/{{dataset}}/seed{{seed}}"),
                      *params(paper, "checkpoint_every")]
    stage(f"{paper}_train", description=description, matrix=over,
          args=[META, SEED, EVAL_SEED, *train_args, ("--out", Out(run, directory=True))],
          code=PLASTICITY_CODE, resources=Resources(threads=1, mem_mb=2000, runtime_min=30), trains=(paper,))
    table_stage(f"{paper}_table", description=table_description, inputs=[("--runs", Each(run, over=over))],
                outs=table_outs((table,)), code=("metasnn/reporting", "metasnn/evaluation/statistics.py", "paper/targets.yaml"))


_register_paper(
    "mp23", MP23_RUN,
    params("mp23", "variants", "ways", "shots", "queries", "train_queries", "grid", "steps", "hidden", "label_gain",
           "eta_init", "outer_steps", "outer_lr.{dataset}", "rule_lr_factor", "meta_optimizer", "es_pairs", "es_sigma",
           "test_episodes"),
    "mp23_rule_ablation",
    "mp23 metaplasticity: meta-learn the per-synapse ABCD rule and its ablations on one meta-dataset",
    "mp23_rule_ablation table/figure and claim mp23-C1 (paired over seeds)", checkpoints=True)

_register_paper(
    "ip2", IP2_RUN,
    [*params("ip2", "recurrent", "ways", "shots", "queries", "grid", "steps", "hidden", inner_lr="inner_lr.intrinsic",
             point_inner_lr="inner_lr.point"),
     *params("ip2", "max_steps", "criterion", "homeostasis", "target_rate", "outer_lr", "mask_candidates",
             "selection_tasks", "tasks", "test_episodes")],
    "ip2_learning_to_learn",
    "ip2 intrinsic plasticity: mask selection, learning-to-learn sequence vs point-neuron baseline",
    "ip2_learning_to_learn table/figure and claim ip2-C1 (slopes of steps to criterion over seeds)")
