"""Models built by name: ``build_model("sn22_snn", (2, 32, 16), ways=5, pooling="max")``.

Registered names:

* ``sn22_snn`` — :class:`~metasnn.snn.models.SN22ConvSNN` (DECOLLE LIF conv SNN).
* ``sn22_cnn`` — :class:`~metasnn.snn.models.SN22ConvCNN` (paper's MAML CNN on time-summed frames).
* ``sn22_cnn_softsign`` — the sn22 *code's* non-spiking baseline: ``SN22ConvSNN`` with
  ``inter_layer="softsign"``.

Other methods register their own builders with :func:`register_model`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from torch import nn

from metasnn.snn.models import SN22ConvCNN, SN22ConvSNN

__all__ = ["build_model", "register_model", "model_names"]

ModelBuilder = Callable[..., nn.Module]
_REGISTRY: dict[str, ModelBuilder] = {}


def register_model(name: str, builder: ModelBuilder) -> None:
    """Register ``builder(input_shape, ways, **opts) -> nn.Module`` under ``name``."""
    if name in _REGISTRY:
        raise ValueError(f"model {name!r} is already registered")
    _REGISTRY[name] = builder


def model_names() -> list[str]:
    return sorted(_REGISTRY)


def build_model(name: str, input_shape: Sequence[int], ways: int, **opts: Any) -> nn.Module:
    """Build the model registered as ``name`` for frames of ``input_shape`` = ``(2, H, W)``."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}: choose one of {', '.join(model_names())}")
    return _REGISTRY[name](input_shape, ways, **opts)


def _softsign_snn(input_shape: Sequence[int], ways: int, **opts: Any) -> nn.Module:
    return SN22ConvSNN(input_shape, ways, inter_layer="softsign", **opts)


register_model("sn22_snn", SN22ConvSNN)
register_model("sn22_cnn", SN22ConvCNN)
register_model("sn22_cnn_softsign", _softsign_snn)
