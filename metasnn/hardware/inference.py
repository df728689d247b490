"""wu22 Table S1's inference network, trained here so the chip estimate runs on measured spike rates.

Network ``[n_in - H - H - 10]`` of wu22 neurons: the GP network of :mod:`metasnn.plasticity`
(:class:`~metasnn.plasticity.hp.HPNetwork` with no plastic layer, built by
:func:`metasnn.plasticity.training.build_network`), i.e. per layer and step
``u ← (u − θ·s)·0.4 + W·x + b``, ``s = H(u − θ)``, θ = 0.4, box surrogate of half-width 0.5. wu22
uses ``H = 1024`` (paper scale); the cost model applies the measured rates to wu22's layer sizes by
layer index (:mod:`metasnn.hardware.rates`), so the default scale may train a narrower network.

Readout: the output layer's membrane **averaged over the T steps**, divided by θ
(``HPConfig(readout="mean")``). wu22's learning networks read the last step's membrane instead; under
rank coding most inputs fire in the first bins and the neuron's decay (0.4 per step) has forgotten
them by the last step, so both codings here use the time average. Loss: MSE to one-hot targets
(wu22); Adam on all weights; surrogate-gradient BPTT (:func:`metasnn.plasticity.training.train_network`,
method ``gp``).

Input codings of event-count frames ``[T, B, 2, S, S]`` (sum-pooled by ``pool``, flattened to
``n_in = 2·(S/pool)²`` inputs, one per polarity and pixel block):

* ``rate``: ``s[t, i] = 1`` when bin ``t`` holds at least one event of input ``i`` (counts clamped
  to {0, 1}); an input can fire at every step.
* ``rank`` (time-to-first-spike): ``s[t, i] = 1`` only at ``t = t_i``, the first bin in which input
  ``i`` has an event; every input fires **at most once** per sample and inputs without any event in
  the window never fire. Hidden and output neurons are ordinary wu22 neurons under both codings.

Measured (:func:`fit`): per-layer spike rates on the test recordings (mean spikes per neuron per
step, :func:`metasnn.plasticity.training.spike_rates`), test accuracy, and the CPU latency of one
forward pass of the trained network (batch 1, T steps, one thread; :func:`measure_latency`).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from metasnn.hardware.measure import Measured, measure_cpu_call
from metasnn.plasticity.hp import HPConfig, HPNetwork, prepare_inputs
from metasnn.plasticity.training import TrainConfig, build_network, spike_rates, train_network

__all__ = ["CODINGS", "InferenceConfig", "InferenceResult", "rank_code", "encode", "build_inference_network",
           "measure_latency", "fit"]

CODINGS = ("rate", "rank")


def rank_code(spikes: torch.Tensor) -> torch.Tensor:
    """Keep only each input's first spike: ``[T, ...]`` {0, 1} spikes → at most one spike per input."""
    spikes = (spikes > 0).to(spikes.dtype if spikes.is_floating_point() else torch.float32)
    return spikes * (spikes.cumsum(0) == 1).to(spikes.dtype)


def encode(frames: torch.Tensor, coding: str, pool: int = 1) -> torch.Tensor:
    """Event-count frames ``[T, B, 2, S, S]`` → input spikes ``[T, B, n_in]`` under ``coding`` (see module doc)."""
    if coding not in CODINGS:
        raise ValueError(f"coding must be one of {CODINGS}, got {coding!r}")
    spikes = prepare_inputs(frames, pool=pool, binarize=True)
    return spikes if coding == "rate" else rank_code(spikes)


@dataclass(frozen=True)
class InferenceConfig:
    """Size and training of the inference network."""

    hidden: int = 256
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    seed: int = 0
    classes: int = 10  # output neurons (N-MNIST digits)
    measure: bool = True  # time the trained network on the CPU
    measure_seconds: float = 0.5

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class InferenceResult:
    network: HPNetwork
    curves: list[dict[str, float]]
    final: dict[str, float]  # test_acc, test_loss, train_acc, train_loss, epochs
    layers: list[dict[str, Any]]  # rates-file layers (metasnn.hardware.rates)
    train_time_s: float
    latency: Measured | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def build_inference_network(n_in: int, hidden: int, n_out: int = 10, seed: int = 0) -> HPNetwork:
    """``[n_in - hidden - hidden - n_out]`` wu22 neurons, no plasticity, time-averaged readout."""
    return build_network("gp", [int(n_in), int(hidden), int(hidden), int(n_out)], HPConfig(readout="mean"), seed=seed)


def measure_latency(net: HPNetwork, x: torch.Tensor, *, min_seconds: float = 0.5, max_reps: int = 200,
                    threads: int = 1) -> Measured:
    """Median CPU wall time of one forward pass of ``net`` at batch 1, cycling over the samples of
    ``x [T, N, n_in]`` (the real inputs, so the event-driven input is the measured one)."""
    samples = itertools.cycle([x[:, i:i + 1] for i in range(x.shape[1])])
    sizes = "-".join(str(s) for s in net.sizes)
    what = (f"forward passes of the trained [{sizes}] network (PyTorch eager, dense matmuls), batch 1, "
            f"T={x.shape[0]}, cycling over {x.shape[1]} test samples")
    return measure_cpu_call(lambda: net.run(next(samples)), what, min_seconds=min_seconds, max_reps=max_reps,
                            threads=threads)


def fit(train: tuple[torch.Tensor, torch.Tensor], test: tuple[torch.Tensor, torch.Tensor], cfg: InferenceConfig,
        progress: Callable[[Iterable, str], Iterable] | None = None) -> InferenceResult:
    """Train the inference network on encoded ``train = (x [T, N, n_in], y [N])``, then measure its
    test accuracy, per-layer spike rates and (``cfg.measure``) CPU latency on ``test``."""
    x_train, y_train = train
    x_test, _ = test
    torch.manual_seed(cfg.seed)
    net = build_inference_network(x_train.shape[-1], cfg.hidden, cfg.classes, seed=cfg.seed)
    train_cfg = TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr_weights=cfg.lr, seed=cfg.seed)
    t0 = time.perf_counter()
    result = train_network(net, "gp", train, test, train_cfg, progress=progress)
    train_time = time.perf_counter() - t0
    net.eval()
    layers = spike_rates(net, x_test)
    latency = measure_latency(net, x_test, min_seconds=cfg.measure_seconds) if cfg.measure else None
    return InferenceResult(network=net, curves=result.curves, final=result.final, layers=layers,
                           train_time_s=train_time, latency=latency)
