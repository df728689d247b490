"""On-disk layouts of the raw datasets, the fetched-data manifest, and the ``on_corrupt`` policy.

Layouts (as distributed, and as tonic extracts them):

* N-MNIST: ``<root>/Train/<digit>/*.bin`` and ``<root>/Test/<digit>/*.bin``, digits 0..9.
* ASL-DVS: ``<root>/<letter>/*.mat``, letters a..y without j.

:func:`scan_layout` checks a root before anything is read and raises one
:class:`~metasnn.errors.DataError` line naming the path and the expected layout.
:func:`validate_recordings` reads every file with the validating readers and applies the policy
(``error``: stop at the first bad file; ``skip``: drop it and count it).
``data/fetched/<raw>/manifest.json`` records the result; :class:`Manifest` reads it back.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from metasnn.data.events import ASL_LETTERS
from metasnn.data.formats import read_asldvs_mat, read_nmnist_bin
from metasnn.data.sources import DataSource, sources_from_record
from metasnn.errors import DataError

__all__ = [
    "RAW_DATASETS",
    "ON_CORRUPT",
    "EXPECTED_LAYOUT",
    "scan_layout",
    "read_recording",
    "validate_recordings",
    "Manifest",
    "load_manifest",
    "manifest_dict",
]

RAW_DATASETS = ("nmnist", "asldvs")
ON_CORRUPT = ("error", "skip")
EXPECTED_LAYOUT = {
    "nmnist": "<root>/Train/<digit 0-9>/*.bin and <root>/Test/<digit 0-9>/*.bin (as in N-MNIST's train.zip/test.zip)",
    "asldvs": "<root>/<letter a-y, no j>/*.mat (as in ASL-DVS's per-letter archives)",
}
WHERE_TO_GET = {
    "nmnist": "N-MNIST: https://www.garrickorchard.com/datasets/n-mnist (or data.mendeley.com dataset 468j46mzdv: train.zip, test.zip)",
    "asldvs": "ASL-DVS: https://github.com/PIX2NVS/NVS2Graph (its Dropbox ASLDVS.zip, which tonic downloads, was deleted: tonic issue 284)",
}
_NMNIST_SPLITS = {"train": "Train", "test": "Test"}


def _layout_error(dataset: str, root: Path, problem: str) -> DataError:
    return DataError(f"{root}: {problem}; expected layout {EXPECTED_LAYOUT[dataset]}")


def _list_files(folder: Path, suffix: str) -> list[str]:
    return sorted(f.name for f in folder.iterdir() if f.is_file() and f.suffix.lower() == suffix and not f.name.startswith("."))


def scan_layout(dataset: str, root: str | os.PathLike) -> dict[str, dict[str, list[str]]]:
    """List the recordings under ``root`` after checking its folder layout.

    Returns
    -------
    dict
        ``{split: {class: [paths relative to root, sorted]}}`` with splits ``train``/``test``
        (N-MNIST) or ``all`` (ASL-DVS).

    Raises
    ------
    DataError
        One line naming the missing/unexpected path and the expected layout.
    """
    if dataset not in RAW_DATASETS:
        raise DataError(f"unknown raw dataset {dataset!r}: choose one of {', '.join(RAW_DATASETS)}")
    root = Path(root)
    if not root.is_dir():
        raise _layout_error(dataset, root, "directory not found")
    out: dict[str, dict[str, list[str]]] = {}
    if dataset == "nmnist":
        for split, folder in _NMNIST_SPLITS.items():
            base = root / folder
            if not base.is_dir():
                raise _layout_error(dataset, base, "directory not found")
            unexpected = sorted(p.name for p in base.iterdir() if p.is_dir() and p.name not in {str(d) for d in range(10)})
            if unexpected:
                raise _layout_error(dataset, base, f"unexpected folder(s) {', '.join(unexpected)}")
            out[split] = {}
            for digit in range(10):
                folder_d = base / str(digit)
                if not folder_d.is_dir():
                    raise _layout_error(dataset, folder_d, "directory not found")
                names = _list_files(folder_d, ".bin")
                if not names:
                    raise _layout_error(dataset, folder_d, "no .bin recordings")
                out[split][str(digit)] = [f"{folder}/{digit}/{n}" for n in names]
    else:
        letters = set(ASL_LETTERS)
        unexpected = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name not in letters and not p.name.startswith("."))
        out["all"] = {}
        for letter in ASL_LETTERS:
            folder_l = root / letter
            if not folder_l.is_dir():
                hint = f" (found unexpected folder(s) {', '.join(unexpected[:5])})" if unexpected else ""
                raise _layout_error(dataset, folder_l, f"directory not found{hint}")
            names = _list_files(folder_l, ".mat")
            if not names:
                raise _layout_error(dataset, folder_l, "no .mat recordings")
            out["all"][letter] = [f"{letter}/{n}" for n in names]
    return out


def read_recording(dataset: str, path: str | os.PathLike) -> np.ndarray:
    """Read one raw recording with the validating reader of ``dataset``."""
    if dataset == "nmnist":
        return read_nmnist_bin(path)
    if dataset == "asldvs":
        return read_asldvs_mat(path)
    raise DataError(f"unknown raw dataset {dataset!r}: choose one of {', '.join(RAW_DATASETS)}")


def validate_recordings(
    dataset: str,
    root: str | os.PathLike,
    files: dict[str, dict[str, list[str]]],
    on_corrupt: str = "error",
    progress: Callable | None = None,
) -> tuple[dict[str, dict[str, list[str]]], list[dict[str, str]]]:
    """Read every listed file; return the files kept and the skipped ones ``[{file, problem}]``.

    With ``on_corrupt="error"`` the first bad file raises its :class:`DataError`.
    """
    if on_corrupt not in ON_CORRUPT:
        raise DataError(f"on_corrupt={on_corrupt!r}: choose one of {', '.join(ON_CORRUPT)}")
    root = Path(root)
    kept: dict[str, dict[str, list[str]]] = {}
    skipped: list[dict[str, str]] = []
    jobs = [(split, label, rel) for split, classes in files.items() for label, rels in classes.items() for rel in rels]
    for split, classes in files.items():
        kept[split] = {label: [] for label in classes}
    for split, label, rel in progress(jobs, "validate recordings") if progress else jobs:
        try:
            read_recording(dataset, root / rel)
        except DataError as exc:
            if on_corrupt == "error":
                raise DataError(f"{exc} (set data.on_corrupt: skip to skip bad files and count them)") from exc
            skipped.append({"file": rel, "problem": str(exc)})
            continue
        kept[split][label].append(rel)
    for split, classes in kept.items():
        for label, rels in classes.items():
            if not rels:
                raise DataError(f"{root}: every recording of class {label!r} ({split}) is corrupt; nothing left to build from")
    return kept, skipped


def manifest_dict(dataset: str, source: str, root: str, files: dict[str, dict[str, list[str]]],
                  skipped: list[dict[str, str]], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The content of ``manifest.json`` (deterministic: sorted lists, no timestamps)."""
    return {
        "dataset": dataset,
        "source": source,
        "root": root,
        "layout": EXPECTED_LAYOUT[dataset],
        "files": files,
        "counts": {split: {label: len(rels) for label, rels in classes.items()} for split, classes in files.items()},
        "total": sum(len(rels) for classes in files.values() for rels in classes.values()),
        "skipped": skipped,
        "skipped_count": len(skipped),
        **(extra or {}),
    }


@dataclass(frozen=True)
class Manifest:
    """A fetched raw dataset: where its files are and which ones to use."""

    directory: Path
    dataset: str
    source: str
    root: Path
    files: dict[str, dict[str, list[str]]]
    skipped_count: int
    data_source: DataSource

    def path(self, rel: str) -> Path:
        return self.root / rel


def load_manifest(fetched_dir: str | os.PathLike) -> Manifest:
    """Read ``<fetched_dir>/manifest.json`` written by ``pipeline.fetch_data``.

    A relative ``root`` is relative to ``fetched_dir`` (the synthetic source keeps its files there).
    """
    fetched_dir = Path(fetched_dir)
    path = fetched_dir / "manifest.json"
    if not path.is_file():
        raise DataError(f"{path}: not found; run `python -m pipeline.fetch_data --out {fetched_dir} ...` first")
    try:
        data = json.loads(path.read_text())
        root = Path(data["root"])
        manifest = Manifest(
            directory=fetched_dir,
            dataset=data["dataset"],
            source=data["source"],
            root=root if root.is_absolute() else fetched_dir / root,
            files=data["files"],
            skipped_count=int(data.get("skipped_count", 0)),
            data_source=sources_from_record(data)[data["dataset"]],
        )
    except (ValueError, KeyError, TypeError, DataError) as exc:
        raise DataError(f"{path}: not a valid manifest ({type(exc).__name__}: {exc}); rerun pipeline.fetch_data") from exc
    if manifest.dataset not in RAW_DATASETS:
        raise DataError(f"{path}: unknown dataset {manifest.dataset!r}")
    if not manifest.root.is_dir():
        raise DataError(f"{path}: its data root {manifest.root} does not exist any more; rerun pipeline.fetch_data")
    return manifest
