"""Declarative data checks: expectations as JSON, a report per run, errors that list failures.

::

    suite = CheckSuite([
        not_null("user_id"),
        in_range("age", 0, 120),
        allowed_values("country", ["DE", "FR", "US"]),
        unique("user_id"),
        row_count(min=1000),
        schema_match([{"name": "user_id", "type": "long"}, {"name": "age", "type": "long"}],
                     allow_extra=True),
    ])
    report = run_checks(df, suite)
    report.passed            # bool
    report.raise_for_failures()   # ValidationFailed listing each failed check

``CheckSuite.to_dict()`` / ``CheckSuite.from_dict()`` round-trip through JSON, so suites
can live in files, the metadata store or a gate policy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from conveyor.data.frames import to_table
from conveyor.data.schema import compare_schemas, infer_schema
from conveyor.errors import ValidationFailed

__all__ = [
    "CheckReport",
    "CheckResult",
    "CheckSuite",
    "Expectation",
    "allowed_values",
    "in_range",
    "not_null",
    "row_count",
    "run_checks",
    "schema_match",
    "unique",
]

EXAMPLES = 5


@dataclass(frozen=True)
class Expectation:
    """One declarative check: its ``kind``, the ``column`` it looks at, its parameters."""

    kind: str
    column: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or (f"{self.kind}({self.column})" if self.column else self.kind)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "column": self.column, "params": self.params, "name": self.name}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Expectation:
        if not isinstance(data, dict) or data.get("kind") not in _RUNNERS:
            raise ValidationFailed(
                f"unknown expectation {data!r}: 'kind' must be one of {sorted(_RUNNERS)}"
            )
        return cls(
            kind=data["kind"],
            column=data.get("column"),
            params=dict(data.get("params") or {}),
            name=data.get("name") or "",
        )


def _fraction(value: float, what: str) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValidationFailed(f"{what} must be between 0 and 1, got {value}")
    return float(value)


def not_null(column: str, *, max_fraction: float = 0.0, name: str = "") -> Expectation:
    """At most ``max_fraction`` of the rows of ``column`` are null (default: none)."""
    return Expectation(
        "not_null", column, {"max_fraction": _fraction(max_fraction, "max_fraction")}, name
    )


def in_range(
    column: str,
    min: float | None = None,
    max: float | None = None,
    *,
    max_fraction: float = 0.0,
    name: str = "",
) -> Expectation:
    """Non-null values lie in ``[min, max]`` (either bound optional; NaN is out of range)."""
    if min is None and max is None:
        raise ValidationFailed(f"in_range({column!r}) needs min, max or both")
    return Expectation(
        "in_range",
        column,
        {"min": min, "max": max, "max_fraction": _fraction(max_fraction, "max_fraction")},
        name,
    )


def allowed_values(column: str, values: Iterable[Any], *, name: str = "") -> Expectation:
    """Every non-null value of ``column`` is one of ``values``."""
    allowed = list(values)
    if not allowed:
        raise ValidationFailed(f"allowed_values({column!r}) needs at least one value")
    return Expectation("allowed_values", column, {"values": allowed}, name)


def unique(column: str, *, name: str = "") -> Expectation:
    """No non-null value of ``column`` appears twice."""
    return Expectation("unique", column, {}, name)


def row_count(min: int | None = None, max: int | None = None, *, name: str = "") -> Expectation:
    """The number of rows lies in ``[min, max]`` (either bound optional)."""
    if min is None and max is None:
        raise ValidationFailed("row_count needs min, max or both")
    return Expectation("row_count", None, {"min": min, "max": max}, name)


def schema_match(expected_schema: Any, *, allow_extra: bool = False, name: str = "") -> Expectation:
    """Columns of ``expected_schema`` exist with the same logical types (extras optional)."""
    if isinstance(expected_schema, pa.Schema | pa.Table):
        expected_schema = infer_schema(expected_schema)
    entries = [{"name": e["name"], "type": e["type"]} for e in expected_schema]
    return Expectation("schema_match", None, {"schema": entries, "allow_extra": allow_extra}, name)


class CheckSuite:
    """An ordered, JSON-serialisable list of expectations."""

    def __init__(self, expectations: Iterable[Expectation | dict[str, Any]] = ()) -> None:
        self.expectations = [
            e if isinstance(e, Expectation) else Expectation.from_dict(e) for e in expectations
        ]

    def __iter__(self) -> Any:
        return iter(self.expectations)

    def __len__(self) -> int:
        return len(self.expectations)

    def to_dict(self) -> dict[str, Any]:
        return {"expectations": [e.to_dict() for e in self.expectations]}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | Sequence[dict[str, Any]]) -> CheckSuite:
        items = data.get("expectations", []) if isinstance(data, dict) else data
        return cls(items)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one expectation."""

    name: str
    kind: str
    column: str | None
    passed: bool
    observed: dict[str, Any]
    threshold: dict[str, Any]
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CheckReport:
    """All results of one ``run_checks`` call."""

    results: list[CheckResult]
    num_rows: int

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "num_rows": self.num_rows,
            "num_checks": len(self.results),
            "num_failed": len(self.failures),
            "results": [r.to_dict() for r in self.results],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckReport:
        return cls([CheckResult(**r) for r in data["results"]], int(data["num_rows"]))

    def raise_for_failures(self, what: str = "data") -> None:
        """Raise ``ValidationFailed`` naming every failed check; do nothing if all passed."""
        failed = self.failures
        if not failed:
            return
        lines = "\n".join(f"  - {r.name}: {r.message}" for r in failed)
        raise ValidationFailed(
            f"{len(failed)} of {len(self.results)} data checks failed on {what}:\n{lines}",
            details={"checks": self.to_dict()},
        )


# -- runners ------------------------------------------------------------------------------
def _examples(values: pa.Array) -> list[Any]:
    uniq = pc.unique(values.drop_null())
    out = []
    for v in uniq.slice(0, EXAMPLES).to_pylist():
        out.append(v if isinstance(v, str | int | float | bool) or v is None else str(v))
    return out


def _result(exp: Expectation, passed: bool, observed: dict[str, Any], message: str) -> CheckResult:
    threshold = {k: v for k, v in exp.params.items() if k not in ("schema", "values")}
    if exp.kind == "allowed_values":
        threshold = {"values": exp.params["values"]}
    if exp.kind == "schema_match":
        threshold = {"columns": len(exp.params["schema"]), "allow_extra": exp.params["allow_extra"]}
    return CheckResult(exp.label, exp.kind, exp.column, passed, observed, threshold, message)


def _allowed_count(bad: int, rows: int, max_fraction: float) -> bool:
    return bad <= max_fraction * rows


def _run_not_null(table: pa.Table, exp: Expectation) -> CheckResult:
    col = table[exp.column]
    nulls = col.null_count
    if pa.types.is_floating(col.type):
        nulls += pc.sum(pc.is_nan(col)).as_py() or 0
    rows = table.num_rows
    passed = _allowed_count(nulls, rows, exp.params["max_fraction"])
    frac = nulls / rows if rows else 0.0
    message = f"{nulls} null values ({frac:.2%}) in column {exp.column!r}" + (
        "" if passed else f", allowed {exp.params['max_fraction']:.2%}"
    )
    return _result(exp, passed, {"nulls": nulls, "fraction": frac}, message)


def _run_in_range(table: pa.Table, exp: Expectation) -> CheckResult:
    col = table[exp.column]
    lo, hi = exp.params["min"], exp.params["max"]
    values = col.combine_chunks().drop_null()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    try:
        outside = (
            pc.is_nan(values)
            if pa.types.is_floating(values.type)
            else pa.array(np.zeros(len(values), dtype=bool))
        )
        if lo is not None:
            outside = pc.or_(outside, pc.less(values, pa.scalar(lo).cast(values.type)))
        if hi is not None:
            outside = pc.or_(outside, pc.greater(values, pa.scalar(hi).cast(values.type)))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise ValidationFailed(
            f"in_range({exp.column!r}): cannot compare {col.type} values with {lo!r}..{hi!r}: {exc}"
        ) from exc
    bad_values = values.filter(outside)
    bad = len(bad_values)
    passed = _allowed_count(bad, table.num_rows, exp.params["max_fraction"])
    bounds = f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
    observed: dict[str, Any] = {"out_of_range": bad, "examples": _examples(bad_values)}
    if len(values):
        observed.update(min=_scalar(pc.min(values)), max=_scalar(pc.max(values)))
    message = f"{bad} values of {exp.column!r} outside {bounds}"
    if bad:
        message += f", e.g. {observed['examples']}"
    return _result(exp, passed, observed, message)


def _scalar(value: pa.Scalar) -> Any:
    v = value.as_py()
    return v if isinstance(v, str | int | float | bool) or v is None else str(v)


def _run_allowed_values(table: pa.Table, exp: Expectation) -> CheckResult:
    col = table[exp.column]
    values = col.combine_chunks().drop_null()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    try:
        allowed = pa.array(exp.params["values"]).cast(values.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise ValidationFailed(
            f"allowed_values({exp.column!r}): values do not fit column type {col.type}: {exc}"
        ) from exc
    bad_values = values.filter(pc.invert(pc.is_in(values, value_set=allowed)))
    bad = len(bad_values)
    examples = _examples(bad_values)
    message = f"{bad} values of {exp.column!r} not in the allowed set"
    if bad:
        message += f", e.g. {examples}"
    return _result(exp, bad == 0, {"not_allowed": bad, "examples": examples}, message)


def _run_unique(table: pa.Table, exp: Expectation) -> CheckResult:
    values = table[exp.column].combine_chunks().drop_null()
    counts = pc.value_counts(values)
    freq = counts.field(1).to_numpy(zero_copy_only=False)
    dup_mask = freq > 1
    duplicates = int(freq[dup_mask].sum() - dup_mask.sum())
    examples = _examples(counts.field(0).filter(pa.array(dup_mask)))
    message = f"{duplicates} duplicate values in {exp.column!r}"
    if duplicates:
        message += f", e.g. {examples}"
    return _result(exp, duplicates == 0, {"duplicates": duplicates, "examples": examples}, message)


def _run_row_count(table: pa.Table, exp: Expectation) -> CheckResult:
    lo, hi = exp.params["min"], exp.params["max"]
    rows = table.num_rows
    passed = (lo is None or rows >= lo) and (hi is None or rows <= hi)
    bounds = f"[{0 if lo is None else lo}, {'inf' if hi is None else hi}]"
    return _result(exp, passed, {"rows": rows}, f"{rows} rows, expected {bounds}")


def _run_schema_match(table: pa.Table, exp: Expectation) -> CheckResult:
    diff = compare_schemas(exp.params["schema"], table.schema)
    passed = diff.identical or (exp.params["allow_extra"] and diff.compatible)
    return _result(exp, passed, diff.to_dict(), diff.describe())


_RUNNERS: dict[str, Callable[[pa.Table, Expectation], CheckResult]] = {
    "not_null": _run_not_null,
    "in_range": _run_in_range,
    "allowed_values": _run_allowed_values,
    "unique": _run_unique,
    "row_count": _run_row_count,
    "schema_match": _run_schema_match,
}


def run_checks(
    data: Any, expectations: CheckSuite | Iterable[Expectation | dict[str, Any]]
) -> CheckReport:
    """Run every expectation against ``data``; a missing column fails its check."""
    table = to_table(data)
    suite = expectations if isinstance(expectations, CheckSuite) else CheckSuite(expectations)
    results = []
    for exp in suite:
        if exp.column is not None and exp.column not in table.column_names:
            results.append(
                _result(
                    exp,
                    False,
                    {"missing_column": exp.column},
                    f"column {exp.column!r} is not in the data",
                )
            )
            continue
        results.append(_RUNNERS[exp.kind](table, exp))
    return CheckReport(results, table.num_rows)
