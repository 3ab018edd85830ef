"""``drift_report``: plan the columns, measure them in parallel, decide, summarise."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from conveyor.errors import ValidationFailed
from conveyor.monitoring._columns import (
    CategoricalPair,
    read_categorical,
    read_numeric,
)
from conveyor.monitoring._sources import DEFAULT_CHUNK_ROWS, Source, narrowest_float, open_source
from conveyor.monitoring.drift._base import DriftMethod, InsufficientData, Measurement
from conveyor.monitoring.drift._builtins import DEFAULT_METHODS
from conveyor.monitoring.drift._plots import categorical_plot, numeric_plot
from conveyor.monitoring.drift._registry import available_methods, get_method
from conveyor.monitoring.drift._report import ColumnDrift, DriftReport, Status

__all__ = ["ProgressCallback", "drift_report"]

#: ``progress(done, total, column)`` — called once per finished column
ProgressCallback = Callable[[int, int, str], None]

#: bytes of working memory the column workers may use together (sizes the thread pool)
_MEMORY_BUDGET = 400 * 1024 * 1024


@dataclass(slots=True)
class _Planned:
    result: ColumnDrift
    method: DriftMethod | None
    base_threshold: float = math.nan
    measurement: Measurement | None = None


def drift_report(
    reference: Any,
    current: Any,
    *,
    columns: Iterable[str] | None = None,
    methods: Mapping[str, str | DriftMethod] | None = None,
    thresholds: Mapping[str, float] | None = None,
    feature_importance: Mapping[str, float] | None = None,
    categorical: Iterable[str] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    dataset_threshold: float = 0.5,
    correction: str = "bonferroni",
    min_rows: int = 30,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
) -> DriftReport:
    """Compare ``current`` data with ``reference`` data, column by column.

    ``reference``/``current``: pandas DataFrames, pyarrow Tables, Parquet file paths
    (read one column and ``chunk_rows`` rows at a time), or objects with ``to_arrow()`` /
    ``to_pandas()``. ``columns``: which to analyse (default: all reference columns).
    ``methods``: method name or :class:`DriftMethod` per column name or per kind
    (``"numeric"``, ``"categorical"``); defaults ``ks`` and ``chisquare``.
    ``thresholds``: per column name or per method name; for p-value methods it is the
    family-wise alpha (divided by the number of p-value tests under Bonferroni).
    ``feature_importance``: weights for the dataset-level share (missing columns weigh 0).
    A key of ``methods`` / ``thresholds`` / ``feature_importance`` that is neither a
    column of the data nor a kind / method name raises ``ValidationFailed``.
    ``categorical``: columns to treat as categories even if numeric.
    Columns that cannot be judged get ``status="insufficient_data"`` and a reason.
    """
    started = time.perf_counter()
    ref = open_source(reference, role="reference")
    cur = open_source(current, role="current")
    if not 0.0 < dataset_threshold <= 1.0:
        raise ValidationFailed(f"dataset_threshold must be in (0, 1], got {dataset_threshold}")
    if correction not in ("bonferroni", "none"):
        raise ValidationFailed(f"correction must be 'bonferroni' or 'none', got {correction!r}")
    names = _column_names(ref, cur, columns)
    cat_set = set(categorical or ())
    unknown_cat = sorted(cat_set - set(ref.columns) - set(cur.columns))
    if unknown_cat:
        raise ValidationFailed(
            f"categorical= names columns that exist in neither window: {unknown_cat}",
            details={"columns": unknown_cat},
        )
    _check_keys(ref, cur, methods or {}, thresholds or {}, feature_importance or {})
    weights = _weights(feature_importance, names)
    plans = [
        _plan(name, ref, cur, cat_set, methods or {}, thresholds or {}, weights) for name in names
    ]
    todo = [p for p in plans if p.method is not None]
    pool_size = _pool_size(workers, ref, cur, len(todo))
    done = len(plans) - len(todo)
    if progress is not None:
        progress(done, len(plans), "")
    if todo and pool_size == 1:
        for plan in todo:
            _measure(plan, ref, cur, chunk_rows, min_rows)
            done += 1
            if progress is not None:
                progress(done, len(plans), plan.result.column)
    elif todo:
        with ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="drift") as pool:
            futures = {pool.submit(_measure, p, ref, cur, chunk_rows, min_rows): p for p in todo}
            for future in as_completed(futures):
                future.result()
                done += 1
                if progress is not None:
                    progress(done, len(plans), futures[future].result.column)
    alpha, n_tests = _decide(plans, correction)
    return _summarise(
        plans, ref, cur, dataset_threshold, correction, alpha, n_tests, weights, started
    )


def _column_names(ref: Source, cur: Source, columns: Iterable[str] | None) -> list[str]:
    if columns is None:
        names = ref.columns + [c for c in cur.columns if c not in set(ref.columns)]
        return names
    names = list(dict.fromkeys(columns))
    absent = [c for c in names if c not in ref.columns and c not in cur.columns]
    if absent:
        raise ValidationFailed(
            f"columns not found in reference or current data: {absent}; "
            f"reference has {ref.columns[:50]}",
            details={"missing": absent, "reference_columns": ref.columns},
        )
    return names


def _check_keys(
    ref: Source,
    cur: Source,
    methods: Mapping[str, str | DriftMethod],
    thresholds: Mapping[str, float],
    importance: Mapping[str, float],
) -> None:
    """ValidationFailed naming the keys of ``methods`` / ``thresholds`` /
    ``feature_importance`` that are neither a column of the data nor a kind / method name
    (a typo would otherwise be ignored silently)."""
    data_columns = list(dict.fromkeys(ref.columns + cur.columns))
    method_names = {n for names in available_methods().values() for n in names}
    method_names |= {m.name for m in methods.values() if isinstance(m, DriftMethod)}
    checks = [
        ("methods", methods, ["numeric", "categorical"], "a kind"),
        ("thresholds", thresholds, sorted(method_names), "a method"),
        ("feature_importance", importance, [], ""),
    ]
    problems: dict[str, list[str]] = {}
    messages = []
    for arg, given, names, what in checks:
        unknown = [k for k in given if k not in names and k not in data_columns]
        if unknown:
            problems[arg] = unknown
            kinds = f"{what} ({', '.join(map(repr, names))}) or " if names else ""
            messages.append(
                f"{arg} has unknown key(s) {unknown}: each key must be {kinds}"
                f"a column ({data_columns[:50]})"
            )
    not_numbers = {
        k: v
        for k, v in thresholds.items()
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)
    }
    if not_numbers:
        problems["thresholds"] = [*problems.get("thresholds", []), *map(str, not_numbers)]
        messages.append(f"thresholds must be finite numbers, got {not_numbers}")
    if messages:
        raise ValidationFailed("; ".join(messages), details=problems)


def _weights(importance: Mapping[str, float] | None, names: list[str]) -> dict[str, float] | None:
    if importance is None:
        return None
    bad = {k: v for k, v in importance.items() if not (math.isfinite(float(v)) and float(v) >= 0)}
    if bad:
        raise ValidationFailed(
            f"feature_importance weights must be finite and >= 0; bad: {bad}", details=bad
        )
    return {n: float(importance.get(n, 0.0)) for n in names}


def _plan(
    name: str,
    ref: Source,
    cur: Source,
    cat_set: set[str],
    methods: Mapping[str, str | DriftMethod],
    thresholds: Mapping[str, float],
    weights: dict[str, float] | None,
) -> _Planned:
    in_ref, in_cur = name in ref.columns, name in cur.columns
    ref_type = str(ref.type_of(name)) if in_ref else None
    cur_type = str(cur.type_of(name)) if in_cur else None
    kind = ref.kind(name) if in_ref else cur.kind(name)
    if name in cat_set:
        kind = "categorical"
    result = ColumnDrift(
        column=name,
        kind=kind,
        method=None,
        status="insufficient_data",
        reference_rows=ref.num_rows,
        current_rows=cur.num_rows,
        reference_type=ref_type,
        current_type=cur_type,
        weight=1.0 if weights is None else weights[name],
    )
    reason = None
    if not in_ref:
        reason = "column missing in reference data"
    elif not in_cur:
        reason = "column missing in current data"
    elif kind == "unsupported":
        reason = f"unsupported column type {ref_type}; cast it to a number or string"
    elif name not in cat_set and ref.kind(name) != cur.kind(name):
        reason = f"type changed from {ref_type} to {cur_type}"
    if reason is not None:
        result.reason = reason
        return _Planned(result, None)
    choice = methods.get(name, methods.get(kind, DEFAULT_METHODS[kind]))
    method = choice if isinstance(choice, DriftMethod) else get_method(kind, str(choice))  # type: ignore[arg-type]
    if method.kind != kind:
        raise ValidationFailed(
            f"column {name!r} is {kind} but method {method.name!r} is for {method.kind} columns"
        )
    threshold = float(thresholds.get(name, thresholds.get(method.name, method.default_threshold)))
    if not math.isfinite(threshold) or threshold < 0:
        raise ValidationFailed(f"threshold for column {name!r} must be finite and >= 0")
    result.method = method.name
    result.distance_label = method.distance_label
    return _Planned(result, method, threshold)


def _pool_size(workers: int | None, ref: Source, cur: Source, tasks: int) -> int:
    if workers is not None:
        return max(1, int(workers))
    per_column = 8 * 2 * (ref.num_rows + cur.num_rows)  # sorted values + search temporaries
    by_memory = max(1, _MEMORY_BUDGET // max(per_column, 1))
    return int(max(1, min(os.cpu_count() or 1, 4, by_memory, tasks)))


def _measure(plan: _Planned, ref: Source, cur: Source, chunk_rows: int, min_rows: int) -> None:
    res, method = plan.result, plan.method
    assert method is not None
    if res.kind == "numeric":
        col = res.column
        precision = narrowest_float(ref.type_of(col), cur.type_of(col))
        a = read_numeric(ref, col, chunk_rows, precision)
        b = read_numeric(cur, col, chunk_rows, precision)
        _counts(res, a.n, a.rows, b.n, b.rows)
        try:
            _judge(plan, (a, b), _too_few(a, b, min_rows))
        finally:  # after the method, so a sort it did is reused by the chart
            res.plot = numeric_plot(a, b)
    else:
        ra, rb = (
            read_categorical(ref, res.column, chunk_rows),
            read_categorical(cur, res.column, chunk_rows),
        )
        pair = CategoricalPair.align(ra, rb)
        _counts(res, ra.n, ra.rows, rb.n, rb.rows)
        res.plot = categorical_plot(pair)
        seen = len(pair.categories) - len(pair.unseen)
        res.unseen_categories = [
            {"value": c, "count": int(pair.current[seen + i])}
            for i, c in enumerate(pair.unseen[:50])
        ]
        res.unseen_share = pair.unseen_count / rb.n if rb.n else None
        res.details["unseen_distinct"] = len(pair.unseen)
        res.details["categories"] = len(pair.categories)
        _judge(plan, (pair.reference, pair.current), _too_few(ra, rb, min_rows))


def _judge(plan: _Planned, args: tuple[Any, Any], reason: str | None) -> None:
    res, method = plan.result, plan.method
    assert method is not None
    if reason is not None:
        res.reason = reason
        return
    try:
        m = method.measure(*args)
    except InsufficientData as exc:
        res.reason = str(exc)
        return
    values = [m.statistic, m.distance] + ([m.p_value] if m.p_value is not None else [])
    if not all(math.isfinite(float(v)) for v in values):
        res.reason = f"method {method.name!r} produced a non-finite value; no verdict"
        return
    plan.measurement = m


def _counts(res: ColumnDrift, n_ref: int, rows_ref: int, n_cur: int, rows_cur: int) -> None:
    res.reference_count, res.current_count = n_ref, n_cur
    res.reference_null_rate = (rows_ref - n_ref) / rows_ref if rows_ref else None
    res.current_null_rate = (rows_cur - n_cur) / rows_cur if rows_cur else None


def _too_few(a: Any, b: Any, min_rows: int) -> str | None:
    for label, s in (("reference", a), ("current", b)):
        if s.rows == 0:
            return f"{label} window is empty"
        if s.n == 0:
            return f"{label} column is entirely null"
        if s.n < min_rows:
            return f"{label} has {s.n} non-null values; at least {min_rows} are needed"
    return None


def _decide(plans: list[_Planned], correction: str) -> tuple[float, int]:
    measured = [p for p in plans if p.measurement is not None]
    n_tests = sum(1 for p in measured if p.method is not None and p.method.uses_p_value)
    divisor = n_tests if correction == "bonferroni" and n_tests > 0 else 1
    alphas = []
    for p in measured:
        m, method, res = p.measurement, p.method, p.result
        assert m is not None and method is not None
        threshold = p.base_threshold / divisor if method.uses_p_value else p.base_threshold
        if method.uses_p_value:
            alphas.append(p.base_threshold)
            res.min_effect = method.min_effect
        res.statistic, res.p_value, res.distance = m.statistic, m.p_value, m.distance
        res.threshold = threshold
        res.details.update(m.details)
        res.drifted = bool(method.is_drift(m, threshold))
        res.status = "drifted" if res.drifted else "ok"
    alpha = alphas[0] if alphas and all(a == alphas[0] for a in alphas) else float("nan")
    return (alpha if alphas else 0.05), n_tests


def _summarise(
    plans: list[_Planned],
    ref: Source,
    cur: Source,
    dataset_threshold: float,
    correction: str,
    alpha: float,
    n_tests: int,
    weights: dict[str, float] | None,
    started: float,
) -> DriftReport:
    cols = [p.result for p in plans]
    evaluated = [c for c in cols if c.status != "insufficient_data"]
    w = np.array([c.weight for c in evaluated], dtype=np.float64)
    hit = np.array([c.drifted for c in evaluated], dtype=np.float64)
    reason = None
    if not evaluated:
        reason = "no column could be evaluated (see each column's reason)"
    elif w.sum() <= 0:
        reason = "feature_importance gives zero weight to every evaluated column"
    share = float((w * hit).sum() / w.sum()) if reason is None else 0.0
    drifted = reason is None and share >= dataset_threshold
    status: Status = "insufficient_data" if reason else ("drifted" if drifted else "ok")
    return DriftReport(
        columns=cols,
        share_drifted=share,
        drifted=drifted,
        threshold=dataset_threshold,
        status=status,
        alpha=alpha,
        correction=correction,
        n_p_value_tests=n_tests,
        weighted=weights is not None,
        reference_rows=ref.num_rows,
        current_rows=cur.num_rows,
        elapsed_seconds=round(time.perf_counter() - started, 4),
        created=datetime.now(UTC).isoformat(timespec="milliseconds"),
        reason=reason,
    )
