"""Model performance once labels arrive: per window, per model version and per route.

Classification: accuracy, precision, recall, F1 (binary on the positive class, macro
over classes otherwise), ROC AUC, log loss and calibration (expected calibration error +
reliability bins) when the output carries scores. Regression: MAE, RMSE, R².

Outputs: a served output is a label (``"yes"``, ``1``), a score (one number in [0, 1]
for a binary model, thresholded at ``threshold``), or a list of class probabilities (the
predicted class is the argmax; the class of column ``j`` is ``classes[j]``, default the
sorted labels, or ``j`` itself when the labels are ``0..k-1``).

Class probabilities logged next to the label (the ``proba`` column, ``list<double>`` in
the model's class order): the labels in ``output`` give accuracy, precision, recall and
F1; the probabilities give ROC AUC, log loss and calibration. The class order is not
logged, so it is ``classes`` when given, else inferred per group: column ``j`` is the
label most often served when ``j`` was the argmax; columns that were never the argmax get
the remaining labels seen (labels and outputs) in sorted order when exactly that many
remain. When the order cannot be told, or only some labelled rows have probabilities,
``auc``, ``log_loss``, ``ece`` and ``calibration_bins`` are None and ``proba_reason``
says why.

Only labelled predictions count; ``label_coverage`` is reported next to the metrics, and a
group without labels has ``status="insufficient_data"`` and no metrics (never NaN). All
arithmetic is vectorised numpy (the metric functions live in ``conveyor.evaluation``); the
results equal ``sklearn.metrics`` on the same rows.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from conveyor.evaluation.classification import calibration, classification_metrics, roc_auc
from conveyor.evaluation.labels import label_key as _key
from conveyor.evaluation.labels import label_sort_key as _sort_key
from conveyor.evaluation.regression import regression_metrics
from conveyor.monitoring.windows import WindowData

__all__ = [
    "GroupPerformance",
    "Pairs",
    "PerformanceReport",
    "Task",
    "calibration",
    "classification_metrics",
    "labelled_pairs",
    "performance_report",
    "regression_metrics",
    "roc_auc",
]

log = logging.getLogger("conveyor.monitoring.performance")
Task = Literal["auto", "classification", "regression"]


# -- from a window ---------------------------------------------------------------------------
def _unwrap(value: Any) -> Any:
    """A one-element JSON list (a single-output regressor logged by older servers,
    ``[48.78]``) as its element; anything else unchanged."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


@dataclass(slots=True)
class Pairs:
    """The labelled rows of a window: ``mask`` over all rows, labels ``y`` and outputs ``o``
    of the labelled rows — float arrays when both were logged as numbers (``numeric``),
    else decoded JSON values."""

    mask: np.ndarray
    y: Any
    o: Any
    numeric: bool

    def take(self, rows: np.ndarray) -> Pairs:
        """The pairs of the rows selected by the boolean ``rows`` (over all rows)."""
        sub = rows[self.mask]
        if self.numeric:
            return Pairs(self.mask & rows, self.y[sub], self.o[sub], True)
        idx = np.flatnonzero(sub)
        return Pairs(self.mask & rows, [self.y[i] for i in idx], [self.o[i] for i in idx], False)


def labelled_pairs(table: Any) -> Pairs:
    """Labels and outputs of the labelled rows of a window table (JSON decoded only when
    the numeric columns cannot stand in for it; one-element lists are unwrapped)."""
    if table.num_rows == 0:
        return Pairs(np.zeros(0, dtype=bool), [], [], False)
    mask = np.asarray(table.column("label").is_valid().to_numpy(zero_copy_only=False))
    names = table.column_names
    if "label_num" in names and "output_num" in names:
        y = table.column("label_num").to_numpy(zero_copy_only=False)[mask]
        o = table.column("output_num").to_numpy(zero_copy_only=False)[mask]
        y, o = np.asarray(y, dtype=np.float64), np.asarray(o, dtype=np.float64)
        if np.isfinite(y).all() and np.isfinite(o).all():
            return Pairs(mask, y, o, True)
    idx = np.flatnonzero(mask)
    labels = table.column("label").take(idx).to_pylist()
    outputs = table.column("output").take(idx).to_pylist()
    return Pairs(
        mask,
        [_unwrap(json.loads(v)) for v in labels],
        [_unwrap(json.loads(v)) for v in outputs],
        False,
    )


def group_masks(table: Any, column: str, names: list[str]) -> list[tuple[str, np.ndarray]]:
    values = np.asarray(table.column(column).to_numpy(zero_copy_only=False), dtype=object)
    return [(name, values == name) for name in names]


@dataclass(slots=True)
class GroupPerformance:
    """Performance of one group (the whole window, one model version or one route)."""

    group: str
    value: str | None
    rows: int
    labelled: int
    label_coverage: float
    status: Literal["ok", "insufficient_data"]
    task: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "value": self.value,
            "rows": self.rows,
            "labelled": self.labelled,
            "label_coverage": self.label_coverage,
            "status": self.status,
            "task": self.task,
            "metrics": self.metrics,
            "reason": self.reason,
        }


#: metrics shown in summary tables, in this order
_HEADLINE = ("accuracy", "precision", "recall", "f1", "auc", "log_loss", "ece", "mae", "rmse", "r2")


@dataclass(slots=True)
class PerformanceReport:
    """``overall`` plus one entry per model version and per route of the window."""

    endpoint: str
    window: dict[str, Any]
    task: str | None
    overall: GroupPerformance
    by_version: list[GroupPerformance]
    by_route: list[GroupPerformance]

    @property
    def status(self) -> str:
        return self.overall.status

    def metric(self, name: str) -> float | None:
        if name in ("label_coverage", "coverage"):
            return self.overall.label_coverage
        value = self.overall.metrics.get(name)
        return None if value is None or not isinstance(value, int | float) else float(value)

    def groups(self) -> list[GroupPerformance]:
        """The overall group, then one per model version and one per route."""
        return [self.overall, *self.by_version, *self.by_route]

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """The headline figures as ``(columns, rows)``: one row per group (``window``,
        ``model_version <v>``, ``route <r>``) with rows, labelled rows, status, the task's
        main metrics (those some group has) and, when a group has none, the reason."""
        groups = self.groups()
        names = [n for n in _HEADLINE if any(g.metrics.get(n) is not None for g in groups)]
        reasons = any(g.reason for g in groups)
        rows = [
            [
                g.group if g.value is None else f"{g.group} {g.value}",
                g.rows,
                g.labelled,
                g.status,
                *(g.metrics.get(n) for n in names),
                *([g.reason or ""] if reasons else []),
            ]
            for g in groups
        ]
        return [
            "group",
            "rows",
            "labelled",
            "status",
            *names,
            *(["reason"] if reasons else []),
        ], rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "window": self.window,
            "task": self.task,
            "status": self.status,
            "overall": self.overall.to_dict(),
            "by_version": [g.to_dict() for g in self.by_version],
            "by_route": [g.to_dict() for g in self.by_route],
        }


def _infer_task(labels: Any, outputs: Any) -> str:
    if isinstance(labels, np.ndarray):
        nums, out = labels, np.asarray(outputs, dtype=np.float64)
    else:
        if any(isinstance(v, str | bool) for v in labels) or any(
            isinstance(o, list | str | bool) for o in outputs
        ):
            return "classification"
        nums = np.asarray([float(v) for v in labels if isinstance(v, int | float)])
        out = np.asarray([float(o) for o in outputs if isinstance(o, int | float)])
    if len(nums) == 0:
        return "classification"
    integral = bool(np.all(np.mod(nums, 1) == 0))
    if integral and len(np.unique(nums)) <= 20:
        in_unit = len(out) > 0 and bool(np.all((out >= 0) & (out <= 1)))
        out_integral = len(out) > 0 and bool(np.all(np.mod(out, 1) == 0))
        if out_integral or in_unit:
            return "classification"
    return "regression"


def _group(
    group: str,
    value: str | None,
    pairs: Pairs,
    rows: np.ndarray,
    proba: _ProbaColumn | None,
    task: str,
    classes: Sequence[Any] | None,
    positive: Any,
    threshold: float,
    n_bins: int,
) -> GroupPerformance:
    """Performance of the rows selected by ``rows``; ``pairs`` are their labelled rows."""
    n_rows = int(rows.sum())
    labelled = len(pairs.y)
    coverage = labelled / n_rows if n_rows else 0.0
    if not labelled:
        reason = "no predictions in the window" if n_rows == 0 else "no labels have arrived yet"
        return GroupPerformance(
            group, value, n_rows, 0, coverage, "insufficient_data", None, {}, reason
        )
    y, o = pairs.y, pairs.o
    kind = task if task != "auto" else _infer_task(y, o)
    try:
        if kind == "regression":
            metrics = regression_metrics(
                np.asarray(y, dtype=np.float64), np.asarray(o, dtype=np.float64)
            )
        else:
            scores = _probabilities(proba, rows, pairs, classes)
            metrics = _classification(pairs, scores, classes, positive, threshold, n_bins)
    except (TypeError, ValueError) as exc:
        return GroupPerformance(
            group, value, n_rows, labelled, coverage, "insufficient_data", kind, {},
            f"outputs and labels cannot be compared as {kind}: {exc}",
        )  # fmt: skip
    metrics = {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
               for k, v in metrics.items()}  # fmt: skip
    return GroupPerformance(group, value, n_rows, labelled, coverage, "ok", kind, metrics)


# -- logged class probabilities (the ``proba`` column) ---------------------------------------
@dataclass(slots=True)
class _ProbaColumn:
    """The ``proba`` column of a window table, flattened once: row ``i`` holds
    ``flat[starts[i] : starts[i] + widths[i]]``; ``present`` marks the rows with a
    non-empty list of finite numbers. ``output`` is the table's ``output`` column."""

    flat: np.ndarray
    starts: np.ndarray
    widths: np.ndarray
    present: np.ndarray
    output: pa.Array

    @classmethod
    def of(cls, table: pa.Table) -> _ProbaColumn | None:
        """None when the table has no ``proba`` column or it is null everywhere."""
        if "proba" not in table.column_names or "output" not in table.column_names:
            return None
        column = table.column("proba")
        if table.num_rows == 0 or column.null_count == table.num_rows:
            return None
        lists = column.combine_chunks()
        try:
            lists = lists.cast(pa.list_(pa.float64()))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            log.warning("ignoring the proba column of type %s: %s", column.type, exc)
            return None
        offsets = lists.offsets.to_numpy()
        flat = np.asarray(lists.values.to_numpy(zero_copy_only=False), dtype=np.float64)
        bad = np.concatenate([[0], np.cumsum(~np.isfinite(flat))])
        finite = bad[offsets[1:]] == bad[offsets[:-1]]
        widths = np.diff(offsets)
        valid = np.asarray(lists.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        present = valid & (widths > 0) & finite
        output = table.column("output").combine_chunks()
        return cls(flat, offsets[:-1], widths, present, output)

    def matrix(self, rows: np.ndarray, k: int) -> np.ndarray:
        """The probabilities of the rows at indices ``rows`` (all of width ``k``)."""
        return self.flat[self.starts[rows, None] + np.arange(k)]


@dataclass(slots=True)
class _Scores:
    """Class probabilities of a group's labelled rows (``matrix``, columns ``classes``),
    or why there are none usable (``reason``); all None when the group logged none."""

    matrix: np.ndarray | None = None
    classes: list[Any] | None = None
    inferred: bool = False
    reason: str | None = None


def _probabilities(
    proba: _ProbaColumn | None, rows: np.ndarray, pairs: Pairs, classes: Sequence[Any] | None
) -> _Scores:
    """The logged probabilities of the labelled rows in ``rows`` and their class order."""
    if proba is None:
        return _Scores()
    have = proba.present & rows
    n_have, n_labelled = int((have & pairs.mask).sum()), len(pairs.y)
    if n_have == 0:
        return _Scores()
    if n_have < n_labelled:
        return _Scores(reason=(
            f"class probabilities were logged for {n_have} of {n_labelled} labelled "
            "predictions (a model version without predict_proba, or log files written "
            "before they were logged); AUC, log loss and calibration need them on every row"
        ))  # fmt: skip
    widths = np.unique(proba.widths[have])
    if len(widths) > 1:
        return _Scores(reason=f"probability lists of different lengths {widths.tolist()}")
    k = int(widths[0])
    if k < 2:
        return _Scores(reason="one probability per row: no class order to compare with")
    if classes is not None:
        if len(classes) != k:
            return _Scores(reason=f"{k} probability columns but {len(classes)} classes given")
        order, inferred = list(classes), False
    else:
        found, why = _infer_classes(proba, have, k, _label_set(pairs))
        if found is None:
            return _Scores(reason=why)
        order, inferred = found, True
    return _Scores(proba.matrix(np.flatnonzero(pairs.mask), k), order, inferred)


def _label_set(pairs: Pairs) -> set[Any]:
    if pairs.numeric:
        return {_key(float(v)) for v in np.unique(pairs.y)}
    return {_key(v) for v in pairs.y if not isinstance(v, list | dict)}


def _decode(text: str | None) -> Any:
    """A logged output as a class label (None when it is not a scalar)."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return None if isinstance(value, list | dict) or value is None else _key(value)


def _infer_classes(
    proba: _ProbaColumn, have: np.ndarray, k: int, labels: set[Any]
) -> tuple[list[Any] | None, str | None]:
    """Class of each probability column: the label most often served when it was the
    argmax; columns never the argmax take the remaining labels seen, sorted, when exactly
    that many remain. ``(None, why)`` when the order cannot be told."""
    idx = np.flatnonzero(have)
    top = proba.matrix(idx, k).argmax(axis=1)
    encoded = proba.output.take(pa.array(idx)).dictionary_encode()
    names = [_decode(t) for t in encoded.dictionary.to_pylist()]
    codes = np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False))
    keep = codes >= 0
    pair_ids, counts = np.unique(top[keep] * len(names) + codes[keep], return_counts=True)
    votes: dict[int, dict[Any, int]] = {}
    for pair_id, count in zip(pair_ids.tolist(), counts.tolist(), strict=True):
        j, code = divmod(pair_id, len(names))
        if names[code] is not None:
            column = votes.setdefault(j, {})
            column[names[code]] = column.get(names[code], 0) + count
    assigned = {
        j: min(v.items(), key=lambda item: (-item[1], _sort_key(item[0])))[0]
        for j, v in votes.items()
    }
    if len(set(assigned.values())) < len(assigned):
        return None, (
            "two probability columns are most often served as the same label, so the class "
            "order cannot be inferred; pass classes=[...] (the model's class order)"
        )
    free = [j for j in range(k) if j not in assigned]
    seen = labels | {n for n in names if n is not None}
    rest = sorted(seen - set(assigned.values()), key=_sort_key)
    if free and len(rest) != len(free):
        return None, (
            f"probability column(s) {free} were never the most likely class in this window "
            f"and {len(rest)} other label(s) were seen {rest[:10]}, so their classes cannot "
            "be inferred; pass classes=[...] (the model's class order)"
        )
    assigned.update(zip(free, rest, strict=True))
    return [assigned[j] for j in range(k)], None


def _classification(
    pairs: Pairs,
    scores: _Scores,
    classes: Sequence[Any] | None,
    positive: Any,
    threshold: float,
    n_bins: int,
) -> dict[str, Any]:
    """Label metrics from the outputs; AUC, log loss and calibration from the logged
    probabilities when every labelled row has them (else from scores in the outputs)."""
    if scores.matrix is None:
        metrics = _classification_from_outputs(
            pairs.y, pairs.o, classes, positive, threshold, n_bins
        )
        if scores.reason is not None:
            metrics.update(auc=None, log_loss=None, ece=None, calibration_bins=None)
            metrics["proba_reason"] = scores.reason
        return metrics
    if pairs.numeric:
        y, o = pairs.y, pairs.o
        if np.all(np.mod(y, 1) == 0) and np.all(np.mod(o, 1) == 0):
            y, o = y.astype(np.int64), o.astype(np.int64)
    else:
        y, o = [_key(v) for v in pairs.y], [_key(v) for v in pairs.o]
    metrics = classification_metrics(
        y, o, scores.matrix, classes=scores.classes, positive=positive, n_bins=n_bins
    )
    metrics["class_order"] = "inferred" if scores.inferred else "given"
    if metrics.get("auc") is None:
        metrics["proba_reason"] = "AUC needs labels of at least two known classes"
    return metrics


def _classification_from_outputs(
    y: list[Any],
    o: list[Any],
    classes: Sequence[Any] | None,
    positive: Any,
    threshold: float,
    n_bins: int,
) -> dict[str, Any]:
    if isinstance(y, np.ndarray):  # numbers on both sides
        if np.all(np.mod(o, 1) == 0):  # labels
            ints = np.all(np.mod(y, 1) == 0)
            yi, oi = (y.astype(np.int64), o.astype(np.int64)) if ints else (y, o)
            return classification_metrics(yi, oi, classes=classes, positive=positive, n_bins=n_bins)
        if np.isin(y, (0.0, 1.0)).all():  # binary scores
            pred = (o >= threshold).astype(np.int64)
            proba = np.column_stack([1 - o, o])
            return classification_metrics(
                y.astype(np.int64), pred, proba, classes=[0, 1], positive=1, n_bins=n_bins
            )
        raise ValueError("numeric outputs are neither labels nor binary scores")
    ys = [_key(v) for v in y]
    if all(isinstance(v, list) for v in o):  # class probabilities
        proba = np.asarray(o, dtype=np.float64)
        k = proba.shape[1]
        label_set = sorted(set(ys), key=_sort_key)
        if classes is None:
            indices = all(isinstance(v, int) and 0 <= v < k for v in label_set)
            cls = list(range(k)) if indices else label_set
        else:
            cls = list(classes)
        if len(cls) != k:
            raise ValueError(f"{k} probability columns but {len(cls)} classes {cls[:10]}")
        pred = np.asarray(cls, dtype=object)[proba.argmax(axis=1)]
        return classification_metrics(
            ys, pred, proba, classes=cls, positive=positive, n_bins=n_bins
        )
    distinct = {int(v) if isinstance(v, bool) else v for v in ys}
    scores = [v for v in o if isinstance(v, float) and not float(v).is_integer()]
    if scores and distinct <= {0, 1}:  # binary scores
        s = np.asarray(o, dtype=np.float64)
        pred = (s >= threshold).astype(np.int64)
        proba = np.column_stack([1 - s, s])
        return classification_metrics(
            [int(v) for v in ys], pred, proba, classes=[0, 1], positive=1, n_bins=n_bins
        )
    return classification_metrics(
        ys, [_key(v) for v in o], classes=classes, positive=positive, n_bins=n_bins
    )


def performance_report(
    data: WindowData,
    *,
    task: Task = "auto",
    classes: Sequence[Any] | None = None,
    positive: Any = None,
    threshold: float = 0.5,
    n_bins: int = 10,
) -> PerformanceReport:
    """Performance of a window (see the module docstring), overall, per version, per route."""
    table = data.table
    pairs = labelled_pairs(table)
    proba = _ProbaColumn.of(table)
    everything = np.ones(table.num_rows, dtype=bool)
    task_used: str = task
    if task == "auto" and len(pairs.y):
        scored = proba is not None and bool((proba.present & pairs.mask).any())
        task_used = "classification" if scored else _infer_task(pairs.y, pairs.o)
    options = (task_used, classes, positive, threshold, n_bins)
    overall = _group("window", None, pairs, everything, proba, *options)
    groups: dict[str, list[GroupPerformance]] = {"model_version": [], "route": []}
    for column, out in groups.items():
        for name, rows_of in group_masks(table, column, data._values(column)):
            out.append(_group(column, name, pairs.take(rows_of), rows_of, proba, *options))
    return PerformanceReport(
        data.endpoint,
        data.window.to_dict(),
        overall.task,
        overall,
        groups["model_version"],
        groups["route"],
    )
