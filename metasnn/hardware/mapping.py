"""Map fully connected SNN layers onto the cores of a 2-D mesh chip.

A layer ``n_in -> n_out`` is cut into a grid of tiles: ``g_in`` fan-in groups (contiguous input
ranges) times ``g_out`` neuron groups (contiguous output ranges); each tile occupies one core.
A tile must respect the chip limits

* fan-in: ``ceil(fan_in / axons_per_core)`` AD passes <= ``max_axon_passes``;
* fan-out: neurons <= ``neurons_per_core`` and, when ``neuron_allocation_power_of_two``, neurons
  are allocated in power-of-two banks;
* weight memory: ``fan_in * neurons * weight_bits / 8 <= weight_memory_bytes``.

The mapper picks, per layer, the fewest fan-in groups that fit (every extra fan-in group adds a
partial-sum merge and its routing), then the fewest neuron groups. ``cores_per_layer`` forces an exact core count per layer (wu22's
[784-1024-1024-10] on 70 FCores). When ``g_in > 1`` the cores of one neuron group hold partial sums
that are merged on the group's *primary* core (fan-in group 0), which also runs the neurons' soma.

Cores are placed on the mesh in row-major order, layer by layer, neuron group by neuron group, so
the cores of one group are neighbours. Infeasible mappings raise :class:`ConfigError` naming the
layer and the violated limit.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from metasnn.errors import ConfigError
from metasnn.hardware.chip import Chip


@dataclasses.dataclass(frozen=True)
class LayerSpec:
    """A fully connected layer ``n_in -> n_out``."""

    name: str
    n_in: int
    n_out: int


@dataclasses.dataclass(frozen=True)
class CoreTile:
    """One core's share of a layer: inputs ``[in_start, in_stop)`` x neurons ``[out_start, out_stop)``."""

    core: int
    row: int
    col: int
    layer: int
    in_group: int
    out_group: int
    in_start: int
    in_stop: int
    out_start: int
    out_stop: int
    passes: int

    @property
    def fan_in(self) -> int:
        return self.in_stop - self.in_start

    @property
    def neurons(self) -> int:
        return self.out_stop - self.out_start

    @property
    def synapses(self) -> int:
        return self.fan_in * self.neurons

    @property
    def is_primary(self) -> bool:
        return self.in_group == 0


@dataclasses.dataclass(frozen=True)
class LayerMapping:
    """The tiles of one layer."""

    spec: LayerSpec
    index: int
    g_in: int
    g_out: int
    tiles: tuple[CoreTile, ...]

    @property
    def cores(self) -> int:
        return len(self.tiles)

    def primaries(self) -> list[CoreTile]:
        return [t for t in self.tiles if t.is_primary]

    def group(self, out_group: int) -> list[CoreTile]:
        return [t for t in self.tiles if t.out_group == out_group]

    def input_core_matrix(self) -> np.ndarray:
        """Boolean ``[n_in, cores]``: which tiles receive input ``i`` (one per neuron group)."""
        m = np.zeros((self.spec.n_in, self.cores), dtype=bool)
        for j, t in enumerate(self.tiles):
            m[t.in_start:t.in_stop, j] = True
        return m

    def owner_of_neuron(self) -> np.ndarray:
        """Index (into ``tiles``) of the primary tile that owns each output neuron, ``[n_out]``."""
        owner = np.empty(self.spec.n_out, dtype=np.int64)
        for j, t in enumerate(self.tiles):
            if t.is_primary:
                owner[t.out_start:t.out_stop] = j
        return owner


@dataclasses.dataclass(frozen=True)
class NetworkMapping:
    """All layers of a network placed on one chip."""

    chip: Chip
    layers: tuple[LayerMapping, ...]

    @property
    def cores_per_layer(self) -> list[int]:
        return [lm.cores for lm in self.layers]

    @property
    def n_cores(self) -> int:
        return sum(self.cores_per_layer)

    @property
    def io_port(self) -> tuple[int, int]:
        return int(self.chip["io_port_row"]), int(self.chip["io_port_col"])

    def describe(self) -> str:
        parts = [f"{lm.spec.name}:{lm.spec.n_in}x{lm.spec.n_out}->{lm.cores} ({lm.g_in}x{lm.g_out})" for lm in self.layers]
        return f"{self.chip.name}: " + ", ".join(parts) + f"; total {self.n_cores} cores"

    def to_json(self) -> dict[str, Any]:
        """The placement as JSON: cores per layer and every tile's core, mesh position, input and neuron ranges."""
        return {"chip": self.chip.name, "cores": self.n_cores, "cores_per_layer": self.cores_per_layer,
                "layers": [{"name": lm.spec.name, "n_in": lm.spec.n_in, "n_out": lm.spec.n_out, "g_in": lm.g_in,
                            "g_out": lm.g_out,
                            "tiles": [{"core": t.core, "row": t.row, "col": t.col, "inputs": [t.in_start, t.in_stop],
                                       "neurons": [t.out_start, t.out_stop], "passes": t.passes} for t in lm.tiles]}
                           for lm in self.layers]}


def layers_from_sizes(sizes: Sequence[int], names: Sequence[str] | None = None) -> list[LayerSpec]:
    """``[784, 512, 10]`` -> ``[fc1 784->512, fc2 512->10]``."""
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or any(s < 1 for s in sizes):
        raise ConfigError(f"network sizes {sizes}: need at least two positive layer sizes, e.g. 784 512 10")
    names = list(names) if names is not None else [f"fc{i + 1}" for i in range(len(sizes) - 1)]
    return [LayerSpec(names[i], sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1)]


def _synapse_capacity(chip: Chip) -> int:
    return int(chip["weight_memory_bytes"]) * 8 // int(chip["weight_bits"])


def _neuron_capacity(chip: Chip, fan_in: int) -> int:
    """Most neurons one core can hold at this fan-in (power-of-two banks when the chip says so)."""
    cap = min(int(chip["neurons_per_core"]), _synapse_capacity(chip) // fan_in)
    if cap >= 1 and chip["neuron_allocation_power_of_two"]:
        cap = 1 << (cap.bit_length() - 1)
    return cap


def _violation(chip: Chip, fan_in: int, neurons: int) -> str | None:
    """The first chip limit a tile of this shape violates, or ``None``."""
    axons, passes_max = int(chip["axons_per_core"]), int(chip["max_axon_passes"])
    if math.ceil(fan_in / axons) > passes_max:
        return (f"fan-in {fan_in} > axons_per_core x max_axon_passes = {axons} x {passes_max} = {axons * passes_max}")
    if neurons > int(chip["neurons_per_core"]):
        return f"fan-out {neurons} neurons > neurons_per_core = {chip['neurons_per_core']}"
    need = fan_in * neurons * int(chip["weight_bits"])
    have = int(chip["weight_memory_bytes"]) * 8
    if need > have:
        return (f"weight memory {fan_in} x {neurons} x {chip['weight_bits']} bit = {need // 8} B "
                f"> weight_memory_bytes = {chip['weight_memory_bytes']}")
    cap = _neuron_capacity(chip, fan_in)
    if neurons > cap:
        return (f"fan-out {neurons} neurons > {cap} (power-of-two neuron banks at fan-in {fan_in}; "
                "neuron_allocation_power_of_two)")
    return None


def _auto_split(spec: LayerSpec, chip: Chip) -> tuple[int, int]:
    """Fewest fan-in groups that fit (each extra group costs a partial-sum merge), then fewest cores."""
    axons, passes_max = int(chip["axons_per_core"]), int(chip["max_axon_passes"])
    g_min = max(1, math.ceil(spec.n_in / (axons * passes_max)))
    for g_in in range(g_min, spec.n_in + 1):
        fan_in = math.ceil(spec.n_in / g_in)
        cap = _neuron_capacity(chip, fan_in)
        if cap >= 1:
            return g_in, math.ceil(spec.n_out / cap)
    raise ConfigError(f"{chip.path}: layer {spec.name} ({spec.n_in}->{spec.n_out}) cannot be mapped: "
                      f"one synapse does not fit weight_memory_bytes={chip['weight_memory_bytes']}")


def _forced_split(spec: LayerSpec, chip: Chip, cores: int) -> tuple[int, int]:
    if cores < 1:
        raise ConfigError(f"cores_per_layer for layer {spec.name}: must be >= 1, got {cores}")
    candidates = []
    first_problem = None
    for g_in in range(1, cores + 1):
        if cores % g_in:
            continue
        g_out = cores // g_in
        if g_in > spec.n_in or g_out > spec.n_out:
            first_problem = first_problem or (f"{g_in} x {g_out} split has more groups than inputs/neurons")
            continue
        fan_in, neurons = math.ceil(spec.n_in / g_in), math.ceil(spec.n_out / g_out)
        problem = _violation(chip, fan_in, neurons)
        if problem is None:
            candidates.append((g_in, g_out))
        elif first_problem is None or g_in == 1:
            first_problem = f"{g_in} x {g_out} split: {problem}"
    if not candidates:
        raise ConfigError(f"{chip.path}: layer {spec.name} ({spec.n_in}->{spec.n_out}) does not fit exactly "
                          f"{cores} core(s) (cores_per_layer override): {first_problem}")
    return min(candidates)  # fewest fan-in groups, as in the automatic split


def _bounds(n: int, groups: int) -> list[tuple[int, int]]:
    edges = [0]
    base, extra = divmod(n, groups)
    for g in range(groups):
        edges.append(edges[-1] + base + (1 if g < extra else 0))
    return [(edges[g], edges[g + 1]) for g in range(groups)]


def parse_cores_per_layer(values: Sequence[str] | None) -> list[int] | None:
    """``cores_per_layer`` from its command-line form: integers per layer, or ``auto`` (or nothing) for the
    automatic mapping (``None``)."""
    if not values or list(values) == ["auto"]:
        return None
    try:
        return [int(v) for v in values]
    except ValueError:
        raise ConfigError(f"--inference-cores/--learning-cores: expected integers or 'auto', got {values}") from None


def map_network(layers: Sequence[LayerSpec] | Sequence[int], chip: Chip,
                cores_per_layer: Sequence[int] | None = None) -> NetworkMapping:
    """Map ``layers`` (specs or sizes like ``[784, 512, 10]``) onto ``chip``.

    Raises
    ------
    ConfigError
        When a layer cannot satisfy the fan-in / fan-out / weight-memory limits (or the forced core
        count), or when the network needs more cores than the chip has; the message names the
        layer and the limit.
    """
    specs = list(layers)
    if specs and not isinstance(specs[0], LayerSpec):
        specs = layers_from_sizes(specs)  # type: ignore[arg-type]
    if cores_per_layer is not None and len(cores_per_layer) != len(specs):
        raise ConfigError(f"cores_per_layer has {len(cores_per_layer)} entries but the network has "
                          f"{len(specs)} layers ({', '.join(s.name for s in specs)})")
    n_cores, cols = int(chip["n_cores"]), int(chip["mesh_cols"])
    axons = int(chip["axons_per_core"])
    next_core = 0
    mapped = []
    for li, spec in enumerate(specs):
        if cores_per_layer is None:
            g_in, g_out = _auto_split(spec, chip)
        else:
            g_in, g_out = _forced_split(spec, chip, int(cores_per_layer[li]))
        if next_core + g_in * g_out > n_cores:
            raise ConfigError(f"{chip.path}: layer {spec.name} ({spec.n_in}->{spec.n_out}) needs {g_in * g_out} "
                              f"cores, bringing the network to {next_core + g_in * g_out} > n_cores = {n_cores}")
        tiles = []
        in_bounds, out_bounds = _bounds(spec.n_in, g_in), _bounds(spec.n_out, g_out)
        for og, (o0, o1) in enumerate(out_bounds):
            for ig, (i0, i1) in enumerate(in_bounds):
                row, col = divmod(next_core, cols)
                tiles.append(CoreTile(core=next_core, row=row, col=col, layer=li, in_group=ig, out_group=og,
                                      in_start=i0, in_stop=i1, out_start=o0, out_stop=o1,
                                      passes=math.ceil((i1 - i0) / axons)))
                next_core += 1
        mapped.append(LayerMapping(spec=spec, index=li, g_in=g_in, g_out=g_out, tiles=tuple(tiles)))
    return NetworkMapping(chip=chip, layers=tuple(mapped))
