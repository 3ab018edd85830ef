"""Serving the training rows themselves reports no drift and no quality issue (issue 9.7).

Each dataset is logged with ``log_dataset``, its model with ``log_model`` (compiled to an
ONNX float32 model at deploy), the endpoint serves the exact training rows through the
deployment runtime in-process, and the window report compares what was logged (float32,
what the model received) with the training data (float64) in float32; a 0.1-std shift of
one column is still detected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.datasets import load_breast_cancer, make_classification

from conveyor.monitoring.drift import drift_report
from conveyor.monitoring.quality import quality_report
from conveyor.monitoring.report import WindowReport, window_report
from conveyor.monitoring.windows import Window, read_window

from .served import deploy, serve


def _prices(n: int = 1500) -> tuple[pd.DataFrame, np.ndarray]:
    """Prices with two decimals, quantities, a discount rate: what shops log."""
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(
        {
            "price": np.round(rng.uniform(0.5, 999.99, n), 2),
            "quantity": rng.integers(1, 40, n).astype(np.float64),
            "discount": np.round(rng.uniform(0, 0.6, n), 2),
            "shipping": np.round(rng.gamma(2.0, 4.5, n), 2),
        }
    )
    y = (frame["price"] * (1 - frame["discount"]) > 300).to_numpy().astype(int)
    return frame, y


def _breast_cancer() -> tuple[pd.DataFrame, np.ndarray]:
    data = load_breast_cancer(as_frame=True)
    frame = data.data.iloc[:, :12].copy()
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    return frame, data.target.to_numpy()


def _full_precision(n: int = 3000) -> tuple[pd.DataFrame, np.ndarray]:
    """Standardised features: every value uses all of a double's digits."""
    x, y = make_classification(n, n_features=6, n_informative=4, random_state=5)
    return pd.DataFrame(x, columns=[f"x{i}" for i in range(6)]), y


DATASETS = {"prices": _prices, "breast_cancer": _breast_cancer, "full_precision": _full_precision}


def _report(backend: Any, endpoint: str, window: Window, log_uri: Path) -> WindowReport:
    report = window_report(backend, endpoint, window, log_uri=str(log_uri))
    assert report.reference_error is None, report.reference_error
    assert report.drift is not None and report.quality is not None
    return report


@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_serving_the_training_rows_reports_no_drift_and_no_quality_issue(
    conveyor_home: Path, tmp_path: Path, dataset: str
) -> None:
    frame, y = DATASETS[dataset]()
    backend = deploy(dataset, frame, y)
    log_uri = tmp_path / "plog"
    window = serve(backend, f"{dataset}-api", frame, log_uri)

    logged = read_window(f"{dataset}-api", window, log_uri=str(log_uri)).inputs()
    for column in frame.columns:  # logged as the float32 model received them
        assert logged.schema.field(column).type == pa.float32(), column
        got = np.sort(logged.column(column).to_numpy())
        assert np.array_equal(got, np.sort(frame[column].to_numpy(np.float32))), column

    report = _report(backend, f"{dataset}-api", window, log_uri)
    assert report.drift.drifted_columns == [], report.drift.verdict()
    assert not report.drift.drifted and "No dataset drift" in report.drift.verdict()
    assert all(c.distance == 0 for c in report.drift.columns if c.method == "ks"), [
        (c.column, c.distance) for c in report.drift.columns
    ]
    assert report.quality.issues == [], [i.message for i in report.quality.issues]
    assert all(c.out_of_range_share == 0 for c in report.quality.columns)


def test_a_tenth_of_a_std_shift_is_still_detected(conveyor_home: Path, tmp_path: Path) -> None:
    frame, y = _full_precision(6000)
    backend = deploy("shifted", frame, y)
    served = frame.copy()
    served["x0"] = served["x0"] + 0.1 * frame["x0"].std()
    log_uri = tmp_path / "plog"
    window = serve(backend, "shifted-api", served, log_uri)

    report = _report(backend, "shifted-api", window, log_uri)
    assert report.drift.drifted_columns == ["x0"], report.drift.verdict()
    unchanged = {c.column: c.distance for c in report.drift.columns if c.column != "x0"}
    assert unchanged == dict.fromkeys(unchanged, 0.0)  # only the shifted column moved
    # the same verdict as comparing the two frames directly: no sensitivity is lost
    direct = drift_report(frame, served)
    assert direct.drifted_columns == ["x0"]
    got = {c.column: c.distance for c in report.drift.columns}
    assert got == pytest.approx({c.column: c.distance for c in direct.columns}, abs=1e-3)


def test_a_float32_side_is_compared_in_float32_and_float64_stays_exact() -> None:
    """The engines round the wider side to the narrower float type of a column."""
    frame, _ = _prices()
    served = pa.table({c: pa.array(frame[c].to_numpy(np.float32)) for c in frame.columns})
    drift = drift_report(frame, served)
    assert [c.distance for c in drift.columns] == [0.0] * len(frame.columns)
    quality = quality_report(frame, served)
    assert quality.issues == [] and all(c.out_of_range_share == 0 for c in quality.columns)
    # float64 on both sides: no rounding, a change in the 9th digit is still seen
    nudged = frame.assign(price=frame["price"] + 1e-9)
    assert drift_report(frame, nudged).columns[0].distance > 0
