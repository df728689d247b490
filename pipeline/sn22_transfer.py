"""sn22 Fig 6 transfer-learning baseline (also Table 3's "non-meta" row).

Pretrains the sn22 SNN as a plain classifier on all meta-train classes (64-way on Double N-MNIST),
then for k in --shots: on each of --tasks fixed, seeded meta-test tasks (--eval-seed), freezes the
conv stack, trains a new 5-way output layer on the k support shots per class and scores the
queries. Writes into --out: results.json (per k: mean accuracy and per-task accuracies),
curve.csv (pretraining: loss, accuracy, output-layer update avg/sum/max per step), metrics.json,
model.pt (the pretrained network), provenance.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from metasnn.baselines.transfer import PretrainConfig, pretrain, transfer_task_accuracy
from metasnn.evaluation.statistics import summarize
from metasnn.io import atomic_directory, atomic_write_json, save_tensors
from metasnn.meta.sn22 import resolve_device
from metasnn.meta.training import write_curve
from metasnn.snn import build_model
from pipeline.cli import main, str2bool


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--channels", type=int, nargs="+", default=[32, 64, 128])
    p.add_argument("--input-pool", type=int, default=1, help="sum-pool input frames k x k (1 = sn22)")
    p.add_argument("--pooling", choices=("avg", "max"), default="avg")
    p.add_argument("--burn-in", type=float, default=0.7)
    p.add_argument("--init", choices=("lsuv", "default"), default="lsuv")
    p.add_argument("--lsuv-mean", type=float, default=0.0, help="LSUV target mean of U (sn22: 0)")
    p.add_argument("--scale-decays", type=str2bool, default=True)
    p.add_argument("--pretrain-steps", type=int, default=2000)
    p.add_argument("--pretrain-batch", type=int, default=32)
    p.add_argument("--pretrain-lr", type=float, default=2e-3)
    p.add_argument("--ways", type=int, default=5)
    p.add_argument("--shots", type=int, nargs="+", default=list(range(1, 21)))
    p.add_argument("--queries", type=int, default=10)
    p.add_argument("--tasks", type=int, default=100, help="meta-test tasks per k")
    p.add_argument("--eval-seed", type=int, default=1234)
    p.add_argument("--head-steps", type=int, default=100)
    p.add_argument("--head-lr", type=float, default=1e-2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu", help="cpu | cuda | auto (CUDA when available)")
    p.add_argument("--out", type=Path, required=True)


def run(args: argparse.Namespace, ctx) -> None:
    from metasnn.data import EpisodeSampler, EpisodeSpec, load_metadataset

    torch.set_num_threads(max(1, args.threads))
    torch.manual_seed(args.seed)
    ds = load_metadataset(args.data)
    ctx.seeds = [args.seed]
    ctx.use_sources(ds.data_sources)
    n_classes = len(ds.classes("train"))
    model = build_model("sn22_snn", ds.frame_shape, n_classes, channels=tuple(args.channels), pooling=args.pooling,
                        burn_in=float(args.burn_in), input_pool=args.input_pool, dt_ms=ds.time_bin_ms if args.scale_decays else 1.0)
    device = resolve_device(args.device)
    ctx.device = str(device)
    model.to(device)
    cfg = PretrainConfig(steps=args.pretrain_steps, batch_size=args.pretrain_batch, lr=args.pretrain_lr, init=args.init,
                         lsuv_mean=args.lsuv_mean)
    ctx.log.info("pretraining %d-way on %s for %d steps", n_classes, ds.name, cfg.steps)
    rows = pretrain(model, ds, cfg, args.seed,
                    progress=lambda r: ctx.progress(r, f"pretrain {ds.name} seed {args.seed}", per="pretrain_steps"))
    results = {"dataset": ds.name, "seed": args.seed, "shots": [], "acc_mean": [], "acc_ci95_low": [],
               "acc_ci95_high": [], "per_task": {},
               "nonmeta_update": {k: [r[f"out_update_{k}"] for r in rows] for k in ("avg", "sum", "max")}}
    for k in args.shots:
        sampler = EpisodeSampler(ds, "test", EpisodeSpec(args.ways, k, args.queries), seed=args.eval_seed)
        accs = []
        for i in ctx.progress(range(args.tasks), f"transfer {k}-shot", per=("tasks", "head_steps", "shots")):
            ep = sampler.episode(i).to(device)
            accs.append(transfer_task_accuracy(model, ep.support_x, ep.support_y, ep.query_x, ep.query_y, args.ways,
                                               head_steps=args.head_steps, head_lr=args.head_lr))
        s = summarize(accs)
        results["shots"].append(int(k))
        results["acc_mean"].append(s.mean)
        results["acc_ci95_low"].append(s.ci95_low)
        results["acc_ci95_high"].append(s.ci95_high)
        results["per_task"][str(k)] = accs
        ctx.log.info("transfer %d-shot: %.4f", k, s.mean)
    tail = rows[-max(1, len(rows) // 10):]
    metrics = {
        "dataset": ds.name, "seed": args.seed, "pretrain_classes": n_classes,
        "pretrain_final_loss": float(np.mean([r["loss"] for r in tail])),
        "pretrain_final_acc": float(np.mean([r["acc"] for r in tail])),
        "nonmeta_update_avg": float(np.mean([r["out_update_avg"] for r in rows])),
        "nonmeta_update_sum": float(np.mean([r["out_update_sum"] for r in rows])),
        "nonmeta_update_max": float(np.mean([r["out_update_max"] for r in rows])),
        **{f"transfer_acc_{k}shot": a for k, a in zip(results["shots"], results["acc_mean"], strict=True)},
    }
    with atomic_directory(args.out) as tmp:
        atomic_write_json(tmp / "results.json", results)
        write_curve(tmp / "curve.csv", rows)
        atomic_write_json(tmp / "metrics.json", metrics)
        save_tensors({"state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}, tmp / "model.pt")
        ctx.write_provenance(tmp)


if __name__ == "__main__":
    main("sn22_transfer", __doc__, add_arguments, run)
