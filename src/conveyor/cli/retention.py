"""``conveyor retention``: the retention settings in force, and the purge."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from conveyor.cli._backend import backend
from conveyor.cli._output import JsonOption, console, emit, kv_table, table

__all__ = ["app"]

app = typer.Typer(
    name="retention",
    help="Retention of prediction logs and reports; the purge (never past a legal hold).",
    no_args_is_help=True,
)


def _days(days: int) -> str:
    return "forever" if days <= 0 else f"{days} days"


@app.command("show")
def show_cmd(as_json: JsonOption = False) -> None:
    """The retention settings in force and the open legal holds."""
    data = backend().get_retention()

    def render() -> None:
        console().print(
            kv_table(
                "Retention",
                {
                    "prediction logs": _days(data["prediction_logs_days"]),
                    "reports": _days(data["reports_days"]),
                    "purge every": f"{data['purge_interval_s']:g} s"
                    if data["purge_interval_s"] > 0
                    else "off (conveyor retention purge)",
                    "open legal holds": ", ".join(h["scope"] for h in data["holds"]) or "none",
                },
            )
        )

    emit(data, render, as_json)


@app.command("purge")
def purge_cmd(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list what would be deleted.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Delete prediction logs and reports older than the retention (audited), except what
    legal holds cover."""
    data: dict[str, Any] = backend().purge_retention(dry_run=dry_run)

    def render() -> None:
        logs, held = data["prediction_logs"], data["held"]
        verb = "Would delete" if data["dry_run"] else "Deleted"
        console().print(
            f"{verb} {len(logs['partitions'])} prediction-log day partition(s) "
            f"({logs['files']} files, {logs['bytes']} bytes) and "
            f"{data['reports']['monitor_checks']} monitor check record(s).",
            markup=False,
        )
        if logs["partitions"]:
            rows = [[p["kind"], p["endpoint"], p["date"], p["files"]] for p in logs["partitions"]]
            console().print(table(None, ["kind", "endpoint", "date", "files"], rows))
        if held["partitions"] or held["monitor_checks"]:
            console().print(
                f"Kept by legal holds: {len(held['partitions'])} partition(s), "
                f"{held['monitor_checks']} check record(s).",
                markup=False,
            )
        for error in data["errors"]:
            console().print(f"Could not delete {error['path']}: {error['error']}", markup=False)

    emit(data, render, as_json)
