"""Users and API tokens against a real token-authenticated server: 401 for missing,
malformed, wrong, expired and revoked tokens (nothing changes in the store), secrets
stored hashed and never logged, audited or echoed."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.governance.conftest import HTTP, Secured, error_of
from typer.testing import CliRunner

from conveyor.backend import HttpBackend
from conveyor.cli.main import app as cli
from conveyor.config import reset_settings
from conveyor.errors import PermissionDenied, Unauthenticated
from conveyor.governance.tables import api_tokens
from conveyor.governance.tokens import parse_token
from conveyor.governance.users import authenticate


def test_a_token_authenticates_its_user(secured: Secured) -> None:
    with secured.client("editor") as editor:
        me = editor.whoami()
        assert (me["name"], me["project"], me["role"]) == ("editor", "default", "editor")
        exp = editor.create_experiment("by-editor")
    events = secured.local.list_audit_events(object_type="experiment", object_id=exp.id)
    assert [e.actor for e in events] == ["editor"]  # events carry the authenticated actor


@pytest.mark.parametrize(
    ("header", "says"),
    [
        (None, "requires authentication"),
        ("Basic dXNlcjpwYXNz", "must read `Bearer <token>`"),
        ("Bearer nonsense", "malformed"),
        ("Bearer cvy_0123456789ab_" + "A" * 43, "not valid"),
    ],
)
def test_missing_or_malformed_tokens_are_401(
    secured: Secured, header: str | None, says: str
) -> None:
    before = secured.audit_count()
    headers = {"Authorization": header} if header else {}
    response = HTTP.post(f"{secured.url}/api/v1/experiments", json={"name": "x"}, headers=headers)
    assert says in error_of(response, 401)["message"]
    assert error_of(response, 401)["code"] == "unauthenticated"
    assert secured.audit_count() == before
    assert secured.local.list_experiments() == []


def test_a_wrong_secret_for_a_real_token_id_is_401(secured: Secured) -> None:
    parsed = parse_token(secured.tokens["admin"])
    assert parsed is not None
    forged = f"cvy_{parsed.token_id}_{'B' * 43}"
    with HttpBackend(secured.url, token=forged) as client, pytest.raises(Unauthenticated):
        client.create_user("mallory", "admin")
    assert "mallory" not in [u.name for u in secured.local.list_users()]


def test_revoked_and_expired_tokens_are_401(secured: Secured) -> None:
    with secured.client("root") as root:
        fresh = root.create_token("editor", "30d", "ci")
        assert fresh.expires_at is not None
        with HttpBackend(secured.url, token=fresh.token) as client:
            assert client.whoami()["name"] == "editor"
            root.revoke_token(fresh.id)
            with pytest.raises(Unauthenticated, match=f"token {fresh.id} was revoked"):
                client.create_experiment("after-revoke")
        short = root.create_token("editor", "1h")
    # an expired token: move its expiry into the past in the store itself
    with secured.local.write() as uow:
        uow.conn.execute(
            api_tokens.update().where(api_tokens.c.id == short.id).values(expires_at=1)
        )
    before = secured.audit_count()
    with (
        HttpBackend(secured.url, token=short.token) as client,
        pytest.raises(Unauthenticated, match=f"token {short.id} expired"),
    ):
        client.create_experiment("after-expiry")
    assert secured.audit_count() == before and secured.local.list_experiments() == []
    assert [t.to_dict()["state"] for t in secured.local.list_tokens("editor")][:3] == [
        "active",
        "revoked",
        "active",
    ]


def test_expiry_is_checked_at_the_given_time(secured: Secured) -> None:
    new = secured.local.create_token("viewer", "2h")
    assert new.expires_at is not None
    with secured.local.read() as conn:
        assert authenticate(conn, new.token, now=new.expires_at - 1).name == "viewer"
        with pytest.raises(Unauthenticated, match="expired"):
            authenticate(conn, new.token, now=new.expires_at)


def test_token_secrets_are_stored_hashed_and_never_shown_again(
    secured: Secured, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with secured.client("root") as root:
        new = root.create_token("viewer", None, "laptop")
        secret = new.token
        listed = [t.to_dict() for t in root.list_tokens()]
        root.revoke_token(new.id)
    with HttpBackend(secured.url, token=secret) as client, pytest.raises(Unauthenticated) as info:
        client.whoami()
    assert secret not in str(info.value) and secret not in repr(new)
    assert all(secret not in str(t) for t in listed)
    with secured.local.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(api_tokens))]
    assert rows and all(secret not in str(r) for r in rows)
    secret_part = secret.rsplit("_", 1)[1]
    assert all(secret_part not in str(r) for r in rows)  # only its sha256 is stored
    events = secured.local.list_audit_events(limit=10_000)
    assert any(e.action == "token.create" for e in events)
    assert all(secret_part not in str(e.to_dict()) for e in events)
    assert secret_part not in caplog.text


def test_an_admin_manages_users_and_roles_others_cannot(secured: Secured) -> None:
    with secured.client("root") as root:
        assert root.create_user("carol", "viewer").roles == {"default": "viewer"}
        assert root.grant_role("carol", "editor").roles == {"default": "editor"}
    with secured.client("editor") as editor:
        with pytest.raises(PermissionDenied, match="users:manage") as info:
            editor.grant_role("editor", "admin")  # privilege escalation
        assert info.value.details["granted_by"] == ["admin", "root"]
        with pytest.raises(PermissionDenied, match="tokens:manage"):
            editor.create_token("root")
    roles = {u.name: u.roles for u in secured.local.list_users()}
    assert roles["editor"] == {"default": "editor"} and roles["carol"] == {"default": "editor"}


def test_an_unknown_project_is_404(secured: Secured) -> None:
    response = HTTP.get(
        f"{secured.url}/api/v1/whoami",
        headers={"Authorization": f"Bearer {secured.tokens['viewer']}", "X-Conveyor-Project": "x"},
    )
    assert "no project 'x'" in error_of(response, 404)["message"]


def test_health_answers_without_a_token(secured: Secured) -> None:
    assert HTTP.get(f"{secured.url}/api/v1/health").json()["status"] == "ok"


def test_cli_users_tokens_and_login(
    secured: Secured, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    runner = CliRunner()
    monkeypatch.setenv("CONVEYOR_URI", secured.url)
    monkeypatch.setenv("CONVEYOR_TOKEN", secured.tokens["root"])
    reset_settings()
    made = runner.invoke(cli, ["users", "create", "dave", "--role", "editor"])
    assert made.exit_code == 0, made.output
    created = runner.invoke(cli, ["tokens", "create", "--user", "dave", "--expires", "30d"])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    assert parse_token(token) is not None
    listed = runner.invoke(cli, ["tokens", "list", "--user", "dave", "--json"])
    assert listed.exit_code == 0 and token not in listed.stdout
    monkeypatch.delenv("CONVEYOR_TOKEN")
    reset_settings()
    logged = runner.invoke(cli, ["login", secured.url], input=token + "\n")
    assert logged.exit_code == 0, logged.output
    assert "as dave (editor in default)" in logged.stdout
    path = Path(os.environ["CONVEYOR_CREDENTIALS_FILE"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and token in path.read_text()
    who = runner.invoke(cli, ["whoami", "--json"])  # the saved token, for this URL only
    assert who.exit_code == 0 and '"name": "dave"' in who.stdout
    bad = runner.invoke(cli, ["login", secured.url, "--token", "cvy_nope"])
    assert bad.exit_code == 1 and "malformed" in bad.output and "cvy_nope" not in bad.output
    denied = runner.invoke(cli, ["users", "create", "eve", "--role", "admin"])
    assert denied.exit_code == 1 and "lacks permission 'users:manage'" in denied.output
