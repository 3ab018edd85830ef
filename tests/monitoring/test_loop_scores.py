"""ROC AUC, log loss and calibration from the logged class probabilities (``proba``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

import conveyor
from conveyor._util import now_ms
from conveyor.monitoring.monitors import compute_metric
from conveyor.monitoring.performance import calibration, performance_report
from conveyor.monitoring.service import window_report
from conveyor.monitoring.windows import Window, WindowData, read_window

from .test_loop_cli import root as cli_root
from .test_loop_helpers import ENDPOINT, T0, write_feedback, write_predictions

HOUR = Window(T0, T0 + 3_600_000)


def _model(classes: list[Any], seed: int = 0) -> tuple[LogisticRegression, np.ndarray]:
    """A real sklearn classifier over noisy blobs, and the inputs it will serve."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=1.5, size=(len(classes), 2))
    y_idx = rng.integers(len(classes), size=900)
    x = centers[y_idx] + rng.normal(size=(900, 2))
    model = LogisticRegression().fit(x[:500], np.asarray(classes)[y_idx[:500]])
    return model, x[500:]


def _serve(
    root: Path,
    model: LogisticRegression,
    x: np.ndarray,
    *,
    version: str = "1",
    route: str = "primary",
    logged: str = "proba",
    start_ms: int = T0,
    seed: int = 0,
) -> dict[str, Any]:
    """Log the model's labels for ``x`` with its probabilities (``logged="proba"``), a null
    ``proba`` column (``"null"``: a model without them) or none (``"absent"``: an older
    file); label 80% of the rows with a class drawn from the model's own probabilities.
    Returns what the metrics should see."""
    rng = np.random.default_rng(seed)
    proba = model.predict_proba(x)
    outputs = model.predict(x).tolist()
    column = {"proba": proba, "null": [None] * len(x), "absent": None}[logged]
    ids = write_predictions(
        root, outputs, proba=column, version=version, route=route, start_ms=start_ms
    )
    truth = [model.classes_[rng.choice(len(model.classes_), p=p)].item() for p in proba]
    labelled = rng.random(len(ids)) < 0.8
    write_feedback(
        root, {i: t for i, t, k in zip(ids, truth, labelled, strict=True) if k}, start_ms + 10**6
    )
    return {
        "ids": ids,
        "y": np.asarray(truth)[labelled],
        "pred": np.asarray(outputs)[labelled],
        "proba": proba[labelled],
        "classes": model.classes_.tolist(),
    }


def _metrics(data: WindowData, **kwargs: Any) -> dict[str, Any]:
    rep = performance_report(data, **kwargs)
    assert rep.status == "ok", rep.overall.reason
    return rep.overall.metrics


@pytest.mark.parametrize(
    "classes", [[0, 1], ["no", "yes"], ["cat", "dog", "fox"]], ids=["int", "str", "multi"]
)
def test_scores_from_logged_probabilities_match_sklearn(tmp_path: Path, classes: list[Any]) -> None:
    model, x = _model(classes)
    exp = _serve(tmp_path, model, x)
    data = read_window(ENDPOINT, HOUR, log_uri=str(tmp_path))
    assert data.table.column("prediction_id").to_pylist() == exp["ids"]
    m = _metrics(data)
    y, pred, p = exp["y"], exp["pred"], exp["proba"]
    binary = len(classes) == 2
    average = "binary" if binary else "macro"
    pos = {"pos_label": classes[1]} if binary else {}
    assert m["classes"] == classes and m["class_order"] == "inferred"
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["precision"] == pytest.approx(skm.precision_score(y, pred, average=average, **pos))
    assert m["recall"] == pytest.approx(skm.recall_score(y, pred, average=average, **pos))
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred, average=average, **pos))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, p, labels=classes), rel=1e-9)
    if binary:
        hit = y == classes[1]
        assert m["positive"] == classes[1]
        assert m["auc"] == pytest.approx(skm.roc_auc_score(hit, p[:, 1]))
        assert m["ece"] == pytest.approx(calibration(hit, p[:, 1])["ece"])
    else:
        assert m["auc"] == pytest.approx(skm.roc_auc_score(y, p, multi_class="ovr", labels=classes))
        top = p.argmax(axis=1)
        hit = np.asarray(classes)[top] == y
        assert m["ece"] == pytest.approx(calibration(hit, p.max(axis=1))["ece"])
    assert sum(b["count"] for b in m["calibration_bins"]) == len(y)
    # the monitor metric is the same figure
    assert compute_metric("performance.auc", data).value == pytest.approx(m["auc"])


@pytest.mark.parametrize("old", ["absent", "null"])
def test_versions_with_and_without_probabilities(tmp_path: Path, old: str) -> None:
    model, x = _model(["no", "yes"], seed=1)
    # version 1: a file written before probabilities were logged, or a model without them
    v1 = _serve(tmp_path, model, x[:200], logged=old, seed=1)
    v2 = _serve(tmp_path, model, x[200:], version="2", route="canary", start_ms=T0 + 10_000)
    data = read_window(ENDPOINT, HOUR, log_uri=str(tmp_path))
    proba = data.table.column("proba")
    assert proba.null_count == 200 and proba.type.value_type.bit_width == 64
    rep = performance_report(data)
    overall = rep.overall.metrics
    y = np.concatenate([v1["y"], v2["y"]])
    pred = np.concatenate([v1["pred"], v2["pred"]])
    assert overall["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert overall["auc"] is None and overall["log_loss"] is None and overall["ece"] is None
    assert f"logged for {len(v2['y'])} of {len(y)} labelled" in overall["proba_reason"]
    by_version = {g.value: g.metrics for g in rep.by_version}
    assert "auc" not in by_version["1"] and "proba_reason" not in by_version["1"]
    assert by_version["1"]["accuracy"] == pytest.approx(skm.accuracy_score(v1["y"], v1["pred"]))
    hit = v2["y"] == "yes"
    assert by_version["2"]["auc"] == pytest.approx(skm.roc_auc_score(hit, v2["proba"][:, 1]))
    assert by_version["2"]["log_loss"] == pytest.approx(
        skm.log_loss(v2["y"], v2["proba"], labels=["no", "yes"])
    )
    canary = next(g for g in rep.by_route if g.value == "canary")
    assert canary.metrics["auc"] == by_version["2"]["auc"]
    monitored = compute_metric("performance.auc", data)
    assert monitored.status == "insufficient_data" and monitored.value is None
    assert monitored.reason == f"performance.auc: {overall['proba_reason']}"


def test_logs_without_the_column_still_read(tmp_path: Path) -> None:
    model, x = _model([0, 1], seed=2)
    exp = _serve(tmp_path, model, x, logged="absent")
    data = read_window(ENDPOINT, HOUR, log_uri=str(tmp_path))
    assert "proba" not in data.table.column_names and data.num_rows == len(x)
    m = _metrics(data)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(exp["y"], exp["pred"]))
    assert "auc" not in m and "proba_reason" not in m


def _window(
    root: Path, outputs: list[Any], proba: list[list[float]], labels: list[Any]
) -> WindowData:
    ids = write_predictions(root, outputs, proba=proba)
    write_feedback(root, dict(zip(ids, labels, strict=True)), T0 + 10**6)
    return read_window(ENDPOINT, HOUR, log_uri=str(root))


def test_column_never_the_argmax_takes_the_remaining_label(tmp_path: Path) -> None:
    proba = [[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.7, 0.3]]
    data = _window(tmp_path, ["no"] * 4, proba, ["no", "yes", "yes", "no"])
    m = _metrics(data)
    y = np.array(["no", "yes", "yes", "no"])
    assert m["classes"] == ["no", "yes"] and m["class_order"] == "inferred"
    assert m["auc"] == pytest.approx(skm.roc_auc_score(y == "yes", np.array(proba)[:, 1]))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=["no", "yes"]))


def test_class_order_comes_from_the_rows_not_from_sorting(tmp_path: Path) -> None:
    # a custom model whose columns are ["yes", "no"]
    p_yes = np.array([0.9, 0.7, 0.2, 0.4, 0.85, 0.1])
    proba = np.column_stack([p_yes, 1 - p_yes]).tolist()
    outputs = ["yes" if p >= 0.5 else "no" for p in p_yes]
    labels = ["yes", "no", "no", "yes", "yes", "no"]
    data = _window(tmp_path, outputs, proba, labels)
    m = _metrics(data, positive="yes")
    hit = np.array(labels) == "yes"
    assert m["classes"] == ["yes", "no"] and m["positive"] == "yes"
    assert m["auc"] == pytest.approx(skm.roc_auc_score(hit, p_yes))
    assert m["log_loss"] == pytest.approx(skm.log_loss(hit, p_yes))
    assert _metrics(data)["positive"] == "no"  # by default the second class in order
    # a user-given order always wins, even against the rows
    given = _metrics(data, classes=["no", "yes"], positive="yes")
    assert given["classes"] == ["no", "yes"] and given["class_order"] == "given"
    assert given["auc"] == pytest.approx(skm.roc_auc_score(hit, 1 - p_yes))


def test_order_that_cannot_be_inferred_is_reported_not_guessed(tmp_path: Path) -> None:
    proba = [[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.5, 0.1, 0.4], [0.8, 0.1, 0.1]]
    labels = ["a", "b", "a", "b"]  # column 0 is "a"; 2 free columns, only "b" left
    data = _window(tmp_path, ["a"] * 4, proba, labels)
    m = _metrics(data)
    assert m["accuracy"] == pytest.approx(0.5)
    assert m["auc"] is None and m["log_loss"] is None and m["ece"] is None
    assert "never the most likely class" in m["proba_reason"]
    assert "classes=" in m["proba_reason"]
    json.dumps(m, allow_nan=False)  # no NaN anywhere
    given = _metrics(data, classes=["a", "b", "c"])
    assert given["log_loss"] == pytest.approx(skm.log_loss(labels, proba, labels=["a", "b", "c"]))
    assert given["auc"] == pytest.approx(
        np.mean([skm.roc_auc_score(np.array(labels) == c, np.array(proba)[:, j])
                 for j, c in enumerate("ab")])
    )  # fmt: skip  # "c" never occurs: its one-vs-rest AUC is left out
    wrong = _metrics(data, classes=["a", "b"])
    assert wrong["auc"] is None and "3 probability columns but 2 classes" in wrong["proba_reason"]


def test_ambiguous_and_one_class_windows(tmp_path: Path) -> None:
    # a thresholded model: column 0 and column 1 are both mostly served as "yes"
    proba = [[0.6, 0.4], [0.4, 0.6], [0.45, 0.55], [0.65, 0.35]]
    data = _window(tmp_path / "a", ["yes"] * 4, proba, ["yes", "no", "yes", "no"])
    m = _metrics(data)
    assert m["auc"] is None and "cannot be inferred" in m["proba_reason"]
    one = _window(tmp_path / "b", ["no", "yes"], [[0.9, 0.1], [0.2, 0.8]], ["yes", "yes"])
    m1 = _metrics(one)
    assert m1["auc"] is None and "two known classes" in m1["proba_reason"]
    assert m1["log_loss"] == pytest.approx(skm.log_loss(["yes", "yes"], [[0.9, 0.1], [0.2, 0.8]],
                                                        labels=["no", "yes"]))  # fmt: skip


def test_window_report_and_cli_show_the_scores(tmp_path: Path) -> None:
    start = now_ms() - 10 * 60_000
    model, x = _model(["no", "yes"], seed=3)
    exp = _serve(tmp_path, model, x, start_ms=start)
    rep = window_report(conveyor.connect(), ENDPOINT, "1h", log_uri=str(tmp_path))
    m = rep.to_dict()["performance"]["overall"]["metrics"]
    assert m["auc"] == pytest.approx(skm.roc_auc_score(exp["y"] == "yes", exp["proba"][:, 1]))
    page = rep.to_html()
    assert "<th>auc</th>" in page and "<th>log_loss</th>" in page and "<th>ece</th>" in page
    result = CliRunner().invoke(
        cli_root, ["monitors", "report", "-e", ENDPOINT, "--log-uri", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert all(name in result.output for name in ("auc", "log_loss", "ece"))


def test_cli_report_says_why_scores_are_missing_and_takes_the_class_order(
    tmp_path: Path,
) -> None:
    start = now_ms() - 10 * 60_000
    proba = [[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.5, 0.1, 0.4], [0.8, 0.1, 0.1]]
    labels = ["a", "b", "a", "b"]
    ids = write_predictions(tmp_path, ["a"] * 4, proba=proba, start_ms=start)
    write_feedback(tmp_path, dict(zip(ids, labels, strict=True)), start + 1000)
    base = ["monitors", "report", "-e", ENDPOINT, "--log-uri", str(tmp_path)]

    inferred = CliRunner().invoke(cli_root, base)
    assert inferred.exit_code == 0, inferred.output
    assert "not computed" in inferred.output and "never the most likely class" in inferred.output
    given = CliRunner().invoke(cli_root, [*base, "--classes", '["a", "b", "c"]', "--json"])
    assert given.exit_code == 0, given.output
    metrics = json.loads(given.output)["performance"]["overall"]["metrics"]
    assert metrics["class_order"] == "given"
    assert metrics["log_loss"] == pytest.approx(skm.log_loss(labels, proba, labels=["a", "b", "c"]))
    bad = CliRunner().invoke(cli_root, [*base, "--classes", "[a, b]"])
    assert bad.exit_code != 0 and "--classes is not valid JSON" in bad.output
    scalar = CliRunner().invoke(cli_root, [*base, "--classes", '["a"'])
    assert scalar.exit_code != 0 and "--classes is not valid JSON" in scalar.output
    plain = CliRunner().invoke(cli_root, [*base, "--classes", "a,b,c", "--json"])
    assert plain.exit_code == 0, plain.output
    assert json.loads(plain.output)["performance"]["overall"]["metrics"]["classes"] == [
        "a",
        "b",
        "c",
    ]


def test_cli_positive_class_is_shown_and_an_unknown_one_named(tmp_path: Path) -> None:
    start = now_ms() - 10 * 60_000
    model, x = _model(["no", "yes"], seed=4)
    _serve(tmp_path, model, x, start_ms=start)
    base = ["monitors", "report", "-e", ENDPOINT, "--log-uri", str(tmp_path)]
    chosen = CliRunner().invoke(cli_root, [*base, "--positive", '"no"'])
    assert chosen.exit_code == 0, chosen.output
    rows = [line.split() for line in chosen.output.splitlines()]
    assert any("positive" in row and "no" in row for row in rows)
    unknown = CliRunner().invoke(cli_root, [*base, "--positive", "maybe"])  # plain text
    assert unknown.exit_code == 0, unknown.output
    assert "positive class 'maybe' is not one of the classes" in " ".join(unknown.output.split())
