"""ip2 intrinsic plasticity on one meta-dataset and seed: select the mask of adaptable intrinsic parameters
(threshold, membrane / dendritic time constants) on a few meta-train tasks (slow level, then fixed), run the
learning-to-learn sequence of meta-train tasks (fast level: gradient steps on the masked intrinsic parameters
to a support-accuracy criterion, homeostatic penalty; slow level: weight update after each task) for the
intrinsic-plasticity RSNN and for the point-neuron baseline adapting weights, then score held-out meta-test
tasks. Writes into --out: model.pt (metasnn.model_file: both networks and the mask, rebuilt by
metasnn.plasticity.intrinsic.build_evaluator), result.json, metrics.json, curves.csv (steps to criterion per
task), provenance.json.
"""

from __future__ import annotations

from pathlib import Path

from metasnn.data import EpisodeSampler, EpisodeSpec
from metasnn.io import atomic_directory, atomic_write_json
from metasnn.meta.training import curve_csv
from metasnn.model_file import networks_state, save_model
from metasnn.plasticity.intrinsic import (
    IntrinsicNet,
    IP2Config,
    IP2Evaluator,
    evaluate,
    model_record,
    run_sequence,
    select_mask,
)
from pipeline.cli import main, str2bool
from pipeline.cli_flags import add_fewshot_run_flags, add_flags
from pipeline.cli_runs import open_metadataset


def add_arguments(p) -> None:
    add_fewshot_run_flags(p)
    p.add_argument("--recurrent", type=str2bool)
    add_flags(p, int, "--ways", "--shots", "--queries")
    p.add_argument("--grid", type=int, nargs=2, help="input pooling grid (rows cols)")
    add_flags(p, int, "--steps", "--hidden")
    p.add_argument("--inner-lr", type=float,
                   help="intrinsic model: inner-loop SGD lr of the masked intrinsic parameters")
    p.add_argument("--point-inner-lr", type=float,
                   help="point-neuron baseline: inner-loop SGD lr of its readout weights (same criterion and cap)")
    p.add_argument("--max-steps", type=int, help="inner steps cap (steps to criterion)")
    p.add_argument("--criterion", type=float, help="support accuracy that ends a task")
    add_flags(p, float, "--homeostasis", "--target-rate", "--outer-lr")
    p.add_argument("--mask-candidates", nargs="+", help="intrinsic parameter sets the mask is selected from")
    add_flags(p, int, "--selection-tasks")
    p.add_argument("--tasks", type=int, help="tasks in the learning-to-learn sequence")
    add_flags(p, int, "--test-episodes")
    p.add_argument("--out", type=Path, required=True)


def run(args, ctx):
    ds = open_metadataset(args, ctx)
    spec = EpisodeSpec(args.ways, args.shots, args.queries)
    train = EpisodeSampler(ds, "train", spec, seed=args.seed)
    sequence = [train.episode(i) for i in range(args.tasks)]
    selection = [train.episode(args.tasks + i) for i in range(args.selection_tasks)]
    test = list(EpisodeSampler(ds, "test", spec, seed=args.eval_seed).take(args.test_episodes))
    base = dict(recurrent=args.recurrent, ways=args.ways, shots=args.shots, queries=args.queries, grid=tuple(args.grid),
                steps=args.steps, hidden=args.hidden, max_steps=args.max_steps,
                criterion=args.criterion, homeostasis=args.homeostasis, target_rate=args.target_rate,
                outer_lr=args.outer_lr)
    inner_lr = {"intrinsic": args.inner_lr, "point": args.point_inner_lr}
    mask, scores = select_mask(IP2Config(inner_lr=inner_lr["intrinsic"], **base), args.mask_candidates, selection,
                               args.seed)
    nets, rows = {}, []
    result = {"dataset": ds.name, "seed": args.seed, "mask": "+".join(mask), "mask_scores": scores,
              "criterion": args.criterion, "max_steps": args.max_steps}
    for index, model in enumerate(("intrinsic", "point")):
        net = IntrinsicNet(IP2Config(model=model, mask=mask, inner_lr=inner_lr[model], **base), seed=args.seed)
        seq = run_sequence(net, sequence, progress=lambda it, m=model: ctx.progress(it, f"ip2 {m} tasks", per=("tasks", "max_steps")))
        rows += [{"model_index": index, **r} for r in seq]
        acc = evaluate(net, test)
        cost = IP2Evaluator(net, ds.frame_shape, ds.num_steps).cost(test[0])  # adapted on its support
        result[model] = {"steps_to_criterion": [r["steps_to_criterion"] for r in seq],
                         "sequence_query_acc": [r["query_acc"] for r in seq], "test_task_acc": acc,
                         "test_acc": sum(acc) / len(acc), "inner_lr": net.config.inner_lr, "cost": cost.columns()}
        nets[model] = net
        ctx.log.info("%s seed %d %s: mask %s, mean steps %.2f, meta-test accuracy %.3f", ds.name, args.seed, model,
                     "+".join(mask), sum(result[model]["steps_to_criterion"]) / len(seq), result[model]["test_acc"])
    with atomic_directory(args.out) as tmp:
        save_model(tmp, model_record(nets, ds, args.seed), networks_state(nets))
        atomic_write_json(tmp / "result.json", result)
        atomic_write_json(tmp / "metrics.json", {f"{m}_test_acc": result[m]["test_acc"] for m in nets})
        (tmp / "curves.csv").write_text(curve_csv(rows))
        ctx.write_provenance(tmp, mask="+".join(mask), model_index={"intrinsic": 0, "point": 1})


if __name__ == "__main__":
    main("ip2_train", __doc__, add_arguments, run)
