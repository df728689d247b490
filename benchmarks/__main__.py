"""Run every benchmark module in this package (``bench_*.py``) in turn."""

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> int:
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    if not names:
        print("no benchmarks found")
        return 1
    for name in names:
        print(f"== benchmarks.{name}", flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        rc = module.main([]) if hasattr(module, "main") else 0
        if isinstance(rc, int) and rc:  # a benchmark may return its report (a dict) instead of a status
            return rc
    return 0


if __name__ == "__main__":
    sys.exit(main())
