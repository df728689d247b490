"""Episode sampling throughput and build memory of the Double meta-datasets.

    python -m benchmarks.bench_episodes [--episodes 40] [--workdir /tmp/bench_episodes]

Measures, on one CPU core (torch/numpy threads = 1):

* episodes/s of 5-way 1-shot Q=10 episodes at T=100 (1 ms bins, paper frame size) and at the
  default scale's T=20 (5 ms bins), Double N-MNIST and Double ASL-DVS, against a peer measured in
  the same run: the dense gather (``frames[idx]`` of pre-composed uint8 pair frames — what
  storing dense frames would cost per episode);
* peak memory (tracemalloc, Python-side allocations incl. NumPy buffers) and wall time of the
  build from synthetic recordings, and the stored bytes per recording.

Paper-size build memory is *estimated* by scaling: the build holds the sparse counts of every
recording (bytes per recording measured here on emulated recordings, which have the real
datasets' event counts for N-MNIST) plus one recording being read, so peak ≈ fixed overhead +
2 × stored bytes per recording × recordings (concatenation copies once). Paper sizes: Double
N-MNIST 70 000 recordings; Double ASL-DVS 24 × 400 (``data.recordings_per_class``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch

from benchmarks import machine
from metasnn.data import BuildOptions, EpisodeSampler, EpisodeSpec, build_metadataset, load_metadataset
from metasnn.data.emulator import emulate_asldvs, emulate_nmnist
from metasnn.data.layout import load_manifest, manifest_dict
from metasnn.data.sources import DataSource
from metasnn.io import atomic_write_json

PAPER_RECORDINGS = {"double_nmnist": 70_000, "double_asldvs": 24 * 400}


def rate(sampler: EpisodeSampler, n: int) -> float:
    sampler.episode(0)
    start = time.perf_counter()
    for ep in sampler.take(n, start=1):
        assert ep.query_x.dtype == torch.float32
    return n / (time.perf_counter() - start)


def dense_peer_rate(ds, n: int) -> float:
    """Peer: gather 55 pre-composed dense uint8 pair frames from a pool and convert to float32."""
    pool = np.zeros((200, ds.num_steps, *ds.frame_shape), dtype=np.uint8)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(n):
        idx = rng.integers(0, pool.shape[0], 55)
        torch.from_numpy(pool[idx]).float().transpose(0, 1).contiguous()
    return n / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=40)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_episodes"))
    parser.add_argument("--nmnist-per-class", type=int, default=30)
    parser.add_argument("--asldvs-per-class", type=int, default=20)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    work = args.workdir
    print(f"machine: {machine()}")
    fetched = {}
    for raw in ("nmnist", "asldvs"):
        out = work / "fetched" / raw
        if not (out / "manifest.json").is_file():
            start = time.perf_counter()
            if raw == "nmnist":
                files = emulate_nmnist(out / "files", args.nmnist_per_class, max(2, args.nmnist_per_class // 3), seed=0)
            else:
                files = emulate_asldvs(out / "files", args.asldvs_per_class, seed=0)
            n = sum(len(v) for c in files.values() for v in c.values())
            sources = {"data_sources": {raw: DataSource(raw=raw, source="synthetic", recordings=n).to_dict()}}
            atomic_write_json(out / "manifest.json", manifest_dict(raw, "synthetic", "files", files, [], sources))
            print(f"emulate {raw}: {n} recordings in {time.perf_counter() - start:.1f} s "
                  f"({1000 * (time.perf_counter() - start) / n:.1f} ms/recording)")
        fetched[raw] = load_manifest(out)
    print("\n| meta-dataset | T | episodes/s (sparse, ours) | episodes/s (dense peer) | ratio | MB per episode |")
    print("|---|---|---|---|---|---|")
    builds = {}
    for name, raw in (("double_nmnist", "nmnist"), ("double_asldvs", "asldvs")):
        for bin_ms in (1, 5):
            path = work / "meta" / f"{name}_{bin_ms}ms"
            tracemalloc.start()
            start = time.perf_counter()
            summary = build_metadataset(name, fetched[raw], path, BuildOptions(time_bin_ms=bin_ms))
            elapsed = time.perf_counter() - start
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            builds[(name, bin_ms)] = (summary, elapsed, peak)
            ds = load_metadataset(path)
            sampler = EpisodeSampler(ds, "train", EpisodeSpec(5, 1, 10), seed=0)
            ours = rate(sampler, args.episodes)
            peer = dense_peer_rate(ds, args.episodes)
            mb = 55 * ds.num_steps * int(np.prod(ds.frame_shape)) * 4 / 1e6
            print(f"| {name} | {ds.num_steps} | {ours:.1f} | {peer:.1f} | {ours / peer:.2f} | {mb:.1f} |")
    print("\n| meta-dataset | T | recordings | build s | peak MB (tracemalloc) | stored MB | bytes/recording | "
          "paper recordings | est. paper stored MB | est. paper peak MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (name, _bin_ms), (summary, elapsed, peak) in builds.items():
        per = summary["stored_bytes"] / summary["recordings"]
        paper_n = PAPER_RECORDINGS[name]
        est_stored = per * paper_n
        est_peak = (peak - 2 * summary["stored_bytes"]) + 2 * est_stored
        print(f"| {name} | {summary['num_steps']} | {summary['recordings']} | {elapsed:.2f} | {peak / 1e6:.1f} | "
              f"{summary['stored_bytes'] / 1e6:.2f} | {per:.0f} | {paper_n} | {est_stored / 1e6:.0f} | {est_peak / 1e6:.0f} |")
    print("\nPaper-size estimate: peak = measured peak - 2 x stored + 2 x (bytes/recording x paper recordings); "
          "disk use = stored MB (recordings.npz) + index.json (~40 B per recording path).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
