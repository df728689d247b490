import math

import numpy as np
import pytest

from metasnn.evaluation.statistics import ci95_mean, noninferiority_test, one_sample_test, paired_test, summarize


def test_summary_matches_hand_computation():
    s = summarize([1.0, 2.0, 3.0, 4.0])
    assert s.mean == 2.5 and s.n == 4
    assert s.std == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    # t(0.975, 3) = 3.182446305; sem = 1.290994/2
    half = 3.182446305284263 * s.std / 2
    assert (s.ci95_low, s.ci95_high) == pytest.approx((2.5 - half, 2.5 + half))


def test_single_value_has_no_interval():
    s = summarize([0.7])
    assert s.mean == 0.7 and s.std == 0.0 and math.isnan(s.ci95_low)
    assert all(math.isnan(v) for v in ci95_mean([]))


def test_non_finite_values_are_dropped():
    assert summarize([1.0, float("nan"), 3.0]).n == 2


def test_paired_test_detects_consistent_improvement():
    a = [0.80, 0.82, 0.85, 0.79, 0.84]
    b = [0.70, 0.71, 0.76, 0.69, 0.73]
    r = paired_test(a, b)
    assert r.effect == pytest.approx(np.mean(np.subtract(a, b)))
    assert r.p_value < 0.001 and r.ci95_low > 0


def test_paired_test_needs_matched_samples():
    with pytest.raises(ValueError):
        paired_test([1, 2], [1])


def test_one_sample_against_chance():
    r = one_sample_test([0.5, 0.52, 0.49, 0.51], mu=0.2)
    assert r.effect == pytest.approx(0.305) and r.p_value < 1e-4
    assert math.isnan(one_sample_test([0.3], mu=0.2).p_value)


def test_noninferiority_p_is_one_sided_against_the_margin_and_matches_the_ci():
    from scipy import stats

    diff = [1.0, -2.0, 3.0, 0.5]  # mean 0.625: near 0, well above -5
    t = noninferiority_test(diff, 5.0)
    assert t.effect == pytest.approx(0.625)
    assert (t.ci95_low, t.ci95_high) == pytest.approx(ci95_mean(diff))
    assert t.p_value == pytest.approx(stats.ttest_1samp(diff, -5.0, alternative="greater").pvalue)
    assert t.p_value < 0.025 and t.ci95_low > -5.0  # "holds" by either reading
    assert one_sample_test(diff).p_value > 0.5  # the two-sided p against 0 says nothing about the margin
    worse = noninferiority_test([-9.0, -8.0, -10.0], 2.0)
    assert worse.p_value > 0.975 and worse.ci95_high < -2.0
    for n in range(3, 9):  # CI above -margin <=> one-sided p < 0.025, for any data
        sample = list(np.random.default_rng(n).normal(-1.0, 2.0, size=n))
        r = noninferiority_test(sample, 2.0)
        assert (r.ci95_low > -2.0) == (r.p_value < 0.025)
