"""Tables, figures, claims, flat metrics and run-directory files of the hardware stage (via the shared
reporting code)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from metasnn.data.sources import DataSource, describe
from metasnn.hardware.chip import Chip
from metasnn.hardware.experiments import CONCLUSIONS, LEARNING_METRICS, Study, c4_at
from metasnn.hardware.mapping import map_network
from metasnn.hardware.measure import Measured
from metasnn.hardware.simulator import CostReport
from metasnn.io import atomic_write_json, atomic_write_text
from metasnn.reporting.claims import ClaimResult, write_claims
from metasnn.reporting.figures import figure
from metasnn.reporting.tables import Measurement, write_comparison_table

LEARNING_ID = "wu22_fig5ef_learning_cost"
INFERENCE_ID = "wu22_tableS1_inference"
SCALING_ID = "wu22_fig5d_energy_scaling"
SENSITIVITY_ID = "wu22_hardware_sensitivity"
TABLE_IDS = (LEARNING_ID, INFERENCE_ID, SCALING_ID, SENSITIVITY_ID)
FIGURE_IDS = (LEARNING_ID, SCALING_ID)

def rates_note(study: Study) -> str:
    if study.uses_placeholders():
        from metasnn.hardware.rates import PLACEHOLDER_NOTE

        given = sorted(study.rates) or ["none"]
        return f"{PLACEHOLDER_NOTE} Measured rates given for: {', '.join(given)}."
    return "Spike rates measured from trained models: " + ", ".join(
        f"{k}={r.path}" for k, r in sorted(study.rates.items()))


def sources(study: Study) -> dict[str, DataSource]:
    """The data sources behind the study's measured spike rates (``Study.data_sources``, raw -> DataSource);
    empty when the study names none (placeholder rates). Table rows take their ``data_source`` from these."""
    found = getattr(study, "data_sources", None)
    return dict(found) if isinstance(found, Mapping) else {}


def data_source(study: Study) -> str:
    """The claims' and figures' data source: :func:`describe` of :func:`sources`. Whether spike rates were
    measured or placeholders is stated in each table's ``rates`` column and notes."""
    return describe(sources(study).values())  # "unknown" when the study names no source, like the table rows


def _fmt_setting(study: Study) -> str:
    return f"hp_global_every={study.reference_every}, hp_global_layers={study.reference_layers}"


def learning_table(reports: Mapping[tuple[str, str, str], CostReport], study: Study, *, scale: str,
                   out_dir: Path) -> list[dict[str, Any]]:
    """Rows of wu22_fig5ef_learning_cost; returns the per-HP-setting ordering checks."""
    checks = {}
    for (mode, every, layers) in reports:
        if mode == "HP":
            checks[(every, layers)] = c4_at(reports, int(every), layers, study.much_less_ratio)
    measurements = []
    for (mode, every, layers), rep in reports.items():
        chk = checks.get((every, layers), {})
        for metric in LEARNING_METRICS:
            extra = {"chip": rep.chip, "cores": rep.cores, "timesteps": rep.timesteps, "rates": rep.rates_source,
                     "rc_hp_over_gp": chk.get("rc_hp_over_gp"),
                     "rc_learning_hp_over_gp": chk.get("rc_learning_hp_over_gp"),
                     "paper_route_ordering_holds": chk.get("c4_route"),
                     "learning_route_ordering_holds": chk.get("c4_route_learning"),
                     "paper_throughput_ordering_holds": chk.get("c4_throughput")}
            measurements.append(Measurement(key={"mode": mode, "hp_global_every": every, "hp_global_layers": layers,
                                                 "metric": metric}, per_seed=[rep.metrics[metric]], extra=extra,
                                            note="estimate (cost model)"))
    notes = [
        f"Network {list(study.learning_sizes)}, T={study.learning_timesteps}, chip {study.chip.name}. "
        "Deterministic estimate: one value per row, no seeds.",
        f"paper_route_ordering_holds: RC_HP <= {study.much_less_ratio} x RC_GP over all packets (incl. the forward "
        "pass shared by every mode); learning_route_ordering_holds: the same on learning-only packets "
        "(local, label, backward, weight and meta updates).",
        "paper_throughput_ordering_holds: TC_LP > TC_HP > TC_GP (samples/s, units serial within a phase).",
        rates_note(study),
    ]
    write_comparison_table(LEARNING_ID, measurements, scale=scale, sources=sources(study), out_dir=out_dir,
                           caption="RC = packets per sample; TC = samples/s.", notes=notes)
    return [{"hp_global_every": int(e), "hp_global_layers": lay, **c} for (e, lay), c in sorted(
        checks.items(), key=lambda kv: (kv[0][1], int(kv[0][0])))]


def _raw_datasets(dataset: str) -> tuple[str, ...]:
    """The raw dataset behind a Table S1 dataset label (``N-MNIST`` -> ``nmnist``), for the rows' data_source."""
    from metasnn.data.sources import RAW_NAMES

    return tuple(raw for raw, name in RAW_NAMES.items() if name == dataset)


#: platform of the rows measured on the trained inference network (accuracy, CPU latency)
TRAINED_CPU_PLATFORM = "CPU, trained network (this machine)"


def inference_table(inf: Mapping[str, CostReport], measured: Sequence[Measured], study: Study, *, dataset: str,
                    scale: str, out_dir: Path) -> None:
    ms = []
    fed_by = _raw_datasets(dataset) if study.inference_measured else ()
    chip_platform = study.chip.name.capitalize() if study.chip.name == "tianjic" else study.chip.name
    for coding, rep in inf.items():
        m = rep.metrics
        common = {"chip": rep.chip, "cores": rep.cores, "timesteps": rep.timesteps, "rates": rep.rates_source,
                  "kind": "chip estimate"}
        rows = [("latency_ms", m["latency_s"] * 1e3, "estimated chip latency"),
                ("energy_mj", m["energy_board_j"] * 1e3, "board-level: board_power_w x estimated latency "
                 "(the paper's definition)"),
                ("energy_dynamic_mj", m["energy_dynamic_j"] * 1e3, "dynamic chip energy only"),
                ("energy_static_mj", m["energy_static_j"] * 1e3, "chip_static_power_w x latency"),
                ("compute_ratio", m["compute_ratio"], "triggered / dense synaptic ops"),
                ("power_w", study.chip["board_power_w"], "= chip constant board_power_w, an input, not an estimate"),
                ("route_cost_packets", m["route_cost_packets"], "packets per sample")]
        for metric, value, note in rows:
            ms.append(Measurement(key={"dataset": dataset, "platform": chip_platform, "coding": coding,
                                       "metric": metric}, per_seed=[value], extra=common, note=note, datasets=fed_by))
        net = study.inference_measured.get(coding)
        if net is not None:  # the trained network whose measured rates drive this estimate
            acc = 100.0 * float(net["test_acc"])
            n_test = net.get("n_test", "?")
            what = f"the trained [{net.get('network', '?')}] network ({coding} coding, T={net.get('timesteps', '?')})"
            ms.append(Measurement(
                key={"dataset": dataset, "platform": chip_platform, "coding": coding, "metric": "acc_pct"},
                per_seed=[acc], extra={**common, "kind": "measured accuracy of the rate-giving network"},
                note=f"test accuracy ({n_test} Test recordings) of {what} whose measured spike rates drive this "
                     "estimate; run in float32 on the CPU (the chip's 8-bit weights are not simulated)",
                datasets=fed_by))
            cpu = {"chip": net.get("latency_device", ""), "cores": None, "timesteps": net.get("timesteps"),
                   "rates": rep.rates_source, "kind": "measured (trained network)"}
            ms.append(Measurement(
                key={"dataset": dataset, "platform": TRAINED_CPU_PLATFORM, "coding": coding, "metric": "acc_pct"},
                per_seed=[acc], extra=cpu, note=f"test accuracy of {what}", datasets=fed_by))
            latency = net.get("latency_s")
            ms.append(Measurement(
                key={"dataset": dataset, "platform": TRAINED_CPU_PLATFORM, "coding": coding, "metric": "latency_ms"},
                per_seed=[math.nan if latency is None else 1e3 * float(latency)], extra=cpu,
                note=f"CPU latency per sample of {what}: {net.get('latency_note', 'not measured')}",
                volatile=latency is not None, datasets=fed_by))
    for meas in measured:
        common = {"chip": meas.device, "cores": None, "timesteps": study.inference_timesteps, "rates": "",
                  "kind": "measured here" if meas.latency_s is not None else "not measured"}
        platform = meas.platform if meas.platform == "GPU" else f"{meas.platform} (this machine)"
        for metric, value in (("latency_ms", None if meas.latency_s is None else meas.latency_s * 1e3),
                              ("energy_mj", None if meas.energy_j is None else meas.energy_j * 1e3),
                              ("power_w", meas.power_w)):
            ms.append(Measurement(key={"dataset": dataset, "platform": platform, "coding": "rate", "metric": metric},
                                  per_seed=[math.nan if value is None else value], extra=common,
                                  note=f"random-weight {list(study.inference_sizes)} network, Bernoulli inputs at the "
                                       f"rate-coded input rate; {meas.note}", volatile=meas.latency_s is not None,
                                  datasets=fed_by))
    notes = [
        f"Network {list(study.inference_sizes)} on cores {list(study.inference_cores) if study.inference_cores else 'auto'}"
        f" of {study.chip.name}, T={study.inference_timesteps}.",
        "energy_mj of the chip rows is board-level (board_power_w x latency) like wu22's 9.35 W x 0.37 ms = 3.46 mJ; "
        "energy_dynamic_mj is the chip's own switching energy, reported separately.",
        "acc_pct is not produced by the cost model: it is the measured test accuracy of the trained inference network "
        "whose spike rates the estimate uses (rows 'Tianjic' and '" + TRAINED_CPU_PLATFORM + "'), when given.",
        rates_note(study),
    ]
    write_comparison_table(INFERENCE_ID, ms, scale=scale, sources=sources(study), out_dir=out_dir,
                           caption="Estimates for the chip; CPU/GPU rows measured on the machine that ran the stage.",
                           notes=notes)


def scaling_table(rows: Sequence[Mapping[str, Any]], study: Study, *, scale: str, out_dir: Path) -> None:
    ms = []
    for r in rows:
        if r.get("error"):
            ms.append(Measurement(key={"network": r["network"], "metric": f"{r['chip']}:energy_chip_j"},
                                  per_seed=[math.nan], extra={"synapses": r["synapses"], "cores": None},
                                  note=f"not mapped: {r['error']}"))
            continue
        for q in ("energy_dynamic_j", "energy_static_j", "energy_chip_j", "energy_board_j", "latency_s"):
            ms.append(Measurement(key={"network": r["network"], "metric": f"{r['chip']}:{q}"}, per_seed=[r[q]],
                                  extra={"synapses": r["synapses"], "cores": r["cores"]}, note=f"rates: {r['rates']}"))
    write_comparison_table(SCALING_ID, ms, scale=scale, sources=sources(study), out_dir=out_dir,
                           caption="Energy per inference sample (J) vs network size; automatic mapping.",
                           notes=[rates_note(study)])


def sensitivity_table(rows: Sequence[Mapping[str, Any]], study: Study, *, scale: str, out_dir: Path) -> None:
    ms = []
    for r in rows:
        flags = {c: r.get(c) for c in CONCLUSIONS}
        for metric in ("rc_hp_over_gp", "rc_learning_hp_over_gp", "tc_lp_over_hp", "tc_hp_over_gp",
                       "gpu_over_chip_energy", "gpu_over_chip_latency", "rank_over_rate_energy"):
            ms.append(Measurement(key={"constant": r["constant"], "factor": f"{r['factor']:g}", "metric": metric},
                                  per_seed=[math.nan if r.get(metric) is None else r[metric]],
                                  extra={"value": r["value"], "unit": r["unit"], **flags,
                                         "all_conclusions_hold": (all(flags.values()) if not r["error"] else None)},
                                  note=r["error"] and f"infeasible: {r['error']}"))
    notes = [f"Conclusions evaluated at the reference HP schedule ({_fmt_setting(study)}); "
             f"c4_route: RC_HP <= {study.much_less_ratio} x RC_GP; c5_*: advantage >= {study.min_advantage}x over the "
             "GPU reference; c5_rank: rank coding cheaper than rate.",
             "Each row varies one assumed constant of the chip file (or all spike rates); published and derived "
             "constants are not varied.", rates_note(study)]
    write_comparison_table(SENSITIVITY_ID, ms, scale=scale, sources=sources(study), out_dir=out_dir,
                           notes=notes)


def learning_figure(reports: Mapping[tuple[str, str, str], CostReport], study: Study, path: Path) -> None:
    lp, gp = reports[("LP", "-", "-")].metrics, reports[("GP", "-", "-")].metrics
    with figure(path, ncols=2, width=4.3, height=3.3,
                title=f"wu22 Fig 5e-f estimate ({study.chip.name}, {data_source(study)})") as (_, grid):
        axes = list(grid.flat)
        for ax, metric, label in ((axes[0], "route_cost_packets", "route cost (packets/sample)"),
                                  (axes[1], "throughput_samples_per_s", "throughput (samples/s)")):
            for layers, style in (("all", "o-"), ("output", "s--")):
                ks = sorted(int(e) for (mode, e, lay) in reports if mode == "HP" and lay == layers)
                ax.plot(ks, [reports[("HP", str(k), layers)].metrics[metric] for k in ks], style,
                        label=f"HP, global on {layers}")
            ax.axhline(lp[metric], color="tab:green", label="LP")
            ax.axhline(gp[metric], color="tab:red", label="GP")
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("hp_global_every (samples per global update)")
            ax.set_ylabel(label)
        axes[0].legend(fontsize=7)


def scaling_figure(rows: Sequence[Mapping[str, Any]], study: Study, path: Path) -> None:
    with figure(path, width=5.2, height=3.6, title=f"wu22 Fig 5d estimate ({data_source(study)})") as (_, ax):
        for chip in dict.fromkeys(r["chip"] for r in rows):
            ok = [r for r in rows if r["chip"] == chip and not r.get("error")]
            x = [r["synapses"] for r in ok]
            ax.plot(x, [r["energy_dynamic_j"] for r in ok], "o-", label=f"{chip}: dynamic")
            ax.plot(x, [r["energy_board_j"] for r in ok], "s--", label=f"{chip}: board-level")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("synapses")
        ax.set_ylabel("energy per sample (J)")
        ax.legend(fontsize=7)


def write_claims_files(study: Study, reference: Mapping[str, Any], checks: Sequence[Mapping[str, Any]],
                       sens: Sequence[Mapping[str, Any]], *, scale: str, out_dir: Path) -> None:
    def robust(names: Sequence[str]) -> str:
        varied = [r for r in sens if r["factor"] != 1.0]
        ok = [r for r in varied if not r["error"] and all(r[n] for n in names)]
        bad = sorted({f"{r['constant']} x{r['factor']:g}" for r in varied if r not in ok})
        head = f"holds in {len(ok)}/{len(varied)} one-at-a-time variations"
        if not ok:
            return head
        return head + (f"; fails for: {', '.join(bad)}" if bad else "")

    route_ok = [f"({c['hp_global_every']},{c['hp_global_layers']})" for c in checks if c["c4_route"]]
    learn_ok = [f"({c['hp_global_every']},{c['hp_global_layers']})" for c in checks if c["c4_route_learning"]]
    tc_ok = [f"({c['hp_global_every']},{c['hp_global_layers']})" for c in checks if c["c4_throughput"]]
    c4_holds = bool(reference["c4_route"] and reference["c4_throughput"])
    ds = data_source(study)
    c4 = ClaimResult(
        claim_id="wu22-C4", verdict="holds" if c4_holds else "does not hold",
        effect=reference["rc_hp_over_gp"], effect_description="RC_HP / RC_GP at the reference HP schedule",
        test=f"deterministic cost model at {_fmt_setting(study)}: RC_HP <= {study.much_less_ratio} RC_GP and "
             "TC_LP > TC_HP > TC_GP", p_value=None, ci95_low=None, ci95_high=None, n_seeds=None, n_tasks=None,
        scale=scale, data_source=ds, table=LEARNING_ID, figure=LEARNING_ID,
        note=(f"route (all packets) holds at (every,layers) in {route_ok or 'none'}; learning-only route holds at "
              f"{learn_ok or 'none'} (ratio {reference['rc_learning_hp_over_gp']:.3g} at reference); throughput "
              f"order holds at {tc_ok or 'none'}. Sensitivity: route {robust(['c4_route'])}; throughput "
              f"{robust(['c4_throughput'])}. {'Placeholder spike rates.' if study.uses_placeholders() else ''}"))
    c5_holds = bool(reference["c5_energy"] and reference["c5_latency"] and reference["c5_rank"])
    c5 = ClaimResult(
        claim_id="wu22-C5", verdict="holds" if c5_holds else "does not hold",
        effect=reference["gpu_over_chip_energy"], effect_description="GPU energy / chip board-level energy per sample",
        test=(f"deterministic cost model: GPU/chip energy and latency >= {study.min_advantage}x "
              f"(GPU: {study.gpu_reference.get('source', 'wu22 Table S1 MNIST GPU row')}); rank < rate"),
        p_value=None, ci95_low=None, ci95_high=None, n_seeds=None, n_tasks=None, scale=scale, data_source=ds,
        table=INFERENCE_ID,
        note=(f"energy advantage {reference['gpu_over_chip_energy']:.3g}x, latency advantage "
              f"{reference['gpu_over_chip_latency']:.3g}x (paper: 98x, 25x); rank/rate energy "
              f"{reference['rank_over_rate_energy']:.3g}. Sensitivity: {robust(['c5_energy', 'c5_latency', 'c5_rank'])}."
              f" {'Placeholder spike rates.' if study.uses_placeholders() else ''}"))
    write_claims(out_dir / f"{LEARNING_ID}.claims.json", [c4])
    write_claims(out_dir / f"{INFERENCE_ID}.claims.json", [c5])


def flat_metrics(reports: Mapping[tuple[str, str, str], CostReport], inf: Mapping[str, CostReport],
                 reference: Mapping[str, Any], study: Study) -> dict[str, Any]:
    out: dict[str, Any] = {"placeholder_rates": study.uses_placeholders()}
    for (mode, every, layers), rep in reports.items():
        tag = mode if mode != "HP" else f"HP_every{every}_{layers}"
        for k in ("route_cost_packets", "throughput_samples_per_s", "energy_dynamic_j"):
            out[f"learning.{tag}.{k}"] = rep.metrics[k]
    for coding, rep in inf.items():
        for k in ("latency_s", "energy_dynamic_j", "energy_board_j", "compute_ratio"):
            out[f"inference.{coding}.{k}"] = rep.metrics[k]
        if coding in study.inference_measured:
            out[f"inference.{coding}.network_test_acc"] = float(study.inference_measured[coding]["test_acc"])
    for k, v in reference.items():
        out[f"conclusions.{k}"] = v
    out["mapping.learning_cores"] = reports[("LP", "-", "-")].cores
    out["mapping.inference_cores"] = inf["rate"].cores
    return out


# --------------------------------------------------------------------------- run directory
def constants_csv(chip: Chip) -> str:
    """The chip's constants (value, unit, status, source) as CSV text."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, ["chip", "constant", "value", "unit", "status", "source"], lineterminator="\n")
    w.writeheader()
    w.writerows(chip.table())
    return buf.getvalue()


def phases_csv(reports: Mapping[tuple[str, str, str], CostReport]) -> str:
    """Per-phase breakdown (cycles per unit, packets, operations) of every report, keyed (mode, every, layers)."""
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


def rates_used(study: Study) -> dict[str, Any]:
    """The spike rates every estimate used (measured or placeholder) and the trained inference networks behind them."""
    return {"placeholder": study.uses_placeholders(), "note": rates_note(study),
            "learning": {m: study.learning_rates(m).to_json() for m in ("LP", "GP", "HP")},
            "inference": {c: study.inference_rates(c).to_json() for c in ("rate", "rank")},
            "inference_networks": {c: dict(m) for c, m in sorted(study.inference_measured.items())}}


def write_run_files(directory: Path, study: Study, learning: Mapping[tuple[str, str, str], CostReport],
                    inference: Mapping[str, CostReport], reference: Mapping[str, Any],
                    checks: Sequence[Mapping[str, Any]]) -> None:
    """The stage's run directory: chip_constants.csv, mapping_{learning,inference}.json, phases.csv,
    rates_used.json and conclusions.json (the reference conclusions and the per-HP-setting checks)."""
    chip = study.chip
    atomic_write_text(directory / "chip_constants.csv", constants_csv(chip))
    atomic_write_json(directory / "mapping_learning.json",
                      map_network(list(study.learning_sizes), chip, study.learning_cores).to_json())
    atomic_write_json(directory / "mapping_inference.json",
                      map_network(list(study.inference_sizes), chip, study.inference_cores).to_json())
    atomic_write_text(directory / "phases.csv", phases_csv(
        {**learning, **{("inference:" + c, "-", "-"): r for c, r in inference.items()}}))
    atomic_write_json(directory / "rates_used.json", rates_used(study))
    atomic_write_json(directory / "conclusions.json", {"reference": reference, "hp_settings": checks})
