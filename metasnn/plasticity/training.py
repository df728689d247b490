"""One training loop for wu22's four learning modes (GP / LP / fine-tune / HP).

They differ only in which layers are plastic and which parameters train:

========== ======================= ============================== ==========================
method     plastic layers          trained                        update
========== ======================= ============================== ==========================
gp         none (α = 0)            all weights                    surrogate BPTT (Adam)
lp         hidden layers           readout weights only           hidden W fixed random, θ fixed
finetune   all                     all weights; θ frozen at init  BPTT (Adam)
hp         all                     weights and θ                  bi-level (paper) or joint (code)
========== ======================= ============================== ==========================

Loss: MSE between the readout and one-hot targets (wu22). Adam: ``lr_weights`` (1e-3) for ``W``,
``lr_meta`` (5e-4) for θ. HP bi-level: each minibatch is split in halves — the first half is
``L_train`` (inner step and weight update), the second ``L_val`` (meta update)
(:func:`metasnn.meta.bilevel.bilevel_gradients`).

A trained network is saved as ``model.pt`` (:mod:`metasnn.model_file`): record method = its mode, paper
"wu22", no evaluator loader (a classification network, not a few-shot learner), config
:func:`network_config` (plus the stage's input and training settings), state its ``state_dict`` (with the
carried traces); :func:`network_from_model` rebuilds it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from metasnn.errors import CheckpointError, TrainingDivergedError
from metasnn.meta.bilevel import apply_gradients, bilevel_gradients, joint_gradients
from metasnn.meta.training import CheckpointConfig, GeneratorState, train_loop
from metasnn.model_file import ModelRecord
from metasnn.plasticity.hp import HPConfig, HPNetwork, HPRun

__all__ = [
    "METHODS",
    "HP_TRAINING",
    "TrainConfig",
    "TrainResult",
    "build_network",
    "network_config",
    "network_from_model",
    "trainable_names",
    "mse_loss_fn",
    "evaluate",
    "train_network",
    "spike_rates",
    "iterate_batches",
]

METHODS = ("gp", "lp", "finetune", "hp")
HP_TRAINING = ("bilevel", "joint")


def build_network(method: str, sizes: Sequence[int], config: HPConfig | None = None, seed: int = 0) -> HPNetwork:
    """The network of ``method`` with ``requires_grad`` set on exactly its trained parameters."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    n_layers = len(sizes) - 1
    if method == "gp":
        plastic = [False] * n_layers
    elif method == "lp":
        plastic = [True] * (n_layers - 1) + [False]
    else:
        plastic = [True] * n_layers
    net = HPNetwork(sizes, plastic, config, seed=seed)
    weights, metas = trainable_names(net, method)
    for name, p in net.named_parameters():
        p.requires_grad_(name in weights or name in metas)
    return net


def network_config(net: HPNetwork) -> dict[str, Any]:
    """What :func:`network_from_model` rebuilds ``net`` from: its layer sizes and HP constants (the part of a
    ``model.pt`` record's config that describes the network)."""
    return {"sizes": list(net.sizes), "hp_config": net.config.to_dict()}


def network_from_model(record: ModelRecord, state: dict[str, Any], where: str | Path = "model.pt") -> HPNetwork:
    """The trained network of a wu22 ``model.pt`` (:func:`metasnn.model_file.read_model`'s ``record``, ``state``):
    :func:`build_network` of the record's method on its :func:`network_config`, with the saved weights."""
    if record.paper != "wu22" or record.method not in METHODS:
        raise CheckpointError(f"{where}: holds method {record.method!r} of paper {record.paper!r}, not a wu22 "
                              f"{'/'.join(METHODS)} network; pass the model.pt of a wu22 training stage")
    net = build_network(record.method, record.config["sizes"], HPConfig.from_dict(record.config["hp_config"]))
    net.load_state_dict(state)
    return net


def trainable_names(net: HPNetwork, method: str) -> tuple[list[str], list[str]]:
    """``(weight_names, meta_names)`` trained by ``method``."""
    weights = net.weight_names()
    if method == "lp":
        last = f"layers.{len(net.layers) - 1}."
        weights = [n for n in weights if n.startswith(last)]
    metas = net.meta_names() if method == "hp" else []
    return weights, metas


def mse_loss_fn(net: HPNetwork, keep: dict | None = None) -> Callable:
    """``loss_fn(params, x, y) -> (MSE to one-hot, outputs)`` running ``net`` with ``params``.

    ``keep`` (a dict), when given, receives the last run's :class:`HPRun` under ``"run"`` (traces for
    the carried reset mode).
    """
    n_out = net.sizes[-1]

    def loss_fn(params, x, y):
        run: HPRun = torch.func.functional_call(net, dict(params), (x,), {"return_run": True}, strict=False)
        if keep is not None:
            keep["run"] = run
        target = F.one_hot(y, n_out).to(run.outputs.dtype)
        return F.mse_loss(run.outputs, target), run.outputs

    return loss_fn


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    batch_size: int = 32
    lr_weights: float = 1e-3
    lr_meta: float = 5e-4
    hp_training: str = "bilevel"  # bilevel (paper) | joint (code)
    inner_lr: float = 0.1  # ξ of the bi-level inner step
    second_order: bool = True
    eval_batch_size: int = 100
    seed: int = 0

    def __post_init__(self) -> None:
        if self.hp_training not in HP_TRAINING:
            raise ValueError(f"hp_training must be one of {HP_TRAINING}, got {self.hp_training!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainResult:
    curves: list[dict[str, float]] = field(default_factory=list)
    final: dict[str, float] = field(default_factory=dict)


def iterate_batches(n: int, batch_size: int, generator: torch.Generator | None = None) -> Iterable[torch.Tensor]:
    """Index batches of ``range(n)``; shuffled by ``generator`` when given."""
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


@torch.no_grad()
def evaluate(net: HPNetwork, x: torch.Tensor, y: torch.Tensor, batch_size: int = 100) -> tuple[float, float]:
    """Mean MSE loss and accuracy of ``net`` on ``x [T, N, n_in]``, ``y [N]`` (traces not committed)."""
    loss_fn = mse_loss_fn(net)
    params = dict(net.named_parameters())
    total_loss, correct, n = 0.0, 0, 0
    for idx in iterate_batches(x.shape[1], batch_size):
        loss, out = loss_fn(params, x[:, idx], y[idx])
        total_loss += float(loss) * len(idx)
        correct += int((out.argmax(1) == y[idx]).sum())
        n += len(idx)
    return total_loss / max(n, 1), correct / max(n, 1)


def train_network(
    net: HPNetwork,
    method: str,
    train_data: tuple[torch.Tensor, torch.Tensor],
    test_data: tuple[torch.Tensor, torch.Tensor],
    cfg: TrainConfig,
    progress: Callable[[Iterable, str], Iterable] | None = None,
    checkpoint: CheckpointConfig | None = None,
) -> TrainResult:
    """Train ``net`` by ``method``; curves hold epoch 0 (before training) and every epoch after.

    An epoch is a step of :func:`metasnn.meta.training.train_loop`: with ``checkpoint`` a killed run
    resumes after its last checkpointed epoch (the batch-order generator is checkpointed too).
    """
    x_train, y_train = train_data
    x_test, y_test = test_data
    weights, metas = trainable_names(net, method)
    params = dict(net.named_parameters())
    opt_w = torch.optim.Adam([params[n] for n in weights], lr=cfg.lr_weights) if weights else None
    opt_m = torch.optim.Adam([params[n] for n in metas], lr=cfg.lr_meta) if metas else None
    keep: dict = {}
    loss_fn = mse_loss_fn(net, keep)
    gen = torch.Generator().manual_seed(int(cfg.seed))

    def test_metrics() -> dict[str, float]:
        test_loss, test_acc = evaluate(net, x_test, y_test, cfg.eval_batch_size)
        return {"test_loss": test_loss, "test_acc": test_acc}

    train_loss, train_acc = evaluate(net, x_train, y_train, cfg.eval_batch_size)
    before = {"epoch": 0, "train_loss": train_loss, "train_acc": train_acc, **test_metrics()}

    def epoch_fn(step: int) -> dict[str, float]:
        epoch = step + 1
        losses, correct, seen = [], 0, 0
        for idx in iterate_batches(x_train.shape[1], cfg.batch_size, gen):
            xb, yb = x_train[:, idx], y_train[idx]
            if method == "hp" and cfg.hp_training == "bilevel" and len(idx) >= 2:
                half = len(idx) // 2
                grads = bilevel_gradients(params, weights, metas, loss_fn, (xb[:, :half], yb[:half]),
                                          (xb[:, half:], yb[half:]), cfg.inner_lr, cfg.second_order)
                with torch.no_grad():
                    run_out = loss_fn(params, xb, yb)[1]
            else:
                grads = joint_gradients(params, weights, metas, loss_fn, (xb, yb))
                run_out = grads.train_outputs
            if not math.isfinite(grads.train_loss):
                raise TrainingDivergedError(f"{method}: loss became {grads.train_loss} at epoch {epoch}; "
                                            "lower the learning rates (wu22.lr_weights / wu22.lr_meta)")
            if opt_w is not None:
                apply_gradients(params, grads.weights, opt_w)
            if opt_m is not None:
                apply_gradients(params, grads.meta, opt_m)
            if "run" in keep:
                net.commit_traces(keep["run"].traces)
            losses.append(grads.train_loss * len(idx))
            correct += int((run_out.argmax(1) == yb).sum())
            seen += len(idx)
        return {"loss": sum(losses) / seen, "train_acc": correct / seen, **test_metrics()}

    state = {"model": net, "batch_order": GeneratorState(gen),
             **({"opt_weights": opt_w} if opt_w is not None else {}),
             **({"opt_meta": opt_m} if opt_m is not None else {})}
    wrap = None if progress is None else (lambda steps: progress(steps, f"{method} epochs"))
    rows = train_loop(epoch_fn, cfg.epochs, state, checkpoint=checkpoint, progress=wrap).rows
    result = TrainResult(curves=[before] + [
        {"epoch": int(r["step"]) + 1, "train_loss": r["loss"], "train_acc": r["train_acc"],
         "test_loss": r["test_loss"], "test_acc": r["test_acc"]} for r in rows])
    last = result.curves[-1]
    result.final = {"test_acc": last["test_acc"], "test_loss": last["test_loss"], "train_acc": last["train_acc"],
                    "train_loss": last["train_loss"], "epochs": cfg.epochs}
    return result


@torch.no_grad()
def spike_rates(net: HPNetwork, x: torch.Tensor, batch_size: int = 100) -> list[dict[str, Any]]:
    """Per-layer mean input and output spikes per neuron per step on ``x`` (rates-file layers)."""
    n_layers = len(net.layers)
    in_sum = [0.0] * n_layers
    out_sum = [0.0] * n_layers
    count = 0
    for idx in iterate_batches(x.shape[1], batch_size):
        xb = x[:, idx]
        run = net.run(xb, record=True)
        inputs = [xb, *run.spikes[:-1]]
        for i in range(n_layers):
            in_sum[i] += float(inputs[i].mean()) * len(idx)
            out_sum[i] += float(run.spikes[i].mean()) * len(idx)
        count += len(idx)
    layers = []
    for i, layer in enumerate(net.layers):
        layers.append({"name": f"fc{i + 1}", "n_in": layer.n_in, "n_out": layer.n_out,
                       "input_rate": in_sum[i] / count, "output_rate": out_sum[i] / count})
    for i in range(1, n_layers):  # the output of one layer is the input of the next: identical sums
        layers[i]["input_rate"] = layers[i - 1]["output_rate"]
    return layers
