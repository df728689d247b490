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
    (repo_copy / "local.yaml").write_text("data:\n  source: {nmnist: local, asldvs: synthetic}\n  root: /nonexistent/neuromorphic\n")
    proc = run(["snakemake", "--cores", "1", "data/fetched/nmnist", "--configfile", "local.yaml"], repo_copy, check=False)
    assert proc.returncode != 0
    errors = _error_lines(proc.stdout + proc.stderr)
    assert errors and "/nonexistent/neuromorphic" in errors[0] and "Traceback" not in proc.stderr
    assert _outputs(repo_copy) == []


def test_download_without_network(repo_copy, monkeypatch):
    monkeypatch.setenv("METASNN_OFFLINE", "1")
    (repo_copy / "dl.yaml").write_text("data:\n  source: {nmnist: download, asldvs: synthetic}\n  root: raw\n")
    proc = run(["snakemake", "--cores", "1", "data/fetched/nmnist", "--configfile", "dl.yaml"], repo_copy, check=False)
    assert proc.returncode != 0
    errors = _error_lines(proc.stdout + proc.stderr)
    assert errors and "cannot download" in errors[0] and "data.source.nmnist: local" in errors[0]
    assert "Traceback" not in proc.stderr
    assert _outputs(repo_copy) == []
    assert not [p for p in (repo_copy / "raw").rglob("*") if p.is_file()] if (repo_copy / "raw").exists() else True


def test_config_mistakes_stop_snakemake_at_parse_time(repo_copy):
    # a duplicate key (YAML keeps the last silently) and an integer-valued float (JSON schema calls
    # 5.0 an integer) in a --configfile delta: one error line naming the file, key and fix; nothing runs
    cases = {
        "dup.yaml": ("device: cpu\nseeds: [0]\ndevice: cuda\n", ["dup.yaml line 3", "duplicate key 'device'"]),
        "float.yaml": ("seeds: [0.0]\n", ["float.yaml: key 'seeds.0'", "without a decimal point"]),
    }
    for name, (text, expected) in cases.items():
        (repo_copy / name).write_text(text)
        proc = run(["snakemake", "--cores", "1", "-n", "all", "--configfile", name], repo_copy, check=False)
        assert proc.returncode != 0
        errors = _error_lines(proc.stdout + proc.stderr)
        assert errors and all(e in errors[0] for e in expected), errors or proc.stderr[-2000:]
        assert "Traceback" not in proc.stderr
    (repo_copy / "params.yaml").write_text((repo_copy / "params.yaml").read_text() + "\nscale: paper\n")
    proc = run(["snakemake", "--cores", "1", "-n", "all"], repo_copy, check=False)
    errors = _error_lines(proc.stdout + proc.stderr)
    assert proc.returncode != 0 and errors and "params.yaml line" in errors[0] and "duplicate key 'scale'" in errors[0]
    assert _outputs(repo_copy) == []


def test_asldvs_polarity_that_would_wrap_stops_fetch_data(tmp_path, capsys):
    # found by fuzzing: a stored polarity of 256/257 used to be cast to int8 (0/1) before validation,
    # so such a file passed `fetch_data --on-corrupt error` with 0 skipped
    import json

    import numpy as np
    import scipy.io

    from metasnn.data.events import ASL_LETTERS
    from pipeline import fetch_data
    from tests.conftest import run_stage

    root = tmp_path / "raw"
    for letter in ASL_LETTERS:
        for i in range(2):
            pol = np.array([[256], [257]], np.int32) if (letter, i) == ("c", 1) else np.array([[0], [1]], np.uint8)
            (root / "ASL-DVS" / letter).mkdir(parents=True, exist_ok=True)
            scipy.io.savemat(root / "ASL-DVS" / letter / f"{letter}_{i}.mat",
                             {"ts": [[10], [20]], "x": [[1], [2]], "y": [[3], [4]], "pol": pol})
    argv = ["--raw", "asldvs", "--source", "local", "--root", str(root), "--out", str(tmp_path / "fetched")]
    assert run_stage(fetch_data, "fetch_data", [*argv, "--on-corrupt", "error"], tmp_path) != 0
    errors = _error_lines(capsys.readouterr().err)
    assert errors and "c_1.mat" in errors[0] and "polarity" in errors[0]
    assert not (tmp_path / "fetched").exists()
    assert run_stage(fetch_data, "fetch_data", [*argv, "--on-corrupt", "skip"], tmp_path) == 0
    manifest = json.loads((tmp_path / "fetched" / "manifest.json").read_text())
    assert manifest["skipped_count"] == 1 and "c/c_1.mat" in manifest["skipped"][0]["file"]
