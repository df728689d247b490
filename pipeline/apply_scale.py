"""Select a scale for DVC: write params.yaml = params.yaml + config/scales/<scale>.yaml, and dvc.yaml.

DVC reads one parameter file, so a scale is applied by rewriting it (Snakemake instead merges
``--configfile config/scales/<scale>.yaml`` on the fly)::

    python -m pipeline.apply_scale smoke && dvc repro       # smoke scale under DVC
    git checkout params.yaml dvc.yaml                        # back to the default scale

or, without touching the workspace's files, as a DVC experiment:
``dvc exp run $(python -m pipeline.apply_scale smoke --print-set-args)`` (scalar keys only).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import yaml

from metasnn.errors import MetasnnError
from metasnn.io import atomic_write_text
from pipeline.config import PARAMS, SCALES, deep_merge, load_config, read_yaml, scale_files


def _flatten(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out = []
    for k, v in d.items():
        if isinstance(v, dict):
            out += _flatten(v, f"{prefix}{k}.")
        else:
            out.append((f"{prefix}{k}", v))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.apply_scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scale", choices=[s for s in SCALES if s != "default"])
    parser.add_argument("--print-set-args", action="store_true",
                        help="print `-S key=value` arguments for `dvc exp run` instead of writing files")
    args = parser.parse_args(argv)
    try:
        merged = load_config(args.scale)
        if args.print_set_args:
            delta: dict[str, Any] = {}
            for path in scale_files(args.scale):
                delta = deep_merge(delta, read_yaml(path))
            print(" ".join(f"-S '{k}={yaml.safe_dump(v, default_flow_style=True).strip().removesuffix('...').strip()}'"
                           for k, v in _flatten(delta)))
            return 0
        header = (f"# params.yaml at the {args.scale} scale: written by `python -m pipeline.apply_scale {args.scale}`\n"
                  "# (params.yaml + %s). Return to the default scale with:\n"
                  "#   git checkout params.yaml dvc.yaml\n" % " + ".join(p.relative_to(PARAMS.parent).as_posix() for p in scale_files(args.scale)))
        atomic_write_text(PARAMS, header + yaml.safe_dump(merged, sort_keys=False))
        from pipeline.export_dvc import main as export

        return export([])
    except MetasnnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
