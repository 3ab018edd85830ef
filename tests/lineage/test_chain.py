"""The closed loop recorded in lineage: alert → trigger → pipeline run → candidate version →
gate report → rollout, built with the real components and walked from both ends."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conveyor.cli.main import app
from conveyor.deployments.rollout_controller import RolloutController
from conveyor.errors import NotFound, ValidationFailed
from conveyor.monitoring.crud import get_monitor
from conveyor.monitoring.evaluate import _store_check
from conveyor.monitoring.monitors import MetricResult
from conveyor.monitoring.windows import Window
from conveyor.pipelines import controller

NOW = 1_900_000_000_000


def _fire_alert(backend: Any) -> str:
    """The monitor's real check-and-alert transaction, given a breaching drift value."""
    with backend.meta.read() as conn:
        monitor = get_monitor(conn, "churn-drift")
    with backend.meta.write(backend.actor) as uow:
        out, notify = _store_check(
            uow, monitor, Window(NOW - 3_600_000, NOW), MetricResult(0.8, "ok"), NOW
        )
    assert notify == "firing" and out.alert is not None
    return str(out.alert.id)


@pytest.fixture
def chain(looped: Any) -> dict[str, str]:
    backend = looped
    alert = _fire_alert(backend)
    decisions = controller.tick(backend, evidence={"churn-drift": alert})
    assert [d.fired for d in decisions] == [True], decisions
    run_id = decisions[0].pipeline_run_id
    assert backend.get_pipeline_run(run_id).status == "succeeded"
    assert backend.get_model_version("churn", "latest").version == 2
    report = backend.run_gates("churn", 2)
    assert report.passed, report.failed_checks
    rollout = backend.start_rollout("churn-api", "churn/2")
    RolloutController(backend.meta).tick()  # pending → its first step's revision
    with backend.meta.read() as conn:
        import sqlalchemy as sa

        from conveyor.deployments.rollout_tables import rollouts

        rollout_id = conn.execute(sa.select(rollouts.c.id)).scalar_one()
    assert rollout["candidate"] == "churn/2"
    return {
        "alert": f"alert:{alert}",
        "trigger": "trigger:retrain-on-drift",
        "pipeline_run": f"pipeline-run:{run_id}",
        "version": "model:churn/2",
        "gate_report": f"gate-report:{report.id}",
        "rollout": f"rollout:{rollout_id}",
    }


def _path_exists(graph: dict[str, Any], source: str, target: str) -> bool:
    """A directed path source → … → target along the graph's edges."""
    nxt: dict[str, list[str]] = {}
    for e in graph["edges"]:
        nxt.setdefault(e["source"], []).append(e["target"])
    seen, todo = {source}, [source]
    while todo:
        for t in nxt.get(todo.pop(), []):
            if t == target:
                return True
            if t not in seen:
                seen.add(t)
                todo.append(t)
    return False


def test_the_chain_walked_downstream_from_the_alert(looped: Any, chain: dict[str, str]) -> None:
    graph = looped.get_lineage(chain["alert"], direction="downstream")
    ids = {n["id"] for n in graph["nodes"]}
    assert set(chain.values()) <= ids, sorted(ids)
    order = ["alert", "trigger", "pipeline_run", "version", "gate_report", "rollout"]
    for a, b in itertools.pairwise(order):
        assert _path_exists(graph, chain[a], chain[b]), (a, b)
    # forward of the rollout: the revisions it made
    assert any(n["type"] == "deployment_revision" for n in graph["nodes"])


def test_the_chain_walked_upstream_from_the_rollout(looped: Any, chain: dict[str, str]) -> None:
    graph = looped.get_lineage(chain["rollout"], direction="upstream", depth=12)
    ids = {n["id"] for n in graph["nodes"]}
    assert set(chain.values()) <= ids, sorted(ids)
    for node in chain.values():
        assert _path_exists(graph, node, chain["rollout"]) or node == chain["rollout"]
    # back to the data: the training data the retraining step produced and consumed,
    # and the evaluation data of the gate report
    datasets = {n["id"] for n in graph["nodes"] if n["type"] == "dataset_version"}
    assert "dataset:churn-eval/1" in datasets
    assert "dataset:retrain.load/2" in datasets, datasets
    # edges point cause → effect
    rel = {(e["source"], e["target"]): e["relation"] for e in graph["edges"]}
    assert rel[(chain["alert"], chain["pipeline_run"])] == "triggered"
    assert rel[(chain["trigger"], chain["pipeline_run"])] == "fired"
    assert rel[(chain["gate_report"], chain["rollout"])] == "cleared"
    assert rel[(chain["version"], chain["rollout"])] == "candidate"


def test_forward_from_data_back_from_a_revision_and_the_depth_limit(
    looped: Any, chain: dict[str, str]
) -> None:
    # the training data churn/1's pipeline step produced (and its training step consumed)
    graph = looped.get_lineage("dataset:retrain.load/1", direction="downstream")
    ids = {n["id"] for n in graph["nodes"]}
    assert {"model:churn/1", "deployment:churn-api/1"} <= ids, sorted(ids)
    # the evaluation data leads to the gate reports that used it
    evaluated = looped.get_lineage("dataset:churn-eval/1", direction="downstream", depth=1)
    assert chain["gate_report"] in {n["id"] for n in evaluated["nodes"]}

    # back from a deployment revision to the version, its run and data, its gate report
    graph = looped.get_lineage("deployment:churn-api/1", direction="upstream")
    types = {n["type"] for n in graph["nodes"]}
    assert {"model_version", "run", "dataset_version", "gate_report"} <= types, types
    assert graph["root"] == "deployment:churn-api/1"
    current = looped.get_lineage("deployment:churn-api", direction="upstream", depth=1)
    assert current["root"].startswith("deployment:churn-api/")

    # the depth limit
    graph = looped.get_lineage(chain["rollout"], direction="upstream", depth=1)
    assert graph["truncated"] is True
    assert max(n["distance"] for n in graph["nodes"]) == 1


def test_bad_references_list_the_accepted_forms(looped: Any) -> None:
    with pytest.raises(ValidationFailed, match="use one of: model:<name>/<version>"):
        looped.get_lineage("churn/2")
    with pytest.raises(ValidationFailed, match="unknown kind 'modle'"):
        looped.get_lineage("modle:churn/2")
    with pytest.raises(ValidationFailed, match="needs <name>/<version>"):
        looped.get_lineage("model:churn")
    with pytest.raises(NotFound, match="model:churn/9"):
        looped.get_lineage("model:churn/9")
    with pytest.raises(ValidationFailed, match="direction must be one of"):
        looped.get_lineage("model:churn/1", direction="sideways")


def test_cli_walks_and_prints_json(looped: Any, chain: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["lineage", chain["rollout"], "--upstream", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["direction"] == "upstream" and chain["alert"] in {n["id"] for n in data["nodes"]}
    text = runner.invoke(app, ["lineage", chain["alert"], "--downstream"])
    assert text.exit_code == 0, text.output
    assert "rollout" in text.output and "churn/2" in text.output
    svg, html = tmp_path / "g.svg", tmp_path / "out" / "g.html"
    drawn = runner.invoke(
        app, ["lineage", chain["rollout"], "--upstream", "--svg", str(svg), "--html", str(html)]
    )
    assert drawn.exit_code == 0, drawn.output
    assert svg.read_text().startswith("<svg") and chain["alert"] in svg.read_text()
    assert "<svg" in html.read_text() and "<script" not in html.read_text()
    bad = runner.invoke(app, ["lineage", "nonsense"])
    assert bad.exit_code == 2 and "use one of" in bad.output


def test_the_same_walk_over_http(looped: Any, chain: dict[str, str]) -> None:
    from conveyor.api import create_app
    from conveyor.api.testing import ServerThread
    from conveyor.client import Client, HttpTransport

    local = looped.get_lineage(chain["version"], "both", 3)
    with ServerThread(create_app(looped)) as server:
        http = Client(HttpTransport(server.url))
        try:
            remote = http.get_lineage(chain["version"], "both", 3)
            card = http.get_model_card("churn", "2", 20)
            documents = http.get_compliance_documents("churn", "latest")
            with pytest.raises(ValidationFailed, match="use one of"):
                http.get_lineage("churn/2")
        finally:
            http.close()
    assert remote == local
    assert card["model_details"]["version"]["name"] == "2"
    assert card["quantitative_analysis"]["performance_metrics"]
    assert "index.html" in documents and "manifest.json" in documents
