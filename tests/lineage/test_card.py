"""Model cards: user-written fields, the Model Card Toolkit layout, metrics with intervals,
fairness slices from the gate report, deployment history, Markdown and HTML renderings,
and sections from providers ("not available" without them)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conveyor.cli.main import app
from conveyor.errors import ValidationFailed
from conveyor.lineage import providers


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """Cards read what the walks read (tested on both databases in test_chain): SQLite."""
    return f"sqlite:///{tmp_path / 'meta.db'}"


MCT_KEYS = {
    "schema_version",
    "model_details",
    "model_parameters",
    "quantitative_analysis",
    "considerations",
}


@pytest.fixture
def card(looped: Any, tmp_path: Path) -> dict[str, Any]:
    fields = tmp_path / "card.yaml"
    fields.write_text(
        "overview: Predicts which customers will churn next month.\n"
        "users: [retention team]\n"
        "limitations:\n  - trained on one region only\n"
    )
    runner = CliRunner()
    first = runner.invoke(app, ["models", "card-set", "churn/1", "--from", str(fields)])
    assert first.exit_code == 0, first.output
    second = runner.invoke(
        app,
        [
            "models", "card-set", "churn/1",
            "--intended-use", "rank customers for retention offers",
            "--out-of-scope", "credit decisions",
            "--risk", "unequal offers across groups: fairness gate on group",
            "--owner", "Data Science <ds@example.com>",
            "--license", "Apache-2.0",
        ],
    )  # fmt: skip
    assert second.exit_code == 0, second.output
    assert json.loads(second.output)["users"] == ["retention team"]  # merged, not replaced
    return dict(looped.get_model_card("churn", "1", 200))


def test_unknown_fields_are_refused_naming_the_vocabulary(looped: Any) -> None:
    with pytest.raises(ValidationFailed, match=r"unknown model card field.*'intended'.*use_cases"):
        looped.set_model_card_fields("churn", 1, {"intended": "x"})
    result = CliRunner().invoke(app, ["models", "card-set", "churn"])
    assert result.exit_code == 2 and "<model>/<version>" in result.output


def test_the_card_follows_the_toolkit_layout(card: dict[str, Any]) -> None:
    """Layout, user fields, data, metrics with intervals, slices, history, absent parts."""
    assert set(card) == MCT_KEYS
    d = card["model_details"]
    assert d["name"] == "churn" and d["version"]["name"] == "1"
    assert d["overview"].startswith("Predicts which customers")
    assert d["owners"] == [{"name": "Data Science", "contact": "ds@example.com"}]
    assert d["licenses"] == [{"identifier": "Apache-2.0"}]
    c = card["considerations"]
    assert c["use_cases"] == [{"description": "rank customers for retention offers"}]
    assert c["out_of_scope_uses"] == [{"description": "credit decisions"}]
    assert c["limitations"] == [{"description": "trained on one region only"}]
    assert c["ethical_considerations"] == [
        {"name": "unequal offers across groups", "mitigation_strategy": "fairness gate on group"}
    ]
    p = card["model_parameters"]
    assert p["model_architecture"] == "sklearn" and "f0" in p["input_format"]
    roles = {ds["link"]: ds["role"] for ds in p["data"]}
    assert roles["datasets:/retrain.load/1"] == "training"
    assert roles["datasets:/churn-eval/1"] == "evaluation"
    training = next(ds for ds in p["data"] if ds["role"] == "training")
    assert {col["name"] for col in training["profile"]} >= {"f0", "f1", "group", "label"}

    # metrics with bootstrap intervals, fairness slices
    q = card["quantitative_analysis"]
    overall = {m["type"]: m for m in q["performance_metrics"] if not m["slice"]}
    assert {"accuracy", "auc", "precision", "recall", "f1"} <= set(overall)
    acc = overall["accuracy"]
    ci = acc["confidence_interval"]
    assert ci["lower_bound"] <= acc["value"] <= ci["upper_bound"] and ci["level"] == 0.95
    assert "bootstrap" in ci["method"] and acc["n"] == 300
    gate_value = next(c for c in q["gate_report"]["checks"] if c["name"] == "metric:accuracy")
    assert acc["value"] == pytest.approx(gate_value["value"])
    sliced = {m["slice"] for m in q["performance_metrics"] if m["slice"]}
    assert sliced == {"group=a", "group=b"}
    table = q["disaggregated"][0]
    assert table["by"] == "group" and len(table["rows"]) == 2
    row = table["rows"][0]
    lo, hi = row["selection_rate_ci"]
    assert lo <= row["selection_rate"] <= hi

    # deployment history, lineage, sections of absent features
    x = card["model_details"]["conveyor"]
    assert [(h["event"], h["endpoint"], h["revision"]) for h in x["deployment_history"]] == [
        ("revision", "churn-api", 1)
    ]
    assert x["approvals"] == []  # governance is installed: none requested for this version
    explained = card["quantitative_analysis"]["explanations"]  # SHAP at registration
    assert explained["method"] == "linear" and explained["global_importance"][0]["feature"]
    assert "model:churn/1" in {n["id"] for n in x["lineage"]["nodes"]}


def test_markdown_and_self_contained_html(
    looped: Any, card: dict[str, Any], tmp_path: Path
) -> None:
    html, md = tmp_path / "card.html", tmp_path / "card.md"
    result = CliRunner().invoke(
        app,
        ["models", "card", "churn/1", "--html", str(html), "--md", str(md), "--resamples", "50"],
    )
    assert result.exit_code == 0, result.output
    page = html.read_text()
    assert "<svg" in page and "<script" not in page and "<link" not in page
    assert re.findall(r"https?://[^\"'<> ]+", page) == ["http://www.w3.org/2000/svg"]
    text = md.read_text()
    for heading in (
        "## Model details",
        "## Intended use and limitations",
        "## Training and evaluation data",
        "## Metrics",
        "## Disaggregated results",
        "## Explanations",
        "## Approvals",
        "## Deployment history",
    ):
        assert heading in text
    assert "rank customers for retention offers" in text
    as_json = CliRunner().invoke(app, ["models", "card", "churn/1", "--json", "--resamples", "20"])
    assert as_json.exit_code == 0 and set(json.loads(as_json.output)) == MCT_KEYS


@pytest.fixture
def approvals_provider() -> Iterator[None]:
    def approvals(conn: Any, model: str, version: int) -> list[dict[str, Any]]:
        return [
            {
                "id": "ap1",
                "target": "alias:champion",
                "status": "approved",
                "requested_by": "alice",
                "decided_by": "bob",
                "comment": "reviewed",
            }
        ]

    before = providers.SECTIONS["approvals"]
    providers.set_provider("approvals", approvals)
    yield
    providers.set_provider("approvals", before)


def test_a_provider_fills_its_section(looped: Any, approvals_provider: None) -> None:
    card = looped.get_model_card("churn", 1, 20)
    assert card["model_details"]["conveyor"]["approvals"][0]["decided_by"] == "bob"
    graph = looped.get_lineage("model:churn/1", "downstream", 1)
    assert "approval:ap1" in {n["id"] for n in graph["nodes"]}
    from conveyor.lineage.card_render import card_markdown

    assert "| ap1 | alias:champion | approved | alice | bob | reviewed |" in card_markdown(card)
