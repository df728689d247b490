"""Tianjic-style hardware cost model (wu22 Fig 5d-f, Table S1): chip descriptions, mapping of
layers onto mesh cores, a phase-level simulator of LP / GP / HP learning and of inference, and the
studies built on it. See ``metasnn/hardware/README.md`` for what is published, derived and assumed."""

from metasnn.hardware.chip import Chip, load_chip
from metasnn.hardware.mapping import LayerSpec, NetworkMapping, map_network
from metasnn.hardware.rates import SpikeRates, load_rates, placeholder_rates, write_rates
from metasnn.hardware.simulator import CostReport, simulate

__all__ = ["Chip", "load_chip", "LayerSpec", "NetworkMapping", "map_network", "SpikeRates", "load_rates",
           "placeholder_rates", "write_rates", "CostReport", "simulate"]
