"""The gate operations through the operation table, embedded and over a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import conveyor
from conveyor.api import create_app
from conveyor.api.testing import ServerThread
from conveyor.artifacts import ArtifactStore
from conveyor.backend import HttpBackend, LocalBackend
from conveyor.errors import GateFailed, NotFound, ValidationFailed
from conveyor.gates import GateReport, render_html, render_table
from conveyor.gates.policy import PolicyError
from conveyor.store import MetadataStore

from .conftest import register

POLICY = """\
evaluation_dataset: churn-eval@latest
checks:
  - metric: auc
    min: 0.8
  - fairness: {sensitive: [gender], resamples: 200}
"""


@pytest.fixture
def local(
    tmp_path: Path,
    good_model: LogisticRegression,
    weak_model: LogisticRegression,
    train_frame: pd.DataFrame,
    eval_frame: pd.DataFrame,
) -> LocalBackend:
    """churn/1 good, churn/2 weak, churn-eval logged; SQLite."""
    meta = MetadataStore(f"sqlite:///{tmp_path / 'meta.db'}")
    local = LocalBackend(meta, ArtifactStore.from_uri(str(tmp_path / "artifacts")))
    register(local, "churn", good_model, tmp_path, train=train_frame)
    register(local, "churn", weak_model, tmp_path, train=train_frame)
    local.log_dataset("churn-eval", eval_frame)
    return local


@pytest.fixture(params=["local", pytest.param("http", marks=pytest.mark.server)])
def client(
    request: pytest.FixtureRequest, local: LocalBackend
) -> Iterator[LocalBackend | HttpBackend]:
    if request.param == "local":
        yield local
        return
    with ServerThread(create_app(local)) as server, HttpBackend(server.url) as http:
        yield http


def test_policy_run_report_and_enforcement(client: LocalBackend | HttpBackend) -> None:
    with pytest.raises(NotFound, match="no gate policy"):
        client.get_gate_policy("churn")
    with pytest.raises(
        PolicyError if isinstance(client, LocalBackend) else ValidationFailed
    ) as bad:
        client.set_gate_policy("churn", POLICY.replace("min: 0.8", "min: x"), source="p.yaml")
    assert "p.yaml line 4, checks[0].min: must be a number" in bad.value.message
    stored = client.set_gate_policy("churn", POLICY, source="policy.yaml")
    assert stored.version == 1 and stored.policy.checks[1].name == "fairness:gender"
    assert client.get_gate_policy("churn").source == POLICY
    good = client.run_gates("churn", 1)
    bad_report = client.run_gates("churn", 2)
    assert isinstance(good, GateReport) and good.passed
    assert not bad_report.passed and bad_report.failed_checks == ["metric:auc"]
    fairness = good.checks[1]
    assert fairness.evidence["groups:gender"][0]["size"] > 0
    lo, hi = fairness.evidence["intervals"]["gender"]["demographic_parity_ratio"]
    assert lo <= fairness.value["demographic_parity_ratio"] <= hi
    latest = client.get_gate_report("churn", 2)
    assert latest.id == bad_report.id
    with pytest.raises(GateFailed, match="metric:auc") as refused:
        client.set_model_alias("churn", "champion", 2)
    assert refused.value.details["failed_checks"] == ["metric:auc"]
    client.set_model_alias("churn", "champion", 2, override_reason="accepted risk")
    client.set_model_alias("churn", "champion", 1)
    with pytest.raises(GateFailed, match="deployment:churn-ep"):
        client.deploy("churn-ep", model="churn/2", compile=False)
    revision = client.deploy(
        "churn-ep", model="churn/2", compile=False, override_reason="load test"
    )
    assert revision.revision == 1
    events = client.list_audit_events(action="gate.override")
    assert [(e.details["target"], e.details["reason"]) for e in events] == [
        ("alias:champion", "accepted risk"),
        ("deployment:churn-ep", "load test"),
    ]


def test_renderings(local: LocalBackend) -> None:
    client = local
    client.set_gate_policy("churn", POLICY)
    report = client.run_gates("churn", 2)
    html = render_html(report)
    assert html.startswith("<section") and html.endswith("</section>")
    assert "<script" not in html and "http" not in html  # self-contained
    assert "metric:auc" in html and "FAILED" in html and "selection_rate" in html
    from rich.console import Console

    out = Console(width=160, record=True)
    out.print(render_table(report))
    text = out.export_text()
    assert "metric:auc" in text and "FAILED" in text
    again = GateReport.from_dict(report.to_dict())
    assert again == report


def test_sdk_run_gates(
    tmp_path: Path, good_model: LogisticRegression, eval_frame: pd.DataFrame
) -> None:
    backend = conveyor.connect()
    register(backend, "churn", good_model, tmp_path)
    backend.log_dataset("churn-eval", eval_frame)
    conveyor.connect().set_gate_policy("churn", POLICY)
    report = conveyor.run_gates("churn/1")
    assert report.passed and report.model == "churn" and report.version == 1
    with pytest.raises(ValidationFailed, match="expected <model>/<version>"):
        conveyor.run_gates("churn")
    conveyor.set_model_alias("churn", "champion", 1)
