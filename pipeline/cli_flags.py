"""Flags shared by several stage CLIs (see ``pipeline/cli.py``).

A flag the registry binds to a config key takes its default from ``params.yaml``
(``pipeline.cli_defaults``), so these declare a flag's name, type and help, never its value.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

Parser = argparse.ArgumentParser | argparse._ArgumentGroup


def add_flags(parser: Parser, kind: Callable[[str], Any], *flags: str) -> None:
    """Flags that each take one value of type ``kind`` and need no help text: ``add_flags(p, int, "--ways", "--shots")``."""
    for flag in flags:
        parser.add_argument(flag, type=kind)


def add_device_flags(parser: Parser) -> None:
    """``--threads`` and ``--device`` of the torch stages."""
    parser.add_argument("--threads", type=int, help="torch intra-op threads")
    parser.add_argument("--device", help="cpu | cuda | auto (CUDA when available)")


def add_fewshot_run_flags(parser: Parser) -> None:
    """``--data``, ``--seed`` and ``--eval-seed`` of a stage that trains and scores one few-shot learner."""
    parser.add_argument("--data", type=Path, required=True, help="meta-dataset directory (data/meta/<dataset>)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-seed", type=int, required=True,
                        help="seed of the meta-val / meta-test task set (config eval_seed: the same tasks for every method)")


def add_table_dirs(parser: Parser) -> None:
    """Where a table stage writes its tables and figures."""
    parser.add_argument("--tables-dir", type=Path, required=True)
    parser.add_argument("--figures-dir", type=Path, required=True)


def add_runs_table_flags(parser: Parser, producer: str) -> None:
    """``--runs`` (the run directories of stage ``producer``) and where the table and figure go."""
    parser.add_argument("--runs", type=Path, nargs="+", required=True, help=f"{producer} output directories")
    add_table_dirs(parser)
