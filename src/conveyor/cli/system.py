"""Top-level commands: ``settings``, ``server``, ``version``."""

from __future__ import annotations

import platform
from typing import Annotated, Any

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

import conveyor
from conveyor.cli._output import JsonOption, console, emit, err_console, table
from conveyor.config import SETTINGS, get_settings

__all__ = ["app"]

app = typer.Typer()  # no name: these commands sit at the top level

SECRETS = {"token"}


def _origin(source: str) -> str:
    if source == "default":
        return "default"
    return "env" if source.startswith("CONVEYOR_") else "file"


def _hide_password(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _derived(row: dict[str, Any]) -> str:
    return f"({row['resolved']})" if row.get("resolved") else ""


@app.command("settings")
def settings(as_json: JsonOption = False) -> None:
    """Every setting with its resolved value, where it came from, and help."""
    resolved = get_settings()
    rows: list[dict[str, Any]] = []
    for setting in SETTINGS:
        value = getattr(resolved, setting.name)
        if setting.name in SECRETS and value:
            value = "***"
        elif setting.name == "db_url" and value:
            value = _hide_password(str(value))
        source = resolved.sources[setting.name]
        rows.append(
            {
                "name": setting.name,
                "env_var": setting.env_var,
                "value": value,
                "source": _origin(source),
                "origin": source,
                "default": setting.default,
                "help": setting.help,
            }
        )
    derived = {
        "db_url": _hide_password(resolved.resolved_db_url),
        "artifact_uri": resolved.resolved_artifact_uri,
    }
    for row in rows:
        if row["name"] in derived and not row["value"]:
            row["resolved"] = derived[row["name"]]
    emit(
        rows,
        lambda: console().print(
            table(
                "Settings (env CONVEYOR_* > conveyor.toml > default)",
                ["name", "value", "source", "env var", "help"],
                [
                    [
                        r["name"],
                        r["value"] or _derived(r),
                        r["origin"] if r["source"] == "file" else r["source"],
                        r["env_var"],
                        r["help"],
                    ]
                    for r in rows
                ],
            )
        ),
        as_json,
    )


@app.command("server")
def server(
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (default: setting server_host).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (default: setting server_port).", min=1, max=65535)
    ] = None,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
    init_admin: Annotated[
        str | None,
        typer.Option(
            "--init-admin",
            metavar="NAME",
            help="Create the first admin user NAME and print their token once, then serve.",
        ),
    ] = None,
    insecure_local: Annotated[
        bool,
        typer.Option(
            "--insecure-local",
            help="No authentication: bind loopback only; every request acts as you.",
        ),
    ] = False,
) -> None:
    """Serve the web UI and the REST API on this machine's store.

    It answers the web UI at /, the API under /api/v1 (interactive docs at /api/v1/docs,
    OpenAPI at /api/v1/openapi.json) and the deployed endpoints under /serving. Requests need
    an API token (`conveyor tokens create`); the first admin comes from --init-admin NAME.
    """
    import os

    from conveyor.api.server import run
    from conveyor.config import reset_settings
    from conveyor.deployments.rollout_controller import start_background

    resolved = get_settings()
    if insecure_local or resolved.auth == "insecure-local":
        host = _loopback_host(host or str(resolved.server_host))
        os.environ["CONVEYOR_AUTH"] = "insecure-local"  # the app factory of every worker
        reset_settings()
    else:
        _prepare_token_auth(init_admin)
        host = host or str(resolved.server_host)
    rollouts = start_background()  # the progressive-rollout controller, one per server
    if float(resolved.retention_purge_interval_s) > 0:  # the retention purge, same thread
        from conveyor.backend.local import LocalBackend
        from conveyor.governance.identity import system_actor
        from conveyor.governance.retention import schedule_purge

        purger = LocalBackend.from_settings().as_actor(system_actor("retention"))
        schedule_purge(rollouts, purger.stores, float(resolved.retention_purge_interval_s))
    try:
        run(host=host, port=port or int(resolved.server_port), workers=workers)
    finally:
        rollouts.stop()


def _loopback_host(host: str) -> str:
    """``host`` if it is a loopback address (``localhost`` becomes 127.0.0.1)."""
    import ipaddress

    from conveyor.errors import ValidationFailed

    candidate = "127.0.0.1" if host == "localhost" else host
    try:
        if ipaddress.ip_address(candidate).is_loopback:
            return candidate
    except ValueError:
        pass
    raise ValidationFailed(
        f"--insecure-local serves without authentication and binds loopback only, not "
        f"{host!r}; drop --host, or serve with tokens (`conveyor server --init-admin NAME`)"
    )


def _prepare_token_auth(init_admin: str | None) -> None:
    """Create the first admin (printing the token once), or refuse to start without one."""
    from dataclasses import replace

    from conveyor.backend import LocalBackend
    from conveyor.errors import ValidationFailed
    from conveyor.governance.identity import DEFAULT_PROJECT

    opened = LocalBackend.from_settings(get_settings())
    local = opened.as_actor(replace(opened.actor, project=DEFAULT_PROJECT))  # server admins
    try:
        if init_admin is not None:
            local.create_user(init_admin, "admin")
            new = local.create_token(init_admin, None, "created by conveyor server --init-admin")
            err_console().print(
                f"Admin {init_admin} created. Their token, shown once (store it now):",
                markup=False,
            )
            print(new.token, flush=True)
        elif not any("admin" in u.roles.values() for u in local.list_users()):
            raise ValidationFailed(
                "this server would have no admin, so nobody could authenticate: start it once "
                "with `conveyor server --init-admin NAME` (prints NAME's token), or use "
                "`--insecure-local` for a loopback-only server without authentication"
            )
    finally:
        local.close()


@app.command("ui")
def ui(
    port: Annotated[
        int | None, typer.Option(help="Port (default: setting server_port).", min=1, max=65535)
    ] = None,
    open_browser: Annotated[
        bool, typer.Option("--open/--no-open", help="Open the UI in the default browser.")
    ] = False,
) -> None:
    """Open the web UI on the embedded store, for one user on this machine (127.0.0.1).

    The same site `conveyor server` serves at /; with CONVEYOR_URI set, open that server's
    URL instead.
    """
    from conveyor.api.server import check_port, run

    resolved = get_settings()
    if resolved.uri:
        console().print(
            f"CONVEYOR_URI is set: the UI is served by that server, open {resolved.uri}",
            markup=False,
        )
        raise typer.Exit(1)
    host, port = "127.0.0.1", port or int(resolved.server_port)
    check_port(host, port)
    url = f"http://{host}:{port}/"
    console().print(
        f"Conveyor UI on {url} (store {resolved.home_path}); Ctrl+C stops it", markup=False
    )
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, (url,)).start()
    # one user on their own embedded store, loopback only: no tokens (as --insecure-local)
    import os

    from conveyor.config import reset_settings

    os.environ["CONVEYOR_AUTH"] = "insecure-local"
    reset_settings()
    run(host=host, port=port, log_level="warning")


@app.command("version")
def version(as_json: JsonOption = False) -> None:
    """The Conveyor version."""
    emit(
        {"version": conveyor.__version__, "python": platform.python_version()},
        lambda: console().print(f"conveyor {conveyor.__version__}", markup=False),
        as_json,
    )
