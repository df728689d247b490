"""mp23 (Shen et al. 2023): a meta-learned combination of plasticity-rule terms, few-shot on event data.

Per-synapse rule on pre/post spike traces (``W`` is ``[post i, pre j]``)::

    ΔW_ij = η_ij · ( A_ij · x_j · (y_i − C_ij) + B_ij · y_i + D_ij )
    W     ← (W + ΔW) / max(1, max|W + ΔW|)     (max-abs bound after every support step)
    W_episode = W / max|W|                      (max-abs normalised episode weights, used by the queries)

``x``: exponential trace of the hidden-layer spikes, ``y``: exponential trace of the output
spikes. The update is the mean over the samples presented at that step.

Few-shot use (one episode): the plastic weights start at **zero** and are built by the rule alone
while the support set is presented (all support samples in parallel, ``steps`` time bins) with the
label clamped onto the output layer as an extra current ``label_gain · onehot(y)``. Queries are
then run through the frozen episode weights, no plasticity; the logits are a learned scale times
the time-averaged output membrane. Neurons: the project's
:class:`~metasnn.snn.neuron.DecolleLIFNode` (hidden layer: ``Linear`` synapse on the pooled input,
:func:`~metasnn.plasticity.encoding.pooled_input`; output: the plastic drive fed to an identity
synapse).

Meta-parameters, trained across episodes on the query cross-entropy: the hidden layer's weights,
the readout scale and the rule tensors ``η, A, B, C, D`` (``[ways, hidden]`` each). Default meta
optimiser: gradient through the unrolled support presentation (Adam + cosine,
:class:`~metasnn.meta.outer.MetaOptimizer`); option: an antithetic evolution strategy (PGPE-style,
the original's optimiser) estimating the same gradient from loss differences.

The rule tensors take Adam steps ``rule_lr_factor`` times those of the network (the Adam update of
each rule tensor is scaled after the step, the same as a per-group learning rate under the same
cosine schedule). Why: Adam moves every element by about the learning rate whatever its gradient's
signal-to-noise ratio, and ``B, D`` (and ``C``) enter ``ΔW`` multiplied by ``η`` at every support
step, so at the network's learning rate the per-output-slot elements random-walk (the slot a class
lands on is random in every episode) by amounts comparable to the whole bounded range of ``W``:
meta-training then made the ABCD rule worse than its own initialisation, on meta-train episodes
as well as on held-out classes.

Rule variants (``mp23_rule_ablation``): ``abcd`` all four terms meta-learned; ``bd`` only
``B, D`` (no Hebbian term); ``a_only`` only ``A`` (``C = 0``: plain Hebbian ``A·x·y``);
``fixed`` the rule frozen at its initialisation (only the hidden layer and scale are
meta-learned). Initialisation (all variants): ``η = eta_init``, ``A = 1 + init_spread·N(0, 1)``
on active ``A``, ``B = C = D = 0`` — meta-training decides how much of each term to use (random
``B, D`` at the start swamp the small Hebbian products ``x·y`` and leave the rule at chance).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from metasnn.config_dict import DictConfig
from metasnn.errors import ConfigError
from metasnn.meta.maml import accuracy
from metasnn.meta.outer import MetaOptimizer
from metasnn.meta.training import CheckpointConfig, GeneratorState, TrainResult, train_loop
from metasnn.model_file import ModelRecord, network_from_state
from metasnn.plasticity.encoding import input_size, pooled_input
from metasnn.snn.neuron import DecolleLIFNode
from metasnn.snn.surrogate import FastSigmoid
from metasnn.snn.traces import exponential_trace, trace_step

__all__ = ["VARIANTS", "RULE_TERMS", "MP23Config", "rule_update", "max_abs_normalise", "MetaplasticityNet",
           "encode_episode", "es_gradient", "metatrain", "evaluate", "MP23Evaluator", "LOADER", "model_record",
           "build_evaluator"]

RULE_TERMS = ("eta", "a", "b", "c", "d")
#: the loader a trained mp23 model's record names (:func:`metasnn.model_file.load_evaluator` calls it)
LOADER = "metasnn.plasticity.metaplasticity:build_evaluator"
#: variant → (active terms, rule meta-learned)
VARIANTS: dict[str, tuple[tuple[str, ...], bool]] = {
    "abcd": (("a", "b", "c", "d"), True),
    "bd": (("b", "d"), True),
    "a_only": (("a",), True),
    "fixed": (("a", "b", "c", "d"), False),
}


@dataclass(frozen=True)
class MP23Config(DictConfig):
    """One mp23 run (all fields recorded in the model file and provenance)."""

    variant: str = "abcd"
    ways: int = 5
    shots: int = 1
    queries: int = 10  # query samples per class of the meta-training episodes
    grid: tuple[int, int] = (8, 4)
    steps: int = 10
    hidden: int = 32
    label_gain: float = 2.0
    output_threshold: float = 1.0
    trace_decay: float = 0.7
    init_spread: float = 0.1  # A = 1 + init_spread·N(0, 1); B = C = D = 0 at the start of meta-training
    eta_init: float = 10.0
    outer_steps: int = 100
    outer_lr: float = 3e-3
    final_lr_factor: float = 0.1
    rule_lr_factor: float = 0.1  # Adam steps of the rule tensors = this x those of the network (see module doc)
    meta_optimizer: str = "gradient"  # gradient | es
    es_pairs: int = 8
    es_sigma: float = 0.05
    eps: float = 1e-6

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ConfigError(f"mp23 variant {self.variant!r}: choose one of {', '.join(VARIANTS)}")
        if self.meta_optimizer not in ("gradient", "es"):
            raise ConfigError(f"mp23.meta_optimizer must be 'gradient' or 'es', got {self.meta_optimizer!r}")
        if self.steps < 1 or self.hidden < 1 or self.outer_steps < 1:
            raise ConfigError("mp23: steps, hidden and outer_steps must be >= 1")
        if not self.rule_lr_factor > 0:
            raise ConfigError(f"mp23.rule_lr_factor must be > 0, got {self.rule_lr_factor}")
        if not 0.0 <= self.trace_decay < 1.0:
            raise ConfigError(f"mp23.trace_decay must be in [0, 1), got {self.trace_decay}")


def rule_update(pre: torch.Tensor, post: torch.Tensor, eta: torch.Tensor, a: torch.Tensor, b: torch.Tensor,
                c: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """``ΔW = η ⊙ (A ⊙ x(y − C) + B ⊙ y + D)``, averaged over the batch.

    ``pre`` is ``[B, n_pre]`` (``x``), ``post`` is ``[B, n_post]`` (``y``); the result is
    ``[n_post, n_pre]``. Rule tensors broadcast against ``[n_post, n_pre]``.
    """
    batch = pre.shape[0]
    xy = post.transpose(0, 1) @ pre / batch  # mean_b y_i x_j
    x_mean = pre.mean(0).unsqueeze(0)  # mean_b x_j
    y_mean = post.mean(0).unsqueeze(1)  # mean_b y_i
    return eta * (a * (xy - c * x_mean) + b * y_mean + d)


def max_abs_normalise(w: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """``W / max|W|`` (``W`` unchanged while it is all zero)."""
    return w / w.abs().max().clamp_min(eps)


def bound_max_abs(w: torch.Tensor) -> torch.Tensor:
    """``W / max(1, max|W|)``: max-abs normalisation applied only when an entry exceeds 1."""
    return w / w.abs().max().clamp_min(1.0)


class MetaplasticityNet(nn.Module):
    """Hidden DECOLLE-LIF layer (meta-learned weights) + a plastic output layer built by the mp23 rule."""

    def __init__(self, config: MP23Config, seed: int = 0, spiking: bool = True):
        super().__init__()
        self.config = config
        gen = torch.Generator().manual_seed(int(seed))
        n_in, n_hidden, ways = input_size(config.grid), config.hidden, config.ways
        linear = nn.Linear(n_in, n_hidden)
        with torch.no_grad():
            bound = 1.0 / math.sqrt(n_in)
            linear.weight.uniform_(-bound, bound, generator=gen)
            linear.bias.uniform_(-bound, bound, generator=gen)
        surrogate = FastSigmoid(spiking=spiking)
        self.hidden = DecolleLIFNode(linear, alpha=0.8, beta=0.6, input_gain=4.0, surrogate_function=surrogate)
        self.output = DecolleLIFNode(nn.Identity(), alpha=0.8, beta=0.6, v_threshold=config.output_threshold,
                                     surrogate_function=FastSigmoid(spiking=spiking))
        active, _ = VARIANTS[config.variant]
        shape = (ways, n_hidden)
        spread = config.init_spread
        init = {
            "eta": torch.full(shape, float(config.eta_init)),
            "a": 1.0 + spread * torch.randn(shape, generator=gen),
            "b": torch.zeros(shape),
            "c": torch.zeros(shape),
            "d": torch.zeros(shape),
        }
        for term in ("a", "b", "c", "d"):
            if term not in active:  # inactive terms are zero (a_only: C = 0, plain Hebbian A·x·y)
                init[term] = torch.zeros(shape)
        self.rule = nn.ParameterDict({k: nn.Parameter(v) for k, v in init.items()})
        self.log_scale = nn.Parameter(torch.tensor(math.log(20.0)))

    # ------------------------------------------------------------------ names
    def meta_names(self) -> list[str]:
        """Parameter names the outer loop trains for this variant."""
        active, learned = VARIANTS[self.config.variant]
        names = ["hidden.synapse.weight", "hidden.synapse.bias", "log_scale"]
        if learned:
            names += ["rule.eta", *[f"rule.{t}" for t in active]]
        return names

    # ------------------------------------------------------------------ dynamics
    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """The input currents ``[steps, B, n_in]`` of ``[T, B, 2, H, W]`` frames (already encoded: unchanged)."""
        if frames.dim() == 3:
            return frames
        return pooled_input(frames, self.config.grid, self.config.steps)

    def hidden_traces(self, frames: torch.Tensor) -> torch.Tensor:
        """Pre-synaptic traces ``x`` ``[steps, B, hidden]`` of the hidden spikes for ``[T, B, 2, H, W]`` frames
        (or the input currents :meth:`encode` made of them)."""
        inp = self.encode(frames)
        (u_seq,), _ = self.hidden.multi_step_functional_forward((inp,), DecolleLIFNode.initial_state())
        spikes = self.hidden.surrogate_function(u_seq - self.hidden.v_threshold)
        return _trace(spikes, self.config.trace_decay)

    def episode_weights(self, support_x: torch.Tensor, support_y: torch.Tensor) -> torch.Tensor:
        """Build the plastic weights ``[ways, hidden]`` from zero by presenting the labelled support."""
        cfg = self.config
        x = self.hidden_traces(support_x)
        clamp = cfg.label_gain * F.one_hot(support_y, cfg.ways).to(x.dtype)
        w = x.new_zeros(cfg.ways, cfg.hidden)
        y = x.new_zeros(x.shape[1], cfg.ways)
        state = self.output.materialize_states((clamp,), DecolleLIFNode.initial_state(), "s")
        r = self.rule
        for t in range(x.shape[0]):
            drive = self.plastic_drive(x[t], w) + clamp
            _, state = self.output.single_step_functional_forward((drive,), state)
            y = trace_step(y, state[4], cfg.trace_decay, 1.0 - cfg.trace_decay)
            w = bound_max_abs(w + rule_update(x[t], y, r["eta"], r["a"], r["b"], r["c"], r["d"]))
        return max_abs_normalise(w, cfg.eps)

    def plastic_drive(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """Current of the plastic synapses: ``W·x / hidden`` (≤ 1 in magnitude after normalisation)."""
        return x @ w.transpose(0, 1) / self.config.hidden

    def query_logits(self, query_x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        x = self.hidden_traces(query_x)
        (u_seq,), _ = self.output.multi_step_functional_forward((self.plastic_drive(x, w),), DecolleLIFNode.initial_state())
        return self.log_scale.exp() * u_seq.mean(0)

    def forward(self, support_x: torch.Tensor, support_y: torch.Tensor, query_x: torch.Tensor) -> torch.Tensor:
        """Query logits ``[Q, ways]`` after building the weights on the labelled support."""
        return self.query_logits(query_x, self.episode_weights(support_x, support_y))

    def episode_loss(self, episode: Any) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self(episode.support_x, episode.support_y, episode.query_x)
        return F.cross_entropy(logits, episode.query_y), logits


def encode_episode(episode: Any, grid: tuple[int, int], steps: int) -> Any:
    """A copy of ``episode`` whose support and query frames are replaced by their input currents
    (:func:`~metasnn.plasticity.encoding.pooled_input`): every rule variant trained on the same episodes pools
    them once. The networks give the same numbers on the encoded and the raw episode."""
    return dataclasses.replace(episode, support_x=pooled_input(episode.support_x, grid, steps),
                               query_x=pooled_input(episode.query_x, grid, steps))


def _trace(spikes: torch.Tensor, decay: float) -> torch.Tensor:
    """The running average ``x ← decay·x + (1 − decay)·s`` of ``spikes`` ``[T, ...]`` over time."""
    return exponential_trace(spikes, decay, 1.0 - decay)


def es_gradient(loss_of: Callable[[], float], params: list[torch.Tensor], sigma: float, pairs: int,
                generator: torch.Generator) -> list[torch.Tensor]:
    """Antithetic evolution-strategy estimate of ``∇ loss`` (PGPE-style symmetric sampling, fixed σ).

    ``g ≈ Σ_k (L(θ + σε_k) − L(θ − σε_k)) / (2σ) · ε_k / pairs``; ``params`` are perturbed in place
    and restored.
    """
    grads = [torch.zeros_like(p) for p in params]
    with torch.no_grad():
        for _ in range(pairs):
            eps = [torch.randn(p.shape, generator=generator, dtype=p.dtype) for p in params]
            for p, e in zip(params, eps, strict=True):
                p.add_(sigma * e)
            plus = loss_of()
            for p, e in zip(params, eps, strict=True):
                p.sub_(2 * sigma * e)
            minus = loss_of()
            for p, e in zip(params, eps, strict=True):
                p.add_(sigma * e)
            for g, e in zip(grads, eps, strict=True):
                g.add_(e, alpha=(plus - minus) / (2 * sigma * pairs))
    return grads


def metatrain(config: MP23Config, dataset: Any, seed: int, *, progress: Callable[[range], Any] | None = None,
              episode: Callable[[int], Any] | None = None,
              checkpoint: CheckpointConfig | None = None) -> tuple[MetaplasticityNet, TrainResult]:
    """Meta-train ``config`` on ``dataset``'s train split (episode ``i`` = outer step ``i``).

    ``episode``: optional ``step -> Episode`` (e.g. a cache shared by the rule variants); default
    the train-split :class:`~metasnn.data.EpisodeSampler` with ``seed``. With ``checkpoint`` a killed
    run resumes (the evolution-strategies noise generator is checkpointed with the weights).
    """
    from metasnn.data import EpisodeSampler, EpisodeSpec

    torch.manual_seed(seed)
    net = MetaplasticityNet(config, seed=seed)
    params = dict(net.named_parameters())
    trainable = [params[n] for n in net.meta_names()]
    optimizer = MetaOptimizer(trainable, config.outer_lr, config.outer_steps, config.final_lr_factor, grad_clip=5.0,
                              step_scales=[config.rule_lr_factor if n.startswith("rule.") else 1.0
                                           for n in net.meta_names()])
    if episode is None:
        episode = EpisodeSampler(dataset, "train", EpisodeSpec(config.ways, config.shots, config.queries), seed=seed).episode
    gen = torch.Generator().manual_seed(10_000 + seed)

    def step_fn(step: int) -> dict[str, float]:
        ep = episode(step)
        lr = optimizer.lr
        if config.meta_optimizer == "gradient":
            loss, logits = net.episode_loss(ep)
            value, acc = float(loss.detach()), accuracy(logits.detach(), ep.query_y)
            if not math.isfinite(value):
                return {"loss": value, "acc": acc}
            norm = optimizer.step(loss)
        else:
            with torch.no_grad():
                loss, logits = net.episode_loss(ep)
                grads = es_gradient(lambda: float(net.episode_loss(ep)[0]), trainable, config.es_sigma,
                                    config.es_pairs, gen)
            value, acc = float(loss), accuracy(logits, ep.query_y)
            # the surrogate Σ θ·g has gradient g: the ES estimate goes through the same Adam step
            norm = optimizer.step(sum((p * g).sum() for p, g in zip(trainable, grads, strict=True)))
        return {"loss": value, "acc": acc, "lr": lr, "grad_norm": norm}

    result = train_loop(step_fn, config.outer_steps, {"model": net, "optimizer": optimizer, "es_noise": GeneratorState(gen)},
                        checkpoint=checkpoint, progress=progress, max_loss=1e4, divergence_hint="lower --outer-lr")
    return net, result


@torch.no_grad()
def evaluate(net: MetaplasticityNet, episodes: Any) -> list[float]:
    """Query accuracy of each episode."""
    return [accuracy(net(ep.support_x, ep.support_y, ep.query_x), ep.query_y) for ep in episodes]


class MP23Evaluator:
    """:class:`~metasnn.meta.methods.EpisodeEvaluator` of a trained mp23 network (one rule variant)."""

    def __init__(self, net: MetaplasticityNet, frame_shape: tuple[int, int, int], num_steps: int):
        self.net = net.eval()
        self.frame_shape = tuple(frame_shape)
        self.num_steps = int(num_steps)

    @torch.no_grad()
    def __call__(self, episode: Any) -> float:
        return accuracy(self.net(episode.support_x, episode.support_y, episode.query_x), episode.query_y)

    @torch.no_grad()
    def cost(self, episode: Any):
        """Cost (:func:`metasnn.evaluation.cost.measure_cost`) of the query pass with the plastic weights the rule
        built on ``episode``'s support: the hidden layer's synapse; the plastic readout ``W·x`` is a matrix
        product outside ``nn.Linear`` and is not counted."""
        from metasnn.evaluation.cost import measure_cost

        weights = self.net.episode_weights(episode.support_x, episode.support_y)
        cost = measure_cost(self.net, episode.query_x, forward=lambda m, x: m.query_logits(x, weights))
        cost.notes.append("not counted: the plastic readout W·x (a matrix product outside nn.Linear)")
        return cost


def model_record(nets: Mapping[str, MetaplasticityNet], dataset: Any, seed: int) -> ModelRecord:
    """The record of the rule variants ``nets`` trained on ``dataset`` (a loaded meta-dataset) with ``seed``: its
    config holds the settings the variants share (each variant's own config is in the state,
    :func:`~metasnn.model_file.networks_state`), its extra the variants."""
    configs = [net.config.to_dict() for net in nets.values()]
    shared = {k: v for k, v in configs[0].items() if all(c[k] == v for c in configs)}
    return ModelRecord.of("mp23", "mp23", LOADER, dataset=dataset, seed=seed, config=shared, variants=list(nets))


def build_evaluator(record: ModelRecord, state: Mapping[str, Any], variant: str = "abcd") -> MP23Evaluator:
    """The evaluator of rule variant ``variant`` of an mp23 model (``record`` and ``state`` of its ``model.pt``,
    :mod:`metasnn.model_file`); the loader its record names, which builds the ``abcd`` variant."""
    net = network_from_state(state, variant, lambda c: MetaplasticityNet(MP23Config.from_dict(c)))
    return MP23Evaluator(net, record.frame_shape, record.num_steps)
