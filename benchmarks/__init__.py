"""Speed and memory benchmarks (not tests): ``python -m benchmarks`` runs them all,
``python -m benchmarks.<name>`` one. Each prints absolute figures with the machine named and a
ratio against a peer measured in the same run."""


def machine() -> str:
    """The CPU model, logical CPUs, OS and Python of this machine, for benchmark reports."""
    import os
    import platform
    from pathlib import Path

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}, Python {platform.python_version()}"
