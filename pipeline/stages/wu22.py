"""wu22 hybrid plasticity (issue 5).

wu22_train: one learning mode (gp / lp / finetune / hp) x seed on N-MNIST single digits -> curves,
metrics, weights, spike rates (hardware format), provenance. wu22_robustness: crop / noise sweeps of
one seed's models. wu22_tables: Fig 3 / Fig 4 tables, figures and claims wu22-C1..C3.
wu22_fewshot_hp: HP few-shot (conv features + plastic readout, label clamped during the support) per
meta-dataset x seed; wu22_fewshot_table: the table beside sn22's MAML numbers when sn22 produced them.
"""

from __future__ import annotations

from pipeline.registry import Each, In, Out, Resources, W
from pipeline.stages.common import EVAL_SEED, META, SEED, each_seed, params, seeded, stage
from pipeline.stages.outputs import run_outs, table_outs, table_stage, tables_matching

WU22_RUN = "results/runs/wu22_train/{method}/seed{seed}"
WU22_HP_RUN = "results/runs/wu22_fewshot_hp/{dataset}/seed{seed}"
WU22_CODE = ("metasnn/plasticity", "metasnn/meta", "metasnn/snn", "metasnn/data", "metasnn/evaluation",
             "metasnn/hardware/rates.py", "metasnn/model_file.py")
HP_RUNS = seeded(dataset="wu22.fewshot.datasets")
WU22_TABLES = ("wu22_fig3_convergence", "wu22_fig4_crop", "wu22_fig4_noise", "wu22_fig4_distance")
# flags that rebuild the single-digit inputs and network identically in train and robustness
DATA_ARGS = [("--data", In("data/fetched/nmnist", directory=True)),
             *params("wu22", "timesteps", "window_ms", "pool", "hidden", "train_per_class", "test_per_class", "reset",
                     "post_form", "readout_clamp")]
# a trained network's run files (wu22_train, wu22_inference): (flag, file, kind)
NETWORK_FILES = (("--curves", "curves.csv", "plots"), ("--metrics", "metrics.json", "metrics"),
                 ("--model", "model.pt", "out"), ("--rates", "rates.json", "out"), ("--provenance", "provenance.json", "out"))


stage(
    "wu22_train",
    description="wu22 GP / LP / fine-tune / HP training on N-MNIST single digits (curves, weights, spike rates)",
    matrix=seeded(method="wu22.methods"),
    args=[*DATA_ARGS, ("--method", W("method")), SEED,
          *params("wu22", "epochs", "batch_size", "lr_weights", "lr_meta", "hp_training", "inner_lr", "second_order"),
          *run_outs(WU22_RUN, *NETWORK_FILES)],
    code=WU22_CODE,
    resources=Resources(threads=1, mem_mb=3000, runtime_min=60),
)

stage(
    "wu22_robustness",
    description="wu22 Fig 4: accuracy and hidden-membrane drift under crop (ci) and noise (nl), one seed",
    matrix=seeded(),
    args=[*DATA_ARGS, SEED, ("--models", Each(f"{WU22_RUN}/model.pt", over={"method": "wu22.methods"})),
          *params("wu22", "levels"),
          ("--out", Out("results/runs/wu22_robustness/seed{seed}/robustness.json")),
          ("--provenance", Out("results/runs/wu22_robustness/seed{seed}/provenance.json"))],
    code=WU22_CODE, resources=Resources(threads=1, mem_mb=2000, runtime_min=20),
)

table_stage(
    "wu22_tables",
    description="wu22 Fig 3 / Fig 4 tables, figures and claims wu22-C1..C3 from the single-digit runs",
    inputs=[
        ("--metrics", each_seed(f"{WU22_RUN}/metrics.json", method="wu22.methods")),
        ("--curves", each_seed(f"{WU22_RUN}/curves.csv", method="wu22.methods")),
        ("--robustness", each_seed("results/runs/wu22_robustness/seed{seed}/robustness.json")),
        ("--provenance", each_seed(f"{WU22_RUN}/provenance.json", method="wu22.methods")),
        *params("wu22", margin="noninferiority_margin"),
    ],
    outs=table_outs(WU22_TABLES, exts=("csv", "md"), claims=("wu22_fig3_convergence", "wu22_fig4_crop", "wu22_fig4_distance")),
)

stage(
    "wu22_fewshot_hp",
    description="wu22 HP few-shot on one meta-dataset: plastic output layer storing the labelled support",
    matrix=HP_RUNS,
    args=[META, SEED, EVAL_SEED,
          *params("wu22.fewshot", "channels", "episodes", "test_episodes", "ways", "shots", "queries", "label_gain",
                  "lr_weights", "lr_meta"),
          *run_outs(WU22_HP_RUN, ("--out", "result.json", "out"), ("--model", "model.pt", "out"),
                    ("--provenance", "provenance.json", "out"))],
    code=WU22_CODE,
    resources=Resources(threads=1, mem_mb=3000, runtime_min=60),
    trains=("hp",),
)

table_stage(
    "wu22_fewshot_table",
    description="wu22_fewshot_hp table/figure: HP few-shot beside sn22 MAML (when sn22's table exists)",
    inputs=[("--results", Each(f"{WU22_HP_RUN}/result.json", over=HP_RUNS)),
            ("--provenance", Each(f"{WU22_HP_RUN}/provenance.json", over=HP_RUNS)),
            ("--sn22", tables_matching("/sn22_table2_fewshot.csv", "sn22"))],
    outs=table_outs(("wu22_fewshot_hp",), exts=("csv", "md")),
)
