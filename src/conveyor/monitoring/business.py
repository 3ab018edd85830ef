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
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from conveyor.errors import ValidationFailed
from conveyor.monitoring.performance import Pairs, group_masks, labelled_pairs
from conveyor.monitoring.windows import WindowData

__all__ = [
    "BusinessGroup",
    "BusinessReport",
    "ValueFunction",
    "ValueMatrix",
    "business_value",
    "check_value_options",
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

    @classmethod
    def from_dict(cls, data: Any, *, what: str = "value_matrix") -> ValueMatrix:
        """A matrix from a mapping such as ``{"tp": 40, "fp": -5, "fn": -40}``;
        ValidationFailed naming an unknown key (with the accepted ones) or a value that
        is not a finite number. ``what`` names the option in the messages."""
        accepted = [f.name for f in fields(cls)]
        if not isinstance(data, Mapping):
            raise ValidationFailed(
                f"{what} must be a mapping of {accepted}, e.g. "
                f'{{"tp": 40, "fp": -5, "fn": -40}}; got {data!r}'
            )
        unknown = [str(k) for k in data if k not in accepted]
        if unknown:
            raise ValidationFailed(
                f"{what} has unknown key(s) {unknown}; accepted keys: {accepted}",
                details={"unknown": unknown, "accepted": accepted},
            )
        for key in ("tp", "tn", "fp", "fn", "threshold"):
            v = data.get(key, 0.0)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ValidationFailed(f"{what}.{key} must be a finite number, got {v!r}")
        return cls(**dict(data))

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


@dataclass(slots=True)
class _RowValues:
    """Per labelled row: its value, its baseline value, and (matrix) the confusion cells."""

    value: np.ndarray
    baseline: np.ndarray | None
    pred_pos: np.ndarray | None = None
    true_pos: np.ndarray | None = None


def _matrix_rows(pairs: Pairs, m: ValueMatrix, baseline: Any) -> _RowValues:
    if pairs.numeric and isinstance(m.positive, int | float):
        o, y = pairs.o, pairs.y
        pred_pos = np.where(np.mod(o, 1) != 0, o >= m.threshold, o == float(m.positive))
        true_pos = y == float(m.positive)
    else:
        pred_pos, true_pos = m.is_positive(list(pairs.o)), m.is_positive(list(pairs.y))
    cell = np.where(
        pred_pos, np.where(true_pos, m.tp, m.fp), np.where(true_pos, m.fn, m.tn)
    ).astype(np.float64)
    base: np.ndarray | None = None
    if baseline == "predict_nothing":
        base = np.where(true_pos, m.fn, m.tn).astype(np.float64)
    elif baseline == "predict_all":
        base = np.where(true_pos, m.tp, m.fp).astype(np.float64)
    return _RowValues(cell, base, pred_pos, true_pos)


def _function_rows(table: Any, pairs: Pairs, value: ValueFunction, baseline: Any) -> _RowValues:
    idx = np.flatnonzero(pairs.mask)
    rows = table.take(idx).to_pylist()
    preds = [json.loads(r["output"]) for r in rows]
    labels = [json.loads(r["label"]) for r in rows]
    vals = np.fromiter(
        (value(p, lab, r) for p, lab, r in zip(preds, labels, rows, strict=True)),
        dtype=np.float64,
        count=len(rows),
    )
    base = None
    if callable(baseline):
        base = np.fromiter(
            (baseline(lab, r) for lab, r in zip(labels, rows, strict=True)),
            dtype=np.float64,
            count=len(rows),
        )
    return _RowValues(vals, base)


def _value_group(
    group: str, name: str | None, rows: int, sub: np.ndarray, per_row: _RowValues
) -> BusinessGroup:
    """``sub``: which labelled rows belong to the group."""
    n = int(sub.sum())
    out = BusinessGroup(group, name, rows, n, n / rows if rows else 0.0, "insufficient_data")
    if not n:
        out.reason = "no predictions in the window" if not rows else "no labels have arrived yet"
        return out
    if per_row.pred_pos is not None and per_row.true_pos is not None:
        p, t = per_row.pred_pos[sub], per_row.true_pos[sub]
        out.counts = {
            "tp": int(np.sum(p & t)),
            "tn": int(np.sum(~p & ~t)),
            "fp": int(np.sum(p & ~t)),
            "fn": int(np.sum(~p & t)),
        }
    out.status = "ok"
    out.total = float(per_row.value[sub].sum())
    out.per_prediction = out.total / n
    if per_row.baseline is not None:
        out.baseline_total = float(per_row.baseline[sub].sum())
        out.baseline_per_prediction = out.baseline_total / n
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
        value = ValueMatrix.from_dict(value)
    if not isinstance(value, ValueMatrix) and isinstance(baseline, str):
        baseline = None  # named baselines need a value matrix
    if isinstance(baseline, str) and baseline not in ("predict_nothing", "predict_all"):
        raise ValidationFailed(
            f"unknown baseline {baseline!r}: use 'predict_nothing', 'predict_all' or a function"
        )
    table = data.table
    pairs = labelled_pairs(table)
    if isinstance(value, ValueMatrix):
        per_row = _matrix_rows(pairs, value, baseline)
        if callable(baseline):
            per_row.baseline = _function_rows(
                table, pairs, lambda p, lab, r: 0.0, baseline
            ).baseline
    else:
        per_row = _function_rows(table, pairs, value, baseline)
    everything = np.ones(len(pairs.y), dtype=bool)
    overall = _value_group("window", None, data.num_rows, everything, per_row)
    groups: dict[str, list[BusinessGroup]] = {"model_version": [], "route": []}
    for column, out in groups.items():
        for name, rows_of in group_masks(table, column, data._values(column)):
            sub = rows_of[pairs.mask]
            out.append(_value_group(column, name, int(rows_of.sum()), sub, per_row))
    label = baseline if isinstance(baseline, str) else ("custom" if baseline else None)
    return BusinessReport(
        data.endpoint, data.window.to_dict(), label, overall, groups["model_version"],
        groups["route"],
    )  # fmt: skip


_NEEDS_VALUE = (
    "business metrics need options.value_matrix ({'tp': .., 'tn': .., 'fp': .., 'fn': ..}) "
    "or options.value_function ('package.module:function')"
)


def check_value_options(options: Mapping[str, Any]) -> None:
    """ValidationFailed unless ``options`` declare a usable business value: a valid
    ``value_matrix``, or a ``value_function`` / ``baseline`` function written
    ``"package.module:function"`` (not imported here: the evaluator imports it)."""
    if "value_matrix" in options:
        ValueMatrix.from_dict(options["value_matrix"], what="options.value_matrix")
    elif "value_function" in options:
        _check_path(options["value_function"], "options.value_function")
    else:
        raise ValidationFailed(_NEEDS_VALUE)
    baseline = options.get("baseline", "predict_nothing")
    if baseline not in ("predict_nothing", "predict_all"):
        _check_path(baseline, "options.baseline ('predict_nothing', 'predict_all' or)")


def _check_path(value: Any, what: str) -> None:
    module, _, attr = str(value).partition(":") if isinstance(value, str) else ("", "", "")
    if not module or not attr:
        raise ValidationFailed(f"{what} must be 'package.module:function', got {value!r}")


def value_from_options(options: Mapping[str, Any]) -> tuple[Any, Any]:
    """``(value, baseline)`` from a monitor's options: ``value_matrix`` (a dict of
    tp/tn/fp/fn/positive/threshold) or ``value_function`` (``"package.module:function"``),
    and ``baseline`` (a name or ``"package.module:function"``)."""
    baseline: Any = options.get("baseline", "predict_nothing")
    if isinstance(baseline, str) and ":" in baseline:
        baseline = _import(baseline)
    if "value_matrix" in options:
        return ValueMatrix.from_dict(options["value_matrix"]), baseline
    if "value_function" in options:
        return _import(str(options["value_function"])), baseline
    raise ValidationFailed(_NEEDS_VALUE)


def _import(path: str) -> Any:
    module, _, attr = path.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ValidationFailed(f"cannot import {path!r}: {exc}") from exc
