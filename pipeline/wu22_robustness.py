"""wu22 Fig 4 robustness of one seed: loads the clean-trained GP / LP / fine-tune / HP models of that
seed, and measures accuracy under centre crop (ci) and salt-and-pepper noise (nl) of the N-MNIST
single-digit test set, plus the Euclidean distance and cosine similarity between first-hidden-layer
membranes (last step) of corrupted and clean inputs (metasnn.evaluation.robustness). Writes one
JSON with every curve and provenance.json.
"""

from __future__ import annotations

from pathlib import Path

import torch

from metasnn.data.layout import load_manifest
from metasnn.errors import CheckpointError
from metasnn.evaluation.robustness import CORRUPTIONS, robustness_sweep
from metasnn.io import atomic_write_json, load_tensors
from metasnn.plasticity.hp import HPConfig, prepare_inputs
from metasnn.plasticity.training import build_network
from pipeline.cli import main
from pipeline.wu22_train import add_data_arguments, load_digits


def add_arguments(p) -> None:
    add_data_arguments(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--models", type=Path, nargs="+", required=True, help="model files written by wu22_train")
    p.add_argument("--levels", type=int, nargs="+", help="ci / nl levels (0..14)")
    p.add_argument("--corruptions", nargs="+", choices=CORRUPTIONS, default=list(CORRUPTIONS))
    p.add_argument("--out", type=Path, required=True, help="robustness JSON")
    p.add_argument("--provenance", type=Path, required=True)


def load_model(path: Path):
    if not path.is_file():
        raise CheckpointError(f"{path}: model file missing; run wu22_train for it first")
    blob = load_tensors(path)
    try:
        cfg = HPConfig(**blob["hp_config"])
        net = build_network(blob["method"], blob["sizes"], cfg, seed=0)
        net.load_state_dict(blob["state_dict"])
    except (KeyError, RuntimeError, TypeError) as exc:
        raise CheckpointError(f"{path}: not a wu22_train model ({exc}); rerun wu22_train") from exc
    return blob["method"], net.eval()


def run(args, ctx):
    torch.set_num_threads(1)
    ctx.seeds = [args.seed]
    ctx.use_sources([load_manifest(args.data).data_source])
    models = dict(load_model(p) for p in args.models)
    frames, labels = load_digits(args, "test", args.test_per_class)
    result = robustness_sweep(models, frames, labels, lambda f: prepare_inputs(f, args.pool),
                              levels=args.levels, corruptions=args.corruptions, seed=args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out, {"seed": args.seed, "n_test": int(labels.numel()), "corruptions": result})
    ctx.write_provenance(args.provenance.parent, methods=sorted(models))


if __name__ == "__main__":
    main("wu22_robustness", __doc__, add_arguments, run)
