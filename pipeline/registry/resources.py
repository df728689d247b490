"""Scheduler requests: the registry's guesses per stage, and the measured ones of a scale (``config/resources/``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from metasnn.errors import ConfigError
from pipeline.config import ROOT


@dataclass(frozen=True)
class Resources:
    """Scheduler hints: local runs use ``threads``; the SLURM profile maps the rest to sbatch.

    ``gpu`` marks the stages that can use one (``--device``); at a scale with measured requests
    (``config/resources/<scale>.yaml``, written by ``python -m pipeline.paper_projection``) those
    replace the registry's guesses: see :func:`scale_resources`.
    """

    threads: int = 1
    mem_mb: int = 2000
    runtime_min: int = 30
    gpu: int = 0


RESOURCES_DIR = ROOT / "config" / "resources"


def scale_resources(scale: str, directory: Path = RESOURCES_DIR) -> dict[str, Resources]:
    """The measured scheduler requests of ``scale`` by stage name (empty when the scale has none)."""
    path = directory / f"{scale}.yaml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    out: dict[str, Resources] = {}
    for name, values in data.items():
        try:
            out[str(name)] = Resources(**values)
        except TypeError as exc:
            raise ConfigError(f"{path}: stage {name!r}: {exc} (keys: threads, mem_mb, runtime_min, gpu)") from exc
    return out
