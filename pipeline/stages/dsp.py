"""dsp (issue 6): dynamic synaptic plasticity and its baselines on the shared backbone.

dsp_train: one method (dsp / dsp_fixed / stdp / stbp / eihl) x meta-dataset x seed on the shared backbone
-> model, metrics (accuracy, convergence step, eta statistics, cost), per-task accuracies, curve, provenance.
dsp_beta_sweep: dsp at the other meta learning rates beta (the dsp_train run supplies beta = dsp.beta).
dsp_tables: dsp_table1_methods, dsp_table3_fixed_vs_dynamic, dsp_fig4_eta_hist, dsp_fig5_beta_sweep + dsp-C1..C4.
"""

from __future__ import annotations

from pipeline.registry import Each, Out, P, Resources, W
from pipeline.stages.common import EVAL_SEED, META, SEED, params, seeded, stage
from pipeline.stages.outputs import table_outs, table_stage

DSP_RUN = "results/runs/dsp_train/{method}/{dataset}/seed{seed}"
DSP_SWEEP_RUN = "results/runs/dsp_beta_sweep/dsp_beta{beta}/{dataset}/seed{seed}"
DSP_CODE = ("metasnn/plasticity/dsp.py", "metasnn/baselines", "metasnn/meta", "metasnn/snn", "metasnn/data",
            "metasnn/evaluation/cost.py", "metasnn/model_file.py")
DSP_TABLES = ("dsp_table1_methods", "dsp_table3_fixed_vs_dynamic", "dsp_fig4_eta_hist", "dsp_fig5_beta_sweep")
DSP_RUN_FILES = (("model.pt", "out"), ("metrics.json", "metrics"), ("curve.csv", "plots"), ("tasks.json", "out"),
                 ("provenance.json", "out"))
RUNS = seeded(method="dsp.methods", dataset="dsp.datasets")
SWEEP = seeded(beta="dsp.beta_sweep.betas", dataset="dsp.beta_sweep.datasets")
RESOURCES = Resources(threads=1, mem_mb=2000, runtime_min=30)

# flags shared by dsp_train and dsp_beta_sweep (the backbone, dsp, baselines and evaluation)
DSP_ARGS = [
    META, SEED,
    *params("dsp", "ways", "shots", "queries", "train_queries", "channels", "input_pool.{dataset}", "burn_in",
            "outer_steps", "eta_init", "inner_steps", "second_order"),
    *params("dsp.stdp", "a_plus", "a_minus", "tau_plus_ms", "tau_minus_ms", stdp_presentations="presentations"),
    *params("dsp.pretrain", pretrain_steps="steps", batch_size="batch_size", pretrain_lr="lr", head_steps="head_steps",
            head_lr="head_lr"),
    *params("dsp", "eihl.contraction", "eihl.prune_fraction", "eihl.switch_delta", "eihl.silent_fraction",
            "eihl.min_phase", "eval.tasks"),
    EVAL_SEED,
    *params("dsp", "convergence.window", "convergence.fraction", "checkpoint_every"),
]


def _run_outs(run: str) -> tuple[Out, ...]:
    return tuple(Out(f"{run}/{name}", kind=kind) for name, kind in DSP_RUN_FILES)


stage(
    "dsp_train",
    description="dsp experiments: train + few-shot evaluate dsp / fixed-eta dsp / STDP / STBP / EIHL (approximate)",
    matrix=RUNS,
    args=[("--method", W("method")), *DSP_ARGS, ("--beta", P("dsp.beta")),
          ("--checkpoint-dir", "results/checkpoints/dsp_train/{method}/{dataset}/seed{seed}"), ("--out", DSP_RUN)],
    outs=_run_outs(DSP_RUN), code=DSP_CODE, resources=RESOURCES, trains=("dsp", "eihl", "stbp", "stdp"),
)

stage(
    "dsp_beta_sweep", module="pipeline.dsp_train",
    description="dsp Fig 5: dsp meta-trained at the other meta learning rates beta",
    matrix=SWEEP,
    args=[("--method", "dsp"), *DSP_ARGS, ("--beta", W("beta")),
          ("--checkpoint-dir", "results/checkpoints/dsp_beta_sweep/dsp_beta{beta}/{dataset}/seed{seed}"),
          ("--out", DSP_SWEEP_RUN)],
    outs=_run_outs(DSP_SWEEP_RUN), code=DSP_CODE, resources=RESOURCES,
)

table_stage(
    "dsp_tables",
    description="dsp Table 1 / Table 3 / Fig 4 / Fig 5 tables, figures and claims dsp-C1..C4",
    inputs=[("--runs", Each(f"{DSP_RUN}/metrics.json", over=RUNS)), ("--sweep", Each(f"{DSP_SWEEP_RUN}/metrics.json", over=SWEEP)),
            *params("dsp", sweep_datasets="beta_sweep.datasets", heterogeneity_cv="heterogeneity_cv")],
    after=[("--provenance", Out("results/runs/dsp_tables/provenance.json"))],
    deps=(*[Each(f"{DSP_RUN}/{name}", over=RUNS) for name in ("tasks.json", "curve.csv", "model.pt", "provenance.json")],
          *[Each(f"{DSP_SWEEP_RUN}/{name}", over=SWEEP) for name in ("tasks.json", "provenance.json")]),
    outs=table_outs(DSP_TABLES),
    code=("metasnn/reporting", "metasnn/evaluation/statistics.py", "metasnn/plasticity/dsp.py", "metasnn/model_file.py",
          "paper/targets.yaml"),
)
