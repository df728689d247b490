"""sn22 networks: the DECOLLE conv SNN and the non-spiking "MAML CNN" baseline.

Architecture (sn22 code fa3ec87): Conv 5×5 pad 2: 2→32, pool 2, 32→64, pool 2, 64→128, pool 2,
then a LIF linear layer → ``ways`` (1024 inputs for 32×16 frames, 3840 for 80×30).

* :class:`SN22ConvSNN` — every layer is a :class:`~metasnn.snn.neuron.DecolleLIFNode`; the next
  layer's input is ``H(pool(U))``; the readout is the output layer's membrane ``U`` at the last
  step. The first ``burn_in`` steps run without gradients; BPTT covers the rest. ``step_mode="m"``
  (default) time-folds every synapse over ``[T·B, ...]``; ``step_mode="s"`` runs the plain
  per-time-step loop (same numbers; the benchmark's peer). ``inter_layer="softsign"`` is the sn22
  *code's* non-spiking baseline (softsign instead of ``H`` between layers).
* :class:`SN22ConvCNN` — the sn22 *paper's* MAML CNN: events summed over time into one static
  2-channel image, the same conv stack with ReLU, a linear readout.

Both expose ``layers`` (a ``ModuleList`` of 4 weight layers, input first), so "freeze the first k
layers" means parameter-name prefixes ``layers.0 … layers.{k-1}`` (:func:`layer_parameter_groups`).
Forward passes take a single tensor ``[T, B, 2, H, W]`` and return logits ``[B, ways]``; use
:func:`torch.func.functional_call` to run them with explicit (fast) weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from metasnn.data.transforms import sum_pool
from metasnn.snn.neuron import DecolleLIFNode, NodeState
from metasnn.snn.surrogate import FastSigmoid, softsign

__all__ = [
    "SN22ConvSNN",
    "SN22ConvCNN",
    "conv_output_hw",
    "resolve_burn_in",
    "layer_parameter_groups",
    "pool_input",
    "SN22_NEURON",
]

#: The input sum-pooling (``input_pool``), :func:`metasnn.data.transforms.sum_pool` (its former name here).
pool_input = sum_pool

#: sn22 neuron constants (DECOLLE LIF).
SN22_NEURON = {
    "alpha": 0.95,
    "beta": 0.9,
    "alpha_refractory": 0.65,
    "w_refractory": 1.0,
    "v_threshold": 0.0,
    "first_layer_gain": 10.0,
    "surrogate_slope": 10.0,
}


def conv_output_hw(hw: Sequence[int], n_pools: int = 3, pool: int = 2) -> tuple[int, int]:
    """Spatial size after ``n_pools`` size-preserving 5×5 convs each followed by a ``pool`` pooling."""
    h, w = int(hw[0]), int(hw[1])
    for _ in range(n_pools):
        h, w = h // pool, w // pool
    return h, w


def resolve_burn_in(burn_in: int | float | None, steps: int) -> int:
    """Number of gradient-free leading steps: an ``int`` is a count, a ``float`` in ``[0, 1)`` a fraction of ``steps``.

    The gradient window always keeps at least one step.
    """
    if burn_in is None:
        return 0
    if isinstance(burn_in, bool):
        raise ValueError("burn_in must be an int (steps) or a float fraction, not a bool")
    if isinstance(burn_in, float):
        if not 0.0 <= burn_in < 1.0:
            raise ValueError(f"burn_in fraction must be in [0, 1), got {burn_in}")
        count = int(round(burn_in * steps))
    else:
        count = int(burn_in)
        if count < 0:
            raise ValueError(f"burn_in must be >= 0, got {count}")
    return min(count, steps - 1)


def _weight_layers(input_shape: Sequence[int], ways: int, channels: Sequence[int], kernel_size: int,
                   input_pool: int) -> tuple[list[nn.Module], int]:
    """The sn22 weight layers, created in order (input first): size-preserving ``kernel_size`` convs, then the
    linear readout of the pooled conv features; returns ``(layers, feature_size)``."""
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (channels, H, W), got {tuple(input_shape)}")
    if input_pool < 1:
        raise ValueError(f"input_pool must be >= 1, got {input_pool}")
    in_ch, h, w = (int(v) for v in input_shape)
    layers: list[nn.Module] = []
    prev = in_ch
    for ch in channels:
        layers.append(nn.Conv2d(prev, ch, kernel_size, padding=kernel_size // 2))
        prev = ch
    fh, fw = conv_output_hw((h // input_pool, w // input_pool), n_pools=len(channels))
    feature_size = prev * fh * fw
    if feature_size == 0:
        raise ValueError(f"input {h}x{w} is too small for {len(channels)} pooling stages")
    layers.append(nn.Linear(feature_size, int(ways)))
    return layers, feature_size


def layer_parameter_groups(model: nn.Module) -> list[list[str]]:
    """Parameter names of each entry of ``model.layers`` (input layer first)."""
    groups = []
    for i, layer in enumerate(model.layers):  # type: ignore[attr-defined]
        groups.append([f"layers.{i}.{name}" for name, _ in layer.named_parameters()])
    return groups


class _Pool(nn.Module):
    def __init__(self, kind: str, size: int = 2):
        super().__init__()
        if kind not in ("avg", "max"):
            raise ValueError(f"pooling must be 'avg' or 'max', got {kind!r}")
        self.kind, self.size = kind, size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "avg":
            return F.avg_pool2d(x, self.size)
        return F.max_pool2d(x, self.size)

    def extra_repr(self) -> str:
        return f"{self.kind}, size={self.size}"


class SN22ConvSNN(nn.Module):
    """sn22 DECOLLE conv SNN.

    Parameters
    ----------
    input_shape:
        ``(2, H, W)`` of one frame (``(2, 32, 16)`` Double N-MNIST, ``(2, 80, 30)`` Double ASL-DVS).
    ways:
        Number of output classes.
    channels, kernel_size:
        Conv stack (default ``(32, 64, 128)``, 5×5, padding 2).
    pooling:
        ``"avg"`` (sn22 fa3ec87) or ``"max"`` (the later fork).
    burn_in:
        Gradient-free leading steps (int count or float fraction; sn22: 70 of 100).
    inter_layer:
        ``"spike"`` (``H(pool(U))``, sn22) or ``"softsign"`` (the code's non-spiking baseline).
    step_mode:
        ``"m"`` time-folded (default) or ``"s"`` plain per-time-step loop.
    time_block:
        In ``"m"`` mode, fold at most this many steps at once (``None``: the whole window). Blocks
        of ~10 steps keep the folded tensors cache-sized on CPU; the numbers do not change.
    alpha, beta, alpha_refractory, w_refractory, v_threshold, first_layer_gain, surrogate_slope:
        Neuron constants (defaults: :data:`SN22_NEURON`), the decays per 1-ms step.
    dt_ms:
        Time-bin width in ms. The decays are applied as ``decay ** dt_ms`` per step, so coarser
        bins (smoke/default scales) keep sn22's time constants in real time; 1 ms = sn22.
    input_pool:
        Sum-pool the input frames ``k × k`` before the first layer (1 = sn22; a size knob for CPU
        runs on the 80×30 Double ASL-DVS frames).
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        ways: int,
        *,
        channels: Sequence[int] = (32, 64, 128),
        kernel_size: int = 5,
        pooling: str = "avg",
        burn_in: int | float = 0,
        inter_layer: str = "spike",
        step_mode: str = "m",
        time_block: int | None = None,
        alpha: float = SN22_NEURON["alpha"],
        beta: float = SN22_NEURON["beta"],
        alpha_refractory: float = SN22_NEURON["alpha_refractory"],
        w_refractory: float = SN22_NEURON["w_refractory"],
        v_threshold: float = SN22_NEURON["v_threshold"],
        first_layer_gain: float = SN22_NEURON["first_layer_gain"],
        surrogate_slope: float = SN22_NEURON["surrogate_slope"],
        dt_ms: float = 1.0,
        input_pool: int = 1,
    ):
        super().__init__()
        if dt_ms <= 0:
            raise ValueError(f"dt_ms must be > 0, got {dt_ms}")
        if inter_layer not in ("spike", "softsign"):
            raise ValueError(f"inter_layer must be 'spike' or 'softsign', got {inter_layer!r}")
        if step_mode not in ("s", "m"):
            raise ValueError(f"step_mode must be 's' or 'm', got {step_mode!r}")
        weights, self.feature_size = _weight_layers(input_shape, ways, channels, kernel_size, input_pool)
        self.input_pool = int(input_pool)
        self.input_shape = tuple(int(v) for v in input_shape)
        self.ways = int(ways)
        self.burn_in = burn_in
        self.inter_layer = inter_layer
        self.step_mode = step_mode
        self.time_block = time_block
        self.surrogate = FastSigmoid(slope=surrogate_slope)
        self.dt_ms = float(dt_ms)
        neuron_kw = dict(alpha=alpha**dt_ms, beta=beta**dt_ms, alpha_refractory=alpha_refractory**dt_ms,
                         w_refractory=w_refractory, v_threshold=v_threshold)
        self.num_conv = len(channels)
        self.layers = nn.ModuleList(
            DecolleLIFNode(synapse, input_gain=first_layer_gain if i == 0 and self.num_conv else 1.0,
                           surrogate_function=self.surrogate, **neuron_kw)
            for i, synapse in enumerate(weights))
        self.pool = _Pool(pooling)

    # ------------------------------------------------------------------ helpers
    def _activation(self, u: torch.Tensor) -> torch.Tensor:
        return self.surrogate(u) if self.inter_layer == "spike" else softsign(u)

    def initial_states(self) -> list[NodeState]:
        return [DecolleLIFNode.initial_state() for _ in self.layers]

    def _layers(self, depth: int | None) -> nn.ModuleList:
        """The first ``depth`` layers (``None``: all)."""
        return self.layers if depth is None else self.layers[:depth]

    def _run_folded(
        self, x_seq: torch.Tensor, states: list[NodeState], record: bool = False, depth: int | None = None
    ) -> tuple[torch.Tensor, list[NodeState], list[torch.Tensor]]:
        steps, batch = x_seq.shape[0], x_seq.shape[1]
        x = x_seq
        new_states, potentials = [], []
        u = x
        for i, layer in enumerate(self._layers(depth)):
            if i == self.num_conv:
                x = x.flatten(2)
            st = layer.materialize_states((x,), states[i], "m")
            (u,), st = layer.multi_step_functional_forward((x,), st)
            new_states.append(st)
            if record:
                potentials.append(u)
            if i < self.num_conv:
                u_pooled = self.pool(u.flatten(0, 1)).unflatten(0, (steps, batch))
                x = self._activation(u_pooled)
        return u, new_states, potentials

    def _run_stepwise(
        self, x_seq: torch.Tensor, states: list[NodeState], record: bool = False, depth: int | None = None
    ) -> tuple[torch.Tensor, list[NodeState], list[torch.Tensor]]:
        states = list(states)
        out_steps = []
        layers = self._layers(depth)
        per_layer: list[list[torch.Tensor]] = [[] for _ in layers]
        for t in range(x_seq.shape[0]):
            x = x_seq[t]
            for i, layer in enumerate(layers):
                if i == self.num_conv:
                    x = x.flatten(1)
                st = layer.materialize_states((x,), states[i], "s")
                (u,), states[i] = layer.single_step_functional_forward((x,), st)
                if record:
                    per_layer[i].append(u)
                if i < self.num_conv:
                    x = self._activation(self.pool(u))
            out_steps.append(u)
        potentials = [torch.stack(p) for p in per_layer] if record else []
        return torch.stack(out_steps), states, potentials

    def run(
        self, x_seq: torch.Tensor, burn_in: int | float | None = None, record: bool = False, depth: int | None = None
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Run the network; returns the output-layer ``U`` over the gradient window and (if
        ``record``) every layer's ``U`` over that window (``[T', B, ...]``, before pooling).

        ``depth``: run only the first ``depth`` layers (the last of them stands for the output layer).
        """
        if x_seq.dim() != 5:
            raise ValueError(f"expected input [T, B, C, H, W], got shape {tuple(x_seq.shape)}")
        x_seq = sum_pool(x_seq, self.input_pool)
        n_burn = resolve_burn_in(self.burn_in if burn_in is None else burn_in, x_seq.shape[0])
        states = self.initial_states()
        if n_burn > 0:
            with torch.no_grad():
                _, states, _ = self._run_blocks(x_seq[:n_burn], states, depth=depth)
            states = [tuple(v.detach() if isinstance(v, torch.Tensor) else v for v in st) for st in states]
        u_out, _, potentials = self._run_blocks(x_seq[n_burn:], states, record, depth)
        return u_out, potentials

    def _run_blocks(
        self, x_seq: torch.Tensor, states: list[NodeState], record: bool = False, depth: int | None = None
    ) -> tuple[torch.Tensor, list[NodeState], list[torch.Tensor]]:
        if self.step_mode == "s":
            return self._run_stepwise(x_seq, states, record, depth)
        block = self.time_block or x_seq.shape[0]
        if block >= x_seq.shape[0]:
            return self._run_folded(x_seq, states, record, depth)
        outs, pots = [], []
        for chunk in x_seq.split(block, dim=0):
            u, states, p = self._run_folded(chunk, states, record, depth)
            outs.append(u)
            pots.append(p)
        potentials = [torch.cat(layer_pots) for layer_pots in zip(*pots, strict=True)] if record else []
        return torch.cat(outs), states, potentials

    def forward(self, x_seq: torch.Tensor, burn_in: int | float | None = None) -> torch.Tensor:
        """Logits ``[B, ways]``: the output layer's membrane potential at the last step."""
        u_out, _ = self.run(x_seq, burn_in)
        return u_out[-1]

    def layer_potentials(self, x_seq: torch.Tensor, burn_in: int | float | None = None,
                         upto: int | None = None) -> list[torch.Tensor]:
        """Every layer's ``U`` over the gradient window (LSUV initialisation, diagnostics); with ``upto``, only
        layers ``0..upto`` are run (the later ones do not change them)."""
        return self.run(x_seq, burn_in, record=True, depth=None if upto is None else upto + 1)[1]

    @torch.no_grad()
    def head_inputs(self, x_seq: torch.Tensor) -> torch.Tensor:
        """The output layer's input over all ``T`` steps, ``[T, B, features]`` (no autograd).

        With :meth:`head_forward` this splits the network for transfer learning: the conv stack is
        run once, then only a (new) output layer is trained.
        """
        x = sum_pool(x_seq, self.input_pool)
        steps, batch = x.shape[0], x.shape[1]
        states = self.initial_states()
        for i, layer in enumerate(self.layers[: self.num_conv]):
            if self.step_mode == "m":
                (u,), _ = layer.multi_step_functional_forward((x,), layer.materialize_states((x,), states[i], "m"))
                x = self._activation(self.pool(u.flatten(0, 1)).unflatten(0, (steps, batch)))
            else:
                st, outs = states[i], []
                for t in range(steps):
                    st = layer.materialize_states((x[t],), st, "s")
                    (u_t,), st = layer.single_step_functional_forward((x[t],), st)
                    outs.append(self._activation(self.pool(u_t)))
                x = torch.stack(outs)
        return x.flatten(2)

    def head_forward(self, h_seq: torch.Tensor, head: DecolleLIFNode | None = None,
                     burn_in: int | float | None = None) -> torch.Tensor:
        """Logits from output-layer inputs ``h_seq`` (:meth:`head_inputs`) through ``head``
        (default: this network's output layer), with the same burn-in rule as :meth:`forward`."""
        head = self.layers[-1] if head is None else head
        n_burn = resolve_burn_in(self.burn_in if burn_in is None else burn_in, h_seq.shape[0])
        state = DecolleLIFNode.initial_state()
        if n_burn > 0:
            with torch.no_grad():
                _, state = head.multi_step_functional_forward((h_seq[:n_burn],), state)
            state = tuple(v.detach() if isinstance(v, torch.Tensor) else v for v in state)
        (u,), _ = head.multi_step_functional_forward((h_seq[n_burn:],), state)
        return u[-1]

    def new_head(self, ways: int) -> DecolleLIFNode:
        """A fresh output layer for ``ways`` classes with this network's neuron constants (zero weights)."""
        old = self.layers[-1]
        lin = nn.Linear(old.synapse.in_features, ways).to(old.synapse.weight.dtype)
        nn.init.zeros_(lin.weight)
        nn.init.zeros_(lin.bias)
        return DecolleLIFNode(lin, alpha=old.alpha, beta=old.beta, alpha_refractory=old.alpha_refractory,
                              w_refractory=old.w_refractory, v_threshold=old.v_threshold, input_gain=old.input_gain,
                              surrogate_function=self.surrogate)


class SN22ConvCNN(nn.Module):
    """sn22 paper's non-spiking MAML CNN: time-summed event image, conv stack with ReLU.

    Parameters
    ----------
    input_shape, ways, channels, kernel_size, pooling:
        As :class:`SN22ConvSNN`.
    input_scale:
        Multiplies the time-summed event counts (default 1: plain sums, as the paper).
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        ways: int,
        *,
        channels: Sequence[int] = (32, 64, 128),
        kernel_size: int = 5,
        pooling: str = "avg",
        input_scale: float = 1.0,
        dt_ms: float = 1.0,
        input_pool: int = 1,
    ):
        super().__init__()
        weights, self.feature_size = _weight_layers(input_shape, ways, channels, kernel_size, input_pool)
        self.input_pool = int(input_pool)
        self.input_shape = tuple(int(v) for v in input_shape)
        self.ways = int(ways)
        self.input_scale = float(input_scale)
        self.layers = nn.ModuleList(weights)
        self.pool = _Pool(pooling)
        self.num_conv = len(channels)

    def _preactivations(self, x_seq: torch.Tensor, depth: int | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        if x_seq.dim() != 5:
            raise ValueError(f"expected input [T, B, C, H, W], got shape {tuple(x_seq.shape)}")
        x = sum_pool(x_seq, self.input_pool).sum(0) * self.input_scale
        pre = []
        for i, layer in enumerate(self.layers if depth is None else self.layers[:depth]):
            if i == self.num_conv:
                x = x.flatten(1)
            z = layer(x)
            pre.append(z)
            x = self.pool(F.relu(z)) if i < self.num_conv else z
        return x, pre

    def forward(self, x_seq: torch.Tensor, burn_in: int | float | None = None) -> torch.Tensor:
        """Logits ``[B, ways]`` (``burn_in`` is accepted for interface parity and ignored)."""
        return self._preactivations(x_seq)[0]

    def layer_potentials(self, x_seq: torch.Tensor, burn_in: int | float | None = None,
                         upto: int | None = None) -> list[torch.Tensor]:
        """Every layer's pre-activation (LSUV initialisation, diagnostics); with ``upto``, layers ``0..upto`` only."""
        return self._preactivations(x_seq, None if upto is None else upto + 1)[1]
