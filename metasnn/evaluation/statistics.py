"""Statistics shared by every table and claim: means, spreads, confidence intervals, paired tests.

Conventions: ``std`` is the sample standard deviation (ddof=1; 0 for a single value); 95% CIs of
a mean use Student's t; comparisons between two methods over the same seeds use a paired t-test
(two-sided), with the paired mean difference as effect size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Summary", "summarize", "ci95_mean", "PairedTest", "paired_test", "one_sample_test", "noninferiority_test"]


@dataclass(frozen=True)
class Summary:
    mean: float
    std: float
    ci95_low: float
    ci95_high: float
    n: int


def _clean(values: Sequence[float]) -> np.ndarray:
    arr = np.asarray(list(values), dtype=np.float64)
    return arr[np.isfinite(arr)]


def ci95_mean(values: Sequence[float]) -> tuple[float, float]:
    """Two-sided 95% Student-t confidence interval of the mean (NaN bounds when n < 2)."""
    from scipy import stats

    arr = _clean(values)
    n = arr.size
    if n < 2:
        return math.nan, math.nan
    sem = arr.std(ddof=1) / math.sqrt(n)
    half = float(stats.t.ppf(0.975, n - 1) * sem)
    m = float(arr.mean())
    return m - half, m + half


def summarize(values: Sequence[float]) -> Summary:
    """Mean, sample std, 95% CI of the mean and n of the finite values."""
    arr = _clean(values)
    n = int(arr.size)
    if n == 0:
        return Summary(math.nan, math.nan, math.nan, math.nan, 0)
    lo, hi = ci95_mean(arr)
    std = float(arr.std(ddof=1)) if n > 1 else 0.0
    return Summary(float(arr.mean()), std, lo, hi, n)


@dataclass(frozen=True)
class PairedTest:
    """Paired comparison a − b over matched units (seeds)."""

    effect: float  # mean of a − b
    ci95_low: float
    ci95_high: float
    p_value: float  # two-sided paired t-test; NaN when n < 2 or zero variance with zero effect
    n: int
    test: str = "paired t-test (two-sided)"


def paired_test(a: Sequence[float], b: Sequence[float]) -> PairedTest:
    """Paired t-test of ``a`` vs ``b`` (same length, matched by index)."""
    a_arr = np.asarray(list(a), dtype=np.float64)
    b_arr = np.asarray(list(b), dtype=np.float64)
    if a_arr.shape != b_arr.shape:
        raise ValueError(f"paired_test needs matched samples, got {a_arr.size} and {b_arr.size}")
    diff = a_arr - b_arr
    diff = diff[np.isfinite(diff)]
    return _one_sample(diff, "paired t-test (two-sided)")


def one_sample_test(values: Sequence[float], mu: float = 0.0) -> PairedTest:
    """t-test of mean(values) against ``mu`` (effect = mean − mu)."""
    arr = _clean(values) - mu
    return _one_sample(arr, f"one-sample t-test vs {mu:g} (two-sided)")


def noninferiority_test(diff: Sequence[float], margin: float) -> PairedTest:
    """Is mean(diff) above ``−margin``? Effect and 95% CI are those of the mean difference; ``p_value`` is
    the one-sided t-test of H0: mean ≤ −margin, so "CI above −margin" ⇔ ``p < 0.025``."""
    from scipy import stats

    t = one_sample_test(diff, 0.0)
    arr = _clean(diff)
    p = math.nan
    if t.n >= 2 and float(arr.std(ddof=1)) > 0.0:
        p = float(stats.ttest_1samp(arr, -margin, alternative="greater").pvalue)
    elif t.n >= 2:
        p = 0.0 if t.effect > -margin else 1.0
    return PairedTest(t.effect, t.ci95_low, t.ci95_high, p, t.n,
                      f"non-inferiority, margin {margin:g}: one-sided t-test of H0 mean <= -{margin:g}")


def _one_sample(diff: np.ndarray, name: str) -> PairedTest:
    from scipy import stats

    n = int(diff.size)
    if n == 0:
        return PairedTest(math.nan, math.nan, math.nan, math.nan, 0, name)
    effect = float(diff.mean())
    if n < 2:
        return PairedTest(effect, math.nan, math.nan, math.nan, n, name)
    sd = float(diff.std(ddof=1))
    if sd == 0.0:
        p = 1.0 if effect == 0.0 else 0.0
        return PairedTest(effect, effect, effect, p, n, name)
    lo, hi = ci95_mean(diff)
    p = float(stats.ttest_1samp(diff, 0.0).pvalue)
    return PairedTest(effect, lo, hi, p, n, name)
