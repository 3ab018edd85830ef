"""Retention: how long prediction logs and stored reports are kept, and the purge job.

The settings ``retention_prediction_logs_days`` (default 183: six months, EU AI Act
Art. 19) and ``retention_reports_days`` (default 3650: ten years, Art. 18) say what the
purge deletes: prediction-log and feedback day partitions
(``<log_uri>/{predictions,feedback}/endpoint=<e>/date=<d>/``) whose whole day is older,
and monitor check records evaluated before the cutoff. It never deletes what an open
legal hold covers (:mod:`conveyor.governance.holds`). A real purge is one audit event
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
            "reports_days": "monitor check records",
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
    return {
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
    ``reports`` (``monitor_checks`` deleted), ``held`` (what open holds kept: partitions,
    check counts, hold ids) and ``errors`` (partitions that could not be deleted). With
    ``dry_run`` nothing changes and the answer says what a purge would delete. A real purge
    is audited as ``retention.purge`` with the same figures."""
    policy = retention_policy(log_uri)
    at = now_ms() if now is None else now
    if dry_run:
        with stores.read() as conn:
            holds = list_holds(conn)
            plan = _plan(conn, policy, held_scopes(conn), at)
        return _report(policy, plan, holds, True, sum(plan["checks"].values()), [], at)
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
        if plan["purge"]:
            fs, _ = _filesystem(policy.log_uri)
            for part in list(plan["purge"]):
                try:
                    fs.rm(part["path"], recursive=True)
                except OSError as exc:  # keep going; report what stayed
                    plan["purge"].remove(part)
                    errors.append({"path": part["path"], "error": str(exc)})
        report = _report(policy, plan, holds, False, deleted, errors, at)
        uow.audit(
            "retention.purge",
            "retention",
            "purge",
            report,
            prediction_log_files=report["prediction_logs"]["files"],
            prediction_log_partitions=len(report["prediction_logs"]["partitions"]),
            monitor_checks=deleted,
            held_partitions=len(report["held"]["partitions"]),
            held_monitor_checks=report["held"]["monitor_checks"],
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
        "reports": {"monitor_checks": checks_deleted},
        "held": {
            **_summary(plan["keep"]),
            "monitor_checks": sum(plan["held_checks"].values()),
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
