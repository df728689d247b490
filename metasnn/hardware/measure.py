"""Measured latency (and, where the machine exposes it, energy) of a dense SNN forward pass.

The reference point for the chip estimates of wu22 Table S1: the same fully connected LIF network
(``[784-1024-1024-10]`` by default, ``T`` timesteps, batch 1, Bernoulli input spikes) run with
PyTorch on this machine's CPU, and on a CUDA GPU when one is available. Energy is only reported
when it can be measured: CPU energy from Linux RAPL counters (``/sys/class/powercap``), GPU energy
from ``nvidia-smi`` power samples taken during a timed loop; otherwise the result says
``not measured`` and why. Measured wall times vary from run to run: they are the only values of
the hardware stage that are not byte-reproducible (``--measure false`` turns them off).
"""

from __future__ import annotations

import dataclasses
import shutil
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

RAPL = Path("/sys/class/powercap/intel-rapl:0/energy_uj")


@dataclasses.dataclass(frozen=True)
class Measured:
    platform: str           # "CPU" or "GPU"
    device: str             # what it ran on, in words
    latency_s: float | None
    energy_j: float | None
    power_w: float | None
    note: str               # how it was measured, or why not


def _network(sizes: Sequence[int], device: str, seed: int):
    import torch

    g = torch.Generator().manual_seed(seed)
    weights = [(torch.randn(sizes[i + 1], sizes[i], generator=g) / sizes[i] ** 0.5).to(device)
               for i in range(len(sizes) - 1)]

    def forward(x):  # x: [T, 1, n_in] spikes
        mems = [torch.zeros(1, w.shape[0], device=device) for w in weights]
        count = torch.zeros(1, sizes[-1], device=device)
        for t in range(x.shape[0]):
            s = x[t]
            for i, w in enumerate(weights):
                mems[i] = 0.9 * mems[i] + s @ w.T
                s = (mems[i] >= 1.0).to(s.dtype)
                mems[i] = mems[i] * (1.0 - s)
            count = count + s
        return count

    return forward, g


def _time_loop(fn, sync, min_seconds: float, max_reps: int) -> tuple[list[float], float]:
    times = []
    start = time.perf_counter()
    while len(times) < max_reps and (time.perf_counter() - start < min_seconds or len(times) < 5):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return times, time.perf_counter() - start


def _rapl_readable() -> bool:
    try:
        int(RAPL.read_text())
        return True
    except (OSError, ValueError):
        return False


def measure_cpu(sizes: Sequence[int], timesteps: int, input_rate: float, *, seed: int = 0,
                min_seconds: float = 0.5, max_reps: int = 200, threads: int = 1) -> Measured:
    """Median wall time of one forward pass (batch 1) on the CPU, energy from RAPL if readable."""
    import torch

    forward, g = _network(sizes, "cpu", seed)
    x = (torch.rand(timesteps, 1, sizes[0], generator=g) < input_rate).float()
    return measure_cpu_call(lambda: forward(x), f"forward passes, batch 1, T={timesteps}", min_seconds=min_seconds,
                            max_reps=max_reps, threads=threads)


def measure_cpu_call(fn: Callable[[], object], what: str, *, min_seconds: float = 0.5, max_reps: int = 200,
                     threads: int = 1, warmup: int = 3) -> Measured:
    """Median wall time of ``fn()`` on the CPU (``threads`` torch threads, inference mode, after
    ``warmup`` calls), energy from RAPL if readable; ``what`` names the calls in the note, e.g.
    ``"forward passes, batch 1, T=8"``. Any model's forward pass (e.g. a trained network) can be timed."""
    import platform

    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            for _ in range(warmup):
                fn()
            e0 = int(RAPL.read_text()) if _rapl_readable() else None
            times, elapsed = _time_loop(fn, lambda: None, min_seconds, max_reps)
            e1 = int(RAPL.read_text()) if e0 is not None else None
    finally:
        torch.set_num_threads(old)
    latency = statistics.median(times)
    device = f"{platform.processor() or platform.machine()} CPU, {threads} thread(s), torch {torch.__version__}"
    how = f"median of {len(times)} {what}"
    if e0 is not None and e1 is not None and e1 > e0:
        energy = (e1 - e0) * 1e-6 / len(times)
        return Measured("CPU", device, latency, energy, energy / latency,
                        how + "; energy from RAPL package counter (whole package, incl. idle cores)")
    return Measured("CPU", device, latency, None, None,
                    how + f"; energy not measured: RAPL counter {RAPL} not readable on this machine")


def _nvidia_power_samples(stop: threading.Event, out: list[float]) -> None:
    while not stop.is_set():
        try:
            res = subprocess.run(["nvidia-smi", "--query-gpu=power.draw", "--format=csv,noheader,nounits", "-i", "0"],
                                 capture_output=True, text=True, timeout=5, check=True)
            out.append(float(res.stdout.strip().splitlines()[0]))
        except (OSError, subprocess.SubprocessError, ValueError, IndexError):
            return
        stop.wait(0.1)


def measure_gpu(sizes: Sequence[int], timesteps: int, input_rate: float, *, seed: int = 0,
                min_seconds: float = 2.0, max_reps: int = 5000) -> Measured:
    """Median wall time of one forward pass on CUDA; energy = mean nvidia-smi power x latency."""
    try:
        import torch

        available = torch.cuda.is_available()
    except Exception:
        available = False
    if not available:
        return Measured("GPU", "none", None, None, None, "not measured: no CUDA device on this machine")
    forward, g = _network(sizes, "cuda", seed)
    x = (torch.rand(timesteps, 1, sizes[0], generator=g) < input_rate).float().cuda()
    samples: list[float] = []
    stop = threading.Event()
    sampler = None
    with torch.inference_mode():
        for _ in range(10):
            forward(x)
        torch.cuda.synchronize()
        if shutil.which("nvidia-smi"):
            sampler = threading.Thread(target=_nvidia_power_samples, args=(stop, samples), daemon=True)
            sampler.start()
        times, _ = _time_loop(lambda: forward(x), torch.cuda.synchronize, min_seconds, max_reps)
    stop.set()
    if sampler is not None:
        sampler.join(timeout=10)
    latency = statistics.median(times)
    device = f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}"
    how = f"median of {len(times)} forward passes, batch 1, T={timesteps}"
    if samples:
        power = statistics.mean(samples)
        return Measured("GPU", device, latency, power * latency, power,
                        how + f"; energy = mean nvidia-smi board power ({len(samples)} samples) x latency")
    return Measured("GPU", device, latency, None, None, how + "; energy not measured: nvidia-smi not available")
