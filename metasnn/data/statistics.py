"""Statistics of raw recordings and meta-datasets (for ``pipeline.inspect_data`` and the emulator tests)."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from metasnn.data.layout import Manifest, read_recording, scan_layout

if TYPE_CHECKING:
    from metasnn.data.emulator import NMNISTEmulation

__all__ = [
    "RecordingStats",
    "recording_stats",
    "summarise_raw",
    "SACCADE_US",
    "NMNIST_STATISTICS",
    "nmnist_statistics",
    "summarise_statistics",
    "compare_statistics",
    "real_nmnist_statistics",
    "emulated_nmnist_statistics",
    "emulator_vs_real",
    "comparison_markdown",
    "emulator_vs_real_markdown",
]

SACCADE_US = 100_000


@dataclass(frozen=True)
class RecordingStats:
    """Summary of one recording."""

    events: int
    duration_ms: float  # last minus first timestamp
    width: int  # max x + 1
    height: int  # max y + 1
    on_fraction: float  # share of ON (p = 1) events
    events_per_saccade: tuple[int, int, int]  # events in [0,100), [100,200), [200,inf) ms from the first event
    active_pixels: int


def recording_stats(events: np.ndarray) -> RecordingStats:
    """Statistics of one event array (:data:`metasnn.data.events.EVENT_DTYPE`)."""
    t = np.asarray(events["t"], dtype=np.int64)
    rel = t - t.min()
    saccade = np.minimum(rel // SACCADE_US, 2)
    per = np.bincount(saccade, minlength=3)
    x = np.asarray(events["x"], dtype=np.int64)
    y = np.asarray(events["y"], dtype=np.int64)
    return RecordingStats(
        events=int(t.size),
        duration_ms=float(rel.max()) / 1000.0,
        width=int(x.max()) + 1,
        height=int(y.max()) + 1,
        on_fraction=float(np.mean(events["p"] == 1)),
        events_per_saccade=(int(per[0]), int(per[1]), int(per[2])),
        active_pixels=int(np.unique(x * 100_000 + y).size),
    )


def summarise_raw(manifest: Manifest, per_split: int = 20, seed: int = 0) -> list[dict]:
    """Mean/std of :class:`RecordingStats` over ``per_split`` recordings drawn from each split."""
    rng = np.random.default_rng(seed)
    rows = []
    for split, classes in sorted(manifest.files.items()):
        rels = [rel for c in sorted(classes) for rel in classes[c]]
        pick = rng.choice(len(rels), size=min(per_split, len(rels)), replace=False)
        stats = [asdict(recording_stats(read_recording(manifest.dataset, manifest.path(rels[i])))) for i in sorted(pick)]
        row = {"dataset": manifest.dataset, "source": manifest.source, "split": split, "recordings": len(rels),
               "classes": len(classes), "sampled": len(stats)}
        for key in ("events", "duration_ms", "on_fraction", "active_pixels"):
            vals = np.array([s[key] for s in stats], dtype=float)
            row[f"{key}_mean"] = round(float(vals.mean()), 4)
            row[f"{key}_std"] = round(float(vals.std()), 4)
        row["width_max"] = max(s["width"] for s in stats)
        row["height_max"] = max(s["height"] for s in stats)
        per = np.array([s["events_per_saccade"] for s in stats], dtype=float).mean(0)
        row["events_per_saccade_mean"] = " / ".join(f"{v:.0f}" for v in per)
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------------------------
# The emulator measured against real N-MNIST recordings
# ----------------------------------------------------------------------------------------------

#: Per-recording statistics of :func:`nmnist_statistics`: name -> definition. Times are measured
#: from the start of the recording (``t = 0`` µs; in N-MNIST the first event comes 0-7 ms later).
NMNIST_STATISTICS: dict[str, str] = {
    "events": "number of events",
    "duration_ms": "last minus first timestamp (ms)",
    "on_share": "share of events with p = 1",
    "saccade_1_share": "share of events with t in [0, 100) ms (first saccade)",
    "saccade_2_share": "share of events with t in [100, 200) ms (second saccade)",
    "saccade_3_share": "share of events with t >= 200 ms (third saccade)",
    "active_pixels": "distinct (x, y) with at least one event",
    "spread_x_px": "standard deviation of the events' x (pixels)",
    "spread_y_px": "standard deviation of the events' y (pixels)",
    "events_first_100ms": "number of events with t < 100 ms",
}


def nmnist_statistics(events: np.ndarray, saccade_us: int = SACCADE_US) -> dict[str, float]:
    """The :data:`NMNIST_STATISTICS` of one recording (structured array with fields x, y, t [µs], p).

    N-MNIST recordings hold three saccades of about 100 ms each, timed from the start of the
    recording, so the "share of events per saccade" is the share of events in each 100-ms third:
    ``[0, 100)``, ``[100, 200)`` and ``[200, end]`` ms (the third one takes any events after 300 ms).
    The spatial spread is the (population) standard deviation of the events' x and of their y, each
    event counted once; active pixels are the distinct (x, y) with at least one event, either polarity.
    """
    t = np.asarray(events["t"], dtype=np.int64)
    if t.size == 0:
        raise ValueError("nmnist_statistics needs at least one event")
    x = np.asarray(events["x"], dtype=np.int64)
    y = np.asarray(events["y"], dtype=np.int64)
    n = int(t.size)
    third = np.bincount(np.clip(t // saccade_us, 0, 2), minlength=3)
    return {
        "events": n,
        "duration_ms": float(t.max() - t.min()) / 1000.0,
        "on_share": float(np.count_nonzero(np.asarray(events["p"]) == 1)) / n,
        "saccade_1_share": float(third[0]) / n,
        "saccade_2_share": float(third[1]) / n,
        "saccade_3_share": float(third[2]) / n,
        "active_pixels": int(np.unique((x << 16) | y).size),
        "spread_x_px": float(x.std()),
        "spread_y_px": float(y.std()),
        "events_first_100ms": int(np.count_nonzero(t < saccade_us)),
    }


def summarise_statistics(rows: Sequence[Mapping[str, float]], keys: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    """Median, 10th and 90th percentile (numpy's linear interpolation) of each statistic over ``rows``."""
    if not rows:
        raise ValueError("no recordings to summarise")
    keys = list(keys or NMNIST_STATISTICS)
    out = {}
    for key in keys:
        values = np.array([row[key] for row in rows], dtype=float)
        p10, median, p90 = np.percentile(values, [10, 50, 90])
        out[key] = {"median": float(median), "p10": float(p10), "p90": float(p90)}
    return out


def compare_statistics(real: Sequence[Mapping[str, float]], emulated: Sequence[Mapping[str, float]]) -> list[dict]:
    """One row per statistic: real and emulated median / p10 / p90, and ``inside`` (emulated median in the real [p10, p90])."""
    r, e = summarise_statistics(real), summarise_statistics(emulated)
    table = []
    for key in NMNIST_STATISTICS:
        table.append({
            "statistic": key,
            "real_median": r[key]["median"], "real_p10": r[key]["p10"], "real_p90": r[key]["p90"],
            "emulated_median": e[key]["median"], "emulated_p10": e[key]["p10"], "emulated_p90": e[key]["p90"],
            "inside": bool(r[key]["p10"] <= e[key]["median"] <= r[key]["p90"]),
        })
    return table


def real_nmnist_statistics(root: str | os.PathLike, split: str = "train", limit: int | None = None) -> tuple[list[dict], dict[int, int]]:
    """Statistics of the real recordings of ``split`` under an N-MNIST ``root`` (``Train|Test/<digit>/*.bin``).

    With ``limit``, that many recordings evenly spaced over the sorted file list (so every digit keeps
    its share). Returns the rows (each with its ``digit`` and ``file``) and the number used per digit.
    """
    files = scan_layout("nmnist", root)[split]
    listing = [(int(d), rel) for d in sorted(files, key=int) for rel in files[d]]
    if limit is not None and limit < len(listing):
        listing = [listing[i] for i in np.unique(np.linspace(0, len(listing) - 1, limit).round().astype(int))]
    rows, counts = [], {d: 0 for d in range(10)}
    for digit, rel in listing:
        rows.append({"digit": digit, "file": rel, **nmnist_statistics(read_recording("nmnist", Path(root) / rel))})
        counts[digit] += 1
    return rows, counts


def emulated_nmnist_statistics(counts: Mapping[int, int], split: str = "train", seed: int = 0,
                               cfg: NMNISTEmulation | None = None) -> list[dict]:
    """Statistics of ``counts[d]`` emulated recordings of each digit ``d``: the recordings
    ``emulate_nmnist(..., seed=seed, cfg=cfg)`` writes as ``<Split>/<d>/00001.bin ...`` (made in memory)."""
    from metasnn.data.emulator import emulate_nmnist_events

    return [{"digit": int(d), **nmnist_statistics(emulate_nmnist_events(split, int(d), i, seed, cfg))}
            for d in sorted(counts) for i in range(int(counts[d]))]


def emulator_vs_real(root: str | os.PathLike, split: str = "train", limit: int | None = None, seed: int = 0,
                     cfg: NMNISTEmulation | None = None) -> dict:
    """Compare real N-MNIST recordings under ``root`` with as many emulated ones, digit by digit.

    Returns ``{"table": compare_statistics(...), "real_recordings", "emulated_recordings",
    "emulation_seconds", "seed"}``.
    """
    real, counts = real_nmnist_statistics(root, split, limit)
    start = time.perf_counter()
    emulated = emulated_nmnist_statistics(counts, split, seed, cfg)
    return {"table": compare_statistics(real, emulated), "real_recordings": len(real), "emulated_recordings": len(emulated),
            "emulation_seconds": time.perf_counter() - start, "seed": seed}


def _fmt(value: float) -> str:
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2 if abs(value) >= 1 else 3
    return f"{value:.{digits}f}"


def comparison_markdown(table: Sequence[Mapping[str, object]]) -> str:
    """The :func:`compare_statistics` table as Markdown (one row per statistic, definitions in the last column)."""
    lines = ["| statistic | real median | real 10–90 % | emulated median | emulated 10–90 % | inside | definition |",
             "|---|---|---|---|---|---|---|"]
    for row in table:
        key = str(row["statistic"])
        lines.append(f"| {key} | {_fmt(row['real_median'])} | {_fmt(row['real_p10'])} – {_fmt(row['real_p90'])} | "
                     f"{_fmt(row['emulated_median'])} | {_fmt(row['emulated_p10'])} – {_fmt(row['emulated_p90'])} | "
                     f"{'yes' if row['inside'] else 'NO'} | {NMNIST_STATISTICS.get(key, '')} |")
    return "\n".join(lines) + "\n"


def emulator_vs_real_markdown(result: Mapping[str, object]) -> str:
    """A titled Markdown section for an :func:`emulator_vs_real` result (no timings: the file is a tracked output)."""
    table = list(result["table"])  # type: ignore[call-overload]
    outside = [row["statistic"] for row in table if not row["inside"]]
    verdict = ("every emulated median lies inside the real 10–90 % range" if not outside
               else "emulated median OUTSIDE the real 10–90 % range: " + ", ".join(map(str, outside)))
    return (f"# Sensor emulator against real N-MNIST recordings\n\n"
            f"{result['real_recordings']} real Train recordings (shipped subset) against {result['emulated_recordings']} "
            f"emulated ones (same number per digit, emulator defaults, seed {result['seed']}); per-recording statistics, "
            f"median and 10th-90th percentile over recordings. Times count from the start of each recording. "
            f"Result: {verdict}.\n\n" + comparison_markdown(table))
