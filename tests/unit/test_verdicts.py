"""The verdict rules (metasnn.reporting.verdicts) and every claim builder of sn22, dsp and wu22 on constructed
per-seed inputs: each claim's holds / does-not-hold / inconclusive / not-run paths, its margins and thresholds,
and the data source it names."""

from __future__ import annotations

import itertools
import math

import pytest
from scipy import stats

from metasnn.data.sources import DataSource
from metasnn.evaluation.statistics import PairedTest, ci95_mean, noninferiority_test, paired_test
from metasnn.reporting import dsp, sn22, verdicts, wu22
from metasnn.reporting.claims import ClaimSite
from metasnn.reporting.verdicts import FAILS, HOLDS, INCONCLUSIVE

NMNIST = DataSource("nmnist", "shipped", 900)
ASL = DataSource("asldvs", "synthetic", 2400)
SOURCES = {"asldvs": ASL, "nmnist": NMNIST}
MARGINS = sn22.Margins(noninferiority=2.0, frozen=5.0, transfer_shots_holds=5, transfer_shots_fails=3)
NOISE = (0.3, -0.2, 0.1, -0.4, 0.25, 0.0)  # per-seed wiggle, so every test has a spread
_ROTATE = itertools.count()


def site(table="t", figure="f.png"):
    return ClaimSite(scale="smoke", sources=SOURCES, table=table, figure=figure)


def seeds(base, step=0.0, n=5):
    """{seed: base + step + noise}: per-seed values around ``base + step``; each call rotates the noise, so
    paired differences between two calls vary over seeds."""
    k = next(_ROTATE)
    return {s: base + step + NOISE[(s + k) % len(NOISE)] for s in range(n)}


def t(effect, p, n=5, lo=None, hi=None):
    return PairedTest(effect, effect - 1 if lo is None else lo, effect + 1 if hi is None else hi, p, n)


# --------------------------------------------------------------------------- the rules
def test_sign_rule():
    assert verdicts.sign(t(2.0, 0.01)) == HOLDS
    assert verdicts.sign(t(2.0, 0.01), direction=-1) == FAILS
    assert verdicts.sign(t(-2.0, 0.01), direction=-1) == HOLDS
    assert verdicts.sign(t(2.0, 0.2)) == INCONCLUSIVE
    assert verdicts.sign(t(2.0, 0.049), alpha=0.01) == INCONCLUSIVE
    assert verdicts.sign(t(2.0, math.nan)) == INCONCLUSIVE
    assert verdicts.sign(t(2.0, 0.0, n=1)) == INCONCLUSIVE


def test_noninferiority_rule_reads_the_ci_against_minus_margin():
    assert verdicts.noninferiority(t(-1.0, 0.01, lo=-1.5, hi=-0.5), 2.0) == HOLDS
    assert verdicts.noninferiority(t(-5.0, 0.99, lo=-6.0, hi=-4.0), 2.0) == FAILS
    assert verdicts.noninferiority(t(-2.0, 0.5, lo=-3.0, hi=-1.0), 2.0) == INCONCLUSIVE
    assert verdicts.noninferiority(t(0.0, math.nan, n=1, lo=math.nan, hi=math.nan), 2.0) == INCONCLUSIVE
    diff = [-1.0, 0.5, -0.3, 0.2]
    part = verdicts.noninferiority_part("x", diff, 2.0)
    assert part.verdict == HOLDS and part.alpha == verdicts.ALPHA / 2
    assert part.test.p_value == pytest.approx(stats.ttest_1samp(diff, -2.0, alternative="greater").pvalue)
    assert (part.test.ci95_low, part.test.ci95_high) == pytest.approx(ci95_mean(diff))
    assert "one-sided" in part.test.test and "margin 2" in part.test.test


def test_all_of_rule():
    assert verdicts.all_of([HOLDS, HOLDS]) == HOLDS
    assert verdicts.all_of([HOLDS, FAILS, INCONCLUSIVE]) == FAILS
    assert verdicts.all_of([HOLDS, INCONCLUSIVE]) == INCONCLUSIVE
    assert verdicts.all_of([]) == INCONCLUSIVE


def test_threshold_rule():
    assert verdicts.threshold(5.0, holds_at=5, fails_below=3) == HOLDS
    assert verdicts.threshold(4.0, holds_at=5, fails_below=3) == INCONCLUSIVE
    assert verdicts.threshold(2.9, holds_at=5, fails_below=3) == FAILS
    assert verdicts.threshold(math.nan, holds_at=5, fails_below=3) == INCONCLUSIVE


def test_deciding_part_is_the_weakest_holding_or_the_first_failing():
    a = verdicts.sign_part("a", t(1.0, 0.01))
    b = verdicts.sign_part("b", t(1.0, 0.04))
    ni = verdicts.Part("ni", t(1.0, 0.015), HOLDS, +1, verdicts.ALPHA / 2)  # p/α = 0.6 < 0.8 of b
    assert verdicts.combine([a, b, ni]) == (HOLDS, b)
    ni_weak = verdicts.Part("ni", t(1.0, 0.024), HOLDS, +1, verdicts.ALPHA / 2)  # p/α = 0.96: the weakest
    assert verdicts.combine([a, b, ni_weak]) == (HOLDS, ni_weak)
    c = verdicts.sign_part("c", t(-1.0, 0.01))
    d = verdicts.sign_part("d", t(1.0, 0.3))
    assert verdicts.combine([a, d, c]) == (FAILS, c)
    assert verdicts.combine([a, d]) == (INCONCLUSIVE, d)
    with pytest.raises(ValueError):
        verdicts.deciding([])


def test_interior_optimum_rule():
    peak = {1e-4: [50.0, 51, 49, 50.5], 1e-3: [70.0, 72, 69, 71], 1e-2: [55.0, 54, 56, 55.5]}
    r = verdicts.interior_optimum(peak)
    assert r.best == 1e-3 and r.interior and r.verdict == HOLDS and len(r.parts) == 2
    flat_end = {**peak, 1e-2: [71.0, 70, 69.5, 70.0]}  # interior best but not better than the upper end
    assert verdicts.interior_optimum(flat_end).verdict == INCONCLUSIVE
    rising = {1e-4: [50.0, 51, 49, 50.5], 1e-3: [60.0, 61, 59, 60.5], 1e-2: [70.0, 72, 69, 71]}
    r = verdicts.interior_optimum(rising)
    assert r.best == 1e-2 and not r.interior and r.best_interior == 1e-3 and r.verdict == FAILS
    assert r.parts[0].test.effect < 0
    two = {1e-4: [50.0, 51], 1e-3: [60.0, 61]}
    r = verdicts.interior_optimum(two)
    assert r.verdict == INCONCLUSIVE and r.parts == ()
    tie = {1e-4: [50.0, 52], 1e-3: [51.0, 51]}
    assert verdicts.best_setting(tie) == 1e-4  # ties go to the smaller setting


# --------------------------------------------------------------------------- sn22
def sn22_acc(maml_step, fomaml_step=0.0, cnn_step=0.0, datasets=sn22.DATASETS):
    acc = {}
    for d in datasets:
        acc[("maml_snn", d, "test")] = seeds(80.0, maml_step)
        acc[("fomaml_snn", d, "test")] = seeds(80.0, fomaml_step)
        acc[("maml_cnn", d, "test")] = seeds(80.0, cnn_step)
    return acc


def test_sn22_c1_maml_beats_fomaml():
    c = sn22.claim_c1(sn22_acc(maml_step=5.0), site())
    assert c.verdict == HOLDS and c.effect == pytest.approx(5.0, abs=0.5) and c.n_seeds == 10
    assert c.data_source == "real N-MNIST (subset, 900 recordings) + emulated ASL-DVS"
    assert sn22.claim_c1(sn22_acc(maml_step=-5.0), site()).verdict == FAILS
    only_nmnist = sn22.claim_c1(sn22_acc(maml_step=5.0, datasets=("double_nmnist",)), site())
    assert only_nmnist.data_source == NMNIST.label and only_nmnist.note == "datasets: double_nmnist"
    none = sn22.claim_c1({}, site())
    assert none.verdict == "not run" and "fomaml_snn" in none.note


def test_sn22_c2_and_c4_are_noninferiority_at_their_margins():
    near = sn22_acc(maml_step=-0.5)  # SNN 0.5 points below the CNN
    c2 = sn22.claim_c2(near, 2.0, site())
    assert c2.verdict == HOLDS and c2.effect == pytest.approx(-0.5, abs=0.5)
    diffs = [near[("maml_snn", d, "test")][s] - near[("maml_cnn", d, "test")][s] for d in sn22.DATASETS for s in range(5)]
    assert c2.p_value == pytest.approx(noninferiority_test(diffs, 2.0).p_value) and c2.p_value < 0.025
    assert sn22.claim_c2(sn22_acc(maml_step=-10.0), 2.0, site()).verdict == FAILS
    assert sn22.claim_c2(sn22_acc(maml_step=-2.0), 2.0, site()).verdict == INCONCLUSIVE
    assert sn22.claim_c2({}, 2.0, site()).verdict == "not run"
    by = {("double_nmnist", 0): seeds(80.0), ("double_nmnist", 1): seeds(79.0),
          ("double_nmnist", 3): {s: v - 3.5 for s, v in seeds(80.0).items()}}
    assert sn22.claim_c4(by, 5.0, site()).verdict == HOLDS  # the most frozen (3) vs none: -3.5 > -5
    assert sn22.claim_c4(by, 2.0, site()).verdict == FAILS  # the same data at a tighter margin
    assert sn22.claim_c4(by, 5.0, site()).data_source == NMNIST.label
    assert sn22.claim_c4({}, 5.0, site()).verdict == "not run"


def test_sn22_c3_more_inner_steps_help():
    by = {("double_asldvs", 1): seeds(60.0), ("double_asldvs", 10): seeds(60.0, 4.0),
          ("double_nmnist", 1): seeds(70.0), ("double_nmnist", 3): seeds(71.0), ("double_nmnist", 10): seeds(70.0, 3.0)}
    c = sn22.claim_c3(by, site())
    assert c.verdict == HOLDS and c.effect == pytest.approx(3.5, abs=0.5) and c.n_seeds == 10
    assert c.data_source == "emulated ASL-DVS + real N-MNIST (subset, 900 recordings)"
    flat = {("double_nmnist", 1): seeds(70.0), ("double_nmnist", 10): {s: 70.0 - v + 70 for s, v in seeds(70.0).items()}}
    assert sn22.claim_c3(flat, site()).verdict == INCONCLUSIVE
    assert sn22.claim_c3({}, site()).verdict == "not run"


def test_sn22_c5_inner_updates_larger_than_non_meta():
    vals = {("maml_inner", "avg"): {s: 1e-3 * (1 + 0.1 * s) for s in range(4)},
            ("non_meta", "avg"): {s: 1e-4 * (1 + 0.1 * s) * (1 + 0.05 * (-1) ** s) for s in range(4)}}
    c = sn22.claim_c5(vals, site())
    assert c.verdict == HOLDS and c.effect == pytest.approx(1.0, abs=0.05) and "ratio 10" in c.note
    assert c.data_source == NMNIST.label  # Table 3 is on Double N-MNIST only
    smaller = {("maml_inner", "avg"): vals[("non_meta", "avg")], ("non_meta", "avg"): vals[("maml_inner", "avg")]}
    assert sn22.claim_c5(smaller, site()).verdict == FAILS
    assert "needs both" in sn22.claim_c5({("maml_inner", "avg"): {0: 1.0}}, site()).note
    assert "transfer baseline" in sn22.claim_c5({}, site()).note


def sn22_threshold(acc_step, count_step, mag_factor):
    base = {"accuracy": 80.0, "nonzero_updates": 1000.0, "mean_nonzero_magnitude": 1e-3}
    vals = {}
    for q, v in base.items():
        vals[("double_nmnist", "full", q)] = {s: v * (1 + 0.01 * NOISE[s]) for s in range(5)}
    vals[("double_nmnist", "thresholded", "accuracy")] = seeds(80.0, acc_step)
    vals[("double_nmnist", "thresholded", "nonzero_updates")] = {s: 1000.0 + count_step + 30 * NOISE[s] for s in range(5)}
    vals[("double_nmnist", "thresholded", "mean_nonzero_magnitude")] = {
        s: 1e-3 * mag_factor * (1 + 0.02 * NOISE[s]) for s in range(5)}
    return vals


def test_sn22_c6_all_three_parts():
    c = sn22.claim_c6(sn22_threshold(-0.3, -800, 3.0), 2.0, site())
    assert c.verdict == HOLDS, c.note
    assert c.note.startswith("accuracy kept: holds; fewer updates: holds; larger updates: holds")
    assert c.data_source == NMNIST.label
    assert sn22.claim_c6(sn22_threshold(-10.0, -800, 3.0), 2.0, site()).verdict == FAILS  # accuracy lost
    assert sn22.claim_c6(sn22_threshold(-0.3, +300, 3.0), 2.0, site()).verdict == FAILS  # more updates
    assert sn22.claim_c6(sn22_threshold(-2.0, -800, 3.0), 2.0, site()).verdict == INCONCLUSIVE  # CI straddles -2
    assert sn22.claim_c6({}, 2.0, site()).verdict == "not run"


def sn22_transfer(cross_at, gap=10.0):
    """Transfer accuracy rising with shots, reaching MAML's 1-shot value at ``cross_at`` shots."""
    shots = (1, 2, 3, 5, 10, 20)
    maml = seeds(80.0)
    vals = {("double_nmnist", "maml_snn", 1): maml}
    for k in shots:
        vals[("double_nmnist", "transfer", k)] = {s: maml[s] - (gap if k < cross_at else -1.0) + 0.1 * NOISE[s]
                                                  for s in maml}
    return vals


def test_sn22_c7_thresholds_on_the_crossing_shot():
    c = sn22.claim_c7(sn22_transfer(10), MARGINS, site())
    assert c.verdict == HOLDS and c.effect == 10.0 and "k >= 5" in c.test and "k < 3" in c.test
    assert sn22.claim_c7(sn22_transfer(2), MARGINS, site()).verdict == FAILS  # crosses at k = 2 < 3
    assert sn22.claim_c7(sn22_transfer(3), MARGINS, site()).verdict == INCONCLUSIVE  # 3 <= k < 5
    stricter = sn22.Margins(2.0, 5.0, transfer_shots_holds=15, transfer_shots_fails=3)
    assert sn22.claim_c7(sn22_transfer(10), stricter, site()).verdict == INCONCLUSIVE  # the params decide
    assert sn22.claim_c7(sn22_transfer(10, gap=-5.0), MARGINS, site()).verdict == FAILS  # transfer wins at 1 shot
    one_seed = {k: {0: v[0]} for k, v in sn22_transfer(10).items()}
    assert sn22.claim_c7(one_seed, MARGINS, site()).verdict == INCONCLUSIVE  # n < 2 decides nothing
    assert sn22.claim_c7({}, MARGINS, site()).verdict == "not run"


# --------------------------------------------------------------------------- dsp
def dsp_runs(acc_steps, conv=None, datasets=("double_asldvs", "double_nmnist")):
    """runs[(method, dataset)][seed] with test_acc (fraction) = 0.6 + step/100 + noise."""
    runs = {}
    for d in datasets:
        for method, step in acc_steps.items():
            acc, steps = seeds(60.0, step), seeds((conv or {}).get(method, 50))
            runs[(method, d)] = {s: {"test_acc": acc[s] / 100, "convergence_step": steps[s]} for s in range(5)}
    return runs


def test_dsp_c4_ordering_of_four_methods():
    good = dsp_runs({"stdp": 0.0, "stbp": 5.0, "eihl": 10.0, "dsp": 15.0})
    c = dsp.claim_c4(good, ["double_asldvs", "double_nmnist"], site())
    assert c.verdict == HOLDS and c.effect == pytest.approx(5.0, abs=0.5)
    assert c.data_source == "emulated ASL-DVS + real N-MNIST (subset, 900 recordings)"
    swapped = dsp_runs({"stdp": 0.0, "stbp": 10.0, "eihl": 5.0, "dsp": 15.0})  # EIHL below STBP
    c = dsp.claim_c4(swapped, ["double_nmnist"], site())
    assert c.verdict == FAILS and "deciding test: EIHL (approximate) − STBP" in c.effect_description
    assert c.data_source == NMNIST.label


def test_dsp_c1_accuracy_and_convergence():
    runs = dsp_runs({"dsp": 5.0, "dsp_fixed": 0.0}, conv={"dsp": 30, "dsp_fixed": 60})
    assert dsp.claim_c1(runs, ["double_nmnist"], site()).verdict == HOLDS
    slower = dsp_runs({"dsp": 5.0, "dsp_fixed": 0.0}, conv={"dsp": 90, "dsp_fixed": 60})
    c = dsp.claim_c1(slower, ["double_nmnist"], site())
    assert c.verdict == FAILS and "convergence step fixed − dynamic" in c.effect_description
    assert c.effect == pytest.approx(-30.0, abs=0.5)  # reported in the claimed direction
    same_speed = dsp_runs({"dsp": 5.0, "dsp_fixed": 0.0}, conv={"dsp": 60, "dsp_fixed": 60})
    assert dsp.claim_c1(same_speed, ["double_nmnist"], site()).verdict == INCONCLUSIVE


def test_dsp_c2_heterogeneity_threshold():
    cvs = [0.14, 0.15, 0.16, 0.15, 0.145]
    assert dsp.claim_c2(cvs, 0.1, ["double_nmnist"], site()).verdict == HOLDS
    assert dsp.claim_c2(cvs, 0.2, ["double_nmnist"], site()).verdict == FAILS
    assert dsp.claim_c2(cvs, 0.15, ["double_nmnist"], site()).verdict == INCONCLUSIVE
    assert dsp.claim_c2(cvs, 0.1, ["double_nmnist"], site()).data_source == NMNIST.label


def sweep_of(means):
    out = {}
    for b, m in means.items():
        acc = seeds(m)
        out[b] = {s: {"test_acc": a / 100, "task_acc": [a / 100] * 2} for s, a in acc.items()}
    return out


def test_dsp_c3_interior_optimum_per_dataset():
    peak = sweep_of({1e-4: 50.0, 1e-3: 70.0, 1e-2: 55.0})
    c = dsp.claim_c3("double_nmnist", peak, site())
    assert c.verdict == HOLDS and "best β = 0.001" in c.effect_description and c.data_source == NMNIST.label
    rising = sweep_of({1e-4: 50.0, 1e-3: 60.0, 1e-2: 70.0})
    c = dsp.claim_c3("double_asldvs", rising, site())
    assert c.verdict == FAILS and "best interior β 0.001 − end β 0.01" in c.effect_description
    assert c.data_source == ASL.label
    flat = sweep_of({1e-4: 60.0, 1e-3: 60.0, 1e-2: 60.5})
    c = dsp.claim_c3("double_nmnist", flat, site())
    assert c.verdict == INCONCLUSIVE and c.note == "the best mean accuracy is at an end of the β range"
    c = dsp.claim_c3("double_nmnist", sweep_of({1e-4: 50.0, 1e-3: 60.0}), site())
    assert c.verdict == INCONCLUSIVE and c.note == "fewer than 3 β values"


def test_dsp_c3_has_a_record_per_swept_dataset(tmp_path):
    """Bug fix: dsp_tables wrote dsp-C3 for the first swept dataset only (claims5[:1])."""
    runs = dsp.Runs()
    for d, means in (("double_asldvs", {1e-4: 50.0, 1e-3: 60.0, 1e-2: 70.0}),
                     ("double_nmnist", {1e-4: 50.0, 1e-3: 70.0, 1e-2: 55.0})):
        for b, per in sweep_of(means).items():
            runs.sweep[(d, b)] = per
    claims = dsp.fig5(runs, scale="smoke", sources=SOURCES, tables_dir=tmp_path, figures_dir=tmp_path)
    assert [c.claim_id for c in claims] == ["dsp-C3", "dsp-C3"]
    assert [c.data_source for c in claims] == [ASL.label, NMNIST.label]
    assert [c.verdict for c in claims] == [FAILS, HOLDS]
    rows = (tmp_path / "dsp_fig5_beta_sweep.csv").read_text().splitlines()
    assert sum(ASL.label in r for r in rows) == 3 and sum(NMNIST.label in r for r in rows) == 3
    none = dsp.fig5(dsp.Runs(), scale="smoke", sources=SOURCES, tables_dir=tmp_path, figures_dir=tmp_path)
    assert [c.verdict for c in none] == ["not run"]


# --------------------------------------------------------------------------- wu22
def wu22_acc(hp_step, lp_step=-5.0, ft_step=-5.0):
    acc = {"gp": seeds(85.0), "hp": {s: 85.0 + hp_step + 0.5 * NOISE[s] for s in range(5)},
           "lp": seeds(85.0, lp_step), "finetune": seeds(85.0, ft_step)}
    epochs = {m: {s: 3.0 for s in range(5)} for m in acc}
    return acc, epochs


def test_wu22_c1_noninferiority_is_one_sided_as_in_sn22():
    """Bug fix: wu22-C1 tested HP − GP with a two-sided t-test against −margin; now the one non-inferiority
    test of sn22 (one-sided p, CI of the mean difference)."""
    acc, epochs = wu22_acc(hp_step=-0.5, lp_step=-20.0, ft_step=-20.0)  # HP ≈ GP, far above LP / fine-tune
    c = wu22.claim_c1(acc, epochs, 2.0, site())
    assert c.verdict == HOLDS
    assert c.effect_description.startswith("HP − GP vs −2 pts (non-inferiority)")  # the weakest part decides
    diff = [acc["hp"][s] - acc["gp"][s] for s in range(5)]
    assert c.p_value == pytest.approx(stats.ttest_1samp(diff, -2.0, alternative="greater").pvalue)
    assert c.p_value == pytest.approx(sn22.claim_c2(
        {("maml_snn", "double_nmnist", "test"): acc["hp"], ("maml_cnn", "double_nmnist", "test"): acc["gp"]},
        2.0, site()).p_value)  # one function serves both papers
    assert c.effect == pytest.approx(sum(diff) / 5) and (c.ci95_low, c.ci95_high) == pytest.approx(ci95_mean(diff))
    assert "one-sided" in c.test and c.data_source == NMNIST.label
    assert "convergence (epochs to 90% of best, not tested): HP 3.0, GP 3.0" in c.note


def test_wu22_c1_parts():
    assert wu22.claim_c1(*wu22_acc(hp_step=-10.0), 2.0, site()).verdict == FAILS  # HP far below GP
    assert wu22.claim_c1(*wu22_acc(hp_step=0.0, lp_step=+5.0), 2.0, site()).verdict == FAILS  # LP beats HP
    assert wu22.claim_c1(*wu22_acc(hp_step=-2.0), 2.0, site()).verdict == INCONCLUSIVE  # CI straddles -2
    acc, epochs = wu22_acc(hp_step=0.0)
    del acc["lp"]
    assert wu22.claim_c1(acc, epochs, 2.0, site()) is None


def test_wu22_c2_and_c3_hp_more_robust_than_gp():
    deg = {"crop": {"gp": seeds(20.0), "hp": seeds(10.0)}, "noise": {"gp": seeds(15.0), "hp": seeds(5.0)}}
    c2 = wu22.claim_c2(deg, site())
    assert c2.verdict == HOLDS and c2.data_source == NMNIST.label
    deg["noise"]["hp"] = seeds(25.0)
    assert wu22.claim_c2(deg, site()).verdict == FAILS
    assert wu22.claim_c2({"crop": {"lp": seeds(1.0)}}, site()) is None
    dist = {("crop", "euclidean"): {"gp": seeds(5.0), "hp": seeds(2.0)},
            ("crop", "cosine"): {"gp": {s: 0.5 + 0.01 * NOISE[s] for s in range(5)},
                                 "hp": {s: 0.8 + 0.03 * NOISE[s] for s in range(5)}}}
    c3 = wu22.claim_c3(dist, site())
    assert c3.verdict == HOLDS and c3.note.count("→ holds") == 2
    dist[("crop", "cosine")] = {"gp": dist[("crop", "cosine")]["hp"], "hp": dist[("crop", "cosine")]["gp"]}
    assert wu22.claim_c3(dist, site()).verdict == FAILS
    assert wu22.claim_c3({}, site()) is None


def test_paired_tests_behind_the_parts_are_the_shared_ones():
    a, b = [1.0, 2.0, 3.5], [0.5, 1.0, 2.0]
    part = verdicts.sign_part("a − b", paired_test(a, b))
    assert part.test == paired_test(a, b) and part.verdict == verdicts.sign(paired_test(a, b))
