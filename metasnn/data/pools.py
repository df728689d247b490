"""Recording pools of a built meta-dataset: recordings per raw class, distinct pairs per class, reuse.

For each meta-split of a :class:`~metasnn.data.metadataset.MetaDataset`, :func:`pool_stats` reports

* ``recordings_per_raw_class`` — recordings of each digit / letter in the pool the split draws from;
* ``pairs_per_class`` — distinct (left, right) recording pairs each double class can draw
  (:meth:`MetaDataset.pair_count`), with min / median / max over the split's classes;
* per episode spec (ways, shots, queries): the classes with fewer than ``shots + queries`` pairs
  (a task of such a class must reuse a pair), the classes with at most ``shots`` pairs (their support
  pairs must recur among the queries), and — by running the split's :class:`EpisodeSampler` over
  episodes ``0..episodes-1`` of ``seed`` (recording ids only, no frames) — how many episodes and
  samples actually reuse a pair, and how many query samples repeat a support pair.

:func:`write_pool_stats` writes ``pool_stats.json`` and ``pool_stats.md`` (the build stage calls it).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from metasnn.data.episodes import EpisodeSampler, EpisodeSpec
from metasnn.data.metadataset import MetaDataset
from metasnn.data.sources import describe
from metasnn.data.splits import SPLITS, class_parts
from metasnn.io import atomic_write_json, atomic_write_text

__all__ = ["DEFAULT_EPISODES", "DEFAULT_SEED", "DEFAULT_SPECS", "pool_stats", "pool_stats_markdown", "write_pool_stats"]

DEFAULT_SPECS = (EpisodeSpec(ways=5, shots=1, queries=10),)  # the sn22 evaluation task
DEFAULT_SEED = 1234  # params.yaml sn22.eval.seed
DEFAULT_EPISODES = 600  # sn22's number of meta-test tasks


def _spec_stats(ds: MetaDataset, split: str, pairs: dict[str, int], spec: EpisodeSpec, seed: int,
                episodes: int) -> dict[str, Any]:
    need = spec.shots + spec.queries
    out: dict[str, Any] = {
        "ways": spec.ways, "shots": spec.shots, "queries": spec.queries, "samples_per_class": need,
        "classes_below": sorted(c for c, n in pairs.items() if n < need),
        "classes_support_forced": sorted(c for c, n in pairs.items() if spec.shots and spec.queries and n <= spec.shots),
        "seed": int(seed), "episodes": int(episodes),
    }
    if ds.sampling == "paper":  # reuse is certain there and its size is fixed: need - pairs per task of the class
        out["reused_per_task_of_class"] = {c: need - pairs[c] for c in out["classes_below"]}
    if spec.ways > len(pairs):
        out["skipped"] = f"{spec.ways}-way tasks need {spec.ways} classes; the split has {len(pairs)}"
        return out
    sampler = EpisodeSampler(ds, split, spec, seed=seed)
    with_reuse = with_overlap = reused = overlap = 0
    by_class: dict[str, int] = {}
    tasks_with: dict[str, int] = {}
    for i in range(episodes):
        ids = sampler.episode_pairs(i)
        with_reuse += ids.reused_pairs > 0
        with_overlap += ids.support_query_overlap > 0
        reused += ids.reused_pairs
        overlap += ids.support_query_overlap
        for c, r in zip(ids.classes, ids.reused_by_class, strict=True):
            if r:
                by_class[c] = by_class.get(c, 0) + r
                tasks_with[c] = tasks_with.get(c, 0) + 1
    out.update({
        "samples": int(episodes * spec.ways * need),
        "episodes_with_reuse": int(with_reuse),
        "reused_samples": int(reused),
        "episodes_with_support_query_overlap": int(with_overlap),
        "support_query_overlap_samples": int(overlap),
        "reused_samples_by_class": dict(sorted(by_class.items())),
        "tasks_with_reuse_by_class": dict(sorted(tasks_with.items())),
    })
    return out


def pool_stats(ds: MetaDataset, specs: Sequence[EpisodeSpec] = DEFAULT_SPECS, seed: int = DEFAULT_SEED,
               episodes: int = DEFAULT_EPISODES, splits: Sequence[str] = SPLITS) -> dict[str, Any]:
    """Pool statistics of every meta-split of ``ds`` (see the module docstring); JSON-ready."""
    result: dict[str, Any] = {
        "dataset": ds.name, "sampling": ds.sampling, "data_source": describe(ds.data_sources.values()),
        "specs": [{"ways": s.ways, "shots": s.shots, "queries": s.queries} for s in specs],
        "seed": int(seed), "episodes": int(episodes), "splits": {},
    }
    for split in splits:
        classes = ds.classes(split)
        raw = [r for r in ds.index["raw_classes"] if any(r in class_parts(ds.name, c) for c in classes)]
        recordings = {r: int(ds.pool(split, r).size) for r in raw}
        pairs = {c: ds.pair_count(split, c) for c in classes}
        values = np.array(list(pairs.values()), dtype=np.int64)
        result["splits"][split] = {
            "pool": ds.index["split_pool"][split],
            "classes": len(classes),
            "recordings_per_raw_class": recordings,
            "recordings": int(sum(recordings.values())),
            "pairs_per_class": pairs,
            "pairs_min": int(values.min()),
            "pairs_median": float(np.median(values)),
            "pairs_max": int(values.max()),
            "specs": [_spec_stats(ds, split, pairs, s, seed, episodes) for s in specs],
        }
    return result


def _classes_text(classes: list[str], limit: int = 24) -> str:
    if not classes:
        return "none"
    shown = ", ".join(classes[:limit])
    return shown + (f", … ({len(classes) - limit} more)" if len(classes) > limit else "")


def pool_stats_markdown(stats: dict[str, Any]) -> str:
    """A human-readable rendering of :func:`pool_stats`."""
    lines = [f"# Recording pools of {stats['dataset']} (sampling: {stats['sampling']}, source: {stats['data_source']})", ""]
    if stats["sampling"] == "code":
        lines += ["Code sampling (the released sn22 code) draws distinct sample keys, not distinct pairs: a pair can "
                  "repeat within a task, support included, even in a class with enough pairs. The counts below are "
                  "measured.", ""]
    for split, s in stats["splits"].items():
        recs = s["recordings_per_raw_class"]
        lines += [f"## meta-{split} (pool `{s['pool']}`, {s['classes']} classes, {s['recordings']} recordings)", "",
                  "| raw class | " + " | ".join(recs) + " |", "|---" * (len(recs) + 1) + "|",
                  "| recordings | " + " | ".join(str(v) for v in recs.values()) + " |", "",
                  f"Distinct (left, right) pairs per class: min {s['pairs_min']}, median {s['pairs_median']:g}, "
                  f"max {s['pairs_max']}.", ""]
        for t in s["specs"]:
            head = f"- {t['ways']}-way {t['shots']}-shot {t['queries']}-query ({t['samples_per_class']} samples per class): "
            below = t["classes_below"]
            text = head + f"classes with fewer pairs: {_classes_text(below)}"
            if t["classes_support_forced"]:
                text += f"; support pairs must recur among the queries for {_classes_text(t['classes_support_forced'])}"
            if "skipped" in t:
                lines.append(text + f". Sampler not run: {t['skipped']}.")
                continue
            text += (f". Episodes 0–{t['episodes'] - 1} (seed {t['seed']}): {t['episodes_with_reuse']} episodes reuse a pair, "
                     f"{t['reused_samples']} of {t['samples']} samples are reused pairs, "
                     f"{t['support_query_overlap_samples']} query samples repeat a support pair")
            if t["reused_samples_by_class"]:
                text += " (reused samples by class: " + ", ".join(
                    f"{c}: {n}" for c, n in t["reused_samples_by_class"].items()) + ")"
            lines.append(text + ".")
        lines.append("")
    return "\n".join(lines)


def write_pool_stats(ds: MetaDataset, out_dir: str | os.PathLike, **kwargs: Any) -> dict[str, Any]:
    """Write ``pool_stats.json`` and ``pool_stats.md`` into ``out_dir``; returns the statistics."""
    stats = pool_stats(ds, **kwargs)
    out_dir = Path(out_dir)
    atomic_write_json(out_dir / "pool_stats.json", stats)
    atomic_write_text(out_dir / "pool_stats.md", pool_stats_markdown(stats))
    return stats
