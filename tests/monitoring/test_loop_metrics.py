"""Performance (against sklearn.metrics), business value and operational figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from conveyor.monitoring.business import ValueMatrix, business_value
from conveyor.monitoring.operational import operational_report
from conveyor.monitoring.performance import (
    calibration,
    classification_metrics,
    performance_report,
    regression_metrics,
)
from conveyor.monitoring.windows import Window, WindowData, read_window

from .test_loop_helpers import ENDPOINT, T0, write_log


def _window(path: Path, **kwargs: object) -> WindowData:
    write_log(path, **kwargs)  # type: ignore[arg-type]
    return read_window(ENDPOINT, Window(T0, T0 + 3_600_000), log_uri=str(path))


def _table(outputs: list[object], labels: list[object | None], **extra: list[object]) -> WindowData:
    n = len(outputs)
    cols = {
        "prediction_id": [f"p{i}" for i in range(n)],
        "ts": pa.array([T0 + i for i in range(n)], pa.timestamp("ms", "UTC")),
        "model_version": extra.pop("model_version", ["1"] * n),
        "route": extra.pop("route", ["primary"] * n),
        "latency_ms": extra.pop("latency_ms", [1.0] * n),
        "output": [json.dumps(o) for o in outputs],
        "label": [None if v is None else json.dumps(v) for v in labels],
        **extra,
    }
    return WindowData(ENDPOINT, Window(T0, T0 + 10_000), pa.table(cols), "ok")


def test_binary_scores_match_sklearn(tmp_path: Path) -> None:
    data = _window(tmp_path)
    rep = performance_report(data)
    t = data.table
    mask = np.array([v is not None for v in t.column("label").to_pylist()])
    y = np.array([int(v) for v in t.column("label").to_pylist() if v is not None])
    s = t.column("output_num").to_numpy()[mask]
    pred = (s >= 0.5).astype(int)
    m = rep.overall.metrics
    assert rep.task == "classification" and rep.status == "ok"
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["precision"] == pytest.approx(skm.precision_score(y, pred))
    assert m["recall"] == pytest.approx(skm.recall_score(y, pred))
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert m["auc"] == pytest.approx(skm.roc_auc_score(y, s))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, s), rel=1e-9)
    assert rep.overall.label_coverage == pytest.approx(mask.mean())
    # per version and per route, each on its own rows
    v2 = next(g for g in rep.by_version if g.value == "2")
    vmask = mask & (np.array(t.column("model_version").to_pylist()) == "2")
    y2 = np.array([int(v) for v in np.array(t.column("label").to_pylist())[vmask]])
    s2 = t.column("output_num").to_numpy()[vmask]
    assert v2.metrics["auc"] == pytest.approx(skm.roc_auc_score(y2, s2))
    assert {g.value for g in rep.by_route} == {"primary", "canary"}


def test_calibration_bins_and_ece() -> None:
    rng = np.random.default_rng(3)
    p = rng.random(5000)
    y = (rng.random(5000) < p).astype(int)
    cal = calibration(y, p, n_bins=10)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    bins = [b for b in cal["bins"] if b["count"]]
    np.testing.assert_allclose([b["positive_rate"] for b in bins], prob_true)
    np.testing.assert_allclose([b["mean_score"] for b in bins], prob_pred)
    counts = np.array([b["count"] for b in bins])
    assert cal["ece"] == pytest.approx(np.sum(counts / 5000 * np.abs(prob_true - prob_pred)))
    assert cal["ece"] < 0.05  # calibrated by construction


def test_multiclass_probabilities_match_sklearn() -> None:
    rng = np.random.default_rng(1)
    proba = rng.dirichlet([1, 1, 1], size=300)
    y = np.array([rng.choice(3, p=row) for row in proba])
    m = classification_metrics(y, proba.argmax(axis=1), proba, classes=[0, 1, 2])
    pred = proba.argmax(axis=1)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert m["precision"] == pytest.approx(skm.precision_score(y, pred, average="macro"))
    assert m["auc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr"))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, proba))
    # the same through a window whose outputs are probability lists and labels strings
    names = np.array(["a", "b", "c"])
    data = _table(proba.tolist(), names[y].tolist())
    rep = performance_report(data, classes=["a", "b", "c"])
    assert rep.overall.metrics["auc"] == pytest.approx(m["auc"])


def test_string_labels_without_scores() -> None:
    data = _table(["yes", "no", "yes", "no"], ["yes", "yes", "yes", None])
    rep = performance_report(data)
    m = rep.overall.metrics
    assert rep.overall.labelled == 3 and rep.overall.label_coverage == 0.75
    assert m["accuracy"] == pytest.approx(2 / 3)
    assert m["positive"] == "yes" and m["recall"] == pytest.approx(2 / 3)
    assert "auc" not in m


def test_regression_matches_sklearn() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(50, 10, 200)
    p = y + rng.normal(0, 3, 200)
    data = _table(p.tolist(), y.tolist())
    rep = performance_report(data)
    m = rep.overall.metrics
    assert rep.task == "regression"
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(y, p))
    assert m["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, p)))
    assert m["r2"] == pytest.approx(skm.r2_score(y, p))
    assert regression_metrics(np.ones(3), np.ones(3))["r2"] is None  # constant labels


def test_no_labels_is_insufficient_data_not_nan(tmp_path: Path) -> None:
    data = _window(tmp_path, label_share=0.0)
    rep = performance_report(data)
    assert rep.status == "insufficient_data"
    assert rep.overall.label_coverage == 0.0 and rep.overall.metrics == {}
    assert "no labels" in str(rep.overall.reason)
    assert all(g.status == "insufficient_data" for g in rep.by_version)
    empty = read_window(ENDPOINT, Window(T0 - 10, T0), log_uri=str(tmp_path))
    assert performance_report(empty).overall.reason == "no predictions in the window"
    assert business_value(empty, ValueMatrix(tp=1)).status == "insufficient_data"
    assert operational_report(empty).status == "insufficient_data"


def test_business_value_matrix_and_baselines() -> None:
    # predictions: scores -> positive at 0.5; labels 0/1
    outputs = [0.9, 0.8, 0.2, 0.1, 0.7, 0.3]
    labels: list[object | None] = [1, 0, 1, 0, 1, None]
    data = _table(outputs, labels, model_version=["1", "1", "2", "2", "2", "2"])
    matrix = ValueMatrix(tp=100.0, tn=0.0, fp=-10.0, fn=-100.0)
    rep = business_value(data, matrix)
    o = rep.overall
    assert o.counts == {"tp": 2, "tn": 1, "fp": 1, "fn": 1}
    assert o.total == pytest.approx(2 * 100 - 10 - 100)
    assert o.per_prediction == pytest.approx(90 / 5)
    assert o.baseline_total == pytest.approx(3 * -100.0)  # predict nothing: every positive missed
    assert o.uplift == pytest.approx(90 + 300)
    assert o.label_coverage == pytest.approx(5 / 6)
    v2 = next(g for g in rep.by_version if g.value == "2")
    assert v2.counts == {"tp": 1, "tn": 1, "fp": 0, "fn": 1} and v2.total == pytest.approx(0.0)
    every = business_value(data, matrix, baseline="predict_all").overall
    assert every.baseline_total == pytest.approx(3 * 100 + 2 * -10)


def test_business_value_function_with_row_access() -> None:
    data = _table([0.9, 0.2], [1, 1], input_amount=[250.0, 40.0])

    def value(prediction: float, label: int, row: dict[str, object]) -> float:
        amount = float(row["input_amount"])  # type: ignore[arg-type]
        return amount if (prediction >= 0.5) == bool(label) else -amount

    rep = business_value(data, value, baseline=lambda label, row: 0.0)
    assert rep.overall.total == pytest.approx(250 - 40)
    assert rep.overall.baseline_total == 0.0 and rep.baseline == "custom"


def test_operational_percentiles_and_throughput(tmp_path: Path) -> None:
    log = write_log(tmp_path, n_requests=100, rows_per_request=4)
    window = Window(T0, T0 + 1_000_000)
    data = read_window(ENDPOINT, window, log_uri=str(tmp_path))
    rep = operational_report(data)
    per_request = np.array(log.latency[::4])
    assert rep.requests == 100 and rep.rows == 400
    for q in (50, 95, 99):
        assert rep.latency_ms[f"p{q}"] == pytest.approx(np.percentile(per_request, q))
    assert rep.throughput_rps == pytest.approx(100 / 1000)
    assert rep.throughput_rows_per_s == pytest.approx(400 / 1000)
    assert rep.fallback_rate == 0.0
    assert rep.error_rate == 0.0 and rep.error_source.startswith("prediction log")
    assert rep.by_version["2"]["requests"] == 25
    assert rep.metric("latency.p99") == rep.latency_ms["p99"]
    answered = _table([1, 2, 3], [None] * 3, route=["primary", "fallback", "primary"])
    answered.failures = pa.table(
        {"model_version": ["1"] * 3, "route": ["primary", None, "primary"],
         "status": pa.array([503, 422, 500], pa.int32())}
    )  # fmt: skip
    rep2 = operational_report(answered)  # 3 answered + 3 failed requests; the fallback's: ok
    assert rep2.error_rate == 2 / 6 and rep2.client_error_rate == 1 / 6
    assert rep2.fallback_rate == 1 / 3 and rep2.metric("error_rate") == 2 / 6


def test_numeric_columns_and_json_give_the_same_figures(tmp_path: Path) -> None:
    data = _window(tmp_path)
    table = data.table
    as_json = WindowData(
        ENDPOINT, data.window, table.drop_columns(["label_num", "output_num"]), "ok"
    )
    fast, slow = performance_report(data), performance_report(as_json)
    for name in ("accuracy", "f1", "auc", "log_loss", "ece"):
        assert fast.overall.metrics[name] == pytest.approx(slow.overall.metrics[name])
    matrix = ValueMatrix(tp=5, fp=-1, fn=-5)
    a, b = business_value(data, matrix).to_dict(), business_value(as_json, matrix).to_dict()
    assert a["overall"] == b["overall"] and a["by_route"] == b["by_route"]


def test_regression_single_output_column_is_not_broadcast() -> None:
    rng = np.random.default_rng(5)
    y = rng.normal(50, 10, 300)
    p = y + rng.normal(0, 3, 300)
    m = regression_metrics(y, p.reshape(-1, 1))  # (n, 1) against (n,)
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(y, p))
    assert m["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, p)))
    assert m["r2"] == pytest.approx(skm.r2_score(y, p))
    with pytest.raises(ValueError, match=r"shape \(300, 2\)"):
        regression_metrics(y, np.column_stack([p, p]))
    with pytest.raises(ValueError, match="299 predictions for 300 labels"):
        regression_metrics(y, p[:-1])
    # a two-output regressor forced to regression: insufficient_data with the reason
    rep = performance_report(_table([[v, v] for v in p[:50]], y[:50].tolist()), task="regression")
    assert rep.status == "insufficient_data"
    assert "one number per row" in str(rep.overall.reason)


def test_one_element_list_outputs_of_older_servers_are_regression() -> None:
    rng = np.random.default_rng(6)
    y = np.round(rng.normal(50, 10, 3000), 2)
    p = np.round(y + rng.normal(0, 3, 3000), 2)
    # older servers logged a single-output regressor as "[48.78]" with output_num null
    data = _table(
        [[v] for v in p.tolist()],
        y.tolist(),
        output_num=pa.nulls(3000, pa.float64()),
        label_num=pa.array(y),
    )
    rep = performance_report(data)
    m = rep.overall.metrics
    assert rep.task == "regression" and rep.status == "ok", rep.overall.reason
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(y, p))
    assert m["r2"] == pytest.approx(skm.r2_score(y, p))
    assert rep.by_version[0].metrics["rmse"] == pytest.approx(m["rmse"])


def test_value_matrix_with_an_unknown_key_names_it_and_the_accepted_ones() -> None:
    from conveyor.errors import ValidationFailed
    from conveyor.monitoring.business import value_from_options

    with pytest.raises(ValidationFailed, match=r"unknown key\(s\) \['xx'\]; accepted keys: \['tp'"):
        value_from_options({"value_matrix": {"tp": 1, "xx": 2}})
    with pytest.raises(ValidationFailed, match=r"value_matrix.fp must be a finite number"):
        value_from_options({"value_matrix": {"fp": "a lot"}})
    with pytest.raises(ValidationFailed, match="must be a mapping"):
        value_from_options({"value_matrix": [1, 2]})
    data = _table([1, 0], [1, 1])
    with pytest.raises(ValidationFailed, match=r"\['xx'\]"):
        business_value(data, {"tp": 1, "xx": 2})
    assert value_from_options({"value_matrix": {"tp": 1, "fn": -1}})[0] == ValueMatrix(tp=1, fn=-1)
