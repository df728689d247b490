"""Meta-training step speed and peak memory of the sn22 network: time-folded vs plain per-step vs snnTorch.

Paper sizes by default: Double N-MNIST frames 2×32×16, T = 100 steps (burn-in 70), 5-way 1-shot,
10 queries per class, channels 32-64-128, inner SGD lr 1.0 (1 step), Adam outer step. All three
implementations compute the maths of :class:`metasnn.snn.SN22ConvSNN` with the same weights:

* ``folded`` — ``step_mode="m"``: the Q/P filter over time is one matrix product, every synapse runs
  once on the folded ``[T·B, ...]`` batch (channels-last convs), only the refractory recurrence is
  scanned; the gradient-free burn-in runs in place;
* ``plain`` — ``step_mode="s"``: the usual Python loop over time steps applying conv + neuron per
  step (spikingjelly's single-step functional path), burn-in under ``torch.no_grad``;
* ``snntorch`` — :class:`SnnTorchSN22`: the same network written the way an snnTorch user writes
  it, with the real ``snntorch`` package (1.0.0; ``scripts/install.sh`` installs it with
  ``--no-deps``; it imports nothing but ``torch``): a Python loop over time steps, per layer the
  synapse then stateful snnTorch neurons called as ``spk, syn, mem = lif(cur, syn, mem)`` /
  ``spk, mem = lif(cur, mem)`` with explicit per-step state tensors, burn-in steps under
  ``torch.no_grad()``, the readout membrane recorded per step (``mem_rec.append(u)``). The sn22
  neuron maps onto snnTorch's classes as follows (all exact in real arithmetic):

  - Q/P traces (two decays) → ``snntorch.Synaptic(alpha=β, beta=α, reset_mechanism="none")`` on the
    layer's *input* (DECOLLE's traces are presynaptic, so the conv stays ``nn.Conv2d`` with its bias
    and does the same arithmetic as ``plain``), fed ``(1−α)(1−β)·g·S_in``: then ``syn = (1−α)·Q`` and
    ``mem`` after step ``t`` is the ``P`` of step ``t+1``. DECOLLE's ``P`` uses the *previous* ``Q``,
    so the synapse reads the Synaptic ``mem`` from *before* this step's call;
  - refractory trace ``R`` (its own decay α_rp) → ``snntorch.Leaky(beta=α_rp, reset_mechanism="none")``
    fed ``−(1−α_rp)·w_rp·S_prev``. snnTorch's built-in reset cannot be used: it is detached
    (``mem_reset`` returns ``spike.detach()``) and decays with the membrane, while sn22's refractory
    kick carries gradient and decays with α_rp;
  - ``U = W·P + b + R``, ``S = H(U − ϑ)`` and the inter-layer ``H(pool(U))`` →
    ``snntorch.surrogate.fast_sigmoid(slope=10)``: Heaviside forward, ``1/(10·|x|+1)²`` backward,
    written with differentiable ops, so second-order MAML runs through it (its second derivative is
    the project surrogate's). Its forward returns ``(x > 0).float()``, i.e. float32 whatever the
    input dtype, so the spikes are cast back to the model dtype (a no-op in the float32 benchmark;
    the float64 check needs it). In float64 the gradient through every spike is therefore rounded
    to float32: meta-gradients agree with ``plain`` to ~1e-7 relative (1e-14 with a dtype-keeping
    spike), the meta-loss to ~1e-12 at paper sizes.

  The decays are given to snnTorch as tensors of the model dtype (``torch.as_tensor(0.9)`` would be
  float32, and a float32 0.9 would change the float64 check). The snnTorch neurons also compute the
  work their API does on every call that this network does not use (the spike of ``mem`` and the
  detached reset signal, with ``reset_mechanism="none"`` too, and ``clamp(0, 1)`` of the decays):
  that is part of what an snnTorch user pays.

Each (implementation, order) is measured in its own subprocess so its peak RSS is its own. The
meta-loss of every implementation on the same episode and weights is compared in float64 (must
agree to 1e-5; ``snntorch`` vs ``plain`` differ only by rounding, see above) and in
float32 (reported only: float32 rounding differs between a folded and a per-step convolution, a
potential within rounding of the threshold then spikes in one and not the other, and the inner step
amplifies such flips, so float32 losses differ at the 1e-2 level). Even float64 can flip one spike:
with ``--time-block 5`` the adapted weights of folded and plain differ by 9e-17 and the meta-loss by
1.2e-3, while at equal fast weights the logits agree to 2e-16.

Each child also profiles one more step and sums the self time of the convolution kernels
(forward, backward, double backward): that arithmetic is the same in any implementation with
identical maths, so ``plain (or snntorch) step time / folded convolution time`` is an upper bound on
the speed-up a reformulation can reach on the machine; the report prints it beside the measured one.
Output: a table on stdout and JSON (``--out``).

    python -m benchmarks.bench_metatrain                 # paper sizes, CPU, 1 thread
    python -m benchmarks.bench_metatrain --measure-steps 2 --threads 2 --out bench.json
    python -m benchmarks.bench_metatrain --device cuda --time-block 0 --out bench-gpu.json   # H200
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

#: the measured implementations: the time-folded network first, then the per-step peers it is compared with
IMPLS = ("folded", "plain", "snntorch")
PEERS = IMPLS[1:]


def _episode(args: argparse.Namespace, dtype: torch.dtype, seed: int = 0):
    from types import SimpleNamespace

    g = torch.Generator().manual_seed(seed)
    shape = (2, args.height, args.width)
    support = (torch.rand(args.steps_t, args.ways * args.shots, *shape, generator=g) < args.rate).to(dtype)
    query = (torch.rand(args.steps_t, args.ways * args.queries, *shape, generator=g) < args.rate).to(dtype)
    return SimpleNamespace(support_x=support, support_y=torch.arange(args.ways).repeat_interleave(args.shots),
                           query_x=query, query_y=torch.arange(args.ways).repeat_interleave(args.queries))


class SnnTorchSN22(nn.Module):
    """The sn22 conv SNN of ``ref`` (its weights copied, its neuron constants) written the snnTorch
    way: a loop over time steps, per layer synapse → stateful ``snntorch`` neurons with explicit
    per-step state tensors. How the sn22 neuron maps onto ``snntorch.Synaptic`` / ``Leaky`` /
    ``surrogate.fast_sigmoid``: the module docstring. Takes and returns what ``ref`` does
    (``[T, B, 2, H, W]`` → logits ``[B, ways]``, the output layer's ``U`` at the last step)."""

    def __init__(self, ref: nn.Module):
        import copy

        import snntorch as snn
        from snntorch import surrogate

        super().__init__()
        if ref.inter_layer != "spike" or any(layer.p_from_new_q for layer in ref.layers):
            raise ValueError("SnnTorchSN22 implements sn22's spiking network (inter_layer='spike', P from previous Q)")
        dtype = ref.layers[0].synapse.weight.dtype
        spike = surrogate.fast_sigmoid(slope=ref.surrogate.slope)

        def decay(value: float) -> torch.Tensor:  # in the model dtype: as_tensor(float) would be float32
            return torch.tensor(value, dtype=dtype)

        self.synapses = nn.ModuleList(copy.deepcopy(layer.synapse) for layer in ref.layers)
        self.traces = nn.ModuleList(snn.Synaptic(alpha=decay(layer.beta), beta=decay(layer.alpha), spike_grad=spike,
                                                 reset_mechanism="none") for layer in ref.layers)
        self.refractory = nn.ModuleList(snn.Leaky(beta=decay(layer.alpha_refractory), spike_grad=spike,
                                                  reset_mechanism="none") for layer in ref.layers)
        self.trace_gain = [(1.0 - layer.alpha) * (1.0 - layer.beta) * layer.input_gain for layer in ref.layers]
        self.kick = [(1.0 - layer.alpha_refractory) * layer.w_refractory for layer in ref.layers]
        self.threshold = [layer.v_threshold for layer in ref.layers]
        self.spike = spike
        self.pool = copy.deepcopy(ref.pool)
        self.num_conv, self.burn_in, self.input_pool = ref.num_conv, ref.burn_in, ref.input_pool

    def _step(self, x: torch.Tensor, states: list) -> torch.Tensor:
        """One time step through every layer; updates ``states`` (per layer ``[syn, mem, r, spk]``) and
        returns the output layer's ``U``."""
        for i, (synapse, trace, refractory) in enumerate(zip(self.synapses, self.traces, self.refractory, strict=True)):
            if i == self.num_conv:
                x = x.flatten(1)
            if states[i] is None:
                states[i] = [torch.zeros_like(x), torch.zeros_like(x), None, None]
            syn, mem, r, spk = states[i]
            cur = synapse(mem)  # W·P + b: P is the trace before this step's update (DECOLLE)
            _, syn, mem = trace(self.trace_gain[i] * x, syn, mem)
            if r is None:
                r = spk = torch.zeros_like(cur)
            _, r = refractory(-self.kick[i] * spk, r)
            u = cur + r
            spk = self.spike(u - self.threshold[i]).to(u.dtype)  # snnTorch spikes are float32
            states[i] = [syn, mem, r, spk]
            if i < self.num_conv:
                x = self.spike(self.pool(u)).to(u.dtype)
        return u

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        from metasnn.snn import pool_input, resolve_burn_in

        x_seq = pool_input(x_seq, self.input_pool)
        n_burn = resolve_burn_in(self.burn_in, x_seq.shape[0])
        states: list = [None] * len(self.synapses)
        with torch.no_grad():
            for t in range(n_burn):
                self._step(x_seq[t], states)
        mem_rec = []
        for t in range(n_burn, x_seq.shape[0]):
            mem_rec.append(self._step(x_seq[t], states))
        return torch.stack(mem_rec)[-1]


def _model(args: argparse.Namespace, impl: str, dtype: torch.dtype, device: str, weights: dict | None = None):
    """The network of ``impl``: LSUV-initialised on the episode's support set (as meta-training does),
    or with ``weights`` (an :class:`SN22ConvSNN` state dict)."""
    from metasnn.snn import SN22ConvSNN, initialise

    torch.manual_seed(0)
    model = SN22ConvSNN((2, args.height, args.width), args.ways, channels=tuple(args.channels),
                        burn_in=args.burn_in, step_mode="m" if impl == "folded" else "s",
                        time_block=args.time_block or None).to(dtype)
    if weights is None:
        initialise(model, "lsuv", _episode(args, dtype).support_x, generator=torch.Generator().manual_seed(0))
    else:
        model.load_state_dict(weights)
    if impl == "snntorch":
        model = SnnTorchSN22(model)
    return model.to(device)


def measure(args: argparse.Namespace) -> dict:
    """One (implementation, order) in this process: steps/s and peak memory."""
    from metasnn.meta import InnerLoop, MetaOptimizer, functional_loss, meta_loss

    torch.set_num_threads(args.threads)
    device = args.device
    model = _model(args, args.impl, torch.float32, device)
    params = dict(model.named_parameters())
    fn = functional_loss(model)
    inner = InnerLoop(steps=1, lr=args.inner_lr, second_order=args.order == "second")
    opt = MetaOptimizer(params.values(), 2e-3, 1000)
    ep = _episode(args, torch.float32, seed=1)
    ep.support_x, ep.query_x = ep.support_x.to(device), ep.query_x.to(device)
    ep.support_y, ep.query_y = ep.support_y.to(device), ep.query_y.to(device)

    def step() -> float:
        loss, _, _ = meta_loss(params, fn, [ep], inner)
        opt.step(loss)
        return float(loss.detach())

    step()  # warm-up (allocator, kernels, caches)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.measure_steps):
        t0 = time.perf_counter()
        step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    out = {"impl": args.impl, "order": args.order, "seconds_per_step": sorted(times)[len(times) // 2],
           "all_seconds": times, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    out["steps_per_s"] = 1.0 / out["seconds_per_step"]
    if device.startswith("cuda"):
        out["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    out["conv_seconds_per_step"] = _convolution_seconds(step, device)
    return out


#: kernels whose time is the convolution arithmetic itself (forward, backward, double backward)
CONV_KERNELS = ("aten::mkldnn_convolution", "aten::convolution_backward", "aten::_slow_conv2d_forward",
                "aten::_slow_conv2d_backward", "aten::cudnn_convolution", "aten::thnn_conv2d")


def _convolution_seconds(step, device: str) -> float:
    """Self time of the convolution kernels in one more step (torch profiler): the work no
    reformulation with identical maths removes, so ``plain / this`` bounds any speed-up."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.startswith("cuda") else [])
    with profile(activities=activities) as prof:
        step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
    total_us = 0.0
    for ev in prof.key_averages():
        if ev.key in CONV_KERNELS:
            total_us += ev.self_device_time_total if device.startswith("cuda") else ev.self_cpu_time_total
    return total_us / 1e6


def loss_agreement(args: argparse.Namespace) -> dict:
    """Meta-loss of every implementation on the same episode and weights (the folded model's LSUV init);
    ``abs_diff``/``rel_diff``: folded vs plain, ``*_snntorch``: snntorch vs plain."""
    from metasnn.meta import InnerLoop, functional_loss, task_loss

    torch.set_num_threads(args.threads)
    result = {}
    for dtype, name in ((torch.float64, "float64"), (torch.float32, "float32")):
        losses, weights = {}, None
        for impl in IMPLS:
            # the same weights: LSUV's data-dependent rescaling itself rounds differently per implementation
            model = _model(args, impl, dtype, "cpu", weights)
            weights = weights or model.state_dict()
            loss, _, _ = task_loss(dict(model.named_parameters()), functional_loss(model),
                                   _episode(args, dtype, seed=1), InnerLoop(steps=1, lr=args.inner_lr, second_order=True))
            losses[impl] = float(loss.detach())
        result[name] = {f"loss_{impl}": loss for impl, loss in losses.items()}
        for impl, suffix in (("folded", ""), ("snntorch", "_snntorch")):
            diff = abs(losses[impl] - losses["plain"])
            result[name] |= {f"abs_diff{suffix}": diff, f"rel_diff{suffix}": diff / max(abs(losses["plain"]), 1e-12)}
    return result


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--height", type=int, default=32)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--steps-t", type=int, default=100, help="time steps T")
    p.add_argument("--burn-in", type=int, default=70)
    p.add_argument("--ways", type=int, default=5)
    p.add_argument("--shots", type=int, default=1)
    p.add_argument("--queries", type=int, default=10)
    p.add_argument("--channels", type=int, nargs="+", default=[32, 64, 128])
    p.add_argument("--rate", type=float, default=0.03, help="input event probability per pixel and step")
    p.add_argument("--inner-lr", type=float, default=1.0)
    p.add_argument("--time-block", type=int, default=10,
                   help="folded mode: fold at most this many time steps at once (0: the whole window); blocks of "
                        "5-10 steps keep the folded tensors cache-sized on CPU (the maths does not change)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--measure-steps", type=int, default=3)
    p.add_argument("--skip-agreement", action="store_true")
    p.add_argument("--out", type=Path, default=None)
    # internal: run one measurement in this process
    p.add_argument("--impl", choices=IMPLS, default=None, help=argparse.SUPPRESS)
    p.add_argument("--order", choices=("second", "first"), default=None, help=argparse.SUPPRESS)


def _bound_key(peer: str) -> str:
    """JSON key of the convolution speed-up bound over ``peer`` (plain keeps the original name)."""
    return "speedup_bound_from_convolutions" + ("" if peer == "plain" else f"_{peer}")


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.impl is not None:  # child process
        print(json.dumps(measure(args)))
        return {}
    base = [a for a in (argv if argv is not None else sys.argv[1:])]
    base = [a for i, a in enumerate(base) if a != "--out" and (i == 0 or base[i - 1] != "--out")]
    runs = []
    for order in ("second", "first"):
        for impl in IMPLS:
            cmd = [sys.executable, "-m", "benchmarks.bench_metatrain", *base, "--impl", impl, "--order", order]
            proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
            if proc.returncode != 0:
                raise SystemExit(f"benchmark child failed: {' '.join(cmd)}\n{proc.stderr[-3000:]}")
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            r = runs[-1]
            print(f"{order:6s}-order {impl:8s}: {r['steps_per_s']:.3f} outer steps/s "
                  f"({r['seconds_per_step']:.2f} s/step, convolutions {r['conv_seconds_per_step']:.2f} s), "
                  f"peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)
    run = {(r["impl"], r["order"]): r for r in runs}
    report = {
        "machine": {"cpu": _cpu_name(), "threads": args.threads, "device": args.device,
                    "torch": torch.__version__, "snntorch": _version("snntorch"), "python": platform.python_version()},
        "sizes": {"frame": [2, args.height, args.width], "T": args.steps_t, "burn_in": args.burn_in,
                  "ways": args.ways, "shots": args.shots, "queries": args.queries, "channels": args.channels},
        "runs": runs,
    }
    for peer in PEERS:
        report[f"ratio_folded_over_{peer}"] = {
            order: run["folded", order]["steps_per_s"] / run[peer, order]["steps_per_s"] for order in ("second", "first")}
        report[_bound_key(peer)] = {
            order: run[peer, order]["seconds_per_step"] / run["folded", order]["conv_seconds_per_step"]
            for order in ("second", "first")}
    memories = {"peak_rss_mb": "peak RSS"} | ({"peak_gpu_mb": "peak GPU"} if all("peak_gpu_mb" in r for r in runs) else {})
    print("\n| order | " + " | ".join(f"{i} s/step" for i in IMPLS) + " | "
          + " | ".join(f"folded / {p} (bound)" for p in PEERS) + " | "
          + " | ".join(f"{label} MB {'/'.join(IMPLS)}" for label in memories.values()) + " |")
    print("|---" * (1 + len(IMPLS) + len(PEERS) + len(memories)) + "|")
    for order in ("second", "first"):
        speedups = [f"{report[f'ratio_folded_over_{p}'][order]:.2f}x ({report[_bound_key(p)][order]:.2f}x)" for p in PEERS]
        print(f"| {order} | " + " | ".join(f"{run[i, order]['seconds_per_step']:.2f}" for i in IMPLS) + " | "
              + " | ".join(speedups) + " | "
              + " | ".join("/".join(f"{run[i, order][m]:.0f}" for i in IMPLS) for m in memories) + " |")
    print("(bound: peer step / folded convolution time, the most a reformulation with these convolutions can gain)")
    if not args.skip_agreement:
        report["loss_agreement"] = loss_agreement(args)
        for name, a in report["loss_agreement"].items():
            print(f"meta-loss ({name}): folded {a['loss_folded']:.10g}, plain {a['loss_plain']:.10g}, "
                  f"snntorch {a['loss_snntorch']:.10g}; |folded - plain| {a['abs_diff']:.2e}, "
                  f"|snntorch - plain| {a['abs_diff_snntorch']:.2e}")
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    return report


if __name__ == "__main__":
    main()
