"""The results front page (metasnn.reporting.index, pipeline.report): what fed the run per raw dataset, the
per-dataset caveats, and the real-vs-emulated N-MNIST claim comparison with its snapshot
(metasnn.reporting.reference_claims, pipeline.snapshot_claims). All inputs are constructed here."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from metasnn.data.sources import DataSource
from metasnn.errors import DataError
from metasnn.reporting.claims import ClaimResult, read_claims, write_claims
from metasnn.reporting.index import collect_run, dataset_caveat, render_index
from metasnn.reporting.reference_claims import read_claims_csv, read_snapshot, snapshot_claims, write_snapshot
from metasnn.reporting.tables import Measurement, write_comparison_table
from tests.conftest import run_stage

REAL = DataSource("nmnist", "shipped", 900)
EMULATED = DataSource("nmnist", "synthetic", 1000)
ASL = DataSource("asldvs", "synthetic", 480)
SHIPPED_COUNTS = {"Train": {str(d): n for d, n in enumerate((79, 98, 81, 73, 81, 72, 73, 86, 73, 84))},
                  "Test": {str(d): n for d, n in enumerate((8, 14, 8, 11, 14, 7, 10, 15, 2, 11))}}


def _stage_output(path: Path, sources, *, manifest_counts=None, sha="abc123", dataset=None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "provenance.json").write_text(json.dumps({
        "stage": "x", "scale": "default", "git_sha": sha, "git_dirty": False, "wall_time_s": 30.0, "device": "cpu",
        "data_sources": {s.raw: s.to_dict() for s in sources}}))
    if manifest_counts is not None:
        (path / "manifest.json").write_text(json.dumps({"dataset": dataset, "counts": manifest_counts}))
    return path


def _claim(cid: str, verdict: str, effect: float, data_source: str, scale: str = "default") -> ClaimResult:
    return ClaimResult(cid, verdict, effect, "effect (pp)", "paired t-test" if verdict != "not run" else "",
                       0.01 if verdict != "inconclusive" else 0.4, None, None, 3, 100, scale, data_source, "t")


def _run(tmp_path: Path, nmnist: DataSource = REAL) -> dict:
    fetched = [_stage_output(tmp_path / "data/fetched/nmnist", [nmnist], manifest_counts=SHIPPED_COUNTS,
                             dataset="nmnist"),
               _stage_output(tmp_path / "data/fetched/asldvs", [ASL])]
    train = _stage_output(tmp_path / "results/runs/mp23_train/double_nmnist/seed0", [nmnist])
    return collect_run([*fetched, train, tmp_path / "results/runs/never_ran"], "default")


def test_this_run_lists_the_source_of_each_raw_dataset_and_per_dataset_caveats(tmp_path):
    run = _run(tmp_path)
    assert run["data_sources"] == {"asldvs": ASL, "nmnist": REAL} and run["n_stages"] == 3
    assert run["class_counts"]["nmnist"] == {"Train": (72, 98), "Test": (2, 15)}
    page = render_index(tables=[], figures_dir=tmp_path, claims={}, run=run)
    assert "  - N-MNIST: **real N-MNIST (subset, 900 recordings)** (`data.source.nmnist: shipped`)" in page
    assert "  - ASL-DVS: **emulated ASL-DVS** (`data.source.asldvs: synthetic`)" in page
    caveats = page.split("## Caveats")[1]
    assert "- ASL-DVS is emulated" in caveats and "N-MNIST is emulated" not in caveats
    assert "- N-MNIST is real but only a subset: 900 of the 70 000 recordings" in caveats
    assert "Test 2–15" in caveats and "draw the same recordings again and again" in caveats
    assert "shared/specs" not in page and "[README](../README.md)" in page
    assert "## Real vs emulated N-MNIST" in page and "No emulated-run snapshot was given" in page


def test_caveats_follow_each_source():
    assert "N-MNIST is emulated" in dataset_caveat(EMULATED)
    assert "2–15 recordings per digit" in dataset_caveat(REAL)  # shipped subset, no manifest counts at hand
    local = dataset_caveat(DataSource("nmnist", "local", 5000), {"Test": (400, 600)})
    assert "5 000 of the 70 000" in local and "Test 400–600" in local
    assert dataset_caveat(DataSource("nmnist", "download", 70_000)) == ""  # the papers' data: no caveat


def test_stages_fed_by_two_sources_of_one_dataset_stop_the_report(tmp_path):
    a = _stage_output(tmp_path / "a", [REAL])
    b = _stage_output(tmp_path / "b", [EMULATED])
    with pytest.raises(DataError, match="N-MNIST comes from two sources"):
        collect_run([a, b], "default")


def test_table_and_claim_rows_on_the_front_page_say_what_fed_them(tmp_path):
    m = Measurement({"dataset": "double_nmnist", "method": "maml_snn", "split": "test"}, per_seed=[80.0, 82.0, 84.0],
                    per_task=[60.0, 100.0] * 50)
    csv_path, _ = write_comparison_table("sn22_table2_fewshot", [m], scale="default", out_dir=tmp_path,
                                         sources={"nmnist": REAL, "asldvs": ASL})
    write_claims(tmp_path / "c.json", [_claim("sn22-C1", "holds", 4.2, REAL.label)])
    page = render_index(tables=[csv_path], figures_dir=tmp_path, claims=read_claims([tmp_path / "c.json"]),
                        run=_run(tmp_path))
    assert f"| sn22-C1 | holds | 4.2 | 0.01 | – | 3 | {REAL.label} |" in page
    assert "| sn22_table2_fewshot | double_nmnist / maml_snn / test | 98.23 ± 1.12 | 82 ± 2" in page
    assert f"82 ± 2 (95% CI 76.01..83.99 over tasks), n=3 seeds | {REAL.label} |" in page
    assert "| sn22_table2_fewshot | sn22 (Table 2) |" in page and f"| {REAL.label} | [md](tables/" in page
    assert "Verdicts of this run on emulated ASL-DVS + real N-MNIST (subset, 900 recordings)" in page


def _snapshot(scale="default", nmnist=EMULATED, extra=(), **verdicts):
    claims = [{"claim": cid, "datasets": ["nmnist"], "verdict": v, "effect": e, "effect_description": "",
               "p_value": 0.01, "n_seeds": 3, "data_source": nmnist.label if v != "not run" else "", "scale": scale}
              for cid, (v, e) in verdicts.items()]
    return snapshot_claims([*claims, *extra], [{"data_sources": {"nmnist": nmnist.to_dict(), "asldvs": ASL.to_dict()},
                                                "git_sha": "feed"}], require_emulated=())


def test_real_vs_emulated_lists_each_claim_whose_verdict_differs(tmp_path):
    claims = {"sn22-C1": _claim("sn22-C1", "holds", 4.2, REAL.label), "mp23-C1": _claim("mp23-C1", "holds", 2.0, REAL.label),
              "ip2-C1": _claim("ip2-C1", "inconclusive", -0.1, REAL.label)}
    ref = _snapshot(**{"sn22-C1": ("does not hold", -1.3), "mp23-C1": ("holds", 3.0), "ip2-C1": ("not run", None)})
    write_snapshot(tmp_path / "emulated_claims.json", ref)
    ref = read_snapshot(tmp_path / "emulated_claims.json")
    assert ref.scale == "default" and ref.commit == "feed" and ref.data_sources["nmnist"] == EMULATED
    page = render_index(tables=[], figures_dir=tmp_path, claims=claims, run=_run(tmp_path), reference=ref,
                        reference_path="paper/emulated_claims.json")
    section = page.split("## Real vs emulated N-MNIST")[1].split("## Paper numbers")[0]
    assert "- sn22-C1: holds on real N-MNIST, does not hold on emulated N-MNIST (effect 4.2 vs -1.3)" in section
    assert "mp23-C1:" not in section  # same verdict: no line
    assert "1 of 2 claim verdicts made in both runs agree; 1 differ:" in section
    assert "Not compared (a verdict in only one of the two runs): ip2-C1." in section
    assert "commit feed" in section and "--configfile config/data/emulated-nmnist.yaml" in section


@pytest.mark.parametrize("case, expected", [
    ("absent", "`paper/emulated_claims.json` does not exist: no verdict is compared"),
    ("scale", "is of the smoke scale, this run of the default scale: verdicts of different scales are not compared"),
    ("not emulated", "is not of an emulated-N-MNIST run (N-MNIST: real N-MNIST (subset, 900 recordings))"),
    ("run emulated", "This run's N-MNIST is emulated N-MNIST, so its verdicts above are not real-data verdicts"),
])
def test_real_vs_emulated_says_why_it_compares_nothing(tmp_path, case, expected):
    claims = {"sn22-C1": _claim("sn22-C1", "holds", 4.2, REAL.label)}
    ref = {"absent": None, "scale": _snapshot(scale="smoke", **{"sn22-C1": ("does not hold", -1.0)}),
           "not emulated": _snapshot(nmnist=REAL, **{"sn22-C1": ("does not hold", -1.0)}),
           "run emulated": _snapshot(**{"sn22-C1": ("does not hold", -1.0)})}[case]
    run = _run(tmp_path, nmnist=EMULATED if case == "run emulated" else REAL)
    page = render_index(tables=[], figures_dir=tmp_path, claims=claims, run=run, reference=ref,
                        reference_path="paper/emulated_claims.json")
    section = page.split("## Real vs emulated N-MNIST")[1].split("## Paper numbers")[0]
    assert expected in section
    assert "does not hold on emulated" not in section  # no verdict compared


def _claims_csv(tmp_path: Path, data_source: str, scale: str = "default") -> Path:
    from metasnn.reporting.claims import write_claims_summary

    found = {"sn22-C1": _claim("sn22-C1", "does not hold", -1.3, data_source, scale),
             "mp23-C1": _claim("mp23-C1", "holds", 3.0, data_source, scale)}
    write_claims_summary(tmp_path / "claims.md", tmp_path / "claims.csv", found)
    return tmp_path / "claims.csv"


def test_snapshot_cli_records_scale_sources_and_commit_and_checks_the_run(tmp_path, capsys):
    from pipeline import snapshot_claims as cli

    emu = _stage_output(tmp_path / "emu/nmnist", [EMULATED], sha="cafe")
    asl = _stage_output(tmp_path / "emu/asldvs", [ASL], sha="cafe")
    claims_csv = _claims_csv(tmp_path, EMULATED.label)
    out = tmp_path / "paper/emulated_claims.json"
    assert cli.main([str(claims_csv), "--provenance", str(emu), str(asl), "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["scale"] == "default" and data["commit"] == "cafe" and data["dirty"] is False
    assert data["data_source"] == "emulated ASL-DVS + emulated N-MNIST"
    by_id = {c["claim"]: c for c in data["claims"]}
    assert by_id["sn22-C1"] == {"claim": "sn22-C1", "datasets": ["nmnist"], "verdict": "does not hold", "effect": -1.3,
                                "effect_description": "effect (pp)", "p_value": 0.01, "n_seeds": 3,
                                "data_source": "emulated N-MNIST"}
    assert by_id["wu22-C1"]["verdict"] == "not run"  # every claim of targets.yaml is kept
    assert [{k: v for k, v in c.items() if k != "scale"} for c in read_snapshot(out).claims] == data["claims"]
    # a run with real N-MNIST cannot be the emulated reference
    real = _stage_output(tmp_path / "real/nmnist", [REAL])
    assert cli.main([str(_claims_csv(tmp_path, REAL.label)), "--provenance", str(real), str(asl),
                     "--out", str(tmp_path / "x.json")]) == 2
    assert "N-MNIST is real N-MNIST (subset, 900 recordings) in this run, not emulated" in capsys.readouterr().err
    # claims measured on data the provenance records do not name are from another run
    assert cli.main([str(_claims_csv(tmp_path, "emulated N-MNIST + something else")), "--provenance", str(emu),
                     str(asl), "--out", str(tmp_path / "y.json")]) == 2
    assert "was measured on something else" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists() and not (tmp_path / "y.json").exists()


def test_a_malformed_snapshot_is_an_error_naming_it(tmp_path):
    bad = tmp_path / "emulated_claims.json"
    bad.write_text(json.dumps({"format": "metasnn-claims-snapshot/1", "scale": "default",
                               "claims": [{"claim": "x", "verdict": "?"}]}))
    with pytest.raises(DataError, match=f"{bad}: not a claims snapshot"):
        read_snapshot(bad)
    with pytest.raises(DataError, match="not found"):
        read_claims_csv(tmp_path / "missing.csv")


def test_report_stage_writes_the_comparison_from_the_reference_file(tmp_path):
    from pipeline import report

    run = _run(tmp_path)  # writes the provenance records
    claims = tmp_path / "results/tables/t.claims.json"
    write_claims(claims, [_claim("sn22-C1", "holds", 4.2, REAL.label)])
    ref = tmp_path / "paper/emulated_claims.json"
    write_snapshot(ref, _snapshot(**{"sn22-C1": ("inconclusive", 0.5)}))
    readme = tmp_path / "results/README.md"
    argv = ["--claims", str(claims), "--provenance", str(tmp_path / "data/fetched/nmnist"),
            str(tmp_path / "data/fetched/asldvs"), "--readme", str(readme), "--claims-md", str(tmp_path / "results/c.md"),
            "--claims-csv", str(tmp_path / "results/c.csv")]
    assert run_stage(report, "report", [*argv, "--reference-claims", str(ref)], tmp_path) == 0
    page = readme.read_text()
    assert "- sn22-C1: holds on real N-MNIST, inconclusive on emulated N-MNIST (effect 4.2 vs 0.5)" in page
    assert run["data_sources"]["nmnist"].label in page
    ref.unlink()
    assert run_stage(report, "report", [*argv, "--reference-claims", str(ref)], tmp_path) == 0
    assert f"`{ref}` does not exist" in readme.read_text()
    assert run_stage(report, "report", [*argv, "--reference-claims"], tmp_path) == 0  # an empty gathered list
    assert "No emulated-run snapshot was given" in readme.read_text()


def test_hardware_tables_take_their_sources_from_the_study():
    from metasnn.hardware import report as hw

    study = SimpleNamespace(data_sources={"nmnist": REAL})
    assert hw.sources(study) == {"nmnist": REAL} and hw.data_source(study) == REAL.label
    assert hw.sources(SimpleNamespace()) == {} and hw.data_source(SimpleNamespace()) == "unknown"


def test_a_claim_tested_per_dataset_is_compared_per_dataset(tmp_path):
    claims = {"sn22-C2": [_claim("sn22-C2", "holds", 1.0, REAL.label), _claim("sn22-C2", "holds", 2.0, ASL.label)]}
    asl = {"claim": "sn22-C2", "datasets": ["asldvs"], "verdict": "does not hold", "effect": -2.0,
           "effect_description": "", "p_value": 0.01, "n_seeds": 3, "data_source": ASL.label, "scale": "default"}
    ref = _snapshot(extra=[asl], **{"sn22-C2": ("holds", 0.5)})
    page = render_index(tables=[], figures_dir=tmp_path, claims=claims, run=_run(tmp_path), reference=ref,
                        reference_path="paper/emulated_claims.json")
    section = page.split("## Real vs emulated N-MNIST")[1].split("## Paper numbers")[0]
    assert "1 of 2 claim verdicts made in both runs agree; 1 differ:" in section
    assert ("- sn22-C2 (ASL-DVS): holds in this run, does not hold in the emulated-N-MNIST run, though not fed by "
            "N-MNIST (effect 2 vs -2)") in section
    assert "sn22-C2 (N-MNIST)" not in section  # same verdict on real and emulated N-MNIST
