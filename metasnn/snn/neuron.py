"""The project's one spiking neuron: the DECOLLE-style LIF of sn22, as a spikingjelly node.

Per layer and time step (sn22 / DECOLLE code, ``LIFLayer.forward``)::

    Q ← β·Q + (1−β)·g·S_in                 synaptic trace (input shape)
    P ← α·P + (1−α)·Q_prev                 membrane trace (input shape; uses Q *before* this step's update)
    R ← α_rp·R − (1−α_rp)·w_rp·S_prev      refractory trace (output shape)
    U = W·P + b + R                         ``W·`` is the layer's synapse (Conv2d or Linear)
    S = H(U − ϑ)                            surrogate: fast sigmoid (:mod:`metasnn.snn.surrogate`)

sn22 values: α = 0.95, β = 0.9, α_rp = 0.65, w_rp = 1, ϑ = 0, input gain g = 10 on layer 0 and 1
elsewhere. ``P`` uses the previous step's ``Q`` exactly as the DECOLLE code does
(``P = alpha*state.P + (1-alpha)*state.Q``); ``p_from_new_q=True`` switches to the new ``Q``.

:class:`DecolleLIFNode` subclasses spikingjelly's :class:`~spikingjelly.activation_based.neuron.BaseNode`
and implements its explicit-state functional API: ``single_step_functional_forward`` (one step,
the synapse applied to a ``[B, ...]`` batch — the plain per-step way) and
``multi_step_functional_forward`` (time-folded: the linear Q/P filter over a block of ``T`` steps
is one ``[T, T]`` matrix product over time, the synapse runs once on the folded ``[T·B, ...]``
batch (channels-last for convs), then only the cheap refractory recurrence is scanned; without
autograd that scan runs in place). Both give the same numbers up to float rounding. States are
tuples ``(v=U, q, p, r, s)``; nothing mutates module memory, so the node is safe with explicit fast
weights (:func:`torch.func.functional_call`) and ordinary second-order autograd. The stateful
spikingjelly API (``node(x_seq)`` + ``functional.reset_net``) works too.

The per-step dynamics are written once, as a pure function in the norse style:
:func:`decolle_step` ``(x, state, params, synapse) -> (U, new_state)`` with an explicit
:class:`DecolleState` ``(U, Q, P, R, S)`` and :class:`DecolleParams` (decays, refractory constants,
threshold, gain, spike function; any of decays and threshold may be per-neuron tensors, as ip2's
intrinsic parameters). The node's single-step forward and ip2's intrinsic neuron both call it.

Other methods (HP, dsp, mp23, ip2) parameterise this node (decays, threshold, refractory weight,
input gain, surrogate slope) instead of re-implementing a LIF.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from spikingjelly.activation_based import neuron as sj_neuron
from torch import nn

from metasnn.snn.surrogate import FastSigmoid

__all__ = ["DecolleLIFNode", "DecolleParams", "DecolleState", "NodeState", "TraceKernels", "decolle_step", "spike",
           "trace_kernels"]


class DecolleState(NamedTuple):
    """State of a DECOLLE layer; entries stay Python floats (0.0) until materialised."""

    u: Any  # membrane potential U = W·P + b + R
    q: Any  # synaptic trace Q (input shape)
    p: Any  # membrane trace P (input shape)
    r: Any  # refractory trace R (output shape)
    s: Any  # spike S = H(U − ϑ) (output shape)


NodeState = DecolleState  # positional (U, Q, P, R, S): plain tuples of the same order are accepted too


class DecolleParams(NamedTuple):
    """Constants of :func:`decolle_step`; ``alpha``, ``beta`` and ``threshold`` may be per-neuron tensors."""

    alpha: Any  # decay of the membrane trace P
    beta: Any  # decay of the synaptic trace Q
    alpha_refractory: float  # decay of the refractory trace R
    w_refractory: float  # weight of the refractory trace
    threshold: Any  # firing threshold ϑ
    spike: Callable[[torch.Tensor], torch.Tensor]  # surrogate spike function H
    input_gain: float = 1.0  # gain g on the incoming spikes
    p_from_new_q: bool = False  # P from this step's Q (False: the previous Q, as DECOLLE)


def spike(u: torch.Tensor, params: DecolleParams) -> torch.Tensor:
    """``S = H(U − ϑ)`` (no subtraction for a scalar ϑ = 0)."""
    threshold = params.threshold
    if isinstance(threshold, torch.Tensor) or threshold != 0.0:
        u = u - threshold
    return params.spike(u)


def decolle_step(x: torch.Tensor, state: tuple[Any, ...], params: DecolleParams,
                 synapse: Callable[[torch.Tensor], torch.Tensor] | None = None) -> tuple[torch.Tensor, DecolleState]:
    """One DECOLLE LIF step (see the module docstring), a pure function of ``x``, ``state`` and ``params``.

    ``synapse`` is applied to ``P`` (``None``: identity, the input is already the synaptic current).
    Returns ``(U, new_state)``.
    """
    _, q, p, r, s = state
    q_new = params.beta * q  # (autograd records the operations in the order the formulas read)
    gain = 1.0 - params.beta
    if params.input_gain != 1.0:
        gain = gain * params.input_gain
    q_new = q_new + gain * x
    p = params.alpha * p + (1.0 - params.alpha) * (q_new if params.p_from_new_q else q)
    r = params.alpha_refractory * r - ((1.0 - params.alpha_refractory) * params.w_refractory) * s
    u = p if synapse is None else synapse(p)
    u = u + r
    return u, DecolleState(u, q_new, p, r, spike(u, params))


class DecolleLIFNode(sj_neuron.BaseNode):
    """DECOLLE LIF layer: presynaptic traces, a synapse, refractory trace and a surrogate spike.

    Parameters
    ----------
    synapse:
        The weight operation applied to the membrane trace ``P`` (``nn.Conv2d``, ``nn.Linear``...).
    alpha, beta:
        Decays of the membrane trace ``P`` and the synaptic trace ``Q``.
    alpha_refractory, w_refractory:
        Decay and weight of the refractory trace ``R``.
    v_threshold:
        Firing threshold ``ϑ`` (``S = H(U − ϑ)``).
    input_gain:
        Gain ``g`` on the incoming spikes (10 on sn22's first layer).
    surrogate_function:
        Spike function; default :class:`~metasnn.snn.surrogate.FastSigmoid` (slope 10).
    p_from_new_q:
        Use this step's ``Q`` in the ``P`` update (default ``False``: the previous ``Q``, as DECOLLE).
    channels_last:
        Multi-step mode: run a conv synapse on channels-last folded batches (faster on CPU).
    step_mode:
        spikingjelly step mode for the stateful API: ``"s"`` or ``"m"``.

    Both functional forwards return ``(U,)``: the membrane potential. The network decides the
    inter-layer nonlinearity (sn22: ``H(pool(U))``); the neuron's own spike ``S = H(U − ϑ)``
    drives its refractory trace and is the last entry of the state.
    """

    def __init__(
        self,
        synapse: nn.Module,
        *,
        alpha: float = 0.95,
        beta: float = 0.9,
        alpha_refractory: float = 0.65,
        w_refractory: float = 1.0,
        v_threshold: float = 0.0,
        input_gain: float = 1.0,
        surrogate_function: nn.Module | None = None,
        p_from_new_q: bool = False,
        channels_last: bool = True,
        step_mode: str = "m",
    ):
        super().__init__(
            v_threshold=float(v_threshold),
            v_reset=None,
            surrogate_function=surrogate_function if surrogate_function is not None else FastSigmoid(),
            detach_reset=False,
            step_mode=step_mode,
        )
        for name, value in (("alpha", alpha), ("beta", beta), ("alpha_refractory", alpha_refractory)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"DecolleLIFNode: {name} must be in [0, 1), got {value}")
        self.synapse = synapse
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.alpha_refractory = float(alpha_refractory)
        self.w_refractory = float(w_refractory)
        self.input_gain = float(input_gain)
        self.p_from_new_q = bool(p_from_new_q)
        self.channels_last = bool(channels_last)
        self.register_memory("q", 0.0)
        self.register_memory("p", 0.0)
        self.register_memory("r", 0.0)
        self.register_memory("s", 0.0)

    def extra_repr(self) -> str:
        return (
            f"alpha={self.alpha}, beta={self.beta}, alpha_refractory={self.alpha_refractory}, "
            f"w_refractory={self.w_refractory}, v_threshold={self.v_threshold}, input_gain={self.input_gain}, "
            f"step_mode={self.step_mode}"
        )

    @property
    def params(self) -> DecolleParams:
        """This layer's constants for :func:`decolle_step`."""
        return DecolleParams(self.alpha, self.beta, self.alpha_refractory, self.w_refractory, self.v_threshold,
                             self.surrogate_function, self.input_gain, self.p_from_new_q)

    # ------------------------------------------------------------------ states
    @staticmethod
    def initial_state() -> DecolleState:
        """The resting state ``(U, Q, P, R, S) = 0``; shapes are materialised on first use."""
        return DecolleState(0.0, 0.0, 0.0, 0.0, 0.0)

    def materialize_states(self, inputs, states, step_mode):
        """Single-step mode: turn scalar input-side traces ``Q, P`` into zero tensors shaped like one
        input step. Multi-step mode keeps scalar zeros (the folded filter skips them).

        Output-side states (``U, R, S``) may stay Python floats: they broadcast on first use.
        """
        if step_mode == "m":
            return DecolleState(*states)
        x = inputs[0]
        v, q, p, r, s = states
        return DecolleState(v, self._as_trace(q, x), self._as_trace(p, x), r, s)

    @staticmethod
    def _as_trace(value: Any, like: torch.Tensor) -> torch.Tensor:
        if isinstance(value, torch.Tensor) and value.shape == like.shape:
            return value.to(dtype=like.dtype, device=like.device)
        fill = float(value) if not isinstance(value, torch.Tensor) else 0.0
        return torch.full_like(like, fill)

    # ------------------------------------------------------------------ dynamics
    def single_step_functional_forward(self, inputs, states, **kwargs):
        """One time step on a ``[B, ...]`` input (:func:`decolle_step`); returns ``((U,), (U, Q, P, R, S))``."""
        u, state = decolle_step(inputs[0], states, self.params, self.synapse)
        return (u,), state

    def _kernels(self, steps: int, dtype: torch.dtype, device: torch.device) -> TraceKernels:
        """Impulse responses of the linear Q/P filter over ``steps`` steps (see :func:`trace_kernels`)."""
        key = (steps, dtype, device)
        cache = self.__dict__.setdefault("_kernel_cache", {})
        if key not in cache:
            k64 = trace_kernels(steps, self.alpha, self.beta, self.input_gain, self.p_from_new_q)
            cache[key] = TraceKernels(*(t.to(dtype=dtype, device=device) for t in k64[:4]), k64.q_decay)
        return cache[key]

    def filter_traces(self, x_seq: torch.Tensor, q: Any, p: Any) -> tuple[torch.Tensor, Any, Any]:
        """The Q/P filter over a whole ``[T, B, ...]`` block as one matrix product over time.

        Returns ``(P_seq, Q_T, P_T)``; ``P_seq`` keeps the memory layout of ``x_seq``. Scalar zero
        initial traces are skipped.
        """
        steps = x_seq.shape[0]
        rows, unrows = _time_rows(x_seq)
        k = self._kernels(steps, rows.dtype, rows.device)
        q_rows = None if _is_zero(q) else _time_rows(q.unsqueeze(0))[0]
        p_rows = None if _is_zero(p) else _time_rows(p.unsqueeze(0))[0]
        if q_rows is None and p_rows is None:
            p_out = k.p_from_x @ rows
        else:
            init = 0.0
            if q_rows is not None:
                init = init + k.p_from_q0.unsqueeze(1) * q_rows
            if p_rows is not None:
                init = init + k.p_from_p0.unsqueeze(1) * p_rows
            p_out = torch.addmm(init, k.p_from_x, rows)
        q_last = k.q_last_from_x @ rows
        if q_rows is not None:
            q_last = q_last + k.q_decay * q_rows[0]
        p_seq = unrows(p_out)
        return p_seq, unrows(q_last.unsqueeze(0))[0], p_seq[-1]

    def refractory_scan(self, a_seq: torch.Tensor, r: Any, s: Any) -> tuple[torch.Tensor, Any, Any]:
        """Scan ``R``, ``U = A + R``, ``S = H(U − ϑ)`` over time given the drive ``A = W·P + b``.

        ``a_seq`` is ``[T, B, ...]``. Without autograd the scan runs in place in ``a_seq`` (which
        must be a fresh tensor owned by the caller, e.g. the synapse's output).
        """
        params = self.params
        decay = params.alpha_refractory
        kick = (1.0 - params.alpha_refractory) * params.w_refractory
        if not a_seq.requires_grad:
            for t, a_t in enumerate(a_seq.unbind(0)):
                if t == 0 or not isinstance(r, torch.Tensor):
                    r = decay * r - kick * s
                else:
                    r.mul_(decay).sub_(s, alpha=kick)
                s = spike(a_t.add_(r), params)
            return a_seq, r, s
        u_steps = []
        for a_t in a_seq.unbind(0):  # unbind: one backward node (indexing a_seq[t] would cost O(T²))
            if isinstance(r, torch.Tensor) and isinstance(s, torch.Tensor):
                r = torch.add(r * decay, s, alpha=-kick)
            else:
                r = decay * r - kick * s
            u = a_t + r
            s = spike(u, params)
            u_steps.append(u)
        return _stack_like(u_steps, a_seq), r, s

    def multi_step_functional_forward(self, inputs, states, **kwargs):
        """Time-folded block on ``[T, B, ...]``; returns ``((U_seq,), (U_T, Q_T, P_T, R_T, S_T))``."""
        x_seq = inputs[0]
        _, q, p, r, s = states
        steps, batch = x_seq.shape[0], x_seq.shape[1]
        p_seq, q, p = self.filter_traces(x_seq, q, p)
        p_fold = p_seq.flatten(0, 1)
        if self.channels_last and p_fold.dim() == 4:
            p_fold = p_fold.contiguous(memory_format=torch.channels_last)
        a_seq = self.synapse(p_fold).unflatten(0, (steps, batch))
        u_seq, r, s = self.refractory_scan(a_seq, r, s)
        return (u_seq,), DecolleState(u_seq[-1], q, p, r, s)

    def _v_seq_source(self):  # spikingjelly hook: the recorded "voltage" is U
        return self.v


class TraceKernels(NamedTuple):
    """Impulse responses of the Q/P filter over ``T`` steps (row ``t`` = step ``t``)."""

    p_from_x: torch.Tensor  # [T, T] lower triangular: P_t from input x_k
    p_from_q0: torch.Tensor  # [T]: P_t from the initial Q
    p_from_p0: torch.Tensor  # [T]: P_t from the initial P
    q_last_from_x: torch.Tensor  # [T]: Q_T from input x_k
    q_decay: float  # Q_T from the initial Q (β^T)


@functools.lru_cache(maxsize=64)
def trace_kernels(steps: int, alpha: float, beta: float, gain: float, p_from_new_q: bool) -> TraceKernels:
    """Simulate the Q/P recursion on unit impulses (float64) to get its exact linear response."""
    eye = torch.eye(steps, dtype=torch.float64)
    # columns: one impulse per input step, then initial Q = 1, then initial P = 1
    x = torch.cat([eye, torch.zeros(steps, 2, dtype=torch.float64)], dim=1)
    q = torch.zeros(steps + 2, dtype=torch.float64)
    p = torch.zeros(steps + 2, dtype=torch.float64)
    q[steps], p[steps + 1] = 1.0, 1.0
    rows = []
    for t in range(steps):
        q_new = beta * q + (1.0 - beta) * gain * x[t]
        p = alpha * p + (1.0 - alpha) * (q_new if p_from_new_q else q)
        q = q_new
        rows.append(p)
    resp = torch.stack(rows)
    return TraceKernels(resp[:, :steps].contiguous(), resp[:, steps].contiguous(),
                        resp[:, steps + 1].contiguous(), q[:steps].contiguous(), float(beta**steps))


def _is_zero(value: Any) -> bool:
    return not isinstance(value, torch.Tensor) and float(value) == 0.0


def _time_rows(x: torch.Tensor) -> tuple[torch.Tensor, Any]:
    """View ``[T, ...]`` as ``[T, N]`` rows in memory order; returns ``(rows, unrows)``.

    Works for contiguous tensors and for ``[T, B, C, H, W]`` blocks of a channels-last folded
    batch (``unrows`` restores that layout), copying only for other layouts.
    """
    steps = x.shape[0]
    if x.is_contiguous():
        shape = x.shape[1:]
        return x.reshape(steps, -1), lambda r: r.view((r.shape[0], *shape))
    if x.dim() == 5:
        xp = x.permute(0, 1, 3, 4, 2)
        if xp.is_contiguous():
            shape = xp.shape[1:]
            return xp.reshape(steps, -1), lambda r: r.view((r.shape[0], *shape)).permute(0, 1, 4, 2, 3)
    x = x.contiguous()
    shape = x.shape[1:]
    return x.reshape(steps, -1), lambda r: r.view((r.shape[0], *shape))


def _stack_like(steps: list[torch.Tensor], like: torch.Tensor) -> torch.Tensor:
    """Stack per-step tensors ``[B, ...]`` into ``[T, B, ...]`` keeping a channels-last layout."""
    if steps[0].dim() == 4 and steps[0].is_contiguous(memory_format=torch.channels_last):
        return torch.cat(steps, 0).unflatten(0, (len(steps), steps[0].shape[0]))
    return torch.stack(steps)
