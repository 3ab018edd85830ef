"""The rollout statistics against their reference implementations (scipy)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from conveyor.deployments.rollout_analysis import (
    RouteSample,
    Thresholds,
    analyse,
    bootstrap_diff,
    business_value_check,
    error_rate_check,
    latency_check,
    performance_check,
    shift_check,
)

RNG = np.random.default_rng(7)


def _sample(n: int, errors: int = 0, *, latency: float = 5.0, outputs=None, correct=None):
    return RouteSample(
        requests=n,
        errors=errors,
        latency_ms=RNG.gamma(4.0, latency / 4.0, n - errors),
        outputs=np.asarray(outputs if outputs is not None else RNG.integers(0, 2, n - errors)),
        correct=None if correct is None else np.asarray(correct, dtype=float),
    )


def test_two_proportion_z_equals_chi_square_without_correction() -> None:
    cand, prim = _sample(2000, 80), _sample(18000, 360)
    check = error_rate_check(cand, prim, Thresholds())
    table = [[80, 2000 - 80], [360, 18000 - 360]]
    chi2 = stats.chi2_contingency(table, correction=False)
    assert check.statistic is not None and check.p_value is not None
    assert check.statistic**2 == pytest.approx(chi2.statistic)
    assert check.p_value == pytest.approx(chi2.pvalue / 2)  # one-sided, z > 0
    assert check.verdict == "fail"  # 4% vs 2%: significant and beyond 0.5 pt
    same = error_rate_check(_sample(2000, 40), prim, Thresholds())
    assert same.verdict == "pass"
    small = error_rate_check(_sample(50, 40), prim, Thresholds())
    assert small.verdict == "insufficient" and "200 needed" in small.detail


def test_latency_uses_mann_whitney_and_p99_ratio() -> None:
    cand, prim = _sample(3000, latency=9.0), _sample(3000, latency=5.0)
    check = latency_check(cand, prim, Thresholds())
    ref = stats.mannwhitneyu(cand.latency_ms, prim.latency_ms, alternative="greater")
    assert check.p_value == pytest.approx(ref.pvalue)
    assert check.candidate == pytest.approx(np.percentile(cand.latency_ms, 99))
    assert check.verdict == "fail"
    equal = latency_check(_sample(3000), _sample(3000), Thresholds())
    assert equal.verdict == "pass"


def test_output_shift_ks_for_scores_and_chi_square_for_labels() -> None:
    a, b = RNG.normal(0, 1, 1000), RNG.normal(0.5, 1, 1000)
    check = shift_check(_sample(1000, outputs=a), _sample(1000, outputs=b), Thresholds())
    ref = stats.ks_2samp(a, b)
    assert check.statistic == pytest.approx(ref.statistic)
    assert check.p_value == pytest.approx(ref.pvalue)
    assert check.verdict == "fail"
    la = np.array(["yes"] * 700 + ["no"] * 300)
    lb = np.array(["yes"] * 400 + ["no"] * 600)
    labels = shift_check(_sample(1000, outputs=la), _sample(1000, outputs=lb), Thresholds())
    assert labels.effect == pytest.approx(0.3)
    ref2 = stats.chi2_contingency([[300, 700], [600, 400]], correction=False)
    assert labels.p_value == pytest.approx(ref2.pvalue) and labels.verdict == "fail"


def test_bootstrap_interval_matches_scipy() -> None:
    a = (RNG.random(3000) < 0.80).astype(float)
    b = (RNG.random(3000) < 0.84).astype(float)
    diff, low, high = bootstrap_diff(a, b, resamples=4000, confidence=0.95)
    ref = stats.bootstrap(
        (a, b), lambda x, y, axis: x.mean(axis=axis) - y.mean(axis=axis),
        n_resamples=4000, confidence_level=0.95, method="percentile", random_state=1,
    )  # fmt: skip
    assert diff == pytest.approx(a.mean() - b.mean())
    assert low == pytest.approx(ref.confidence_interval.low, abs=0.004)
    assert high == pytest.approx(ref.confidence_interval.high, abs=0.004)
    x, y = RNG.normal(0, 1, 800), RNG.normal(0.1, 1, 800)
    _, low2, high2 = bootstrap_diff(x, y, resamples=2000, confidence=0.95)
    ref2 = stats.bootstrap(
        (x, y), lambda p, q, axis: p.mean(axis=axis) - q.mean(axis=axis),
        n_resamples=2000, confidence_level=0.95, method="percentile", random_state=1,
    )  # fmt: skip
    assert low2 == pytest.approx(ref2.confidence_interval.low, abs=0.02)
    assert high2 == pytest.approx(ref2.confidence_interval.high, abs=0.02)


def test_performance_needs_labels_and_fails_when_clearly_worse() -> None:
    t = Thresholds()
    worse = performance_check(
        _sample(1000, correct=RNG.random(1000) < 0.7),
        _sample(1000, correct=RNG.random(1000) < 0.9), t,
    )  # fmt: skip
    assert worse.verdict == "fail" and worse.interval is not None and worse.interval[1] < 0
    none = performance_check(_sample(1000), _sample(1000), t)
    assert none.verdict == "insufficient" and not none.blocking
    strict = performance_check(_sample(1000), _sample(1000), Thresholds(require_labels=True))
    assert strict.blocking


def test_business_value_only_with_a_matrix() -> None:
    t = Thresholds()
    assert business_value_check(_sample(500), _sample(500), t) is None
    cand, prim = _sample(500), _sample(500)
    cand.value = np.where(RNG.random(400) < 0.5, 40.0, -40.0)
    prim.value = np.where(RNG.random(400) < 0.8, 40.0, -40.0)
    check = business_value_check(cand, prim, t)
    assert check is not None and check.verdict == "fail"
    assert [c.name for c in analyse(cand, prim, t).checks][-1] == "business_value"


def test_analyse_combines_fail_over_insufficient_over_pass() -> None:
    t = Thresholds()
    good = analyse(_sample(1000), _sample(1000), t)
    assert good.verdict == "pass", good.summary()  # missing labels do not block by default
    waiting = analyse(_sample(100), _sample(1000), t)
    assert waiting.verdict == "insufficient" and "error_rate" in waiting.waiting
    broken = analyse(_sample(100, 100, outputs=[]), _sample(1000), Thresholds(min_samples=50))
    assert broken.verdict == "fail" and broken.failed == ["error_rate"]
    assert broken.to_dict()["checks"][0]["verdict"] == "fail"


def test_route_samples_count_each_routes_logged_failures_and_the_rescues(tmp_path: Path) -> None:
    from conveyor.deployments.rollout_samples import route_samples
    from conveyor.monitoring.windows import Window, read_window
    from conveyor.serving.prediction_log import PredictionLog
    from conveyor.serving.predictor import Column, Signature

    sig, t0 = Signature([Column("x", "double")]), 1_795_773_600_000
    plog = PredictionLog(tmp_path)
    for i, (route, version) in enumerate(
        [("canary", "2")] * 5 + [("primary", "1")] * 4 + [("fallback", "1")]
    ):
        x = np.array([[float(i)]])
        plog.log("ep", version, route, [f"p{i}"], t0 + i, sig, x, np.array([0]), 1.0)
    for i, (route, status) in enumerate(
        [("canary", 422), ("canary", 503), ("primary", 503), (None, 400)]
    ):
        plog.log_failure("ep", "1", route, sig, t0 + 20 + i, 1.0, status, "refused")
    plog.close()
    data = read_window("ep", Window(t0, t0 + 1000), log_uri=str(tmp_path))
    cand, prim = route_samples(data)
    # canary: 5 answered + 2 failed + 1 rescued by the fallback; the unrouted 400: neither
    assert (cand.requests, cand.errors, len(cand.latency_ms)) == (8, 3, 5)
    assert (prim.requests, prim.errors, len(prim.latency_ms)) == (5, 1, 4)
