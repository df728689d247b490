"""One model file for every trained model: ``model.pt`` = a self-describing record + the method's tensors.

Every stage that trains a model (sn22 meta-training, dsp / STDP / STBP / EIHL, wu22 few-shot HP and its
GP/LP/fine-tune networks, mp23, ip2, sn22's transfer baseline) writes it with :func:`save_model`, and
everything that reads one goes through :func:`read_model`. The record says what the tensors are without
the pipeline around them: the method, the function that rebuilds its few-shot evaluator, the meta-dataset
and seed it was trained on, the data source that fed it, its config, and the frame shape and time steps of
its input. :func:`load_evaluator` therefore needs nothing but the directory::

    from metasnn.model_file import load_evaluator, read_record
    read_record("results/runs/mp23_train/double_nmnist/seed0").method      # 'mp23'
    evaluator = load_evaluator("results/runs/mp23_train/double_nmnist/seed0")
    evaluator(episode)                                                        # query accuracy after adaptation

The file is a plain ``torch.save`` dict read with ``weights_only=True`` (no code runs on load):
``{"format": "metasnn-model/1", "record": {...}, "state": {...}}``; ``state`` is the method's own
(a state dict, or several named networks).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metasnn.errors import CheckpointError

if TYPE_CHECKING:
    from torch import nn

    from metasnn.data.sources import DataSource
    from metasnn.meta.methods import EpisodeEvaluator

__all__ = ["MODEL_FILE", "FORMAT", "ModelRecord", "save_model", "read_model", "read_record", "load_evaluator",
           "networks_state", "network_from_state"]

MODEL_FILE = "model.pt"
FORMAT = "metasnn-model/1"


@dataclass(frozen=True)
class ModelRecord:
    """What a trained model is, stored beside its tensors.

    Attributes
    ----------
    method : the method's name ("maml_snn", "dsp", "stbp", "hp", "mp23", "ip2", "gp", ...).
    paper : the paper whose method or baseline it is ("sn22", "wu22", "dsp", "mp23", "ip2").
    loader : ``"package.module:function"``; ``function(record, state)`` rebuilds the trained model as an
        :class:`~metasnn.meta.methods.EpisodeEvaluator`. Empty for a model that is not a few-shot learner
        (a wu22 classification network, a pretrained backbone).
    dataset : the (meta-)dataset it was trained on, e.g. "double_nmnist".
    seed : its training seed.
    data_sources : raw dataset -> the source that fed the training (``DataSource.to_dict()``).
    config : the method's config (its dataclass's ``to_dict()``): enough to rebuild the network.
    frame_shape : ``(2, H, W)`` of its input frames.
    num_steps : T, time steps of its input.
    time_bin_ms : width of one time step.
    """

    method: str
    paper: str
    loader: str
    dataset: str
    seed: int
    data_sources: dict[str, dict[str, Any]]
    config: dict[str, Any]
    frame_shape: tuple[int, ...]
    num_steps: int
    time_bin_ms: float
    extra: dict[str, Any] = field(default_factory=dict)  # method-specific facts (ip2's mask, mp23's variants)

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "paper": self.paper, "loader": self.loader, "dataset": self.dataset,
                "seed": int(self.seed), "data_sources": dict(self.data_sources), "config": dict(self.config),
                "frame_shape": [int(v) for v in self.frame_shape], "num_steps": int(self.num_steps),
                "time_bin_ms": float(self.time_bin_ms), "extra": dict(self.extra)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelRecord:
        return cls(**{**d, "frame_shape": tuple(d["frame_shape"])})

    @classmethod
    def of(cls, method: str, paper: str, loader: str, *, dataset: Any, seed: int, config: Any,
           data_sources: Mapping[str, DataSource] | None = None, **extra: Any) -> ModelRecord:
        """The record of a model trained on ``dataset`` (a loaded meta-dataset: its name, frame shape, T, bin
        width and data sources are read from it); ``config`` is a config dataclass or a plain dict."""
        sources = data_sources if data_sources is not None else dataset.data_sources
        return cls(method=method, paper=paper, loader=loader, dataset=dataset.name, seed=int(seed),
                   data_sources={k: s.to_dict() for k, s in sorted(sources.items())},
                   config=config if isinstance(config, dict) else config.to_dict(),
                   frame_shape=tuple(int(v) for v in dataset.frame_shape), num_steps=int(dataset.num_steps),
                   time_bin_ms=float(dataset.time_bin_ms), extra=dict(extra))


def _path(where: str | Path) -> Path:
    where = Path(where)
    return where / MODEL_FILE if where.is_dir() or where.suffix != ".pt" else where


def save_model(where: str | Path, record: ModelRecord, state: Any) -> Path:
    """Write ``model.pt`` (into directory ``where``, or to the ``.pt`` path ``where``) atomically."""
    from metasnn.io import save_tensors

    return save_tensors({"format": FORMAT, "record": record.to_dict(), "state": state}, _path(where))


def read_model(where: str | Path) -> tuple[ModelRecord, Any]:
    """The record and the state of the model file in directory ``where`` (or at the ``.pt`` path ``where``)."""
    from metasnn.io import load_tensors

    path = _path(where)
    payload = load_tensors(path)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path}: not a metasnn model file (format {found!r}, expected {FORMAT!r}): written by "
                              "an older metasnn or another tool; rerun the stage that trains it")
    return ModelRecord.from_dict(payload["record"]), payload["state"]


def read_record(where: str | Path) -> ModelRecord:
    """Only the record of a model file (what it is, what trained it)."""
    return read_model(where)[0]


def load_evaluator(where: str | Path) -> EpisodeEvaluator:
    """The few-shot evaluator of the trained model in ``where``, rebuilt by the loader its record names."""
    record, state = read_model(where)
    if not record.loader:
        raise CheckpointError(f"{_path(where)}: the {record.method} model is not a few-shot learner (its record names "
                              "no evaluator loader)")
    module_name, _, func_name = record.loader.partition(":")
    try:
        loader = getattr(importlib.import_module(module_name), func_name)
    except (ImportError, AttributeError) as exc:
        raise CheckpointError(f"{_path(where)}: its record names loader {record.loader!r}, which this metasnn does not "
                              f"have ({exc}); rerun the stage that trains it") from exc
    return loader(record, state)


def networks_state(nets: Mapping[str, nn.Module]) -> dict[str, dict[str, Any]]:
    """The ``state`` of a model made of several named networks (mp23's variants, ip2's intrinsic and point
    neurons): ``{name: {"state_dict", "config"}}``; every network carries its config dataclass as ``.config``."""
    return {k: {"state_dict": {n: t.detach().cpu() for n, t in net.state_dict().items()},
                "config": net.config.to_dict()} for k, net in nets.items()}


def network_from_state(state: Mapping[str, Any], name: str, build: Callable[[Mapping[str, Any]], nn.Module],
                       where: str = "model.pt") -> nn.Module:
    """Network ``name`` of a :func:`networks_state`: ``build(config dict)`` makes it, then its weights load."""
    if name not in state:
        raise CheckpointError(f"{where}: holds no network {name!r} (it has {', '.join(sorted(state)) or 'none'}); "
                              "rerun the stage that trains it with that variant")
    net = build(state[name]["config"])
    net.load_state_dict(state[name]["state_dict"])
    return net
