"""The data-budget benchmark: its linear fit / extrapolation, and one tiny measured size."""

from __future__ import annotations

import pytest

from benchmarks import bench_data_budget as bench


def test_fit_line_recovers_a_line_and_predicts():
    xs = [100.0, 200.0, 400.0]
    ys = [5.0 + 0.25 * x for x in xs]
    fit = bench.fit_line(xs, ys)
    assert fit.intercept == pytest.approx(5.0)
    assert fit.slope == pytest.approx(0.25)
    assert fit.points == 3 and fit.max_rel_residual == pytest.approx(0.0, abs=1e-12)
    assert fit.predict(70_000) == pytest.approx(5.0 + 0.25 * 70_000)


def test_fit_line_least_squares_and_errors():
    fit = bench.fit_line([0.0, 1.0, 2.0], [0.0, 2.0, 1.0])  # least squares: y = 0.5 + 0.5 x
    assert (fit.intercept, fit.slope) == (pytest.approx(0.5), pytest.approx(0.5))
    assert fit.max_rel_residual == pytest.approx(0.5)  # |2 - 1| / 2 at x = 1
    with pytest.raises(ValueError, match="two different sizes"):
        bench.fit_line([10.0, 10.0], [1.0, 2.0])


def test_extrapolate_rules():
    # a resolved growth: the fitted line at n
    e = bench.extrapolate([70.0, 140.0], [2.0, 4.0], 70_000, noise=0.5)
    assert e["resolved"] and e["value"] == pytest.approx(2000.0) and e["slope_used"] == pytest.approx(2 / 70)
    # never below the largest measured value (noisy negative slope)
    e = bench.extrapolate([70.0, 140.0], [3.0, 2.9], 70_000)
    assert e["fit"] < 0 and e["value"] == 3.0
    # growth below the noise floor: upper bound noise / range per recording beyond the largest size
    e = bench.extrapolate([100.0, 200.0], [0.1, 0.2], 10_200, noise=0.5)
    assert not e["resolved"] and e["value"] == pytest.approx(0.2 + 0.5 / 100 * 10_000)


def test_per_class_counts_are_stable():
    for raw, n in (("nmnist", 140), ("nmnist", 70), ("nmnist", 20), ("asldvs", 96), ("asldvs", 192)):
        counts = bench.per_class_counts(raw, n)
        total = bench.total_recordings(raw, counts)
        assert bench.total_recordings(raw, bench.per_class_counts(raw, total)) == total
    assert bench.per_class_counts("nmnist", 140) == {"train_per_class": 12, "test_per_class": 2}
    assert bench.per_class_counts("asldvs", 10) == {"per_class": 2}  # paper sampling needs 2 per letter


def test_extrapolate_all_and_verdict_on_constructed_points():
    def point(raw, n, work_mb, disk):
        step = {"recordings": n, "seconds": 0.02 * n, "emulate_s": 0.016 * n, "validate_s": 0.004 * n,
                "build_s": 0.001 * n, "pool_stats_s": 0.5, "import_rss_mb": 200.0, "start_rss_mb": 190.0,
                "emulate_work_mb": 30.0, "validate_work_mb": 20.0, "build_work_mb": work_mb,
                "pool_stats_work_mb": work_mb / 2, "disk_bytes": disk, "apparent_bytes": disk, "stored_bytes": disk,
                "entries": 10 * n}
        step["peak_rss_mb"] = 190.0 + max(30.0, work_mb)
        return {"raw": raw, "fetch": dict(step), "build": dict(step)}

    points = {"nmnist": [point("nmnist", 70, 2.0, 7e5), point("nmnist", 140, 4.0, 1.4e6)],
              "asldvs": [point("asldvs", 96, 10.0, 1e6), point("asldvs", 192, 20.0, 2e6)]}
    rows = bench.extrapolate_all(points, None, asl_cap=400)
    by = {r["key"]: r for r in rows}
    assert set(by) == {"raw_nmnist", "raw_asldvs", "double_nmnist", "double_asldvs_cap", "double_asldvs_all"}
    # build: accumulating, the start RSS + the larger phase's fitted work
    assert by["double_nmnist"]["peak_phase"] == "build" and by["double_nmnist"]["rss_model"] == "linear"
    assert by["double_nmnist"]["peak_rss_mb"] == pytest.approx(190.0 + 2.0 / 70 * 70_000)
    # fetch: streaming, the largest measured peak + the file lists at the target count
    lists = bench.file_list_memory_mb("nmnist", 70_000)
    assert 1 < lists < 200
    assert by["raw_nmnist"]["peak_rss_mb"] == pytest.approx(220.0 + lists)
    assert by["double_asldvs_cap"]["n"] == 9_600
    assert by["double_asldvs_all"]["disk_bytes"] == pytest.approx(1e6 / 96 * 100_800)
    assert by["raw_nmnist"]["seconds"] == pytest.approx(0.02 * 70_000)  # emulate + validate
    v = bench.verdict(rows, mem_budget_gb=16, disk_budget_gb=50,
                      resources={"fetch": {"mem_mb": 2000, "runtime_min": 30}, "build": {"mem_mb": 4000, "runtime_min": 60}})
    full = v["scenarios"]["full (double_asldvs from all 100 800)"]
    assert full["complete"] and full["disk_gb"] == pytest.approx(
        (0.7e6 / 70 * 70_000 * 2 + 1e6 / 96 * 100_800 * 2) / 1e9)
    assert full["peak_mem_gb"] == pytest.approx((190.0 + 20.0 / 192 * 100_800) * 2**20 / 1e9)
    assert v["ok"] is (full["disk_ok"] and full["mem_ok"])
    assert any(not r["time_ok"] for r in v["stage_requests"])  # 0.02 s x 100 800 > 30 min


def test_measure_tiny_nmnist(tmp_path):
    result = bench.measure("nmnist", 20, tmp_path, bench.BuildSettings(stats_episodes=5))
    assert result["recordings"] == 20 and result["source"] == "synthetic"
    for step in ("fetch", "build"):
        m = result[step]
        assert m["recordings"] == 20
        assert m["seconds"] > 0 and m["peak_rss_mb"] > 0 and m["peak_rss_mb"] >= m["import_rss_mb"]
        assert all(m[f"{phase}_work_mb"] > -1.0 for phase in bench.PHASES[step])  # peak above the start RSS
        assert m["disk_bytes"] > 0 and m["apparent_bytes"] > 0
    assert result["build"]["stored_bytes"] > 0 and result["build"]["num_steps"] == 100  # 1-ms bins, 100-ms window
    files = result["raw_files"]
    assert files["files"] == 20 and files["events_per_file"] > 0 and files["bytes_per_event"] == pytest.approx(5.0)
