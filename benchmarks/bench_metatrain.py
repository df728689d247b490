"""Meta-training step speed and peak memory of the sn22 network: time-folded vs plain per-step.

Paper sizes by default: Double N-MNIST frames 2×32×16, T = 100 steps (burn-in 70), 5-way 1-shot,
10 queries per class, channels 32-64-128, inner SGD lr 1.0 (1 step), Adam outer step. Both
implementations are the same :class:`metasnn.snn.SN22ConvSNN` with the same weights:

* ``folded`` — ``step_mode="m"``: the Q/P filter over time is one matrix product, every synapse runs
  once on the folded ``[T·B, ...]`` batch (channels-last convs), only the refractory recurrence is
  scanned; the gradient-free burn-in runs in place;
* ``plain`` — ``step_mode="s"``: the usual Python loop over time steps applying conv + neuron per
  step (spikingjelly's single-step functional path), burn-in under ``torch.no_grad``.

Each (implementation, order) is measured in its own subprocess so its peak RSS is its own. The
meta-loss of both implementations on the same episode and weights is compared in float64 (must
agree to 1e-5) and in float32 (reported only: float32 rounding differs between a folded and a
per-step convolution, a potential within rounding of the threshold then spikes in one and not the
other, and the inner step amplifies such flips, so float32 losses differ at the 1e-2 level). Even
float64 can flip one spike: with ``--time-block 5`` the adapted weights of the two implementations
differ by 9e-17 and the meta-loss by 1.2e-3, while at equal fast weights the logits agree to 2e-16.

Each child also profiles one more step and sums the self time of the convolution kernels
(forward, backward, double backward): that arithmetic is the same in any implementation with
identical maths, so ``plain step time / folded convolution time`` is an upper bound on the
speed-up a reformulation can reach on the machine; the report prints it beside the measured one.
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


def _episode(args: argparse.Namespace, dtype: torch.dtype, seed: int = 0):
    from types import SimpleNamespace

    g = torch.Generator().manual_seed(seed)
    shape = (2, args.height, args.width)
    support = (torch.rand(args.steps_t, args.ways * args.shots, *shape, generator=g) < args.rate).to(dtype)
    query = (torch.rand(args.steps_t, args.ways * args.queries, *shape, generator=g) < args.rate).to(dtype)
    return SimpleNamespace(support_x=support, support_y=torch.arange(args.ways).repeat_interleave(args.shots),
                           query_x=query, query_y=torch.arange(args.ways).repeat_interleave(args.queries))


def _model(args: argparse.Namespace, mode: str, dtype: torch.dtype, device: str):
    from metasnn.snn import SN22ConvSNN, initialise

    torch.manual_seed(0)
    model = SN22ConvSNN((2, args.height, args.width), args.ways, channels=tuple(args.channels),
                        burn_in=args.burn_in, step_mode=mode, time_block=args.time_block or None).to(dtype)
    ep = _episode(args, dtype)
    initialise(model, "lsuv", ep.support_x, generator=torch.Generator().manual_seed(0))  # as meta-training does
    return model.to(device)


def measure(args: argparse.Namespace) -> dict:
    """One (implementation, order) in this process: steps/s and peak memory."""
    from metasnn.meta import InnerLoop, MetaOptimizer, functional_loss, meta_loss

    torch.set_num_threads(args.threads)
    device = args.device
    mode = "m" if args.impl == "folded" else "s"
    model = _model(args, mode, torch.float32, device)
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
    """Meta-loss of both implementations on the same episode and weights (the folded model's LSUV init)."""
    from metasnn.meta import InnerLoop, functional_loss, task_loss

    torch.set_num_threads(args.threads)
    result = {}
    for dtype, name in ((torch.float64, "float64"), (torch.float32, "float32")):
        losses, weights = {}, None
        for impl, mode in (("folded", "m"), ("plain", "s")):
            model = _model(args, mode, dtype, "cpu")
            # the same weights: LSUV's data-dependent rescaling itself rounds differently per implementation
            weights = weights or model.state_dict()
            model.load_state_dict(weights)
            params = dict(model.named_parameters())
            loss, _, _ = task_loss(params, functional_loss(model), _episode(args, dtype, seed=1),
                                   InnerLoop(steps=1, lr=args.inner_lr, second_order=True))
            losses[impl] = float(loss.detach())
        diff = abs(losses["folded"] - losses["plain"])
        result[name] = {"loss_folded": losses["folded"], "loss_plain": losses["plain"], "abs_diff": diff,
                        "rel_diff": diff / max(abs(losses["plain"]), 1e-12)}
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
    p.add_argument("--impl", choices=("folded", "plain"), default=None, help=argparse.SUPPRESS)
    p.add_argument("--order", choices=("second", "first"), default=None, help=argparse.SUPPRESS)


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
        for impl in ("folded", "plain"):
            cmd = [sys.executable, "-m", "benchmarks.bench_metatrain", *base, "--impl", impl, "--order", order]
            proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
            if proc.returncode != 0:
                raise SystemExit(f"benchmark child failed: {' '.join(cmd)}\n{proc.stderr[-3000:]}")
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            r = runs[-1]
            print(f"{order:6s}-order {impl:6s}: {r['steps_per_s']:.3f} outer steps/s "
                  f"({r['seconds_per_step']:.2f} s/step, convolutions {r['conv_seconds_per_step']:.2f} s), "
                  f"peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)
    report = {
        "machine": {"cpu": _cpu_name(), "threads": args.threads, "device": args.device,
                    "torch": torch.__version__, "python": platform.python_version()},
        "sizes": {"frame": [2, args.height, args.width], "T": args.steps_t, "burn_in": args.burn_in,
                  "ways": args.ways, "shots": args.shots, "queries": args.queries, "channels": args.channels},
        "runs": runs,
        "ratio_folded_over_plain": {
            order: next(r for r in runs if r["impl"] == "folded" and r["order"] == order)["steps_per_s"]
            / next(r for r in runs if r["impl"] == "plain" and r["order"] == order)["steps_per_s"]
            for order in ("second", "first")
        },
    }
    report["speedup_bound_from_convolutions"] = {
        order: next(r for r in runs if r["impl"] == "plain" and r["order"] == order)["seconds_per_step"]
        / next(r for r in runs if r["impl"] == "folded" and r["order"] == order)["conv_seconds_per_step"]
        for order in ("second", "first")
    }
    for order, ratio in report["ratio_folded_over_plain"].items():
        bound = report["speedup_bound_from_convolutions"][order]
        print(f"speed-up folded / plain ({order} order): {ratio:.2f}x  (upper bound with these convolutions: "
              f"plain step / folded convolution time = {bound:.2f}x)")
    if not args.skip_agreement:
        report["loss_agreement"] = loss_agreement(args)
        for name, a in report["loss_agreement"].items():
            print(f"meta-loss folded vs plain ({name}): {a['loss_folded']:.8g} vs {a['loss_plain']:.8g} "
                  f"(|diff| {a['abs_diff']:.2e})")
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    return report


if __name__ == "__main__":
    main()
