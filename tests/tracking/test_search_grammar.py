"""The run filter grammar: what parses, and what is rejected with a useful message."""

from __future__ import annotations

import time

import pytest

from conveyor.errors import LimitExceeded, ValidationFailed
from conveyor.tracking.search import (
    MAX_CLAUSES,
    MAX_IN_VALUES,
    MAX_ORDER_TERMS,
    Clause,
    OrderKey,
    parse_filter,
    parse_order_by,
)


def test_parses_metric_param_tag_and_attribute_clauses() -> None:
    clauses = parse_filter(
        "metrics.auc > 0.8 and params.model = 'rf' AND tags.`team name` != \"ml\" "
        "and status IN ('FINISHED', 'FAILED') and metrics.val.loss <= 1e-3"
    )
    assert clauses == [
        Clause("metric", "auc", ">", 0.8),
        Clause("param", "model", "=", "rf"),
        Clause("tag", "team name", "!=", "ml"),
        Clause("attribute", "status", "in", ["FINISHED", "FAILED"]),
        Clause("metric", "val.loss", "<=", 0.001),
    ]


def test_empty_filter_means_no_clauses() -> None:
    assert parse_filter(None) == []
    assert parse_filter("   ") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("metrics.auc >", "ends too early"),
        ("metrics.auc > 'high'", "compares with a number"),
        ("colour = 'red'", "unknown run attribute 'colour'"),
        ("params.depth > 3", "operator '>' is not supported for param"),
        ("metrics.a > 1 or metrics.b < 2", "OR is not supported"),
        ("metrics.a > 1 metrics.b < 2", "expected 'and'"),
        ("metrics.a ~ 1", "cannot parse filter"),
    ],
)
def test_malformed_filters_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        parse_filter(text)


def test_order_by_terms() -> None:
    assert parse_order_by(["metrics.auc DESC", "start_time", "params.model asc"]) == [
        OrderKey("metric", "auc", True),
        OrderKey("attribute", "start_time", False),
        OrderKey("param", "model", False),
    ]
    with pytest.raises(ValidationFailed):
        parse_order_by(["metrics.auc sideways"])


def test_run_to_dict_has_every_field_and_encodes_non_finite() -> None:
    import dataclasses
    import math

    from conveyor.tracking.entities import Run

    run = Run("i", "e", "n", "RUNNING", "u", 1, None, metrics={"a": math.nan, "b": 1.0})
    data = run.to_dict()
    assert set(data) == {f.name for f in dataclasses.fields(Run)}
    assert data["metrics"] == {"a": "NaN", "b": 1.0}
    assert Run.from_dict(data).metrics["b"] == 1.0


@pytest.mark.parametrize("clauses", [1_000, 70_000])
def test_long_filters_are_refused_quickly_naming_the_limit(clauses: int) -> None:
    text = " and ".join(["metrics.a > 1"] * clauses)
    start = time.perf_counter()
    with pytest.raises(LimitExceeded, match="over the limit") as caught:
        parse_filter(text)
    assert time.perf_counter() - start < 0.5
    assert caught.value.status == 400
    assert caught.value.details["limit"] in ("clauses in a filter", "filter length in characters")


def test_clause_limit_counts_clauses_and_names_it() -> None:
    parse_filter(" and ".join(["metrics.a > 1"] * MAX_CLAUSES))
    with pytest.raises(
        LimitExceeded, match=f"clauses in a filter: 51 is over the limit of {MAX_CLAUSES}"
    ):
        parse_filter(" and ".join(["metrics.a > 1"] * (MAX_CLAUSES + 1)))


def test_in_list_and_order_by_are_bounded() -> None:
    values = ", ".join(f"'{i}'" for i in range(MAX_IN_VALUES + 1))
    with pytest.raises(LimitExceeded, match="values in an IN list"):
        parse_filter(f"params.x in ({values})")
    with pytest.raises(LimitExceeded, match="order_by terms"):
        parse_order_by(["metrics.a"] * (MAX_ORDER_TERMS + 1))


def test_parentheses_do_not_nest() -> None:
    with pytest.raises(ValidationFailed, match="expected"):
        parse_filter("(metrics.a > 1)")
    with pytest.raises(ValidationFailed, match="a number or a quoted string"):
        parse_filter("params.a in (('1'))")
