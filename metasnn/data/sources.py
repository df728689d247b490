"""Where the events of a run came from: one :class:`DataSource` per raw dataset.

Every raw dataset (N-MNIST, ASL-DVS) chooses its own source (``data.source.<raw>``):

* ``shipped`` — the real recordings vendored in this repository (``datasets/``): 900 real N-MNIST
  recordings, the default for N-MNIST. Real sensor data, but a subset: not the papers' scale.
* ``synthetic`` — the embedded sensor emulator (``metasnn/data/emulator.py``), which writes files in
  the original formats; the default for ASL-DVS, of which no real recording can be obtained here.
* ``download`` — the full dataset from tonic's URLs (md5-checked).
* ``local`` — a copy the user already has, in the original layout.

A :class:`DataSource` travels from the fetch manifest into the meta-dataset index, the run record of
every stage (``provenance.json: data_sources``), every table row (``data_source`` column, via
:func:`describe`) and the results front page. :func:`comparability` says whether a row can be
compared with a paper's number, and if not, exactly why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from metasnn.errors import ConfigError, DataError

__all__ = [
    "SOURCES",
    "RAW_NAMES",
    "FULL_RECORDINGS",
    "DataSource",
    "raw_of",
    "describe",
    "comparability",
    "merge_sources",
    "sources_from_record",
]

SOURCES = ("shipped", "synthetic", "download", "local")
RAW_NAMES = {"nmnist": "N-MNIST", "asldvs": "ASL-DVS"}
FULL_RECORDINGS = {"nmnist": 70_000, "asldvs": 100_800}  # the complete datasets (Train + Test; all letters)
SHIPPED = {"nmnist": "datasets/N-MNIST"}  # raw datasets with shipped real recordings (relative to the repo root)
_META_RAW = {"double_nmnist": "nmnist", "double_asldvs": "asldvs"}


def raw_of(dataset: str) -> str:
    """The raw dataset behind a raw or meta-dataset name (``double_nmnist`` -> ``nmnist``)."""
    if dataset in RAW_NAMES:
        return dataset
    try:
        return _META_RAW[dataset]
    except KeyError:
        raise ConfigError(f"unknown dataset {dataset!r}: choose one of {', '.join([*RAW_NAMES, *_META_RAW])}") from None


@dataclass(frozen=True)
class DataSource:
    """The source of one raw dataset in a run.

    Attributes
    ----------
    raw : {"nmnist", "asldvs"}
    source : {"shipped", "synthetic", "download", "local"}
    recordings : int
        Recordings the fetch kept (after skipping corrupt ones), all splits together.
    """

    raw: str
    source: str
    recordings: int

    def __post_init__(self) -> None:
        if self.raw not in RAW_NAMES:
            raise DataError(f"data source: unknown raw dataset {self.raw!r} (choose one of {', '.join(RAW_NAMES)})")
        if self.source not in SOURCES:
            raise DataError(f"data source of {self.raw}: unknown source {self.source!r} (choose one of {', '.join(SOURCES)})")

    @property
    def real(self) -> bool:
        """Recorded by an event camera (not emulated)."""
        return self.source != "synthetic"

    @property
    def full(self) -> bool:
        """Real and complete: the dataset the papers used."""
        return self.real and self.source != "shipped" and self.recordings >= FULL_RECORDINGS[self.raw]

    @property
    def label(self) -> str:
        """One phrase for tables and the front page, e.g. ``real N-MNIST (subset, 900 recordings)``."""
        name = RAW_NAMES[self.raw]
        if not self.real:
            return f"emulated {name}"
        size = "full" if self.full else "subset"
        return f"real {name} ({size}, {self.recordings} recordings)"

    @property
    def not_comparable_because(self) -> str:
        """Why rows on this source cannot be compared with the paper's numbers ('' when they can)."""
        name = RAW_NAMES[self.raw]
        if not self.real:
            return f"emulated {name}, not real recordings"
        if not self.full:
            return (f"real {name} but a subset ({self.recordings} of {FULL_RECORDINGS[self.raw]} recordings), "
                    "not the paper's data size")
        return ""

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "label": self.label, "real": self.real, "full": self.full}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataSource:
        try:
            return cls(raw=str(data["raw"]), source=str(data["source"]), recordings=int(data["recordings"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"not a data-source record ({type(exc).__name__}: {exc}): {dict(data)!r}") from exc


def describe(sources: Iterable[DataSource]) -> str:
    """The ``data_source`` cell of a row fed by ``sources`` (in the given order, duplicates dropped)."""
    labels: list[str] = []
    for s in sources:
        if s.label not in labels:
            labels.append(s.label)
    return " + ".join(labels) if labels else "unknown"


def comparability(scale: str, sources: Iterable[DataSource]) -> tuple[bool, str]:
    """Whether a row at ``scale`` on ``sources`` is comparable with the paper, and if not why."""
    sources = list(sources)
    reasons = [s.not_comparable_because for s in sources if s.not_comparable_because]
    if not sources:
        reasons.append("unknown data source")
    if scale != "paper":
        reasons.append(f"{scale} scale")
    if reasons:
        return False, "not comparable to the paper: " + "; ".join(dict.fromkeys(reasons))
    return True, ""


def merge_sources(*groups: Mapping[str, DataSource] | Iterable[DataSource], where: str = "inputs") -> dict[str, DataSource]:
    """One source per raw dataset from several inputs; two different sources for one dataset are an error."""
    merged: dict[str, DataSource] = {}
    for group in groups:
        items = group.values() if isinstance(group, Mapping) else group
        for s in items:
            old = merged.setdefault(s.raw, s)
            if old != s:
                raise DataError(
                    f"{where}: {RAW_NAMES[s.raw]} comes from two sources ({old.label} and {s.label}); "
                    "rebuild the stale outputs (rerun the pipeline) so every stage reads one source"
                )
    return dict(sorted(merged.items()))


def sources_from_record(record: Mapping[str, Any] | None) -> dict[str, DataSource]:
    """The ``data_sources`` of a run record / manifest / index (``{raw: {...}}``); empty when absent."""
    if not record:
        return {}
    raw = record.get("data_sources") or {}
    return {k: DataSource.from_dict(v) for k, v in sorted(raw.items())}
