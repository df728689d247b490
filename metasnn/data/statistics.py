"""Statistics of raw recordings and meta-datasets (for ``pipeline.inspect_data`` and the emulator tests)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from metasnn.data.layout import Manifest, read_recording

__all__ = ["RecordingStats", "recording_stats", "summarise_raw", "SACCADE_US"]

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
