"""Shared fixtures: a throw-away copy of the repository for pipeline runs, and the venv's tools."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TOP_LEVEL_OUTPUTS = {".venv", ".git", "results", "data", "logs", ".snakemake", ".notes", "tmp", ".dvc/cache", ".dvc/tmp", "rehearsal"}
ANYWHERE = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".ruff_cache", "*.egg-info")


def IGNORE(directory: str, names: list[str]) -> set[str]:
    """Skip generated top-level folders (``/data``, not ``metasnn/data``) and caches anywhere."""
    rel = Path(directory).resolve().relative_to(ROOT)
    top = {n for n in names if (str(rel / n) if str(rel) != "." else n) in TOP_LEVEL_OUTPUTS}
    return top | set(ANYWHERE(directory, names))


def tool_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["DVC_NO_ANALYTICS"] = "1"
    env.pop("PYTHONPATH", None)
    return env


def run(cmd: list[str] | str, cwd: Path, check: bool = True, timeout: int = 1800) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=tool_env(), capture_output=True, text=True, timeout=timeout,
                          shell=isinstance(cmd, str))
    if check and proc.returncode != 0:
        raise AssertionError(f"command failed ({proc.returncode}): {cmd}\n--- stdout\n{proc.stdout[-4000:]}\n"
                             f"--- stderr\n{proc.stderr[-4000:]}")
    return proc


def copy_repo(dest: Path) -> Path:
    """A git-initialised copy of the working tree (tracked and untracked files, no outputs)."""
    shutil.copytree(ROOT, dest, ignore=IGNORE, symlinks=True)
    run(["git", "init", "-q"], dest)
    run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "add", "-A"], dest)
    run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "copy"], dest)
    return dest


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    return copy_repo(tmp_path / "repo")


@pytest.fixture(scope="session")
def smoke_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One repository copy shared by the slow pipeline tests of a session."""
    return copy_repo(tmp_path_factory.mktemp("smoke") / "repo")


def run_stage(module, name: str, argv: list[str], log_dir: Path) -> int:
    """Run a stage CLI in-process (one interpreter for many stage runs); returns its exit code."""
    from pipeline.cli import stage_main

    return stage_main(name, module.__doc__, module.add_arguments, module.run,
                      [*argv, "--log", str(log_dir / f"{name}.log")])


def tiny_double_nmnist(tmp: Path) -> Path:
    """A tiny synthetic Double N-MNIST (3 train / 2 test recordings per digit, 10 ms bins) under ``tmp``."""
    from pipeline import build_metadataset, fetch_data

    assert run_stage(fetch_data, "fetch_data", ["--raw", "nmnist", "--source", "synthetic", "--nmnist-train-per-class", "3",
                                                "--nmnist-test-per-class", "2", "--out", str(tmp / "fetched/nmnist")],
                     tmp) == 0
    assert run_stage(build_metadataset, "build_metadataset",
                     ["--dataset", "double_nmnist", "--raw", str(tmp / "fetched/nmnist"), "--time-bin-ms", "10",
                      "--out", str(tmp / "meta/double_nmnist")], tmp) == 0
    return tmp / "meta/double_nmnist"


@contextlib.contextmanager
def killed_at_step(monkeypatch: pytest.MonkeyPatch, module, kill_step: int):
    """``module.train_loop`` raises KeyboardInterrupt when step ``kill_step`` ends (before its checkpoint): a kill."""
    real_loop = module.train_loop

    def killed(*args, **kwargs):
        def after_step(step, row):
            if step == kill_step:
                raise KeyboardInterrupt
        return real_loop(*args, **{**kwargs, "after_step": after_step})

    with monkeypatch.context() as m:
        m.setattr(module, "train_loop", killed)
        yield
