"""ip2 (Yu et al. 2025, IP²-RSNN): bi-level intrinsic plasticity and learning-to-learn, on event episodes.

Network: pooled event input (:func:`~metasnn.plasticity.encoding.pooled_input`) → a hidden layer
of ``hidden`` neurons (optionally recurrent: ``I_t = W_in·x_t + W_rec·s_{t−1}``) → a linear readout
of the time-averaged hidden spikes (``ways`` logits). Hidden neuron: the project's DECOLLE LIF
(:class:`IntrinsicLIFNode`, a :class:`~metasnn.snn.neuron.DecolleLIFNode` fed its synaptic current
through an identity synapse) with **per-neuron** intrinsic parameters::

    Q ← β_i·Q + (1−β_i)·I          dendritic current, β_i = exp(−1/τ_d,i)
    P ← α_i·P + (1−α_i)·Q          membrane, α_i = exp(−1/τ_m,i)
    U = P + R,  S = H(U − ϑ_i)     threshold ϑ_i (R: DECOLLE refractory trace)

Bi-level intrinsic plasticity:

* **fast (inner) level** — per task, gradient steps on the masked intrinsic parameters only
  (synaptic weights fixed) on ``CE(support) + λ·mean_i (rate_i − r*)²`` (homeostatic activity
  penalty), reusing :func:`metasnn.meta.maml.adapt` with an ``InnerLoop`` restricted to those names;
* **slow (outer) level** — (1) the mask of adaptable intrinsic parameters is selected once per
  task family (the candidate with the fewest steps to criterion on a few meta-train tasks) and then
  fixed; (2) the synaptic weights and the intrinsic initial values are updated after each task
  (first-order meta-gradient of the query loss at the adapted parameters, Adam).

**Point-neuron baseline**: the same network with point neurons (no dendritic filter, β = 0, fixed
threshold and τ_m), whose inner loop adapts the readout **weights** by SGD (its own learning rate,
:data:`DEFAULT_INNER_LR`), weights carried from task to task (plain sequential learning, no meta level).
Both models share the criterion and the step cap.

Learning-to-learn readout: over a sequence of tasks, the number of inner steps until the support
accuracy reaches ``criterion`` (``max_steps`` if never) — falling with the task index when the
model learns to learn.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from metasnn.config_dict import DictConfig
from metasnn.errors import ConfigError
from metasnn.meta.maml import InnerLoop, accuracy, adapt
from metasnn.meta.training import CheckpointConfig, train_loop
from metasnn.model_file import ModelRecord, network_from_state
from metasnn.plasticity.encoding import input_size, pooled_input
from metasnn.snn.neuron import DecolleLIFNode, decolle_step
from metasnn.snn.surrogate import FastSigmoid

__all__ = ["INTRINSIC", "DEFAULT_INNER_LR", "IP2Config", "IntrinsicLIFNode", "IntrinsicNet", "parse_mask",
           "steps_to_criterion", "select_mask", "run_sequence", "evaluate", "adapted_params", "IP2Evaluator", "LOADER",
           "model_record", "build_evaluator"]

INTRINSIC = ("threshold", "tau_m", "tau_d")
#: the loader a trained ip2 model's record names (:func:`metasnn.model_file.load_evaluator` calls it)
LOADER = "metasnn.plasticity.intrinsic:build_evaluator"

#: Inner-loop learning rate of each model when none is given. One rate cannot serve both: the point baseline's
#: readout weights get support-loss gradients 25-60x larger (hidden 32-128) than the thresholds, whose gradient
#: passes the fast-sigmoid surrogate only near threshold. The former shared 5.0 diverged on the weights (support
#: loss 2.5 -> 61 after one step at hidden 32) and barely moved the thresholds. Chosen per model on development
#: seeds' meta-train tasks (params.yaml ``ip2.inner_lr``).
DEFAULT_INNER_LR = {"intrinsic": 30.0, "point": 0.03}


def parse_mask(text: str) -> tuple[str, ...]:
    """``"threshold+tau_m"`` → ``("threshold", "tau_m")`` (validated)."""
    parts = tuple(p for p in str(text).split("+") if p)
    bad = [p for p in parts if p not in INTRINSIC]
    if bad or not parts:
        raise ConfigError(f"ip2 mask {text!r}: use '+'-joined names from {', '.join(INTRINSIC)}")
    return parts


@dataclass(frozen=True)
class IP2Config(DictConfig):
    model: str = "intrinsic"  # intrinsic | point
    recurrent: bool = True
    ways: int = 5
    shots: int = 2
    queries: int = 5
    grid: tuple[int, int] = (8, 4)
    steps: int = 10
    hidden: int = 128
    inner_lr: float | None = None  # None: DEFAULT_INNER_LR[model]
    max_steps: int = 10
    criterion: float = 0.6
    homeostasis: float = 0.1
    target_rate: float = 0.2
    outer_lr: float = 1e-2
    mask: tuple[str, ...] = INTRINSIC

    def __post_init__(self) -> None:
        if self.model not in ("intrinsic", "point"):
            raise ConfigError(f"ip2 model must be 'intrinsic' or 'point', got {self.model!r}")
        if self.inner_lr is None:
            object.__setattr__(self, "inner_lr", DEFAULT_INNER_LR[self.model])
        if not self.inner_lr > 0:
            raise ConfigError(f"ip2 {self.model}: inner_lr must be > 0, got {self.inner_lr}")
        if not 0.0 < self.criterion <= 1.0 or self.max_steps < 1:
            raise ConfigError("ip2: criterion must be in (0, 1] and max_steps >= 1")



class IntrinsicLIFNode(DecolleLIFNode):
    """DECOLLE LIF on its own synaptic current with per-neuron decays and threshold (passed explicitly)."""

    def __init__(self, surrogate_function: nn.Module | None = None):
        super().__init__(nn.Identity(), surrogate_function=surrogate_function)

    def single_step_functional_forward(self, inputs, states, alpha=None, beta=None, threshold=None, **kwargs):
        """One step (:func:`~metasnn.snn.neuron.decolle_step`, ``P`` from this step's ``Q``) with tensors
        ``alpha``, ``beta``, ``threshold`` (``[hidden]``); returns ``((U,), state)``."""
        params = self.params._replace(alpha=alpha, beta=beta, threshold=threshold, p_from_new_q=True)
        u, state = decolle_step(inputs[0], states, params)
        return (u,), state


class IntrinsicNet(nn.Module):
    """Hidden (recurrent) intrinsic-LIF layer + linear readout; run functionally over a params dict."""

    def __init__(self, config: IP2Config, seed: int = 0, spiking: bool = True):
        super().__init__()
        self.config = config
        gen = torch.Generator().manual_seed(int(seed))
        n_in, h = input_size(config.grid), config.hidden
        self.w_in = nn.Parameter(torch.randn(h, n_in, generator=gen) * (2.0 / math.sqrt(n_in)))
        self.w_rec = nn.Parameter(torch.randn(h, h, generator=gen) * (0.5 / math.sqrt(h))) if config.recurrent else None
        self.w_out = nn.Parameter(torch.randn(config.ways, h, generator=gen) * (1.0 / math.sqrt(h)))
        self.b_out = nn.Parameter(torch.zeros(config.ways))
        point = config.model == "point"
        self.threshold = nn.Parameter(torch.full((h,), 0.5))
        self.tau_m = nn.Parameter(torch.full((h,), 3.0))
        self.tau_d = nn.Parameter(torch.full((h,), 0.0 if point else 2.0))  # τ_d = 0: no dendritic filter
        self.node = IntrinsicLIFNode(FastSigmoid(spiking=spiking))

    def weight_names(self) -> list[str]:
        return [n for n in ("w_in", "w_rec", "w_out", "b_out") if getattr(self, n) is not None]

    def fast_names(self) -> tuple[str, ...]:
        """What the inner loop adapts: masked intrinsic parameters (intrinsic) or the readout (point)."""
        return ("w_out", "b_out") if self.config.model == "point" else tuple(self.config.mask)

    def run(self, params: Mapping[str, torch.Tensor], frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits [B, ways], rate [hidden])`` for ``[T, B, 2, H, W]`` frames under ``params``."""
        x = pooled_input(frames, self.config.grid, self.config.steps)
        alpha = torch.exp(-1.0 / params["tau_m"].clamp_min(0.1))
        tau_d = params["tau_d"]
        beta = torch.where(tau_d > 0.05, torch.exp(-1.0 / tau_d.clamp_min(0.05)), torch.zeros_like(tau_d))
        drive_in = x @ params["w_in"].transpose(0, 1)
        state = (0.0, 0.0, 0.0, 0.0, drive_in.new_zeros(drive_in.shape[1:]))
        spikes = []
        for t in range(drive_in.shape[0]):
            current = drive_in[t]
            if self.w_rec is not None:
                current = current + state[4] @ params["w_rec"].transpose(0, 1)
            _, state = self.node.single_step_functional_forward((current,), state, alpha=alpha, beta=beta,
                                                                threshold=params["threshold"])
            spikes.append(state[4])
        rate_per_sample = torch.stack(spikes).mean(0)  # [B, hidden]
        logits = rate_per_sample @ params["w_out"].transpose(0, 1) * 4.0 + params["b_out"]
        return logits, rate_per_sample.mean(0)

    def inner_loss(self, params: Mapping[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """Support loss of the fast level: cross-entropy + homeostatic activity penalty (``maml`` loss_fn)."""
        logits, rate = self.run(params, x)
        penalty = ((rate - self.config.target_rate) ** 2).mean()
        return F.cross_entropy(logits, y) + self.config.homeostasis * penalty, logits


def steps_to_criterion(net: IntrinsicNet, params: Mapping[str, torch.Tensor], episode: Any, *, max_steps: int | None = None,
                       second_order: bool = False) -> tuple[int, dict[str, torch.Tensor]]:
    """Inner gradient steps on ``net.fast_names()`` until support accuracy ≥ criterion; ``(steps, fast params)``."""
    cfg = net.config
    limit = cfg.max_steps if max_steps is None else max_steps
    inner = InnerLoop(steps=1, lr=cfg.inner_lr, second_order=second_order, adapt=net.fast_names())
    fast = dict(params)
    for step in range(limit + 1):
        with torch.no_grad():
            logits, _ = net.run(fast, episode.support_x)
        if accuracy(logits, episode.support_y) >= cfg.criterion or step == limit:
            return step, fast
        fast = adapt(fast, net.inner_loss, episode.support_x, episode.support_y, inner).params
    return limit, fast  # pragma: no cover - loop always returns


def select_mask(config: IP2Config, candidates: Sequence[str], episodes: Sequence[Any], seed: int
                ) -> tuple[tuple[str, ...], dict[str, float]]:
    """Slow level, part 1: the candidate mask with the fewest mean steps to criterion (ties: first listed)."""
    scores: dict[str, float] = {}
    for text in candidates:
        net = IntrinsicNet(_replace(config, mask=parse_mask(text)), seed=seed)
        params = dict(net.named_parameters())
        scores[text] = sum(steps_to_criterion(net, params, ep)[0] for ep in episodes) / len(episodes)
    best = min(candidates, key=lambda c: (scores[c], list(candidates).index(c)))
    return parse_mask(best), scores


def _replace(config: IP2Config, **kw: Any) -> IP2Config:
    d = config.to_dict()
    d.update({k: list(v) if isinstance(v, tuple) else v for k, v in kw.items()})
    return IP2Config.from_dict(d)


def run_sequence(net: IntrinsicNet, episodes: Iterable[Any], progress: Callable[[Any], Any] | None = None,
                 checkpoint: CheckpointConfig | None = None) -> list[dict[str, float]]:
    """The learning-to-learn sequence: per task, steps to criterion, then the slow update.

    intrinsic model: fast intrinsic params start from their slow values each task; after the task the
    slow weights and intrinsic initial values take one Adam step on the query loss at the adapted
    parameters (first order). point model: the readout weights adapted on a task are kept for the next.
    A task is a step of :func:`metasnn.meta.training.train_loop` (``checkpoint``: resumable).
    """
    params = dict(net.named_parameters())
    optimizer = torch.optim.Adam(params.values(), lr=net.config.outer_lr) if net.config.model == "intrinsic" else None
    items = list(episodes)

    def task_fn(k: int) -> dict[str, float]:
        ep = items[k]
        steps, fast = steps_to_criterion(net, params, ep)
        logits, _ = net.run(fast, ep.query_x)
        loss = F.cross_entropy(logits, ep.query_y)
        row = {"steps_to_criterion": steps, "query_acc": accuracy(logits.detach(), ep.query_y),
               "query_loss": float(loss.detach())}
        if optimizer is not None:
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        else:
            with torch.no_grad():
                for name in net.fast_names():
                    params[name].copy_(fast[name].detach())
        return {**row, "loss": row["query_loss"]}

    state = {"model": net, **({"optimizer": optimizer} if optimizer is not None else {})}
    rows = train_loop(task_fn, len(items), state, checkpoint=checkpoint, progress=progress).rows
    return [{"task": int(r["step"]), "steps_to_criterion": int(r["steps_to_criterion"]), "query_acc": r["query_acc"],
             "query_loss": r["query_loss"]} for r in rows]


def evaluate(net: IntrinsicNet, episodes: Iterable[Any], steps: int | None = None) -> list[float]:
    """Query accuracy per held-out task after the inner loop (to criterion, at most ``steps``), from the slow state."""
    out = []
    for ep in episodes:
        fast = adapted_params(net, ep, steps)
        with torch.no_grad():
            out.append(accuracy(net.run(fast, ep.query_x)[0], ep.query_y))
    return out


def adapted_params(net: IntrinsicNet, episode: Any, steps: int | None = None) -> dict[str, torch.Tensor]:
    """The parameters after the inner loop on ``episode``'s support (to criterion, at most ``steps``), detached."""
    params = {k: v.detach().requires_grad_(True) for k, v in net.named_parameters()}
    _, fast = steps_to_criterion(net, params, episode, max_steps=steps)
    return {k: v.detach() for k, v in fast.items()}


class IP2Evaluator:
    """:class:`~metasnn.meta.methods.EpisodeEvaluator` of a trained ip2 network."""

    def __init__(self, net: IntrinsicNet, frame_shape: tuple[int, int, int], num_steps: int):
        self.net, self.frame_shape, self.num_steps = net, tuple(frame_shape), int(num_steps)

    def __call__(self, episode: Any) -> float:
        return evaluate(self.net, [episode])[0]

    def cost(self, episode: Any):
        """Cost (:func:`metasnn.evaluation.cost.measure_cost`) of the query pass with the intrinsic parameters
        adapted on ``episode``'s support. The network multiplies its weight tensors directly (no ``nn.Linear``),
        so synaptic operations are not measured (empty); sparsity, parameter and state bytes are."""
        from metasnn.evaluation.cost import measure_cost

        fast = adapted_params(self.net, episode)
        return measure_cost(self.net, episode.query_x, forward=lambda m, x: m.run(fast, x))


def model_record(nets: Mapping[str, IntrinsicNet], dataset: Any, seed: int) -> ModelRecord:
    """The record of the models ``nets`` (intrinsic, point) trained on ``dataset`` (a loaded meta-dataset) with
    ``seed``: its config holds the settings the models share (each model's own config is in the state,
    :func:`~metasnn.model_file.networks_state`), its extra the selected mask."""
    configs = [net.config.to_dict() for net in nets.values()]
    shared = {k: v for k, v in configs[0].items() if all(c[k] == v for c in configs)}
    mask = next(iter(nets.values())).config.mask
    return ModelRecord.of("ip2", "ip2", LOADER, dataset=dataset, seed=seed, config=shared, mask=list(mask))


def build_evaluator(record: ModelRecord, state: Mapping[str, Any], model: str = "intrinsic") -> IP2Evaluator:
    """The evaluator of network ``model`` (intrinsic or point) of an ip2 model (``record`` and ``state`` of its
    ``model.pt``, :mod:`metasnn.model_file`); the loader its record names, which builds the intrinsic network."""
    net = network_from_state(state, model, lambda c: IntrinsicNet(IP2Config.from_dict(c)))
    return IP2Evaluator(net, record.frame_shape, record.num_steps)
