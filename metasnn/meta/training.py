"""The one training-loop skeleton: resumable checkpoints, divergence detection, training curves.

:func:`train_loop` calls ``step_fn(step)`` for ``step = start … total_steps − 1``; ``step_fn`` does
the work of one outer step (forward, backward, optimiser step) and returns its metrics (at least
``loss``; ``acc`` and anything else numeric are recorded too). Every ``every`` completed steps the
loop writes one checkpoint (atomically, :func:`metasnn.io.save_tensors`) holding the ``state``
objects' ``state_dict()`` s, the RNG states (torch, numpy, python — stored as tensors so
``torch.load(weights_only=True)`` reads them), the completed step count, the curve so far and the
config hash. A rerun with the same config hash resumes from it and reaches the same final weights
as an uninterrupted run; a checkpoint with another hash is ignored (and overwritten later). Every
(re)start first removes the ``.checkpoint.pt.<random>.tmp`` files that a kill during a checkpoint
write left in the checkpoint directory (only those: :func:`metasnn.io.remove_stale_temporaries`).

A non-finite loss (or one above ``max_loss``) raises :class:`metasnn.errors.TrainingDivergedError`
naming the step and what to change.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from metasnn.errors import CheckpointError, TrainingDivergedError
from metasnn.io import atomic_write_text, load_tensors, remove_stale_temporaries, save_tensors

__all__ = [
    "Stateful",
    "GeneratorState",
    "checkpoint_for",
    "CheckpointConfig",
    "TrainResult",
    "train_loop",
    "rng_state",
    "set_rng_state",
    "check_finite_loss",
    "curve_csv",
]

log = logging.getLogger("metasnn.meta.training")
CHECKPOINT_NAME = "checkpoint.pt"


class Stateful(Protocol):
    def state_dict(self) -> Mapping[str, Any]: ...
    def load_state_dict(self, state: Mapping[str, Any]) -> Any: ...


class GeneratorState:
    """A ``torch.Generator`` as a checkpointable state (e.g. the one that shuffles minibatches)."""

    def __init__(self, generator: torch.Generator):
        self.generator = generator

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"state": self.generator.get_state()}

    def load_state_dict(self, state: Mapping[str, torch.Tensor]) -> None:
        self.generator.set_state(state["state"])


@dataclass(frozen=True)
class CheckpointConfig:
    """Where and how often to checkpoint; ``config_hash`` guards against resuming a different run."""

    directory: Path
    every: int
    config_hash: str

    @property
    def path(self) -> Path:
        return Path(self.directory) / CHECKPOINT_NAME


def checkpoint_for(run: Mapping[str, Any], dataset: Any, seed: int, sources: Mapping[str, Any],
                   directory: str | Path | None, every: int) -> CheckpointConfig | None:
    """Checkpointing of one training run into ``directory`` (None: none), guarded by the hash of what defines
    the run — ``run`` (its method and configs), the seed, the dataset with its time bins and its data sources
    (:class:`metasnn.data.sources.DataSource` s) — so a different run never resumes from it."""
    from metasnn.reporting.provenance import config_hash

    if directory is None:
        return None
    identity = {**run, "seed": seed, "dataset": dataset.name, "num_steps": dataset.num_steps,
                "time_bin_ms": dataset.time_bin_ms, "data_sources": {k: v.to_dict() for k, v in sources.items()}}
    return CheckpointConfig(Path(directory), every, config_hash(identity))


@dataclass
class TrainResult:
    """Curve rows (one dict per completed step) and where the run started from."""

    rows: list[dict[str, float]] = field(default_factory=list)
    resumed_from: int = 0


# --------------------------------------------------------------------------- RNG states
def rng_state() -> dict[str, torch.Tensor]:
    """torch, numpy (global) and python ``random`` states as tensors (safe for ``weights_only`` loading)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002 - the legacy global RNG is what we save
    assert kind == "MT19937"
    py_version, py_state, py_gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "numpy_keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
        "numpy_meta": torch.tensor([pos, has_gauss], dtype=torch.int64),
        "numpy_cached": torch.tensor([cached], dtype=torch.float64),
        "python_state": torch.tensor(py_state, dtype=torch.int64),
        "python_meta": torch.tensor([py_version], dtype=torch.int64),
        "python_gauss": torch.tensor([math.nan if py_gauss is None else py_gauss], dtype=torch.float64),
    }


def set_rng_state(state: Mapping[str, torch.Tensor]) -> None:
    """Restore what :func:`rng_state` captured."""
    torch.set_rng_state(state["torch"])
    meta = state["numpy_meta"].tolist()
    np.random.set_state(("MT19937", state["numpy_keys"].numpy().astype(np.uint32), int(meta[0]),  # noqa: NPY002
                         int(meta[1]), float(state["numpy_cached"][0])))
    gauss = float(state["python_gauss"][0])
    random.setstate((int(state["python_meta"][0]), tuple(int(v) for v in state["python_state"].tolist()),
                     None if math.isnan(gauss) else gauss))


# --------------------------------------------------------------------------- divergence
def check_finite_loss(loss: float, step: int, max_loss: float = math.inf, hint: str = "") -> None:
    """Raise :class:`TrainingDivergedError` if ``loss`` is NaN/inf or above ``max_loss``."""
    if not math.isfinite(loss) or loss > max_loss:
        what = "not finite" if not math.isfinite(loss) else f"above the divergence limit {max_loss:g}"
        raise TrainingDivergedError(
            f"training diverged at outer step {step}: loss = {loss!r} is {what}; "
            f"{hint or 'lower the learning rates (outer and inner) or check the input data'}"
        )


# --------------------------------------------------------------------------- curves
def curve_csv(rows: list[Mapping[str, float]]) -> str:
    """Rows → CSV text (columns: ``step`` first, then the keys of the first row in order)."""
    if not rows:
        return "step,loss,acc\n"
    keys = ["step"] + [k for k in rows[0] if k != "step"]
    lines = [",".join(keys)]
    for row in rows:
        lines.append(",".join(_fmt(row.get(k, math.nan)) for k in keys))
    return "\n".join(lines) + "\n"


def _fmt(value: float) -> str:
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return str(int(value))
    return repr(float(value))


def _rows_to_tensor(rows: list[dict[str, float]]) -> tuple[list[str], torch.Tensor]:
    if not rows:
        return [], torch.zeros(0, 0, dtype=torch.float64)
    keys = list(rows[0])
    return keys, torch.tensor([[float(r.get(k, math.nan)) for k in keys] for r in rows], dtype=torch.float64)


def _tensor_to_rows(keys: list[str], table: torch.Tensor) -> list[dict[str, float]]:
    rows = []
    for values in table.tolist():
        row = {k: v for k, v in zip(keys, values, strict=True)}
        row["step"] = int(row["step"])
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- checkpoints
def save_checkpoint(ckpt: CheckpointConfig, completed: int, state: Mapping[str, Stateful],
                    rows: list[dict[str, float]]) -> Path:
    keys, table = _rows_to_tensor(rows)
    payload = {
        "completed_steps": completed,
        "config_hash": ckpt.config_hash,
        "state": {name: obj.state_dict() for name, obj in state.items()},
        "rng": rng_state(),
        "curve_keys": keys,
        "curve": table,
    }
    return save_tensors(payload, ckpt.path)


def load_checkpoint(ckpt: CheckpointConfig) -> dict[str, Any] | None:
    """The checkpoint if present and written by the same configuration, else ``None``."""
    if not ckpt.path.is_file():
        return None
    try:
        payload = load_tensors(ckpt.path)
    except CheckpointError as exc:
        log.warning("ignoring unreadable checkpoint: %s", exc)
        return None
    if not isinstance(payload, dict):
        log.warning("ignoring %s: not a checkpoint (a %s)", ckpt.path, type(payload).__name__)
        return None
    if payload.get("config_hash") != ckpt.config_hash:
        log.warning("%s was written by a different configuration (hash %s…, expected %s…): starting afresh",
                    ckpt.path, str(payload.get("config_hash"))[:12], ckpt.config_hash[:12])
        return None
    return payload


# --------------------------------------------------------------------------- the loop
def train_loop(
    step_fn: Callable[[int], Mapping[str, float]],
    total_steps: int,
    state: Mapping[str, Stateful],
    *,
    checkpoint: CheckpointConfig | None = None,
    max_loss: float = math.inf,
    divergence_hint: str = "",
    after_step: Callable[[int, Mapping[str, float]], None] | None = None,
    progress: Callable[[range], Any] | None = None,
) -> TrainResult:
    """Run (or resume) ``total_steps`` outer steps; returns the curve.

    Parameters
    ----------
    step_fn:
        ``step_fn(step) -> {"loss": ..., "acc": ..., ...}`` for the 0-based outer step ``step``.
        Must be deterministic in ``step`` and the restored state (draw episodes by index).
    total_steps:
        Number of outer steps of the whole run.
    state:
        Objects with ``state_dict``/``load_state_dict`` (model, optimiser, ...) to checkpoint.
    checkpoint:
        Checkpoint directory, interval and config hash (``None``: no checkpoints).
    max_loss:
        A loss above this counts as divergence.
    after_step:
        Called after each completed step (before its checkpoint) with ``(step, metrics)``.
    progress:
        Wraps the step range (e.g. a tqdm bar).
    """
    result = TrainResult()
    start = 0
    if checkpoint is not None:
        if checkpoint.every < 1:
            raise ValueError(f"checkpoint interval must be >= 1, got {checkpoint.every}")
        stale = remove_stale_temporaries(checkpoint.path)  # a kill during a checkpoint write leaves these
        if stale:
            log.info("removed %d stale temporary file(s) of %s: %s", len(stale), checkpoint.path,
                     ", ".join(p.name for p in stale))
        payload = load_checkpoint(checkpoint)
        if payload is not None:
            for name in state:
                if name not in payload.get("state", {}):
                    raise CheckpointError(f"{checkpoint.path}: no state for {name!r}; delete it to start afresh")
            try:
                for name, obj in state.items():
                    obj.load_state_dict(payload["state"][name])
                set_rng_state(payload["rng"])
                result.rows = _tensor_to_rows(list(payload["curve_keys"]), payload["curve"])
                start = int(payload["completed_steps"])
            except (KeyError, TypeError, ValueError, IndexError, RuntimeError, AttributeError) as exc:
                raise CheckpointError(f"{checkpoint.path}: cannot resume from it ({type(exc).__name__}: "
                                      f"{str(exc).splitlines()[0] if str(exc) else ''}); delete it to start afresh") from exc
            if start < 0:
                raise CheckpointError(f"{checkpoint.path}: records {start} completed steps; delete it to start afresh")
            result.resumed_from = start
            log.info("resumed from %s at step %d of %d", checkpoint.path, start, total_steps)
    steps = range(start, total_steps)
    for step in progress(steps) if progress is not None else steps:
        metrics = dict(step_fn(step))
        check_finite_loss(float(metrics["loss"]), step, max_loss, divergence_hint)
        row = {"step": step, **{k: float(v) for k, v in metrics.items()}}
        result.rows.append(row)
        if after_step is not None:
            after_step(step, row)
        completed = step + 1
        if checkpoint is not None and (completed % checkpoint.every == 0 or completed == total_steps):
            save_checkpoint(checkpoint, completed, state, result.rows)
    return result


def write_curve(path: str | Path, rows: list[Mapping[str, float]]) -> Path:
    """Write the curve CSV atomically."""
    return atomic_write_text(path, curve_csv(list(rows)))
