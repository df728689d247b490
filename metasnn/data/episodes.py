"""Seeded N-way K-shot episodes from a meta-dataset split.

Episode ``i`` of a sampler is a pure function of ``(seed, split, i)``: its generator is
``numpy.random.default_rng(SeedSequence([seed, crc32(split), i]))``. Classes are drawn without
replacement from the split; the order they are drawn in is the label permutation of the task
(label ``k`` = the ``k``-th drawn class). Each class contributes ``shots + queries`` samples
(:meth:`MetaDataset.sample_pairs`), the first ``shots`` to the support set: distinct (left, right)
recording pairs while the class has at least ``shots + queries`` of them. When its pool forces reuse
(paper sampling), the support pairs still never recur among the queries as long as the class has
more than ``shots`` pairs, and the queries cycle evenly through the remaining pairs; every episode
reports the reused samples (``Episode.reused_pairs``, ``reused_classes``,
``support_query_overlap``) — nothing is reused silently. Tensors are time-major float32 counts
``[T, B, 2, H, W]``; support and query sets are class-major (``y = [0]*shots + [1]*shots + ...``).

The sampler builds nothing per episode beyond the tensors themselves (one scatter each), and is
usable as a map-style dataset (``sampler[i]``, ``len`` when finite) or an iterator.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from metasnn.data.metadataset import MetaDataset, reused_count
from metasnn.errors import ConfigError

__all__ = ["EpisodeSpec", "Episode", "EpisodePairs", "EpisodeSampler", "episode_rng"]


@dataclass(frozen=True)
class EpisodeSpec:
    """Task size: ``ways`` classes, ``shots`` support and ``queries`` query samples per class."""

    ways: int = 5
    shots: int = 1
    queries: int = 10

    def __post_init__(self) -> None:
        if self.ways < 1 or self.shots < 0 or self.queries < 0 or self.shots + self.queries < 1:
            raise ConfigError(f"episode spec {self}: need ways >= 1, shots, queries >= 0 and shots + queries >= 1")


@dataclass
class Episode:
    """One few-shot task."""

    support_x: torch.Tensor  # float32 [T, ways*shots, 2, H, W]
    support_y: torch.Tensor  # int64 [ways*shots]
    query_x: torch.Tensor  # float32 [T, ways*queries, 2, H, W]
    query_y: torch.Tensor  # int64 [ways*queries]
    classes: tuple[str, ...]  # class label of task label k
    index: int
    reused_pairs: int = 0  # samples whose (left, right) pair repeats an earlier sample of the same class in this task
    reused_classes: tuple[str, ...] = ()  # classes with reused pairs in this task
    support_query_overlap: int = 0  # query samples whose pair is also a support sample of their class

    def to(self, device: torch.device | str) -> Episode:
        """A copy with the tensors on ``device``."""
        return dataclasses.replace(self, support_x=self.support_x.to(device), support_y=self.support_y.to(device),
                                   query_x=self.query_x.to(device), query_y=self.query_y.to(device))


@dataclass(frozen=True)
class EpisodePairs:
    """The recording ids of one task, without frames (:meth:`EpisodeSampler.episode_pairs`)."""

    support: np.ndarray  # int64 [ways*shots, 2] (left, right) recording ids, class-major
    query: np.ndarray  # int64 [ways*queries, 2]
    classes: tuple[str, ...]
    index: int
    reused_pairs: int = 0
    reused_classes: tuple[str, ...] = ()
    support_query_overlap: int = 0
    reused_by_class: tuple[int, ...] = ()  # reused samples of task label k


def episode_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of episode ``index`` of ``split`` under ``seed``."""
    return np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, zlib.crc32(split.encode()), int(index)]))


class EpisodeSampler:
    """Deterministic stream of episodes from one split of a :class:`MetaDataset`.

    Parameters
    ----------
    dataset : MetaDataset
    split : {"train", "val", "test"}
    spec : EpisodeSpec
    seed : int
    num_episodes : int or None
        Length when iterated (``None``: infinite).
    """

    def __init__(self, dataset: MetaDataset, split: str, spec: EpisodeSpec | None = None, seed: int = 0,
                 num_episodes: int | None = None):
        self.dataset = dataset
        self.split = split
        self.spec = spec or EpisodeSpec()
        self.seed = int(seed)
        self.num_episodes = num_episodes
        self._classes = dataset.classes(split)
        if self.spec.ways > len(self._classes):
            raise ConfigError(
                f"{self.spec.ways}-way episodes need {self.spec.ways} classes but split {split!r} of {dataset.name} has "
                f"{len(self._classes)}"
            )

    def episode_pairs(self, index: int) -> EpisodePairs:
        """The classes and recording-id pairs of episode ``index``, with its reuse counts (no frames)."""
        spec = self.spec
        rng = episode_rng(self.seed, self.split, index)
        chosen = rng.choice(len(self._classes), size=spec.ways, replace=False)
        per_class = spec.shots + spec.queries
        classes = tuple(self._classes[int(k)] for k in chosen)
        support: list[np.ndarray] = []
        query: list[np.ndarray] = []
        reused: list[int] = []
        overlap = 0
        for label in classes:
            pairs = self.dataset.sample_pairs(self.split, label, per_class, rng, shots=spec.shots)
            support.append(pairs[: spec.shots])
            query.append(pairs[spec.shots :])
            reused.append(reused_count(pairs))
            if reused[-1] and spec.shots and spec.queries:
                shot_keys = {(int(a), int(b)) for a, b in pairs[: spec.shots]}
                overlap += sum((int(a), int(b)) in shot_keys for a, b in pairs[spec.shots :])
        return EpisodePairs(
            support=np.concatenate(support).reshape(-1, 2),
            query=np.concatenate(query).reshape(-1, 2),
            classes=classes,
            index=int(index),
            reused_pairs=sum(reused),
            reused_classes=tuple(c for c, r in zip(classes, reused, strict=True) if r),
            support_query_overlap=overlap,
            reused_by_class=tuple(reused),
        )

    def episode(self, index: int) -> Episode:
        """Episode ``index`` (the same for the same ``(seed, split, index)``)."""
        spec = self.spec
        ids = self.episode_pairs(index)
        labels = np.arange(spec.ways, dtype=np.int64)
        return Episode(
            support_x=self.dataset.compose(ids.support),
            support_y=torch.from_numpy(np.repeat(labels, spec.shots)),
            query_x=self.dataset.compose(ids.query),
            query_y=torch.from_numpy(np.repeat(labels, spec.queries)),
            classes=ids.classes,
            index=ids.index,
            reused_pairs=ids.reused_pairs,
            reused_classes=ids.reused_classes,
            support_query_overlap=ids.support_query_overlap,
        )

    def __getitem__(self, index: int) -> Episode:
        if self.num_episodes is not None and not 0 <= index < self.num_episodes:
            raise IndexError(index)
        return self.episode(index)

    def __len__(self) -> int:
        if self.num_episodes is None:
            raise TypeError("infinite EpisodeSampler has no length; pass num_episodes=")
        return self.num_episodes

    def __iter__(self) -> Iterator[Episode]:
        return self.take(self.num_episodes)

    def take(self, n: int | None, start: int = 0) -> Iterator[Episode]:
        """Episodes ``start, start+1, ...`` (``n`` of them, or forever when ``n`` is None)."""
        i = start
        while n is None or i < start + n:
            yield self.episode(i)
            i += 1
