"""Hybrid plasticity (HP, wu22): a globally trained weight ``W`` plus a local Hebbian trace ``P``.

Per layer and time step (wu22 code ``mem_update_plastic``; spec ``methods.md`` HP section)::

    I = W·x + b + α·(x @ P)                                   plastic current
    u ← (u − θ_th·s)·decay + I,   s = H(u − θ_th)             wu22 neuron (θ_th = 0.4, decay = 0.4)
    P ← clamp(λ·P + mean_batch[(x ⊙ η_pre)ᵀ ⊗ post(u)], −c, c)   after the membrane update
    post(u) = tanh(u/θ_th − β_post)        ("code" form: β is the sliding threshold inside tanh)
            | tanh(u/θ_th) + β_post        ("additive" form: the spec's literal ρ(u) + β)
            | softmax(u − β_post)          ("softmax": wu22's few-shot code, competitive across neurons)

with λ = 0.99, c = 4 and the layer-wise meta-parameters θ = {α (scalar), η_pre (per input),
β_post (per neuron)}, initialised U(0, 0.01). Naming: wu22's code calls the per-input learning
rate ``beta`` and the per-neuron sliding threshold ``eta``; we use the spec's names η_pre, β_post.

The neuron is the project's one neuron, :class:`~metasnn.snn.neuron.DecolleLIFNode`, with an
identity synapse fed the drive ``I``: with ``β = 0``, ``p_from_new_q``, gain ``1/(1−decay)`` its
membrane trace is ``P_t = decay·P_{t−1} + I_t`` and its refractory trace (decay ``decay``, weight
``decay·θ_th/(1−decay)``) is ``−θ_th·Σ_k decay^k s_{t−k}``, so ``U = P + R`` is exactly wu22's
``u_t = decay·(u_{t−1} − θ_th·s_{t−1}) + I_t`` (see :func:`wu22_node`). The surrogate is wu22's box
(:class:`~metasnn.snn.surrogate.Box`, half-width 0.5).

State reset policy (``reset``):

* ``sample`` (default): one trace per sample, zero at the start of every forward pass, so a
  sample's prediction never depends on the rest of its batch ("mean_batch" is over that sample).
* ``episode``: one trace shared by the batch (mean over the batch), zero at every forward pass —
  a batch is an episode.
* ``carried`` (wu22 code): one shared trace carried across batches; the training loop commits the
  trace after each training batch (:meth:`HPNetwork.commit_traces`) and evaluation starts from it.

Readout (wu22 code): the output layer's membrane at the last step divided by θ_th, trained with
MSE to one-hot targets (``readout="mean"``: the membrane averaged over the T steps instead, used by
the Table S1 inference network, :mod:`metasnn.hardware.inference`). The code also clamps it at 1.1
from above (``readout_clamp=1.1``); off by default, because on our data the clamp lets training
collapse (all outputs above 1.1 get no gradient).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from metasnn.config_dict import DictConfig
from metasnn.data.transforms import sum_pool
from metasnn.snn.neuron import DecolleLIFNode, NodeState
from metasnn.snn.surrogate import Box

__all__ = [
    "HPConfig",
    "HPLinear",
    "HPNetwork",
    "HPRun",
    "RESET_POLICIES",
    "READOUTS",
    "POST_FORMS",
    "META_PARAMETERS",
    "wu22_node",
    "hebbian_update",
    "plastic_current",
    "prepare_inputs",
    "FactoredTrace",
]

RESET_POLICIES = ("sample", "episode", "carried")
POST_FORMS = ("code", "additive", "softmax")
READOUTS = ("last", "mean")
META_PARAMETERS = ("alpha", "eta_pre", "beta_post")


@dataclass(frozen=True)
class HPConfig(DictConfig):
    """Constants of the wu22 HP layer (spec values by default)."""

    threshold: float = 0.4
    decay: float = 0.4
    surrogate_half_width: float = 0.5
    trace_decay: float = 0.99  # λ
    trace_clamp: float = 4.0
    meta_init: float = 0.01  # θ ~ U(0, meta_init)
    post_form: str = "code"
    reset: str = "sample"
    readout_clamp: float | None = None  # wu22 code clamps the readout at 1.1 (max); None: no clamp
    readout: str = "last"  # last: output membrane at the last step (wu22) | mean: averaged over the T steps
    factored: bool = True  # per-sample traces as exact low-rank factors while the clamp cannot bind

    def __post_init__(self) -> None:
        if self.reset not in RESET_POLICIES:
            raise ValueError(f"HPConfig.reset must be one of {RESET_POLICIES}, got {self.reset!r}")
        if self.post_form not in POST_FORMS:
            raise ValueError(f"HPConfig.post_form must be one of {POST_FORMS}, got {self.post_form!r}")
        if not 0.0 <= self.decay < 1.0:
            raise ValueError(f"HPConfig.decay must be in [0, 1), got {self.decay}")
        if self.readout not in READOUTS:
            raise ValueError(f"HPConfig.readout must be one of {READOUTS}, got {self.readout!r}")


def wu22_node(threshold: float = 0.4, decay: float = 0.4, half_width: float = 0.5) -> DecolleLIFNode:
    """The wu22 neuron ``u ← (u − θ·s)·decay + I, s = H(u − θ)`` as a parameterised DecolleLIFNode.

    The node's input is the drive ``I`` (identity synapse); see the module docstring.
    """
    return DecolleLIFNode(
        nn.Identity(),
        alpha=decay,
        beta=0.0,
        alpha_refractory=decay,
        w_refractory=decay * threshold / (1.0 - decay),
        v_threshold=threshold,
        input_gain=1.0 / (1.0 - decay),
        surrogate_function=Box(half_width),
        p_from_new_q=True,
        step_mode="s",
    )


@dataclass
class FactoredTrace:
    """Per-sample traces that started at zero, kept as their Hebbian factors (exact, cheaper).

    While the clamp cannot bind, ``P = Σ_k λ^(n−1−k) pre_kᵀ ⊗ post_k`` (``pre_k = x_k ⊙ η``) and
    ``x @ P = Σ_k λ^(n−1−k) (x·pre_k) post_k`` costs O(n·B·(n_in + n_out)) instead of
    O(B·n_in·n_out). ``bound[b, i] ≥ max_j |P[b, i, j]|`` is tracked; once it reaches the clamp
    value the trace is materialised (:meth:`dense`) and updated densely from then on.
    """

    pres: list[torch.Tensor]  # [B, n_in] each
    posts: list[torch.Tensor]  # [B, n_out] each
    bound: torch.Tensor  # [B, n_in], detached
    n_out: int

    def coefficients(self, decay: float, like: torch.Tensor) -> torch.Tensor:
        n = len(self.pres)
        return torch.tensor([decay ** (n - 1 - k) for k in range(n)], dtype=like.dtype, device=like.device)

    def current(self, x: torch.Tensor, decay: float) -> torch.Tensor:
        if not self.pres:
            return x.new_zeros(x.shape[0], self.n_out)
        dots = torch.einsum("bi,kbi->kb", x, torch.stack(self.pres)) * self.coefficients(decay, x)[:, None]
        return torch.einsum("kb,kbo->bo", dots, torch.stack(self.posts))

    def dense(self, decay: float) -> torch.Tensor:
        """The materialised per-sample trace ``[B, n_in, n_out]``."""
        b, n_in = self.bound.shape
        if not self.pres:
            return self.bound.new_zeros(b, n_in, self.n_out)
        pres = torch.stack(self.pres) * self.coefficients(decay, self.bound)[:, None, None]
        return torch.einsum("kbi,kbo->bio", pres, torch.stack(self.posts))


def plastic_current(x: torch.Tensor, trace: torch.Tensor | FactoredTrace, decay: float = 0.99) -> torch.Tensor:
    """``x @ P`` for a shared trace ``[n_in, n_out]``, per-sample traces ``[B, n_in, n_out]`` or a
    :class:`FactoredTrace` (``decay`` = λ, used by the factored form only)."""
    if isinstance(trace, FactoredTrace):
        return trace.current(x, decay)
    if trace.dim() == 2:
        return x @ trace
    return torch.bmm(x.unsqueeze(1), trace).squeeze(1)


def hebbian_update(
    trace: torch.Tensor | FactoredTrace,
    x: torch.Tensor,
    u: torch.Tensor,
    eta_pre: torch.Tensor,
    beta_post: torch.Tensor,
    config: HPConfig,
) -> torch.Tensor | FactoredTrace:
    """One step of ``P ← clamp(λP + mean_batch[(x ⊙ η_pre)ᵀ ⊗ post(u)], −c, c)``.

    A per-sample trace ``[B, n_in, n_out]`` (or :class:`FactoredTrace`) gets each sample's own
    outer product; a shared trace ``[n_in, n_out]`` gets the batch mean.
    """
    if config.post_form == "code":
        post = torch.tanh(u / config.threshold - beta_post)
    elif config.post_form == "additive":
        post = torch.tanh(u / config.threshold) + beta_post
    else:  # wu22 few-shot code: competitive post term across the output neurons
        post = torch.softmax(u - beta_post, dim=-1)
    pre = x * eta_pre
    if isinstance(trace, FactoredTrace):
        with torch.no_grad():
            bound = config.trace_decay * trace.bound + pre.abs() * post.abs().amax(dim=1, keepdim=True)
        if float(bound.max()) < config.trace_clamp:
            return FactoredTrace([*trace.pres, pre], [*trace.posts, post], bound, trace.n_out)
        trace = trace.dense(config.trace_decay)
    if trace.dim() == 2:
        hebb = pre.t() @ post / x.shape[0]
    else:
        hebb = pre.unsqueeze(2) * post.unsqueeze(1)
    return (config.trace_decay * trace + hebb).clamp(-config.trace_clamp, config.trace_clamp)


class HPLinear(nn.Module):
    """One fully connected layer of wu22 neurons, optionally with a Hebbian trace.

    Parameters
    ----------
    n_in, n_out : int
    plastic : bool
        ``False`` gives the GP layer (α = 0, no trace).
    config : HPConfig
    generator : torch.Generator, optional
        Seeds the weight and meta-parameter initialisation.
    """

    def __init__(self, n_in: int, n_out: int, *, plastic: bool = True, config: HPConfig | None = None,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.config = config or HPConfig()
        self.n_in, self.n_out, self.plastic = int(n_in), int(n_out), bool(plastic)
        self.synapse = nn.Linear(n_in, n_out)
        bound = 1.0 / n_in**0.5  # nn.Linear's default range, drawn from our generator
        with torch.no_grad():
            self.synapse.weight.uniform_(-bound, bound, generator=generator)
            self.synapse.bias.uniform_(-bound, bound, generator=generator)
        if self.plastic:
            scale = self.config.meta_init
            self.alpha = nn.Parameter(torch.rand(1, generator=generator) * scale)
            self.eta_pre = nn.Parameter(torch.rand(n_in, generator=generator) * scale)
            self.beta_post = nn.Parameter(torch.rand(n_out, generator=generator) * scale)
        self.node = wu22_node(self.config.threshold, self.config.decay, self.config.surrogate_half_width)

    def extra_repr(self) -> str:
        return f"n_in={self.n_in}, n_out={self.n_out}, plastic={self.plastic}"

    def zero_trace(self, batch: int, shared: bool, like: torch.Tensor) -> torch.Tensor | FactoredTrace:
        if shared:
            return torch.zeros(self.n_in, self.n_out, dtype=like.dtype, device=like.device)
        if self.config.factored:
            return FactoredTrace([], [], torch.zeros(batch, self.n_in, dtype=like.dtype, device=like.device), self.n_out)
        return torch.zeros(batch, self.n_in, self.n_out, dtype=like.dtype, device=like.device)

    def step(self, x: torch.Tensor, state: NodeState, trace: torch.Tensor | None
             ) -> tuple[torch.Tensor, torch.Tensor, NodeState, torch.Tensor | None]:
        """One time step: returns ``(spikes, membrane, node_state, trace)``."""
        drive = self.synapse(x)
        if self.plastic:
            drive = drive + self.alpha * plastic_current(x, trace, self.config.trace_decay)
        _, state = self.node.single_step_functional_forward((drive,), state)
        u, s = state[0], state[4]  # node state (U, Q, P, R, S)
        if self.plastic:
            trace = hebbian_update(trace, x, u, self.eta_pre, self.beta_post, self.config)
        return s, u, state, trace


@dataclass
class HPRun:
    """Everything one forward pass produced."""

    outputs: torch.Tensor  # [B, n_out] readout
    spikes: list[torch.Tensor] = field(default_factory=list)  # per layer [T, B, n_out]
    last_membranes: list[torch.Tensor] = field(default_factory=list)  # per layer [B, n_out] at the last step
    traces: list[torch.Tensor | FactoredTrace | None] = field(default_factory=list)  # per layer, after the last step

    def dense_traces(self, decay: float) -> list[torch.Tensor | None]:
        """The traces as tensors (factored per-sample traces materialised)."""
        return [t.dense(decay) if isinstance(t, FactoredTrace) else t for t in self.traces]


class HPNetwork(nn.Module):
    """A stack of :class:`HPLinear` layers (wu22 fault-tolerance net: input → 512 → 10).

    Parameters
    ----------
    sizes : sequence of int
        ``[n_in, hidden..., n_out]``.
    plastic : sequence of bool or bool
        Per weight layer (``False`` everywhere = GP).
    config : HPConfig
    seed : int
        Initialisation seed.
    """

    def __init__(self, sizes: Sequence[int], plastic: Sequence[bool] | bool = True, config: HPConfig | None = None,
                 seed: int = 0):
        super().__init__()
        self.config = config or HPConfig()
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2:
            raise ValueError(f"HPNetwork needs at least [n_in, n_out], got {sizes}")
        n_layers = len(sizes) - 1
        flags = [bool(plastic)] * n_layers if isinstance(plastic, bool) else [bool(p) for p in plastic]
        if len(flags) != n_layers:
            raise ValueError(f"plastic has {len(flags)} entries for {n_layers} layers")
        gen = torch.Generator().manual_seed(int(seed))
        self.sizes = sizes
        self.layers = nn.ModuleList(
            HPLinear(sizes[i], sizes[i + 1], plastic=flags[i], config=self.config, generator=gen) for i in range(n_layers))
        for i, layer in enumerate(self.layers):
            if layer.plastic and self.config.reset == "carried":
                self.register_buffer(f"carried_trace_{i}", torch.zeros(layer.n_in, layer.n_out))

    # ------------------------------------------------------------------ parameters
    def weight_names(self) -> list[str]:
        """Globally trained weights ``W, b`` (``layers.i.synapse.*``)."""
        return [n for n, _ in self.named_parameters() if ".synapse." in n]

    def meta_names(self) -> list[str]:
        """Meta-parameters θ = {α, η_pre, β_post} of every plastic layer."""
        return [n for n, _ in self.named_parameters() if n.rsplit(".", 1)[-1] in META_PARAMETERS]

    def state_elements_per_sample(self, inputs: torch.Tensor) -> int:
        """Per-sample state: the node's (U, Q, P, R, S) per neuron plus, when the trace is per sample,
        its ``n_in × n_out`` entries (shared traces belong to the batch, not to a sample)."""
        total = 0
        for layer in self.layers:
            total += 5 * layer.n_out
            if layer.plastic and self.config.reset == "sample":
                total += layer.n_in * layer.n_out
        return total

    # ------------------------------------------------------------------ traces
    def initial_traces(self, x: torch.Tensor) -> list[torch.Tensor | None]:
        batch = x.shape[1]
        traces: list[torch.Tensor | None] = []
        for i, layer in enumerate(self.layers):
            if not layer.plastic:
                traces.append(None)
            elif self.config.reset == "carried":
                traces.append(getattr(self, f"carried_trace_{i}").to(x.dtype))
            else:
                traces.append(layer.zero_trace(batch, self.config.reset == "episode", x))
        return traces

    @torch.no_grad()
    def commit_traces(self, traces: Sequence[torch.Tensor | None]) -> None:
        """Carried mode: keep the traces of a training batch for the next batch (and evaluation)."""
        if self.config.reset != "carried":
            return
        for i, t in enumerate(traces):
            if t is not None:
                getattr(self, f"carried_trace_{i}").copy_(t.detach())

    # ------------------------------------------------------------------ forward
    def run(self, x_seq: torch.Tensor, traces: Sequence[torch.Tensor | None] | None = None,
            record: bool = False) -> HPRun:
        """Simulate ``x_seq [T, B, n_in]``; ``record`` keeps the spikes of every layer."""
        traces = list(self.initial_traces(x_seq) if traces is None else traces)
        states: list[NodeState] = [DecolleLIFNode.initial_state() for _ in self.layers]
        spikes: list[list[torch.Tensor]] = [[] for _ in self.layers]
        membranes: list[torch.Tensor] = [x_seq.new_zeros(())] * len(self.layers)
        summed = x_seq.new_zeros(())  # output membrane summed over steps (readout "mean")
        for x_t in x_seq.unbind(0):
            h = x_t
            for i, layer in enumerate(self.layers):
                s, u, states[i], traces[i] = layer.step(h, states[i], traces[i])
                membranes[i] = u
                if record:
                    spikes[i].append(s.detach())
                h = s
            if self.config.readout == "mean":
                summed = summed + membranes[-1]
        out = (membranes[-1] if self.config.readout == "last" else summed / x_seq.shape[0]) / self.config.threshold
        if self.config.readout_clamp is not None:
            out = out.clamp(max=self.config.readout_clamp)
        return HPRun(outputs=out, spikes=[torch.stack(s) for s in spikes] if record else [],
                     last_membranes=membranes, traces=traces)

    def forward(self, x_seq: torch.Tensor, return_run: bool = False) -> torch.Tensor | HPRun:
        """Readout ``[B, n_out]`` (for :func:`torch.func.functional_call` / the MAML machinery);
        ``return_run=True`` returns the whole :class:`HPRun` (traces for the carried mode)."""
        run = self.run(x_seq)
        return run if return_run else run.outputs


def prepare_inputs(frames: torch.Tensor, pool: int = 1, binarize: bool = True) -> torch.Tensor:
    """Event-count frames ``[T, B, 2, H, W]`` → network input ``[T, B, 2·(H//pool)·(W//pool)]``.

    ``pool`` > 1 sums counts over ``pool × pool`` blocks; ``binarize`` turns counts into spikes (1 where
    any event fell in the bin), so input rates are spikes per input per step.
    """
    x = sum_pool(frames, pool)
    if binarize:
        x = (x > 0).to(frames.dtype)
    return x.flatten(2)
