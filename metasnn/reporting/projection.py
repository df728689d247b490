"""Project the paper-scale cost of every stage from a rehearsal's measured costs.

The rehearsal (``make paper-rehearsal``) runs every stage at the papers' tensor shapes with loop counts
capped; each stage records its loops (:mod:`metasnn.reporting.cost_meter`). :data:`MODEL` states how
they are projected (it is printed under the table too); :func:`resources` turns the projection into
scheduler requests with a margin.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metasnn.io import atomic_write_text

MODEL = (
    "How it is projected. Per job: projected seconds = fixed + sum over its metered loops of [first unit + "
    "(paper units - 1) x seconds per unit]. *fixed* is everything outside the loops (start-up, imports, data "
    "loading, writing) and is assumed not to grow; *s / unit* is the steady-state mean of the rehearsal's units "
    "(the first unit, which carries warm-up, excluded); *paper units* = rehearsal units x the ratio of the "
    "loop's driving arguments at paper scale to their rehearsal values (e.g. outer_steps 20000 / 2; a grid "
    "such as the test-time inner steps by its length). A paper job is projected from the rehearsal job sharing "
    "the most wildcards (seed 0 stands for every seed; the costliest grid point for points not run). Peak "
    "memory is the measured peak plus, for a stage that reads a meta-dataset, that meta-dataset's growth to "
    "the full dataset's recordings (as if read whole: an upper bound). Disk is what the job's outputs hold, "
    "data stages scaled to the full recordings. *units / job* and *s / unit* describe each stage's dominant "
    "loop; *h / job* is the costliest paper job; *CPU-h total* sums every paper job.")


@dataclass(frozen=True)
class LoopProjection:
    """One metered loop of a rehearsal job and its size at paper scale."""

    desc: str
    units: int
    seconds: float
    first_s: float
    paper_units: float
    unit: str  # what one unit is, e.g. "outer_steps" or "tasks x head_steps"

    @property
    def per_unit_s(self) -> float:
        """Steady-state seconds per unit (the first unit excluded when there are others)."""
        if self.units > 1:
            return (self.seconds - self.first_s) / (self.units - 1)
        return self.seconds / max(self.units, 1)

    @property
    def projected_s(self) -> float:
        if self.paper_units <= 0:
            return 0.0
        return self.first_s + (self.paper_units - 1) * self.per_unit_s if self.units else 0.0


@dataclass(frozen=True)
class JobProjection:
    """One rehearsal job (stage + wildcards), measured, with its paper-scale projection."""

    stage: str
    wildcards: Mapping[str, str]
    process_wall_s: float
    peak_rss_mb: float
    disk_mb: float
    loops: Sequence[LoopProjection] = ()
    data_growth_mb: float = 0.0  # extra memory / disk from reading the full-size meta-dataset
    disk_growth_mb: float = 0.0

    @property
    def fixed_s(self) -> float:
        return max(self.process_wall_s - sum(lp.seconds for lp in self.loops), 0.0)

    @property
    def projected_s(self) -> float:
        return self.fixed_s + sum(lp.projected_s for lp in self.loops)

    @property
    def projected_rss_mb(self) -> float:
        return self.peak_rss_mb + self.data_growth_mb

    @property
    def projected_disk_mb(self) -> float:
        return self.disk_mb + self.disk_growth_mb

    def main_loop(self) -> LoopProjection | None:
        """The loop that dominates the projected time (None for a stage without metered loops)."""
        return max(self.loops, key=lambda lp: lp.projected_s, default=None)


@dataclass
class StageProjection:
    """A stage's row: its paper-scale jobs, each projected from the matching rehearsal job."""

    stage: str
    paper_jobs: int
    measured: list[JobProjection] = field(default_factory=list)
    job_s: list[float] = field(default_factory=list)  # projected seconds of each paper job
    gpu: bool = False

    @property
    def total_h(self) -> float:
        return sum(self.job_s) / 3600

    @property
    def max_job_h(self) -> float:
        return max(self.job_s, default=0.0) / 3600

    @property
    def peak_rss_mb(self) -> float:
        return max((j.projected_rss_mb for j in self.measured), default=0.0)

    @property
    def disk_mb(self) -> float:
        """Disk written by all paper jobs (each as its measured counterpart, data scaled)."""
        per_job = [j.projected_disk_mb for j in self.measured]
        return sum(per_job) / max(len(per_job), 1) * self.paper_jobs if per_job else 0.0

    def unit_summary(self) -> tuple[str, float, float, float]:
        """(unit, units per job at paper scale, measured s per unit, rehearsal units) of the dominant loop."""
        loops = [lp for j in self.measured if (lp := j.main_loop()) is not None]
        if not loops:
            return ("–", 0.0, 0.0, 0.0)
        top = max(loops, key=lambda lp: lp.projected_s)
        same = [lp for lp in loops if lp.unit == top.unit]
        per_unit = sum(lp.per_unit_s for lp in same) / len(same)
        return (top.unit, top.paper_units, per_unit, top.units)


def match_rehearsal(paper_wildcards: Mapping[str, str], measured: Sequence[JobProjection],
                    ignore: Iterable[str] = ("seed",)) -> JobProjection | None:
    """The rehearsal job standing in for a paper job: the one sharing the most wildcards (the seed
    ignored: the rehearsal runs one), the costliest among equals (a grid point it did not run)."""
    skip = set(ignore)
    key = {k: v for k, v in paper_wildcards.items() if k not in skip}
    return max(measured, key=lambda j: (sum(j.wildcards.get(k) == v for k, v in key.items()), j.projected_s),
               default=None)


def project_stage(stage: str, paper_wildcards: Sequence[Mapping[str, str]], measured: Sequence[JobProjection],
                  gpu: bool = False) -> StageProjection:
    row = StageProjection(stage, len(paper_wildcards), list(measured), gpu=gpu)
    for wc in paper_wildcards:
        job = match_rehearsal(wc, measured)
        row.job_s.append(job.projected_s if job is not None else float("nan"))
    return row


CLASSES = {"nmnist": 10, "asldvs": 24}


def full_recordings(args: argparse.Namespace, paper: dict[str, Any]) -> float:
    """Recordings a data job handles at paper scale: the full raw dataset, or the build's per-class cap."""
    from metasnn.data.metadataset import RAW_OF
    from metasnn.data.sources import FULL_RECORDINGS

    if getattr(args, "dataset", None) in RAW_OF:
        raw = RAW_OF[args.dataset]
        cap = paper["data"]["recordings_per_class"].get(args.dataset, 0)
        return min(cap * CLASSES[raw], FULL_RECORDINGS[raw]) if cap else FULL_RECORDINGS[raw]
    return FULL_RECORDINGS[args.raw]


def paper_units(loop: dict[str, Any], reh: argparse.Namespace, pap: argparse.Namespace,
                cfgs: tuple[dict[str, Any], dict[str, Any]]) -> float:
    units = float(loop["units"])
    for name in loop["per"]:
        if name == "recordings":
            units = full_recordings(reh, cfgs[1])
        elif name == "seeds":
            units *= len(cfgs[1]["seeds"]) / len(cfgs[0]["seeds"])
        else:
            a, b = getattr(pap, name), getattr(reh, name)
            units *= (len(a) / len(b)) if isinstance(a, list) else (float(a) / float(b))
    return units


def outputs_mb(workdir: Path, paths: Iterable[str]) -> float:
    """MB held by a job's outputs (files, or directories counted recursively) under ``workdir``."""
    return sum(dir_mb(workdir / p) for p in paths)


def dir_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 1e6
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6 if path.is_dir() else 0.0


@dataclass(frozen=True)
class Sizing:
    """How scheduler requests are derived from projections: a margin on top, rounded up."""

    margin: float = 1.5
    min_mem_mb: int = 1000
    min_runtime_min: int = 10

    def mem_mb(self, peak_mb: float) -> int:
        return max(self.min_mem_mb, int(math.ceil(peak_mb * self.margin / 500.0) * 500))

    def runtime_min(self, job_h: float) -> int:
        return max(self.min_runtime_min, int(math.ceil(job_h * 60 * self.margin / 10.0) * 10))


def resources(rows: Sequence[StageProjection], threads: Mapping[str, int], sizing: Sizing) -> dict[str, dict[str, int]]:
    """Per stage: mem_mb, runtime_min, threads and gpu for the paper scale, from the projection."""
    return {r.stage: {"mem_mb": sizing.mem_mb(r.peak_rss_mb), "runtime_min": sizing.runtime_min(r.max_job_h),
                      "threads": int(threads.get(r.stage, 1)), "gpu": int(r.gpu)} for r in rows}


COLUMNS = ("stage", "paper_jobs", "unit", "units_per_job", "rehearsal_units", "s_per_unit", "fixed_s",
           "projected_h_per_job", "projected_cpu_h", "peak_rss_mb", "disk_mb", "gpu", "basis")


def table_rows(rows: Sequence[StageProjection]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        unit, units, per_unit, reh_units = r.unit_summary()
        fixed = max((j.fixed_s for j in r.measured), default=0.0)
        basis = "projected" if units > reh_units else "measured (rehearsal ran the full work)"
        out.append({"stage": r.stage, "paper_jobs": r.paper_jobs, "unit": unit, "units_per_job": _num(units),
                    "rehearsal_units": _num(reh_units), "s_per_unit": round(per_unit, 4), "fixed_s": round(fixed, 1),
                    "projected_h_per_job": round(r.max_job_h, 3), "projected_cpu_h": round(r.total_h, 2),
                    "peak_rss_mb": round(r.peak_rss_mb), "disk_mb": round(r.disk_mb, 1), "gpu": int(r.gpu),
                    "basis": basis})
    return out


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else round(x, 1)


def write_projection(path_stem: Path, rows: Sequence[StageProjection], *, header: Sequence[str]) -> tuple[Path, Path]:
    """Write ``<stem>.csv`` and ``<stem>.md`` (the table, a total row and the model's explanation)."""
    table = table_rows(rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    csv_path = atomic_write_text(path_stem.with_suffix(".csv"), buf.getvalue())
    total_h = sum(r.total_h for r in rows)
    gpu_h = sum(r.total_h for r in rows if r.gpu)
    disk = sum(r.disk_mb for r in rows)
    lines = [*header, "",
             "| stage | paper jobs | unit of work | units / job | rehearsal units | s / unit | fixed s | "
             "h / job | CPU-h total | peak RSS MB | disk MB | GPU | basis |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|:-:|---|"]
    for t in table:
        lines.append("| " + " | ".join(str(t[c]) if c != "gpu" else ("yes" if t[c] else "") for c in COLUMNS) + " |")
    lines += [f"| **total** | {sum(r.paper_jobs for r in rows)} | | | | | | | **{total_h:.1f}** | "
              f"{max((r.peak_rss_mb for r in rows), default=0):.0f} | {disk:.0f} | | |", "",
              f"Stages marked GPU take `--device` and request a GPU at paper scale: {gpu_h:.1f} of the "
              f"{total_h:.1f} CPU-hours; their GPU time is not in this table.", "", MODEL]
    md_path = atomic_write_text(path_stem.with_suffix(".md"), "\n".join(lines) + "\n")
    return csv_path, md_path
