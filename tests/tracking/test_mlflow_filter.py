"""MLflow's run-search dialect parsed into Conveyor's clauses (the grammar others broke on)."""

from __future__ import annotations

import pytest

from conveyor.errors import ValidationFailed
from conveyor.tracking.mlflow_filter import parse_mlflow_filter, parse_mlflow_order_by
from conveyor.tracking.search import Clause, OrderKey


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.loss < -12.0", [Clause("metric", "loss", "<", -12.0)]),
        ("metrics.loss >= -1e-3", [Clause("metric", "loss", ">=", -0.001)]),
        ("params.model = 'rf'", [Clause("param", "model", "=", "rf")]),
        ('params.model = "rf"', [Clause("param", "model", "=", "rf")]),
        ('tags.note = "it\'s"', [Clause("tag", "note", "=", "it's")]),
        ("params.`paramètre` = 'é'", [Clause("param", "paramètre", "=", "é")]),
        ("tags.mlflow.runName = 'r1'", [Clause("attribute", "name", "=", "r1")]),
        ("tags.`mlflow.runName` LIKE 'r%'", [Clause("attribute", "name", "like", "r%")]),
        ("attributes.user_id = 'ann'", [Clause("attribute", "user", "=", "ann")]),
        ("attributes.created > 5", [Clause("attribute", "start_time", ">", 5)]),
        ("attribute.run_id IN ('a', 'b')", [Clause("attribute", "id", "in", ["a", "b"])]),
        (
            "metrics.m > 1 AND params.p != 'x'",
            [Clause("metric", "m", ">", 1), Clause("param", "p", "!=", "x")],
        ),
        ("", []),
    ],
)
def test_mlflow_filters(text: str, expected: list[Clause]) -> None:
    assert parse_mlflow_filter(text) == expected


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("datasets.name = 'x'", "datasets"),
        ("attributes.artifact_uri = 'x'", "run_id"),
        ("attributes.lifecycle_stage = 'active'", "run_view_type"),
        ("attributes.nope = 1", "unknown run attribute"),
        ("metrics.m > 1 OR metrics.m < 0", "OR"),
    ],
)
def test_refusals_name_the_way_out(text: str, needle: str) -> None:
    with pytest.raises(ValidationFailed, match=needle):
        parse_mlflow_filter(text)


def test_order_by() -> None:
    assert parse_mlflow_order_by(["metrics.`m 1` DESC", "attributes.start_time"]) == [
        OrderKey("metric", "m 1", True),
        OrderKey("attribute", "start_time", False),
    ]
    assert parse_mlflow_order_by(["tags.mlflow.runName ASC"]) == [
        OrderKey("attribute", "name", False)
    ]
