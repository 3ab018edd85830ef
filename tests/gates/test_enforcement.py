"""Enforcement: protected aliases and primary routes need a passing gate report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from conveyor.backend.local import LocalBackend
from conveyor.errors import GateFailed, ValidationFailed
from conveyor.gates import run_gates, service
from conveyor.governance.audit import list_events
from conveyor.registry import service as registry

from .conftest import register

POLICY = """\
evaluation_dataset: churn-eval@latest
checks:
  - metric: auc
    min: 0.80
protected_aliases: [champion, prod]
"""


@pytest.fixture
def gated(
    backend: LocalBackend,
    tmp_path: Path,
    good_model: LogisticRegression,
    weak_model: LogisticRegression,
    train_frame: pd.DataFrame,
    eval_frame: pd.DataFrame,
) -> LocalBackend:
    register(backend, "churn", good_model, tmp_path, train=train_frame)  # 1: passes
    register(backend, "churn", weak_model, tmp_path, train=train_frame)  # 2: fails auc
    backend.log_dataset("churn-eval", eval_frame)
    with backend.meta.write(backend.actor) as uow:
        service.set_policy(uow, "churn", POLICY, source="policy.yaml")
    return backend


def _set_alias(backend: LocalBackend, alias: str, version: int, **kw: object) -> None:
    with backend.meta.write(backend.actor) as uow:
        registry.set_alias(uow, "churn", alias, version, **kw)  # type: ignore[arg-type]


def test_models_without_policy_are_not_gated(
    backend: LocalBackend, tmp_path: Path, weak_model: LogisticRegression
) -> None:
    register(backend, "plain", weak_model, tmp_path)
    with backend.meta.write(backend.actor) as uow:
        registry.set_alias(uow, "plain", "champion", 1)
    assert backend.get_model_version("plain", "champion").version == 1


def test_protected_alias_needs_a_report(gated: LocalBackend) -> None:
    with pytest.raises(GateFailed, match=r"no gate report under policy version 1.*gates run"):
        _set_alias(gated, "champion", 1)
    # an unprotected alias is not gated
    _set_alias(gated, "staging", 2)
    assert gated.get_model_version("churn", "staging").version == 2


def test_passing_report_lets_it_through_failing_names_the_check(gated: LocalBackend) -> None:
    good, bad = run_gates(gated, "churn", 1), run_gates(gated, "churn", 2)
    assert good.passed and not bad.passed and bad.failed_checks == ["metric:auc"]
    _set_alias(gated, "champion", 1)
    with pytest.raises(GateFailed) as info:
        _set_alias(gated, "prod", 2)
    assert "metric:auc" in info.value.message
    assert info.value.details["failed_checks"] == ["metric:auc"]
    assert gated.get_model_version("churn", "champion").version == 1


def test_override_is_audited(gated: LocalBackend) -> None:
    run_gates(gated, "churn", 2)
    with pytest.raises(ValidationFailed, match="say why"):
        _set_alias(gated, "champion", 2, override_reason="  ")
    _set_alias(gated, "champion", 2, override_reason="hotfix approved by risk team")
    assert gated.get_model_version("churn", "champion").version == 2
    with gated.meta.read() as conn:
        events = [e for e in list_events(conn) if e.action == "gate.override"]
    assert len(events) == 1
    assert events[0].object_id == "churn/2"
    assert events[0].details["reason"] == "hotfix approved by risk team"
    assert events[0].details["target"] == "alias:champion"


def test_a_new_policy_version_needs_a_new_report(gated: LocalBackend) -> None:
    run_gates(gated, "churn", 1)
    with gated.meta.write(gated.actor) as uow:
        stored = service.set_policy(uow, "churn", POLICY.replace("0.80", "0.70"))
    assert stored.version == 2
    with pytest.raises(GateFailed, match="policy version 2"):
        _set_alias(gated, "champion", 1)


def test_primary_route_is_gated_canary_is_not(gated: LocalBackend) -> None:
    run_gates(gated, "churn", 1)
    run_gates(gated, "churn", 2)
    with pytest.raises(GateFailed, match=r"deployment:churn-ep"):
        gated.deploy("churn-ep", model="churn/2", compile=False)
    revision = gated.deploy("churn-ep", model="churn/1", canary="churn/2:10", compile=False)
    assert revision.revision == 1
    from conveyor.deployments.compile import deploy_endpoint

    again = deploy_endpoint(
        gated, "churn-ep", model="churn/2", compile=False, override_reason="load test"
    )
    assert again.revision == 2


def test_an_approval_policy_applies_on_top_of_passing_gates(gated: LocalBackend) -> None:
    """A passing report is not enough for a target whose policy requires an approval, and
    a gate override does not replace it; an approved request (by someone else) opens it."""
    from conveyor.errors import ApprovalRequired
    from conveyor.governance.identity import Actor

    run_gates(gated, "churn", 1)  # passes
    gated.set_approval_policy("alias:champion")
    gated.set_approval_policy("deployment:prod-*", ["admin"])
    with pytest.raises(ApprovalRequired, match="alias:champion requires an approved request"):
        _set_alias(gated, "champion", 1)
    with pytest.raises(ApprovalRequired):
        _set_alias(gated, "champion", 2, override_reason="ship it")
    with pytest.raises(ApprovalRequired, match="deployment:prod-eu"):
        gated.deploy("prod-eu", model="churn/1", compile=False)
    gated.deploy("staging", model="churn/1", compile=False)  # no policy matches
    for target in ("alias:champion", "deployment:prod-eu"):
        asked = gated.request_approval("churn", 1, target)
        reviewer = gated.as_actor(Actor("reviewer"))  # not the creator nor the requester
        reviewer.approve_request(asked.id, "gate report and slices reviewed")
    _set_alias(gated, "champion", 1)
    assert gated.deploy("prod-eu", model="churn/1", compile=False).revision == 1
