"""``conveyor users``, ``conveyor tokens``, ``conveyor login``: identities and access.

Token secrets are printed once, when created (``tokens create``, ``server --init-admin``)
and never again; ``login`` keeps one in the user's credentials file (mode 0600).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from conveyor.cli._backend import backend
from conveyor.cli._output import (
    JsonOption,
    ReasonOpt,
    console,
    emit,
    err_console,
    fmt_time,
    table,
)

__all__ = ["app"]

app = typer.Typer()  # no name: `login` sits at the top level, the groups below it
users_app = typer.Typer(name="users", help="Users and their roles.", no_args_is_help=True)
tokens_app = typer.Typer(name="tokens", help="API tokens (stored hashed).", no_args_is_help=True)
keys_app = typer.Typer(
    name="inference-keys",
    help="Per-endpoint keys for the inference server (stored as sha256).",
    no_args_is_help=True,
)
projects_app = typer.Typer(
    name="projects", help="Projects: namespaces that roles are granted in.", no_args_is_help=True
)
app.add_typer(projects_app)
app.add_typer(users_app)
app.add_typer(tokens_app)
app.add_typer(keys_app)

RoleOption = Annotated[str, typer.Option("--role", "-r", help="viewer, editor, approver or admin.")]


def _print_user(data: dict[str, object]) -> None:
    roles = data["roles"]
    assert isinstance(roles, dict)
    granted = ", ".join(f"{role} in {project}" for project, role in roles.items()) or "no role"
    console().print(f"User {data['name']}: {granted}", markup=False)


def _project_rows(found: list[dict[str, Any]]) -> None:
    console().print(
        table(
            f"Projects ({len(found)})",
            ["name", "your role", "description", "created"],
            [
                # `default` is seeded by the first migration without a creation time
                [
                    p["name"],
                    p["role"] or "-",
                    p["description"],
                    fmt_time(p["created_at"]) if p["created_at"] else "-",
                ]
                for p in found
            ],
        )
    )


@projects_app.command("create")
def create_project(
    name: str,
    description: Annotated[str, typer.Option("--description", "-d", help="What it holds.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Create a project (server admins: admins of `default`); you become its admin."""
    data = backend().create_project(name, description).to_dict()
    emit(
        data,
        lambda: console().print(
            f"Project {name} created; you are its admin. Use it with CONVEYOR_PROJECT={name}.",
            markup=False,
        ),
        as_json,
    )


@projects_app.command("list")
def list_projects(as_json: JsonOption = False) -> None:
    """The projects you can see, with your role in each."""
    found = [p.to_dict() for p in backend().list_projects()]
    emit(found, lambda: _project_rows(found), as_json)


@projects_app.command("show")
def show_project(name: str, as_json: JsonOption = False) -> None:
    """One project."""
    data = backend().get_project(name).to_dict()
    emit(data, lambda: _project_rows([data]), as_json)


@users_app.command("create")
def create_user(name: str, role: RoleOption = "viewer", as_json: JsonOption = False) -> None:
    """Create a user with a role in the current project (CONVEYOR_PROJECT)."""
    data = backend().create_user(name, role).to_dict()
    emit(data, lambda: _print_user(data), as_json)


@users_app.command("grant")
def grant(name: str, role: RoleOption, as_json: JsonOption = False) -> None:
    """Give a user a role in the current project (replacing their previous one)."""
    data = backend().grant_role(name, role).to_dict()
    emit(data, lambda: _print_user(data), as_json)


@users_app.command("list")
def list_users(as_json: JsonOption = False) -> None:
    """Every user with their roles."""
    found = [u.to_dict() for u in backend().list_users()]
    emit(
        found,
        lambda: console().print(
            table(
                f"Users ({len(found)})",
                ["name", "roles", "disabled", "created by", "created"],
                [
                    [
                        u["name"],
                        ", ".join(f"{p}: {r}" for p, r in u["roles"].items()),
                        u["disabled"],
                        u["created_by"],
                        fmt_time(u["created_at"]),
                    ]
                    for u in found
                ],
            )
        ),
        as_json,
    )


@app.command("whoami")
def whoami(as_json: JsonOption = False) -> None:
    """Who the CLI acts as, in which project and with which role."""
    data = backend().whoami()
    emit(
        data,
        lambda: console().print(
            f"{data['name']} in project {data['project']}: {data['role'] or 'no role'}",
            markup=False,
        ),
        as_json,
    )


@tokens_app.command("create")
def create_token(
    user: Annotated[str, typer.Option("--user", "-u", help="Whose token.")],
    expires: Annotated[
        str | None, typer.Option("--expires", help="Lifetime like 30d, 12h, 2w (default never).")
    ] = None,
    description: Annotated[str, typer.Option("--description", help="What it is for.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Create an API token and print it once (it cannot be shown again)."""
    new = backend().create_token(user, expires, description)
    data = new.to_dict()

    def render() -> None:
        until = fmt_time(new.expires_at) if new.expires_at else "never"
        err_console().print(
            f"Token {new.id} for {new.user} (expires: {until}). Shown once; store it now:",
            markup=False,
        )
        print(new.token)

    emit(data, render, as_json)


@tokens_app.command("list")
def list_tokens(
    user: Annotated[str | None, typer.Option("--user", "-u", help="Only this user's.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Stored tokens (ids, owners, expiry, state; never the secrets)."""
    found = [t.to_dict() for t in backend().list_tokens(user)]
    emit(
        found,
        lambda: console().print(
            table(
                f"Tokens ({len(found)})",
                ["id", "user", "state", "expires", "created", "description"],
                [
                    [
                        t["id"],
                        t["user"],
                        t["state"],
                        fmt_time(t["expires_at"]) if t["expires_at"] else "never",
                        fmt_time(t["created_at"]),
                        t["description"],
                    ]
                    for t in found
                ],
            )
        ),
        as_json,
    )


@tokens_app.command("revoke")
def revoke_token(
    token_id: Annotated[str, typer.Argument(help="The token's id (from `tokens list`).")],
    as_json: JsonOption = False,
) -> None:
    """Revoke a token; requests carrying it are refused (401) from now on."""
    from conveyor.governance.tokens import parse_token

    parsed = parse_token(token_id)  # the whole token given: send only its id
    info = backend().revoke_token(parsed.token_id if parsed else token_id)
    data = info.to_dict()
    emit(data, lambda: console().print(f"Token {info.id} revoked.", markup=False), as_json)


@app.command("login")
def login(
    url: Annotated[str | None, typer.Argument(help="Server URL (default: CONVEYOR_URI).")] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", help="The token; default: read from stdin or a prompt."),
    ] = None,
) -> None:
    """Check a token against a server and keep it for that URL (file mode 0600)."""
    from conveyor.backend import HttpBackend
    from conveyor.client.credentials import save_token
    from conveyor.config import get_settings
    from conveyor.errors import ValidationFailed

    settings = get_settings()
    url = (url or str(settings.uri or "")).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValidationFailed("give the server URL: `conveyor login http://host:5050`")
    if token is None:
        token = (
            sys.stdin.readline().strip()
            if not sys.stdin.isatty()
            else typer.prompt("Token", hide_input=True).strip()
        )
    project = "" if settings.project == "default" else str(settings.project)
    with HttpBackend(url, token=token, timeout=float(settings.http_timeout), project=project) as b:
        me = b.whoami()  # 401 for a bad token: nothing is saved
    path = save_token(url, token, settings)
    console().print(
        f"Logged in to {url} as {me['name']} ({me['role'] or 'no role'} in {me['project']}); "
        f"token kept in {path}. Use it with CONVEYOR_URI={url}",
        markup=False,
    )


@keys_app.command("create")
def create_inference_key(
    endpoint: str,
    description: Annotated[
        str, typer.Option("--description", "-d", help="What the key is for.")
    ] = "",
    file: Annotated[
        str | None,
        typer.Option(
            "--file",
            help="Write the key's sha256 to this keys file instead of the store "
            "(for servers without the store; not audited).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a key for an endpoint and print it once (stored as sha256, audited)."""
    if file is not None:
        from conveyor.governance.inference_keys import add_inference_key

        key = add_inference_key(endpoint, file)
        err_console().print(
            f"Inference key for {endpoint} (its sha256 is in {file}); shown once:", markup=False
        )
        print(key)
        return
    made = backend().create_inference_key(endpoint, description)
    if as_json:
        emit(made.to_dict(), lambda: None, True)
        return
    err_console().print(
        f"Inference key {made.id} for {endpoint} (stored as sha256; its servers need it from "
        "their next poll); shown once:",
        markup=False,
    )
    print(made.key)


@keys_app.command("list")
def list_inference_keys(
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", "-e", help="Only this endpoint's keys.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Stored inference keys (never their secrets), newest first."""
    found = [k.to_dict() for k in backend().list_inference_keys(endpoint)]
    emit(
        found,
        lambda: console().print(
            table(
                "Inference keys",
                ["id", "endpoint", "description", "created", "revoked"],
                [
                    [
                        k["id"],
                        k["endpoint"],
                        k["description"],
                        f"{fmt_time(k['created_at'])} by {k['created_by']}",
                        ""
                        if k["revoked_at"] is None
                        else f"{fmt_time(k['revoked_at'])} by {k['revoked_by']}: "
                        f"{k['revoke_reason']}",
                    ]
                    for k in found
                ],
            )
        ),
        as_json,
    )


@keys_app.command("revoke")
def revoke_inference_key(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `inference-keys list`).")],
    reason: ReasonOpt = "",
    as_json: JsonOption = False,
) -> None:
    """Revoke an inference key (audited with why); its servers refuse it from their next poll."""
    info = backend().revoke_inference_key(key_id, reason)
    emit(
        info.to_dict(),
        lambda: console().print(
            f"Inference key {info.id} of {info.endpoint} revoked.", markup=False
        ),
        as_json,
    )
