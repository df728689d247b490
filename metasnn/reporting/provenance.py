"""Provenance records written beside every stage output (``provenance.json``).

A record has two parts. The stable part — stage, command, configuration and its hash, scale, the
data source per raw dataset, seeds, Python and package versions, device kind — goes into
``provenance.json`` inside the output, which DVC hashes: identical runs give identical outputs, so
Snakemake and DVC agree on what is up to date. The volatile part (:data:`VOLATILE_KEYS`: git sha and
dirty flag, host platform and CPUs, GPU name, wall time) goes into a sidecar beside the stage's log
(``logs/<stage>/<job>.run.json``, never a pipeline output); the stable record names it
(``run_record``) and :func:`read_provenance` merges the two back.
"""

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

from metasnn.data.sources import DataSource, describe, merge_sources, sources_from_record
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
        except Exception:
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
    data_sources: Mapping[str, DataSource] | None = None,
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
        "data_source": describe((data_sources or {}).values()) if data_sources else None,
        "data_sources": {k: v.to_dict() for k, v in sorted((data_sources or {}).items())},
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


#: Facts that differ between identical runs; kept out of the outputs DVC hashes.
VOLATILE_KEYS = ("git_sha", "git_dirty", "platform", "machine", "cpu_count", "gpu", "wall_time_s")


def write_provenance(directory: str | Path, record: Mapping[str, Any], sidecar: str | Path | None = None) -> Path:
    """Write ``<directory>/provenance.json`` (stable facts) and, when given, the volatile ``sidecar``.

    Without a sidecar the volatile facts are dropped, never written into the output.
    """
    stable = {k: v for k, v in record.items() if k not in VOLATILE_KEYS}
    if sidecar is not None:
        sidecar = Path(sidecar)
        stable["run_record"] = sidecar.as_posix()
        atomic_write_json(sidecar, {k: record[k] for k in VOLATILE_KEYS if k in record})
    return atomic_write_json(Path(directory) / "provenance.json", stable)


def read_provenance(directory: str | Path) -> dict[str, Any] | None:
    """The provenance record of a stage output (a directory holding ``provenance.json``, or the file)."""
    path = Path(directory)
    if path.is_dir() or path.name != "provenance.json":
        path = (path if path.is_dir() else path.parent) / "provenance.json"
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    sidecar = Path(record["run_record"]) if record.get("run_record") else None
    if sidecar is not None and sidecar.is_file():
        try:
            record.update({k: v for k, v in json.loads(sidecar.read_text()).items() if k in VOLATILE_KEYS})
        except ValueError:  # a sidecar cut short by a kill: the stable record still stands
            pass
    return record


def input_sources(paths: Sequence[str | Path], where: str = "inputs") -> dict[str, DataSource]:
    """The data sources that fed a stage's inputs, read from their provenance records, one per raw dataset.

    ``paths``: input files or directories; each one's ``provenance.json`` (beside a file, inside a directory)
    is read. Two inputs fed by different sources of the same raw dataset are an error.
    """
    groups = [sources_from_record(read_provenance(p)) for p in paths]
    return merge_sources(*groups, where=where)
