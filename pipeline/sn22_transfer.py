"""sn22 Fig 6 transfer-learning baseline (also Table 3's "non-meta" row).

Pretrains the sn22 SNN as a plain classifier on all meta-train classes (64-way on Double N-MNIST),
then for k in --shots: on each of --tasks fixed, seeded meta-test tasks (--eval-seed), freezes the
conv stack, trains a new 5-way output layer on the k support shots per class and scores the
queries. Writes into --out: results.json (per k: mean accuracy and per-task accuracies),
curve.csv (pretraining: loss, accuracy, output-layer update avg/sum/max per step), metrics.json,
model.pt (metasnn.model_file: the pretrained network, method "transfer", paper "sn22", no few-shot
loader; its config holds the network's build options and the pretraining config), provenance.json.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from metasnn.baselines.transfer import PretrainConfig, pretrain, transfer_task_accuracy
from metasnn.io import atomic_directory, atomic_write_json
from metasnn.meta.sn22 import model_state
from metasnn.meta.training import write_curve
from metasnn.model_file import ModelRecord, save_model
from metasnn.snn import build_model
from pipeline.cli import main
from pipeline.cli_flags import add_device_flags, add_flags
from pipeline.cli_runs import accuracy_curve, add_point, use_device
from pipeline.metatrain import add_sn22_network_arguments


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, required=True, help="meta-dataset directory (data/meta/<dataset>)")
    p.add_argument("--seed", type=int, required=True)
    add_sn22_network_arguments(p)
    add_flags(p, int, "--pretrain-steps", "--pretrain-batch")
    add_flags(p, float, "--pretrain-lr")
    add_flags(p, int, "--ways")
    p.add_argument("--shots", type=int, nargs="+", help="support shots per class, one transfer test each")
    p.add_argument("--queries", type=int, help="query samples per class")
    p.add_argument("--tasks", type=int, help="meta-test tasks per k")
    add_flags(p, int, "--eval-seed", "--head-steps")
    add_flags(p, float, "--head-lr")
    add_device_flags(p)
    p.add_argument("--out", type=Path, required=True)


def network_options(args: argparse.Namespace, time_bin_ms: float) -> dict[str, Any]:
    """``build_model("sn22_snn", ...)`` options of the pretrained network (the sn22 backbone)."""
    return {"channels": list(args.channels), "pooling": args.pooling, "burn_in": float(args.burn_in),
            "input_pool": args.input_pool, "dt_ms": time_bin_ms if args.scale_decays else 1.0}


def run(args: argparse.Namespace, ctx) -> None:
    from metasnn.data import EpisodeSampler, EpisodeSpec, load_metadataset

    device = use_device(args, ctx)
    torch.manual_seed(args.seed)
    ds = load_metadataset(args.data)
    ctx.seeds = [args.seed]
    ctx.use_sources(ds.data_sources)
    n_classes = len(ds.classes("train"))
    net = network_options(args, ds.time_bin_ms)
    model = build_model("sn22_snn", ds.frame_shape, n_classes, **net)
    model.to(device)
    cfg = PretrainConfig(steps=args.pretrain_steps, batch_size=args.pretrain_batch, lr=args.pretrain_lr, init=args.init,
                         lsuv_mean=args.lsuv_mean)
    ctx.log.info("pretraining %d-way on %s for %d steps", n_classes, ds.name, cfg.steps)
    rows = pretrain(model, ds, cfg, args.seed,
                    progress=lambda r: ctx.progress(r, f"pretrain {ds.name} seed {args.seed}", per="pretrain_steps"))
    results = accuracy_curve("shots", dataset=ds.name, seed=args.seed)
    results["nonmeta_update"] = {k: [r[f"out_update_{k}"] for r in rows] for k in ("avg", "sum", "max")}
    for k in args.shots:
        sampler = EpisodeSampler(ds, "test", EpisodeSpec(args.ways, k, args.queries), seed=args.eval_seed)
        accs = []
        for i in ctx.progress(range(args.tasks), f"transfer {k}-shot", per=("tasks", "head_steps", "shots")):
            ep = sampler.episode(i).to(device)
            accs.append(transfer_task_accuracy(model, ep.support_x, ep.support_y, ep.query_x, ep.query_y, args.ways,
                                               head_steps=args.head_steps, head_lr=args.head_lr))
        ctx.log.info("transfer %d-shot: %.4f", k, add_point(results, "shots", k, accs))
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
        record = ModelRecord.of("transfer", "sn22", "", dataset=ds, seed=args.seed,
                                config={"model": "sn22_snn", "classes": n_classes, **net, "pretrain": asdict(cfg)})
        save_model(tmp, record, model_state(model))
        ctx.write_provenance(tmp)


if __name__ == "__main__":
    main("sn22_transfer", __doc__, add_arguments, run)
