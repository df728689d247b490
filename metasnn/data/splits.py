"""The fixed class splits of Double N-MNIST (64/16/20) and Double ASL-DVS (369/92/115).

The JSON files in ``metasnn/data/splits/`` are byte copies of the reference files
(``double_asldvs_splits.json``: the split shipped with the sn22 code, md5
b95867e428297c73131efabbdf43faec).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from metasnn.data.events import ASL_LETTERS
from metasnn.errors import DataError

__all__ = ["SPLITS", "META_DATASETS", "class_splits", "class_parts"]

SPLITS = ("train", "val", "test")
META_DATASETS = ("double_nmnist", "double_asldvs")
_FILES = {"double_nmnist": "double_nmnist_splits.json", "double_asldvs": "double_asldvs_splits.json"}


@cache
def class_splits(name: str) -> dict[str, tuple[str, ...]]:
    """``{"train": (...), "val": (...), "test": (...)}`` class labels of meta-dataset ``name``."""
    if name not in _FILES:
        raise DataError(f"unknown meta-dataset {name!r}: choose one of {', '.join(META_DATASETS)}")
    text = resources.files("metasnn.data").joinpath("splits", _FILES[name]).read_text()
    data = json.loads(text)
    return {split: tuple(str(c) for c in data[split]) for split in SPLITS}


def class_parts(name: str, label: str) -> tuple[str, str]:
    """Raw class (left, right) of a double class: ``"37"`` -> ("3", "7"); ``"3.19"`` -> ("d", "u")."""
    if name == "double_nmnist":
        if len(label) != 2 or not label.isdigit():
            raise DataError(f"Double N-MNIST class {label!r} is not two digits")
        return label[0], label[1]
    if name == "double_asldvs":
        left, _, right = label.partition(".")
        try:
            return ASL_LETTERS[int(left)], ASL_LETTERS[int(right)]
        except (ValueError, IndexError) as exc:
            raise DataError(f"Double ASL-DVS class {label!r} is not 'i.j' with i, j in 0..23") from exc
    raise DataError(f"unknown meta-dataset {name!r}: choose one of {', '.join(META_DATASETS)}")
