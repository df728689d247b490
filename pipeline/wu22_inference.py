"""wu22 Table S1 inference network: train [input-H-H-10] wu22 neurons on N-MNIST single digits under one
input coding (rate or rank, metasnn.hardware.inference) and one seed, then measure on the Test
recordings the per-layer spike rates (hardware rates format, metasnn.hardware.rates; read by
estimate_hardware for the Tianjic rows of Table S1), the test accuracy and the CPU latency of the
trained network. Writes curves (CSV), metrics (flat JSON), model.pt (metasnn.model_file: the weights, with a
record of the network, its input coding and the data that trained it), rates and provenance.json.
"""

from __future__ import annotations

import torch

from metasnn.data.layout import load_manifest
from metasnn.data.sources import describe
from metasnn.hardware.inference import CODINGS, InferenceConfig, encode, fit
from metasnn.hardware.rates import write_rates
from metasnn.io import atomic_write_json, atomic_write_text
from metasnn.model_file import save_model
from metasnn.plasticity.training import network_config
from pipeline.cli import main, str2bool
from pipeline.cli_flags import add_flags
from pipeline.wu22_train import add_digit_arguments, add_output_files, curves_csv, digit_record, load_digits

DATASET = "N-MNIST"  # the Table S1 rows these measurements fill


def add_arguments(p) -> None:
    add_digit_arguments(p, "T (wu22 Table S1 / hardware.inference_timesteps: 8)",
                        "neurons in each of the two hidden layers (wu22: 1024)")
    p.add_argument("--coding", choices=CODINGS, required=True,
                   help="rate: a spike in every bin with an event; rank: one spike, in the first bin with an event")
    p.add_argument("--seed", type=int, default=0)
    add_flags(p, int, "--epochs", "--batch-size")
    p.add_argument("--lr", type=float, help="Adam learning rate of the weights")
    p.add_argument("--measure", type=str2bool, help="measure the CPU latency of the trained network")
    p.add_argument("--measure-seconds", type=float, help="minimum timing duration of the latency")
    add_output_files(p, "metrics JSON (accuracy, latency, rates)", "trained weights")


def run(args, ctx):
    torch.set_num_threads(1)
    ctx.seeds = [args.seed]
    source = load_manifest(args.data).data_source
    source_label = describe(ctx.use_sources([source]).values())
    frames_train, y_train = load_digits(args, "train", args.train_per_class)
    frames_test, y_test = load_digits(args, "test", args.test_per_class)
    x_train, x_test = encode(frames_train, args.coding, args.pool), encode(frames_test, args.coding, args.pool)
    cfg = InferenceConfig(hidden=args.hidden, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                          seed=args.seed, measure=args.measure, measure_seconds=args.measure_seconds)
    ctx.log.info("%s coding, seed %d: %d train / %d test samples, n_in %d, hidden %d, T %d", args.coding, args.seed,
                 x_train.shape[1], x_test.shape[1], x_train.shape[-1], args.hidden, x_train.shape[0])
    res = fit((x_train, y_train), (x_test, y_test), cfg, progress=ctx.progress_per("epochs"))
    sizes = "-".join(str(s) for s in res.network.sizes)
    lat = res.latency
    metrics = {"coding": args.coding, "seed": args.seed, "dataset": DATASET, "network": sizes,
               "timesteps": int(x_train.shape[0]), "n_train": int(x_train.shape[1]), "n_test": int(x_test.shape[1]),
               **res.final, "train_time_s": res.train_time_s,
               "latency_s": None if lat is None else lat.latency_s,
               "latency_device": "not measured" if lat is None else lat.device,
               "latency_note": "--measure false" if lat is None else lat.note,
               **{f"rate_{lr['name']}_{side}": lr[f"{side}put_rate"] for lr in res.layers for side in ("in", "out")}}
    for d in (args.curves, args.metrics, args.model, args.rates, args.provenance):
        d.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.curves, curves_csv(res.curves))
    atomic_write_json(args.metrics, metrics)
    config = {**network_config(res.network), "pool": args.pool, "coding": args.coding, "inference": cfg.to_dict()}
    save_model(args.model, digit_record(args, "gp", source, frames_train, config), res.network.state_dict())
    write_rates(args.rates, model=f"wu22_inference_{sizes}", mode="inference", coding=args.coding,
                timesteps=int(x_train.shape[0]),
                layers=res.layers, note=f"measured on {x_test.shape[1]} {DATASET} Test recordings after training "
                                        f"({args.coding} coding, seed {args.seed}, {source_label}, {ctx.scale} scale)")
    ctx.write_provenance(args.provenance.parent, inference_config=cfg.to_dict(), coding=args.coding,
                         latency=None if lat is None else lat.__dict__)
    ctx.log.info("%s coding seed %d: test accuracy %.3f, train %.1f s, latency %s s, rates %s", args.coding,
                 args.seed, res.final["test_acc"], res.train_time_s, None if lat is None else f"{lat.latency_s:.3g}",
                 [round(lr["output_rate"], 4) for lr in res.layers])


if __name__ == "__main__":
    main("wu22_inference", __doc__, add_arguments, run)
