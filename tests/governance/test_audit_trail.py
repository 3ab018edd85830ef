"""The audit trail: search by actor/action/object/time, JSON Lines export, tamper
detection (edit, deletion, reordering — each done directly in SQLite), and anchors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from conveyor.backend.local import LocalBackend
from conveyor.cli.main import app
from conveyor.governance.audit import list_events, verify_chain
from conveyor.governance.identity import Actor
from conveyor.governance.timespec import parse_time
from conveyor.store import MetadataStore
from conveyor.store.tables import audit_events

RunJson = Callable[..., Any]
DAY = 86_400_000


def _seed(meta: MetadataStore) -> None:
    """Six events by two actors on two object types, one day apart (created rewritten
    by re-hashing the chain is not possible, so times come from the real clock)."""
    for i, (who, action, kind) in enumerate(
        [
            ("alice", "model.create", "model"),
            ("bob", "deployment.deploy", "deployment"),
            ("alice", "deployment.rollback", "deployment"),
            ("bob", "model.create", "model"),
            ("alice", "deployment.deploy", "deployment"),
            ("carol", "model_version.create", "model_version"),
        ]
    ):
        with meta.write(Actor(who)) as uow:
            uow.audit(action, kind, f"{kind}-{i % 2}", {"i": i}, note=f"event {i}")


@pytest.fixture
def seeded(backend: LocalBackend) -> LocalBackend:
    _seed(backend.meta)
    return backend


def test_log_filters_by_actor_action_object(seeded: LocalBackend, run_json: RunJson) -> None:
    assert [e["seq"] for e in run_json("audit", "log", "--actor", "alice")] == [1, 3, 5]
    assert [e["seq"] for e in run_json("audit", "log", "--action", "deployment.*")] == [2, 3, 5]
    assert [e["seq"] for e in run_json("audit", "log", "--action", "model.create")] == [1, 4]
    assert [e["seq"] for e in run_json("audit", "log", "--object", "deployment:deployment-1")] == [
        2
    ]
    assert [e["seq"] for e in run_json("audit", "log", "--object", "model")] == [1, 4]
    both = run_json("audit", "log", "--actor", "alice", "--action", "deployment.*", "-n", "1")
    assert [e["seq"] for e in both] == [3]
    # the same filters through the SDK (the operation table)
    assert [e.seq for e in seeded.list_audit_events(actor="carol")] == [6]


def test_log_filters_by_time_range(seeded: LocalBackend, run_json: RunJson) -> None:
    events = run_json("audit", "log")
    third = events[2]["created"]
    later = run_json("audit", "log", "--since", str(third))
    assert [e["seq"] for e in later] == [e["seq"] for e in events if e["created"] >= third]
    before = run_json("audit", "log", "--until", str(third))
    assert all(e["created"] < third for e in before)
    assert run_json("audit", "log", "--since", "1d") == events  # all within the last day
    assert run_json("audit", "log", "--until", "2000-01-01") == []
    assert run_json("audit", "log", "--since", "2000-01-01T00:00Z") == events


def test_log_exports_json_lines(seeded: LocalBackend, runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "export" / "audit.jsonl"
    result = runner.invoke(app, ["audit", "log", "--actor", "bob", "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["seq"], r["actor"]) for r in rows] == [(2, "bob"), (4, "bob")]
    assert rows[0]["details"] == {"note": "event 1"} and len(rows[0]["hash"]) == 64
    stdout = runner.invoke(app, ["audit", "log", "--jsonl"]).stdout.splitlines()
    assert [json.loads(line)["seq"] for line in stdout] == [1, 2, 3, 4, 5, 6]


def test_bad_time_is_a_clear_usage_error(seeded: LocalBackend, runner: CliRunner) -> None:
    result = runner.invoke(app, ["audit", "log", "--since", "last tuesday"])
    assert result.exit_code == 2
    assert "bad since 'last tuesday'" in result.stderr and "7d" in result.stderr


def test_parse_time_forms() -> None:
    assert parse_time("1970-01-02") == DAY
    assert parse_time("1970-01-02T00:00:00Z") == DAY
    assert parse_time("1970-01-02T01:00:00+01:00") == DAY
    assert parse_time("86400000") == DAY
    assert parse_time("1d", now=2 * DAY) == DAY


def _verify(runner: CliRunner, *extra: str) -> tuple[int, str, dict[str, Any]]:
    text = runner.invoke(app, ["audit", "verify", *extra])
    report = runner.invoke(app, ["audit", "verify", *extra, "--json"])
    return text.exit_code, text.stderr.strip(), json.loads(report.stdout)


def _sql(backend: LocalBackend, *statements: Any) -> None:
    """Tamper directly in the SQLite file, as someone with database access could."""
    with backend.meta.engine.begin() as conn:
        for statement in statements:
            conn.execute(statement)


def test_verify_names_an_edited_event(seeded: LocalBackend, runner: CliRunner) -> None:
    assert _verify(runner)[0] == 0
    _sql(seeded, sa.update(audit_events).where(audit_events.c.seq == 4).values(actor="mallory"))
    code, message, report = _verify(runner)
    assert code == 1 and report["first_bad_seq"] == 4
    assert message.startswith("Audit chain broken at seq 4 (model.create, id ")
    assert "edited" in message


def test_verify_catches_an_edit_of_the_details(seeded: LocalBackend, runner: CliRunner) -> None:
    _sql(
        seeded,
        sa.update(audit_events)
        .where(audit_events.c.seq == 3)
        .values(details={"note": "nothing happened"}),
    )
    code, _, report = _verify(runner)
    assert code == 1 and report["first_bad_seq"] == 3


def test_verify_names_a_deleted_event(seeded: LocalBackend, runner: CliRunner) -> None:
    _sql(seeded, sa.delete(audit_events).where(audit_events.c.seq == 2))
    code, message, report = _verify(runner)
    assert code == 1 and report["first_bad_seq"] == 2
    assert "deleted" in message


def test_verify_names_the_last_event_deleted(seeded: LocalBackend, runner: CliRunner) -> None:
    _sql(seeded, sa.delete(audit_events).where(audit_events.c.seq == 6))
    code, _, report = _verify(runner)
    assert code == 1 and report["first_bad_seq"] == 6


def test_verify_names_reordered_events(seeded: LocalBackend, runner: CliRunner) -> None:
    # swap events 3 and 5: every column but seq moves
    _sql(
        seeded,
        sa.update(audit_events).where(audit_events.c.seq == 3).values(seq=-3),
        sa.update(audit_events).where(audit_events.c.seq == 5).values(seq=3),
        sa.update(audit_events).where(audit_events.c.seq == -3).values(seq=5),
    )
    code, message, report = _verify(runner)
    assert code == 1 and report["first_bad_seq"] == 3
    assert "reordered" in message


def _rewrite_whole_chain(backend: LocalBackend, drop_seq: int) -> None:
    """Delete one event and re-hash everything: a chain consistent in itself."""
    from conveyor.governance import audit

    with backend.meta.engine.begin() as conn:
        rows = [
            dict(r)
            for r in conn.execute(sa.select(audit_events).order_by(audit_events.c.seq)).mappings()
        ]
        conn.execute(sa.delete(audit_events))
        prev, seq = audit.GENESIS, 0
        for row in rows:
            if row["seq"] == drop_seq:
                continue
            seq += 1
            row.update(seq=seq, prev_hash=prev)
            row["hash"] = prev = audit._chain_hash(prev, audit._hashed_fields(row))
            conn.execute(audit_events.insert().values(**row))
        conn.execute(audit.audit_head.update().values(seq=seq, hash=prev))


def test_anchor_detects_a_rewrite_of_the_whole_table(
    seeded: LocalBackend, runner: CliRunner, tmp_path: Path
) -> None:
    anchor = tmp_path / "anchors" / "head.json"
    result = runner.invoke(app, ["audit", "anchor", "--output", str(anchor)])
    assert result.exit_code == 0, result.output
    saved = json.loads(anchor.read_text())
    assert saved["seq"] == 6 and len(saved["hash"]) == 64 and saved["hash"] in result.stdout
    assert _verify(runner, "--anchor", str(anchor))[0] == 0
    # later events keep verifying against the older anchor
    with seeded.meta.write(Actor("dave")) as uow:
        uow.audit("model.create", "model", "m-9")
    assert _verify(runner, "--anchor", str(anchor))[0] == 0

    _rewrite_whole_chain(seeded, drop_seq=2)
    assert _verify(runner)[0] == 0  # consistent in itself: only the anchor can tell
    code, message, report = _verify(runner, "--anchor", str(anchor))
    assert code == 1 and report["first_bad_seq"] == 6 and report["anchored"] is True
    assert "rewritten" in message


def test_anchor_detects_a_truncated_table(
    seeded: LocalBackend, runner: CliRunner, tmp_path: Path
) -> None:
    anchor = tmp_path / "head.json"
    assert runner.invoke(app, ["audit", "anchor", "-o", str(anchor)]).exit_code == 0
    with seeded.meta.engine.begin() as conn:
        conn.execute(sa.delete(audit_events).where(audit_events.c.seq >= 5))
        conn.execute(
            sa.update(audit_events.metadata.tables["audit_head"]).values(
                seq=4,
                hash=conn.execute(
                    sa.select(audit_events.c.hash).where(audit_events.c.seq == 4)
                ).scalar_one(),
            )
        )
    assert _verify(runner)[0] == 0
    code, message, report = _verify(runner, "--anchor", str(anchor))
    assert code == 1 and report["first_bad_seq"] == 5 and "removed" in message


def test_bad_anchor_file_is_a_usage_error(
    seeded: LocalBackend, runner: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "x.json").write_text("{}")
    result = runner.invoke(app, ["audit", "verify", "--anchor", str(tmp_path / "x.json")])
    assert result.exit_code == 2 and "is not an audit anchor" in result.stderr
    result = runner.invoke(app, ["audit", "verify", "--anchor", str(tmp_path / "none.json")])
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_anchor_and_verify_through_rest(api_server: tuple[str, Any]) -> None:
    from conveyor.backend import connect

    url, local = api_server
    _seed(local.meta)
    remote = connect(url)
    try:
        head = remote.anchor_audit_chain()
        assert head["seq"] == 6
        report = remote.verify_audit_chain(anchor=head["anchor"])
        assert report.ok and report.anchored
        bad = remote.verify_audit_chain(anchor="3:" + "0" * 64)
        assert not bad.ok and bad.first_bad_seq == 3
        assert [e.seq for e in remote.list_audit_events(actor="alice", action="deployment.*")] == [
            3,
            5,
        ]
    finally:
        remote.close()


def test_list_events_on_each_store(meta: MetadataStore) -> None:
    _seed(meta)
    with meta.read() as conn:
        assert [e.seq for e in list_events(conn, actor="bob", action="model.*")] == [4]
        assert [e.seq for e in list_events(conn, action="model_*")] == [6]  # _ is literal
        assert verify_chain(conn).ok


def test_events_hashed_before_details_were_covered_still_verify(backend: LocalBackend) -> None:
    """A store upgraded through migration 0010 keeps its older events' hashes (computed
    without details): verify accepts them, and still catches a moved boundary."""
    from conveyor.governance.audit import GENESIS, _chain_hash, _hashed_fields
    from conveyor.store.tables import audit_head

    _seed(backend.meta)
    engine = backend.meta.engine
    with engine.begin() as conn:  # rewrite events 1-3 as a pre-0010 store wrote them
        prev = GENESIS
        for row in conn.execute(sa.select(audit_events).order_by(audit_events.c.seq)).mappings():
            old = row["seq"] <= 3
            new_hash = _chain_hash(prev, _hashed_fields(row, with_details=not old))
            conn.execute(
                audit_events.update()
                .where(audit_events.c.seq == row["seq"])
                .values(hash=new_hash, prev_hash=prev)
            )
            prev = new_hash
        conn.execute(audit_head.update().values(hash=prev, details_from_seq=4))
    with backend.meta.read() as conn:
        assert verify_chain(conn).ok
    for moved in (3, 5):  # the boundary is part of what verify trusts: moving it breaks
        with engine.begin() as conn:
            conn.execute(audit_head.update().values(details_from_seq=moved))
        with backend.meta.read() as conn:
            assert not verify_chain(conn).ok
