"""The verdict rules every claim is decided by, written once: sign, one-sided non-inferiority, all-of,
threshold and interior optimum.

A rule maps a statistic to ``holds``, ``does not hold`` or ``inconclusive`` (see
:mod:`metasnn.reporting.claims`); the paper modules (``sn22``, ``dsp``, ``wu22``, ...) only pick the
rule and the data a claim rests on. Conventions (α = 0.05):

* **sign** — a directional paired / one-sample t-test (two-sided p): holds when p < α and the effect
  has the claimed sign, does not hold when p < α the other way, else inconclusive.
* **non-inferiority** (margin m) — "about equal" / "costs little": holds when the 95% t-CI of the
  mean difference lies above −m (⇔ the one-sided p of H0 mean ≤ −m is below α/2), does not hold
  when the CI lies below −m, else inconclusive. :func:`metasnn.evaluation.statistics.noninferiority_test`
  is the one statistic behind it.
* **all-of** — a claim made of several parts (an intersection-union test): holds when every part
  holds, does not hold when any part does not hold, else inconclusive. The *deciding* part reported
  with the verdict is the weakest part (largest p relative to its own threshold) when all hold,
  else the first that does not hold, else the first inconclusive one.
* **threshold** — a deterministic quantity: holds at or above ``holds_at``, does not hold below
  ``fails_below``, inconclusive in between.
* **interior optimum** — "performance peaks at an intermediate setting": the best setting (highest
  mean; ties to the smaller setting) is interior and beats both ends (all-of two sign tests); when
  the best is an end, the best interior setting is tested against it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from metasnn.evaluation.statistics import PairedTest, noninferiority_test, paired_test

__all__ = [
    "ALPHA", "HOLDS", "FAILS", "INCONCLUSIVE", "Part", "InteriorOptimum", "decidable", "sign",
    "noninferiority", "all_of", "threshold", "sign_part", "noninferiority_part", "deciding", "combine",
    "best_setting", "interior_optimum",
]

ALPHA = 0.05
HOLDS, FAILS, INCONCLUSIVE = "holds", "does not hold", "inconclusive"
NONINFERIORITY_TEST = ("non-inferiority, margin {m:g} points: 95% t-CI of the mean difference vs -{m:g} "
                       "(p: one-sided t-test of H0 mean <= -{m:g})")


def decidable(t: PairedTest) -> bool:
    """A test can decide anything only with n ≥ 2 and a finite p-value."""
    return t.n >= 2 and t.p_value is not None and math.isfinite(t.p_value)


def sign(t: PairedTest, direction: int = +1, alpha: float = ALPHA) -> str:
    """Sign rule: ``holds`` when p < α and ``direction * effect > 0``; ``does not hold`` when p < α the
    other way; ``inconclusive`` otherwise (including n < 2 or an undefined p)."""
    if not decidable(t):
        return INCONCLUSIVE
    if t.p_value < alpha:
        return HOLDS if direction * t.effect > 0 else FAILS
    return INCONCLUSIVE


def noninferiority(t: PairedTest, margin: float) -> str:
    """Non-inferiority rule on the statistic of :func:`noninferiority_test` (effect and 95% CI of the mean
    difference): ``holds`` when the CI lies above −margin, ``does not hold`` when it lies below."""
    if t.n < 2 or not (math.isfinite(t.ci95_low) and math.isfinite(t.ci95_high)):
        return INCONCLUSIVE
    if t.ci95_low > -margin:
        return HOLDS
    if t.ci95_high < -margin:
        return FAILS
    return INCONCLUSIVE


def all_of(verdicts: Iterable[str]) -> str:
    """All-of rule: ``holds`` when every part holds, ``does not hold`` when any does not, else inconclusive
    (also for no parts at all: nothing was tested)."""
    verdicts = list(verdicts)
    if not verdicts:
        return INCONCLUSIVE
    if FAILS in verdicts:
        return FAILS
    if all(v == HOLDS for v in verdicts):
        return HOLDS
    return INCONCLUSIVE


def threshold(value: float, *, holds_at: float, fails_below: float) -> str:
    """Threshold rule for a deterministic quantity: holds when ``value >= holds_at``, does not hold when
    ``value < fails_below``, inconclusive in between (or when ``value`` is not finite)."""
    if not math.isfinite(value):
        return INCONCLUSIVE
    if value >= holds_at:
        return HOLDS
    if value < fails_below:
        return FAILS
    return INCONCLUSIVE


@dataclass(frozen=True)
class Part:
    """One part of an all-of claim: a named test, its verdict, the claimed direction, and the p-value
    threshold at which it holds (``alpha``: α for a two-sided sign test, α/2 for the one-sided
    non-inferiority p)."""

    name: str
    test: PairedTest
    verdict: str
    direction: int = +1
    alpha: float = ALPHA


def sign_part(name: str, test: PairedTest, direction: int = +1, alpha: float = ALPHA) -> Part:
    return Part(name, test, sign(test, direction, alpha), direction, alpha)


def noninferiority_part(name: str, diff: Sequence[float], margin: float) -> Part:
    """Non-inferiority of ``diff`` (e.g. new − reference, per seed) at ``margin``."""
    t = replace(noninferiority_test(diff, margin), test=NONINFERIORITY_TEST.format(m=margin))
    return Part(name, t, noninferiority(t, margin), +1, ALPHA / 2)


def deciding(parts: Sequence[Part]) -> int:
    """Index of the part an all-of verdict is reported with (see the module docstring)."""
    if not parts:
        raise ValueError("an all-of claim needs at least one part")
    verdicts = [p.verdict for p in parts]
    overall = all_of(verdicts)
    if overall == HOLDS:
        return int(np.argmax([p.test.p_value / p.alpha for p in parts]))
    if overall == FAILS:
        return verdicts.index(FAILS)
    return next(i for i, v in enumerate(verdicts) if v != HOLDS)


def combine(parts: Sequence[Part]) -> tuple[str, Part]:
    """All-of verdict of ``parts`` and the deciding part."""
    return all_of(p.verdict for p in parts), parts[deciding(parts)]


def best_setting(acc: Mapping[float, Sequence[float]]) -> float:
    """The setting with the highest mean (ties: the smaller setting)."""
    return max(sorted(acc), key=lambda x: (float(np.mean(acc[x])), -x))


@dataclass(frozen=True)
class InteriorOptimum:
    """Outcome of the interior-optimum rule on per-setting paired values.

    ``best``: the best setting; ``interior``: whether it lies strictly inside the range; ``parts``:
    best − each end (interior best), or best interior − best (best at an end; empty with fewer than
    3 settings); ``verdict``: the rule's verdict."""

    best: float
    interior: bool
    parts: tuple[Part, ...]
    verdict: str
    best_interior: float | None = None  # best at an end: the interior setting tested against it


def interior_optimum(acc: Mapping[float, Sequence[float]], *, label: str = "{a:g} − {b:g}") -> InteriorOptimum:
    """Interior-optimum rule. ``acc``: setting -> values over the same units (seeds), paired by index.
    ``label``: part names, formatted with ``a`` (minuend) and ``b`` (subtrahend) settings."""
    xs = sorted(acc)
    best = best_setting(acc)
    if best not in (xs[0], xs[-1]):
        parts = tuple(sign_part(label.format(a=best, b=end), paired_test(acc[best], acc[end]), +1)
                      for end in (xs[0], xs[-1]))
        return InteriorOptimum(best, True, parts, all_of(p.verdict for p in parts))
    inner = xs[1:-1]
    if not inner:
        return InteriorOptimum(best, False, (), INCONCLUSIVE)
    best_inner = max(inner, key=lambda x: np.mean(acc[x]))
    part = sign_part(label.format(a=best_inner, b=best), paired_test(acc[best_inner], acc[best]), +1)
    return InteriorOptimum(best, False, (part,), part.verdict, best_inner)
