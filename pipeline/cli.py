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
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from metasnn.data.sources import DataSource, merge_sources
from metasnn.errors import MetasnnError
from metasnn.io import atomic_write_json
from metasnn.reporting.cost_meter import WorkMeter
from metasnn.reporting.provenance import build_provenance, write_provenance
from metasnn.reporting.targets import SCALES
from pipeline.cli_defaults import set_config_defaults

T = TypeVar("T")


def str2bool(text: str) -> bool:
    """Parse ``true/false`` (the way DVC and YAML render booleans) for explicit boolean flags."""
    low = str(text).strip().lower()
    if low in ("true", "1", "yes"):
        return True
    if low in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


class StageContext:
    """What a running stage knows about itself: its name, arguments, logger and start time."""

    def __init__(self, name: str, args: argparse.Namespace, argv: Sequence[str]):
        self.name = name
        self.args = args
        self.argv = list(argv)
        self.log = logging.getLogger(f"metasnn.{name}")
        self.started = time.perf_counter()
        self.data_sources: dict[str, DataSource] = {}  # raw dataset -> the source that fed this stage
        self.seeds: list[int] = []
        self.device = "cpu"
        self.meter = WorkMeter()  # loop timings + peak memory, for the paper-scale projection

    @property
    def scale(self) -> str:
        return getattr(self.args, "scale", "default")

    def config(self) -> dict[str, Any]:
        """The stage's effective configuration: its parsed arguments, minus logging plumbing."""
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in sorted(vars(self.args).items()) if k != "log"}

    def use_sources(self, *groups: Any) -> dict[str, DataSource]:
        """Record the data sources that fed this stage (mappings or iterables of DataSource); returns all so far."""
        self.data_sources = merge_sources(self.data_sources, *groups, where=f"stage {self.name}")
        return self.data_sources

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def provenance(self, **extra: Any) -> dict[str, Any]:
        return build_provenance(
            stage=self.name,
            command=["python", "-m", f"pipeline.{self.name}", *self.argv],
            config=self.config(),
            scale=self.scale,
            data_sources=self.data_sources,
            seeds=self.seeds,
            device=self.device,
            wall_time_s=self.elapsed(),
            extra=extra,
        )

    def write_provenance(self, directory: str | Path, **extra: Any) -> Path:
        """Write ``provenance.json`` into ``directory`` (call it last, so wall time is complete)."""
        return write_provenance(directory, self.provenance(**extra), sidecar=self.run_record_path())

    def run_record_path(self) -> Path:
        """Where the volatile facts of this run go: beside its log (never inside an output DVC hashes)."""
        log = getattr(self.args, "log", None) or Path("logs") / self.name / "run.log"
        return Path(log).with_suffix(".run.json")

    def progress(self, iterable: Iterable[T], desc: str, total: int | None = None,
                 per: str | Sequence[str] = ()) -> Iterable[T]:
        """A tqdm bar on stderr (quiet when stderr is not a terminal unless METASNN_PROGRESS=1), timed.

        ``per`` names the arguments (``args`` attributes) the loop's work scales with, e.g.
        ``"outer_steps"`` or ``("tasks", "head_steps")``: the paper-scale projection multiplies the
        measured seconds per unit by their ratio at paper scale (metasnn.reporting.projection).
        """
        from tqdm.auto import tqdm

        if total is None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        show = sys.stderr.isatty() or os.environ.get("METASNN_PROGRESS") == "1"
        return tqdm(self.meter.loop(iterable, desc, per), desc=f"{self.name}: {desc}", total=total,
                    disable=not show, mininterval=1.0, leave=False)

    def progress_per(self, *per: str) -> Callable[[Iterable[T], str], Iterable[T]]:
        """``progress`` for a library function that calls ``progress(iterable, desc)``, scaling with ``per``."""
        return lambda iterable, desc: self.progress(iterable, desc, per=per)

    def write_cost(self) -> None:
        """Add what this run cost (loops, peak memory, process wall time) to its volatile sidecar."""
        path = self.run_record_path()
        record = json.loads(path.read_text()) if path.is_file() else {}
        atomic_write_json(path, {**record, "cost": self.meter.record()})


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
