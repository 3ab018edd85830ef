"""Retention: how long prediction logs and stored reports are kept, and the purge job.

The settings ``retention_prediction_logs_days`` (default 183: six months, EU AI Act
Art. 19) and ``retention_reports_days`` (default 3650: ten years, Art. 18) say what the
purge deletes: prediction-log and feedback day partitions
(``<log_uri>/{predictions,feedback}/endpoint=<e>/date=<d>/``) whose whole day is older,
and, under ``retention_reports_days``, monitor check records evaluated before the cutoff
and gate reports written before it — except a report that is still evidence: the newest
report of its model version (what enforcement, model cards and compliance bundles read),
and every report that was in force (the version's newest) when a deployment revision
routing that version or a rollout of it was created (the lineage proof of what cleared
it). It never deletes what an open legal hold covers (:mod:`conveyor.governance.holds`;
``deployment:<e>`` also covers the gate reports of every version ``e`` ever routed).

Kept whatever their age: the audit chain, approvals, legal holds, lineage records, model
versions' stored explanation summaries (one per version and method, part of its technical
documentation) and deployment revisions — the purge never deletes what an audit or
lineage proof reads. A real purge is one audit event
(``retention.purge``) listing what it deleted and what holds kept; a dry run changes
nothing::

    report = purge_retention(stores, dry_run=True)
    report["prediction_logs"]["files"], report["held"]["partitions"]

``conveyor server`` runs it on its background scheduler every
``retention_purge_interval_s``; ``conveyor retention purge`` runs it now.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from conveyor._util import now_ms, utc_date
from conveyor.governance.holds import HeldScopes, held_scopes, list_holds
from conveyor.store.stores import Stores
from conveyor.store.tables import audit_head

__all__ = [
    "RetentionPolicy",
    "get_retention",
    "purge",
    "purge_retention",
    "retention_policy",
    "retention_settings",
    "schedule_purge",
]

log = logging.getLogger("conveyor.governance.retention")

_DAY_MS = 86_400_000
_KINDS = ("predictions", "feedback")


@dataclass(frozen=True)
class RetentionPolicy:
    """Days each kind of record is kept (0: forever) and where the prediction log is."""

    prediction_logs_days: int
    reports_days: int
    log_uri: str

    def cutoff(self, days: int, now: int) -> int | None:
        return None if days <= 0 else now - days * _DAY_MS


def retention_policy(log_uri: str | None = None) -> RetentionPolicy:
    """The policy the settings give (``log_uri`` overrides ``prediction_log_uri``)."""
    from conveyor.config import get_settings

    s = get_settings()
    return RetentionPolicy(
        int(s.retention_prediction_logs_days),
        int(s.retention_reports_days),
        log_uri or s.resolved_prediction_log_uri,
    )


def retention_settings() -> dict[str, Any]:
    """The retention settings as a plain dict, for model cards and compliance bundles:
    ``{"prediction_logs_days", "reports_days", "purge_interval_s", "sources": {...},
    "applies_to": {...}}`` (days 0 = kept forever)."""
    from conveyor.config import get_settings

    s = get_settings()
    names = {
        "prediction_logs_days": "retention_prediction_logs_days",
        "reports_days": "retention_reports_days",
        "purge_interval_s": "retention_purge_interval_s",
    }
    return {
        **{key: getattr(s, name) for key, name in names.items()},
        "sources": {key: s.sources[name] for key, name in names.items()},
        "applies_to": {
            "prediction_logs_days": "served predictions and feedback (prediction log)",
            "reports_days": "monitor check records and gate reports (not the newest of a "
            "model version, nor one a deployment revision or rollout was cleared by)",
        },
    }


def get_retention(conn: sa.Connection) -> dict[str, Any]:
    """The retention settings in force and the open legal holds."""
    return {**retention_settings(), "holds": [h.to_dict() for h in list_holds(conn)]}


# -- the prediction log's day partitions --------------------------------------------------
def _filesystem(log_uri: str) -> tuple[Any, str]:
    import fsspec

    root = log_uri.removeprefix("file://")
    options: dict[str, Any] = {}
    if root.startswith("s3://"):
        from conveyor.config import get_settings

        if endpoint := get_settings().s3_endpoint_url:
            options["client_kwargs"] = {"endpoint_url": endpoint}
    fs, base = fsspec.core.url_to_fs(root, **options)
    return fs, base.rstrip("/")


def _partitions(fs: Any, base: str, before_date: str) -> list[dict[str, Any]]:
    """Day partitions of every endpoint dated before ``before_date`` (YYYY-MM-DD)."""
    out = []
    for kind in _KINDS:
        for path in sorted(fs.glob(f"{base}/{kind}/endpoint=*/date=*")):
            endpoint_part, date_part = path.rstrip("/").rsplit("/", 2)[-2:]
            date = date_part.removeprefix("date=")
            if date >= before_date or not fs.isdir(path):
                continue
            files = fs.find(path, detail=True)
            out.append(
                {
                    "kind": kind,
                    "endpoint": endpoint_part.removeprefix("endpoint="),
                    "date": date,
                    "files": len(files),
                    "bytes": sum(int(f.get("size") or 0) for f in files.values()),
                    "path": path,
                }
            )
    return out


def _old_checks(conn: sa.Connection, cutoff: int) -> dict[str, int]:
    """``{endpoint: number of monitor check records evaluated before cutoff}``."""
    from conveyor.monitoring.tables import monitor_checks, monitors

    query = (
        sa.select(monitors.c.endpoint, sa.func.count())
        .select_from(monitor_checks.join(monitors, monitors.c.id == monitor_checks.c.monitor_id))
        .where(monitor_checks.c.evaluated_at < cutoff)
        .group_by(monitors.c.endpoint)
    )
    return {endpoint: int(n) for endpoint, n in conn.execute(query)}


def _delete_checks(conn: sa.Connection, cutoff: int, endpoints: list[str]) -> int:
    from conveyor.monitoring.tables import monitor_checks, monitors

    if not endpoints:
        return 0
    ids = sa.select(monitors.c.id).where(monitors.c.endpoint.in_(endpoints))
    result = conn.execute(
        monitor_checks.delete().where(
            monitor_checks.c.evaluated_at < cutoff, monitor_checks.c.monitor_id.in_(ids)
        )
    )
    return int(result.rowcount or 0)


def _gate_reports(conn: sa.Connection, cutoff: int, held: HeldScopes) -> dict[str, list[str]]:
    """Gate reports written before ``cutoff``: ``purge`` (ids), ``evidence`` (kept: the
    version's newest, or in force when a revision or rollout used the version) and
    ``held`` (kept: a legal hold covers an endpoint that routed the version)."""
    from conveyor.deployments.rollout_tables import rollouts
    from conveyor.deployments.tables import deployment_revisions, deployments
    from conveyor.gates.tables import gate_reports
    from conveyor.store.tables import models

    old = conn.execute(
        sa.select(gate_reports.c.id, gate_reports.c.model_version_id).where(
            gate_reports.c.created_at < cutoff
        )
    ).all()
    out: dict[str, list[str]] = {"purge": [], "evidence": [], "held": []}
    if not old:
        return out
    versions = {mv_id for _, mv_id in old}
    # every report of those versions, oldest first (ties as lineage breaks them: by id)
    reports: dict[str, list[tuple[int, str]]] = {}
    keys: dict[tuple[str, int], str] = {}
    rows = conn.execute(
        sa.select(
            gate_reports.c.id,
            gate_reports.c.model_version_id,
            gate_reports.c.created_at,
            models.c.name,
            gate_reports.c.version,
        )
        .join(models, models.c.id == gate_reports.c.model_id)
        .where(gate_reports.c.model_version_id.in_(versions))
        .order_by(gate_reports.c.created_at, gate_reports.c.id)
    )
    for r in rows:
        reports.setdefault(r.model_version_id, []).append((r.created_at, r.id))
        keys[(r.name, int(r.version))] = r.model_version_id
    needed = {history[-1][1] for history in reports.values()}

    def in_force(mv_id: str, at: int) -> None:
        before = [rid for created, rid in reports[mv_id] if created <= at]
        if before:
            needed.add(before[-1])

    served_by: dict[str, set[str]] = {}
    revisions = conn.execute(
        sa.select(
            deployments.c.name, deployment_revisions.c.routes, deployment_revisions.c.created_at
        ).join(deployments, deployments.c.id == deployment_revisions.c.deployment_id)
    )
    for endpoint, routes, at in revisions:
        for route in routes or []:
            mv_id = keys.get((route.get("model"), int(route.get("version") or 0)))
            if mv_id is not None:
                in_force(mv_id, at)
                served_by.setdefault(mv_id, set()).add(endpoint)
    started = conn.execute(
        sa.select(rollouts.c.candidate_model, rollouts.c.candidate_version, rollouts.c.created_at)
    )
    for name, version, at in started:
        if (mv_id := keys.get((name, int(version)))) is not None:
            in_force(mv_id, at)
    for report_id, mv_id in old:
        if report_id in needed:
            out["evidence"].append(report_id)
        elif held.everything or any(map(held.covers_endpoint, served_by.get(mv_id, ()))):
            out["held"].append(report_id)
        else:
            out["purge"].append(report_id)
    return out


def _delete_gate_reports(conn: sa.Connection, ids: list[str]) -> int:
    from conveyor.gates.tables import gate_reports

    deleted = 0
    for start in range(0, len(ids), 500):  # stay under every driver's parameter limit
        chunk = ids[start : start + 500]
        result = conn.execute(gate_reports.delete().where(gate_reports.c.id.in_(chunk)))
        deleted += int(result.rowcount or 0)
    return deleted


def _plan(
    conn: sa.Connection, policy: RetentionPolicy, held: HeldScopes, now: int
) -> dict[str, Any]:
    log_cutoff = policy.cutoff(policy.prediction_logs_days, now)
    report_cutoff = policy.cutoff(policy.reports_days, now)
    parts: list[dict[str, Any]] = []
    if log_cutoff is not None:
        fs, base = _filesystem(policy.log_uri)
        parts = _partitions(fs, base, utc_date(log_cutoff))
    checks = _old_checks(conn, report_cutoff) if report_cutoff is not None else {}
    gates = (
        _gate_reports(conn, report_cutoff, held)
        if report_cutoff is not None
        else {"purge": [], "evidence": [], "held": []}
    )
    return {
        "gate_reports": gates,
        "log_cutoff": log_cutoff,
        "report_cutoff": report_cutoff,
        "purge": [p for p in parts if not held.covers_endpoint(p["endpoint"])],
        "keep": [p for p in parts if held.covers_endpoint(p["endpoint"])],
        "checks": {e: n for e, n in checks.items() if not held.covers_endpoint(e)},
        "held_checks": {e: n for e, n in checks.items() if held.covers_endpoint(e)},
    }


def _summary(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "partitions": [{k: v for k, v in p.items() if k != "path"} for p in parts],
        "files": sum(p["files"] for p in parts),
        "bytes": sum(p["bytes"] for p in parts),
    }


def purge_retention(stores: Stores, dry_run: bool = False) -> dict[str, Any]:
    """Delete what the retention settings no longer keep, except what legal holds cover
    (``dry_run``: only say what would go). See :func:`purge`."""
    return purge(stores, dry_run=dry_run)


def purge(
    stores: Stores, *, dry_run: bool = False, log_uri: str | None = None, now: int | None = None
) -> dict[str, Any]:
    """Delete what the retention settings no longer keep, except what legal holds cover.

    The answer: ``dry_run``, ``policy`` (days), ``cutoffs`` (epoch ms or None: kept
    forever), ``prediction_logs`` (deleted day partitions, ``files``, ``bytes``),
    ``reports`` (``monitor_checks`` and ``gate_reports`` deleted,
    ``gate_reports_kept_as_evidence``), ``held`` (what open holds kept: partitions, check
    and gate report counts, hold ids) and ``errors`` (partitions that could not be deleted). With
    ``dry_run`` nothing changes and the answer says what a purge would delete. A real purge
    is audited as ``retention.purge`` with the same figures."""
    policy = retention_policy(log_uri)
    at = now_ms() if now is None else now
    if dry_run:
        with stores.read() as conn:
            holds = list_holds(conn)
            plan = _plan(conn, policy, held_scopes(conn), at)
        checks = sum(plan["checks"].values())
        return _report(
            policy, plan, holds, True, checks, [], at, len(plan["gate_reports"]["purge"])
        )
    with stores.write() as uow:
        # the audit head row serialises audited writers: a hold created concurrently is
        # either visible below or waits for this purge to commit
        uow.conn.execute(sa.select(audit_head.c.seq).where(audit_head.c.id == 1).with_for_update())
        holds = list_holds(uow.conn)
        plan = _plan(uow.conn, policy, held_scopes(uow.conn), at)
        deleted = (
            _delete_checks(uow.conn, plan["report_cutoff"], sorted(plan["checks"]))
            if plan["report_cutoff"] is not None
            else 0
        )
        errors = []
        deleted_reports = _delete_gate_reports(uow.conn, plan["gate_reports"]["purge"])
        if plan["purge"]:
            fs, _ = _filesystem(policy.log_uri)
            for part in list(plan["purge"]):
                try:
                    fs.rm(part["path"], recursive=True)
                except OSError as exc:  # keep going; report what stayed
                    plan["purge"].remove(part)
                    errors.append({"path": part["path"], "error": str(exc)})
        report = _report(policy, plan, holds, False, deleted, errors, at, deleted_reports)
        uow.audit(
            "retention.purge",
            "retention",
            "purge",
            report,
            prediction_log_files=report["prediction_logs"]["files"],
            prediction_log_partitions=len(report["prediction_logs"]["partitions"]),
            monitor_checks=deleted,
            gate_reports=deleted_reports,
            gate_reports_kept_as_evidence=report["reports"]["gate_reports_kept_as_evidence"],
            held_partitions=len(report["held"]["partitions"]),
            held_monitor_checks=report["held"]["monitor_checks"],
            held_gate_reports=report["held"]["gate_reports"],
            holds=[h.id for h in holds],
            cutoffs=report["cutoffs"],
            errors=len(errors),
        )
    if errors:
        log.warning("retention purge could not delete %d partition(s): %s", len(errors), errors)
    return report


def _report(
    policy: RetentionPolicy,
    plan: dict[str, Any],
    holds: list[Any],
    dry_run: bool,
    checks_deleted: int,
    errors: list[dict[str, str]],
    at: int,
    gate_reports_deleted: int = 0,
) -> dict[str, Any]:
    return {
        "dry_run": dry_run,
        "at": at,
        "policy": {
            "prediction_logs_days": policy.prediction_logs_days,
            "reports_days": policy.reports_days,
        },
        "cutoffs": {"prediction_logs": plan["log_cutoff"], "reports": plan["report_cutoff"]},
        "prediction_logs": _summary(plan["purge"]),
        "reports": {
            "monitor_checks": checks_deleted,
            "gate_reports": gate_reports_deleted,
            "gate_reports_kept_as_evidence": len(plan["gate_reports"]["evidence"]),
        },
        "held": {
            **_summary(plan["keep"]),
            "monitor_checks": sum(plan["held_checks"].values()),
            "gate_reports": len(plan["gate_reports"]["held"]),
            "holds": [h.id for h in holds],
        },
        "errors": errors,
    }


def schedule_purge(scheduler: Any, stores: Stores, every_s: float) -> Any:
    """Add the purge to a shared :class:`conveyor.jobs.Scheduler` (first run one interval
    from now); returns the job."""
    return scheduler.every(
        every_s, lambda: purge(stores), name="retention-purge", run_at_start=False
    )
