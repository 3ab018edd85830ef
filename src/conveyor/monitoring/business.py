"""Business value of served predictions, once labels arrive.

Declare what a decision is worth, either as a classification value matrix::

    ValueMatrix(tp=40.0, tn=0.0, fp=-5.0, fn=-40.0, positive=1)   # per prediction

or as a function ``f(prediction, label, row) -> float`` (``row``: the prediction's log
row as a dict, inputs included). :func:`business_value` reports the total, the value per
labelled prediction and the same figures for a baseline — by default "predict nothing"
(every prediction negative, for a matrix); for a function, pass ``baseline=`` as another
function ``g(label, row) -> float`` — overall, per model version and per route.

Unlabelled predictions are not valued; ``label_coverage`` says how many were.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from conveyor.errors import ValidationFailed
from conveyor.monitoring.windows import WindowData

__all__ = [
    "BusinessGroup",
    "BusinessReport",
    "ValueFunction",
    "ValueMatrix",
    "business_value",
    "value_from_options",
]

ValueFunction = Callable[[Any, Any, dict[str, Any]], float]
BaselineFunction = Callable[[Any, dict[str, Any]], float]


@dataclass(frozen=True, slots=True)
class ValueMatrix:
    """Value of one true/false positive/negative prediction; ``positive`` is the class
    that means "act" (a probability output counts as positive at ``threshold``)."""

    tp: float = 0.0
    tn: float = 0.0
    fp: float = 0.0
    fn: float = 0.0
    positive: Any = 1
    threshold: float = 0.5

    def is_positive(self, value: Any) -> np.ndarray:
        def one(v: Any) -> bool:
            if isinstance(v, list):  # class probabilities: the positive column
                idx = int(self.positive) if isinstance(self.positive, int) else 1
                return float(v[idx]) >= self.threshold
            if isinstance(v, float) and not v.is_integer():
                return v >= self.threshold
            return bool(v == self.positive)

        return np.fromiter((one(v) for v in value), dtype=bool, count=len(value))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class BusinessGroup:
    group: str
    value: str | None
    rows: int
    labelled: int
    label_coverage: float
    status: str
    total: float | None = None
    per_prediction: float | None = None
    baseline_total: float | None = None
    baseline_per_prediction: float | None = None
    uplift: float | None = None
    counts: dict[str, int] = field(default_factory=dict)
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class BusinessReport:
    endpoint: str
    window: dict[str, Any]
    baseline: str | None
    overall: BusinessGroup
    by_version: list[BusinessGroup]
    by_route: list[BusinessGroup]

    @property
    def status(self) -> str:
        return self.overall.status

    def metric(self, name: str) -> float | None:
        value = getattr(self.overall, name, None)
        return None if value is None else float(value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "window": self.window,
            "baseline": self.baseline,
            "status": self.status,
            "overall": self.overall.to_dict(),
            "by_version": [g.to_dict() for g in self.by_version],
            "by_route": [g.to_dict() for g in self.by_route],
        }


def _value_group(
    group: str,
    name: str | None,
    rows: list[dict[str, Any]],
    value: ValueMatrix | ValueFunction,
    baseline: BaselineFunction | str | None,
) -> BusinessGroup:
    labelled = [r for r in rows if r["label"] is not None]
    coverage = len(labelled) / len(rows) if rows else 0.0
    out = BusinessGroup(group, name, len(rows), len(labelled), coverage, "insufficient_data")
    if not labelled:
        out.reason = "no predictions in the window" if not rows else "no labels have arrived yet"
        return out
    preds = [json.loads(r["output"]) for r in labelled]
    labels = [json.loads(r["label"]) for r in labelled]
    n = len(labelled)
    if isinstance(value, ValueMatrix):
        pred_pos = value.is_positive(preds)
        true_pos = value.is_positive(labels)
        tp = int(np.sum(pred_pos & true_pos))
        tn = int(np.sum(~pred_pos & ~true_pos))
        fp = int(np.sum(pred_pos & ~true_pos))
        fn = int(np.sum(~pred_pos & true_pos))
        out.counts = {"tp": tp, "tn": tn, "fp": fp, "fn": fn}
        total = tp * value.tp + tn * value.tn + fp * value.fp + fn * value.fn
        if baseline == "predict_nothing":
            base: float | None = (tn + fp) * value.tn + (tp + fn) * value.fn
        elif baseline == "predict_all":
            base = (tn + fp) * value.fp + (tp + fn) * value.tp
        elif callable(baseline):
            base = float(sum(baseline(lab, r) for lab, r in zip(labels, labelled, strict=True)))
        else:
            base = None
    else:
        total = float(
            sum(value(p, lab, r) for p, lab, r in zip(preds, labels, labelled, strict=True))
        )
        if callable(baseline):
            base = float(sum(baseline(lab, r) for lab, r in zip(labels, labelled, strict=True)))
        else:
            base = None
    out.status = "ok"
    out.total = float(total)
    out.per_prediction = float(total) / n
    if base is not None:
        out.baseline_total = float(base)
        out.baseline_per_prediction = float(base) / n
        out.uplift = out.total - out.baseline_total
    return out


def business_value(
    data: WindowData,
    value: ValueMatrix | ValueFunction | Mapping[str, Any],
    *,
    baseline: BaselineFunction | str | None = "predict_nothing",
) -> BusinessReport:
    """Value of the window's labelled predictions, overall, per model version, per route.

    ``value``: a :class:`ValueMatrix` (or its dict), or ``f(prediction, label, row)``.
    ``baseline``: ``"predict_nothing"`` / ``"predict_all"`` (value matrix only), a
    function ``g(label, row)``, or None.
    """
    if isinstance(value, Mapping):
        value = ValueMatrix(**dict(value))
    if not isinstance(value, ValueMatrix) and isinstance(baseline, str):
        baseline = None  # named baselines need a value matrix
    if isinstance(baseline, str) and baseline not in ("predict_nothing", "predict_all"):
        raise ValidationFailed(
            f"unknown baseline {baseline!r}: use 'predict_nothing', 'predict_all' or a function"
        )
    rows = data.table.to_pylist() if data.num_rows else []
    overall = _value_group("window", None, rows, value, baseline)
    groups: dict[str, list[BusinessGroup]] = {"model_version": [], "route": []}
    for column, out in groups.items():
        for name in data._values(column):
            subset = [r for r in rows if r[column] == name]
            out.append(_value_group(column, name, subset, value, baseline))
    label = baseline if isinstance(baseline, str) else ("custom" if baseline else None)
    return BusinessReport(
        data.endpoint, data.window.to_dict(), label, overall, groups["model_version"],
        groups["route"],
    )  # fmt: skip


def value_from_options(options: Mapping[str, Any]) -> tuple[Any, Any]:
    """``(value, baseline)`` from a monitor's options: ``value_matrix`` (a dict of
    tp/tn/fp/fn/positive/threshold) or ``value_function`` (``"package.module:function"``),
    and ``baseline`` (a name or ``"package.module:function"``)."""
    baseline: Any = options.get("baseline", "predict_nothing")
    if isinstance(baseline, str) and ":" in baseline:
        baseline = _import(baseline)
    if "value_matrix" in options:
        return ValueMatrix(**dict(options["value_matrix"])), baseline
    if "value_function" in options:
        return _import(str(options["value_function"])), baseline
    raise ValidationFailed(
        "business metrics need options.value_matrix ({'tp': .., 'tn': .., 'fp': .., 'fn': ..}) "
        "or options.value_function ('package.module:function')"
    )


def _import(path: str) -> Any:
    module, _, attr = path.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ValidationFailed(f"cannot import {path!r}: {exc}") from exc
