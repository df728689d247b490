"""The context a stage's ``run(args, ctx)`` receives: its name, arguments and scale, the data sources that fed
it, provenance records, metered progress bars (seconds per unit of work for the paper projection) and the
volatile run record (``logs/<stage>/<job>.run.json``)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from metasnn.data.sources import DataSource, merge_sources
from metasnn.io import atomic_write_json
from metasnn.reporting.cost_meter import WorkMeter
from metasnn.reporting.provenance import build_provenance, write_provenance

__all__ = ["StageContext"]

T = TypeVar("T")


class StageContext:
    """What a running stage knows about itself: its name, arguments, logger and start time."""

    def __init__(self, name: str, args: argparse.Namespace, argv: Sequence[str]):
        self.name = name
        self.args = args
        self.argv = list(argv)
        self.log = logging.getLogger(f"metasnn.{name}")
        self.started = time.perf_counter()
        self.data_sources: dict[str, DataSource] = {}  # raw dataset -> the source that fed this stage
        self.seeds: list[int] = []
        self.device = "cpu"
        self.meter = WorkMeter()  # loop timings + peak memory, for the paper-scale projection

    @property
    def scale(self) -> str:
        return getattr(self.args, "scale", "default")

    def config(self) -> dict[str, Any]:
        """The stage's effective configuration: its parsed arguments, minus logging plumbing."""
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in sorted(vars(self.args).items()) if k != "log"}

    def use_sources(self, *groups: Any) -> dict[str, DataSource]:
        """Record the data sources that fed this stage (mappings or iterables of DataSource); returns all so far."""
        self.data_sources = merge_sources(self.data_sources, *groups, where=f"stage {self.name}")
        return self.data_sources

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def provenance(self, **extra: Any) -> dict[str, Any]:
        return build_provenance(
            stage=self.name,
            command=["python", "-m", f"pipeline.{self.name}", *self.argv],
            config=self.config(),
            scale=self.scale,
            data_sources=self.data_sources,
            seeds=self.seeds,
            device=self.device,
            wall_time_s=self.elapsed(),
            extra=extra,
        )

    def write_provenance(self, directory: str | Path, **extra: Any) -> Path:
        """Write ``provenance.json`` into ``directory`` (call it last, so wall time is complete)."""
        return write_provenance(directory, self.provenance(**extra), sidecar=self.run_record_path())

    def run_record_path(self) -> Path:
        """Where the volatile facts of this run go: beside its log (never inside an output DVC hashes)."""
        log = getattr(self.args, "log", None) or Path("logs") / self.name / "run.log"
        return Path(log).with_suffix(".run.json")

    def progress(self, iterable: Iterable[T], desc: str, total: int | None = None,
                 per: str | Sequence[str] = ()) -> Iterable[T]:
        """A tqdm bar on stderr (quiet when stderr is not a terminal unless METASNN_PROGRESS=1), timed.

        ``per`` names the arguments (``args`` attributes) the loop's work scales with, e.g.
        ``"outer_steps"`` or ``("tasks", "head_steps")``: the paper-scale projection multiplies the
        measured seconds per unit by their ratio at paper scale (metasnn.reporting.projection).
        """
        from tqdm.auto import tqdm

        if total is None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        show = sys.stderr.isatty() or os.environ.get("METASNN_PROGRESS") == "1"
        return tqdm(self.meter.loop(iterable, desc, per), desc=f"{self.name}: {desc}", total=total,
                    disable=not show, mininterval=1.0, leave=False)

    def progress_per(self, *per: str) -> Callable[[Iterable[T], str], Iterable[T]]:
        """``progress`` for a library function that calls ``progress(iterable, desc)``, scaling with ``per``."""
        return lambda iterable, desc: self.progress(iterable, desc, per=per)

    def write_cost(self) -> None:
        """Add what this run cost (loops, peak memory, process wall time) to its volatile sidecar."""
        path = self.run_record_path()
        record = json.loads(path.read_text()) if path.is_file() else {}
        atomic_write_json(path, {**record, "cost": self.meter.record()})
