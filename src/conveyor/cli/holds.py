"""``conveyor holds``: legal holds that the retention purge never deletes past."""

from __future__ import annotations

from typing import Annotated

import typer

from conveyor.cli._backend import backend
from conveyor.cli._output import JsonOption, ReasonOpt, console, emit, fmt_time, table

__all__ = ["app"]

app = typer.Typer(
    name="holds", help="Legal holds: what the retention purge must keep.", no_args_is_help=True
)


@app.command("create")
def create_cmd(
    scope: Annotated[str, typer.Argument(help="all, or deployment:<endpoint>.")],
    reason: ReasonOpt = "",
    as_json: JsonOption = False,
) -> None:
    """Place a legal hold (audited): nothing it covers is purged until it is released."""
    hold = backend().create_hold(scope, reason=reason)
    emit(
        hold.to_dict(),
        lambda: console().print(f"Legal hold {hold.id} on {hold.scope}", markup=False),
        as_json,
    )


@app.command("list")
def list_cmd(
    released: Annotated[
        bool, typer.Option("--released", help="Include released holds (history).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Open legal holds (with --released, every hold ever placed)."""
    holds = backend().list_holds(include_released=released)
    emit(
        [h.to_dict() for h in holds],
        lambda: console().print(
            table(
                f"Legal holds ({len(holds)})",
                ["id", "scope", "reason", "by", "since", "released"],
                [
                    [
                        h.id,
                        h.scope,
                        h.reason,
                        h.created_by,
                        fmt_time(h.created_at),
                        fmt_time(h.released_at) if h.released_at else "",
                    ]
                    for h in holds
                ],
            )
        ),
        as_json,
    )


@app.command("release")
def release_cmd(
    hold_id: Annotated[str, typer.Argument(help="The hold's id (holds list).")],
    reason: ReasonOpt = "",
    as_json: JsonOption = False,
) -> None:
    """Release a legal hold (audited); the next purge may delete what it covered."""
    hold = backend().release_hold(hold_id, reason=reason)
    emit(
        hold.to_dict(),
        lambda: console().print(f"Released legal hold {hold.id} on {hold.scope}", markup=False),
        as_json,
    )
