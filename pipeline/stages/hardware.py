"""Hardware (issue 7): the Table S1 inference network and the Tianjic-style cost estimate.

Spike rates (format: metasnn/hardware/rates.py): LP / GP / HP from wu22_train, inference (rate and
rank coding) from wu22_inference, which trains wu22's Table S1 network [input-H-H-10] on N-MNIST
single digits and also measures its test accuracy and CPU latency. estimate_hardware runs with
--placeholder-rates forbid (hardware.placeholder_rates): the pipeline never uses placeholder rates.
"""

from __future__ import annotations

from pipeline.registry import Each, In, Out, P, Resources, W
from pipeline.stages.common import params, stage
from pipeline.stages.outputs import run_outs, table_outs, table_stage
from pipeline.stages.wu22 import NETWORK_FILES

WU22_INFERENCE_RUN = "results/runs/wu22_inference/{coding}/seed{seed}"
HARDWARE_TABLES = ("wu22_fig5ef_learning_cost", "wu22_tableS1_inference", "wu22_fig5d_energy_scaling",
                   "wu22_hardware_sensitivity")
RATES_SEEDS = {"rates_seed": "wu22.rates_seed"}
CODINGS = {"coding": "hardware.inference_net.codings", **RATES_SEEDS}
MEASURE = params("hardware", "measure", "measure_seconds")

stage(
    "wu22_inference",
    description="wu22 Table S1 inference network [input-H-H-10] (rate / rank coding): rates, accuracy, CPU latency",
    matrix={"coding": "hardware.inference_net.codings", "seed": "wu22.rates_seed"},
    args=[
        ("--data", In("data/fetched/nmnist", directory=True)),
        ("--coding", W("coding")),
        ("--seed", W("seed")),
        ("--timesteps", P("hardware.inference_timesteps")),
        *params("hardware.inference_net", "window_ms", "pool", "hidden", "train_per_class", "test_per_class", "epochs",
                "batch_size", "lr"),
        *MEASURE,
        *run_outs(WU22_INFERENCE_RUN, *NETWORK_FILES),
    ],
    code=("metasnn/hardware/inference.py", "metasnn/hardware/measure.py", "metasnn/hardware/rates.py",
          "metasnn/plasticity", "metasnn/snn", "metasnn/data", "metasnn/model_file.py", "pipeline/wu22_train.py"),
    resources=Resources(threads=1, mem_mb=3000, runtime_min=30),
)

table_stage(
    "estimate_hardware",
    description="Tianjic-style cost estimate: LP/GP/HP route cost and throughput, inference energy/latency, sensitivity",
    inputs=[
        *params("hardware", "chip", "compare_chips"),
        # measured spike rates of the trained wu22 GP / LP / HP models (issue 5; empty list -> placeholders)
        ("--rates", Each("results/runs/wu22_train/{method}/seed{rates_seed}/rates.json",
                         over={"method": "wu22.rates_methods", **RATES_SEEDS})),
        # measured spike rates, accuracy and CPU latency of the Table S1 inference network (rate / rank coding)
        ("--rates", Each("results/runs/wu22_inference/{coding}/seed{rates_seed}/rates.json", over=CODINGS)),
        ("--inference-metrics", Each("results/runs/wu22_inference/{coding}/seed{rates_seed}/metrics.json", over=CODINGS)),
        *params("hardware", "placeholder_rates", "learning_layers", "learning_timesteps", "learning_cores",
                "hp_global_every", "hp_global_layers", "reference_every", "reference_layers", "inference_layers",
                "inference_cores", "inference_timesteps", "inference_dataset", "scaling_hidden", "much_less_ratio",
                "min_advantage", "sensitivity_factors"),
        *MEASURE,
    ],
    after=[("--metrics", Out("results/metrics/estimate_hardware.json", kind="metrics")),
           ("--out-dir", Out("results/runs/estimate_hardware", directory=True))],
    outs=table_outs(HARDWARE_TABLES, exts=("csv", "md"), claims=HARDWARE_TABLES[:2],
                    figures=("wu22_fig5ef_learning_cost", "wu22_fig5d_energy_scaling")),
    code=("metasnn/hardware", "metasnn/hardware/chips/tianjic.yaml", "metasnn/hardware/chips/loihi.yaml",
          "metasnn/reporting"),
    resources=Resources(threads=1, mem_mb=1500, runtime_min=5),
)
