"""``model.pt`` of the small plasticity methods (mp23, ip2): several named networks of one method, each with its
config, plus the frame geometry of the data they were trained on."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from torch import nn

__all__ = ["networks_payload", "load_network"]


def networks_payload(group: str, nets: Mapping[str, nn.Module], frame_shape: Sequence[int], num_steps: int,
                     extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``{group: {name: {state_dict, config}}, frame_shape, num_steps, **extra}`` (nets carry ``.config``)."""
    return {group: {k: {"state_dict": n.state_dict(), "config": n.config.to_dict()} for k, n in nets.items()},
            "frame_shape": list(frame_shape), "num_steps": int(num_steps), **(extra or {})}


def load_network(model_dir: str | Path, group: str, name: str, build: Callable[[Mapping[str, Any]], nn.Module]
                 ) -> tuple[nn.Module, tuple[int, ...], int]:
    """Rebuild network ``name`` of ``group`` from ``model_dir/model.pt`` (``build(config dict)`` makes it before its
    weights load); returns ``(net, frame_shape, num_steps)``."""
    from metasnn.io import load_tensors

    payload = load_tensors(Path(model_dir) / "model.pt")
    entry = payload[group][name]
    net = build(entry["config"])
    net.load_state_dict(entry["state_dict"])
    return net, tuple(payload["frame_shape"]), int(payload["num_steps"])
