"""The statistics a rollout step is judged on: candidate route against primary route.

Each comparison returns a :class:`Check` whose verdict is ``pass``, ``fail`` or
``insufficient`` (fewer samples than its minimum: never a pass). A check fails only when
the difference is both *significant* (one-sided test at ``alpha``) and *large* (beyond its
tolerance), so a huge sample cannot fail a candidate over a harmless difference and a
small one cannot pass it by lack of evidence::

    error_rate     two-proportion z-test (pooled), candidate rate > primary rate + tolerance
    latency_p99    Mann-Whitney U (as Kayenta), candidate slower, and p99 ratio > max_ratio
    output_shift   two-sample KS (numeric outputs) or chi-square (labels), and effect
                   (KS statistic / total variation distance) > max_shift
    performance    bootstrap interval of (candidate - primary) accuracy or -|error|; fails
                   when the interval lies wholly below -max_drop
    business_value the same over the value of each labelled prediction (a value matrix);
                   only when the rollout declares one

:func:`analyse` runs them over two :class:`RouteSample` objects and combines the verdicts:
any ``fail`` fails the step, else any blocking ``insufficient`` holds it, else it passes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import stats

__all__ = [
    "Analysis",
    "Check",
    "RouteSample",
    "Thresholds",
    "analyse",
    "bootstrap_diff",
    "business_value_check",
    "error_rate_check",
    "latency_check",
    "performance_check",
    "shift_check",
]

Verdict = Literal["pass", "fail", "insufficient"]


@dataclass(frozen=True)
class Thresholds:
    """What each check tolerates; defaults explained in docs/rollouts.md."""

    alpha: float = 0.01
    min_samples: int = 200
    error_tolerance: float = 0.005
    latency_max_ratio: float = 1.2
    max_shift: float = 0.1
    min_labels: int = 200
    max_accuracy_drop: float = 0.01
    max_value_drop: float = 0.0
    confidence: float = 0.99
    bootstrap_resamples: int = 1000
    require_labels: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RouteSample:
    """What one route did in a step's window (one entry per logged row).

    ``errors``: failed requests attributed to the route; ``outputs``: served outputs (numbers
    or label text); ``correct``: per labelled row, 1/0 (classification) or -|error|."""

    requests: int
    errors: int
    latency_ms: np.ndarray
    outputs: np.ndarray
    correct: np.ndarray | None = None
    score: str = "accuracy"
    value: np.ndarray | None = None

    @property
    def labelled(self) -> int:
        return 0 if self.correct is None else len(self.correct)


@dataclass
class Check:
    """One comparison: its verdict and everything it was based on."""

    name: str
    verdict: Verdict
    samples: dict[str, int]
    threshold: dict[str, Any]
    statistic: float | None = None
    p_value: float | None = None
    effect: float | None = None
    candidate: float | None = None
    primary: float | None = None
    interval: list[float] | None = None
    blocking: bool = True
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: _finite(v) for k, v in asdict(self).items()}


def _finite(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, list):
        return [_finite(x) for x in v]
    return v


@dataclass
class Analysis:
    """All checks of one step window and the combined verdict."""

    verdict: Verdict
    checks: list[Check] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.checks if c.verdict == "fail"]

    @property
    def waiting(self) -> list[str]:
        return [c.name for c in self.checks if c.verdict == "insufficient" and c.blocking]

    def summary(self) -> str:
        if self.verdict == "fail":
            return "; ".join(c.detail for c in self.checks if c.verdict == "fail")
        if self.verdict == "insufficient":
            return "; ".join(
                c.detail for c in self.checks if c.verdict == "insufficient" and c.blocking
            )
        return "every check passed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "summary": self.summary(),
            "checks": [c.to_dict() for c in self.checks],
        }


def _short(name: str, need: int, got: dict[str, int], thr: dict[str, Any], **kw: Any) -> Check:
    least = min(got.values())
    return Check(
        name,
        "insufficient",
        got,
        thr,
        detail=f"{name}: {least} samples on the smaller route, {need} needed",
        **kw,
    )


def error_rate_check(cand: RouteSample, prim: RouteSample, t: Thresholds) -> Check:
    """Pooled two-proportion z-test, one-sided (candidate worse)."""
    n1, n2, e1, e2 = cand.requests, prim.requests, cand.errors, prim.errors
    thr = {"alpha": t.alpha, "tolerance": t.error_tolerance, "min_samples": t.min_samples}
    got = {"candidate": n1, "primary": n2}
    if min(n1, n2) < t.min_samples:
        return _short("error_rate", t.min_samples, got, thr)
    p1, p2 = e1 / n1, e2 / n2
    pooled = (e1 + e2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (p1 - p2) / se if se > 0 else 0.0
    p = float(stats.norm.sf(z))
    worse = p < t.alpha and p1 - p2 > t.error_tolerance
    return Check(
        "error_rate",
        "fail" if worse else "pass",
        got,
        thr,
        statistic=z,
        p_value=p,
        effect=p1 - p2,
        candidate=p1,
        primary=p2,
        detail=f"error rate {p1:.2%} vs {p2:.2%} (z={z:.2f}, p={p:.3g})",
    )


def _p99(values: np.ndarray) -> float:
    return float(np.percentile(values, 99))


def latency_check(cand: RouteSample, prim: RouteSample, t: Thresholds) -> Check:
    """Mann-Whitney U, one-sided (candidate slower), plus the p99 ratio as effect size."""
    a, b = cand.latency_ms, prim.latency_ms
    thr = {"alpha": t.alpha, "max_p99_ratio": t.latency_max_ratio, "min_samples": t.min_samples}
    got = {"candidate": len(a), "primary": len(b)}
    if min(len(a), len(b)) < t.min_samples:
        return _short("latency_p99", t.min_samples, got, thr)
    u, p = stats.mannwhitneyu(a, b, alternative="greater")
    p99a, p99b = _p99(a), _p99(b)
    ratio = p99a / p99b if p99b > 0 else (math.inf if p99a > 0 else 1.0)
    worse = float(p) < t.alpha and ratio > t.latency_max_ratio
    return Check(
        "latency_p99",
        "fail" if worse else "pass",
        got,
        thr,
        statistic=float(u),
        p_value=float(p),
        effect=ratio,
        candidate=p99a,
        primary=p99b,
        detail=f"p99 latency {p99a:.2f} ms vs {p99b:.2f} ms (x{ratio:.2f}, U p={float(p):.3g})",
    )


def _numeric(values: np.ndarray) -> np.ndarray | None:
    try:
        out = values.astype(np.float64)
    except (TypeError, ValueError):
        return None
    return out if np.isfinite(out).all() else None


def shift_check(cand: RouteSample, prim: RouteSample, t: Thresholds) -> Check:
    """Do the two routes answer the same traffic differently? KS for numeric outputs with
    many values, else chi-square over output values with total variation distance."""
    a, b = cand.outputs, prim.outputs
    thr = {"alpha": t.alpha, "max_shift": t.max_shift, "min_samples": t.min_samples}
    got = {"candidate": len(a), "primary": len(b)}
    if min(len(a), len(b)) < t.min_samples:
        return _short("output_shift", t.min_samples, got, thr)
    na, nb = _numeric(a), _numeric(b)
    if na is not None and nb is not None:
        values, inverse = np.unique(np.concatenate([na, nb]), return_inverse=True)
    else:
        values, inverse = np.unique(
            np.concatenate([a.astype(str), b.astype(str)]), return_inverse=True
        )
    if na is not None and nb is not None and len(values) > 20:
        res = stats.ks_2samp(na, nb)
        stat, p, effect, how = float(res.statistic), float(res.pvalue), float(res.statistic), "KS"
    else:
        ca = np.bincount(inverse[: len(a)], minlength=len(values))
        cb = np.bincount(inverse[len(a) :], minlength=len(values))
        effect = 0.5 * float(np.abs(ca / len(a) - cb / len(b)).sum())
        if len(values) < 2:
            stat, p = 0.0, 1.0
        else:
            res = stats.chi2_contingency(np.vstack([ca, cb]), correction=False)
            stat, p = float(res.statistic), float(res.pvalue)
        how = "chi-square, TVD"
    shifted = p < t.alpha and effect > t.max_shift
    return Check(
        "output_shift",
        "fail" if shifted else "pass",
        got,
        thr,
        statistic=stat,
        p_value=p,
        effect=effect,
        detail=f"prediction distributions differ by {effect:.3f} ({how}, p={p:.3g})",
    )


def bootstrap_diff(
    a: np.ndarray, b: np.ndarray, *, resamples: int, confidence: float, seed: int = 0
) -> tuple[float, float, float]:
    """Percentile bootstrap interval of ``mean(a) - mean(b)`` for independent samples:
    ``(difference, low, high)``. 0/1 samples are resampled exactly through binomial
    draws (the bootstrap distribution of a proportion); others by resampling rows."""
    rng = np.random.default_rng(seed)
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    means = []
    for x in (a, b):
        if np.isin(x, (0.0, 1.0)).all():
            means.append(rng.binomial(len(x), x.mean(), resamples) / len(x))
        else:
            chunk = max(1, 2_000_000 // max(len(x), 1))
            parts = [
                x[rng.integers(0, len(x), (min(chunk, resamples - i), len(x)))].mean(axis=1)
                for i in range(0, resamples, chunk)
            ]
            means.append(np.concatenate(parts))
    diffs = means[0] - means[1]
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(diffs, [tail, 100 - tail])
    return float(a.mean() - b.mean()), float(low), float(high)


def _interval_check(
    name: str,
    a: np.ndarray | None,
    b: np.ndarray | None,
    t: Thresholds,
    max_drop: float,
    what: str,
) -> Check:
    """Bootstrap interval of ``mean(a) - mean(b)``; fails when it lies wholly below
    ``-max_drop`` (the candidate is worse with ``confidence``)."""
    thr = {
        "confidence": t.confidence,
        "max_drop": max_drop,
        "min_labels": t.min_labels,
        "resamples": t.bootstrap_resamples,
    }
    got = {"candidate": 0 if a is None else len(a), "primary": 0 if b is None else len(b)}
    if a is None or b is None or min(got.values()) < t.min_labels:
        return _short(name, t.min_labels, got, thr, blocking=t.require_labels)
    diff, low, high = bootstrap_diff(a, b, resamples=t.bootstrap_resamples, confidence=t.confidence)
    ca, pa = float(np.mean(a)), float(np.mean(b))
    return Check(
        name,
        "fail" if high < -max_drop else "pass",
        got,
        thr,
        statistic=diff,
        effect=diff,
        candidate=ca,
        primary=pa,
        interval=[low, high],
        detail=f"{what} {ca:.4f} vs {pa:.4f} (difference {diff:+.4f}, "
        f"{t.confidence:.0%} interval [{low:+.4f}, {high:+.4f}])",
    )


def performance_check(cand: RouteSample, prim: RouteSample, t: Thresholds) -> Check:
    """Per-row score (accuracy, or -|error|) of the labelled rows, candidate vs primary."""
    return _interval_check(
        "performance", cand.correct, prim.correct, t, t.max_accuracy_drop, cand.score
    )


def business_value_check(cand: RouteSample, prim: RouteSample, t: Thresholds) -> Check | None:
    """Value per labelled prediction (the rollout's value matrix); None without one."""
    if cand.value is None and prim.value is None:
        return None
    return _interval_check(
        "business_value", cand.value, prim.value, t, t.max_value_drop, "value per prediction"
    )


CHECKS = (error_rate_check, latency_check, shift_check, performance_check, business_value_check)


def analyse(cand: RouteSample, prim: RouteSample, t: Thresholds) -> Analysis:
    """Every check over one window; fail beats insufficient beats pass."""
    checks = [c for check in CHECKS if (c := check(cand, prim, t)) is not None]
    if any(c.verdict == "fail" for c in checks):
        verdict: Verdict = "fail"
    elif any(c.verdict == "insufficient" and c.blocking for c in checks):
        verdict = "insufficient"
    else:
        verdict = "pass"
    return Analysis(verdict, checks)
