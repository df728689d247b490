"""Train and few-shot-evaluate one method of the dsp experiments on one meta-dataset and seed.

Methods: ``dsp`` (per-synapse plasticity, η_ij and w_0 meta-learned, metasnn.plasticity.dsp),
``dsp_fixed`` (the same with η fixed at --eta-init: the fixed-η ablation), ``stdp`` (pair-based
STDP output layer on a frozen backbone), ``stbp`` (surrogate BPTT on the meta-train classes + a new
output layer trained on each support set), ``eihl`` (approximate EIHL: STBP training alternating
with contraction/pruning phases). All share one backbone (the sn22 conv SNN behind an input
sum-pool). Writes the directory --out atomically: model.pt (metasnn.model_file: method, paper "dsp" and
the loader of the method's few-shot evaluator in its record), metrics.json (flat: accuracy, convergence
step, η statistics, cost columns), tasks.json (per-task meta-test accuracies), curve.csv, provenance.json.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import torch

from metasnn.errors import ConfigError
from metasnn.io import atomic_directory, atomic_write_json
from metasnn.meta.training import checkpoint_for, write_curve
from metasnn.model_file import save_model
from pipeline.cli import main, str2bool
from pipeline.cli_flags import add_flags

METHODS = ("dsp", "dsp_fixed", "stdp", "stbp", "eihl")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--method", choices=METHODS, required=True)
    p.add_argument("--data", type=Path, required=True, help="meta-dataset directory (data/meta/<dataset>)")
    p.add_argument("--seed", type=int, required=True)
    add_flags(p, int, "--ways", "--shots")
    p.add_argument("--queries", type=int, help="query samples per class at meta-test")
    p.add_argument("--train-queries", type=int, help="query samples per class during meta-training")
    g = p.add_argument_group("backbone (shared by every method)")
    g.add_argument("--channels", type=int, nargs="+")
    g.add_argument("--input-pool", type=int, default=2, help="sum-pool input frames by this factor")
    g.add_argument("--burn-in", type=float, help="fraction of the T steps run without gradients")
    g.add_argument("--init", choices=("lsuv", "default"), default="lsuv")
    g = p.add_argument_group("dsp")
    add_flags(g, int, "--outer-steps")
    g.add_argument("--beta", type=float, help="meta learning rate (Adam) on eta and w_0")
    g.add_argument("--eta-init", type=float, help="initial (dsp) / fixed (dsp_fixed) eta_ij")
    g.add_argument("--inner-steps", type=int, help="plastic support presentations per task")
    g.add_argument("--second-order", type=str2bool)
    g = p.add_argument_group("STDP")
    add_flags(g, float, "--a-plus", "--a-minus", "--tau-plus-ms", "--tau-minus-ms")
    add_flags(g, int, "--stdp-presentations")
    g = p.add_argument_group("STBP / EIHL")
    add_flags(g, int, "--pretrain-steps", "--batch-size")
    add_flags(g, float, "--pretrain-lr")
    g.add_argument("--head-steps", type=int, help="Adam steps of the new output layer per task")
    add_flags(g, float, "--head-lr", "--eihl-contraction", "--eihl-prune-fraction", "--eihl-switch-delta",
              "--eihl-silent-fraction")
    add_flags(g, int, "--eihl-min-phase")
    g = p.add_argument_group("evaluation")
    g.add_argument("--eval-tasks", type=int, help="meta-test tasks (the same for every method and seed)")
    g.add_argument("--eval-seed", type=int, help="episode seed of the meta-test tasks")
    add_flags(g, int, "--convergence-window")
    add_flags(g, float, "--convergence-fraction")
    p.add_argument("--checkpoint-dir", type=Path, default=None,
                   help="resume/checkpoint directory (dsp, dsp_fixed, stbp, eihl; STDP has no training loop)")
    p.add_argument("--checkpoint-every", type=int, help="steps between checkpoints")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    p.add_argument("--out", type=Path, required=True, help="run directory")


def run(args: argparse.Namespace, ctx) -> None:
    from metasnn.data import EpisodeSampler, EpisodeSpec, load_metadataset
    from metasnn.plasticity import dsp as dsp_lib

    torch.set_num_threads(max(1, args.threads))
    if args.eval_tasks < 1:
        raise ConfigError(f"--eval-tasks must be >= 1, got {args.eval_tasks}")
    ds = load_metadataset(args.data)
    ctx.seeds = [args.seed]
    sources = ctx.use_sources(ds.data_sources)
    test = list(EpisodeSampler(ds, "test", EpisodeSpec(args.ways, args.shots, args.queries),
                               seed=args.eval_seed).take(args.eval_tasks))

    def progress(r):
        steps = "outer_steps" if args.method in ("dsp", "dsp_fixed") else "pretrain_steps"
        return ctx.progress(r, f"{args.method} {ds.name} seed {args.seed}", per=steps)

    backbone = {"channels": args.channels, "input_pool": args.input_pool, "burn_in": args.burn_in}
    if args.method in ("dsp", "dsp_fixed"):
        cfg = dsp_lib.DSPConfig(
            ways=args.ways, shots=args.shots, queries=args.train_queries, channels=tuple(args.channels),
            input_pool=args.input_pool, burn_in=args.burn_in, init=args.init, eta_init=args.eta_init,
            learn_eta=args.method == "dsp", inner_steps=args.inner_steps, beta=args.beta,
            outer_steps=args.outer_steps, second_order=args.second_order)
        checkpoint = checkpoint_for({"dsp": cfg.to_dict()}, ds, args.seed, sources, args.checkpoint_dir,
                                    args.checkpoint_every)
        result = dsp_lib.train_and_evaluate(cfg, ds, args.seed, test, checkpoint=checkpoint, progress=progress,
                                            convergence_window=args.convergence_window,
                                            convergence_fraction=args.convergence_fraction)
    elif args.method == "stdp":
        from metasnn.baselines import stdp

        cfg_s = stdp.STDPConfig(args.a_plus, args.a_minus, args.tau_plus_ms, args.tau_minus_ms, args.stdp_presentations)
        result = stdp.train_and_evaluate(
            cfg_s, ds, args.seed, test, backbone_config=dsp_lib.backbone_config(ds, args.ways, **backbone),
            shots=args.shots, train_queries=args.train_queries, init=args.init,
            task_progress=lambda tasks: ctx.progress(tasks, "STDP tasks", per="eval_tasks"))
    else:  # stbp, eihl
        from metasnn.baselines import stbp
        from metasnn.baselines.eihl import EIHLConfig
        from metasnn.baselines.transfer import PretrainConfig

        eihl = None if args.method == "stbp" else EIHLConfig(
            args.eihl_contraction, args.eihl_prune_fraction, args.eihl_switch_delta, args.eihl_silent_fraction,
            args.eihl_min_phase)
        pretrain = PretrainConfig(steps=args.pretrain_steps, batch_size=args.batch_size, lr=args.pretrain_lr,
                                  init=args.init)
        backbone_cfg = dsp_lib.backbone_config(ds, len(ds.classes("train")), **backbone)
        run_id = {"method": args.method, "pretrain": dataclasses.asdict(pretrain), "backbone": backbone_cfg,
                  "eihl": None if eihl is None else eihl.to_dict()}
        result = stbp.train_and_evaluate(
            ds, args.seed, test, backbone_config=backbone_cfg, pretrain=pretrain,
            ways=args.ways, head_steps=args.head_steps, head_lr=args.head_lr, eihl=eihl, progress=progress,
            task_progress=lambda tasks: ctx.progress(tasks, f"{args.method} tasks", per=("eval_tasks", "head_steps")),
            checkpoint=checkpoint_for(run_id, ds, args.seed, sources, args.checkpoint_dir, args.checkpoint_every))

    metrics: dict[str, Any] = {"method": args.method, "dataset": ds.name, "seed": args.seed,
                               "num_steps": int(ds.num_steps), "time_bin_ms": float(ds.time_bin_ms),
                               "ways": args.ways, "shots": args.shots, "queries": args.queries,
                               "eval_tasks": args.eval_tasks, **result.flat_metrics()}
    with atomic_directory(args.out) as tmp:
        save_model(tmp, result.model_record(args.method, ds, args.seed), result.state)
        write_curve(tmp / "curve.csv", result.rows)
        atomic_write_json(tmp / "tasks.json", {"test_task_acc": [float(a) for a in result.task_acc]})
        atomic_write_json(tmp / "metrics.json", metrics)
        ctx.write_provenance(tmp, **result.provenance)
    ctx.log.info("%s on %s seed %d: meta-test accuracy %.3f", args.method, ds.name, args.seed, metrics["test_acc"])


if __name__ == "__main__":
    main("dsp_train", __doc__, add_arguments, run)
