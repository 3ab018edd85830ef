"""``conveyor experiments``: list, show and create experiments."""

from __future__ import annotations

from typing import Annotated

import typer

from conveyor.cli._backend import backend
from conveyor.cli._output import JsonOption, console, emit, fmt_time, kv_table, table
from conveyor.tracking.entities import Experiment

__all__ = ["app"]

app = typer.Typer(name="experiments", help="Groups of runs.", no_args_is_help=True)


def experiment_fields(exp: Experiment) -> dict[str, object]:
    return {
        "id": exp.id,
        "name": exp.name,
        "description": exp.description,
        "lifecycle": exp.lifecycle,
        "tags": exp.tags,
        "created": fmt_time(exp.created_at),
        "updated": fmt_time(exp.updated_at),
    }


@app.command("list")
def list_experiments(as_json: JsonOption = False) -> None:
    """Every experiment."""
    items = backend().list_experiments()
    emit(
        [e.to_dict() for e in items],
        lambda: console().print(
            table(
                f"Experiments ({len(items)})",
                ["id", "name", "lifecycle", "created", "tags"],
                [[e.id, e.name, e.lifecycle, fmt_time(e.created_at), e.tags] for e in items],
            )
        ),
        as_json,
    )


@app.command("show")
def show(
    experiment: Annotated[str, typer.Argument(help="Experiment id or name.")],
    as_json: JsonOption = False,
) -> None:
    """One experiment by id or name."""
    exp = backend().get_experiment(experiment)
    emit(
        exp.to_dict(),
        lambda: console().print(kv_table(f"Experiment {exp.name}", experiment_fields(exp))),
        as_json,
    )


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Name of the new experiment.")],
    description: Annotated[str, typer.Option(help="What the experiment is about.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Create an experiment; prints its id."""
    exp = backend().create_experiment(name, description=description)
    emit(
        exp.to_dict(),
        lambda: console().print(f"Created experiment {exp.name!r} with id {exp.id}", markup=False),
        as_json,
    )
