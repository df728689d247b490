"""Bad input through the pipeline front ends: one clear line, non-zero exit, nothing half-written."""

from pathlib import Path

from tests.conftest import run


def _outputs(repo: Path) -> list[Path]:
    found = []
    for top in ("data", "results"):
        if (repo / top).exists():
            found += [p for p in (repo / top).rglob("*") if p.is_file() and "config" not in p.parts]
    return found


def _error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error: ")]


def test_local_source_with_missing_directory(repo_copy):
    (repo_copy / "local.yaml").write_text("data:\n  source: local\n  root: /nonexistent/neuromorphic\n")
    proc = run(["snakemake", "--cores", "1", "data/fetched/nmnist", "--configfile", "local.yaml"], repo_copy, check=False)
    assert proc.returncode != 0
    errors = _error_lines(proc.stdout + proc.stderr)
    assert errors and "/nonexistent/neuromorphic" in errors[0] and "Traceback" not in proc.stderr
    assert _outputs(repo_copy) == []


def test_download_without_network(repo_copy, monkeypatch):
    monkeypatch.setenv("METASNN_OFFLINE", "1")
    (repo_copy / "dl.yaml").write_text("data:\n  source: download\n  root: raw\n")
    proc = run(["snakemake", "--cores", "1", "data/fetched/nmnist", "--configfile", "dl.yaml"], repo_copy, check=False)
    assert proc.returncode != 0
    errors = _error_lines(proc.stdout + proc.stderr)
    assert errors and "cannot download" in errors[0] and "data.source: local" in errors[0]
    assert "Traceback" not in proc.stderr
    assert _outputs(repo_copy) == []
    assert not [p for p in (repo_copy / "raw").rglob("*") if p.is_file()] if (repo_copy / "raw").exists() else True
