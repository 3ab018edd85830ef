"""Gate services: versioned policies, stored reports, and enforcement.

Write functions take a :class:`~conveyor.store.UnitOfWork` and audit in the same
transaction; reads take a Connection::

    with meta.write(actor) as uow:
        set_policy(uow, "churn", yaml_text, source="policy.yaml")      # policy version 1
    with meta.write(actor) as uow:
        require_passing(uow, "churn", 4, target="alias:champion")      # GateFailed unless
                                                                        # 4's latest report passed

Enforcement rule: a model without a policy is not gated. With one, a protected alias
(``protected_aliases``, default ``champion``) and a deployment's primary route accept only
a version whose latest gate report under the model's *current* policy version passed.
``override_reason`` lets a refused version through and records a ``gate.override`` event.
Before the gates, a target whose approval policy requires it needs an approved request
(``conveyor.governance.approvals.require_approval``; an override does not replace it).
Running the checks (which needs artifacts and models) lives in :mod:`conveyor.gates.runner`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from conveyor._schema import Name, PositiveInt, VersionNumber
from conveyor._util import new_id, now_ms, to_iso
from conveyor.errors import GateFailed, NotFound, ValidationFailed
from conveyor.gates.policy import Policy, PolicyError, parse_policy
from conveyor.gates.report import GateReport
from conveyor.gates.tables import gate_policies, gate_reports
from conveyor.registry import service as registry
from conveyor.store import UnitOfWork

__all__ = [
    "StoredPolicy",
    "get_policy",
    "get_report",
    "latest_report",
    "list_reports",
    "protected_aliases",
    "record_report",
    "require_passing",
    "set_policy",
]


@dataclass(frozen=True)
class StoredPolicy:
    """A policy version of a model as stored (``source`` is the text it was set from)."""

    model: str
    version: int
    policy: Policy
    source: str
    created_by: str
    created_at: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "policy": self.policy.to_dict(),
            "source": self.source,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "created_at_iso": to_iso(self.created_at),
        }


def _policy_row(conn: sa.Connection, model_id: str, version: int | None = None) -> Any:
    query = sa.select(gate_policies).where(gate_policies.c.model_id == model_id)
    if version is not None:
        query = query.where(gate_policies.c.version == version)
    return conn.execute(query.order_by(gate_policies.c.version.desc()).limit(1)).first()


def _stored(row: Any, model: str) -> StoredPolicy:
    return StoredPolicy(
        model,
        row.version,
        Policy.from_dict(row.policy),
        row.source,
        row.created_by,
        row.created_at,
    )


def _check_against_store(conn: sa.Connection, model: str, policy: Policy, source: str) -> None:
    """The dataset version exists and has every column the policy names."""
    from conveyor.data import service as data
    from conveyor.gates.columns import label_column, policy_columns

    try:
        dv = data.get_dataset_version(conn, policy.dataset_name, policy.dataset_ref)
    except NotFound as exc:
        raise PolicyError(
            f"{source}, evaluation_dataset: {exc.message}; log the dataset first "
            "(conveyor.log_dataset(...)) or fix the reference",
            details={"path": "evaluation_dataset", "line": None},
        ) from None
    columns = [c["name"] for c in dv.schema]
    try:
        mv = registry.resolve_version(conn, model, "latest")
        inputs = [c["name"] for c in (mv.signature or {}).get("inputs") or [] if "name" in c]
    except NotFound:
        inputs = []
    label_column(policy.label, columns, inputs, dv.uri)  # raises naming the problem
    for path, column in policy_columns(policy):
        if column not in columns:
            raise PolicyError(
                f"{source}, {path}: column {column!r} is not in {dv.uri} "
                f"(columns: {', '.join(columns)})",
                details={"path": path, "line": None, "column": column},
            )


def set_policy(
    uow: UnitOfWork, model: Name, policy: str | dict[str, Any], *, source: str = "policy"
) -> StoredPolicy:
    """Validate ``policy`` (YAML text or dict) and store it as the model's next policy
    version. Refused (PolicyError) naming the line/key and problem; the evaluation dataset
    and every column it names must exist."""
    model_row = registry._model_row(uow.conn, model, lock=True)
    parsed = parse_policy(policy, source=source)
    _check_against_store(uow.conn, model, parsed, source)
    latest = _policy_row(uow.conn, model_row.id)
    text = policy if isinstance(policy, str) else ""
    row = {
        "id": new_id(),
        "model_id": model_row.id,
        "version": (latest.version if latest is not None else 0) + 1,
        "policy": parsed.to_dict(),
        "source": text,
        "created_by": uow.actor.name,
        "created_at": now_ms(),
    }
    uow.conn.execute(gate_policies.insert().values(**row))
    uow.audit(
        "gate_policy.set",
        "model",
        model_row.id,
        row["policy"],
        model=model,
        policy_version=row["version"],
        previous=latest.version if latest is not None else None,
    )
    return _stored(_Row(row), model)


class _Row:
    def __init__(self, data: dict[str, Any]) -> None:
        self.__dict__.update(data)


def get_policy(
    conn: sa.Connection, model: Name, version: PositiveInt | None = None
) -> StoredPolicy:
    """The model's current policy (or policy ``version``); NotFound when it has none."""
    model_row = registry._model_row(conn, model)
    row = _policy_row(conn, model_row.id, version)
    if row is None:
        what = f"policy version {version}" if version is not None else "gate policy"
        raise NotFound(
            f"model {model!r} has no {what}; set one with "
            f"`conveyor gates set-policy {model} policy.yaml`",
            details={"model": model},
        )
    return _stored(row, model)


def protected_aliases(conn: sa.Connection, model: str) -> list[str]:
    """Aliases that need passing gates (empty when the model has no policy)."""
    row = _policy_row(conn, registry._model_row(conn, model).id)
    return [] if row is None else list(Policy.from_dict(row.policy).protected_aliases)


# -- reports --------------------------------------------------------------------------------
def record_report(uow: UnitOfWork, report: GateReport) -> GateReport:
    """Store a finished report and audit it."""
    mv = registry.get_model_version(uow.conn, report.model, report.version)
    model_row = registry._model_row(uow.conn, report.model)
    data = report.to_dict()
    uow.conn.execute(
        gate_reports.insert().values(
            id=report.id,
            model_id=model_row.id,
            model_version_id=mv.id,
            version=report.version,
            policy_version=report.policy_version,
            passed=report.passed,
            report=data,
            created_by=report.created_by,
            created_at=report.created_at,
        )
    )
    uow.audit(
        "gate_report.create",
        "model_version",
        f"{report.model}/{report.version}",
        {"id": report.id, "passed": report.passed, "failed": report.failed_checks},
        policy_version=report.policy_version,
    )
    return report


def latest_report(
    conn: sa.Connection, model: str, version: int | str, *, policy_version: int | None = None
) -> GateReport | None:
    """The newest report of ``model/version`` (under ``policy_version`` when given)."""
    mv = registry.get_model_version(conn, model, version)
    query = sa.select(gate_reports.c.report).where(gate_reports.c.model_version_id == mv.id)
    if policy_version is not None:
        query = query.where(gate_reports.c.policy_version == policy_version)
    row = conn.execute(
        query.order_by(gate_reports.c.created_at.desc(), gate_reports.c.id.desc()).limit(1)
    ).first()
    return None if row is None else GateReport.from_dict(row.report)


def get_report(conn: sa.Connection, model: Name, version: VersionNumber) -> GateReport:
    """The newest gate report of ``model/version``; NotFound (saying how to run) if none."""
    report = latest_report(conn, model, version)
    if report is None:
        raise NotFound(
            f"{model}/{version} has no gate report; run `conveyor gates run {model}/{version}`",
            details={"model": model, "version": version},
        )
    return report


def list_reports(conn: sa.Connection, model: str, version: int | str) -> list[GateReport]:
    """Every report of ``model/version``, newest first."""
    mv = registry.get_model_version(conn, model, version)
    rows = conn.execute(
        sa.select(gate_reports.c.report)
        .where(gate_reports.c.model_version_id == mv.id)
        .order_by(gate_reports.c.created_at.desc(), gate_reports.c.id.desc())
    )
    return [GateReport.from_dict(r.report) for r in rows]


# -- enforcement ----------------------------------------------------------------------------
def _target(target: str) -> tuple[str, str]:
    kind, _, name = target.partition(":")
    if kind not in ("alias", "deployment") or not name:
        raise ValidationFailed(
            f"gate target must be 'alias:<alias>' or 'deployment:<endpoint>', got {target!r}"
        )
    return kind, name


def require_passing(
    uow: UnitOfWork,
    model: str,
    version: int | str,
    *,
    target: str = "alias:champion",
    override_reason: str | None = None,
) -> GateReport | None:
    """Refuse (GateFailed) to let ``model/version`` become ``target`` unless its latest gate
    report under the model's current policy passed.

    ``target`` is ``alias:<name>`` (gated when the alias is protected) or
    ``deployment:<endpoint>`` (a deployment's primary route). Returns the passing report,
    or None when nothing is gated (no policy, unprotected alias) or an override let it
    through — then a ``gate.override`` audit event records who, why and what failed.
    """
    from conveyor.governance.approvals import require_approval

    kind, name = _target(target)
    model_row = registry._model_row(uow.conn, model)
    mv = registry.get_model_version(uow.conn, model, version)
    require_approval(uow, model, mv.version, target)  # an approval policy, on top of gates
    row = _policy_row(uow.conn, model_row.id)
    if row is None:
        return None
    policy = Policy.from_dict(row.policy)
    if kind == "alias" and name not in policy.protected_aliases:
        return None
    report = latest_report(uow.conn, model, mv.version, policy_version=row.version)
    if report is not None and report.passed:
        return report
    if report is None:
        problem = (
            f"{model}/{mv.version} has no gate report under policy version {row.version}; "
            f"run `conveyor gates run {model}/{mv.version}`"
        )
        failed: list[str] = []
    else:
        failed = report.failed_checks
        problem = (
            f"{model}/{mv.version} failed its gates (policy version {row.version}): "
            f"{', '.join(failed)}; see `conveyor gates run {model}/{mv.version}` or its report"
        )
    details = {
        "model": model,
        "version": mv.version,
        "target": target,
        "policy_version": row.version,
        "failed_checks": failed,
        "report_id": report.id if report is not None else None,
    }
    if override_reason is None:
        raise GateFailed(
            f"{target} accepts only versions that passed their gates: {problem}; "
            'or pass --override-reason "..." to let it through (recorded in the audit log)',
            details=details,
        )
    if not isinstance(override_reason, str) or not override_reason.strip():
        raise ValidationFailed("override_reason must say why the gates are overridden")
    uow.audit(
        "gate.override",
        "model_version",
        f"{model}/{mv.version}",
        {**details, "reason": override_reason.strip()},
        reason=override_reason.strip(),
        target=target,
    )
    return None
