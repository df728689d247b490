"""Seeded N-way K-shot episodes from a meta-dataset split.

Episode ``i`` of a sampler is a pure function of ``(seed, split, i)``: its generator is
``numpy.random.default_rng(SeedSequence([seed, crc32(split), i]))``. Classes are drawn without
replacement from the split; the order they are drawn in is the label permutation of the task
(label ``k`` = the ``k``-th drawn class). Each class contributes ``shots + queries`` distinct
samples (while its pools allow), the first ``shots`` to the support set. Tensors are
time-major float32 counts ``[T, B, 2, H, W]``; support and query sets are class-major
(``y = [0]*shots + [1]*shots + ...``).

The sampler builds nothing per episode beyond the tensors themselves (one scatter each), and is
usable as a map-style dataset (``sampler[i]``, ``len`` when finite) or an iterator.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from metasnn.data.metadataset import MetaDataset
from metasnn.errors import ConfigError

__all__ = ["EpisodeSpec", "Episode", "EpisodeSampler", "episode_rng"]


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

    def to(self, device: torch.device | str) -> Episode:
        """A copy with the tensors on ``device``."""
        return Episode(self.support_x.to(device), self.support_y.to(device), self.query_x.to(device),
                       self.query_y.to(device), self.classes, self.index)


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

    def episode(self, index: int) -> Episode:
        """Episode ``index`` (the same for the same ``(seed, split, index)``)."""
        spec = self.spec
        rng = episode_rng(self.seed, self.split, index)
        chosen = rng.choice(len(self._classes), size=spec.ways, replace=False)
        per_class = spec.shots + spec.queries
        support: list[np.ndarray] = []
        query: list[np.ndarray] = []
        for k in chosen:
            pairs = self.dataset.sample_pairs(self.split, self._classes[int(k)], per_class, rng)
            support.append(pairs[: spec.shots])
            query.append(pairs[spec.shots :])
        labels = np.arange(spec.ways, dtype=np.int64)
        return Episode(
            support_x=self.dataset.compose(np.concatenate(support)),
            support_y=torch.from_numpy(np.repeat(labels, spec.shots)),
            query_x=self.dataset.compose(np.concatenate(query)),
            query_y=torch.from_numpy(np.repeat(labels, spec.queries)),
            classes=tuple(self._classes[int(k)] for k in chosen),
            index=int(index),
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
