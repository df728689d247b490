"""What a stage run cost: its loops timed unit by unit, its peak memory, its process wall time.

Every stage loop goes through ``StageContext.progress``, which wraps it in :meth:`WorkMeter.loop`. A
loop names the arguments its length scales with (``per``: e.g. ``("outer_steps",)``), so a run with
capped loop counts (the paper-scale rehearsal) can be projected to the full counts
(:mod:`metasnn.reporting.projection`). The record goes into the stage's volatile sidecar
(``logs/<stage>/<job>.run.json``, key ``cost``), never into a DVC-tracked output.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class LoopCost:
    """One pass over one loop: ``units`` iterations in ``seconds``, the first of them ``first_s``."""

    desc: str
    per: tuple[str, ...]
    units: int = 0
    seconds: float = 0.0
    first_s: float = 0.0


@dataclass
class WorkMeter:
    loops: list[LoopCost] = field(default_factory=list)

    def loop(self, iterable: Iterable[T], desc: str, per: str | Sequence[str] = ()) -> Iterator[T]:
        """Yield ``iterable``'s items, timing each from one request to the next (fetch + body)."""
        record = LoopCost(desc, (per,) if isinstance(per, str) else tuple(per))
        self.loops.append(record)
        last = time.perf_counter()
        for item in iterable:
            yield item
            now = time.perf_counter()
            if record.units == 0:
                record.first_s = now - last
            record.units += 1
            record.seconds += now - last
            last = now

    def record(self) -> dict[str, Any]:
        """The cost record of this process so far (JSON-ready)."""
        return {"process_wall_s": round(process_wall_s(), 3), "peak_rss_mb": round(peak_rss_mb(), 1),
                "cpu_s": round(cpu_s(), 3),
                "loops": [{**asdict(lp), "per": list(lp.per), "seconds": round(lp.seconds, 4),
                           "first_s": round(lp.first_s, 4)} for lp in self.loops if lp.units]}


def peak_rss_mb() -> float:
    """Peak resident memory of this process and of its finished children, in MB (the larger)."""
    scale = 1.0 if sys.platform == "darwin" else 1024.0  # ru_maxrss: bytes on macOS, KiB on Linux
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale
    return max(own, kids) / 1e6


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_wall_s() -> float:
    """Seconds since this process started (interpreter start-up and imports included)."""
    import psutil

    return time.time() - psutil.Process().create_time()
