"""Double N-MNIST and Double ASL-DVS meta-datasets (sn22): build once, compose pairs on the fly.

What is stored (``data/meta/<name>/``):

* ``recordings.npz`` — every raw recording the meta-dataset can use, as sparse binned counts:
  ``t`` (uint16 time bin), ``cell`` (uint16: ``(p * 2X + x) * Y + y``, the cell of the *left*
  half of a pair frame; the right half is ``cell + X*Y``), ``count`` (uint8/uint16), ``offsets``
  (int64, CSR row starts), ``label`` (int16 raw class index). Nothing pair-shaped is stored: a
  paper-scale class pool of 1000 dense pair frames for 100 classes would be ~10 GB; sparse
  per-recording counts of all 70 000 N-MNIST recordings are ~0.5 GB.
* ``index.json`` — name, frame parameters, class splits, recording pools per raw class,
  which pool each meta-split draws from, sampling mode, source files.
* ``pool_stats.json`` / ``pool_stats.md`` — written by the build stage (``metasnn.data.pools``):
  recordings per raw class and distinct pairs per class in each meta-split's pool, and measured
  pair reuse in the episodes of given task sizes.

Pair frames ``[T, 2, 2X, Y]`` (two recordings side by side along x, time-aligned) are composed
by :meth:`MetaDataset.compose` with one scatter into a zeroed float32 buffer.

Sampling modes (``index.json: sampling``):

* ``paper`` — both recordings of a sample drawn at random from their class pools, distinct
  (left, right) combinations within one draw while the pools allow it; meta-train pools
  disjoint from meta-val/test pools (N-MNIST: Train vs Test recordings; ASL-DVS: each letter's
  recordings split ``asl_train_fraction`` / rest, in file order). When a class has fewer pairs
  than a task needs (``shots + queries``), reuse is forced; it is then made explicit and minimal
  (see "Pair reuse" below).
* ``code`` — the released sn22 code: each class has ``code_samples_per_class`` (1000) samples;
  sample ``k`` pairs left recording ``(k // n_right) % n_left`` with right recording
  ``k % n_right`` of the pools (so the left recording is almost constant within a class);
  ASL-DVS uses the first ``code_asl_recordings`` (399) recordings of each letter for every
  meta-split.

Double N-MNIST draws meta-train samples from the N-MNIST Train recordings and meta-val and
meta-test samples from the Test recordings, in both sampling modes (``index.json: split_pool``
``{"train": "train", "val": "test", "test": "test"}``).

Pair reuse. A sample of class ``"LR"`` is a (left, right) recording pair; the class can draw
``n_L * n_R`` distinct pairs (:meth:`MetaDataset.pair_count`; code mode: at most
``code_samples_per_class``). In paper mode a task's ``shots + queries`` samples of a class are
distinct pairs whenever the class has that many (the RNG stream of this case is the one the
sampler always had). Otherwise (:func:`forced_pair_keys`): the support pairs are distinct and
never recur among the queries as long as the class has more than ``shots`` pairs, and the queries
cycle through a permutation of the remaining pairs, so each is used equally often (±1); the parent
generator advances exactly as before, so the other classes of the task keep their pairs. Every
:class:`~metasnn.data.episodes.Episode` reports its reused samples (``reused_pairs``,
``reused_classes``, ``support_query_overlap``). Code mode is unchanged: it draws distinct sample
keys, and its pairs can repeat by chance (counted, not prevented). Distinct pairs are not distinct
recordings: the 11 samples of a 1-shot 10-query task of class 58 (Test: 7 recordings of digit 5,
2 of digit 8) use each of the two 8s 4 to 7 times, and support and queries share recordings.

Shipped real data (``datasets/N-MNIST``, 900 recordings; built with 5 ms bins and a 100 ms window,
paper sampling; ``pool_stats.md`` of the build):

* Recordings per digit 0-9 — meta-train pool (Train): 79 98 81 73 81 72 73 86 73 84 (800);
  meta-val and meta-test pool (Test): 8 14 8 11 14 7 10 15 2 11 (100).
* Distinct pairs per class (min / median / max): meta-train 5256 / 6278 / 9604; meta-val
  14 / 120 / 210 (smallest: 58 with 14, 48 with 28); meta-test 16 / 94 / 210 (smallest: 80 with 16,
  68 and 86 with 20, 83 with 22, 78 with 30). Class 88 (4 pairs) is a meta-train class.
* 5-way 1-shot 10-query (11 samples per class): no class of any split forces reuse; over episodes
  0-599 of seed 1234 no sample is a reused pair in paper mode. Reuse is forced at 5-shot 10-query
  for meta-val class 58, and at 20-shot 5-query for meta-val 58 and meta-test 68, 80, 83, 86 (where
  68, 80, 86 and 58 have no more pairs than shots, so support pairs must recur among the queries).
* Code mode at 5-way 1-shot 10-query, same episodes: 2120 of 33 000 meta-val samples and 2803 of
  33 000 meta-test samples are reused pairs (433 and 558 query samples repeat a support pair).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from metasnn.data.frames import ASLDVS_LETTER_FRAMES, NMNIST_DIGIT_FRAMES, FrameSpec, bin_events, frame_spec
from metasnn.data.layout import Manifest, read_recording
from metasnn.data.sources import DataSource, describe, sources_from_record
from metasnn.data.splits import META_DATASETS, SPLITS, class_parts, class_splits
from metasnn.errors import ConfigError, DataError
from metasnn.io import atomic_write_json

__all__ = ["RAW_OF", "SAMPLING_MODES", "BuildOptions", "build_metadataset", "MetaDataset", "load_metadataset",
           "forced_pair_keys", "reused_count"]

RAW_OF = {"double_nmnist": "nmnist", "double_asldvs": "asldvs"}
SAMPLING_MODES = ("paper", "code")
_GEOMETRY = {"double_nmnist": NMNIST_DIGIT_FRAMES, "double_asldvs": ASLDVS_LETTER_FRAMES}
FORMAT_VERSION = 1


@dataclass(frozen=True)
class BuildOptions:
    """Parameters of a meta-dataset build (all recorded in ``index.json``)."""

    sampling: str = "paper"
    time_bin_ms: float = 1.0
    window_ms: float = 100.0
    on_corrupt: str = "error"
    recordings_per_class: int | None = None  # cap per raw class and pool (None: all)
    asl_train_fraction: float = 0.75
    code_samples_per_class: int = 1000
    code_asl_recordings: int = 399
    extra: dict[str, Any] = field(default_factory=dict)


def _pools(name: str, manifest: Manifest, opts: BuildOptions) -> tuple[dict[str, dict[str, list[str]]], dict[str, str]]:
    """Recording pools ``{pool: {raw class: [files]}}`` and the pool of each meta-split."""
    cap = opts.recordings_per_class
    if name == "double_nmnist":
        for split in ("train", "test"):
            if split not in manifest.files:
                raise DataError(f"{manifest.directory}/manifest.json: no N-MNIST {split!r} recordings listed")
        pools = {pool: {c: list(f[:cap] if cap else f) for c, f in manifest.files[pool].items()} for pool in ("train", "test")}
        return pools, {"train": "train", "val": "test", "test": "test"}
    files = manifest.files.get("all")
    if files is None:
        raise DataError(f"{manifest.directory}/manifest.json: no ASL-DVS recordings listed")
    if opts.sampling == "code":
        pools = {"code": {c: list(f[: min(opts.code_asl_recordings, cap or opts.code_asl_recordings)]) for c, f in files.items()}}
        return pools, {"train": "code", "val": "code", "test": "code"}
    train: dict[str, list[str]] = {}
    test: dict[str, list[str]] = {}
    for letter, rels in files.items():
        rels = list(rels[:cap] if cap else rels)
        if len(rels) < 2:
            raise DataError(
                f"{manifest.root / letter}: {len(rels)} recording(s); paper sampling needs at least 2 per letter "
                "(disjoint meta-train and meta-test pools)"
            )
        cut = min(len(rels) - 1, max(1, math.ceil(opts.asl_train_fraction * len(rels))))
        train[letter], test[letter] = rels[:cut], rels[cut:]
    return {"train": train, "test": test}, {"train": "train", "val": "test", "test": "test"}


def build_metadataset(
    name: str,
    manifest: Manifest,
    out_dir: str | os.PathLike,
    opts: BuildOptions | None = None,
    progress: Callable | None = None,
) -> dict[str, Any]:
    """Read the raw recordings a meta-dataset needs and store their binned counts in ``out_dir``.

    ``out_dir`` should be a fresh (temporary) directory; the caller makes it atomic.

    Returns
    -------
    dict
        Summary for provenance: recordings stored, skipped files, bytes, shapes.
    """
    opts = opts or BuildOptions()
    if name not in META_DATASETS:
        raise ConfigError(f"unknown meta-dataset {name!r}: choose one of {', '.join(META_DATASETS)}")
    if opts.sampling not in SAMPLING_MODES:
        raise ConfigError(f"data.sampling={opts.sampling!r}: choose one of {', '.join(SAMPLING_MODES)}")
    if manifest.dataset != RAW_OF[name]:
        raise DataError(f"{manifest.directory}: holds {manifest.dataset!r} recordings, {name} needs {RAW_OF[name]!r}")
    spec = frame_spec(opts.time_bin_ms, opts.window_ms, **_GEOMETRY[name])
    pools, split_pool = _pools(name, manifest, opts)
    raw_classes = sorted({c for pool in pools.values() for c in pool})
    label_index = {c: i for i, c in enumerate(raw_classes)}
    # one entry per distinct file, in a fixed order
    sources: list[str] = []
    source_id: dict[str, int] = {}
    for pool in sorted(pools):
        for c in raw_classes:
            for rel in pools[pool].get(c, []):
                if rel not in source_id:
                    source_id[rel] = len(sources)
                    sources.append(rel)
    source_label = {rel: label_index[c] for pool in pools.values() for c, rels in pool.items() for rel in rels}

    t_parts: list[np.ndarray] = []
    cell_parts: list[np.ndarray] = []
    count_parts: list[np.ndarray] = []
    lengths = np.zeros(len(sources), dtype=np.int64)
    ok = np.ones(len(sources), dtype=bool)
    skipped: list[dict[str, str]] = []
    iterator = progress(list(enumerate(sources)), f"bin {name} recordings") if progress else enumerate(sources)
    for i, rel in iterator:
        try:
            events = read_recording(manifest.dataset, manifest.path(rel))
        except DataError as exc:
            if opts.on_corrupt != "skip":
                raise DataError(f"{exc} (set data.on_corrupt: skip to skip bad files and count them)") from exc
            skipped.append({"file": rel, "problem": str(exc)})
            ok[i] = False
            continue
        tb, p, x, y, count = bin_events(events, spec)
        t_parts.append(tb.astype(np.uint16))
        cell_parts.append(((p * 2 * spec.width + x) * spec.height + y).astype(np.uint16))
        count_parts.append(count)
        lengths[i] = tb.size
    counts = np.concatenate(count_parts) if count_parts else np.zeros(0, np.int64)
    count_dtype = np.uint8 if counts.size == 0 or counts.max() <= 255 else np.uint16
    if counts.size and counts.max() > np.iinfo(np.uint16).max:
        raise DataError(f"{name}: a bin holds {int(counts.max())} events (> 65535); use a smaller data.time_bin_ms")
    offsets = np.zeros(len(sources) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    arrays = {
        "t": np.concatenate(t_parts) if t_parts else np.zeros(0, np.uint16),
        "cell": np.concatenate(cell_parts) if cell_parts else np.zeros(0, np.uint16),
        "count": counts.astype(count_dtype),
        "offsets": offsets,
        "label": np.array([source_label[rel] for rel in sources], dtype=np.int16),
    }
    np.savez(out_dir / "recordings.npz", **arrays)
    # pools as recording ids, corrupt files dropped
    pool_ids = {
        pool: {c: [source_id[rel] for rel in pools[pool].get(c, []) if ok[source_id[rel]]] for c in raw_classes}
        for pool in sorted(pools)
    }
    for pool, classes in pool_ids.items():
        for c, ids in classes.items():
            if not ids:
                raise DataError(f"{name}: pool {pool!r} has no usable recording of class {c!r}")
    splits = class_splits(name)
    index = {
        "format_version": FORMAT_VERSION,
        "name": name,
        "raw_dataset": RAW_OF[name],
        "data_source": manifest.source,
        "data_sources": {manifest.dataset: manifest.data_source.to_dict()},
        "raw_root": str(manifest.root) if manifest.root.is_absolute() and manifest.source != "synthetic" else "<synthetic>",
        "sampling": opts.sampling,
        "time_bin_ms": opts.time_bin_ms,
        "window_ms": opts.window_ms,
        "num_steps": spec.num_steps,
        "half_frame": [2, spec.width, spec.height],
        "frame_shape": [2, 2 * spec.width, spec.height],
        "geometry": {k: v for k, v in _GEOMETRY[name].items()},
        "splits": {s: list(splits[s]) for s in SPLITS},
        "split_pool": split_pool,
        "raw_classes": raw_classes,
        "pools": pool_ids,
        "code_samples_per_class": opts.code_samples_per_class,
        "recordings_per_class": opts.recordings_per_class,
        "asl_train_fraction": opts.asl_train_fraction if name == "double_asldvs" and opts.sampling == "paper" else None,
        "sources": sources,
        "skipped": skipped,
        "skipped_count": len(skipped) + manifest.skipped_count,
    }
    atomic_write_json(out_dir / "index.json", index)
    nbytes = sum(a.nbytes for a in arrays.values())
    return {
        "recordings": int(ok.sum()),
        "skipped_count": index["skipped_count"],
        "entries": int(offsets[-1]),
        "stored_bytes": int(nbytes),
        "num_steps": spec.num_steps,
        "frame_shape": index["frame_shape"],
        "sampling": opts.sampling,
    }


class MetaDataset:
    """A built Double N-MNIST / Double ASL-DVS meta-dataset held in memory as sparse counts.

    Attributes
    ----------
    name : str
    num_steps : int
        T, the number of time bins.
    frame_shape : tuple[int, int, int]
        ``(2, H, W)`` of a pair frame — (polarity, x, y) in the sn22 axis order:
        Double N-MNIST ``(2, 32, 16)``, Double ASL-DVS ``(2, 80, 30)``.
    sampling : str
        ``paper`` or ``code``.
    """

    def __init__(self, path: str | os.PathLike):
        path = Path(path)
        index_path = path / "index.json"
        rec_path = path / "recordings.npz"
        if not index_path.is_file() or not rec_path.is_file():
            raise DataError(f"{path}: not a built meta-dataset (index.json / recordings.npz missing); run pipeline.build_metadataset")
        try:
            self.index: dict[str, Any] = json.loads(index_path.read_text())
            with np.load(rec_path, allow_pickle=False) as z:
                # kept in their compact stored dtypes (5-6 bytes per entry); cast after each gather
                self._t = z["t"]
                self._cell = z["cell"]
                self._count = z["count"]
                self._offsets = z["offsets"]
                self._label = z["label"]
        except (OSError, ValueError, KeyError) as exc:
            raise DataError(f"{path}: cannot read the meta-dataset ({type(exc).__name__}: {exc}); rebuild it") from exc
        if self.index.get("format_version") != FORMAT_VERSION:
            raise DataError(f"{path}: format version {self.index.get('format_version')} != {FORMAT_VERSION}; rebuild it")
        self.path = path
        self.name: str = self.index["name"]
        self.num_steps: int = int(self.index["num_steps"])
        self.frame_shape: tuple[int, int, int] = tuple(self.index["frame_shape"])  # type: ignore[assignment]
        self.sampling: str = self.index["sampling"]
        self.time_bin_ms: float = float(self.index["time_bin_ms"])
        self.window_ms: float = float(self.index["window_ms"])
        self.data_sources: dict[str, DataSource] = sources_from_record(self.index)
        if not self.data_sources:
            raise DataError(f"{path}: built before data sources were recorded (no data_sources in index.json); rebuild it")
        _, half_x, half_y = self.index["half_frame"]
        self._half_cells = half_x * half_y
        self._frame_cells = int(np.prod(self.frame_shape))
        self._pools = {
            pool: {c: np.asarray(ids, dtype=np.int64) for c, ids in classes.items()} for pool, classes in self.index["pools"].items()
        }
        self._parts = {
            split: {label: class_parts(self.name, label) for label in self.index["splits"][split]} for split in SPLITS
        }

    # -- classes and pools ------------------------------------------------------------------
    def classes(self, split: str) -> list[str]:
        """Class labels of a meta-split, in the split file's order."""
        self._check_split(split)
        return list(self.index["splits"][split])

    def _check_split(self, split: str) -> None:
        if split not in SPLITS:
            raise ConfigError(f"split {split!r}: choose one of {', '.join(SPLITS)}")

    def pool(self, split: str, raw_class: str) -> np.ndarray:
        """Recording ids a meta-split may draw for one raw class (digit or letter)."""
        self._check_split(split)
        return self._pools[self.index["split_pool"][split]][raw_class]

    def recording_source(self, recording_id: int) -> str:
        """Raw file (relative to the raw root) of a stored recording."""
        return self.index["sources"][int(recording_id)]

    # -- sampling -----------------------------------------------------------------------------
    def class_pools(self, split: str, class_label: str) -> tuple[np.ndarray, np.ndarray]:
        """Recording ids of the left and right raw class of a double class in a meta-split."""
        self._check_split(split)
        try:
            left_class, right_class = self._parts[split][class_label]
        except KeyError:
            raise ConfigError(f"class {class_label!r} is not in the {split!r} split of {self.name}") from None
        return self.pool(split, left_class), self.pool(split, right_class)

    def pair_count(self, split: str, class_label: str) -> int:
        """Distinct (left, right) recording pairs one double class can draw in a meta-split.

        ``paper``: ``n_left * n_right``; ``code``: ``min(n_left * n_right, code_samples_per_class)``
        (sample keys ``0..K-1`` map onto ``n_left * n_right`` combinations, injectively below it).
        """
        left, right = self.class_pools(split, class_label)
        total = int(left.size * right.size)
        if self.sampling == "code":
            return min(total, int(self.index["code_samples_per_class"]))
        return total

    def sample_pairs(self, split: str, class_label: str, n: int, rng: np.random.Generator, shots: int = 0) -> np.ndarray:
        """``n`` (left, right) recording-id pairs of one double class, per the sampling mode: int64 [n, 2].

        ``paper``: distinct combinations while ``n <= pair_count`` (one ``rng.choice`` without
        replacement). When the pool forces reuse (``n > pair_count``), the first ``shots`` rows — a
        task's support set — are distinct and never recur among the other ``n - shots`` rows as long
        as the class has more than ``shots`` pairs; the other rows cycle through a permutation of
        the remaining combinations, so every combination is used ``floor`` or ``ceil`` as often
        (never random with replacement). See :func:`forced_pair_keys`. ``code``: the released
        code's sampling, unchanged (``shots`` is ignored).
        """
        left, right = self.class_pools(split, class_label)
        n_left, n_right = left.size, right.size
        if self.sampling == "code":
            total = int(self.index["code_samples_per_class"])
            keys = rng.choice(total, size=n, replace=n > total)
            return np.stack([left[(keys // n_right) % n_left], right[keys % n_right]], axis=1)
        total = n_left * n_right
        if n <= total:
            keys = rng.choice(total, size=n, replace=False)
        else:
            keys = forced_pair_keys(total, n, shots, rng)
        return np.stack([left[keys // n_right], right[keys % n_right]], axis=1)

    def compose(self, pairs: np.ndarray) -> torch.Tensor:
        """Pair frames of ``pairs`` (int [B, 2] recording ids): float32 counts ``[T, B, 2, H, W]``."""
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        batch = pairs.shape[0]
        recs = pairs.reshape(-1)  # sample b: left at 2b, right at 2b+1
        starts = self._offsets[recs]
        lengths = self._offsets[recs + 1] - starts
        total = int(lengths.sum())
        member = np.repeat(np.arange(recs.size), lengths)
        src = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths) + np.repeat(starts, lengths)
        sample = member >> 1
        side = member & 1
        flat = (self._t[src].astype(np.int64) * batch + sample) * self._frame_cells
        flat += self._cell[src]
        flat += side * self._half_cells
        out = np.zeros(self.num_steps * batch * self._frame_cells, dtype=np.float32)
        out[flat] = self._count[src]
        return torch.from_numpy(out).view(self.num_steps, batch, *self.frame_shape)

    def draw(self, split: str, class_label: str, n: int, rng: np.random.Generator | int) -> torch.Tensor:
        """``n`` samples of one class: float32 ``[T, n, 2, H, W]``."""
        if not isinstance(rng, np.random.Generator):
            rng = np.random.default_rng(rng)
        return self.compose(self.sample_pairs(split, class_label, n, rng))

    def __repr__(self) -> str:
        sizes = {s: len(self.index["splits"][s]) for s in SPLITS}
        return (f"MetaDataset({self.name!r}, T={self.num_steps}, frame={self.frame_shape}, sampling={self.sampling!r}, "
                f"classes={sizes}, recordings={self._offsets.size - 1}, source={describe(self.data_sources.values())!r})")


def forced_pair_keys(total: int, n: int, shots: int, rng: np.random.Generator) -> np.ndarray:
    """``n > total`` combination keys of one class when its pool forces reuse (paper sampling).

    The parent generator advances exactly as it did before reuse was spread (one
    ``rng.choice(total, n, replace=True)``), so the other classes of an episode keep their pairs;
    that draw seeds the permutation ``order`` of the ``total`` combinations. Keys: ``order[:shots]``
    (the support set), then ``order[shots:]`` cycled to ``n - shots`` rows (no support pair among
    them). When ``shots >= total`` the support set itself must repeat: all ``n`` rows cycle ``order``.
    """
    draw = rng.choice(total, size=n, replace=True)
    order = np.random.default_rng(np.random.SeedSequence([int(total), int(n), *draw.tolist()])).permutation(total)
    if 0 < shots < total:
        return np.concatenate([order[:shots], np.resize(order[shots:], n - shots)])
    return np.resize(order, n)


def reused_count(pairs: np.ndarray) -> int:
    """Rows of ``pairs`` (int [n, 2]) that repeat an earlier row: ``n`` minus the distinct pairs."""
    pairs = np.asarray(pairs).reshape(-1, 2)
    return int(pairs.shape[0] - np.unique(pairs, axis=0).shape[0]) if pairs.size else 0


def load_metadataset(path: str | os.PathLike) -> MetaDataset:
    """Load a meta-dataset built by ``pipeline.build_metadataset`` (``data/meta/<name>``)."""
    return MetaDataset(path)


def frame_spec_of(ds: MetaDataset) -> FrameSpec:
    """The :class:`FrameSpec` a meta-dataset's half-frames were binned with."""
    return frame_spec(ds.time_bin_ms, ds.window_ms, **ds.index["geometry"])
