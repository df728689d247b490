"""Full-size data budget of the data stages (fetch_data, build_metadataset): memory, disk, time.

Building the meta-datasets from full N-MNIST (70 000 recordings: 60 000 Train + 10 000 Test, 10
digits) and full ASL-DVS (100 800: 24 letters x 4 200) must fit a stated memory and disk budget.
Emulating 170 800 recordings takes hours on a CPU, so this benchmark measures the stages at a stated
*fraction* of the full counts, at two or more sizes, and extrapolates a linear fit to full size.

What is measured, per raw dataset and size, each step in its own fresh child process (1 thread, as
the stages run), each step in two timed phases. Memory: the child's own peak RSS (``VmHWM``; not
``ru_maxrss``, which on Linux survives ``exec`` and so starts at the forking parent's RSS) and,
per phase, the *work RSS*: the phase's peak above the RSS after the imports (free heap returned with
``malloc_trim`` first; the peak counter reset before each phase via ``/proc/self/clear_refs``).

* ``fetch`` — what ``pipeline.fetch_data --source synthetic`` does: write the recordings with the
  project's emulator (phase ``emulate``: ``metasnn.data.emulator.emulate_nmnist`` / ``emulate_asldvs``,
  original formats: N-MNIST ``.bin``, ASL-DVS ``.mat``), check the layout and read back every
  recording (phase ``validate``: ``scan_layout`` + ``validate_recordings``), write ``manifest.json``.
  Seconds, RSS, bytes written (``du``-style allocated bytes of the raw files).
* ``build`` — what ``pipeline.build_metadataset`` does: ``build_metadataset`` (double_nmnist /
  double_asldvs) at the paper settings (``config/scales/paper.yaml`` over ``params.yaml``: 1-ms
  bins, 100-ms window, sampling ``paper``, ASL train fraction 0.75; phase ``build``) plus
  ``write_pool_stats`` (phase ``pool_stats``: 600 episodes of 5-way 1-shot 10-query, the stage's
  default). The measured builds use every fetched recording (no per-class cap: the measured sizes
  are far below the paper cap). Seconds, RSS, bytes of the meta-dataset directory.

Sizes: n = ``--fraction`` x k / ``--sizes`` x the full count, k = 1..``--sizes``, rounded to whole
per-class numbers: N-MNIST n/10 per digit, 1/7 of them Test (as 10 000 of 70 000; at least 1),
ASL-DVS n/24 per letter (at least 2: paper sampling needs disjoint meta-train and meta-test pools).
Default 0.002 x {1/2, 1}: 70 and 140 N-MNIST, 96 and 192 ASL-DVS recordings, plus the 900 real
N-MNIST recordings; about 1 min on 2 cores. ``--nmnist-counts`` / ``--asldvs-counts`` give
explicit recording counts instead.

What is extrapolated from what (``y = a + b x recordings``, least squares over the measured sizes
of one dataset and step; an extrapolated value is never below the largest measured one; memory is
measured in MiB and reported in GB = 1e9 bytes, like disk):

* build peak RSS: the build accumulates every recording's binned counts before writing them, so its
  memory grows linearly: peak = RSS after the imports + the larger phase's fitted work RSS. (A
  growth over the measured range below ``--rss-noise-mib``, 0.5 MiB, would count as unresolved and
  be replaced by the upper bound "noise / measured range" per recording, marked in the table.)
* fetch peak RSS: the fetch streams one recording at a time; its peak is a single recording's
  temporaries (bounded by the sensor: at most a few whole-sensor float64 movies, < 0.1 GB for
  ASL-DVS's 240x180 x 51 steps) plus the heap they leave, and does *not* grow linearly (measured:
  the emulate phase's peak rises in steps as larger recordings turn up, and repeated runs of one
  size agree within 0.5 MiB). Its estimate is the largest measured peak + the memory of what does
  scale, the file lists, job lists and manifest text, built and measured (tracemalloc) at the
  target count (``file_list_memory_mb``).
* raw disk and fetch time of N-MNIST at 70 000 and ASL-DVS at 100 800 from the ``fetch`` fits. For
  N-MNIST, raw disk is also computed from the real recordings shipped in ``datasets/N-MNIST`` (900
  files): mean allocated bytes per real ``.bin`` x 70 000. Real and emulated files are compared
  (bytes and events per file); the budget uses the larger of the two estimates. No real ASL-DVS
  recording is available here, so ASL-DVS raw disk rests on the emulator alone (its recordings
  have ~6 000-13 000 events; real ASL-DVS varies more, ``metasnn/data/EMULATION.md``).
* build peak RSS, build time and meta-dataset disk from the ``build`` fits: double_nmnist at
  70 000; double_asldvs at the paper config's build cap (``data.recordings_per_class.double_asldvs``
  = 400 per letter = 9 600 recordings, what ``config/scales/paper.yaml`` builds) and at all 100 800.
  For double_nmnist a build of the 900 real recordings (``--real``, on by default) checks the fit
  at n = 900 and gives a second, "real-anchored" line (the emulated intercept, the slope through
  the real point); the budget uses the larger.
* seconds: a step's time is the sum of its parts (fetch: emulate + validate; build: build + pool
  stats), each extrapolated as above; the emulate, validate and build parts are loops over the
  recordings, so their estimate is also never below the largest measured seconds per recording x n
  (a slope fitted from two timings on a loaded machine can be noisy). Timings depend on the load.
* fetch time at full size is the *synthetic* source's cost (emulation); the ``validate`` part alone
  is what the ``shipped`` / ``local`` sources cost per file (reading real files from a warm cache).
  Download archives kept beside the extracted files (``download`` source) are not counted.

Budgets (flags): ``--mem-budget-gb 16``: the project's CI machine kind has 24 GB (README); 16 GB
leaves room for the OS and a second concurrent job (``snakemake --cores 2``), and is a common
workstation / laptop size. ``--disk-budget-gb 50``: raw + meta-datasets of a paper run should fit
a small data partition or a typical cluster home/project quota (50-100 GB) with room left for
results and checkpoints. The verdict also compares each stage's extrapolated peak with its
``mem_mb`` request in ``pipeline/stages/`` (what the SLURM profile asks for: a job above it is
killed) and its time with ``runtime_min``. Jobs run one at a time in this model; concurrent jobs add up.

    python -m benchmarks.bench_data_budget                              # default fraction 0.002, 2 sizes
    python -m benchmarks.bench_data_budget --fraction 0.01 --sizes 3 --out budget.json
    python -m benchmarks.bench_data_budget --nmnist-counts 700 1400 --asldvs-counts 480 960
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks import machine
from metasnn.data.sources import FULL_RECORDINGS

ROOT = Path(__file__).resolve().parents[1]
RAWS = ("nmnist", "asldvs")
META_OF = {"nmnist": "double_nmnist", "asldvs": "double_asldvs"}
FULL_COUNTS = FULL_RECORDINGS
NMNIST_FULL_SPLITS = {"train": 60_000, "test": 10_000}  # 10 digits each
ASL_LETTERS = 24
ASL_FULL_PER_LETTER = 4_200
NAMES = {"nmnist": "N-MNIST", "asldvs": "ASL-DVS"}
GB = 1e9
MB = 1e6


# ----------------------------------------------------------------------------------------------
# sizes, fits
# ----------------------------------------------------------------------------------------------


def per_class_counts(raw: str, recordings: float) -> dict[str, int]:
    """Whole per-class numbers closest to ``recordings`` in the full dataset's proportions.

    N-MNIST: ``{"train_per_class", "test_per_class"}``, about 6:1 like 60 000 : 10 000, each >= 1, the
    total a multiple of 10 (so a total maps to itself); ASL-DVS: ``{"per_class"}`` (>= 2: paper
    sampling needs a meta-train and a meta-test recording of every letter).
    """
    if raw == "nmnist":
        per_digit = max(2, round(recordings / 10))
        test = max(1, round(recordings * NMNIST_FULL_SPLITS["test"] / FULL_COUNTS["nmnist"] / 10))
        return {"train_per_class": per_digit - test, "test_per_class": test}
    if raw == "asldvs":
        return {"per_class": max(2, round(recordings / ASL_LETTERS))}
    raise ValueError(f"unknown raw dataset {raw!r}")


def total_recordings(raw: str, counts: dict[str, int]) -> int:
    if raw == "nmnist":
        return 10 * (counts["train_per_class"] + counts["test_per_class"])
    return ASL_LETTERS * counts["per_class"]


@dataclass(frozen=True)
class Fit:
    """``y = intercept + slope x n`` (least squares), over ``points`` sizes."""

    intercept: float
    slope: float
    points: int
    max_rel_residual: float  # largest |residual| / y over the fitted points (0 with two points)

    def predict(self, n: float) -> float:
        return self.intercept + self.slope * n


def fit_line(xs: list[float], ys: list[float]) -> Fit:
    """Least-squares line through ``(xs, ys)``; needs at least two different ``xs``."""
    if len(xs) != len(ys):
        raise ValueError("xs and ys differ in length")
    if len(set(xs)) < 2:
        raise ValueError("a linear fit needs at least two different sizes")
    n = len(xs)
    xm, ym = sum(xs) / n, sum(ys) / n
    sxx = sum((x - xm) ** 2 for x in xs)
    slope = sum((x - xm) * (y - ym) for x, y in zip(xs, ys, strict=True)) / sxx
    intercept = ym - slope * xm
    rel = [abs(y - (intercept + slope * x)) / abs(y) for x, y in zip(xs, ys, strict=True) if y]
    return Fit(intercept, slope, n, max(rel, default=0.0))


def extrapolate(xs: list[float], ys: list[float], n: float, noise: float = 0.0) -> dict[str, Any]:
    """The value at ``n`` used for the budget, from the measured ``(xs, ys)``.

    ``value`` is the fitted line at ``n`` but never below the largest measured ``y`` (a quantity
    does not shrink with more recordings; a flat one can get a slightly negative slope from noise).
    With ``noise > 0`` (peak RSS: the scatter of identical runs) a growth over the measured range
    below ``noise`` is *unresolved*: the slope is then bounded by ``noise / range`` and ``value`` is
    that upper bound (``resolved: False``), not the noisy fit.
    """
    fit = fit_line(xs, ys)
    lo, hi = min(xs), max(xs)
    growth = ys[xs.index(hi)] - ys[xs.index(lo)]
    resolved = noise <= 0 or growth >= noise
    if resolved:
        value = max(fit.predict(n), max(ys))
    else:
        value = max(ys) + noise / (hi - lo) * max(0.0, n - hi)
    return {"value": value, "fit": fit.predict(n), "resolved": resolved, "slope": fit.slope,
            "slope_used": fit.slope if resolved else noise / (hi - lo), "intercept": fit.intercept}


# ----------------------------------------------------------------------------------------------
# disk
# ----------------------------------------------------------------------------------------------


def disk_usage(path: str | os.PathLike) -> dict[str, int]:
    """Apparent bytes (sum of file sizes) and allocated bytes (``du``: blocks of files and folders)."""
    apparent = allocated = files = 0
    for dirpath, dirnames, filenames in os.walk(path):
        allocated += os.lstat(dirpath).st_blocks * 512
        for name in filenames:
            st = os.lstat(os.path.join(dirpath, name))
            apparent += st.st_size
            allocated += st.st_blocks * 512
            files += 1
        dirnames.sort()
    return {"apparent_bytes": apparent, "disk_bytes": allocated, "files": files}


def raw_file_stats(raw: str, root: str | os.PathLike) -> dict[str, float]:
    """Per-file bytes (apparent, allocated) and events of every recording under ``root``."""
    from metasnn.data.layout import read_recording, scan_layout

    root = Path(root)
    rels = [rel for classes in scan_layout(raw, root).values() for rels in classes.values() for rel in rels]
    size = alloc = events = 0
    for rel in rels:
        st = os.stat(root / rel)
        size += st.st_size
        alloc += st.st_blocks * 512
        events += len(read_recording(raw, root / rel))
    n = len(rels)
    return {"files": n, "bytes_per_file": size / n, "disk_bytes_per_file": alloc / n, "events_per_file": events / n,
            "bytes_per_event": size / events if events else 0.0}


# ----------------------------------------------------------------------------------------------
# child processes: one step each
# ----------------------------------------------------------------------------------------------


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _status_mb(key: str) -> float | None:
    """``VmRSS`` / ``VmHWM`` of this process in MiB (Linux ``/proc/self/status``), None elsewhere."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


class _PhaseMemory:
    """Peak RSS of a step's process and of each of its phases above the RSS at the start of the work.

    The process's own peak is ``VmHWM`` (``/proc/self/status``), not ``ru_maxrss``: on Linux
    ``ru_maxrss`` survives ``exec`` and so starts at the RSS the parent had when it forked. After the
    imports, free heap pages are returned to the system (glibc ``malloc_trim``) so the work cannot
    hide in memory the imports freed, and the current RSS is the start. Before each phase the peak
    counter is reset (``/proc/self/clear_refs``: 5 resets ``VmHWM``); after it ``VmHWM - start`` is
    the phase's work RSS. Without these interfaces (not Linux) ``ru_maxrss`` is used throughout.
    """

    def __init__(self) -> None:
        self.import_peak = _status_mb("VmHWM") or _rss_mb()
        try:
            import ctypes

            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass
        self.start = _status_mb("VmRSS")
        self.exact = False
        self.peak = self.import_peak
        self.phases: dict[str, float] = {}

    def begin(self) -> None:
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            self.exact = self.start is not None and _status_mb("VmHWM") is not None
        except OSError:
            self.exact = False

    def end(self, phase: str) -> None:
        if self.exact:
            hwm = _status_mb("VmHWM")
            self.phases[phase] = hwm - self.start
            self.peak = max(self.peak, hwm)
        else:
            self.peak = max(self.peak, _rss_mb())
            self.phases[phase] = self.peak - self.import_peak

    def result(self) -> dict[str, Any]:
        return {"import_rss_mb": self.import_peak, "start_rss_mb": self.start if self.exact else self.import_peak,
                "peak_rss_mb": self.peak, "ru_maxrss_mb": _rss_mb(), "phase_peaks_exact": self.exact,
                **{f"{phase}_work_mb": v for phase, v in self.phases.items()}}


def _child_fetch(job: dict[str, Any]) -> dict[str, Any]:
    """Emulate (or copy the shipped real files), scan + validate, write the manifest (pipeline.fetch_data)."""
    # the emulator and the ASL-DVS reader import these on first use: count them with the imports
    import scipy.io
    import scipy.ndimage  # noqa: F401

    from metasnn.data.emulator import emulate_asldvs, emulate_nmnist
    from metasnn.data.layout import manifest_dict, scan_layout, validate_recordings
    from metasnn.data.sources import DataSource
    from metasnn.io import atomic_write_json

    mem = _PhaseMemory()
    raw, out = job["raw"], Path(job["out"])
    mem.begin()
    t0 = time.perf_counter()
    if job.get("copy_from"):
        shutil.copytree(job["copy_from"], out / "files")
        source = "shipped"
    elif raw == "nmnist":
        emulate_nmnist(out / "files", job["train_per_class"], job["test_per_class"], seed=job["seed"])
        source = "synthetic"
    else:
        emulate_asldvs(out / "files", job["per_class"], seed=job["seed"])
        source = "synthetic"
    t1 = time.perf_counter()
    mem.end("emulate")
    mem.begin()
    t2 = time.perf_counter()
    files = scan_layout(raw, out / "files")
    kept, skipped = validate_recordings(raw, out / "files", files, "error")
    total = sum(len(v) for c in kept.values() for v in c.values())
    extra = {"data_sources": {raw: DataSource(raw=raw, source=source, recordings=total).to_dict()}}
    atomic_write_json(out / "manifest.json", manifest_dict(raw, source, "files", kept, skipped, extra))
    t3 = time.perf_counter()
    mem.end("validate")
    return {"recordings": total, "emulate_s": t1 - t0, "validate_s": t3 - t2, "seconds": (t1 - t0) + (t3 - t2),
            **mem.result()}


def _child_build(job: dict[str, Any]) -> dict[str, Any]:
    """build_metadataset + write_pool_stats (pipeline.build_metadataset, without its atomic rename)."""
    from metasnn.data.layout import load_manifest
    from metasnn.data.metadataset import BuildOptions, MetaDataset, build_metadataset
    from metasnn.data.pools import write_pool_stats

    mem = _PhaseMemory()
    out = Path(job["out"])
    opts = BuildOptions(sampling=job["sampling"], time_bin_ms=job["time_bin_ms"], window_ms=job["window_ms"],
                        recordings_per_class=job.get("recordings_per_class") or None,
                        asl_train_fraction=job["asl_train_fraction"])
    mem.begin()
    t0 = time.perf_counter()
    summary = build_metadataset(job["dataset"], load_manifest(job["raw_dir"]), out, opts)
    t1 = time.perf_counter()
    mem.end("build")
    mem.begin()
    t2 = time.perf_counter()
    write_pool_stats(MetaDataset(out), out, episodes=job["stats_episodes"])
    t3 = time.perf_counter()
    mem.end("pool_stats")
    return {"recordings": summary["recordings"], "entries": summary["entries"], "stored_bytes": summary["stored_bytes"],
            "num_steps": summary["num_steps"], "build_s": t1 - t0, "pool_stats_s": t3 - t2,
            "seconds": (t1 - t0) + (t3 - t2), **mem.result()}


def _child(job: dict[str, Any]) -> dict[str, Any]:
    if job["step"] == "fetch":
        return _child_fetch(job)
    if job["step"] == "build":
        return _child_build(job)
    raise ValueError(f"unknown step {job['step']!r}")


def run_child(job: dict[str, Any]) -> dict[str, Any]:
    """Run one step in a fresh ``python -m benchmarks.bench_data_budget --child JOB`` process."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    cmd = [sys.executable, "-m", "benchmarks.bench_data_budget", "--child", json.dumps(job)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child failed ({job['step']} {job.get('raw')}):\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - start
    return result


# ----------------------------------------------------------------------------------------------
# measuring one size
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildSettings:
    """Build options of the measured builds (defaults: the paper scale's)."""

    sampling: str = "paper"
    time_bin_ms: float = 1.0
    window_ms: float = 100.0
    asl_train_fraction: float = 0.75
    stats_episodes: int = 600


def paper_settings() -> tuple[BuildSettings, int]:
    """The paper scale's build settings and its double_asldvs per-letter cap (params.yaml + paper.yaml)."""
    from pipeline.config import load_config

    data = load_config("paper")["data"]
    settings = BuildSettings(sampling=data["sampling"], time_bin_ms=float(data["time_bin_ms"]),
                             window_ms=float(data["window_ms"]), asl_train_fraction=float(data["asl_train_fraction"]))
    return settings, int(data["recordings_per_class"]["double_asldvs"] or ASL_FULL_PER_LETTER)


def measure(raw: str, recordings: float, workdir: str | os.PathLike, settings: BuildSettings | None = None,
            seed: int = 0, real_root: str | os.PathLike | None = None) -> dict[str, Any]:
    """Fetch ``raw`` at about ``recordings`` (emulated; or copy the real files of ``real_root``), then
    build its meta-dataset; each step in a fresh process. Returns ``{"fetch": {...}, "build": {...},
    "raw_files": {...}}`` with seconds, peak RSS (MB) and bytes written (``disk_bytes``: allocated)."""
    settings = settings or BuildSettings()
    work = Path(workdir)
    tag = "real" if real_root else f"{raw}_{recordings:g}"
    raw_dir, meta_dir = work / "fetched" / tag, work / "meta" / tag
    for d in (raw_dir, meta_dir):
        if d.exists():
            shutil.rmtree(d)
    raw_dir.mkdir(parents=True)
    job: dict[str, Any] = {"step": "fetch", "raw": raw, "out": str(raw_dir), "seed": seed}
    if real_root:
        job["copy_from"] = str(Path(real_root).resolve())
    else:
        job.update(per_class_counts(raw, recordings))
    fetch = run_child(job)
    fetch.update(disk_usage(raw_dir))
    build = run_child({"step": "build", "dataset": META_OF[raw], "raw_dir": str(raw_dir), "out": str(meta_dir),
                       **asdict(settings)})
    build.update(disk_usage(meta_dir))
    return {"raw": raw, "source": "shipped" if real_root else "synthetic", "recordings": fetch["recordings"],
            "fraction": fetch["recordings"] / FULL_COUNTS[raw], "fetch": fetch, "build": build,
            "raw_files": raw_file_stats(raw, raw_dir / "files")}


# ----------------------------------------------------------------------------------------------
# extrapolation and verdict
# ----------------------------------------------------------------------------------------------

PHASES = {"fetch": ("emulate", "validate"), "build": ("build", "pool_stats")}  # timed and measured apart
FIT_FIELDS = {step: ("seconds", *(f"{ph}_s" for ph in phases), *(f"{ph}_work_mb" for ph in phases), "disk_bytes",
                     "apparent_bytes", *(("stored_bytes", "entries") if step == "build" else ()))
              for step, phases in PHASES.items()}


LOOP_FIELDS = {"fetch": ("emulate_s", "validate_s"), "build": ("build_s",)}  # loops over recordings


@functools.lru_cache(maxsize=8)
def file_list_memory_mb(raw: str, recordings: int) -> float:
    """Peak Python memory (MiB, tracemalloc) of what a fetch of ``recordings`` holds besides one
    recording: the emulator's file lists, validate's job list and kept lists, the manifest and its
    JSON text, built here at that count with the real path patterns."""
    import tracemalloc

    from metasnn.data.events import ASL_LETTERS as LETTERS
    from metasnn.data.layout import manifest_dict
    from metasnn.io import canonical_json

    counts = per_class_counts(raw, recordings)
    tracemalloc.start()
    try:
        if raw == "nmnist":
            files = {split: {str(d): [f"{folder}/{d}/{i + 1:05d}.bin" for i in range(counts[key])] for d in range(10)}
                     for split, folder, key in (("train", "Train", "train_per_class"), ("test", "Test", "test_per_class"))}
        else:
            files = {"all": {c: [f"{c}/{c}_{i + 1:04d}.mat" for i in range(counts["per_class"])] for c in LETTERS}}
        jobs = [(split, label, rel) for split, classes in files.items() for label, rels in classes.items() for rel in rels]
        kept = {split: {label: list(rels) for label, rels in classes.items()} for split, classes in files.items()}
        text = canonical_json(manifest_dict(raw, "synthetic", "files", kept, []))
        del jobs, text
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _gb(mib: float) -> float:
    """MiB (ru_maxrss / 1024) -> GB (1e9 bytes), the unit of the budgets."""
    return mib * 2**20 / GB


def stage_resources() -> dict[str, dict[str, int]]:
    """``mem_mb`` and ``runtime_min`` of fetch_data and build_metadataset in the stage registry."""
    try:
        from pipeline.stages import STAGES
    except Exception:  # pragma: no cover - the registry is part of the repository
        return {}
    return {step: {"mem_mb": STAGES[name].resources.mem_mb, "runtime_min": STAGES[name].resources.runtime_min}
            for step, name in (("fetch", "fetch_data"), ("build", "build_metadataset"))}


def targets(asl_cap: int) -> list[dict[str, Any]]:
    """The full-size rows: (raw, step, recordings) with a label."""
    return [
        {"key": "raw_nmnist", "label": "N-MNIST raw, all", "raw": "nmnist", "step": "fetch", "n": FULL_COUNTS["nmnist"]},
        {"key": "raw_asldvs", "label": "ASL-DVS raw, all", "raw": "asldvs", "step": "fetch", "n": FULL_COUNTS["asldvs"]},
        {"key": "double_nmnist", "label": "double_nmnist, all", "raw": "nmnist", "step": "build",
         "n": FULL_COUNTS["nmnist"]},
        {"key": "double_asldvs_cap", "label": f"double_asldvs, paper cap {asl_cap}/letter", "raw": "asldvs",
         "step": "build", "n": ASL_LETTERS * min(asl_cap, ASL_FULL_PER_LETTER)},
        {"key": "double_asldvs_all", "label": "double_asldvs, all", "raw": "asldvs", "step": "build",
         "n": FULL_COUNTS["asldvs"]},
    ]


def extrapolate_all(points: dict[str, list[dict[str, Any]]], real: dict[str, Any] | None, asl_cap: int,
                    rss_noise_mib: float = 0.5) -> list[dict[str, Any]]:
    """Every target row: each quantity from the emulated fit (:func:`extrapolate`), plus, for N-MNIST,
    the estimates from the real recordings; ``*_budget`` = the larger of the two."""
    rows = []
    for t in targets(asl_cap):
        pts = points.get(t["raw"]) or []
        step, n = t["step"], t["n"]
        xs = [float(p[step]["recordings"]) for p in pts]
        if len(set(xs)) < 2:
            continue
        est = {f: extrapolate(xs, [float(p[step][f]) for p in pts], n, rss_noise_mib if f.endswith("_work_mb") else 0.0)
               for f in FIT_FIELDS[step]}
        row: dict[str, Any] = {**t, "from_recordings": [int(x) for x in xs], "estimates": est,
                               **{f: e["value"] for f, e in est.items()}}
        row["import_rss_mb"] = max(p[step]["import_rss_mb"] for p in pts)
        row["start_rss_mb"] = max(p[step]["start_rss_mb"] for p in pts)
        if step == "fetch":
            # streaming: one recording at a time. Peak = the largest measured peak (its transients and
            # heap) + the file lists and manifest at the target count, measured at that count
            lists = file_list_memory_mb(t["raw"], n)
            row["peak_phase"] = "file lists"
            row["rss_model"] = "streaming"
            row["rss_resolved"] = True
            row["file_lists_mb"] = lists
            row["rss_slope_mb"] = lists / n
            row["peak_rss_mb"] = max(p[step]["peak_rss_mb"] for p in pts) + lists
        else:
            # accumulating: the start RSS + the largest phase's fitted work RSS, never below the imports' own peak
            row["peak_phase"] = max(PHASES[step], key=lambda ph: row[f"{ph}_work_mb"])
            row["rss_model"] = "linear"
            row["rss_resolved"] = est[f"{row['peak_phase']}_work_mb"]["resolved"]
            row["rss_slope_mb"] = est[f"{row['peak_phase']}_work_mb"]["slope_used"]
            row["peak_rss_mb"] = max(row["import_rss_mb"], row["start_rss_mb"] + row[f"{row['peak_phase']}_work_mb"])
        # per-recording loops: never below the largest measured rate x n (robust to a noisy slope under load)
        for f in LOOP_FIELDS[step]:
            rate = max(p[step][f] / p[step]["recordings"] for p in pts)
            row[f] = max(row[f], rate * n)
            est[f]["rate_per_recording"] = rate
        row["seconds"] = sum(row[f"{ph}_s"] for ph in PHASES[step])
        for f in ("peak_rss_mb", "disk_bytes", "seconds"):
            row[f"{f}_budget"] = row[f]
        if real and t["raw"] == "nmnist":
            if step == "fetch":
                per_file = real["raw_files"]["disk_bytes_per_file"]
                row["disk_bytes_real"] = est["disk_bytes"]["intercept"] + per_file * n
            else:
                m = real["build"]
                fields = [f"{ph}_work_mb" for ph in PHASES[step]] + ["disk_bytes", "build_s", "pool_stats_s"]
                for f in fields:
                    a = est[f]["intercept"]
                    slope = (m[f] - a) / m["recordings"]  # the line through the emulated intercept and the real point
                    row[f"{f}_real"] = max(a + slope * n, m[f])
                    row[f"{f}_real_slope"] = slope
                    row[f"{f}_fit_at_real"] = a + est[f]["slope"] * m["recordings"]
                real_phase = max(PHASES[step], key=lambda ph: row[f"{ph}_work_mb_real"])
                row["rss_slope_mb_real"] = row[f"{real_phase}_work_mb_real_slope"]
                row["peak_rss_mb_real"] = max(row["import_rss_mb"], m["import_rss_mb"],
                                              max(row["start_rss_mb"], m["start_rss_mb"]) + row[f"{real_phase}_work_mb_real"])
                row["peak_rss_mb_fit_at_real"] = max(m["import_rss_mb"], m["start_rss_mb"] + max(
                    row[f"{ph}_work_mb_fit_at_real"] for ph in PHASES[step]))
                row["seconds_real"] = row["build_s_real"] + row["pool_stats_s_real"]
                row["seconds_fit_at_real"] = row["build_s_fit_at_real"] + row["pool_stats_s_fit_at_real"]
            for f in ("peak_rss_mb", "disk_bytes", "seconds"):
                if f"{f}_real" in row:
                    row[f"{f}_budget"] = max(row[f], row[f"{f}_real"])
        rows.append(row)
    return rows


def verdict(rows: list[dict[str, Any]], mem_budget_gb: float, disk_budget_gb: float,
            resources: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Per scenario: total disk (raw + meta-datasets) and the largest single-job peak against the budgets;
    per row: the peak against the stage's ``mem_mb`` request and the time against its ``runtime_min``."""
    by = {r["key"]: r for r in rows}
    out: dict[str, Any] = {"mem_budget_gb": mem_budget_gb, "disk_budget_gb": disk_budget_gb, "scenarios": {}}
    for name, asl_meta in (("paper config (double_asldvs capped)", "double_asldvs_cap"),
                           ("full (double_asldvs from all 100 800)", "double_asldvs_all")):
        keys = [k for k in ("raw_nmnist", "raw_asldvs", "double_nmnist", asl_meta) if k in by]
        if not keys:
            continue
        disk = sum(by[k]["disk_bytes_budget"] for k in keys) / GB
        peak_key = max(keys, key=lambda k: by[k]["peak_rss_mb_budget"])
        mem = _gb(by[peak_key]["peak_rss_mb_budget"])
        out["scenarios"][name] = {
            "rows": keys, "complete": len(keys) == 4, "disk_gb": disk, "peak_mem_gb": mem,
            "peak_step": by[peak_key]["label"], "disk_ok": disk <= disk_budget_gb, "mem_ok": mem <= mem_budget_gb,
            "ok": disk <= disk_budget_gb and mem <= mem_budget_gb,
        }
    out["stage_requests"] = []
    for r in rows:
        req = resources.get(r["step"])
        if req:
            minutes = r["seconds_budget"] / 60
            out["stage_requests"].append({
                "row": r["label"], "step": r["step"], "peak_mib": r["peak_rss_mb_budget"], "mem_mb": req["mem_mb"],
                "mem_ok": r["peak_rss_mb_budget"] <= req["mem_mb"], "minutes": minutes,
                "runtime_min": req["runtime_min"], "time_ok": minutes <= req["runtime_min"],
                "rss_upper_bound": not r["rss_resolved"] and r["peak_rss_mb_budget"] == r["peak_rss_mb"],
            })
    out["ok"] = bool(out["scenarios"]) and all(s["ok"] for s in out["scenarios"].values())
    return out


# ----------------------------------------------------------------------------------------------
# report
# ----------------------------------------------------------------------------------------------


def print_measured(points: dict[str, list[dict[str, Any]]], real: dict[str, Any] | None) -> None:
    print("\nMeasured (each step in a fresh process; work RSS = peak of each phase above the RSS after the imports; "
          "disk = allocated bytes written):")
    print("| dataset | source | step (phases) | fraction of full | recordings | seconds (phases) | peak RSS MiB | "
          "import / start RSS MiB | work RSS MiB (phases) | disk MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = [p for raw in RAWS for p in points.get(raw, [])] + ([real] if real else [])
    for p in rows:
        for step in ("fetch", "build"):
            m = p[step]
            phases = PHASES[step]
            names = dict(zip(phases, ("copy", "validate") if p["source"] != "synthetic" and step == "fetch" else phases,
                             strict=True))
            what = f"{step} {META_OF[p['raw']]}" if step == "build" else step
            seconds = " + ".join(f"{m[ph + '_s']:.2f}" for ph in phases)
            work = " / ".join(f"{m[ph + '_work_mb']:.1f}" for ph in phases)
            print(f"| {NAMES[p['raw']]} | {p['source']} | {what} ({' + '.join(names[ph] for ph in phases)}) | "
                  f"{m['recordings'] / FULL_COUNTS[p['raw']]:.4f} | {m['recordings']} | {m['seconds']:.2f} ({seconds}) | "
                  f"{m['peak_rss_mb']:.1f} | {m['import_rss_mb']:.1f} / {m['start_rss_mb']:.1f} | {work} | "
                  f"{m['disk_bytes'] / MB:.2f} |")


def print_files(points: dict[str, list[dict[str, Any]]], real: dict[str, Any] | None) -> None:
    print("\nRaw files (largest measured size; N-MNIST .bin = 5 bytes per record, ASL-DVS .mat compressed):")
    print("| dataset | source | files | bytes/file | allocated bytes/file | events/file | bytes/event |")
    print("|---|---|---|---|---|---|---|")
    rows = [(p["raw"], "emulated", p["raw_files"]) for raw in RAWS for p in points.get(raw, [])[-1:]]
    if real:
        rows.append(("nmnist", "real (datasets/N-MNIST)", real["raw_files"]))
    for raw, source, s in rows:
        print(f"| {NAMES[raw]} | {source} | {s['files']} | {s['bytes_per_file']:.0f} | {s['disk_bytes_per_file']:.0f} | "
              f"{s['events_per_file']:.0f} | {s['bytes_per_event']:.2f} |")


def print_extrapolated(rows: list[dict[str, Any]], real: dict[str, Any] | None) -> None:
    print("\nExtrapolated to full size (linear fit a + b x recordings over the measured emulated sizes, never below "
          "the largest measured value; RSS in GB = 1e9 bytes):")
    print("| row | kind | recordings | fitted from | seconds | peak RSS GB | disk GB | RSS KB/rec | disk KB/rec |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        e = r["estimates"]
        kind = ("extrapolated" if r["rss_model"] == "linear" else "extrapolated (streaming: peak + file lists)") + (
            "" if r["rss_resolved"] else " (RSS growth < noise: upper bound)")
        print(f"| {r['label']} | {kind} | {r['n']} | {'+'.join(map(str, r['from_recordings']))} | "
              f"{r['seconds']:.0f} | {_gb(r['peak_rss_mb']):.2f} | {r['disk_bytes'] / GB:.2f} | "
              f"{r['rss_slope_mb'] * 1024:.1f} ({r['peak_phase']}) | {e['disk_bytes']['slope'] / 1e3:.1f} |")
        if real and r["step"] == "fetch" and "disk_bytes_real" in r:
            print(f"| {r['label']} | extrapolated, real per-file size | {r['n']} | {real['recordings']} real files | – | – | "
                  f"{r['disk_bytes_real'] / GB:.2f} | – | {real['raw_files']['disk_bytes_per_file'] / 1e3:.1f} |")
        if real and r["step"] == "build" and "peak_rss_mb_real" in r:
            print(f"| {r['label']} | extrapolated, real-anchored | {r['n']} | intercept + {real['recordings']} real | "
                  f"{r['seconds_real']:.0f} | {_gb(r['peak_rss_mb_real']):.2f} | {r['disk_bytes_real'] / GB:.2f} | "
                  f"{r['rss_slope_mb_real'] * 1024:.1f} | {r['disk_bytes_real_slope'] / 1e3:.1f} |")
    for r in rows:
        if real and "peak_rss_mb_fit_at_real" in r:
            m = real["build"]
            print(f"\nCheck of the emulated build fit on real data (double_nmnist, {m['recordings']} real recordings): "
                  f"peak RSS fit {r['peak_rss_mb_fit_at_real']:.1f} MiB vs measured {m['peak_rss_mb']:.1f} MiB; "
                  f"disk fit {r['disk_bytes_fit_at_real'] / MB:.2f} MB vs measured {m['disk_bytes'] / MB:.2f} MB; "
                  f"seconds fit {r['seconds_fit_at_real']:.2f} vs measured {m['seconds']:.2f}")


def print_verdict(v: dict[str, Any]) -> None:
    print(f"\nBudget verdict (memory {v['mem_budget_gb']:g} GB per job, disk {v['disk_budget_gb']:g} GB for raw + "
          "meta-datasets; conservative: the larger of the emulated and real-data estimates, a peak never below the "
          "largest measured one):")
    for name, s in v["scenarios"].items():
        note = "" if s["complete"] else " (incomplete: not every dataset measured)"
        print(f"- {name}: disk {s['disk_gb']:.2f} GB -> {'OK' if s['disk_ok'] else 'OVER'}; peak memory "
              f"{s['peak_mem_gb']:.2f} GB ({s['peak_step']}) -> {'OK' if s['mem_ok'] else 'OVER'}{note}")
    for r in v["stage_requests"]:
        print(f"- stage request, {r['row']} ({r['step']}): peak {r['peak_mib']:.0f} MiB vs mem_mb {r['mem_mb']} -> "
              f"{'OK' if r['mem_ok'] else 'OVER'}; {r['minutes']:.1f} min vs runtime_min {r['runtime_min']} -> "
              f"{'OK' if r['time_ok'] else 'OVER'}" + (" (synthetic source: emulation)" if r["step"] == "fetch" else "")
              + (" [peak is the unresolved-growth upper bound]" if r["rss_upper_bound"] else ""))
    partial = any(not sc["complete"] for sc in v["scenarios"].values())
    print(f"verdict: {'within budget' if v['ok'] else 'OVER BUDGET'}"
          + (" (for the measured datasets only)" if partial else ""))


# ----------------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------------


def sizes_of(raw: str, args: argparse.Namespace) -> list[float]:
    explicit = args.nmnist_counts if raw == "nmnist" else args.asldvs_counts
    if explicit:
        return [float(n) for n in explicit]
    return [FULL_COUNTS[raw] * args.fraction * k / args.sizes for k in range(1, args.sizes + 1)]


def run(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse ``argv``, measure, print the tables and the verdict; returns the report (also ``--out``)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fraction", type=float, default=0.002,
                        help="largest measured size as a fraction of the full counts (default 0.002)")
    parser.add_argument("--sizes", type=int, default=2, help="measured sizes per dataset: fraction x k/sizes, k=1..sizes")
    parser.add_argument("--nmnist-counts", type=int, nargs="+", default=None, metavar="N",
                        help="explicit N-MNIST recording counts (instead of --fraction)")
    parser.add_argument("--asldvs-counts", type=int, nargs="+", default=None, metavar="N",
                        help="explicit ASL-DVS recording counts (instead of --fraction)")
    parser.add_argument("--datasets", nargs="+", choices=RAWS, default=list(RAWS))
    parser.add_argument("--real", type=Path, default=ROOT / "datasets" / "N-MNIST",
                        help="real N-MNIST recordings to compare with (default: the shipped datasets/N-MNIST)")
    parser.add_argument("--no-real", action="store_true", help="skip the real-data fetch and build")
    parser.add_argument("--mem-budget-gb", type=float, default=16.0, help="peak RSS budget of one job (GB)")
    parser.add_argument("--disk-budget-gb", type=float, default=50.0, help="disk budget of raw + meta-datasets (GB)")
    parser.add_argument("--rss-noise-mib", type=float, default=0.5,
                        help="peak-RSS growth over the measured sizes below this is unresolved (upper bound used)")
    parser.add_argument("--stats-episodes", type=int, default=None, help="pool-stats episodes (default: the stage's 600)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None, help="where to write (default: a temporary folder, removed)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(_child(json.loads(args.child))))
        return {}
    if not 0 < args.fraction <= 1 or args.sizes < 1:
        parser.error("--fraction must be in (0, 1] and --sizes >= 1")

    from metasnn.data.pools import DEFAULT_EPISODES

    settings, asl_cap = paper_settings()
    settings = BuildSettings(**{**asdict(settings), "stats_episodes": args.stats_episodes or DEFAULT_EPISODES})
    print(f"machine: {machine()}")
    print(f"build settings (paper scale): {asdict(settings)}; double_asldvs cap {asl_cap}/letter")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_data_budget_"))
    started = time.perf_counter()
    points: dict[str, list[dict[str, Any]]] = {}
    real = None
    try:
        for raw in args.datasets:
            sizes = sorted({total_recordings(raw, per_class_counts(raw, n)) for n in sizes_of(raw, args)})
            if len(sizes) < 2:
                print(f"warning: {NAMES[raw]}: one distinct size ({sizes}); no fit, no extrapolation", flush=True)
            for n in sizes:
                p = measure(raw, n, work, settings, seed=args.seed)
                points.setdefault(raw, []).append(p)
                print(f"{NAMES[raw]} {p['recordings']} recordings: fetch {p['fetch']['seconds']:.1f} s, "
                      f"{p['fetch']['peak_rss_mb']:.0f} MiB, {p['fetch']['disk_bytes'] / MB:.1f} MB; build "
                      f"{p['build']['seconds']:.1f} s, {p['build']['peak_rss_mb']:.0f} MiB, "
                      f"{p['build']['disk_bytes'] / MB:.2f} MB", flush=True)
        if "nmnist" in args.datasets and not args.no_real and args.real.is_dir():
            real = measure("nmnist", 0, work, settings, real_root=args.real)
            print(f"N-MNIST real {real['recordings']} recordings: build {real['build']['seconds']:.1f} s, "
                  f"{real['build']['peak_rss_mb']:.0f} MiB, {real['build']['disk_bytes'] / MB:.2f} MB", flush=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    rows = extrapolate_all(points, real, asl_cap, args.rss_noise_mib)
    resources = stage_resources()
    v = verdict(rows, args.mem_budget_gb, args.disk_budget_gb, resources)
    print_measured(points, real)
    print_files(points, real)
    print_extrapolated(rows, real)
    print_verdict(v)
    elapsed = time.perf_counter() - started
    print(f"benchmark wall time: {elapsed:.0f} s")
    report = {"machine": machine(), "settings": asdict(settings), "asl_cap_per_letter": asl_cap,
              "full_counts": FULL_COUNTS, "measured": points, "real": real, "extrapolated": rows,
              "stage_resources": resources, "verdict": v, "wall_seconds": elapsed}
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    return report


def main(argv: list[str] | None = None) -> int:
    """Command line (and ``python -m benchmarks``, which calls ``main([])``): 0 whatever the verdict,
    which is a finding printed in the report, not a failure of the benchmark."""
    run(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
