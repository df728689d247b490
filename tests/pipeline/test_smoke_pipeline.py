"""The whole DAG at smoke scale, through Snakemake and through DVC, in a copy of the repository.

One Snakemake run and one DVC run of the same configuration: their tables must be byte-identical
(determinism), a second DVC run must do nothing, and changing one stage's parameter must rerun
exactly that stage and its dependents.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
import yaml

from pipeline.config import load_config
from pipeline.stages import instances
from tests.conftest import run

pytestmark = pytest.mark.slow


def _dvc_ran(out: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", out))


def _downstream(config, changed_stage_names: set[str]) -> set[str]:
    """DVC stage names that (transitively) depend on the outputs of ``changed_stage_names``."""
    insts = instances(config)
    produced = {}
    for inst in insts:
        for out in inst.outputs():
            produced[out.path] = inst.dvc_name
    affected = set(changed_stage_names)
    grew = True
    while grew:
        grew = False
        for inst in insts:
            if inst.dvc_name in affected:
                continue
            for dep in inst.deps(config, engine="dvc"):
                owner = produced.get(dep) or next((n for p, n in produced.items() if dep.startswith(p + "/")), None)
                if owner in affected:
                    affected.add(inst.dvc_name)
                    grew = True
                    break
    return affected


def _tables(repo: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((repo / "results" / "tables").glob("*.csv"))}


@pytest.fixture(scope="module")
def snakemake_run(smoke_repo):
    t0 = time.perf_counter()
    proc = run(["snakemake", "--workflow-profile", "profiles/ci"], smoke_repo, timeout=900)
    elapsed = time.perf_counter() - t0
    print(f"\nsmoke pipeline (snakemake, 2 cores): {elapsed:.1f} s")
    return smoke_repo, proc, elapsed


def test_snakemake_smoke_run_builds_every_output(snakemake_run):
    repo, _, elapsed = snakemake_run
    cfg = load_config("smoke")
    for inst in instances(cfg):
        for out in inst.outputs():
            assert (repo / out.path).exists(), out.path
    readme = (repo / "results" / "README.md").read_text()
    assert "scale: **smoke**" in readme
    assert (repo / "results" / "claims.md").is_file()
    assert not list(repo.rglob("*.tmp")), "temporary files left behind"


def test_snakemake_second_run_does_nothing(snakemake_run):
    repo, _, _ = snakemake_run
    proc = run(["snakemake", "--workflow-profile", "profiles/ci"], repo)
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_dvc_knows_what_snakemake_built(snakemake_run):
    """`make reproduce` ends with `dvc commit`: DVC then sees Snakemake's outputs as up to date (the outputs hold no
    volatile facts), and a changed parameter reruns only the stages that use it and their dependents."""
    repo, _, _ = snakemake_run
    try:
        run(["python", "-m", "pipeline.apply_scale", "smoke"], repo)
        run(["dvc", "commit", "--force", "--quiet"], repo, timeout=600)
        dry = run(["dvc", "repro", "--dry"], repo)
        assert _dvc_ran(dry.stdout) == set(), dry.stdout
        cfg = yaml.safe_load((repo / "params.yaml").read_text())
        key = "cross_dataset.episodes"
        users = {i.dvc_name for i in instances(cfg) if key in i.params(cfg)}
        assert users and users != {i.dvc_name for i in instances(cfg)}
        cfg["cross_dataset"]["episodes"] += 1
        (repo / "params.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
        ran = _dvc_ran(run(["dvc", "repro", "--dry"], repo).stdout)
        assert users <= ran <= _downstream(cfg, users) | {"check_config"}, sorted(ran)
    finally:  # leave the copy as Snakemake left it for the next test
        run(["git", "checkout", "--", "params.yaml", "dvc.yaml", "dvc.lock"], repo)
        shutil.rmtree(repo / ".dvc" / "cache", ignore_errors=True)


def test_dvc_repro_matches_snakemake_and_reruns_only_what_changed(snakemake_run):
    repo, _, _ = snakemake_run
    snake_tables = _tables(repo)
    shutil.rmtree(repo / "results")
    shutil.rmtree(repo / "data", ignore_errors=True)
    run(["python", "-m", "pipeline.apply_scale", "smoke"], repo)
    first = run(["dvc", "repro"], repo, timeout=1800)  # every smoke stage one after another (a loaded machine: ~15 min)
    cfg = yaml.safe_load((repo / "params.yaml").read_text())
    assert _dvc_ran(first.stdout) == {i.dvc_name for i in instances(cfg)}

    # determinism: same config and seeds => byte-identical tables from both engines
    assert _tables(repo) == snake_tables

    second = run(["dvc", "repro"], repo)
    assert _dvc_ran(second.stdout) == set(), second.stdout

    # change one parameter that only some stages use: exactly those stages and their dependents rerun
    key, value = "data.sampling", "code"
    users = {i.dvc_name for i in instances(cfg) if key in i.params(cfg)}
    assert users, f"no stage uses {key}"
    expected = _downstream(cfg, users) | {"check_config"}  # check_config validates every edit of params.yaml
    assert expected != {i.dvc_name for i in instances(cfg)}, "the chosen parameter should not touch every stage"
    params = repo / "params.yaml"
    params.write_text(params.read_text().replace("sampling: paper", f"sampling: {value}"))
    third = run(["dvc", "repro"], repo, timeout=1800)  # most smoke stages again (a loaded machine: > 15 min)
    ran = _dvc_ran(third.stdout)
    assert users <= ran
    assert ran <= expected, f"reran stages that do not depend on {key}: {sorted(ran - expected)}"


def test_snakemake_report_includes_every_table_and_figure(snakemake_run):
    repo, _, _ = snakemake_run
    run(["snakemake", "--workflow-profile", "profiles/ci", "--report", "results/report.html"], repo, timeout=600)
    html = (repo / "results" / "report.html").read_text(errors="replace")
    cfg = load_config("smoke")
    items = {Path(o.path).name for inst in instances(cfg) for o in inst.outputs()
             if o.path.startswith(("results/tables/", "results/figures/")) and o.path.endswith((".csv", ".png"))}
    assert items
    for name in items:
        assert name in html, name
