"""fetch_data / build_metadataset / inspect_data as a user runs them (in-process, tiny sizes)."""

from __future__ import annotations

import json

import pytest

from pipeline import build_metadataset, fetch_data, inspect_data
from pipeline.cli import stage_main


def stage(module, name, argv, tmp_path):
    return stage_main(name, module.__doc__, module.add_arguments, module.run, [*argv, "--log", str(tmp_path / f"{name}.log")])


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("run")
    assert stage(fetch_data, "fetch_data", ["--raw", "nmnist", "--source", "synthetic", "--nmnist-train-per-class", "3", "--nmnist-test-per-class", "2",
                                            "--out", str(tmp / "fetched/nmnist")], tmp) == 0
    assert stage(fetch_data, "fetch_data", ["--raw", "asldvs", "--source", "synthetic", "--asldvs-per-class", "3", "--out", str(tmp / "fetched/asldvs")], tmp) == 0
    for name, raw in (("double_nmnist", "nmnist"), ("double_asldvs", "asldvs")):
        assert stage(build_metadataset, "build_metadataset", ["--dataset", name, "--raw", str(tmp / "fetched" / raw),
                                                              "--time-bin-ms", "10", "--out", str(tmp / "meta" / name)], tmp) == 0
    return tmp


def test_synthetic_fetch_build_inspect(pipeline_run, tmp_path):
    tmp = pipeline_run
    manifest = json.loads((tmp / "fetched/nmnist/manifest.json").read_text())
    assert manifest["source"] == "synthetic" and manifest["root"] == "files" and manifest["skipped_count"] == 0
    assert manifest["counts"]["train"]["0"] == 3 and (tmp / "fetched/nmnist/files/Train/3/00001.bin").is_file()
    prov = json.loads((tmp / "meta/double_nmnist/provenance.json").read_text())
    assert prov["data_source"] == "emulated N-MNIST"
    assert prov["data_sources"]["nmnist"] == {"raw": "nmnist", "source": "synthetic", "recordings": 50,
                                              "label": "emulated N-MNIST", "real": False, "full": False}
    from metasnn.data import load_metadataset

    assert load_metadataset(tmp / "meta/double_asldvs").num_steps == 10
    rc = stage(inspect_data, "inspect_data", ["--meta", str(tmp / "meta/double_nmnist"), str(tmp / "meta/double_asldvs"),
                                              "--fetched", str(tmp / "fetched/nmnist"), "--per-split", "3",
                                              "--figure", str(tmp_path / "fig.png"), "--stats", str(tmp_path / "s.csv"),
                                              "--stats-md", str(tmp_path / "s.md")], tmp_path)
    assert rc == 0
    assert (tmp_path / "fig.png").read_bytes()[:4] == b"\x89PNG"
    assert "double_asldvs" in (tmp_path / "s.md").read_text() and "events_mean" in (tmp_path / "s.csv").read_text()


def test_build_writes_pool_stats(pipeline_run, tmp_path):
    tmp = pipeline_run
    stats = json.loads((tmp / "meta/double_nmnist/pool_stats.json").read_text())
    assert {split: s["pool"] for split, s in stats["splits"].items()} == {"train": "train", "val": "test", "test": "test"}
    val = stats["splits"]["val"]
    assert val["recordings_per_raw_class"]["8"] == 2 and val["pairs_min"] == val["pairs_max"] == 4
    spec = val["specs"][0]  # default: 5-way 1-shot 10-query, 600 episodes of seed 1234
    assert (spec["ways"], spec["shots"], spec["queries"], spec["episodes"], spec["seed"]) == (5, 1, 10, 600, 1234)
    assert len(spec["classes_below"]) == 16 and spec["reused_samples"] == 600 * 5 * 7
    assert spec["support_query_overlap_samples"] == 0
    assert "## meta-test" in (tmp / "meta/double_nmnist/pool_stats.md").read_text()
    assert (tmp / "meta/double_asldvs/pool_stats.json").is_file()
    assert stage(build_metadataset, "build_metadataset", ["--dataset", "double_nmnist", "--raw", str(tmp / "fetched/nmnist"),
                                                          "--time-bin-ms", "10", "--stats-spec", "5,1,3", "--stats-spec", "2,2,2",
                                                          "--stats-episodes", "4", "--stats-seed", "7",
                                                          "--out", str(tmp_path / "meta")], tmp_path) == 0
    specs = json.loads((tmp_path / "meta/pool_stats.json").read_text())["splits"]["test"]["specs"]
    assert [(t["ways"], t["shots"], t["queries"], t["episodes"], t["seed"]) for t in specs] == [(5, 1, 3, 4, 7), (2, 2, 2, 4, 7)]
    assert specs[0]["reused_samples"] == specs[1]["reused_samples"] == 0  # 4 pairs per class: enough
    assert stage(build_metadataset, "build_metadataset", ["--dataset", "double_nmnist", "--raw", str(tmp / "fetched/nmnist"),
                                                          "--stats-spec", "5,1", "--out", str(tmp_path / "bad")], tmp_path) == 2


def test_fetch_is_deterministic(pipeline_run, tmp_path):
    assert stage(fetch_data, "fetch_data", ["--raw", "nmnist", "--source", "synthetic", "--nmnist-train-per-class", "3", "--nmnist-test-per-class", "2",
                                            "--out", str(tmp_path / "again")], tmp_path) == 0
    for rel in ("manifest.json", "files/Test/9/00002.bin"):
        assert (tmp_path / "again" / rel).read_bytes() == (pipeline_run / "fetched/nmnist" / rel).read_bytes()


def test_local_source_missing_directory_is_one_line(tmp_path, capsys):
    rc = stage(fetch_data, "fetch_data", ["--raw", "nmnist", "--source", "local", "--root", str(tmp_path / "raw"),
                                          "--out", str(tmp_path / "out")], tmp_path)
    err = [line for line in capsys.readouterr().err.splitlines() if " INFO " not in line]
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: ")
    assert str(tmp_path / "raw" / "N-MNIST") in err[0] and "expected layout" in err[0]
    assert not (tmp_path / "out").exists()


def test_local_source_uses_files_in_place_and_counts_skips(pipeline_run, tmp_path):
    import shutil

    root = tmp_path / "raw" / "N-MNIST"
    shutil.copytree(pipeline_run / "fetched/nmnist/files", root)
    (root / "Train/6/00002.bin").write_bytes(b"\x00" * 7)
    rc = stage(fetch_data, "fetch_data", ["--raw", "nmnist", "--source", "local", "--root", str(tmp_path / "raw"),
                                          "--on-corrupt", "skip", "--out", str(tmp_path / "out")], tmp_path)
    assert rc == 0
    manifest = json.loads((tmp_path / "out/manifest.json").read_text())
    assert manifest["root"] == str(root.resolve()) and not (tmp_path / "out/files").exists()
    assert manifest["skipped_count"] == 1 and manifest["counts"]["train"]["6"] == 2
    assert json.loads((tmp_path / "out/provenance.json").read_text())["data_source"] == "real N-MNIST (subset, 49 recordings)"
    assert stage(build_metadataset, "build_metadataset", ["--dataset", "double_nmnist", "--raw", str(tmp_path / "out"),
                                                          "--time-bin-ms", "10", "--out", str(tmp_path / "meta")], tmp_path) == 0
    # the user's directory may also be given directly
    rc = stage(fetch_data, "fetch_data", ["--raw", "nmnist", "--source", "local", "--root", str(root),
                                          "--on-corrupt", "skip", "--out", str(tmp_path / "out2")], tmp_path)
    assert rc == 0


def test_shipped_source_is_the_real_subset_in_the_repository(tmp_path):
    """Default N-MNIST source: the 900 real recordings of datasets/N-MNIST, copied into the fetch output."""
    from tests.conftest import ROOT

    rc = stage(fetch_data, "fetch_data", ["--raw", "nmnist", "--source", "shipped", "--shipped", str(ROOT / "datasets"),
                                          "--out", str(tmp_path / "out")], tmp_path)
    assert rc == 0
    manifest = json.loads((tmp_path / "out/manifest.json").read_text())
    assert manifest["total"] == 900 and manifest["root"] == "files"
    assert manifest["counts"]["test"] == {"0": 8, "1": 14, "2": 8, "3": 11, "4": 14, "5": 7, "6": 10, "7": 15, "8": 2, "9": 11}
    assert manifest["data_sources"]["nmnist"]["label"] == "real N-MNIST (subset, 900 recordings)"
    assert (tmp_path / "out/files/Test/8/00062.bin").read_bytes() == (ROOT / "datasets/N-MNIST/Test/8/00062.bin").read_bytes()


def test_shipped_source_without_recordings_is_one_line(tmp_path, capsys):
    rc = stage(fetch_data, "fetch_data", ["--raw", "asldvs", "--source", "shipped", "--out", str(tmp_path / "a")], tmp_path)
    err = [line for line in capsys.readouterr().err.splitlines() if " INFO " not in line]
    assert rc == 2 and len(err) == 1 and "no real ASL-DVS recordings ship with metasnn" in err[0]
    rc = stage(fetch_data, "fetch_data", ["--raw", "nmnist", "--source", "shipped", "--shipped", str(tmp_path / "none"),
                                          "--out", str(tmp_path / "b")], tmp_path)
    err = [line for line in capsys.readouterr().err.splitlines() if " INFO " not in line]
    assert rc == 2 and "shipped N-MNIST recordings are missing" in err[-1]
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_inspect_measures_the_emulator_against_real_recordings(pipeline_run, tmp_path):
    from pathlib import Path

    real = Path(__file__).resolve().parents[2] / "datasets" / "N-MNIST"  # the shipped real recordings
    out = {"--figure": tmp_path / "fig.png", "--stats": tmp_path / "s.csv", "--stats-md": tmp_path / "s.md",
           "--emulator-table": tmp_path / "emu.csv", "--emulator-table-md": tmp_path / "emu.md"}
    rc = stage(inspect_data, "inspect_data", ["--meta", str(pipeline_run / "meta/double_nmnist"), "--real-nmnist", str(real),
                                              "--real-limit", "20", *[a for k, v in out.items() for a in (k, str(v))]], tmp_path)
    assert rc == 0
    import pandas as pd

    table = pd.read_csv(out["--emulator-table"])
    assert list(table.columns) == ["statistic", "real_median", "real_p10", "real_p90", "emulated_median", "emulated_p10",
                                   "emulated_p90", "inside"]
    assert len(table) == 10 and "spread_y_px" in set(table["statistic"])
    md = out["--emulator-table-md"].read_text()
    assert "20 real Train recordings" in md and "| active_pixels |" in md
    # the table needs both outputs
    rc = stage(inspect_data, "inspect_data", ["--meta", str(pipeline_run / "meta/double_nmnist"), "--real-nmnist", str(real),
                                              "--figure", str(tmp_path / "f2.png"), "--stats", str(tmp_path / "s2.csv"),
                                              "--stats-md", str(tmp_path / "s2.md")], tmp_path)
    assert rc == 2
