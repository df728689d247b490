"""Robustness sweeps (wu22 Fig 4): accuracy and hidden-representation drift under test-time corruptions.

For each corruption (``crop``: centre crop intensity ``ci``; ``noise``: salt-and-pepper level
``nl``; :mod:`metasnn.data.corruptions`) and level, every model is run on the corrupted test set
and compared with its own run on the clean test set:

* accuracy;
* Euclidean distance ``‖u_c − u‖₂`` and cosine similarity ``cos(u_c, u)`` between the first hidden
  layer's membrane potentials at the last time step for the corrupted (``u_c``) and clean (``u``)
  version of each sample, averaged over samples (wu22 Fig 4e–f).

Models are anything with ``run(x) -> HPRun`` (:class:`metasnn.plasticity.hp.HPNetwork`).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F

from metasnn.data.corruptions import crop_frames, noise_frames

__all__ = ["CORRUPTIONS", "corrupt", "robustness_sweep", "noise_seed"]

CORRUPTIONS = ("crop", "noise")


def noise_seed(seed: int, level: int) -> int:
    """The noise generator seed of one (seed, level) pair (independent streams per level)."""
    return zlib.crc32(f"wu22-noise-{int(seed)}-{int(level)}".encode())


def corrupt(frames: torch.Tensor, kind: str, level: int, seed: int) -> torch.Tensor:
    """``frames [T, B, 2, H, W]`` with corruption ``kind`` at ``level`` (seeded for noise)."""
    if kind == "crop":
        return crop_frames(frames, level)
    if kind == "noise":
        return noise_frames(frames, level, seed=noise_seed(seed, level))
    raise ValueError(f"corruption must be one of {CORRUPTIONS}, got {kind!r}")


@torch.no_grad()
def _run(model, x: torch.Tensor, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    outs, mems = [], []
    for start in range(0, x.shape[1], batch_size):
        run = model.run(x[:, start:start + batch_size])
        outs.append(run.outputs)
        mems.append(run.last_membranes[0])
    return torch.cat(outs), torch.cat(mems)


@torch.no_grad()
def robustness_sweep(
    models: Mapping[str, object],
    frames: torch.Tensor,
    labels: torch.Tensor,
    prepare: Callable[[torch.Tensor], torch.Tensor],
    levels: Sequence[int] = range(15),
    corruptions: Sequence[str] = CORRUPTIONS,
    seed: int = 0,
    batch_size: int = 100,
) -> dict[str, dict[str, dict[str, list[float]]]]:
    """``result[corruption][model] = {"level": [...], "accuracy": [...], "euclidean": [...], "cosine": [...]}``.

    ``prepare`` turns corrupted frames into model inputs; the same corrupted frames are given to
    every model (paired comparison).
    """
    clean_x = prepare(frames)
    clean = {name: _run(m, clean_x, batch_size) for name, m in models.items()}
    result: dict[str, dict[str, dict[str, list[float]]]] = {}
    for kind in corruptions:
        per_model = {name: {"level": [], "accuracy": [], "euclidean": [], "cosine": []} for name in models}
        for level in levels:
            x = prepare(corrupt(frames, kind, int(level), seed))
            for name, model in models.items():
                out, mem = _run(model, x, batch_size)
                ref = clean[name][1]
                rec = per_model[name]
                rec["level"].append(int(level))
                rec["accuracy"].append(float((out.argmax(1) == labels).float().mean()))
                rec["euclidean"].append(float((mem - ref).norm(dim=1).mean()))
                rec["cosine"].append(float(F.cosine_similarity(mem, ref, dim=1, eps=1e-12).mean()))
        result[kind] = per_model
    return result
