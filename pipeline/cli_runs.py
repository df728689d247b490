"""Steps shared by several stage CLIs' ``run`` (see ``pipeline/cli.py``): opening the inputs, recording
what fed the run in its context, and the accuracy-versus-x results of the sn22 sweeps.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from metasnn.reporting.provenance import input_sources

T = TypeVar("T")


def use_device(args: argparse.Namespace, ctx: Any) -> Any:
    """Apply ``--threads`` and resolve ``--device`` (``auto``: CUDA when available); the device is recorded."""
    import torch

    from metasnn.meta.sn22 import resolve_device

    torch.set_num_threads(max(1, args.threads))
    device = resolve_device(args.device)
    ctx.device = str(device)
    return device


def open_metadataset(args: argparse.Namespace, ctx: Any, seed_torch: bool = True) -> Any:
    """The meta-dataset of ``--data`` for a single-threaded run of seed ``--seed`` (torch seeded unless told not)."""
    import torch

    from metasnn.data import load_metadataset

    torch.set_num_threads(1)
    if seed_torch:
        torch.manual_seed(args.seed)
    ctx.seeds = [args.seed]
    ds = load_metadataset(args.data)
    ctx.use_sources(ds.data_sources)
    return ds


def write_runs_table(args: argparse.Namespace, ctx: Any, write: Callable[..., T]) -> T:
    """Call ``write`` (a ``metasnn.reporting`` table writer) on the ``result.json`` of every ``--runs``
    directory, with the data sources their provenance records name; returns what it returns (the claim)."""
    results = [json.loads((d / "result.json").read_text()) for d in args.runs]
    sources = ctx.use_sources(input_sources(args.runs, where=f"{ctx.name} --runs"))
    ctx.seeds = sorted({r["seed"] for r in results})
    return write(results, scale=ctx.scale, sources=sources, tables_dir=args.tables_dir, figures_dir=args.figures_dir)


def accuracy_curve(x: str, **fields: Any) -> dict[str, Any]:
    """Results of an accuracy-versus-``x`` sweep (``x``: the swept value's key), filled by :func:`add_point`."""
    return {**fields, x: [], "acc_mean": [], "acc_ci95_low": [], "acc_ci95_high": [], "per_task": {}}


def add_point(results: dict[str, Any], x: str, value: int, accs: Sequence[float]) -> float:
    """Add the per-task accuracies ``accs`` at ``x = value`` (mean, 95% CI over tasks); returns the mean."""
    from metasnn.evaluation.statistics import summarize

    s = summarize(accs)
    results[x].append(int(value))
    results["acc_mean"].append(s.mean)
    results["acc_ci95_low"].append(s.ci95_low)
    results["acc_ci95_high"].append(s.ci95_high)
    results["per_task"][str(value)] = accs
    return s.mean
