"""Data-quality checks of a current window against a reference window.

Checks, each a :class:`QualityIssue` when it fails:

* ``schema.missing`` / ``schema.extra`` / ``schema.type_changed`` — column set and kinds
  (numeric ↔ categorical) compared with the reference (severity ``error``).
* ``nulls`` — current null rate above the reference rate by more than
  ``max_null_rate_increase`` (absolute, default 0.05). NaN/±inf count as null.
* ``range`` — share of current numeric values outside ``[min, max]`` of the reference
  above ``max_out_of_range_share`` (default 0.01).
* ``unseen`` — share of current categorical values never seen in the reference above
  ``max_unseen_share`` (default 0.01); the unseen values are listed.
* ``volume`` — current row count off ``expected_rows`` (default: the reference row count)
  by more than ``volume_tolerance`` (relative, default 0.5).

Every column is streamed in ``chunk_rows`` batches: memory stays at one batch plus the
reference category set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import orjson

from conveyor.errors import ValidationFailed
from conveyor.monitoring._columns import read_categorical
from conveyor.monitoring._sources import (
    DEFAULT_CHUNK_ROWS,
    Source,
    narrowest_float,
    open_source,
    round_to,
    to_float_array,
)

__all__ = ["ColumnQuality", "QualityIssue", "QualityReport", "quality_report"]


@dataclass(slots=True)
class QualityIssue:
    """One failed check."""

    check: str
    severity: str
    message: str
    column: str | None = None
    value: float | None = None
    threshold: float | None = None


@dataclass(slots=True)
class ColumnQuality:
    """Quality figures of one column present in both windows."""

    column: str
    kind: str
    reference_type: str
    current_type: str
    reference_null_rate: float | None
    current_null_rate: float | None
    reference_min: float | None = None
    reference_max: float | None = None
    out_of_range_share: float | None = None
    unseen_share: float | None = None
    unseen_categories: list[str] = field(default_factory=list)


@dataclass(slots=True)
class QualityReport:
    """All quality checks; ``passed`` is True when no check failed."""

    reference_rows: int
    current_rows: int
    expected_rows: int
    columns: list[ColumnQuality]
    issues: list[QualityIssue]
    missing_columns: list[str]
    extra_columns: list[str]
    type_changes: dict[str, tuple[str, str]]

    @property
    def passed(self) -> bool:
        return not self.issues

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["passed"] = self.passed
        out["type_changes"] = {k: list(v) for k, v in self.type_changes.items()}
        return out

    def to_json(self) -> str:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_SERIALIZE_NUMPY).decode()


def quality_report(
    reference: Any,
    current: Any,
    *,
    columns: Iterable[str] | None = None,
    categorical: Iterable[str] | None = None,
    expected_rows: int | None = None,
    volume_tolerance: float = 0.5,
    max_null_rate_increase: float = 0.05,
    max_out_of_range_share: float = 0.01,
    max_unseen_share: float = 0.01,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Callable[[int, int, str], None] | None = None,
) -> QualityReport:
    """Check ``current`` against ``reference`` (same inputs as ``drift_report``).

    ``progress(done, total, column)`` is called after each column.
    """
    ref = open_source(reference, role="reference")
    cur = open_source(current, role="current")
    wanted = list(dict.fromkeys(columns)) if columns is not None else ref.columns
    unknown = [c for c in wanted if c not in ref.columns]
    if unknown:
        raise ValidationFailed(
            f"columns not in the reference data: {unknown}", details={"columns": unknown}
        )
    cat_set = set(categorical or ())
    issues: list[QualityIssue] = []
    missing = [c for c in wanted if c not in cur.columns]
    extra = [c for c in cur.columns if c not in ref.columns] if columns is None else []
    issues += [
        QualityIssue("schema.missing", "error", f"column {c!r} is missing in current data", c)
        for c in missing
    ]
    issues += [
        QualityIssue("schema.extra", "warning", f"column {c!r} is not in the reference", c)
        for c in extra
    ]
    changes: dict[str, tuple[str, str]] = {}
    results = []
    for done, name in enumerate(wanted, start=1):
        if progress is not None:
            progress(done - 1, len(wanted), name)
        if name in missing:
            continue
        kind = "categorical" if name in cat_set else ref.kind(name)
        if name not in cat_set and ref.kind(name) != cur.kind(name):
            changes[name] = (str(ref.type_of(name)), str(cur.type_of(name)))
            issues.append(
                QualityIssue(
                    "schema.type_changed",
                    "error",
                    f"column {name!r} changed type from {changes[name][0]} to {changes[name][1]}",
                    name,
                )
            )
            continue
        cq = ColumnQuality(name, kind, str(ref.type_of(name)), str(cur.type_of(name)), None, None)
        if kind == "numeric":
            _numeric(cq, ref, cur, chunk_rows)
        elif kind == "categorical":
            _categorical(cq, ref, cur, chunk_rows)
        else:
            cq.reference_null_rate = _null_rate(ref, name, chunk_rows)
            cq.current_null_rate = _null_rate(cur, name, chunk_rows)
        issues += _column_issues(
            cq, max_null_rate_increase, max_out_of_range_share, max_unseen_share
        )
        results.append(cq)
    if progress is not None:
        progress(len(wanted), len(wanted), "")
    expected = ref.num_rows if expected_rows is None else int(expected_rows)
    if abs(cur.num_rows - expected) > volume_tolerance * expected:
        issues.append(
            QualityIssue(
                "volume",
                "warning",
                f"current window has {cur.num_rows:,} rows; expected {expected:,} "
                f"± {volume_tolerance:.0%}",
                None,
                float(cur.num_rows),
                float(expected),
            )
        )
    return QualityReport(
        ref.num_rows, cur.num_rows, expected, results, issues, missing, extra, changes
    )


def _numeric(cq: ColumnQuality, ref: Source, cur: Source, chunk_rows: int) -> None:
    lo, hi, rows, valid = np.inf, -np.inf, 0, 0
    # in the precision of the narrower side: float32 inputs of a model are in range of
    # the float64 training data they came from
    precision = narrowest_float(ref.type_of(cq.column), cur.type_of(cq.column))
    for chunk in ref.chunks(cq.column, chunk_rows):
        v = round_to(to_float_array(chunk), precision)
        v = v[np.isfinite(v)]
        rows += len(chunk)
        valid += v.size
        if v.size:
            lo, hi = min(lo, float(v.min())), max(hi, float(v.max()))
    cq.reference_null_rate = (rows - valid) / rows if rows else None
    if valid:
        cq.reference_min, cq.reference_max = lo, hi
    rows, valid, outside = 0, 0, 0
    for chunk in cur.chunks(cq.column, chunk_rows):
        v = round_to(to_float_array(chunk), precision)
        v = v[np.isfinite(v)]
        rows += len(chunk)
        valid += v.size
        outside += int(np.count_nonzero((v < lo) | (v > hi)))
    cq.current_null_rate = (rows - valid) / rows if rows else None
    if valid and cq.reference_min is not None:
        cq.out_of_range_share = outside / valid


def _categorical(cq: ColumnQuality, ref: Source, cur: Source, chunk_rows: int) -> None:
    a = read_categorical(ref, cq.column, chunk_rows)
    b = read_categorical(cur, cq.column, chunk_rows)
    cq.reference_null_rate = a.null_count / a.rows if a.rows else None
    cq.current_null_rate = b.null_count / b.rows if b.rows else None
    unseen = sorted((c for c in b.counts if c not in a.counts), key=lambda c: -b.counts[c])
    cq.unseen_categories = unseen[:50]
    if b.n:
        cq.unseen_share = sum(b.counts[c] for c in unseen) / b.n


def _null_rate(source: Source, name: str, chunk_rows: int) -> float | None:
    rows = nulls = 0
    for chunk in source.chunks(name, chunk_rows):
        rows += len(chunk)
        nulls += chunk.null_count
    return nulls / rows if rows else None


def _column_issues(
    cq: ColumnQuality, max_null: float, max_range: float, max_unseen: float
) -> list[QualityIssue]:
    out = []
    name = cq.column
    if cq.current_null_rate is not None:
        base = cq.reference_null_rate or 0.0
        if cq.current_null_rate - base > max_null:
            out.append(
                QualityIssue(
                    "nulls",
                    "warning",
                    f"{name!r}: null rate {cq.current_null_rate:.1%} vs {base:.1%} in reference",
                    name,
                    cq.current_null_rate,
                    base + max_null,
                )
            )
    if cq.out_of_range_share is not None and cq.out_of_range_share > max_range:
        out.append(
            QualityIssue(
                "range",
                "warning",
                f"{name!r}: {cq.out_of_range_share:.1%} of values outside the reference range "
                f"[{cq.reference_min:.6g}, {cq.reference_max:.6g}]",
                name,
                cq.out_of_range_share,
                max_range,
            )
        )
    if cq.unseen_share is not None and cq.unseen_share > max_unseen:
        shown = ", ".join(cq.unseen_categories[:5])
        out.append(
            QualityIssue(
                "unseen",
                "warning",
                f"{name!r}: {cq.unseen_share:.1%} of values are categories unseen in the "
                f"reference ({shown})",
                name,
                cq.unseen_share,
                max_unseen,
            )
        )
    return out
