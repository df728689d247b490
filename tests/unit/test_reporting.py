import csv
import io
import json
from pathlib import Path

import pytest

from metasnn.data.sources import DataSource
from metasnn.evaluation.statistics import PairedTest
from metasnn.reporting.claims import ClaimResult, claims_rows, verdict_from_test, write_claims
from metasnn.reporting.figures import figure
from metasnn.reporting.tables import NOT_RUN, Measurement, write_comparison_table
from metasnn.reporting.targets import load_targets

EMULATED = {"nmnist": DataSource("nmnist", "synthetic", 400), "asldvs": DataSource("asldvs", "synthetic", 480)}
FULL_NMNIST = {"nmnist": DataSource("nmnist", "local", 70_000)}


def _rows(path):
    return list(csv.DictReader(io.StringIO(path.read_text())))


def test_targets_cover_spec_numbers_and_claims():
    t = load_targets()
    assert t.table("sn22_table2_fewshot").lookup({"dataset": "double_nmnist", "method": "maml_snn", "split": "test"}).value == 98.23
    assert len(t.table("wu22_tableS1_inference").rows) == 42
    assert len(t.claims) == 19 and "ip2-C1" in t.claims


def test_table_has_required_columns_and_marks_unrun_rows(tmp_path):
    m = Measurement({"dataset": "double_nmnist", "method": "maml_snn", "split": "test"}, per_seed=[80.0, 82.0, 84.0],
                    per_task=[60.0, 100.0] * 50)
    csv_path, md_path = write_comparison_table("sn22_table2_fewshot", [m], scale="smoke", sources=EMULATED,
                                               out_dir=tmp_path)
    rows = _rows(csv_path)
    for col in ["paper_value", "paper_pm", "reproduced_mean", "reproduced_std", "ci95_low", "ci95_high", "n_seeds",
                "n_tasks", "scale", "data_source", "comparable", "note"]:
        assert col in rows[0]
    measured = rows[0]
    assert measured["paper_value"] == "98.23" and measured["reproduced_mean"] == "82"
    assert measured["n_seeds"] == "3" and measured["n_tasks"] == "100" and measured["ci_over"] == "tasks"
    assert measured["comparable"] == "no" and measured["data_source"] == "emulated N-MNIST"
    assert measured["note"] == "not comparable to the paper: emulated N-MNIST, not real recordings; smoke scale"
    unrun = [r for r in rows if r["note"] == NOT_RUN]
    assert len(unrun) == 11 and all(r["reproduced_mean"] == "" for r in unrun)
    assert "not run yet" in md_path.read_text()


def test_paper_scale_real_data_rows_are_compared(tmp_path):
    m = Measurement({"dataset": "double_nmnist", "method": "maml_snn", "split": "test"}, per_seed=[98.0, 98.5, 97.9])
    csv_path, _ = write_comparison_table("sn22_table2_fewshot", [m], scale="paper", sources=FULL_NMNIST, out_dir=tmp_path)
    row = _rows(csv_path)[0]
    assert row["comparable"] == "yes" and row["agrees"] == "yes" and row["ci_over"] == "seeds"


def test_table_bytes_are_deterministic(tmp_path):
    ms = [Measurement({"dataset": "double_asldvs", "method": "maml_cnn", "split": "val"}, per_seed=[0.123456789, 0.2])]
    a = write_comparison_table("sn22_table2_fewshot", ms, scale="default", sources=EMULATED, out_dir=tmp_path / "a")
    b = write_comparison_table("sn22_table2_fewshot", ms, scale="default", sources=EMULATED, out_dir=tmp_path / "b")
    assert a[0].read_bytes() == b[0].read_bytes() and a[1].read_bytes() == b[1].read_bytes()


def test_measurement_missing_a_key_column_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="lacks key columns"):
        write_comparison_table("sn22_table2_fewshot", [Measurement({"dataset": "x"}, [1.0])], scale="smoke",
                               sources=EMULATED, out_dir=tmp_path)


def test_verdicts_follow_the_statistic():
    sig_up = PairedTest(0.1, 0.05, 0.15, 0.001, 5)
    assert verdict_from_test(sig_up) == "holds"
    assert verdict_from_test(sig_up, direction=-1) == "does not hold"
    assert verdict_from_test(PairedTest(0.1, -0.1, 0.3, 0.3, 5)) == "inconclusive"
    assert verdict_from_test(PairedTest(0.1, float("nan"), float("nan"), float("nan"), 1)) == "inconclusive"


def test_a_verdict_needs_a_statistic():
    with pytest.raises(ValueError, match="needs the statistic"):
        ClaimResult("sn22-C1", "holds", 0.1, "diff", "", None, None, None, 3, 100, "smoke", "synthetic", "t")


def test_claims_round_trip_and_unrun_claims_are_listed(tmp_path):
    r = ClaimResult("sn22-C1", "holds", 4.2, "MAML − FOMAML (pp)", "paired t-test", 0.01, 1.0, 7.0, 3, 100,
                    "smoke", "synthetic", "sn22_table2_fewshot")
    write_claims(tmp_path / "c.json", [r])
    from metasnn.reporting.claims import read_claims

    found = read_claims([tmp_path / "c.json"])
    rows = claims_rows(found)
    assert len(rows) == 19
    assert rows[0]["verdict"] == "holds" and rows[1]["verdict"] == "not run"
    with pytest.raises(ValueError, match="unknown claim id"):
        write_claims(tmp_path / "d.json", [ClaimResult("xx-C9", "not run", None, "", "", None, None, None, None, None,
                                                       "smoke", "synthetic", "t")])
    assert json.loads((tmp_path / "c.json").read_text())[0]["p_value"] == 0.01


def test_a_claim_tested_per_dataset_keeps_a_row_per_dataset(tmp_path):
    from metasnn.reporting.claims import read_claims, write_claims_summary

    per_dataset = [ClaimResult("dsp-C3", v, 1.0, f"on {d}", "paired t-test", p, 0.1, 2.0, 3, None, "smoke", src,
                               "dsp_fig5_beta_sweep")
                   for d, v, p, src in (("double_asldvs", "inconclusive", 0.2, "emulated ASL-DVS"),
                                        ("double_nmnist", "holds", 0.01, "real N-MNIST (subset, 900 recordings)"))]
    write_claims(tmp_path / "c.json", per_dataset)
    found = read_claims([tmp_path / "c.json"])
    assert [c.data_source for c in found["dsp-C3"]] == ["emulated ASL-DVS", "real N-MNIST (subset, 900 recordings)"]
    rows = [r for r in claims_rows(found) if r["claim"] == "dsp-C3"]
    assert [(r["verdict"], r["effect_description"]) for r in rows] == [("inconclusive", "on double_asldvs"),
                                                                        ("holds", "on double_nmnist")]
    assert len(claims_rows(found)) == 20  # 19 claims, one of them twice
    write_claims_summary(tmp_path / "claims.md", tmp_path / "claims.csv", found)
    assert (tmp_path / "claims.md").read_text().count("| dsp-C3 |") == 2


def test_figures_are_deterministic_pngs(tmp_path):
    for name in ("a.png", "b.png"):
        with figure(tmp_path / name) as (_, ax):
            ax.plot([1, 2, 3], [3, 1, 2])
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_volatile_measurements_stay_out_of_the_csv(tmp_path):
    key = {"dataset": "MNIST", "platform": "CPU (this machine)", "coding": "rate", "metric": "latency_ms"}
    csv_path, md_path = write_comparison_table("wu22_tableS1_inference", [Measurement(key, [4.87], volatile=True)],
                                               scale="default", sources=EMULATED, out_dir=tmp_path)
    assert "CPU (this machine)" not in csv_path.read_text()
    assert "CPU (this machine)" in md_path.read_text() and "varies between runs" in md_path.read_text()


def test_report_captions_of_method_tables_name_the_cost_columns(tmp_path, monkeypatch):
    from pipeline import report_captions

    monkeypatch.setattr(report_captions, "CAPTION_DIR", tmp_path)
    for table in ("sn22_table2_fewshot", "wu22_fewshot_hp", "cross_dataset"):
        caption, _, kind = report_captions.report_item(f"results/tables/{table}.csv")
        assert kind == "tables" and "Cost columns (metasnn.evaluation.cost" in Path(caption).read_text()
    caption, _, _ = report_captions.report_item("results/tables/sn22_fig3_inner_steps.csv")
    assert "Cost columns" not in Path(caption).read_text()


def test_front_page_shows_the_statistic_unproduced_rows_and_the_scale_deviations(tmp_path):
    from metasnn.reporting.claims import read_claims
    from metasnn.reporting.index import render_index
    from metasnn.reporting.targets import load_deviations

    m = Measurement({"dataset": "double_nmnist", "method": "maml_snn", "split": "test"}, per_seed=[80.0, 82.0, 84.0],
                    per_task=[60.0, 100.0] * 50)
    csv_path, _ = write_comparison_table("sn22_table2_fewshot", [m], scale="default", sources=EMULATED,
                                         out_dir=tmp_path)
    write_claims(tmp_path / "c.json", [ClaimResult("sn22-C1", "holds", 4.2, "MAML − FOMAML (pp)", "paired t-test",
                                                   0.0123, 1.0, 7.0, 3, 100, "default", "synthetic",
                                                   "sn22_table2_fewshot")])
    run = {"scale": "default", "data_source": "synthetic", "git_sha": "abc", "wall_time_s": 60.0, "n_stages": 2,
           "devices": ["cpu"]}
    page = render_index(tables=[csv_path], figures_dir=tmp_path, claims=read_claims([tmp_path / "c.json"]), run=run)
    assert "| sn22-C1 | holds | 4.2 | 0.0123 | [1, 7] | 3 |" in page  # how sure, not just the verdict
    assert "| sn22_table2_fewshot | double_nmnist / maml_snn / test | 98.23 ± 1.12 | 82 ± 2" in page
    assert "- sn22_table2_fewshot: 11 paper numbers this run does not produce" in page
    default_texts = [d.text for d in load_deviations() if "default" in d.scales]
    paper_only = [d.text for d in load_deviations() if d.scales == ("smoke", "default")]
    assert default_texts and paper_only
    assert all(t in page for t in default_texts)
    paper_page = render_index(tables=[csv_path], figures_dir=tmp_path, claims={}, run={**run, "scale": "paper"})
    assert not any(t in paper_page for t in paper_only)  # reduced-scale deviations are not listed at paper scale


def test_deviations_name_known_papers_and_scales(tmp_path):
    from metasnn.errors import ConfigError
    from metasnn.reporting.targets import load_deviations

    assert {d.paper for d in load_deviations()} <= set(load_targets().papers)
    bad = tmp_path / "deviations.yaml"
    bad.write_text("- {paper: sn22, scales: [tiny], text: x}\n")
    with pytest.raises(ConfigError, match="scales must be"):
        load_deviations(bad)
    bad.write_text("- {paper: zz99, scales: [default], text: x}\n")
    with pytest.raises(ConfigError, match="unknown paper"):
        load_deviations(bad)
