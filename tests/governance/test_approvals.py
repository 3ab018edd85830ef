"""Approvals over a real token-authenticated server: request → approve | reject as final
history, separation of duties, approval policies (who decides, what requires it), and
protected aliases that need an approved request."""

from __future__ import annotations

import pytest
from tests.governance.conftest import Secured

from conveyor.errors import ApprovalRequired, Conflict, PermissionDenied, ValidationFailed
from conveyor.governance.identity import Actor
from conveyor.registry import service as registry

FILES = [{"path": "conveyor-model.json", "sha256": "a" * 64, "size": 10}]


def _version(secured: Secured, creator: str = "editor") -> int:
    """A model version of ``churn`` created by ``creator`` (metadata only)."""
    with secured.local.meta.write(Actor(creator)) as uow:
        return registry.create_model_version(
            uow,
            "churn",
            source="runs:/r/model",
            manifest_sha256="a" * 64,
            files=FILES,
            flavor="sklearn",
        ).version


def _aliases(secured: Secured) -> dict[str, int]:
    return secured.local.get_model("churn").aliases


def test_request_approve_then_the_protected_alias_moves(secured: Secured) -> None:
    v = _version(secured)
    with secured.client("root") as root:
        policy = root.set_approval_policy("alias:champion")
        assert (policy.roles, policy.required) == (["approver", "admin"], True)
    with secured.client("editor") as editor:
        with pytest.raises(ApprovalRequired, match="conveyor approvals request churn/1"):
            editor.set_model_alias("churn", "champion", v)
        editor.set_model_alias("churn", "staging", v)  # no policy: no approval needed
        asked = editor.request_approval("churn", v, "alias:champion", "AUC up 2 points")
        assert asked.status == "pending" and asked.requested_by == "editor"
        with pytest.raises(Conflict, match="already has a pending request"):
            editor.request_approval("churn", v, "alias:champion")
    with secured.client("approver") as approver:
        done = approver.approve_request(asked.id, "reviewed the gate report")
        assert (done.status, done.decided_by) == ("approved", "approver")
        assert done.decision_comment == "reviewed the gate report"
        with pytest.raises(Conflict, match="decisions are final"):
            approver.reject_request(asked.id, "changed my mind")
    with secured.client("editor") as editor:
        editor.set_model_alias("churn", "champion", v)
        assert [a.status for a in editor.list_approvals(model="churn")] == ["approved"]
    assert _aliases(secured) == {"staging": 1, "champion": 1}
    actions = [e.action for e in secured.local.list_audit_events(limit=1000)]
    assert actions.count("approval.request") == 1 and actions.count("approval.approve") == 1


def test_a_rejected_request_does_not_open_the_alias(secured: Secured) -> None:
    v = _version(secured)
    secured.local.set_approval_policy("alias:*")
    with secured.client("editor") as editor:
        asked = editor.request_approval("churn", v, "alias:prod")
    with secured.client("approver") as approver:
        with pytest.raises(ValidationFailed, match="say why"):
            approver.reject_request(asked.id, " ")
        assert approver.reject_request(asked.id, "drift on segment B").status == "rejected"
    with secured.client("editor") as editor, pytest.raises(ApprovalRequired):
        editor.set_model_alias("churn", "prod", v)
    assert _aliases(secured) == {}


@pytest.mark.parametrize(
    ("who", "rule"),
    [
        ("editor", "approvals:decide"),  # an editor approving
        ("viewer", "approvals:decide"),
    ],
)
def test_roles_without_decide_cannot_approve(secured: Secured, who: str, rule: str) -> None:
    v = _version(secured, creator="root")
    asked = secured.local.request_approval("churn", v, "alias:champion")
    with secured.client(who) as client, pytest.raises(PermissionDenied, match=rule):
        client.approve_request(asked.id, "lgtm")
    assert secured.local.get_approval(asked.id).status == "pending"


def test_separation_of_duties(secured: Secured) -> None:
    """The creator of the version (or of its run) and the requester cannot decide."""
    v = _version(secured, creator="admin")  # the admin made this version
    with secured.client("editor") as editor:
        asked = editor.request_approval("churn", v, "alias:champion")
    with secured.client("admin") as admin, pytest.raises(PermissionDenied) as info:
        admin.approve_request(asked.id, "my own model is fine")
    assert info.value.details["rule"] == "separation_of_duties"
    secured.local.grant_role("editor", "approver")  # the requester, now an approver
    with secured.client("editor") as editor, pytest.raises(PermissionDenied) as again:
        editor.approve_request(asked.id, "approving my own request")
    assert again.value.details["rule"] == "separation_of_duties"
    assert secured.local.get_approval(asked.id).status == "pending"
    with secured.client("approver") as approver:
        assert approver.approve_request(asked.id, "four eyes").status == "approved"


def test_the_run_user_cannot_approve_the_version(secured: Secured) -> None:
    exp = secured.local.create_experiment("e")
    with secured.local.meta.write(Actor("approver")) as uow:  # approver trained the run
        from conveyor.tracking import service as tracking

        run = tracking.create_run(uow, exp.id)
    with secured.local.meta.write(Actor("editor")) as uow:
        registry.create_model_version(
            uow,
            "churn",
            source=f"runs:/{run.id}/model",
            manifest_sha256="a" * 64,
            files=FILES,
            flavor="sklearn",
            run_id=run.id,
        )
    with secured.client("editor") as editor:
        asked = editor.request_approval("churn", 1, "alias:champion")
    with secured.client("approver") as approver, pytest.raises(PermissionDenied) as info:
        approver.approve_request(asked.id, "ok")
    assert info.value.details["rule"] == "separation_of_duties"


def test_a_policy_says_which_roles_may_approve(secured: Secured) -> None:
    v = _version(secured)
    with secured.client("root") as root:
        root.set_approval_policy("alias:champion", ["admin"])
    with secured.client("editor") as editor:
        asked = editor.request_approval("churn", v, "alias:champion")
    with secured.client("approver") as approver, pytest.raises(PermissionDenied) as info:
        approver.approve_request(asked.id, "ok")
    assert info.value.details["rule"] == "approval_policy" and "admin" in str(info.value)
    with secured.client("admin") as admin:
        assert admin.approve_request(asked.id, "ok").status == "approved"
    with secured.client("editor") as editor, pytest.raises(PermissionDenied, match="manage"):
        editor.set_approval_policy("alias:champion", ["editor"])  # escalation
    assert [p.roles for p in secured.local.list_approval_policies()] == [["admin"]]


def test_bad_targets_and_filters_are_422(secured: Secured) -> None:
    v = _version(secured)
    with secured.client("editor") as editor:
        for bad in ("champion", "alias:", "pod:x", "alias:cham*"):
            with pytest.raises(ValidationFailed, match="target"):
                editor.request_approval("churn", v, bad)
        with pytest.raises(ValidationFailed, match="status must be one of"):
            editor.list_approvals(status="maybe")
    assert secured.local.list_approvals() == []


def test_may_decide_answers_what_deciding_would(secured: Secured) -> None:
    """The question the UI asks before offering Approve/Reject gives the refusal's reason."""
    v = _version(secured, creator="admin")
    with secured.client("editor") as editor:
        asked = editor.request_approval("churn", v, "alias:champion")
        assert editor.whoami()["permissions"] == ["*:read", "*:write", "approvals:request"]
        answer = editor.may_decide_approval(asked.id)
        assert (answer["allowed"], answer["rule"]) == (False, "separation_of_duties")
    with secured.client("viewer") as viewer:
        answer = viewer.may_decide_approval(asked.id)
        assert (answer["allowed"], answer["rule"]) == (False, "approval_policy")
        assert "viewer is viewer" in answer["reason"]
    with secured.client("admin") as admin:
        assert admin.may_decide_approval(asked.id)["rule"] == "separation_of_duties"
    with secured.client("approver") as approver:
        assert approver.may_decide_approval(asked.id) == {
            "allowed": True,
            "reason": None,
            "rule": None,
        }
        approver.approve_request(asked.id, "four eyes")
        answer = approver.may_decide_approval(asked.id)
        assert (answer["allowed"], answer["rule"]) == (False, "decisions_are_final")
    assert secured.local.may_decide_approval(asked.id)["allowed"] is False
    assert secured.local.whoami()["permissions"] == ["*:*"]
