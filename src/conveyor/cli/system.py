"""Top-level commands: ``settings``, ``server``, ``version``."""

from __future__ import annotations

import platform
from typing import Annotated, Any

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

import conveyor
from conveyor.cli._output import JsonOption, console, emit, table
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
) -> None:
    """Serve the REST API on this machine's store (there is no web UI yet).

    It answers the API under /api/v1 (interactive docs at /api/v1/docs, OpenAPI at
    /api/v1/openapi.json) and the deployed endpoints under /serving.
    """
    from conveyor.api.server import run
    from conveyor.deployments.rollout_controller import start_background

    resolved = get_settings()
    rollouts = start_background()  # the progressive-rollout controller, one per server
    if float(resolved.retention_purge_interval_s) > 0:  # the retention purge, same thread
        from conveyor.backend.local import LocalBackend
        from conveyor.governance.identity import system_actor
        from conveyor.governance.retention import schedule_purge

        purger = LocalBackend.from_settings().as_actor(system_actor("retention"))
        schedule_purge(rollouts, purger.stores, float(resolved.retention_purge_interval_s))
    try:
        run(
            host=host or str(resolved.server_host),
            port=port or int(resolved.server_port),
            workers=workers,
        )
    finally:
        rollouts.stop()


@app.command("version")
def version(as_json: JsonOption = False) -> None:
    """The Conveyor version."""
    emit(
        {"version": conveyor.__version__, "python": platform.python_version()},
        lambda: console().print(f"conveyor {conveyor.__version__}", markup=False),
        as_json,
    )
