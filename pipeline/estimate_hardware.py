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
import csv
import io
from pathlib import Path

from metasnn.errors import ConfigError
from metasnn.hardware import experiments as ex
from metasnn.hardware import report
from metasnn.hardware.chip import load_chip
from metasnn.hardware.mapping import map_network
from metasnn.hardware.measure import measure_cpu, measure_gpu
from metasnn.hardware.rates import load_rates
from metasnn.io import atomic_directory, atomic_write_json, atomic_write_text
from metasnn.reporting.provenance import input_sources
from pipeline.cli import main, str2bool


def _cores(values: list[str] | None) -> list[int] | None:
    if not values or values == ["auto"]:
        return None
    try:
        return [int(v) for v in values]
    except ValueError:
        raise ConfigError(f"--inference-cores/--learning-cores: expected integers or 'auto', got {values}") from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--chip", default="tianjic", help="chip preset name (tianjic, loihi) or YAML path")
    p.add_argument("--compare-chips", nargs="*", default=["loihi"], help="extra chips in the energy-scaling figure")
    p.add_argument("--rates", type=Path, nargs="*", default=[], action="extend",
                   help="rates files (one per mode LP/GP/HP and per inference coding; the flag may repeat); "
                        "none -> placeholders")
    p.add_argument("--inference-metrics", type=Path, nargs="*", default=[],
                   help="metrics.json of the trained inference network per coding (pipeline.wu22_inference): its "
                        "accuracy and CPU latency are shown beside the Table S1 estimate")
    p.add_argument("--placeholder-rates", choices=("allow", "forbid"), default="allow",
                   help="allow: a mode/coding without a --rates file uses the stated placeholder rates (labelled); "
                        "forbid: that is an error (the pipeline's setting)")
    p.add_argument("--learning-layers", type=int, nargs="+", default=[784, 512, 10])
    p.add_argument("--learning-timesteps", type=int, default=3)
    p.add_argument("--learning-cores", nargs="+", default=["auto"], help="cores per layer or 'auto'")
    p.add_argument("--hp-global-every", type=int, nargs="+", default=[1, 4, 16, 64],
                   help="grid: samples per HP global update")
    p.add_argument("--hp-global-layers", nargs="+", default=["all", "output"], choices=["all", "output"],
                   help="grid: layers reached by HP's global update")
    p.add_argument("--reference-every", type=int, default=16, help="HP schedule at which the claims are tested")
    p.add_argument("--reference-layers", default="all", choices=["all", "output"])
    p.add_argument("--inference-layers", type=int, nargs="+", default=[784, 1024, 1024, 10])
    p.add_argument("--inference-cores", nargs="+", default=["32", "32", "6"],
                   help="cores per layer (wu22: 70 in total) or 'auto'")
    p.add_argument("--inference-timesteps", type=int, default=8)
    p.add_argument("--inference-dataset", default=None,
                   help="dataset key of the Table S1 rows and of the paper GPU row compared with (default: the "
                        "dataset of --inference-metrics, else MNIST)")
    p.add_argument("--scaling-hidden", type=int, nargs="+", default=[64, 128, 256, 512, 1024])
    p.add_argument("--much-less-ratio", type=float, default=0.25, help="HP << GP means RC_HP <= this x RC_GP")
    p.add_argument("--min-advantage", type=float, default=10.0, help="chip vs GPU advantage needed for wu22-C5")
    p.add_argument("--sensitivity-factors", type=float, nargs="+", default=[0.5, 1.0, 2.0])
    p.add_argument("--data-source", choices=("synthetic", "download", "local"), default="synthetic",
                   help="data.source of the recordings the rate-giving models were trained on (table label)")
    p.add_argument("--measure", type=str2bool, default=True,
                   help="measure CPU (and GPU if present) latency of the same network (not byte-reproducible)")
    p.add_argument("--measure-seconds", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=0, help="seed of the measured network's weights and inputs")
    p.add_argument("--out-dir", type=Path, required=True, help="run directory: provenance, mapping, phases, constants")
    p.add_argument("--tables-dir", type=Path, required=True)
    p.add_argument("--figures-dir", type=Path, required=True)
    p.add_argument("--metrics", type=Path, required=True, help="flat metrics JSON")


def _rates_by_key(paths: list[Path]) -> dict:
    out = {}
    for path in paths:
        r = load_rates(path)
        key = r.mode if r.mode != "inference" else f"inference:{r.coding}"
        if key in out:
            raise ConfigError(f"{path}: a second rates file for {key} (first: {out[key].path}); give one per mode/coding")
        out[key] = r
    return out


def _inference_metrics(paths: list[Path], rates: dict) -> dict[str, dict]:
    """coding -> metrics.json of the trained inference network (pipeline.wu22_inference), validated."""
    import json

    out: dict[str, dict] = {}
    for path in paths:
        if not path.is_file():
            raise ConfigError(f"{path}: inference metrics file not found; run pipeline.wu22_inference or omit "
                              "--inference-metrics")
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
        coding = data.get("coding") if isinstance(data, dict) else None
        if coding not in ("rate", "rank"):
            raise ConfigError(f"{path}: expected the metrics of pipeline.wu22_inference with 'coding' rate or rank, "
                              f"got {coding!r}")
        acc = data.get("test_acc")
        if isinstance(acc, bool) or not isinstance(acc, (int, float)) or not 0.0 <= acc <= 1.0:
            raise ConfigError(f"{path}: 'test_acc' must be a fraction in [0, 1], got {acc!r}")
        if coding in out:
            raise ConfigError(f"{path}: a second inference metrics file for {coding} coding; give one per coding")
        if f"inference:{coding}" not in rates:
            raise ConfigError(f"{path}: metrics of the {coding}-coded network but no inference rates file for "
                              f"{coding} coding in --rates; give the rates.json written by the same run")
        out[coding] = {**data, "path": str(path)}
    return out


def _inference_dataset(given: str | None, measured: dict[str, dict]) -> str:
    found = sorted({str(m.get("dataset")) for m in measured.values() if m.get("dataset")})
    if len(found) > 1:
        raise ConfigError(f"--inference-metrics: the networks were trained on different datasets {found}")
    if given is None:
        return found[0] if found else "MNIST"
    if found and given != found[0]:
        raise ConfigError(f"--inference-dataset {given} but the inference networks of --inference-metrics were "
                          f"trained on {found[0]}; the Table S1 rows must name the dataset their rates come from")
    return given


def _phases_csv(reports: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["mode", "hp_global_every", "hp_global_layers", "phase", "kind", "repeat", "ad_cycles", "soma_cycles",
                "router_cycles", "sync_cycles", "cores_routing", "synaptic_ops", "weight_updates", "neuron_updates",
                "packets", "packet_hops"])
    for (mode, every, layers), rep in reports.items():
        for ph in rep.phases:
            w.writerow([mode, every, layers, ph.name, ph.kind, f"{ph.repeat:.6g}", f"{ph.ad_cycles:.6g}",
                        f"{ph.soma_cycles:.6g}", f"{ph.router_cycles:.6g}", f"{ph.sync_cycles:.6g}", ph.cores_routing,
                        f"{ph.synaptic_ops:.6g}", f"{ph.weight_updates:.6g}", f"{ph.neuron_updates:.6g}",
                        f"{ph.packets:.6g}", f"{ph.packet_hops:.6g}"])
    return buf.getvalue()


def _mapping_json(mapping) -> dict:
    return {"chip": mapping.chip.name, "cores": mapping.n_cores, "cores_per_layer": mapping.cores_per_layer,
            "layers": [{"name": lm.spec.name, "n_in": lm.spec.n_in, "n_out": lm.spec.n_out, "g_in": lm.g_in,
                        "g_out": lm.g_out,
                        "tiles": [{"core": t.core, "row": t.row, "col": t.col, "inputs": [t.in_start, t.in_stop],
                                   "neurons": [t.out_start, t.out_stop], "passes": t.passes} for t in lm.tiles]}
                       for lm in mapping.layers]}


def run(args: argparse.Namespace, ctx) -> None:
    chip = load_chip(args.chip)
    rates = _rates_by_key(args.rates)
    inference_measured = _inference_metrics(args.inference_metrics, rates)
    dataset = _inference_dataset(args.inference_dataset, inference_measured)
    missing = [k for k in ("LP", "GP", "HP", "inference:rate", "inference:rank") if k not in rates]
    if missing and args.placeholder_rates == "forbid":
        raise ConfigError(f"no measured spike rates for {', '.join(missing)} and --placeholder-rates forbid; pass "
                          "their --rates files (wu22_train / wu22_inference) or --placeholder-rates allow")
    study = ex.Study(
        data_source=args.data_source,
        chip=chip, learning_sizes=args.learning_layers, learning_timesteps=args.learning_timesteps,
        learning_cores=_cores(args.learning_cores), hp_every=args.hp_global_every, hp_layers=args.hp_global_layers,
        reference_every=args.reference_every, reference_layers=args.reference_layers,
        inference_sizes=args.inference_layers, inference_cores=_cores(args.inference_cores),
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
        atomic_write_text(tmp / "chip_constants.csv", _constants_csv(chip))
        atomic_write_json(tmp / "mapping_learning.json", _mapping_json(
            map_network(list(study.learning_sizes), chip, study.learning_cores)))
        atomic_write_json(tmp / "mapping_inference.json", _mapping_json(
            map_network(list(study.inference_sizes), chip, study.inference_cores)))
        atomic_write_text(tmp / "phases.csv", _phases_csv(
            {**learning, **{("inference:" + c, "-", "-"): r for c, r in inference.items()}}))
        atomic_write_json(tmp / "rates_used.json", {
            "placeholder": study.uses_placeholders(), "note": report.rates_note(study),
            "learning": {m: study.learning_rates(m).to_json() for m in ("LP", "GP", "HP")},
            "inference": {c: study.inference_rates(c).to_json() for c in ("rate", "rank")},
            "inference_networks": {c: dict(m) for c, m in sorted(inference_measured.items())}})
        atomic_write_json(tmp / "conclusions.json", {"reference": reference, "hp_settings": checks})
        ctx.write_provenance(tmp, measured=[m.__dict__ for m in measured])
    ctx.log.info("route cost HP/GP = %.3g at reference; GP/chip energy = %.3g", reference["rc_hp_over_gp"],
                 reference["gpu_over_chip_energy"])


def _constants_csv(chip) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, ["chip", "constant", "value", "unit", "status", "source"], lineterminator="\n")
    w.writeheader()
    w.writerows(chip.table())
    return buf.getvalue()


if __name__ == "__main__":
    main("estimate_hardware", __doc__, add_arguments, run)
