"""Provenance records written beside every stage output (``provenance.json``)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from metasnn.io import atomic_write_json

PACKAGES = ("metasnn", "torch", "spikingjelly", "tonic", "numpy", "scipy", "pandas", "snakemake", "dvc")


def _git(*args: str, cwd: Path | None = None) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=20, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_state(cwd: Path | None = None) -> dict[str, Any]:
    """Commit sha and whether tracked files differ from it (``dirty``); ``None`` outside a repo."""
    sha = _git("rev-parse", "HEAD", cwd=cwd)
    status = _git("status", "--porcelain", "--untracked-files=no", cwd=cwd)
    return {"git_sha": sha, "git_dirty": None if status is None else bool(status)}


def package_versions(names: Sequence[str] = PACKAGES) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def config_hash(config: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of a stage's effective configuration (its arguments)."""
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def device_description(device: str = "cpu") -> dict[str, Any]:
    info: dict[str, Any] = {"device": device, "machine": platform.machine(), "cpu_count": _cpu_count()}
    if device.startswith("cuda"):
        try:
            import torch

            info["gpu"] = torch.cuda.get_device_name(torch.device(device))
        except Exception:  # noqa: BLE001 - provenance must never fail the stage
            info["gpu"] = None
    return info


def _cpu_count() -> int | None:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count()


def build_provenance(
    *,
    stage: str,
    command: Sequence[str],
    config: Mapping[str, Any],
    scale: str | None,
    data_source: str | None,
    seeds: Sequence[int] = (),
    device: str = "cpu",
    wall_time_s: float,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "stage": stage,
        "command": " ".join(command),
        "config": dict(config),
        "config_hash": config_hash(config),
        "scale": scale,
        "data_source": data_source,
        "seeds": list(seeds),
        **git_state(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        **device_description(device),
        "wall_time_s": round(wall_time_s, 3),
    }
    if extra:
        record.update(extra)
    return record


def write_provenance(directory: str | Path, record: Mapping[str, Any]) -> Path:
    return atomic_write_json(Path(directory) / "provenance.json", dict(record))


def read_provenance(directory: str | Path) -> dict[str, Any] | None:
    path = Path(directory) / "provenance.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text())
