"""``conveyor models explain <model>/<version> [--data FILE]``: compute and store a version's
global feature importance (mean |SHAP|), or show the stored one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from conveyor.cli._backend import backend
from conveyor.cli._output import JsonOption, console, emit, fmt_float, table
from conveyor.errors import ValidationFailed

__all__ = ["explain_cmd"]


def _split(ref: str) -> tuple[str, str]:
    name, sep, version = ref.rpartition("/")
    if not sep or not name or not version:
        raise ValidationFailed(f"expected <model>/<version> (churn/3, churn/champion), got {ref!r}")
    return name, version


def _records(path: Path) -> list[dict[str, Any]]:
    """At most 1000 rows of a CSV, Parquet or JSON-records file."""
    from conveyor.explain.summary import MAX_ROWS

    if not path.is_file():
        raise ValidationFailed(f"data file {path} does not exist")
    if path.suffix.lower() == ".json":
        import orjson

        rows = orjson.loads(path.read_bytes())
        if not isinstance(rows, list):
            raise ValidationFailed(f"{path}: expected a JSON list of records")
        return list(rows[:MAX_ROWS])
    import pyarrow as pa

    from conveyor.deployments.batch import iter_batches

    batches, _ = iter_batches(path, MAX_ROWS)
    first = next(batches, None)
    if first is None:
        raise ValidationFailed(f"{path} has no rows")
    records: list[dict[str, Any]] = pa.Table.from_batches([first]).to_pylist()
    return records


def explain_cmd(
    ref: Annotated[str, typer.Argument(help="<model>/<version> (a number or an alias).")],
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Rows to explain over (CSV, Parquet, JSON records)."),
    ] = None,
    show: Annotated[
        bool, typer.Option("--show", help="Print the stored summary; compute nothing.")
    ] = False,
    top: Annotated[int, typer.Option("--top", min=1, help="Features to print.")] = 15,
    as_json: JsonOption = False,
) -> None:
    """Global feature importance (mean |SHAP|) of a model version, stored with it
    (default data: its input example)."""
    name, version = _split(ref)
    client = backend()
    if show:
        summary = client.get_explanation_summary(name, version)
    else:
        rows = _records(data) if data is not None else None
        summary = client.explain_model_version(name, version, data=rows)

    def render() -> None:
        console().print(
            table(
                f"{summary['model']}/{summary['version']}: {summary['method']} SHAP over "
                f"{summary['rows']} rows ({summary['data']}), output {summary['output']}",
                ["feature", "mean |SHAP|", "mean SHAP"],
                [
                    [f["name"], fmt_float(f["mean_abs"]), fmt_float(f["mean"])]
                    for f in summary["features"][:top]
                ],
            )
        )

    emit(summary, render, as_json)
