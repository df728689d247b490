from metasnn.data.sources import DataSource
from metasnn.reporting.tables import Measurement, write_comparison_table
from pipeline.compare_runs import main

KEY = {"dataset": "double_nmnist", "method": "maml_snn", "split": "test"}


def _run(root, values):
    write_comparison_table("sn22_table2_fewshot", [Measurement(KEY, values)], scale="smoke",
                           sources={"nmnist": DataSource("nmnist", "shipped", 900)},
                           out_dir=root / "tables")
    return root


def test_identical_runs_agree(tmp_path, capsys):
    a, b = _run(tmp_path / "a", [50.0, 60.0]), _run(tmp_path / "b", [50.0, 60.0])
    assert main([str(a), str(b)]) == 0
    assert "0 difference(s)" in capsys.readouterr().out


def test_changed_mean_is_reported_with_its_delta(tmp_path, capsys):
    a, b = _run(tmp_path / "a", [50.0, 60.0]), _run(tmp_path / "b", [52.0, 60.0])
    assert main([str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "| double_nmnist / maml_snn / test | reproduced_mean | 55 → 56 | +1 |" in out


def test_tolerance_hides_small_differences(tmp_path, capsys):
    a, b = _run(tmp_path / "a", [50.0, 60.0]), _run(tmp_path / "b", [50.5, 60.5])
    assert main([str(a), str(b), "--tol", "0.6"]) == 0


def test_missing_run_is_a_one_line_error(tmp_path, capsys):
    assert main([str(tmp_path / "nope"), str(tmp_path / "nope2")]) == 2
    assert capsys.readouterr().err.startswith("error: ")
