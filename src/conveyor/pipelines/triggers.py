"""Retraining triggers: a pipeline bound to a cause, with the controller's rules.

Causes (``cause_kind`` / ``cause``):

* ``alert`` / monitor name — positive while the monitor has a firing alert (and at once
  when the alert hook reports a firing);
* ``cron`` / a 5-field cron expression — positive when a scheduled time has passed since
  the previous evaluation;
* ``dataset`` / dataset name — positive when the dataset has a version newer than the
  last one the trigger saw.

Rules: fire when ``m`` of the last ``n`` evaluations were positive; at most one run per
``(model, cause)`` at a time (dedup, across triggers); ``cooldown_s`` between firings;
``max_concurrent`` runs of this trigger; and, with ``labels_dataset``, only when its
latest version has at least ``min_labels`` rows. A trigger naming a pipeline or monitor
that does not exist is refused at creation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any

import sqlalchemy as sa

from conveyor._schema import Limit, Name, Rule, check_limit
from conveyor._util import check_name, new_id, now_ms, to_iso
from conveyor.errors import Conflict, NotFound, ValidationFailed
from conveyor.pipelines.tables import trigger_evaluations, triggers
from conveyor.store.projects import current_project_id, in_current_project
from conveyor.store.tables import DEFAULT_PROJECT_ID
from conveyor.store.uow import UnitOfWork

__all__ = [
    "CAUSES",
    "Trigger",
    "create_trigger",
    "get_trigger",
    "list_evaluations",
    "list_triggers",
    "set_trigger_state",
]

TriggerState = Annotated[str, Rule({"enum": ["active", "paused"]})]

CAUSES = ("alert", "cron", "dataset")


@dataclass(slots=True)
class Trigger:
    id: str
    name: str
    pipeline: str
    params: dict[str, Any]
    cause_kind: str
    cause: str
    model: str
    m: int
    n: int
    cooldown_s: float
    max_concurrent: int
    labels_dataset: str | None
    min_labels: int
    state: str
    watermark: str | None
    last_fired_at: int | None
    last_evaluated_at: int | None
    created_by: str
    created_at: int
    updated_at: int

    @property
    def dedup_key(self) -> str:
        return f"{self.model}|{self.cause_kind}:{self.cause}"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["dedup_key"] = self.dedup_key
        out["last_fired_at_iso"] = to_iso(self.last_fired_at) if self.last_fired_at else None
        return out


def _trigger(row: Any) -> Trigger:
    return Trigger(**{f: getattr(row, f) for f in Trigger.__dataclass_fields__})


def _check_cause(conn: sa.Connection, kind: str, cause: str, project_id: str) -> None:
    if kind == "cron":
        from croniter import croniter

        if not croniter.is_valid(cause):
            raise ValidationFailed(
                f"trigger cause cron:{cause}: not a cron expression (e.g. '0 3 * * *')"
            )
        return
    if kind not in CAUSES:
        raise ValidationFailed(f"trigger cause kind {kind!r}: use one of {', '.join(CAUSES)}")
    from conveyor.data import service as datasets
    from conveyor.monitoring import service as monitoring

    what, lookup, listing = {
        "alert": ("monitor", monitoring.get_monitor, "conveyor monitor list"),
        "dataset": ("dataset", datasets.get_dataset, "conveyor datasets list"),
    }[kind]
    try:
        lookup(conn, cause, project_id=project_id)
    except NotFound:
        raise NotFound(
            f"trigger cause {kind}:{cause}: no {what} {cause!r} (`{listing}` shows them)"
        ) from None


def _check_pipeline(target: str) -> None:
    from conveyor.pipelines.engine import load_pipeline

    load_pipeline(target)  # NotFound / ValidationFailed name what is wrong


@in_current_project
def create_trigger(
    uow: UnitOfWork,
    name: Name,
    *,
    pipeline: str,
    cause_kind: str,
    cause: str,
    model: str | None = None,
    params: dict[str, Any] | None = None,
    m: int = 1,
    n: int = 1,
    cooldown_s: float = 3600.0,
    max_concurrent: int = 1,
    labels_dataset: str | None = None,
    min_labels: int = 0,
    project_id: str = DEFAULT_PROJECT_ID,
) -> Trigger:
    """Create a trigger; its pipeline and cause must exist."""
    check_name(name, "trigger name")
    if not (1 <= m <= n <= 1000):
        raise ValidationFailed(f"trigger {name!r}: need 1 <= m <= n <= 1000, got m={m} n={n}")
    if cooldown_s < 0 or max_concurrent < 1 or min_labels < 0:
        raise ValidationFailed(
            f"trigger {name!r}: cooldown >= 0, max_concurrent >= 1 and min_labels >= 0"
        )
    if min_labels and not labels_dataset:
        raise ValidationFailed(f"trigger {name!r}: min_labels needs labels_dataset")
    _check_pipeline(pipeline)
    _check_cause(uow.conn, cause_kind, cause, project_id)
    exists = uow.conn.execute(
        sa.select(triggers.c.id).where(triggers.c.project_id == project_id, triggers.c.name == name)
    ).first()
    if exists is not None:
        raise Conflict(f"trigger {name!r} already exists")
    now = now_ms()
    trigger_id = new_id()
    values: dict[str, Any] = {
        "id": trigger_id,
        "project_id": project_id,
        "name": name,
        "pipeline": pipeline,
        "params": dict(params or {}),
        "cause_kind": cause_kind,
        "cause": cause,
        "model": check_name(model or pipeline.replace(":", "."), "trigger model"),
        "m": m,
        "n": n,
        "cooldown_s": float(cooldown_s),
        "max_concurrent": max_concurrent,
        "labels_dataset": labels_dataset,
        "min_labels": min_labels,
        "state": "active",
        "watermark": None,
        "last_fired_at": None,
        "last_evaluated_at": None,
        "created_by": str(uow.actor),
        "created_at": now,
        "updated_at": now,
    }
    if cause_kind == "dataset":
        values["watermark"] = _latest_dataset_version(uow.conn, cause, project_id)
    uow.conn.execute(triggers.insert().values(**values))
    uow.audit("trigger.create", "trigger", trigger_id, values)
    return get_trigger(uow.conn, name, project_id=project_id)


def _latest_dataset_version(conn: sa.Connection, name: str, project_id: str) -> str | None:
    from conveyor.data import service as datasets

    versions = datasets.list_versions(conn, name, project_id=project_id)
    return max(versions, key=lambda v: v.version).id if versions else None


def _row(conn: sa.Connection, name: str, project_id: str) -> Any:
    row = conn.execute(
        sa.select(triggers).where(
            triggers.c.project_id == project_id,
            sa.or_(triggers.c.name == name, triggers.c.id == name),
        )
    ).first()
    if row is None:
        raise NotFound(f"no trigger {name!r}: `conveyor trigger list` shows the triggers")
    return row


@in_current_project
def get_trigger(
    conn: sa.Connection, name: Name, *, project_id: str = DEFAULT_PROJECT_ID
) -> Trigger:
    """A trigger by name or id."""
    return _trigger(_row(conn, name, project_id))


@in_current_project
def list_triggers(
    conn: sa.Connection, *, active_only: bool = False, project_id: str = DEFAULT_PROJECT_ID
) -> list[Trigger]:
    query = sa.select(triggers).where(triggers.c.project_id == project_id)
    if active_only:
        query = query.where(triggers.c.state == "active")
    return [_trigger(r) for r in conn.execute(query.order_by(triggers.c.name))]


@in_current_project
def set_trigger_state(
    uow: UnitOfWork,
    name: Name,
    state: TriggerState,
    *,
    project_id: str = DEFAULT_PROJECT_ID,
) -> Trigger:
    """Pause (``paused``) or resume (``active``) a trigger."""
    if state not in ("active", "paused"):
        raise ValidationFailed(f"trigger state {state!r}: use active or paused")
    row = _row(uow.conn, name, project_id)
    uow.conn.execute(
        triggers.update().where(triggers.c.id == row.id).values(state=state, updated_at=now_ms())
    )
    uow.audit(
        f"trigger.{'pause' if state == 'paused' else 'resume'}", "trigger", row.id, {"state": state}
    )
    return get_trigger(uow.conn, row.id, project_id=project_id)


def list_evaluations(
    conn: sa.Connection, trigger_id: str, *, limit: Limit = 50
) -> list[dict[str, Any]]:
    """The trigger's latest evaluations, newest first."""
    check_limit(limit)
    rows = conn.execute(
        sa.select(trigger_evaluations)
        .where(
            trigger_evaluations.c.trigger_id == trigger_id,
            trigger_evaluations.c.trigger_id.in_(
                sa.select(triggers.c.id).where(triggers.c.project_id == current_project_id())
            ),
        )
        .order_by(trigger_evaluations.c.evaluated_at.desc(), trigger_evaluations.c.id.desc())
        .limit(limit)
    )
    return [dict(r._mapping) for r in rows]
