"""wu22 single-digit training: one learning mode (GP / LP / fine-tune / HP) and one seed on N-MNIST
single digits with the [input-hidden-10] network of wu22 (metasnn.plasticity). Writes the learning
curves (CSV), final metrics (flat JSON, with NeuroBench-style cost columns), model.pt
(metasnn.model_file: the trained weights and carried traces, with a record of the network, its inputs and
the data that trained it), the per-layer spike rates of the trained model in the hardware rates format
(metasnn.hardware.rates) and provenance.json (with the reset policy and training mode).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import torch

from metasnn.data import load_single_digits
from metasnn.data.layout import load_manifest
from metasnn.data.sources import DataSource, describe
from metasnn.evaluation.cost import measure_cost
from metasnn.hardware.rates import write_rates
from metasnn.io import atomic_write_json, atomic_write_text
from metasnn.model_file import ModelRecord, save_model
from metasnn.plasticity.hp import POST_FORMS, RESET_POLICIES, HPConfig, prepare_inputs
from metasnn.plasticity.training import (
    HP_TRAINING,
    METHODS,
    TrainConfig,
    build_network,
    network_config,
    spike_rates,
    train_network,
)
from pipeline.cli import main, str2bool
from pipeline.cli_flags import add_flags

RATES_MODE = {"gp": "GP", "lp": "LP", "finetune": "HP", "hp": "HP"}


def add_digit_arguments(p, timesteps_help: str, hidden_help: str) -> None:
    """Input and hidden-layer flags of the wu22 single-digit networks (training, robustness, inference)."""
    p.add_argument("--data", type=Path, required=True, help="fetched N-MNIST directory (data/fetched/nmnist)")
    p.add_argument("--timesteps", type=int, help=timesteps_help)
    p.add_argument("--window-ms", type=float, help="recording window split into T bins")
    p.add_argument("--pool", type=int, help="sum-pool the 34x34 frames by this factor")
    p.add_argument("--hidden", type=int, help=hidden_help)
    p.add_argument("--train-per-class", type=int, help="Train recordings per digit (0 = all)")
    p.add_argument("--test-per-class", type=int, help="Test recordings per digit (0 = all)")


def add_data_arguments(p) -> None:
    """Data and network flags shared with the robustness stage (the model must be rebuilt identically)."""
    add_digit_arguments(p, "T (wu22: 8 in the paper, 5 in the code)", "hidden HP-LIF neurons (wu22: 512)")
    p.add_argument("--reset", choices=RESET_POLICIES,
                   help="Hebbian trace reset: per sample (default), per batch/episode, carried across batches (code)")
    p.add_argument("--post-form", choices=POST_FORMS,
                   help="post term: tanh(u/θ − β) (code) or tanh(u/θ) + β (spec's literal form)")
    p.add_argument("--readout-clamp", type=float, help="clamp the readout at this max (code: 1.1; 0 = off)")


def add_output_files(p, metrics_help: str, model_help: str) -> None:
    """Where a wu22 training stage writes its curves, metrics, weights, spike rates and provenance."""
    p.add_argument("--curves", type=Path, required=True, help="curves CSV (epoch, losses, accuracies)")
    p.add_argument("--metrics", type=Path, required=True, help=metrics_help)
    p.add_argument("--model", type=Path, required=True, help=model_help)
    p.add_argument("--rates", type=Path, required=True, help="spike rates (metasnn.hardware.rates format)")
    p.add_argument("--provenance", type=Path, required=True, help="provenance.json path")


def add_arguments(p) -> None:
    add_data_arguments(p)
    p.add_argument("--method", choices=METHODS, required=True)
    p.add_argument("--seed", type=int, default=0)
    add_flags(p, int, "--epochs", "--batch-size")
    p.add_argument("--lr-weights", type=float, help="Adam lr of the weights W (wu22: 1e-3)")
    p.add_argument("--lr-meta", type=float, help="Adam lr of the meta-parameters θ (wu22: 5e-4)")
    p.add_argument("--hp-training", choices=HP_TRAINING, help="HP: bi-level (paper) or joint minibatch gradient (code)")
    p.add_argument("--inner-lr", type=float, help="ξ of the bi-level inner step")
    p.add_argument("--second-order", type=str2bool, help="exact second-order outer gradient")
    add_output_files(p, "final metrics JSON", "trained weights (+ carried traces)")


def hp_config(args) -> HPConfig:
    return HPConfig(reset=args.reset, post_form=args.post_form,
                    readout_clamp=args.readout_clamp if args.readout_clamp > 0 else None)


def load_digits(args, split: str, per_class: int, progress=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Single digits of ``split`` as network inputs ``[T, N, n_in]`` (binarised, pooled) and labels."""
    frames, labels = load_single_digits(args.data, split, time_bin_ms=args.window_ms / args.timesteps,
                                        window_ms=args.window_ms, per_class=per_class or None, progress=progress)
    frames = frames[: args.timesteps]
    return frames, labels


def network_sizes(args, n_in: int) -> list[int]:
    return [n_in, args.hidden, 10]


def digit_record(args, method: str, source: DataSource, frames: torch.Tensor, config: dict[str, Any]) -> ModelRecord:
    """The ``model.pt`` record of a wu22 network (``method``: its training mode) trained on the single digits
    ``frames`` (``[T, N, 2, H, W]``, bins of ``--window-ms / --timesteps``) of the fetched dataset ``source``; no
    evaluator loader (a classification network, not a few-shot learner)."""
    return ModelRecord(method=method, paper="wu22", loader="", dataset=source.raw, seed=args.seed,
                       data_sources={source.raw: source.to_dict()}, config=config,
                       frame_shape=tuple(int(v) for v in frames.shape[2:]), num_steps=int(frames.shape[0]),
                       time_bin_ms=args.window_ms / args.timesteps)


def curves_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue()


def run(args, ctx):
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    ctx.seeds = [args.seed]
    source = load_manifest(args.data).data_source
    sources = ctx.use_sources([source])
    frames_train, y_train = load_digits(args, "train", args.train_per_class)
    frames_test, y_test = load_digits(args, "test", args.test_per_class)
    x_train, x_test = prepare_inputs(frames_train, args.pool), prepare_inputs(frames_test, args.pool)
    config = hp_config(args)
    net = build_network(args.method, network_sizes(args, x_train.shape[-1]), config, seed=args.seed)
    train_cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr_weights=args.lr_weights,
                            lr_meta=args.lr_meta, hp_training=args.hp_training, inner_lr=args.inner_lr,
                            second_order=args.second_order, seed=args.seed)
    ctx.log.info("%s seed %d: %d train / %d test samples, sizes %s", args.method, args.seed, x_train.shape[1],
                 x_test.shape[1], net.sizes)
    result = train_network(net, args.method, (x_train, y_train), (x_test, y_test), train_cfg, progress=ctx.progress_per("epochs"))
    layers = spike_rates(net, x_test)
    with torch.no_grad():
        probe = x_test[:, : min(100, x_test.shape[1])]
        traced = net.run(probe, record=True)
        cost = measure_cost(net, probe, spike_trace={f"layers.{i}": s for i, s in enumerate(traced.spikes)})
    metrics = {"method": args.method, "seed": args.seed, **result.final,
               "n_train": int(x_train.shape[1]), "n_test": int(x_test.shape[1]),
               **{k: v for k, v in cost.columns().items() if not isinstance(v, (dict, list))},
               **{f"rate_{lr['name']}_out": lr["output_rate"] for lr in layers}}
    for d in (args.curves, args.metrics, args.model, args.rates, args.provenance):
        d.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.curves, curves_csv(result.curves))
    atomic_write_json(args.metrics, metrics)
    record = digit_record(args, args.method, source, frames_train,
                          {**network_config(net), "pool": args.pool, "training": train_cfg.to_dict()})
    save_model(args.model, record, net.state_dict())
    write_rates(args.rates, model=f"wu22_{args.method}_mlp", mode=RATES_MODE[args.method], timesteps=args.timesteps,
                layers=layers, note=f"measured on {x_test.shape[1]} test samples after training ({args.method}, "
                                     f"seed {args.seed}, {describe(sources.values())}, {ctx.scale} scale)")
    ctx.write_provenance(args.provenance.parent, hp_config=config.to_dict(), train_config=train_cfg.to_dict(),
                         reset_policy=config.reset, hp_training=args.hp_training if args.method == "hp" else None)
    ctx.log.info("%s seed %d: test accuracy %.3f", args.method, args.seed, result.final["test_acc"])


if __name__ == "__main__":
    main("wu22_train", __doc__, add_arguments, run)
