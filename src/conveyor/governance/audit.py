"""The audit trail: append-only, hash-chained records of every mutation.

Each event's ``hash`` is sha256 over the previous event's hash and the event's own fields
(its details included), so removing, editing or reordering any stored event breaks every
hash after it; ``verify_chain`` names the first break. A rewrite of the whole table (every
hash recomputed) is caught against an *anchor*: the head ``{seq, hash}`` printed by
``anchor_chain`` and kept outside the database (``conveyor audit anchor --output``).

Events are written by ``UnitOfWork.audit`` inside the same transaction as the change they
describe: the change and its record commit together.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from typing import Annotated, Any

import orjson
import sqlalchemy as sa

from conveyor._schema import END, Limit, NonNegativeInt, Rule, check_limit
from conveyor._util import canonical_json, digest, new_id, now_ms
from conveyor.errors import ValidationFailed
from conveyor.governance.timespec import TimeSpec, parse_time
from conveyor.store.tables import audit_events, audit_head

__all__ = [
    "AuditEvent",
    "ChainReport",
    "anchor_chain",
    "append_event",
    "list_events",
    "verify_chain",
]

GENESIS = "0" * 64

# Built once: every mutation runs these, and a statement object reused with bound
# parameters skips SQLAlchemy's per-call construction and cache-key work.
_LOCK_HEAD = (
    sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1).with_for_update()
)
_INSERT_EVENT = audit_events.insert()
_MOVE_HEAD = (
    audit_head.update()
    .where(audit_head.c.id == 1)
    .values(seq=sa.bindparam("new_seq"), hash=sa.bindparam("new_hash"))
)


@dataclass(frozen=True)
class AuditEvent:
    """One recorded mutation: who did what to which object, when, and a digest of it."""

    seq: int
    id: str
    created: int
    actor: str
    action: str
    object_type: str
    object_id: str
    digest: str
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ChainReport:
    """Result of verifying the chain: ``ok`` and, if not, the first bad sequence number."""

    ok: bool
    events: int
    first_bad_seq: int | None = None
    reason: str = ""
    head_seq: int = 0
    head_hash: str = GENESIS
    first_bad_id: str | None = None
    first_bad_action: str | None = None
    anchored: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _chain_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical_json(fields)).hexdigest()


def _hashed_fields(row: Any, *, with_details: bool = True) -> dict[str, Any]:
    """The fields an event's hash covers. Events written before migration 0010 (seq below
    ``audit_head.details_from_seq``) were hashed without their details: they still verify
    as written, and moving that boundary either way breaks the chain."""
    fields = {
        "id": row["id"],
        "created": row["created"],
        "actor": row["actor"],
        "action": row["action"],
        "object_type": row["object_type"],
        "object_id": row["object_id"],
        "digest": row["digest"],
    }
    if with_details:
        fields["details"] = row["details"]
    return fields


def append_event(
    conn: sa.Connection,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    change: Any,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain on ``conn`` (which must be inside a write transaction).

    The chain head row is locked (``FOR UPDATE`` on PostgreSQL; SQLite writers are already
    serialised by ``BEGIN IMMEDIATE``) so concurrent writers extend the chain one by one.
    """
    head = conn.execute(_LOCK_HEAD).one()
    row = {
        "seq": head.seq + 1,
        "id": new_id(),
        "created": now_ms(),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "digest": digest(change),
        # normalised through JSON now, so the hashed details equal what is read back
        "details": orjson.loads(canonical_json(details or {})),
        "prev_hash": head.hash,
    }
    row["hash"] = _chain_hash(head.hash, _hashed_fields(row))
    conn.execute(_INSERT_EVENT, row)
    conn.execute(_MOVE_HEAD, {"new_seq": row["seq"], "new_hash": row["hash"]})
    return AuditEvent(**row)


def list_events(
    conn: sa.Connection,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    since: TimeSpec | None = None,
    until: TimeSpec | None = None,
    limit: Limit = 100,
    after_seq: NonNegativeInt = 0,
    newest_first: bool = False,
) -> list[AuditEvent]:
    """Events in chain order (``newest_first``: the latest ``limit`` events, newest
    first), optionally filtered by object, action, actor and time.

    ``action`` ending in ``*`` matches a prefix (``deployment.*``). ``since`` (inclusive)
    and ``until`` (exclusive) are ISO-8601 times (``2026-01-31``, ``2026-01-31T12:00Z``),
    epoch milliseconds, or an age before now (``7d``, ``12h``)."""
    check_limit(limit)
    if isinstance(after_seq, bool) or not isinstance(after_seq, int) or after_seq < 0:
        raise ValidationFailed(f"after_seq must be a non-negative integer, got {after_seq!r}")
    query = sa.select(audit_events).where(audit_events.c.seq > after_seq)
    if object_type:
        query = query.where(audit_events.c.object_type == object_type)
    if object_id:
        query = query.where(audit_events.c.object_id == object_id)
    if action and action.endswith("*"):
        prefix = action[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(audit_events.c.action.like(prefix + "%", escape="\\"))
    elif action:
        query = query.where(audit_events.c.action == action)
    if actor:
        query = query.where(audit_events.c.actor == actor)
    if since is not None:
        query = query.where(audit_events.c.created >= parse_time(since, "since"))
    if until is not None:
        query = query.where(audit_events.c.created < parse_time(until, "until"))
    order = audit_events.c.seq.desc() if newest_first else audit_events.c.seq
    rows = conn.execute(query.order_by(order).limit(limit)).mappings()
    return [AuditEvent(**dict(r)) for r in rows]


AnchorRef = Annotated[str, Rule({"pattern": f"^[0-9]{{1,15}}:[0-9a-f]{{64}}{END}"})]
"""An anchor as ``"<seq>:<hash>"`` (``anchor_chain()["anchor"]``)."""
_ANCHOR = re.compile(r"([0-9]{1,15}):([0-9a-f]{64})")


def anchor_chain(conn: sa.Connection) -> dict[str, Any]:
    """The chain head to keep outside the database: ``{"seq", "hash", "anchor", "at"}``.

    Give ``anchor`` (``"<seq>:<hash>"``) back to ``verify_chain(anchor=...)`` later: if
    the event at ``seq`` no longer has that hash, the table was rewritten."""
    head = conn.execute(sa.select(audit_head.c.seq, audit_head.c.hash)).one()
    return {
        "seq": head.seq,
        "hash": head.hash,
        "anchor": f"{head.seq}:{head.hash}",
        "at": now_ms(),
    }


def verify_chain(
    conn: sa.Connection,
    anchor: AnchorRef | None = None,
    batch: Limit = 10_000,
) -> ChainReport:
    """Recompute every hash in order; report the first event that does not match.

    With ``anchor`` (``"<seq>:<hash>"`` from ``anchor_chain``, kept elsewhere) it also
    checks that the event at that seq still carries that hash, which catches a rewrite
    of the whole table that is consistent in itself."""
    check_limit(batch, "batch")
    anchor_seq: int | None = None
    anchor_hash: str | None = None
    if anchor is not None:
        m = _ANCHOR.fullmatch(anchor) if isinstance(anchor, str) else None
        if m is None:
            raise ValidationFailed(
                f"bad anchor {anchor!r}: expected <seq>:<sha256 hex> (anchor_chain()['anchor'])"
            )
        anchor_seq, anchor_hash = int(m[1]), m[2]
    prev, count, last_seq = GENESIS, 0, 0
    anchor_seen = anchor_seq == 0
    details_from = conn.execute(sa.select(audit_head.c.details_from_seq)).scalar() or 0

    def bad(seq: int, reason: str, row: Any = None) -> ChainReport:
        return ChainReport(
            False,
            count,
            seq,
            reason,
            head_seq=last_seq,
            head_hash=prev,
            first_bad_id=row["id"] if row is not None else None,
            first_bad_action=row["action"] if row is not None else None,
            anchored=anchor_seq is not None,
        )

    while True:
        rows = (
            conn.execute(
                sa.select(audit_events)
                .where(audit_events.c.seq > last_seq)
                .order_by(audit_events.c.seq)
                .limit(batch)
            )
            .mappings()
            .all()
        )
        if not rows:
            break
        for row in rows:
            count += 1
            if row["seq"] != last_seq + 1:
                return bad(last_seq + 1, "event missing from the chain (deleted)", None)
            if row["prev_hash"] != prev:
                why = "previous-hash link broken (events deleted or reordered)"
                return bad(row["seq"], why, row)
            fields = _hashed_fields(row, with_details=row["seq"] >= details_from)
            if _chain_hash(prev, fields) != row["hash"]:
                return bad(row["seq"], "hash does not match its content (event edited)", row)
            if anchor_seq is not None and row["seq"] == anchor_seq:
                anchor_seen = True
                if row["hash"] != anchor_hash:
                    return bad(
                        row["seq"],
                        "event no longer has the anchored hash: the chain was rewritten "
                        "at or before it",
                        row,
                    )
            prev, last_seq = row["hash"], row["seq"]
    if anchor_seq is not None and not anchor_seen:
        return bad(
            last_seq + 1,
            f"the chain ends at seq {last_seq}, before the anchored seq {anchor_seq}: "
            "events were removed",
        )
    head = conn.execute(sa.select(audit_head.c.seq, audit_head.c.hash)).one()
    if head.seq != last_seq or head.hash != prev:
        return bad(last_seq + 1, "chain head disagrees with the last event (events deleted)")
    return ChainReport(
        True, count, head_seq=last_seq, head_hash=prev, anchored=anchor_seq is not None
    )
