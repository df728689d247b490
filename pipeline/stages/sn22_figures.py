"""sn22 (issue 4): Fig 6 transfer baseline, and every sn22 table, figure and claim.

Fig 6: 64-way pretraining + new last layer on k shots. sn22_tables: all sn22 tables, figures, claims.
"""

from __future__ import annotations

from pipeline.registry import Each, Out, Resources
from pipeline.stages.common import DEVICE, EVAL_SEED, META, SEED, each_seed, params, seeded, stage
from pipeline.stages.outputs import TABLE_CODE, table_outs, table_stage
from pipeline.stages.sn22 import (
               FROZEN,
               MAIN,
               SN22_CODE,
               SN22_EVAL,
               SN22_FIG3,
               SN22_FROZEN,
               SN22_THRESHOLD,
               SN22_TRAIN,
               THRESHOLD,
)

SN22_FIG6 = "results/runs/sn22_transfer/{dataset}/seed{seed}"
FIG6 = seeded(dataset="sn22.fig6.datasets")
SN22_TABLES = ("sn22_table2_fewshot", "sn22_fig3_inner_steps", "sn22_fig4_frozen_layers",
               "sn22_table3_update_magnitudes", "sn22_fig5_thresholded_updates", "sn22_fig6_transfer")

stage(
    "sn22_transfer",
    description="sn22 Fig 6: pretrain on all meta-train classes, new last layer on k shots (also Table 3 non-meta)",
    matrix=FIG6,
    args=[META, SEED,
          *params("sn22.train", "channels", input_pool="input_pool.{dataset}"),
          *params("sn22.train", "pooling", "burn_in", "init", "lsuv_mean", "scale_decays"),
          *params("sn22.fig6", "pretrain_steps", "pretrain_batch", "pretrain_lr"),
          *params("sn22.train", "ways"), *params("sn22.fig6", "shots"), *params("sn22.train", "queries"),
          *params("sn22.fig6", "tasks"), EVAL_SEED, *params("sn22.fig6", "head_steps", "head_lr"),
          *params("sn22.train", "threads"), DEVICE,
          ("--out", SN22_FIG6)],
    outs=(Out(f"{SN22_FIG6}/results.json"), Out(f"{SN22_FIG6}/curve.csv", kind="plots"),
          Out(f"{SN22_FIG6}/metrics.json", kind="metrics"), Out(f"{SN22_FIG6}/model.pt"),
          Out(f"{SN22_FIG6}/provenance.json")),
    code=(*SN22_CODE, "metasnn/baselines/transfer.py", "pipeline/sn22_transfer.py"),
    resources=Resources(threads=1, mem_mb=3000, runtime_min=120, gpu=1),
)

table_stage(
    "sn22_tables",
    description="sn22 Table 2, Figs 3-6, Table 3: tables, figures and claims sn22-C1..C7",
    inputs=[
        ("--evaluations", Each(f"{SN22_EVAL}/metrics.json", over=MAIN)),
        ("--curves", Each(f"{SN22_TRAIN}/curve.csv", over=MAIN)),
        ("--inner-steps", each_seed(f"{SN22_FIG3}/results.json", dataset="sn22.datasets")),
        ("--frozen", Each(f"{SN22_FROZEN}/eval/metrics.json", over=FROZEN)),
        ("--threshold", Each(f"{SN22_THRESHOLD}/eval/metrics.json", over=THRESHOLD)),
        ("--transfer", Each(f"{SN22_FIG6}/results.json", over=FIG6)),
        *params("sn22.claims", "noninferiority_margin", "frozen_margin", "transfer_shots_holds", "transfer_shots_fails"),
    ],
    deps=(Each(f"{SN22_EVAL}/per_task.csv", over=MAIN), Each(f"{SN22_EVAL}/provenance.json", over=MAIN),
          Each(f"{SN22_FROZEN}/eval/per_task.csv", over=FROZEN),
          Each(f"{SN22_THRESHOLD}/eval/per_task.csv", over=THRESHOLD),
          Each(f"{SN22_THRESHOLD}/eval/update_histogram.json", over=THRESHOLD),
          Each(f"{SN22_FIG6}/curve.csv", over=FIG6)),
    outs=table_outs(SN22_TABLES, exts=("csv", "md"), claims=SN22_TABLES),
    code=(*TABLE_CODE, "pipeline/sn22_tables.py"),
    resources=Resources(threads=1, mem_mb=1500, runtime_min=5),
)
