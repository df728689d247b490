"""The few-shot evaluation protocol as a public API: any trained model, any recordings, the same tasks.

A researcher who wants to check a number on recordings the pipeline never saw (for example the full
N-MNIST Test set, when models were trained on the shipped subset) needs three steps, each one call::

    from metasnn.evaluation.protocol import EvaluationProtocol, evaluate_trained, metadataset_from_recordings

    ds = metadataset_from_recordings("double_nmnist", "/data/N-MNIST", "/tmp/double_nmnist_full",
                                     time_bin_ms=5, window_ms=100)      # the bins the model was trained on
    result = evaluate_trained("results/runs/sn22_metatrain/maml_snn/double_nmnist/seed0", ds,
                              EvaluationProtocol(split="test", tasks=600, seed=1234))
    print(result.mean, result.ci95)

``metadataset_from_recordings`` reads a directory in the dataset's original layout with the same
validating readers and builder as the pipeline (source ``local``); ``evaluate_trained`` rebuilds any
trained model from its self-describing model file (:mod:`metasnn.model_file`) and scores it on tasks ``0..tasks-1`` of the
protocol's seeded sampler — the tasks every method sees. Episodes of another frame size or T are
resampled to the model's (:func:`metasnn.data.transforms.resample_frames`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from metasnn.errors import ConfigError

__all__ = ["EvaluationProtocol", "EvaluationResult", "evaluate", "evaluate_trained", "metadataset_from_recordings"]


@dataclass(frozen=True)
class EvaluationProtocol:
    """Which tasks a model is scored on: episodes ``0..tasks-1`` of ``split`` under ``seed``.

    The defaults are sn22's evaluation (5-way 1-shot, 10 queries per class, 600 tasks); the pipeline's
    evaluation seed is ``sn22.eval.seed`` (1234).
    """

    split: str = "test"
    ways: int = 5
    shots: int = 1
    queries: int = 10
    tasks: int = 600
    seed: int = 1234

    def __post_init__(self) -> None:
        if self.split not in ("train", "val", "test"):
            raise ConfigError(f"evaluation split {self.split!r}: choose train, val or test")
        if self.tasks < 1:
            raise ConfigError(f"evaluation tasks {self.tasks}: need at least 1")

    def episodes(self, dataset: Any) -> Iterator[Any]:
        """The protocol's episodes of ``dataset`` (a :class:`metasnn.data.MetaDataset`), in order."""
        from metasnn.data.episodes import EpisodeSampler, EpisodeSpec

        sampler = EpisodeSampler(dataset, self.split, EpisodeSpec(self.ways, self.shots, self.queries), seed=self.seed)
        return sampler.take(self.tasks)


@dataclass(frozen=True)
class EvaluationResult:
    """Per-task query accuracies of one model under one protocol."""

    accuracies: np.ndarray
    protocol: EvaluationProtocol
    dataset: str

    @property
    def mean(self) -> float:
        return float(self.accuracies.mean())

    @property
    def ci95(self) -> tuple[float, float]:
        """95 % CI of the mean over tasks (t interval)."""
        from metasnn.evaluation.statistics import ci95_mean

        return ci95_mean(self.accuracies)


def evaluate(evaluator: Callable[[Any], float], dataset: Any, protocol: EvaluationProtocol,
             progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None) -> EvaluationResult:
    """Score an :class:`~metasnn.meta.methods.EpisodeEvaluator` on the protocol's tasks of ``dataset``."""
    from metasnn.evaluation.cross_dataset import evaluate_episodes

    episodes: Iterable[Any] = protocol.episodes(dataset)
    if progress is not None:
        episodes = progress(episodes)
    accs = np.asarray(evaluate_episodes(evaluator, episodes), dtype=np.float64)
    return EvaluationResult(accs, protocol, dataset.name)


def evaluate_trained(model_dir: str | os.PathLike, dataset: Any, protocol: EvaluationProtocol,
                     progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None) -> EvaluationResult:
    """Rebuild the trained few-shot model in ``model_dir`` (its ``model.pt`` names the method) and
    :func:`evaluate` it."""
    from metasnn.model_file import load_evaluator

    return evaluate(load_evaluator(model_dir), dataset, protocol, progress)


def metadataset_from_recordings(name: str, root: str | os.PathLike, out_dir: str | os.PathLike, *,
                                time_bin_ms: float, window_ms: float = 100.0, sampling: str = "paper",
                                on_corrupt: str = "error") -> Any:
    """Build and load a Double N-MNIST / Double ASL-DVS meta-dataset from raw recordings in their original layout.

    ``root`` holds ``Train/<digit>/*.bin`` and ``Test/<digit>/*.bin`` (N-MNIST) or ``<letter>/*.mat``
    (ASL-DVS). Every file is read and validated first; ``on_corrupt="skip"`` drops bad files. The result
    is written to ``out_dir`` (replaced atomically) and records its source as ``local``.
    """
    from metasnn.data.layout import load_manifest, manifest_dict, scan_layout, validate_recordings
    from metasnn.data.metadataset import RAW_OF, BuildOptions, build_metadataset, load_metadataset
    from metasnn.data.sources import DataSource
    from metasnn.io import atomic_directory, atomic_write_json

    if name not in RAW_OF:
        raise ConfigError(f"unknown meta-dataset {name!r}: choose one of {', '.join(RAW_OF)}")
    raw = RAW_OF[name]
    root = Path(root).resolve()
    files = scan_layout(raw, root)
    kept, skipped = validate_recordings(raw, root, files, on_corrupt)
    total = sum(len(v) for c in kept.values() for v in c.values())
    source = DataSource(raw=raw, source="local", recordings=total)
    with tempfile.TemporaryDirectory(prefix="metasnn-fetched-") as fetched:
        atomic_write_json(Path(fetched) / "manifest.json", manifest_dict(
            raw, "local", str(root), kept, skipped, {"data_sources": {raw: source.to_dict()}}))
        manifest = load_manifest(fetched)
        opts = BuildOptions(sampling=sampling, time_bin_ms=float(time_bin_ms), window_ms=float(window_ms),
                            on_corrupt=on_corrupt)
        with atomic_directory(out_dir) as tmp:
            build_metadataset(name, manifest, tmp, opts)
    return load_metadataset(out_dir)
