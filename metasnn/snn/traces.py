"""The project's one exponential trace: ``x(t) = decay · x(t−1) + scale · s(t)``, from ``x(−1) = 0``.

Used wherever a spike train is low-pass filtered into a trace: STDP's pre/post traces
(``scale = 1``), mp23's pre/post traces (``scale = 1 − decay``: a running average). The
DECOLLE neuron's own synaptic/membrane traces are part of its step (:mod:`metasnn.snn.neuron`).
"""

from __future__ import annotations

import torch

__all__ = ["trace_step", "exponential_trace"]


def trace_step(trace: torch.Tensor, s: torch.Tensor, decay: float, scale: float = 1.0) -> torch.Tensor:
    """One step ``decay · trace + scale · s`` (no multiplication by a unit ``scale``)."""
    decayed = decay * trace
    return decayed + (s if scale == 1.0 else scale * s)


def exponential_trace(spikes: torch.Tensor, decay: float, scale: float = 1.0) -> torch.Tensor:
    """The trace of ``spikes`` ``[T, ...]`` over its leading time axis, ``[T, ...]``, starting from zero."""
    out = []
    trace = torch.zeros_like(spikes[0])
    for s_t in spikes.unbind(0):
        trace = trace_step(trace, s_t, decay, scale)
        out.append(trace)
    return torch.stack(out)
