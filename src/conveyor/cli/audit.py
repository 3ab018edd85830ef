"""``conveyor audit``: the hash-chained audit trail."""

from __future__ import annotations

from typing import Annotated

import typer

from conveyor.cli._backend import backend
from conveyor.cli._output import JsonOption, console, emit, err_console, fmt_time, table

__all__ = ["app"]

app = typer.Typer(name="audit", help="The append-only audit trail.", no_args_is_help=True)


@app.command("list")
def list_events(
    object_type: Annotated[
        str | None, typer.Option("--object-type", "-t", help="e.g. run, model_version.")
    ] = None,
    object_id: Annotated[str | None, typer.Option("--object-id", help="Object id.")] = None,
    action: Annotated[str | None, typer.Option("--action", help="e.g. run.create.")] = None,
    after: Annotated[int, typer.Option("--after", min=0, help="Only events after this seq.")] = 0,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=10_000, help="At most N events.")
    ] = 100,
    oldest_first: Annotated[
        bool,
        typer.Option("--oldest-first", help="The first N events instead of the latest N."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """The latest audit events (newest first), optionally for one object or action."""
    filters = {"object_type": object_type, "object_id": object_id, "action": action}
    events = backend().list_audit_events(
        **{k: v for k, v in filters.items() if v},
        limit=limit,
        after_seq=after,
        newest_first=not oldest_first,
    )
    emit(
        [e.to_dict() for e in events],
        lambda: console().print(
            table(
                f"Audit events ({len(events)})",
                ["seq", "time", "actor", "action", "object", "digest"],
                [
                    [
                        e.seq,
                        fmt_time(e.created),
                        e.actor,
                        e.action,
                        f"{e.object_type}:{e.object_id}",
                        e.digest[:12],
                    ]
                    for e in events
                ],
            )
        ),
        as_json,
    )


@app.command("verify")
def verify(as_json: JsonOption = False) -> None:
    """Recompute the hash chain; exit 1 and name the first bad event if it is broken."""
    report = backend().verify_audit_chain()
    data = {
        "ok": report.ok,
        "events": report.events,
        "first_bad_seq": report.first_bad_seq,
        "reason": report.reason,
    }

    def render() -> None:
        if report.ok:
            console().print(f"Audit chain intact: {report.events} events verified.", markup=False)
        else:
            err_console().print(
                f"Audit chain broken at seq {report.first_bad_seq}: {report.reason}",
                style="bold red",
                markup=False,
            )

    emit(data, render, as_json)
    if not report.ok:
        raise typer.Exit(1)
