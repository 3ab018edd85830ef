"""Section providers: where model cards and compliance bundles get what other areas own.

A card or bundle section that shows approvals, explanations, audit extracts or retention
settings reads it through one small function here, so the features that own those records
(governance approvals, SHAP explanations, audit filters and retention) plug in without the
card knowing their tables. A provider returns the section's data, or None when its feature
is absent — the card then prints "not available". Replace one with :func:`set_provider`::

    from conveyor.lineage import providers
    providers.set_provider("approvals", my_approvals)   # fn(conn, model, version) -> list | None

Sections and what their provider returns (all JSON-friendly):

* ``approvals`` — a list of ``{id, target, status, requested_by, decided_by, comment,
  created_at, decided_at}`` for the version (history included);
* ``explanations`` — ``{method, global_importance: [{feature, importance}], rows, ...}``;
* ``audit_extract`` — ``{events: [...], chain: {ok, events, first_bad_seq, reason, head}}``
  (the built-in one reads the audit chain as it is today);
* ``retention`` — ``{prediction_log_days, documents_days, legal_holds, ...}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

__all__ = ["SECTIONS", "find_approval", "provide", "set_provider"]

Provider = Callable[[sa.Connection, str, int], Any]


def no_provider(conn: sa.Connection, model: str, version: int) -> None:
    """The default of a section whose feature is not installed: "not available"."""
    return None


def _object_ids(conn: sa.Connection, model: str, version: int) -> list[tuple[str, str]]:
    return [("model_version", f"{model}/{version}"), ("model", model)]


def audit_extract(conn: sa.Connection, model: str, version: int) -> dict[str, Any]:
    """The version's and its model's audit events, with the chain's verification and head
    (the hash of the newest event: anchored elsewhere, it proves the extract unchanged)."""
    from conveyor.governance import audit
    from conveyor.store.tables import audit_head

    events: list[dict[str, Any]] = []
    for object_type, object_id in _object_ids(conn, model, version):
        events += [
            e.to_dict()
            for e in audit.list_events(
                conn, object_type=object_type, object_id=object_id, limit=10_000
            )
        ]
    events.sort(key=lambda e: e["seq"])
    report = audit.verify_chain(conn)
    head = conn.execute(sa.select(audit_head.c.seq, audit_head.c.hash)).first()
    return {
        "events": events,
        "chain": {
            "ok": report.ok,
            "events": report.events,
            "first_bad_seq": report.first_bad_seq,
            "reason": report.reason,
            "head_seq": head.seq if head is not None else 0,
            "head_hash": head.hash if head is not None else "",
        },
    }


def _approval_dict(a: Any) -> dict[str, Any]:
    return {
        "id": a.id,
        "model": a.model,
        "version": a.version,
        "target": a.target,
        "status": a.status,
        "requested_by": a.requested_by,
        "decided_by": a.decided_by,
        "comment": a.decision_comment or a.comment,
        "created_at": a.requested_at,
        "decided_at": a.decided_at,
    }


def approvals(conn: sa.Connection, model: str, version: int) -> list[dict[str, Any]]:
    """The version's approval requests and decisions (``conveyor.governance.approvals``)."""
    from conveyor.governance import approvals as governance

    found = governance.list_approvals(conn, model=model, limit=10_000)
    return [_approval_dict(a) for a in reversed(found) if a.version == version]


def approval_by_id(conn: sa.Connection, approval_id: str) -> dict[str, Any] | None:
    """One approval request, for walks that start at ``approval:<id>``."""
    from conveyor.errors import NotFound
    from conveyor.governance import approvals as governance

    try:
        return _approval_dict(governance.get_approval(conn, approval_id))
    except NotFound:
        return None


def explanations(conn: sa.Connection, model: str, version: int) -> dict[str, Any] | None:
    """The stored SHAP summary of the version (``conveyor.explain``), None if never computed."""
    from conveyor.explain.summary import find_explanation_summary

    found = find_explanation_summary(conn, model, version)
    if found is None:
        return None
    importance = [
        {"feature": f["name"], "importance": f["mean_abs"]} for f in found.get("features", [])
    ]
    return {**found, "global_importance": importance}


def retention(conn: sa.Connection, model: str, version: int) -> dict[str, Any]:
    """The retention settings in force and the open legal holds (``conveyor.governance``)."""
    from conveyor.governance.holds import list_holds
    from conveyor.governance.retention import retention_settings

    settings = retention_settings()
    return {
        **settings,
        "prediction_log_days": settings["prediction_logs_days"],
        "documents_days": settings["reports_days"],
        "legal_holds": [h.to_dict() for h in list_holds(conn)],
    }


#: section → provider; ``audit_extract`` reads today's audit chain.
SECTIONS: dict[str, Provider] = {
    "approvals": approvals,
    "explanations": explanations,
    "audit_extract": audit_extract,
    "retention": retention,
}


#: ``fn(conn, approval_id)`` → the approval (a dict as in ``approvals``, with ``model`` and
#: ``version``) or None; lets ``conveyor lineage approval:<id>`` start from an approval.
APPROVAL_LOOKUP: list[Callable[[sa.Connection, str], Any]] = [approval_by_id]


def set_provider(section: str, fn: Callable[..., Any]) -> None:
    """Make ``fn(conn, model, version)`` the provider of ``section`` (``find_approval``:
    ``fn(conn, approval_id)``)."""
    if section == "find_approval":
        APPROVAL_LOOKUP[0] = fn
        return
    if section not in SECTIONS:
        raise ValueError(f"unknown section {section!r}; one of {', '.join(SECTIONS)}")
    SECTIONS[section] = fn


def find_approval(conn: sa.Connection, approval_id: str) -> dict[str, Any] | None:
    """One approval by id, through the ``find_approval`` provider (None when absent)."""
    found = APPROVAL_LOOKUP[0](conn, approval_id)
    return dict(found) if found is not None else None


def provide(section: str, conn: sa.Connection, model: str, version: int) -> Any:
    """The section's data, or None when its feature is absent."""
    return SECTIONS[section](conn, model, version)
