"""Each drift method against scipy's reference implementation on small data."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from scipy import spatial, stats

from conveyor.errors import Conflict, ValidationFailed
from conveyor.monitoring import (
    DriftMethod,
    Measurement,
    NumericSample,
    available_methods,
    drift_report,
    get_method,
    register_method,
)
from conveyor.monitoring.drift._binned import binned_ks
from conveyor.monitoring.drift.chisquare import chi2_homogeneity
from conveyor.monitoring.drift.jensenshannon import js_distance
from conveyor.monitoring.drift.ks import ks_pvalue, ks_statistic
from conveyor.monitoring.drift.psi import psi, quantile_bin_counts
from conveyor.monitoring.drift.wasserstein import wasserstein_sorted


def _pairs(rng: np.random.Generator, count: int = 60):
    for t in range(count):
        n, m = (int(x) for x in rng.integers(2, 400, size=2))
        if t % 3 == 0:  # heavy ties, different supports
            yield rng.integers(0, 5, n).astype(float), rng.integers(0, 7, m).astype(float)
        else:
            yield rng.normal(size=n), rng.normal(loc=rng.normal() * 0.3, size=m)


def test_ks_statistic_and_pvalue_match_scipy() -> None:
    rng = np.random.default_rng(1)
    for a, b in _pairs(rng):
        d = ks_statistic(np.sort(a), np.sort(b))
        ref = stats.ks_2samp(a, b, method="asymp")
        assert d == pytest.approx(ref.statistic, abs=1e-12)
        assert ks_pvalue(d, a.size, b.size) == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-12)


def test_ks_pvalue_large_samples_is_close_and_conservative() -> None:
    for en, d in [(5_000, 0.02), (20_000, 0.012), (50_000, 0.008)]:
        exact = float(stats.kstwo.sf(d, en))
        ours = ks_pvalue(d, 2 * en, 2 * en)
        assert exact <= ours <= exact * 1.05


def test_binned_ks_is_within_its_error_bound() -> None:
    rng = np.random.default_rng(2)
    for shift in (0.0, 0.05, 0.3):
        a = rng.normal(size=300_000)
        b = rng.normal(loc=shift, scale=1.1, size=250_000)
        exact = ks_statistic(np.sort(a), np.sort(b))
        result = binned_ks(a, b)
        assert result is not None
        d, err = result
        assert d <= exact + 1e-12 <= d + err + 1e-12
        assert err < 1e-3


def test_large_ks_in_report_matches_exact_within_bound() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=150_000), rng.normal(loc=0.01, size=150_000)
    report = drift_report(pa.table({"x": a}), pa.table({"x": b}))
    col = report.column("x")
    assert col.details["exact"] is False
    exact = stats.ks_2samp(a, b).statistic
    assert col.statistic is not None
    assert col.statistic <= exact <= col.statistic + col.details["max_error"]


def test_wasserstein_matches_scipy() -> None:
    rng = np.random.default_rng(4)
    for a, b in _pairs(rng):
        ours = wasserstein_sorted(np.sort(a), np.sort(b))
        assert ours == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-9, abs=1e-12)


def test_wasserstein_method_is_normalised_by_reference_std() -> None:
    rng = np.random.default_rng(5)
    a = rng.normal(scale=3.0, size=5000)
    m = get_method("numeric", "wasserstein").measure(
        NumericSample.from_values(a), NumericSample.from_values(a + 1.5)
    )
    assert m.distance == pytest.approx(1.5 / np.std(a), rel=1e-9)


def test_chisquare_matches_scipy_contingency() -> None:
    rng = np.random.default_rng(6)
    for _ in range(40):
        k = int(rng.integers(2, 8))
        ref = rng.integers(1, 500, k).astype(float)
        cur = rng.integers(1, 500, k).astype(float)
        stat, p, dof = chi2_homogeneity(ref, cur)
        expected = stats.chi2_contingency(np.vstack([ref, cur]), correction=False)
        assert stat == pytest.approx(expected.statistic, rel=1e-9)
        assert p == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-15)
        assert dof == expected.dof
        # the same statistic as scipy.stats.chisquare on the flattened table
        e = np.outer([ref.sum(), cur.sum()], ref + cur) / (ref.sum() + cur.sum())
        flat = stats.chisquare(np.concatenate([ref, cur]), e.ravel(), ddof=k)
        assert stat == pytest.approx(flat.statistic, rel=1e-9)


def test_jensen_shannon_matches_scipy() -> None:
    rng = np.random.default_rng(7)
    for _ in range(40):
        k = int(rng.integers(2, 9))
        ref = rng.integers(0, 100, k).astype(float) + 1
        cur = rng.integers(0, 100, k).astype(float)
        expected = spatial.distance.jensenshannon(ref, cur, base=2)
        assert js_distance(ref, cur) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_psi_uses_reference_deciles_and_epsilon() -> None:
    rng = np.random.default_rng(8)
    a = np.sort(rng.normal(size=10_000))
    ref, cur, cuts = quantile_bin_counts(a, np.sort(a + 0.5))
    assert cuts.size == 9 and np.all(ref == 1000)
    p, q = ref / ref.sum(), cur / cur.sum()
    assert psi(ref, cur) == pytest.approx(float(np.sum((q - p) * np.log(q / p))))
    # an empty bin is floored at eps=1e-4 instead of giving infinity
    assert np.isfinite(psi(np.array([100.0, 0.0]), np.array([50.0, 50.0])))


def test_registry_lists_builtins_and_accepts_plugins() -> None:
    methods = available_methods()
    assert methods["numeric"] == ["ks", "psi", "wasserstein"]
    assert methods["categorical"] == ["chisquare", "jensenshannon", "psi"]

    class MeanShift(DriftMethod):
        name = "test_mean_shift"
        kind = "numeric"
        default_threshold = 0.25

        def measure(self, reference: NumericSample, current: NumericSample) -> Measurement:
            d = abs(float(current.values.mean() - reference.values.mean()))
            return Measurement(statistic=d, distance=d)

    register_method(MeanShift(), replace=True)
    with pytest.raises(Conflict):
        register_method(MeanShift())
    rng = np.random.default_rng(9)
    report = drift_report(
        pa.table({"x": rng.normal(size=500)}),
        pa.table({"x": rng.normal(loc=1.0, size=500)}),
        methods={"x": "test_mean_shift"},
    )
    assert report.column("x").method == "test_mean_shift"
    assert report.column("x").drifted
    with pytest.raises(ValidationFailed, match="available"):
        get_method("numeric", "nope")
