"""``conveyor import mlflow``: copy an MLflow store into Conveyor (idempotent)."""

from __future__ import annotations

from typing import Annotated

import typer

from conveyor.cli._backend import backend
from conveyor.cli._output import JsonOption, console, emit, err_console, state, table

__all__ = ["app"]

app = typer.Typer(name="import", help="Bring data in from other tools.", no_args_is_help=True)


@app.command("mlflow")
def import_mlflow(
    source: Annotated[
        str,
        typer.Option(
            "--from",
            help="MLflow tracking server URL, database URL (sqlite:///mlflow.db), SQLite "
            "file, or mlruns folder.",
        ),
    ],
    artifacts: Annotated[
        str | None,
        typer.Option(
            "--artifacts",
            help="Where the store's artifacts are on this machine, when not at the recorded "
            "paths (e.g. the server's --artifacts-destination).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Copy experiments, runs (params, metric history, tags), artifacts, registered models,
    versions and aliases; running it again imports nothing twice."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

    from conveyor.mlflow_import import import_mlflow as run_import
    from conveyor.mlflow_import import open_source

    reader = open_source(source, artifacts)
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err_console(),
            transient=True,
            disable=as_json or state.json,
        ) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            summary = run_import(reader, backend(), progress)
    finally:
        reader.close()

    def render() -> None:
        kinds = sorted(set(summary.imported) | set(summary.existing))
        rows = [[k, summary.imported.get(k, 0), summary.existing.get(k, 0)] for k in kinds]
        console().print(table(f"Imported from {summary.source}", ["", "new", "already here"], rows))
        for note in summary.notes:
            console().print(f"- {note}")

    emit(summary.to_dict(), render, as_json)
