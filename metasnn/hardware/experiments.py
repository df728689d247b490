"""The wu22 hardware studies built from the cost model: learning cost (Fig 5e-f), inference
(Table S1), energy scaling (Fig 5d) and the sensitivity of each conclusion to the assumed constants.

Conclusions tested (``evaluate``), each at the *reference* HP schedule of the study:

* ``c4_route``: HP << GP in route cost, i.e. ``RC_HP <= much_less_ratio * RC_GP`` (all packets;
  ``c4_route_learning`` is the same test on the learning-only packets, forward pass excluded);
* ``c4_throughput``: ``TC_LP > TC_HP > TC_GP``;
* ``c5_energy`` / ``c5_latency``: the chip's board-level energy and its latency per sample are at
  least ``min_advantage`` times smaller than the GPU's (wu22's published GPU row unless a GPU was
  measured here); wu22 itself reports 98x (energy) and 25x (latency);
* ``c5_rank``: rank coding costs less energy and latency than rate coding.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from metasnn.errors import ConfigError
from metasnn.hardware.chip import Chip
from metasnn.hardware.mapping import map_network
from metasnn.hardware.rates import SpikeRates, check_depth, placeholder_rates
from metasnn.hardware.simulator import CostReport, simulate
from metasnn.io import read_document

#: wu22 Table S1 GPU rows (published) by dataset: the comparison point of wu22-C5 for the Table S1 rows'
#: dataset (the estimate_hardware stage picks the row of --inference-dataset).
PAPER_GPU_ROWS = {
    "MNIST": {"latency_s": 9.13e-3, "energy_j": 338.99e-3, "power_w": 37.13},
    "F-MNIST": {"latency_s": 14.23e-3, "energy_j": 588.24e-3, "power_w": 39.23},
    "N-MNIST": {"latency_s": 24.31e-3, "energy_j": 1214.8e-3, "power_w": 49.97},
}
#: wu22 Table S1, MNIST GPU row (published): the default comparison point of wu22-C5.
PAPER_GPU = PAPER_GPU_ROWS["MNIST"]
LEARNING_METRICS = ("route_cost_packets", "route_cost_learning_packets", "route_bytes", "packet_hops",
                    "cycles_per_sample", "throughput_samples_per_s", "throughput_overlapped_samples_per_s",
                    "energy_dynamic_j")


def load_inference_metrics(paths: Sequence[str | Path], rates: Mapping[str, SpikeRates]) -> dict[str, dict[str, Any]]:
    """coding -> metrics.json of the trained inference network (pipeline.wu22_inference), validated: one file per
    coding, ``test_acc`` a fraction, and the same run's rates file among ``rates`` (``inference:<coding>``)."""
    out: dict[str, dict[str, Any]] = {}
    for path in map(Path, paths):
        data = read_document(path, "inference metrics", "run pipeline.wu22_inference or omit --inference-metrics")
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


def inference_dataset(given: str | None, measured: Mapping[str, Mapping[str, Any]]) -> str:
    """The dataset of the Table S1 rows: that of the trained inference networks (which must agree with each other
    and with ``given``), else ``given``, else MNIST."""
    found = sorted({str(m.get("dataset")) for m in measured.values() if m.get("dataset")})
    if len(found) > 1:
        raise ConfigError(f"--inference-metrics: the networks were trained on different datasets {found}")
    if given is None:
        return found[0] if found else "MNIST"
    if found and given != found[0]:
        raise ConfigError(f"--inference-dataset {given} but the inference networks of --inference-metrics were "
                          f"trained on {found[0]}; the Table S1 rows must name the dataset their rates come from")
    return given


@dataclasses.dataclass
class Study:
    """Everything the hardware stage varies. ``rates`` maps ``LP|GP|HP|inference:rate|inference:rank``
    to measured rates; missing keys use stated placeholders."""

    chip: Chip
    learning_sizes: Sequence[int] = (784, 512, 10)
    learning_timesteps: int = 3
    learning_cores: Sequence[int] | None = None
    hp_every: Sequence[int] = (1, 4, 16, 64)
    hp_layers: Sequence[str] = ("all", "output")
    reference_every: int = 16
    reference_layers: str = "all"
    inference_sizes: Sequence[int] = (784, 1024, 1024, 10)
    inference_cores: Sequence[int] | None = (32, 32, 6)
    inference_timesteps: int = 8
    scaling_hidden: Sequence[int] = (64, 128, 256, 512, 1024)
    much_less_ratio: float = 0.25
    min_advantage: float = 10.0
    rates: Mapping[str, SpikeRates] = dataclasses.field(default_factory=dict)
    gpu_reference: Mapping[str, float] = dataclasses.field(default_factory=lambda: dict(PAPER_GPU))
    rate_factor: float = 1.0  # sensitivity: all spike rates x factor
    data_source: str = "synthetic"  # data.source of the recordings the rate-giving models were trained on
    #: coding -> metrics of the trained inference network whose rates are ``rates["inference:<coding>"]``
    #: (the wu22_inference stage's metrics.json: test_acc, latency_s, network, timesteps, ...); shown beside
    #: the Table S1 estimate.
    inference_measured: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)

    def learning_rates(self, mode: str) -> SpikeRates:
        r = self.rates.get(mode)
        if r is None:
            r = placeholder_rates(self.learning_sizes, self.learning_timesteps, mode)
        check_depth(r, len(self.learning_sizes) - 1, f"the learning network {list(self.learning_sizes)}")
        return r.scaled(self.rate_factor) if self.rate_factor != 1.0 else r

    def inference_rates(self, coding: str) -> SpikeRates:
        r = self.rates.get(f"inference:{coding}")
        if r is None:
            r = placeholder_rates(self.inference_sizes, self.inference_timesteps, "inference", coding)
        check_depth(r, len(self.inference_sizes) - 1, f"the inference network {list(self.inference_sizes)}")
        return r.scaled(self.rate_factor) if self.rate_factor != 1.0 else r

    def uses_placeholders(self) -> bool:
        return not all(k in self.rates for k in ("LP", "GP", "HP", "inference:rate", "inference:rank"))


def learning_reports(study: Study) -> dict[tuple[str, str, str], CostReport]:
    """LP and GP once, HP at every (hp_global_every, hp_global_layers); keys (mode, every, layers)."""
    m = map_network(list(study.learning_sizes), study.chip, study.learning_cores)
    t = study.learning_timesteps
    out = {("LP", "-", "-"): simulate(m, study.learning_rates("LP"), "LP", timesteps=t),
           ("GP", "-", "-"): simulate(m, study.learning_rates("GP"), "GP", timesteps=t)}
    settings = {(int(k), str(lay)) for k in study.hp_every for lay in study.hp_layers}
    settings.add((int(study.reference_every), study.reference_layers))
    for k, lay in sorted(settings, key=lambda s: (s[1], s[0])):
        out[("HP", str(k), lay)] = simulate(m, study.learning_rates("HP"), "HP", timesteps=t,
                                            hp_global_every=k, hp_global_layers=lay)
    return out


def c4_at(reports: Mapping[tuple[str, str, str], CostReport], every: int, layers: str,
          much_less_ratio: float) -> dict[str, Any]:
    lp, gp = reports[("LP", "-", "-")].metrics, reports[("GP", "-", "-")].metrics
    hp = reports[("HP", str(every), layers)].metrics
    ratio = hp["route_cost_packets"] / gp["route_cost_packets"]
    ratio_learning = (hp["route_cost_learning_packets"] / gp["route_cost_learning_packets"]
                      if gp["route_cost_learning_packets"] > 0 else float("nan"))
    tc = (lp["throughput_samples_per_s"], hp["throughput_samples_per_s"], gp["throughput_samples_per_s"])
    return {
        "rc_hp_over_gp": ratio,
        "rc_learning_hp_over_gp": ratio_learning,
        "c4_route": ratio <= much_less_ratio,
        "c4_route_learning": ratio_learning <= much_less_ratio,
        "c4_throughput": tc[0] > tc[1] > tc[2],
        "tc_lp_over_hp": tc[0] / tc[1],
        "tc_hp_over_gp": tc[1] / tc[2],
    }


def inference_reports(study: Study) -> dict[str, CostReport]:
    m = map_network(list(study.inference_sizes), study.chip, study.inference_cores)
    return {c: simulate(m, study.inference_rates(c), "inference", timesteps=study.inference_timesteps)
            for c in ("rate", "rank")}


def c5_from(inf: Mapping[str, CostReport], study: Study) -> dict[str, Any]:
    rate, rank = inf["rate"].metrics, inf["rank"].metrics
    gpu = study.gpu_reference
    e_adv = gpu["energy_j"] / rate["energy_board_j"] if gpu.get("energy_j") else float("nan")
    l_adv = gpu["latency_s"] / rate["latency_s"] if gpu.get("latency_s") else float("nan")
    return {
        "gpu_over_chip_energy": e_adv,
        "gpu_over_chip_latency": l_adv,
        "c5_energy": e_adv >= study.min_advantage,
        "c5_latency": l_adv >= study.min_advantage,
        "c5_rank": rank["energy_board_j"] < rate["energy_board_j"] and rank["latency_s"] < rate["latency_s"]
        and rank["energy_dynamic_j"] < rate["energy_dynamic_j"],
        "rank_over_rate_energy": rank["energy_board_j"] / rate["energy_board_j"],
    }


def evaluate(study: Study) -> dict[str, Any]:
    """All conclusions at the reference HP schedule."""
    reports = learning_reports(study)
    out = c4_at(reports, study.reference_every, study.reference_layers, study.much_less_ratio)
    out.update(c5_from(inference_reports(study), study))
    return out


CONCLUSIONS = ("c4_route", "c4_route_learning", "c4_throughput", "c5_energy", "c5_latency", "c5_rank")


def sensitivity(study: Study, factors: Sequence[float] = (0.5, 1.0, 2.0)) -> list[dict[str, Any]]:
    """One-at-a-time: each assumed constant (and the spike rates) x factor -> the conclusions."""
    rows = []
    base = study.chip
    targets: list[tuple[str, str, Any]] = [(k, base.constants[k].unit, base[k]) for k in base.assumed()]
    targets.append(("spike_rates", "x all layer rates", 1.0))
    for key, unit, _value in targets:
        for f in factors:
            if key == "spike_rates":
                variant = dataclasses.replace(study, rate_factor=study.rate_factor * f)
                new_value = f
            else:
                chip = base.scaled(key, f)
                variant = dataclasses.replace(study, chip=chip)
                new_value = chip[key]
            row: dict[str, Any] = {"constant": key, "unit": unit, "factor": f, "value": new_value}
            try:
                row.update(evaluate(variant))
                row["error"] = ""
            except Exception as exc:
                from metasnn.errors import MetasnnError

                if not isinstance(exc, MetasnnError):
                    raise
                row.update({c: None for c in CONCLUSIONS})
                row["error"] = str(exc).split(": ", 1)[-1]
            rows.append(row)
    return rows


def energy_scaling(chips: Sequence[Chip], study: Study) -> list[dict[str, Any]]:
    """Energy/latency per inference sample for ``[n_in-h-h-n_out]`` networks on each chip."""
    rows = []
    n_in, n_out = study.inference_sizes[0], study.inference_sizes[-1]
    for chip in chips:
        for h in study.scaling_hidden:
            sizes = [n_in, int(h), int(h), n_out]
            row: dict[str, Any] = {"chip": chip.name, "network": "-".join(map(str, sizes)),
                                   "synapses": sum(sizes[i] * sizes[i + 1] for i in range(len(sizes) - 1))}
            try:
                m = map_network(sizes, chip)
            except Exception as exc:
                from metasnn.errors import MetasnnError

                if not isinstance(exc, MetasnnError):
                    raise
                row["error"] = str(exc).split(": ", 1)[-1]
                rows.append(row)
                continue
            r = placeholder_rates(sizes, study.inference_timesteps, "inference", "rate")
            measured = study.rates.get("inference:rate")
            if measured is not None and len(measured.layers) == 3:
                r = dataclasses.replace(measured, layers=tuple(
                    dataclasses.replace(lr, n_in=sizes[i], n_out=sizes[i + 1]) for i, lr in enumerate(measured.layers)))
            rep = simulate(m, r.scaled(study.rate_factor), "inference", timesteps=study.inference_timesteps)
            row.update({"cores": m.n_cores, "rates": r.label(), "error": "",
                        **{k: rep.metrics[k] for k in ("energy_dynamic_j", "energy_static_j", "energy_chip_j",
                                                       "energy_board_j", "latency_s", "compute_ratio")}})
            rows.append(row)
    return rows
