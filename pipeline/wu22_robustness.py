"""wu22 Fig 4 robustness of one seed: loads the clean-trained GP / LP / fine-tune / HP models of that
seed (their model.pt, metasnn.model_file), and measures accuracy under centre crop (ci) and salt-and-pepper noise (nl) of the N-MNIST
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
from metasnn.io import atomic_write_json
from metasnn.model_file import read_model
from metasnn.plasticity.hp import HPNetwork, prepare_inputs
from metasnn.plasticity.training import network_from_model
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


def load_model(path: Path) -> tuple[str, HPNetwork]:
    """``(training mode, trained network)`` of a ``model.pt`` written by wu22_train (:mod:`metasnn.model_file`)."""
    if not path.is_file():
        raise CheckpointError(f"{path}: model file missing; run wu22_train for it first")
    record, state = read_model(path)
    return record.method, network_from_model(record, state, where=path).eval()


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
