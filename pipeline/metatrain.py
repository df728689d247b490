"""Meta-train one sn22 learner (MAML SNN, FOMAML SNN or MAML CNN) on a Double meta-dataset.

Writes into --out: model.pt (metasnn.model_file: the record — method, paper "sn22", loader
metasnn.meta.sn22:build_evaluator, the full config, meta-dataset, seed, frame shape, T — and the
weights), curve.csv (per outer step: loss, query accuracy after adaptation, lr, gradient norm and
the output layer's outer-update magnitudes), metrics.json (flat: final-window training
loss/accuracy) and provenance.json.
Checkpoints every --checkpoint-every outer steps into --checkpoint-dir; a rerun with the same
arguments resumes from the last checkpoint and reaches the same final weights.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from metasnn.data.sources import describe
from metasnn.errors import ConfigError
from metasnn.io import atomic_directory, atomic_write_json
from metasnn.meta.sn22 import METHODS, SN22Config, metatrain, model_record, model_state
from metasnn.meta.training import CheckpointConfig, write_curve
from metasnn.model_file import save_model
from metasnn.reporting.provenance import config_hash
from pipeline.cli import main, str2bool
from pipeline.cli_flags import add_device_flags, add_flags
from pipeline.cli_runs import use_device


def add_sn22_network_arguments(p: argparse.ArgumentParser) -> None:
    """The sn22 network's flags, shared with the transfer baseline (the same backbone)."""
    p.add_argument("--channels", type=int, nargs="+")
    p.add_argument("--input-pool", type=int, default=1, help="sum-pool input frames k x k (1 = sn22)")
    p.add_argument("--pooling", choices=("avg", "max"))
    p.add_argument("--burn-in", type=float, help="fraction of the T steps run without gradients")
    p.add_argument("--init", choices=("lsuv", "default"))
    p.add_argument("--lsuv-mean", type=float, help="LSUV target mean of U (sn22: 0)")
    p.add_argument("--scale-decays", type=str2bool,
                   help="per-step decays = sn22 decays ** time_bin_ms (true) or sn22's per-step values (false)")


def add_sn22_model_arguments(p: argparse.ArgumentParser) -> None:
    """Flags shared by the sn22 training stages (network, MAML and schedule hyper-parameters)."""
    add_flags(p, int, "--ways", "--shots")
    p.add_argument("--queries", type=int, help="query samples per class")
    add_flags(p, int, "--inner-steps")
    p.add_argument("--inner-lr", type=float, default=1.0)
    p.add_argument("--outer-lr", type=float, default=2e-3)
    p.add_argument("--outer-grad-clip", type=float,
                   help="clip the outer gradient to this global norm before the Adam step (0: off, as sn22)")
    p.add_argument("--final-lr-factor", type=float, help="cosine schedule ends at outer-lr × this")
    add_flags(p, int, "--outer-steps", "--tasks-per-step")
    add_sn22_network_arguments(p)
    p.add_argument("--frozen-layers", type=int, default=0, help="first k layers not adapted in the inner loop")
    p.add_argument("--inner-threshold", type=float, default=0.0,
                   help="sn22 Eq. 6: keep inner updates only where |Δw| > this fraction of the update range (0: off)")
    p.add_argument("--cnn-variant", choices=("paper", "softsign"))
    p.add_argument("--max-loss", type=float, default=1.0e4, help="a loss above this counts as divergence")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--method", choices=sorted(METHODS), required=True)
    p.add_argument("--data", type=Path, required=True, help="meta-dataset directory (data/meta/<dataset>)")
    p.add_argument("--seed", type=int, required=True)
    add_sn22_model_arguments(p)
    p.add_argument("--checkpoint-dir", type=Path, default=None, help="resume/checkpoint directory (none: no checkpoints)")
    p.add_argument("--checkpoint-every", type=int)
    add_device_flags(p)
    p.add_argument("--out", type=Path, required=True)


def config_from_args(args: argparse.Namespace) -> SN22Config:
    """The :class:`SN22Config` the flags describe."""
    return SN22Config(
        method=args.method, cnn_variant=args.cnn_variant, ways=args.ways, shots=args.shots, queries=args.queries,
        inner_steps=args.inner_steps, inner_lr=args.inner_lr, outer_lr=args.outer_lr, outer_grad_clip=args.outer_grad_clip,
        final_lr_factor=args.final_lr_factor, outer_steps=args.outer_steps, tasks_per_step=args.tasks_per_step,
        burn_in=args.burn_in, pooling=args.pooling, input_pool=args.input_pool, channels=tuple(args.channels), init=args.init, lsuv_mean=args.lsuv_mean,
        frozen_layers=args.frozen_layers, inner_threshold=args.inner_threshold, scale_decays=args.scale_decays,
        max_loss=args.max_loss,
    )


def load_data(path: Path):
    from metasnn.data import load_metadataset

    return load_metadataset(path)


def run(args: argparse.Namespace, ctx) -> None:
    device = use_device(args, ctx)
    cfg = config_from_args(args)
    ds = load_data(args.data)
    ctx.seeds = [args.seed]
    sources = ctx.use_sources(ds.data_sources)
    identity = {"sn22": cfg.to_dict(), "seed": args.seed, "dataset": ds.name, "num_steps": ds.num_steps,
                "frame_shape": list(ds.frame_shape), "time_bin_ms": ds.time_bin_ms,
                "data_sources": {k: v.to_dict() for k, v in sources.items()}}
    chash = config_hash(identity)
    checkpoint = None
    if args.checkpoint_dir is not None:
        if args.checkpoint_every < 1:
            raise ConfigError(f"--checkpoint-every must be >= 1, got {args.checkpoint_every}")
        checkpoint = CheckpointConfig(args.checkpoint_dir, args.checkpoint_every, chash)
    ctx.log.info("meta-training %s on %s (T=%d, %s) seed %d for %d outer steps", cfg.method, ds.name, ds.num_steps,
                 describe(sources.values()), args.seed, cfg.outer_steps)
    model, result, info = metatrain(
        cfg, ds, args.seed, checkpoint=checkpoint,
        progress=lambda r: ctx.progress(r, f"{cfg.method} {ds.name} seed {args.seed}", per="outer_steps"), device=device,
    )
    rows = result.rows
    tail = rows[-max(1, len(rows) // 10):]
    metrics = {
        "method": cfg.method, "dataset": ds.name, "seed": args.seed, "outer_steps": cfg.outer_steps,
        "final_train_loss": float(np.mean([r["loss"] for r in tail])),
        "final_train_acc": float(np.mean([r["acc"] for r in tail])),
        "resumed_from_step": result.resumed_from,
    }
    with atomic_directory(args.out) as tmp:
        save_model(tmp, model_record(cfg, ds, args.seed), model_state(model))
        write_curve(tmp / "curve.csv", rows)
        atomic_write_json(tmp / "metrics.json", metrics)
        ctx.write_provenance(tmp, config_hash_run=chash, lsuv=info["lsuv"], resumed_from_step=result.resumed_from)


if __name__ == "__main__":
    main("metatrain", __doc__, add_arguments, run)
