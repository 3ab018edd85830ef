"""The metadata store opens, migrates once, and records a verifiable audit chain."""

from __future__ import annotations

import sqlalchemy as sa

from conveyor.governance.audit import list_events, verify_chain
from conveyor.governance.identity import Actor
from conveyor.store import MetadataStore
from conveyor.store.tables import audit_events


def test_migrates_to_head_and_reopens(meta: MetadataStore) -> None:
    revision = meta.current_revision()
    assert revision is not None
    again = MetadataStore(meta.url)
    assert again.current_revision() == revision
    again.dispose()


def test_audit_chain_detects_tampering(meta: MetadataStore) -> None:
    actor = Actor("alice")
    for i in range(3):
        with meta.write(actor) as uow:
            uow.audit("thing.create", "thing", str(i), {"i": i})
    with meta.read() as conn:
        assert verify_chain(conn).ok
        events = list_events(conn)
    assert [e.object_id for e in events] == ["0", "1", "2"]
    assert {e.actor for e in events} == {"alice"}
    with meta.write(actor) as uow:
        uow.conn.execute(
            sa.update(audit_events).where(audit_events.c.seq == 2).values(actor="mallory")
        )
    with meta.read() as conn:
        report = verify_chain(conn)
    assert not report.ok
    assert report.first_bad_seq == 2


def test_failed_unit_of_work_leaves_no_audit_event(meta: MetadataStore) -> None:
    try:
        with meta.write(Actor("bob")) as uow:
            uow.audit("thing.create", "thing", "x")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with meta.read() as conn:
        assert list_events(conn) == []
        assert verify_chain(conn).ok
