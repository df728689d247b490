"""Cost of one trained sn22 model measured two ways: ours (metasnn.evaluation.cost) and NeuroBench 2.3.0's.

    python -m benchmarks.compare_neurobench --model-dir results/runs/sn22_metatrain/maml_snn/double_nmnist/seed0 \\
        [--data data/meta/double_nmnist] [--queries 2] [--out comparison.json]

The model is read from ``model.pt`` (metasnn.model_file) in ``--model-dir``; ``--data`` defaults to
``data/meta/<the meta-dataset its record names>``. Same network and inputs as ``pipeline.evaluate_fewshot``'s
cost columns: meta-test task 0 of the evaluation sampler (``--eval-seed``, default 1234), the query pass
through the model adapted on its support. Both measurements hook the same ``forward`` (``torch.func.functional_call`` with the fast
weights); NeuroBench's own metric classes binarise the module's *stored* weights after the run, ours the
weights that ran, so the two differ only where adaptation moved a weight off or onto exactly 0. ``--queries`` (per class) defaults to the model's own; fewer make the run cheaper. Prints a
table and writes it as JSON with ``--out``. Not a ``bench_*`` module: ``python -m benchmarks`` does not
run it (it needs a trained model and NeuroBench).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch


def compare(model_dir: Path, data: Path | None, queries: int | None, eval_seed: int, inner_steps: int | None) -> dict:
    from metasnn.data import EpisodeSampler, EpisodeSpec, load_metadataset
    from metasnn.evaluation.cost import measure_cost
    from metasnn.evaluation.neurobench import neurobench_cost
    from metasnn.meta.sn22 import SN22Evaluator, load_learner
    from metasnn.model_file import read_model

    record, state = read_model(model_dir)
    model, cfg = load_learner(record, state)
    ds = load_metadataset(Path("data/meta") / record.dataset if data is None else data)
    q = cfg.queries if queries is None else queries
    episode = EpisodeSampler(ds, "test", EpisodeSpec(cfg.ways, cfg.shots, q), seed=eval_seed).episode(0)
    evaluator = SN22Evaluator(model, cfg, ds.frame_shape, ds.num_steps)
    fast = evaluator.adapted_params(episode, inner_steps)

    def forward(m: torch.nn.Module, x: torch.Tensor):
        return torch.func.functional_call(m, fast, (x,), strict=False)

    t0 = time.perf_counter()
    ours = measure_cost(model, episode.query_x, forward=forward)
    t1 = time.perf_counter()
    nb = neurobench_cost(model, episode.query_x, forward=forward)
    t2 = time.perf_counter()
    nb_ops = nb["synaptic_operations"]
    layers = {layer.name: {"ours_dense": layer.dense_ops, "ours_effective": layer.effective_ops,
                           "ours_kind": layer.op_kind, "nb_dense": nb["synaptic_operations_by_layer"][layer.name]["Dense"],
                           "nb_effective": nb["synaptic_operations_by_layer"][layer.name]["Effective_MACs"]
                           + nb["synaptic_operations_by_layer"][layer.name]["Effective_ACs"]}
              for layer in ours.layers}
    return {
        "model": str(model_dir), "method": cfg.method, "dataset": ds.name, "frame_shape": list(ds.frame_shape),
        "num_steps": ds.num_steps, "query_samples": ours.samples, "eval_seed": eval_seed,
        "seconds": {"ours": round(t1 - t0, 2), "neurobench": round(t2 - t1, 2)},
        "columns": ours.columns(), "ours_dense_ops": ours.dense_ops, "ours_connection_sparsity": ours.connection_sparsity,
        "ours_activation_sparsity_by_layer": dict(ours.activation_sparsity),
        "neurobench": nb, "neurobench_effective_ops": nb_ops["Effective_MACs"] + nb_ops["Effective_ACs"],
        "layers": layers,
    }


def table(r: dict) -> str:
    c, nb = r["columns"], r["neurobench"]
    rows = [("footprint / param_bytes", c["param_bytes"], nb["footprint"]),
            ("connection sparsity", r["ours_connection_sparsity"], nb["connection_sparsity"]),
            ("synaptic ops / sample (effective)", c["synaptic_ops_per_sample"], round(r["neurobench_effective_ops"], 1)),
            ("dense ops / sample", round(r["ours_dense_ops"], 1), nb["synaptic_operations"]["Dense"]),
            ("op kind", c["op_kind"], "MAC" if nb["synaptic_operations"]["Effective_MACs"] else "AC"),
            ("activation sparsity", c["activation_sparsity"],
             None if nb["activation_sparsity"] is None else round(nb["activation_sparsity"], 4)),
            ("state bytes / sample", c["state_bytes"], "—")]
    lines = [f"{r['method']} on {r['dataset']} ({r['query_samples']} query samples, T={r['num_steps']})",
             f"{'metric':36s} {'ours':>16s} {'NeuroBench':>16s}"]
    lines += [f"{name:36s} {a!s:>16s} {b!s:>16s}" for name, a, b in rows]
    lines.append("per synapse: ours dense/effective vs NeuroBench dense/effective")
    for name, v in r["layers"].items():
        lines.append(f"  {name:22s} {v['ours_dense']:14.1f} {v['ours_effective']:14.1f}   "
                     f"{v['nb_dense']:14.1f} {v['nb_effective']:14.1f}")
    lines.append(f"activation sparsity by layer: ours {r['ours_activation_sparsity_by_layer']}, "
                 f"NeuroBench {nb['activation_sparsity_by_layer']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", type=Path, required=True)
    ap.add_argument("--data", type=Path, default=None,
                    help="meta-dataset (default: data/meta/<the meta-dataset its model record names>)")
    ap.add_argument("--queries", type=int, default=None, help="query samples per class (default: the model's)")
    ap.add_argument("--eval-seed", type=int, default=1234)
    ap.add_argument("--inner-steps", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    result = compare(args.model_dir, args.data, args.queries, args.eval_seed, args.inner_steps)
    print(table(result))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
