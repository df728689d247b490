"""Shared entry point of every stage CLI.

A stage module defines ``add_arguments(parser)`` and ``run(args, ctx)`` and ends with::

    if __name__ == "__main__":
        stage_main("metatrain", __doc__, add_arguments, run)

A flag the registry binds to a config key takes its default from ``params.yaml``
(``pipeline.cli_defaults``): declare its type and help, not its value; flags and run steps several
stages share are in ``pipeline.cli_flags`` and ``pipeline.cli_runs``. ``stage_main`` adds the common
flags (``--scale``, ``--log``), sets up logging to ``logs/<stage>/...log`` and stderr, and turns a
:class:`metasnn.errors.MetasnnError` into one line on stderr and exit code 2 — no traceback. Outputs
are the stage's business but must be written atomically (``metasnn.io``); ``ctx.write_provenance(dir)``
records how they were made.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from metasnn.errors import MetasnnError
from metasnn.reporting.targets import SCALES
from pipeline.cli_context import StageContext
from pipeline.cli_defaults import set_config_defaults

__all__ = ["StageContext", "str2bool", "build_parser", "stage_main", "main"]


def str2bool(text: str) -> bool:
    """Parse ``true/false`` (the way DVC and YAML render booleans) for explicit boolean flags."""
    low = str(text).strip().lower()
    if low in ("true", "1", "yes"):
        return True
    if low in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _setup_logging(name: str, log_path: Path | None) -> None:
    root = logging.getLogger("metasnn")
    root.setLevel(logging.INFO)
    root.handlers.clear()
    fmt = logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S")
    err = logging.StreamHandler(sys.stderr)
    err.setFormatter(fmt)
    err.setLevel(logging.WARNING if os.environ.get("METASNN_QUIET") == "1" else logging.INFO)
    root.addHandler(err)
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(log_path, mode="w")
        fh.setFormatter(fmt)
        root.addHandler(fh)


def build_parser(name: str, doc: str | None, add_arguments: Callable[[argparse.ArgumentParser], None]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m pipeline.{name}",
        description=(doc or "").strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    set_config_defaults(parser, name)
    common = parser.add_argument_group("common stage options")
    common.add_argument("--scale", choices=SCALES, default="default", help="scale label recorded in provenance and tables")
    common.add_argument("--log", type=Path, default=None, help=f"log file (default logs/{name}/run.log)")
    return parser


def stage_main(
    name: str,
    doc: str | None,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace, StageContext], Any],
    argv: Sequence[str] | None = None,
) -> int:
    """Parse arguments, run the stage, report user errors on one line. Returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser(name, doc, add_arguments)
    except MetasnnError as exc:  # params.yaml, where the flags' defaults come from, is unreadable
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    log_path = args.log or Path("logs") / name / "run.log"
    _setup_logging(name, log_path)
    ctx = StageContext(name, args, argv)
    ctx.log.info("start: python -m pipeline.%s %s", name, " ".join(argv))
    try:
        run(args, ctx)
    except MetasnnError as exc:
        ctx.log.debug("user error", exc_info=True)
        logging.getLogger("metasnn").handlers[0].flush()
        print(f"error: {exc}", file=sys.stderr)
        _log_to_file_only(f"error: {exc}")
        return 2
    except KeyboardInterrupt:
        print(f"{name}: interrupted; outputs are written atomically, rerun to resume", file=sys.stderr)
        return 130
    ctx.write_cost()
    ctx.log.info("done in %.1f s", ctx.elapsed())
    return 0


def _log_to_file_only(message: str) -> None:
    for handler in logging.getLogger("metasnn").handlers:
        if isinstance(handler, logging.FileHandler):
            handler.stream.write(message + "\n")
            handler.flush()


def main(name: str, doc: str | None, add_arguments, run) -> None:
    """``sys.exit(stage_main(...))`` — the one-liner each stage module calls under ``__main__``."""
    sys.exit(stage_main(name, doc, add_arguments, run))
