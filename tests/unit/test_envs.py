"""The conda environment and the pip install pin the same versions."""

import re
import tomllib

import yaml

from tests.conftest import ROOT


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject_pins() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = {}
    for d in deps:
        name, _, version = d.partition("==")
        assert version, f"pyproject dependency {d!r} is not pinned with =="
        pins[_norm(name)] = version
    return pins


def _lock_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "envs" / "requirements-lock.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[_norm(name)] = version.split("+")[0]
    return pins


def test_pyproject_pins_agree_with_the_lock():
    lock = _lock_pins()
    for name, version in _pyproject_pins().items():
        assert lock.get(name, "").split("+")[0] == version.split("+")[0], name
    assert "spikingjelly" not in lock  # installed --no-deps by scripts/install.sh


def test_conda_env_pins_match_pip_pins():
    env = yaml.safe_load((ROOT / "envs" / "metasnn.yaml").read_text())
    assert env["channels"][0] == "conda-forge" and set(env["channels"]) <= {"conda-forge", "nodefaults"}
    pins = _pyproject_pins()
    checked = 0
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for pip_dep in dep["pip"]:
                name, _, version = pip_dep.partition("==")
                assert pins[_norm(name)] == version, pip_dep
                checked += 1
        elif "=" in dep:
            name, _, version = dep.partition("=")
            if name == "python":
                assert version == "3.11"
                continue
            assert pins[_norm(name)] == version, dep
            checked += 1
    assert checked >= 10
    conda_names = {_norm(d.partition("=")[0]) for d in env["dependencies"] if isinstance(d, str)}
    pip_names = {_norm(p.partition("==")[0]) for d in env["dependencies"] if isinstance(d, dict) for p in d["pip"]}
    runtime = set(pins) - {"snakemake", "snakemake-executor-plugin-slurm", "dvc"}  # the engines run outside the job env
    assert runtime <= conda_names | pip_names


def test_spikingjelly_and_snntorch_are_installed_without_their_dependencies():
    for pin in ("spikingjelly==2.0.0", "snntorch==1.0.0"):  # the same in the venv and in the SLURM conda env
        assert f"--no-deps {pin}" in (ROOT / "scripts" / "install.sh").read_text()
        assert f"--no-deps {pin}" in (ROOT / "envs" / "metasnn.post-deploy.sh").read_text()
    assert "spikingjelly" not in (ROOT / "pyproject.toml").read_text().split("dependencies = [")[1].split("]")[0]
