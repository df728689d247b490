"""Phase-level cost model of learning and inference on a mapped network (wu22 Supplementary Note 2).

A sample runs as a sequence of *phases*; in each phase every core runs at most one Axon-Dendrite
(AD), one Soma and one Router operation. For every phase the model counts, per core, the cycles
of each unit and the packets it sends; the metrics are

* route cost ``RC = sum_i sum_{k in cores of phase i} packets_k`` (= ``CoreN_i * mean packets``),
  plus bytes (payload + header) and packet-hops (Manhattan distance on the mesh);
* cycles per sample ``sum_i sum_u max_k Clock_k^u`` (units serial within a phase), throughput
  ``TC = F / cycles`` in samples/s, and the overlapped-units bound ``sum_i max_u max_k Clock_k^u``;
* latency ``cycles / F``; dynamic energy (synaptic ops, weight updates, neuron updates, packets,
  hops), chip static energy ``P_static * latency`` and board-level energy ``P_board * latency``,
  reported separately;
* compute ratio: synaptic ops triggered by spikes / synaptic ops of a dense pass.

Event-driven quantities (forward synaptic ops, spike packets, Hebbian updates) are expectations:
``count = neurons * rate`` with the layer's measured (or placeholder) rate, so doubling a rate
doubles them exactly. Dense transfers (partial sums, errors) are whole packets
``ceil(values * value_bytes / packet_payload_bytes)``.

Phases per sample with ``T`` timesteps (layer ``l`` split into ``g_in`` fan-in groups):

* forward, per timestep: ``input`` (port -> layer-1 cores), then per layer either ``fwd`` (AD,
  Soma, Router spikes) or, when ``g_in > 1``, ``fwd_partial`` (AD, Router partial sums to the
  primary core) + ``fwd_merge`` (AD merge, Soma, Router spikes). Spikes go to every next-layer
  core whose fan-in range holds the neuron; the last layer's spikes go to the I/O port.
* local (LP, HP), per timestep: one phase, Hebbian updates of synapses with an active
  presynaptic spike inside each core; no routing.
* label (GP, HP-global): port sends the label to the output layer's primary cores; Soma computes
  the error.
* backward (GP, HP-global), per timestep (BPTT) and trained layer from the top: ``bwd_delta``
  (AD merge of incoming error partials, Soma ``delta = e * surrogate'``, Router broadcast of
  ``delta`` to the group's other cores) and ``bwd_grad`` (AD dense gradient MACs ``delta x trace``
  plus, when the layer below is trained, ``W^T delta`` MACs; Router sends those partials to the
  cores that own the lower layer's neurons).
* weight_update (GP every sample, HP-global): dense weight writes of the trained layers.
* meta_update (HP-global): port sends ``meta_params_per_core`` values to each trained core.

HP = forward + local every sample, and its global path (label, backward, weight_update,
meta_update) every ``hp_global_every`` samples (costs amortised by that factor) over
``hp_global_layers`` = ``all`` or ``output`` (output layer only: no error routed below it).
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from typing import Any

from metasnn.errors import ConfigError
from metasnn.hardware.chip import Chip
from metasnn.hardware.mapping import CoreTile, LayerMapping, NetworkMapping
from metasnn.hardware.rates import SpikeRates, check_depth

MODES = ("inference", "LP", "GP", "HP")
GLOBAL_LAYERS = ("all", "output")
LEARNING_KINDS = ("local", "label", "backward", "weight_update", "meta_update")


@dataclasses.dataclass
class PhaseCost:
    """Counts of one phase (per occurrence) and how often it occurs per sample (``repeat``)."""

    name: str
    kind: str
    repeat: float
    ad_cycles: float = 0.0      # max over cores
    soma_cycles: float = 0.0
    router_cycles: float = 0.0
    sync_cycles: float = 0.0
    cores_routing: int = 0      # CoreN_i: cores (and the port) sending packets
    synaptic_ops: float = 0.0   # AD multiply-accumulates (event-driven forward, dense backward, merges)
    dense_synaptic_ops: float = 0.0  # forward synaptic ops of a dense pass (compute-ratio denominator)
    weight_updates: float = 0.0
    neuron_updates: float = 0.0
    packets: float = 0.0
    packet_hops: float = 0.0

    @property
    def cycles(self) -> float:
        return self.ad_cycles + self.soma_cycles + self.router_cycles + self.sync_cycles

    @property
    def cycles_overlapped(self) -> float:
        return max(self.ad_cycles, self.soma_cycles, self.router_cycles) + self.sync_cycles


class _Phase:
    """Accumulates per-core unit cycles and traffic of one phase."""

    def __init__(self, name: str, kind: str, repeat: float, mapping: NetworkMapping):
        self.name, self.kind, self.repeat = name, kind, repeat
        self.chip = mapping.chip
        self.port = mapping.io_port
        self.ad: dict[Any, float] = defaultdict(float)
        self.soma: dict[Any, float] = defaultdict(float)
        self.sent: dict[Any, float] = defaultdict(float)
        self.max_hops: dict[Any, int] = defaultdict(int)
        self.cost = PhaseCost(name, kind, repeat, sync_cycles=float(self.chip["phase_sync_cycles"]))

    def synaptic(self, tile: CoreTile, ops: float, dense: float = 0.0, passes: int = 0) -> None:
        self.cost.synaptic_ops += ops
        self.cost.dense_synaptic_ops += dense
        self.ad[tile.core] += ops / self.chip["synaptic_ops_per_cycle"] + passes * self.chip["axon_pass_cycles"]

    def weight(self, tile: CoreTile, updates: float) -> None:
        self.cost.weight_updates += updates
        self.ad[tile.core] += updates / self.chip["weight_updates_per_cycle"]

    def neurons(self, tile: CoreTile, count: float) -> None:
        self.cost.neuron_updates += count
        self.soma[tile.core] += count / self.chip["neuron_updates_per_cycle"]

    def send(self, src: CoreTile | None, dst: CoreTile | None, packets: float) -> None:
        """``packets`` from ``src`` to ``dst`` (``None`` = the chip's I/O port)."""
        if packets <= 0:
            return
        a = self.port if src is None else (src.row, src.col)
        b = self.port if dst is None else (dst.row, dst.col)
        hops = abs(a[0] - b[0]) + abs(a[1] - b[1])
        key = "port" if src is None else src.core
        self.sent[key] += packets
        self.max_hops[key] = max(self.max_hops[key], hops)
        self.cost.packets += packets
        self.cost.packet_hops += packets * hops

    def finish(self) -> PhaseCost:
        c, chip = self.cost, self.chip
        c.ad_cycles = max(self.ad.values(), default=0.0)
        c.soma_cycles = max(self.soma.values(), default=0.0)
        c.router_cycles = max((n * chip["cycles_per_packet"] + self.max_hops[k] * chip["cycles_per_hop"]
                               for k, n in self.sent.items()), default=0.0)
        c.cores_routing = len(self.sent)
        return c


def _dense_packets(values: int, chip: Chip) -> int:
    return math.ceil(values * chip["value_bytes"] / chip["packet_payload_bytes"]) if values > 0 else 0


def _overlap(a0: int, a1: int, b0: int, b1: int) -> int:
    return max(0, min(a1, b1) - max(a0, b0))


def _send_spikes(ph: _Phase, src: CoreTile, nxt: LayerMapping | None, rate: float) -> None:
    spp = ph.chip["spikes_per_packet"]
    if nxt is None:
        ph.send(src, None, src.neurons * rate / spp)
        return
    for dst in nxt.tiles:
        ov = _overlap(src.out_start, src.out_stop, dst.in_start, dst.in_stop)
        if ov:
            ph.send(src, dst, ov * rate / spp)


def _forward_phases(m: NetworkMapping, rates: SpikeRates, repeat: float) -> list[_Phase]:
    phases = []
    first = m.layers[0]
    ph = _Phase("input", "forward", repeat, m)
    for dst in first.tiles:
        ph.send(None, dst, dst.fan_in * rates.layers[0].input_rate / ph.chip["spikes_per_packet"])
    phases.append(ph)
    for li, lm in enumerate(m.layers):
        r_in, r_out = rates.layers[li].input_rate, rates.layers[li].output_rate
        nxt = m.layers[li + 1] if li + 1 < len(m.layers) else None
        name = lm.spec.name
        if lm.g_in == 1:
            ph = _Phase(f"fwd:{name}", "forward", repeat, m)
            for t in lm.tiles:
                ph.synaptic(t, t.fan_in * r_in * t.neurons, dense=t.synapses, passes=t.passes)
                ph.neurons(t, t.neurons)
                _send_spikes(ph, t, nxt, r_out)
            phases.append(ph)
            continue
        ph = _Phase(f"fwd_partial:{name}", "forward", repeat, m)
        for t in lm.tiles:
            ph.synaptic(t, t.fan_in * r_in * t.neurons, dense=t.synapses, passes=t.passes)
            if not t.is_primary:
                ph.send(t, lm.group(t.out_group)[0], _dense_packets(t.neurons, ph.chip))
        phases.append(ph)
        ph = _Phase(f"fwd_merge:{name}", "forward", repeat, m)
        for t in lm.primaries():
            ph.synaptic(t, (lm.g_in - 1) * t.neurons)
            ph.neurons(t, t.neurons)
            _send_spikes(ph, t, nxt, r_out)
        phases.append(ph)
    return phases


def _local_phase(m: NetworkMapping, rates: SpikeRates, repeat: float) -> _Phase:
    ph = _Phase("local", "local", repeat, m)
    for li, lm in enumerate(m.layers):
        for t in lm.tiles:
            ph.weight(t, t.fan_in * rates.layers[li].input_rate * t.neurons)
    return ph


def _global_phases(m: NetworkMapping, timesteps: int, lowest: int, repeat: float) -> list[_Phase]:
    """Label, BPTT backward over layers ``lowest..L-1``, weight update (meta update added by caller)."""
    chip = m.chip
    top = m.layers[-1]
    phases = []
    ph = _Phase("label", "label", repeat, m)
    for t in top.primaries():
        ph.send(None, t, 1)
        ph.neurons(t, t.neurons)
    phases.append(ph)
    for li in range(len(m.layers) - 1, lowest - 1, -1):
        lm = m.layers[li]
        above = m.layers[li + 1] if li + 1 < len(m.layers) else None
        name = lm.spec.name
        ph = _Phase(f"bwd_delta:{name}", "backward", repeat * timesteps, m)
        for p in lm.primaries():
            if above is not None:  # merge the W^T delta partials sent down by the layer above
                ph.synaptic(p, sum(_overlap(a.in_start, a.in_stop, p.out_start, p.out_stop) for a in above.tiles))
            ph.neurons(p, p.neurons)
            for t in lm.group(p.out_group)[1:]:
                ph.send(p, t, _dense_packets(p.neurons, chip))
        phases.append(ph)
        ph = _Phase(f"bwd_grad:{name}", "backward", repeat * timesteps, m)
        below = m.layers[li - 1] if li > lowest else None
        for t in lm.tiles:
            ph.synaptic(t, t.synapses * (2 if below is not None else 1))
            if below is not None:
                for p in below.primaries():
                    ov = _overlap(t.in_start, t.in_stop, p.out_start, p.out_stop)
                    if ov:
                        ph.send(t, p, _dense_packets(ov, chip))
        phases.append(ph)
    ph = _Phase("weight_update", "weight_update", repeat, m)
    for lm in m.layers[lowest:]:
        for t in lm.tiles:
            ph.weight(t, t.synapses)
    phases.append(ph)
    return phases


def _meta_phase(m: NetworkMapping, lowest: int, repeat: float) -> _Phase:
    ph = _Phase("meta_update", "meta_update", repeat, m)
    n = int(m.chip["meta_params_per_core"])
    for lm in m.layers[lowest:]:
        for t in lm.tiles:
            ph.send(None, t, _dense_packets(n, m.chip))
            ph.weight(t, n)
    return ph


@dataclasses.dataclass
class CostReport:
    """Per-sample cost of one mode on one mapping; ``phases`` holds the breakdown."""

    mode: str
    chip: str
    cores: int
    timesteps: int
    hp_global_every: int | None
    hp_global_layers: str | None
    rates_source: str
    phases: list[PhaseCost]
    metrics: dict[str, float]


def simulate(mapping: NetworkMapping, rates: SpikeRates, mode: str, *, timesteps: int | None = None,
             hp_global_every: int = 1, hp_global_layers: str = "all") -> CostReport:
    """Cost per sample of ``mode`` (``inference``, ``LP``, ``GP``, ``HP``) on ``mapping``.

    ``rates`` are applied by layer index; ``timesteps`` defaults to ``rates.timesteps``.
    """
    if mode not in MODES:
        raise ConfigError(f"learning mode {mode!r} must be one of {', '.join(MODES)}")
    if hp_global_layers not in GLOBAL_LAYERS:
        raise ConfigError(f"hp_global_layers {hp_global_layers!r} must be one of {', '.join(GLOBAL_LAYERS)}")
    if int(hp_global_every) < 1:
        raise ConfigError(f"hp_global_every must be >= 1 sample per global update, got {hp_global_every}")
    check_depth(rates, len(mapping.layers), f"the mapped network ({mapping.describe()})")
    chip = mapping.chip
    t_steps = int(timesteps or rates.timesteps)
    raw: list[_Phase] = _forward_phases(mapping, rates, t_steps)
    if mode in ("LP", "HP"):
        raw.append(_local_phase(mapping, rates, t_steps))
    if mode == "GP":
        raw += _global_phases(mapping, t_steps, 0, 1.0)
    if mode == "HP":
        lowest = 0 if hp_global_layers == "all" else len(mapping.layers) - 1
        share = 1.0 / int(hp_global_every)
        raw += _global_phases(mapping, t_steps, lowest, share)
        raw.append(_meta_phase(mapping, lowest, share))
    phases = [p.finish() for p in raw]

    def total(attr: str, kinds: tuple[str, ...] | None = None) -> float:
        return sum(getattr(p, attr) * p.repeat for p in phases if kinds is None or p.kind in kinds)

    cycles = total("cycles")
    cycles_ov = total("cycles_overlapped")
    clock = chip["clock_hz"]
    latency = cycles / clock
    e_syn = total("synaptic_ops") * chip["energy_per_synaptic_op_j"]
    e_wu = total("weight_updates") * chip["energy_per_weight_update_j"]
    e_neu = total("neuron_updates") * chip["energy_per_neuron_update_j"]
    e_pkt = total("packets") * chip["energy_per_packet_j"]
    e_hop = total("packet_hops") * chip["energy_per_hop_j"]
    dynamic = e_syn + e_wu + e_neu + e_pkt + e_hop
    fwd_ops = total("synaptic_ops", ("forward",)) - sum(
        p.synaptic_ops * p.repeat for p in phases if p.name.startswith("fwd_merge"))
    dense = total("dense_synaptic_ops")
    packet_bytes = chip["packet_payload_bytes"] + chip["packet_header_bytes"]
    metrics = {
        "route_cost_packets": total("packets"),
        "route_cost_learning_packets": total("packets", LEARNING_KINDS),
        "route_bytes": total("packets") * packet_bytes,
        "packet_hops": total("packet_hops"),
        "cycles_per_sample": cycles,
        "cycles_per_sample_overlapped": cycles_ov,
        "throughput_samples_per_s": clock / cycles,
        "throughput_overlapped_samples_per_s": clock / cycles_ov,
        "latency_s": latency,
        "synaptic_ops": total("synaptic_ops"),
        "weight_updates": total("weight_updates"),
        "neuron_updates": total("neuron_updates"),
        "energy_synaptic_j": e_syn,
        "energy_weight_update_j": e_wu,
        "energy_neuron_j": e_neu,
        "energy_packet_j": e_pkt,
        "energy_hop_j": e_hop,
        "energy_dynamic_j": dynamic,
        "energy_static_j": chip["chip_static_power_w"] * latency,
        "energy_chip_j": dynamic + chip["chip_static_power_w"] * latency,
        "energy_board_j": chip["board_power_w"] * latency,
        "compute_ratio": fwd_ops / dense if dense > 0 else 0.0,
        "phases_per_sample": sum(p.repeat for p in phases),
    }
    return CostReport(mode=mode, chip=chip.name, cores=mapping.n_cores, timesteps=t_steps,
                      hp_global_every=int(hp_global_every) if mode == "HP" else None,
                      hp_global_layers=hp_global_layers if mode == "HP" else None,
                      rates_source=rates.label(), phases=phases, metrics=metrics)
