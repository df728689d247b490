"""wu22 HP few-shot on one meta-dataset and seed: conv features + a plastic output layer whose Hebbian
trace stores the labelled support (label clamped onto the output during the support presentation),
meta-trained over episodes of the meta-train split (metasnn.plasticity.fewshot), evaluated on
meta-val and meta-test episodes (metasnn.data.EpisodeSampler). Writes per-task accuracies (JSON, with
the NeuroBench-style cost columns of the query pass of meta-test episode 0, metasnn.evaluation.cost),
model.pt (metasnn.model_file: the trained weights, and a record of what rebuilds the same network: HP
constants, label gain, frame size, T) and provenance.json. Episodes are scored by HPFewShotEvaluator, the
evaluator metasnn.model_file.load_evaluator rebuilds from model.pt for the cross-dataset stage.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from metasnn.data import EpisodeSampler, EpisodeSpec
from metasnn.errors import TrainingDivergedError
from metasnn.io import atomic_write_json
from metasnn.model_file import save_model
from metasnn.plasticity.fewshot import FEWSHOT_HP_CONFIG, HPFewShotEvaluator, HPFewShotNet, model_record
from pipeline.cli import main
from pipeline.cli_flags import add_fewshot_run_flags, add_flags
from pipeline.cli_runs import open_metadataset


def add_arguments(p) -> None:
    add_fewshot_run_flags(p)
    p.add_argument("--channels", type=int, nargs="+", help="conv feature channels")
    p.add_argument("--episodes", type=int, help="meta-training episodes")
    p.add_argument("--test-episodes", type=int, help="meta-val and meta-test episodes each")
    add_flags(p, int, "--ways", "--shots", "--queries")
    p.add_argument("--label-gain", type=float, help="current clamped onto the label neuron")
    add_flags(p, float, "--lr-weights", "--lr-meta")
    p.add_argument("--out", type=Path, required=True, help="results JSON")
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--provenance", type=Path, required=True)


def run(args, ctx):
    ds = open_metadataset(args, ctx)
    spec = EpisodeSpec(args.ways, args.shots, args.queries)
    config = FEWSHOT_HP_CONFIG
    net = HPFewShotNet(ds.frame_shape[1:], args.ways, args.channels, args.label_gain, config, seed=args.seed)
    params = dict(net.named_parameters())
    opt_w = torch.optim.Adam([params[n] for n in net.weight_names()], lr=args.lr_weights)
    opt_m = torch.optim.Adam([params[n] for n in net.meta_names()], lr=args.lr_meta)
    train = EpisodeSampler(ds, "train", spec, seed=args.seed)
    losses = []
    for ep in ctx.progress(train.take(args.episodes), "meta-train episodes", total=args.episodes, per="episodes"):
        loss = F.cross_entropy(net(ep.support_x, ep.support_y, ep.query_x), ep.query_y)
        if not torch.isfinite(loss):
            raise TrainingDivergedError(f"{args.data}: few-shot HP loss became {float(loss)}; lower --lr-meta")
        opt_w.zero_grad(set_to_none=True)
        opt_m.zero_grad(set_to_none=True)
        loss.backward()
        opt_w.step()
        opt_m.step()
        losses.append(float(loss.detach()))
    # meta-val / meta-test episodes: the shared evaluation task set (eval_seed), as for every few-shot method
    result = {"dataset": ds.name, "seed": args.seed, "ways": args.ways, "shots": args.shots, "queries": args.queries,
              "episodes": args.episodes, "final_train_loss": sum(losses[-20:]) / max(1, len(losses[-20:]))}
    # scored by the evaluator metasnn.model_file.load_evaluator rebuilds from model.pt for the cross-dataset stage
    evaluator = HPFewShotEvaluator(net, ds.frame_shape, ds.num_steps)
    for split in ("val", "test"):
        sampler = EpisodeSampler(ds, split, spec, seed=args.eval_seed)
        result[f"{split}_task_acc"] = [evaluator(ep) for ep in sampler.take(args.test_episodes)]
        result[f"{split}_acc"] = sum(result[f"{split}_task_acc"]) / len(result[f"{split}_task_acc"])
    result["alpha"] = float(net.readout.alpha.detach())
    probe = EpisodeSampler(ds, "test", spec, seed=args.eval_seed).episode(0)  # meta-test episode 0
    cost = evaluator.cost(probe)
    result["cost"] = {**cost.columns(), "dense_ops_per_sample": round(cost.dense_ops, 1)}
    for path in (args.out, args.model, args.provenance):
        path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out, result)
    save_model(args.model, model_record(net, ds, args.seed), net.state_dict())
    ctx.write_provenance(args.provenance.parent, hp_config=config.to_dict(), reset_policy=config.reset,
                         hp_training="joint")
    ctx.log.info("%s seed %d: meta-test accuracy %.3f", ds.name, args.seed, result["test_acc"])


if __name__ == "__main__":
    main("wu22_fewshot_hp", __doc__, add_arguments, run)
