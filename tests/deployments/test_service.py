"""Deploy / rollback services: revision history, validation, audit (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from conveyor.backend.local import LocalBackend
from conveyor.deployments import (
    deploy,
    get_deployment,
    get_revision,
    list_deployments,
    list_revisions,
    parse_ref,
    rollback,
)
from conveyor.deployments.tables import deployment_revisions
from conveyor.errors import NotFound, ValidationFailed
from conveyor.governance.identity import Actor
from conveyor.registry.service import create_model_version


@pytest.fixture
def churn(backend: LocalBackend) -> LocalBackend:
    """Model ``churn`` with versions 1..3 (records only: no files needed here), alias
    ``champion`` -> 2."""
    with backend.meta.write(backend.actor) as uow:
        for i in range(3):
            sha = f"{i:064x}"
            create_model_version(
                uow, "churn", source=f"runs:/{i}/model", manifest_sha256=sha, flavor="sklearn",
                files=[{"path": "conveyor-model.json", "sha256": sha, "size": 1}],
            )  # fmt: skip
    backend.set_model_alias("churn", "champion", 2)
    return backend


def _deploy(backend: LocalBackend, endpoint: str, **kwargs: object):  # type: ignore[no-untyped-def]
    with backend.meta.write(backend.actor) as uow:
        return deploy(uow, endpoint, **kwargs)  # type: ignore[arg-type]


def _rollback(backend: LocalBackend, endpoint: str, **kwargs: object):  # type: ignore[no-untyped-def]
    with backend.meta.write(backend.actor) as uow:
        return rollback(uow, endpoint, **{"reason": "test", **kwargs})  # type: ignore[arg-type]


def test_deploy_resolves_alias_and_records_routes(churn: LocalBackend) -> None:
    rev = _deploy(churn, "churn-api", model="churn@champion", canary="churn/3:10",
                  shadow="churn/1", fallback="churn/1", deadline_ms=50)  # fmt: skip
    assert rev.revision == 1 and rev.reason == "deploy" and rev.parent_revision is None
    assert rev.rollout_state == "canary"
    routes = {r.name: r for r in rev.routes}
    assert (routes["primary"].version, routes["primary"].alias) == (2, "champion")
    assert routes["primary"].weight == 90 and routes["canary"].weight == 10
    assert routes["shadow"].role == "shadow" and routes["fallback"].version == 1
    assert rev.deadline_ms == 50
    assert rev.sticky == {"header": "x-conveyor-key", "field": None}
    assert {k: c.status for k, c in rev.compiled.items()} == {
        "churn/2": "pending", "churn/3": "pending", "churn/1": "pending"
    }  # fmt: skip
    # the alias moving later does not change the stored revision
    churn.set_model_alias("churn", "champion", 3)
    with churn.meta.read() as conn:
        assert get_revision(conn, "churn-api").routes[0].version == 2


def test_revision_history_is_append_only_and_rollback_walks_back(churn: LocalBackend) -> None:
    _deploy(churn, "ep", model="churn/1")
    _deploy(churn, "ep", model="churn/2")
    _deploy(churn, "ep", model="churn/3")
    r4 = _rollback(churn, "ep")
    assert (r4.revision, r4.reason, r4.restored_from) == (4, "rollback", 2)
    assert r4.routes[0].version == 2
    r5 = _rollback(churn, "ep")  # a second rollback goes one step further back
    assert (r5.revision, r5.restored_from, r5.routes[0].version) == (5, 1, 1)
    with pytest.raises(ValidationFailed, match="no earlier revision"):
        _rollback(churn, "ep")
    r6 = _rollback(churn, "ep", to_revision=3)
    assert r6.routes[0].version == 3
    with churn.meta.read() as conn:
        revs = list_revisions(conn, "ep")
        assert [r.revision for r in revs] == [6, 5, 4, 3, 2, 1]
        assert [r.routes[0].version for r in revs] == [3, 1, 2, 3, 2, 1]
        dep = get_deployment(conn, "ep")
        assert dep.current_revision == 6 and dep.current is not None
        assert dep.current.routes[0].version == 3
        assert [d.name for d in list_deployments(conn)] == ["ep"]
        rows = conn.execute(sa.select(sa.func.count()).select_from(deployment_revisions))
        assert rows.scalar() == 6


def test_every_change_is_audited(churn: LocalBackend) -> None:
    actor = Actor("alice")
    with churn.meta.write(actor) as uow:
        deploy(uow, "ep", model="churn/1")
    with churn.meta.write(actor) as uow:
        deploy(uow, "ep", model="churn/2", canary="churn/3:25")
    with churn.meta.write(actor) as uow:
        rollback(uow, "ep", reason="test")
    events = churn.list_audit_events(object_type="deployment")
    assert [e.action for e in events][-4:] == [
        "deployment.create", "deployment.deploy", "deployment.deploy", "deployment.rollback"
    ]  # fmt: skip
    assert all(e.actor == "alice" for e in events[-4:])
    assert events[-2].details["routes"] == ["primary:churn/2:75", "canary:churn/3:25"]
    assert events[-1].details["revision"] == 3 and events[-1].details["previous"] == 2
    assert churn.verify_audit_chain().ok


_INVALID: list[tuple[dict[str, object], str]] = [
    ({"model": "churn/1", "canary": ["churn/2:60", "churn/3:40"]}, "leaving the primary"),
    ({"model": "churn/1:80", "canary": "churn/2:10"}, "must sum to 100"),
    ({"ab": ["churn/1:50", "churn/2:30"]}, "must sum to 100"),
    ({"ab": ["churn/1:50", "churn/2"]}, "every A/B route a weight"),
    ({"model": "churn/1", "canary": "churn/2"}, "needs a weight"),
    ({"model": "churn/1", "shadow": "churn/2:10"}, "takes no weight"),
    ({"canary": "churn/2:10"}, "needs a primary model"),
    ({"model": "churn"}, "bad model reference"),
    ({"model": "churn/1:abc"}, "must be a number"),
    ({"model": "churn/1", "deadline_ms": 0}, "deadline_ms"),
    ({"model": "churn/1", "ab_key": "bad key"}, "bad ab_key"),
]


def test_validation_messages(churn: LocalBackend) -> None:
    for kwargs, message in _INVALID:
        with pytest.raises(ValidationFailed, match=message):
            _deploy(churn, "ep", **kwargs)
    with churn.meta.read() as conn:
        assert list_deployments(conn) == []  # nothing written


def test_ab_routes_and_sticky_key(churn: LocalBackend) -> None:
    rev = _deploy(churn, "ab", ab=["churn/1", "churn/2"], ab_key="field:user_id")
    assert [(r.name, r.weight) for r in rev.routes] == [("a", 50.0), ("b", 50.0)]
    assert rev.rollout_state == "ab" and rev.sticky["field"] == "user_id"
    rev = _deploy(churn, "ab", model="churn/3:20", ab=["churn/1:40", "churn/2:40"],
                  ab_key="X-User-Id")  # fmt: skip
    assert [r.weight for r in rev.routes] == [20, 40, 40]
    assert rev.sticky["header"] == "x-user-id"


def test_unknown_models_are_named(churn: LocalBackend) -> None:
    with pytest.raises(NotFound, match="'nope' is not registered"):
        _deploy(churn, "ep", model="nope/1")
    with pytest.raises(NotFound, match=r"canary churn/9.*no version 9"):
        _deploy(churn, "ep", model="churn/1", canary="churn/9:5")
    with pytest.raises(NotFound, match="no alias 'gold'"):
        _deploy(churn, "ep", model="churn@gold")
    with churn.meta.read() as conn, pytest.raises(NotFound, match="'ghost' is not deployed"):
        get_deployment(conn, "ghost")
    with pytest.raises(NotFound, match="not deployed"):
        _rollback(churn, "ghost")


def test_parse_ref() -> None:  # no store needed
    ref = parse_ref("models:/team/churn/4:12.5")
    assert (ref.model, ref.ref, ref.weight, ref.is_alias) == ("team/churn", "4", 12.5, False)
    ref = parse_ref("churn@champion")
    assert (ref.model, ref.ref, ref.is_alias, str(ref)) == (
        "churn",
        "champion",
        True,
        "churn@champion",
    )
    with pytest.raises(ValidationFailed, match="within 0-100"):
        parse_ref("churn/1:101")


def test_migration_matches_the_table_definitions(backend: LocalBackend) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from conveyor.store.tables import metadata

    with backend.meta.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    ours = [d for d in diff if "deployment" in repr(d) or "model_compilations" in repr(d)]
    assert ours == []


def test_public_surface() -> None:
    import conveyor.deployments as pkg

    assert sorted(pkg.__all__) == sorted(
        ["ROLES", "BatchStats", "CompileResult", "Deployment", "ModelRef", "Revision",
         "RouteSpec", "compile_version", "current_revisions", "deploy", "deploy_endpoint",
         "ensure_compiled", "get_compile", "get_deployment", "get_revision", "list_deployments",
         "list_revisions", "load_version", "parse_ref", "plan", "predict_file",
         "record_compile", "rollback"]
    )  # fmt: skip
    assert all(hasattr(pkg, name) for name in pkg.__all__)
    assert sorted(pkg._LAZY) == sorted(pkg.__all__)


def test_cli_import_is_light() -> None:
    import subprocess
    import sys

    from conveyor.deployments import batch, cli

    assert cli.CHUNK_ROWS == batch.DEFAULT_CHUNK_ROWS
    code = (
        "import sys, conveyor.deployments, conveyor.deployments.cli; "
        "print(sorted(m for m in ('pandas', 'pyarrow', 'sklearn', 'onnx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
