"""Definitions: the apply plan (added/changed/removed), versions, audit, list/show, refusals."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

import conveyor
from conveyor.cli.main import app
from conveyor.errors import ValidationFailed
from conveyor.features.definitions import Entity, FeatureService, FeatureView, Field, FileSource

DEFS = """
from datetime import timedelta
from conveyor.features import Entity, FeatureService, FeatureView, Field, FileSource, Float64, Int64

customer = Entity(name="customer", join_keys=["customer_id"])
activity = FeatureView(
    name="customer_activity",
    entities=[customer],
    schema=[Field(name="orders_7d", dtype=Int64), Field(name="spend_7d", dtype=Float64)],
    source=FileSource(path="data/activity", timestamp_field="event_timestamp"),
    ttl=timedelta(days={ttl}),
)
churn = FeatureService(name="churn", features=[activity])
"""


def _write(tmp_path: Path, ttl: int = 7, extra: str = "") -> Path:
    path = tmp_path / "defs.py"
    path.write_text(DEFS.format(ttl=ttl) + textwrap.dedent(extra))
    return path


def _apply(runner: CliRunner, *args: str) -> dict:
    result = runner.invoke(app, ["features", "apply", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _actions(plan: dict) -> dict[str, str]:
    return {i["name"]: i["action"] for i in plan["items"]}


def test_apply_shows_plan_then_applies(tmp_path: Path) -> None:
    runner = CliRunner()
    defs = _write(tmp_path)
    dry = _apply(runner, str(defs), "--dry-run")
    assert dry["applied"] is False
    assert _actions(dry) == {"customer": "added", "customer_activity": "added", "churn": "added"}
    assert conveyor.connect().list_features() == []  # dry run wrote nothing

    first = _apply(runner, str(defs))
    assert first["applied"] is True
    again = _apply(runner, str(defs))
    assert set(_actions(again).values()) == {"unchanged"} and again["applied"] is False

    changed = _apply(runner, str(_write(tmp_path, ttl=3)))
    item = next(i for i in changed["items"] if i["name"] == "customer_activity")
    assert item["action"] == "changed" and item["version"] == 2 and item["changes"] == ["ttl_s"]

    # the service dropped from the file: removed
    text = defs.read_text().replace('churn = FeatureService(name="churn", features=[activity])', "")
    defs.write_text(text)
    removed = _apply(runner, str(defs))
    assert _actions(removed)["churn"] == "removed"

    client = conveyor.connect()
    kinds = {(o.kind, o.name): o.version for o in client.list_features()}
    assert kinds == {("entity", "customer"): 1, ("feature_view", "customer_activity"): 2}
    versions = client.list_feature_versions("customer_activity", "feature_view")
    assert [v.spec["ttl_s"] for v in versions] == [7 * 86400, 3 * 86400]
    actions = [e.action for e in client.list_audit_events(limit=100)]
    for action in ("feature_view.apply", "feature_view.update", "feature_service.remove"):
        assert action in actions

    shown = runner.invoke(app, ["features", "show", "customer_activity"])
    assert shown.exit_code == 0 and "orders_7d (int64)" in shown.stdout
    listed = runner.invoke(app, ["features", "list"])
    assert listed.exit_code == 0 and "customer_activity" in listed.stdout
    history = runner.invoke(app, ["features", "show", "customer_activity", "--versions"])
    assert history.exit_code == 0 and "2" in history.stdout


def test_apply_refuses_unknown_feature_in_service(tmp_path: Path) -> None:
    runner = CliRunner()
    defs = _write(
        tmp_path, extra='bad = FeatureService(name="bad", features=["customer_activity:nope"])\n'
    )
    result = runner.invoke(app, ["features", "apply", str(defs)])
    assert result.exit_code == 2
    assert "nope" in result.output and "orders_7d, spend_7d" in result.output


def test_definitions_refuse_bad_input() -> None:
    view = FeatureView(
        name="v",
        entities=[Entity("customer", ["customer_id"])],
        schema=[Field("a", "int64")],
        source=FileSource("x"),
    )
    with pytest.raises(ValidationFailed, match="has no feature 'b'; its features: a"):
        view[["b"]]
    with pytest.raises(ValidationFailed, match="use one of"):
        Field("a", "decimal")
    with pytest.raises(ValidationFailed, match="view:feature"):
        FeatureService("s", ["no-colon"]).refs()
    with pytest.raises(ValidationFailed, match="not a lambda"):
        FeatureView(
            "w", ["customer"], [Field("a")], FileSource("x"), transformation=lambda d: d
        ).to_spec()
