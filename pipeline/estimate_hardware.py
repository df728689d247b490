"""Tianjic-style hardware cost estimate (wu22 Fig 5d-f, Table S1): maps the networks onto a chip
described in YAML, simulates the phases of LP / GP / HP learning and of inference, and writes
wu22_fig5ef_learning_cost, wu22_tableS1_inference, wu22_fig5d_energy_scaling and
wu22_hardware_sensitivity (tables + figures + claims), a flat metrics JSON and provenance.json.

Spike rates come from --rates files (format: metasnn.hardware.rates; one per learning mode LP/GP/HP
and per inference coding: wu22_train and wu22_inference write them). --inference-metrics (the
wu22_inference metrics.json per coding) puts the trained inference network's test accuracy and
measured CPU latency beside the Table S1 estimate. Without rates files the stage uses stated
PLACEHOLDER rates and labels every output so (--placeholder-rates forbid makes that an error, as
the pipeline does); they are never presented as measured.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from metasnn.errors import ConfigError
from metasnn.hardware import experiments as ex
from metasnn.hardware import report
from metasnn.hardware.chip import load_chip
from metasnn.hardware.mapping import parse_cores_per_layer
from metasnn.hardware.measure import measure_cpu, measure_gpu
from metasnn.hardware.rates import load_rates_by_key
from metasnn.io import atomic_directory, atomic_write_json
from metasnn.reporting.provenance import input_sources
from pipeline.cli import main, str2bool
from pipeline.cli_flags import add_table_dirs


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--chip", help="chip preset name (tianjic, loihi) or YAML path")
    p.add_argument("--compare-chips", nargs="*", help="extra chips in the energy-scaling figure")
    p.add_argument("--rates", type=Path, nargs="*", default=[], action="extend",
                   help="rates files (one per mode LP/GP/HP and per inference coding; the flag may repeat); "
                        "none -> placeholders")
    p.add_argument("--inference-metrics", type=Path, nargs="*", default=[],
                   help="metrics.json of the trained inference network per coding (pipeline.wu22_inference): its "
                        "accuracy and CPU latency are shown beside the Table S1 estimate")
    p.add_argument("--placeholder-rates", choices=("allow", "forbid"),
                   help="allow: a mode/coding without a --rates file uses the stated placeholder rates (labelled); "
                        "forbid: that is an error (the pipeline's setting)")
    p.add_argument("--learning-layers", type=int, nargs="+")
    p.add_argument("--learning-timesteps", type=int)
    p.add_argument("--learning-cores", nargs="+", help="cores per layer or 'auto'")
    p.add_argument("--hp-global-every", type=int, nargs="+",
                   help="grid: samples per HP global update")
    p.add_argument("--hp-global-layers", nargs="+", choices=["all", "output"],
                   help="grid: layers reached by HP's global update")
    p.add_argument("--reference-every", type=int, help="HP schedule at which the claims are tested")
    p.add_argument("--reference-layers", choices=["all", "output"])
    p.add_argument("--inference-layers", type=int, nargs="+")
    p.add_argument("--inference-cores", nargs="+",
                   help="cores per layer (wu22: 70 in total) or 'auto'")
    p.add_argument("--inference-timesteps", type=int)
    p.add_argument("--inference-dataset",
                   help="dataset key of the Table S1 rows and of the paper GPU row compared with (must be the "
                        "dataset of --inference-metrics)")
    p.add_argument("--scaling-hidden", type=int, nargs="+")
    p.add_argument("--much-less-ratio", type=float, help="HP << GP means RC_HP <= this x RC_GP")
    p.add_argument("--min-advantage", type=float, help="chip vs GPU advantage needed for wu22-C5")
    p.add_argument("--sensitivity-factors", type=float, nargs="+")
    p.add_argument("--data-source", choices=("synthetic", "download", "local"), default="synthetic",
                   help="data.source of the recordings the rate-giving models were trained on (table label)")
    p.add_argument("--measure", type=str2bool,
                   help="measure CPU (and GPU if present) latency of the same network (not byte-reproducible)")
    p.add_argument("--measure-seconds", type=float)
    p.add_argument("--seed", type=int, default=0, help="seed of the measured network's weights and inputs")
    p.add_argument("--out-dir", type=Path, required=True, help="run directory: provenance, mapping, phases, constants")
    add_table_dirs(p)
    p.add_argument("--metrics", type=Path, required=True, help="flat metrics JSON")


def run(args: argparse.Namespace, ctx) -> None:
    chip = load_chip(args.chip)
    rates = load_rates_by_key(args.rates)
    inference_measured = ex.load_inference_metrics(args.inference_metrics, rates)
    dataset = ex.inference_dataset(args.inference_dataset, inference_measured)
    missing = [k for k in ("LP", "GP", "HP", "inference:rate", "inference:rank") if k not in rates]
    if missing and args.placeholder_rates == "forbid":
        raise ConfigError(f"no measured spike rates for {', '.join(missing)} and --placeholder-rates forbid; pass "
                          "their --rates files (wu22_train / wu22_inference) or --placeholder-rates allow")
    study = ex.Study(
        data_source=args.data_source,
        chip=chip, learning_sizes=args.learning_layers, learning_timesteps=args.learning_timesteps,
        learning_cores=parse_cores_per_layer(args.learning_cores), hp_every=args.hp_global_every,
        hp_layers=args.hp_global_layers,
        reference_every=args.reference_every, reference_layers=args.reference_layers,
        inference_sizes=args.inference_layers, inference_cores=parse_cores_per_layer(args.inference_cores),
        inference_timesteps=args.inference_timesteps, scaling_hidden=args.scaling_hidden,
        much_less_ratio=args.much_less_ratio, min_advantage=args.min_advantage, rates=rates,
        inference_measured=inference_measured)
    # the data behind the measured rates (provenance.json beside each rates / metrics file), for the tables'
    # data_source column (metasnn.hardware.report.sources reads Study.data_sources)
    study.data_sources = ctx.use_sources(input_sources([*args.rates, *args.inference_metrics], where="--rates"))
    if dataset in ex.PAPER_GPU_ROWS:
        study.gpu_reference = {**ex.PAPER_GPU_ROWS[dataset], "source": f"wu22 Table S1 {dataset} GPU row"}
    for coding in ("rate", "rank"):
        r = rates.get(f"inference:{coding}")
        if r is not None and r.timesteps != study.inference_timesteps:
            ctx.log.warning("%s: measured at T=%d but the inference estimate uses T=%d (rates are per step)",
                            r.path, r.timesteps, study.inference_timesteps)
    ctx.seeds = [args.seed]
    ctx.data_source = report.data_source(study)
    if study.uses_placeholders():
        ctx.log.warning("using PLACEHOLDER spike rates for %s (no --rates file); every output is labelled so",
                        ", ".join(missing))
    learning = ex.learning_reports(study)
    inference = ex.inference_reports(study)
    measured = []
    if args.measure:
        r_in = study.inference_rates("rate").layers[0].input_rate
        cpu = measure_cpu(study.inference_sizes, study.inference_timesteps, r_in, seed=args.seed,
                          min_seconds=args.measure_seconds)
        gpu = measure_gpu(study.inference_sizes, study.inference_timesteps, r_in, seed=args.seed)
        measured = [cpu, gpu]
        if gpu.latency_s is not None and gpu.energy_j is not None:
            study.gpu_reference = {"latency_s": gpu.latency_s, "energy_j": gpu.energy_j, "power_w": gpu.power_w,
                                   "source": f"measured here on {gpu.device}"}
            ctx.device = "cuda"
        ctx.log.info("measured: %s", "; ".join(f"{m.platform} {m.latency_s} s ({m.note})" for m in measured))
    reference = ex.c4_at(learning, study.reference_every, study.reference_layers, study.much_less_ratio)
    reference.update(ex.c5_from(inference, study))
    sens = ex.sensitivity(study, args.sensitivity_factors)
    chips = [chip] + [load_chip(c) for c in args.compare_chips if c != args.chip]
    scaling = ex.energy_scaling(chips, study)

    scale = ctx.scale
    checks = report.learning_table(learning, study, scale=scale, out_dir=args.tables_dir)
    report.inference_table(inference, measured, study, dataset=dataset, scale=scale,
                           out_dir=args.tables_dir)
    report.scaling_table(scaling, study, scale=scale, out_dir=args.tables_dir)
    report.sensitivity_table(sens, study, scale=scale, out_dir=args.tables_dir)
    report.write_claims_files(study, reference, checks, sens, scale=scale, out_dir=args.tables_dir)
    report.learning_figure(learning, study, args.figures_dir / f"{report.LEARNING_ID}.png")
    report.scaling_figure(scaling, study, args.figures_dir / f"{report.SCALING_ID}.png")
    atomic_write_json(args.metrics, report.flat_metrics(learning, inference, reference, study))
    with atomic_directory(args.out_dir) as tmp:
        report.write_run_files(tmp, study, learning, inference, reference, checks)
        ctx.write_provenance(tmp, measured=[m.__dict__ for m in measured])
    ctx.log.info("route cost HP/GP = %.3g at reference; GP/chip energy = %.3g", reference["rc_hp_over_gp"],
                 reference["gpu_over_chip_energy"])


if __name__ == "__main__":
    main("estimate_hardware", __doc__, add_arguments, run)
