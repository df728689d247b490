"""mp23 metaplasticity on one meta-dataset and seed: for every rule variant (ABCD / BD / A-only / fixed),
meta-learn the per-synapse rule ΔW = η⊙(A⊙x(y−C) + B⊙y + D) (weights built from zero within each episode,
max-abs normalised; metasnn.plasticity.metaplasticity) on meta-train episodes, then score meta-val and
meta-test episodes. Writes into --out: model.pt (metasnn.model_file: every variant's network, rebuilt by
metasnn.plasticity.metaplasticity.build_evaluator), result.json (per-task accuracies), metrics.json, curves.csv
(per outer step and variant), provenance.json.
"""

from __future__ import annotations

import functools
from pathlib import Path

from metasnn.data import EpisodeSampler, EpisodeSpec
from metasnn.io import atomic_directory, atomic_write_json
from metasnn.meta.training import checkpoint_for, curve_csv
from metasnn.model_file import networks_state, save_model
from metasnn.plasticity.metaplasticity import (
    VARIANTS,
    MP23Config,
    MP23Evaluator,
    encode_episode,
    evaluate,
    metatrain,
    model_record,
)
from pipeline.cli import main
from pipeline.cli_flags import add_fewshot_run_flags, add_flags
from pipeline.cli_runs import open_metadataset


def add_arguments(p) -> None:
    add_fewshot_run_flags(p)
    p.add_argument("--variants", nargs="+", choices=sorted(VARIANTS))
    add_flags(p, int, "--ways", "--shots")
    p.add_argument("--queries", type=int, help="query samples per class of the meta-val/test episodes")
    p.add_argument("--train-queries", type=int, help="query samples per class during meta-training")
    p.add_argument("--grid", type=int, nargs=2, help="input pooling grid (rows cols)")
    p.add_argument("--steps", type=int, help="time bins the episode is resampled to")
    add_flags(p, int, "--hidden")
    add_flags(p, float, "--label-gain", "--eta-init")
    add_flags(p, int, "--outer-steps")
    p.add_argument("--outer-lr", type=float, default=3e-3)
    p.add_argument("--rule-lr-factor", type=float,
                   help="Adam steps of the rule tensors relative to those of the network")
    p.add_argument("--meta-optimizer", choices=("gradient", "es"))
    add_flags(p, int, "--es-pairs")
    add_flags(p, float, "--es-sigma")
    p.add_argument("--test-episodes", type=int, help="meta-val and meta-test episodes each")
    p.add_argument("--checkpoint-dir", type=Path, default=None,
                   help="resume/checkpoint directory (one subdirectory per rule variant)")
    p.add_argument("--checkpoint-every", type=int, help="steps between checkpoints")
    p.add_argument("--out", type=Path, required=True)


def run(args, ctx):
    ds = open_metadataset(args, ctx, seed_torch=False)
    spec = EpisodeSpec(args.ways, args.shots, args.queries)
    nets, rows, metrics = {}, [], {}
    result = {"dataset": ds.name, "seed": args.seed, "variants": {},
              "training": {"outer_steps": args.outer_steps, "outer_lr": args.outer_lr,
                           "rule_lr_factor": args.rule_lr_factor, "train_queries": args.train_queries}}
    grid = tuple(args.grid)

    def encode(ep):
        return encode_episode(ep, grid, args.steps)

    train_sampler = EpisodeSampler(ds, "train", EpisodeSpec(args.ways, args.shots, args.train_queries), seed=args.seed)
    train = functools.lru_cache(maxsize=None)(lambda i: encode(train_sampler.episode(i)))
    held_out = {split: [encode(ep) for ep in EpisodeSampler(ds, split, spec, seed=args.eval_seed).take(args.test_episodes)]
                for split in ("val", "test")}
    cost_episode = EpisodeSampler(ds, "test", spec, seed=args.eval_seed).episode(0)  # raw frames: held_out test 0
    for variant in args.variants:
        cfg = MP23Config(variant=variant, ways=args.ways, shots=args.shots, queries=args.train_queries, grid=grid,
                         steps=args.steps, hidden=args.hidden, label_gain=args.label_gain, eta_init=args.eta_init,
                         outer_steps=args.outer_steps, outer_lr=args.outer_lr, rule_lr_factor=args.rule_lr_factor,
                         meta_optimizer=args.meta_optimizer, es_pairs=args.es_pairs, es_sigma=args.es_sigma)
        checkpoint = checkpoint_for({"mp23": cfg.to_dict()}, ds, args.seed, ds.data_sources,
                                    args.checkpoint_dir and args.checkpoint_dir / variant, args.checkpoint_every)
        net, curve = metatrain(cfg, ds, args.seed, progress=lambda r, v=variant: ctx.progress(r, f"mp23 {v}", per="outer_steps"),
                               episode=train, checkpoint=checkpoint)
        nets[variant] = net
        rows += [{"variant_index": list(VARIANTS).index(variant), **row} for row in curve.rows]
        entry = {}
        for split in ("val", "test"):
            entry[f"{split}_task_acc"] = evaluate(net, held_out[split])
            entry[f"{split}_acc"] = sum(entry[f"{split}_task_acc"]) / len(entry[f"{split}_task_acc"])
        entry["cost"] = MP23Evaluator(net, ds.frame_shape, ds.num_steps).cost(cost_episode).columns()
        entry["rule_mean_abs"] = {k: float(p.detach().abs().mean()) for k, p in net.rule.items()}
        result["variants"][variant] = entry
        metrics[f"{variant}_test_acc"] = entry["test_acc"]
        ctx.log.info("%s seed %d %s: meta-test accuracy %.3f", ds.name, args.seed, variant, entry["test_acc"])
    with atomic_directory(args.out) as tmp:
        save_model(tmp, model_record(nets, ds, args.seed), networks_state(nets))
        atomic_write_json(tmp / "result.json", result)
        atomic_write_json(tmp / "metrics.json", metrics)
        (tmp / "curves.csv").write_text(curve_csv(rows))
        ctx.write_provenance(tmp, variants=list(args.variants), meta_optimizer=args.meta_optimizer,
                             variant_index={v: i for i, v in enumerate(VARIANTS)})


if __name__ == "__main__":
    main("mp23_train", __doc__, add_arguments, run)
