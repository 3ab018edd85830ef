"""CLI: ``conveyor pipeline run|resume|list|show|explain``.

Registered in ``conveyor.cli.main.MODULES`` as ``"conveyor.pipelines.cli"``. Pipelines
run against the embedded store (unset ``CONVEYOR_URI``). ``run`` exits 1 when the run
failed (its JSON still names the run and the failing step).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from conveyor.cli._output import JsonOption, console, emit, fmt_time, kv_table, table
from conveyor.errors import ValidationFailed
from conveyor.pipelines import service

__all__ = ["app", "local_backend"]

app = typer.Typer(
    name="pipeline", help="Run pipelines; list, show and explain their runs.", no_args_is_help=True
)


def local_backend() -> Any:
    from conveyor.pipelines.engine import _local_backend

    return _local_backend()


def _render_run(data: dict[str, Any]) -> None:
    out = console()
    head = {k: data[k] for k in ("id", "pipeline", "target", "status", "error", "params")}
    head["created"] = fmt_time(data["created_at"])
    head["cache"] = f"{data['cache_hits']} hit, {data['cache_misses']} miss"
    out.print(kv_table(f"pipeline run {data['id']}", head))
    out.print(
        table(
            None,
            ["#", "step", "status", "cache", "ms", "run", "reason"],
            [
                [
                    s["seq"],
                    s["name"],
                    s["status"],
                    s["cache"],
                    s["duration_ms"],
                    s["run_id"] or "",
                    s["error"] or s["reason"],
                ]
                for s in data["steps"]
            ],
        )
    )


def _finish(result: Any, as_json: bool) -> None:
    data = result.run.to_dict()
    emit(data, lambda: _render_run(data), as_json)
    if result.status != "succeeded":
        raise typer.Exit(1)


@app.command("run")
def run(
    target: Annotated[str, typer.Argument(help="module:function of a @conveyor.pipeline.")],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="key=value (JSON or text); repeatable."),
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Run every step.")] = False,
    executor: Annotated[
        str, typer.Option("--executor", help="Executor name: local (default) or ray.")
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(
            "--address", help="Ray cluster (host:port, ray://host:10001 or auto); --executor ray."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run a pipeline; prints the run (its id, each step hit/miss)."""
    from conveyor.pipelines.engine import load_pipeline, parse_params, run_pipeline

    pipe = load_pipeline(target)
    params = parse_params(pipe, param or [])
    if address is not None and executor != "ray":
        raise ValidationFailed("--address is the Ray cluster: use it with --executor ray")
    result = run_pipeline(
        pipe,
        params,
        no_cache=no_cache,
        executor=executor,
        executor_options={"address": address} if address is not None else None,
        backend=local_backend(),
    )
    _finish(result, as_json)


@app.command("resume")
def resume(
    run_id: Annotated[str, typer.Argument(help="A pipeline run (usually a failed one).")],
    as_json: JsonOption = False,
) -> None:
    """Run a pipeline run's target again with its params; steps that succeeded are hits."""
    from conveyor.pipelines.engine import run_pipeline

    backend = local_backend()
    with backend.meta.read() as conn:
        old = service.get_pipeline_run(conn, run_id, with_steps=False)
    result = run_pipeline(old.target, old.params, backend=backend, resumed_from=old.id)
    _finish(result, as_json)


@app.command("list")
def list_(
    pipeline: Annotated[str | None, typer.Option("--pipeline", help="Only this pipeline.")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Pipeline runs, newest first."""
    with local_backend().meta.read() as conn:
        runs = service.list_pipeline_runs(conn, pipeline=pipeline, limit=limit)
    data = [r.to_dict() for r in runs]
    emit(
        data,
        lambda: console().print(
            table(
                "pipeline runs",
                ["id", "pipeline", "status", "created", "trigger", "error"],
                [
                    [
                        r["id"],
                        r["pipeline"],
                        r["status"],
                        fmt_time(r["created_at"]),
                        r["trigger_id"] or "",
                        r["error"] or "",
                    ]
                    for r in data
                ],
            )
        ),
        as_json,
    )


@app.command("show")
def show(run_id: Annotated[str, typer.Argument()], as_json: JsonOption = False) -> None:
    """One pipeline run with its steps."""
    with local_backend().meta.read() as conn:
        data = service.get_pipeline_run(conn, run_id).to_dict()
    emit(data, lambda: _render_run(data), as_json)


@app.command("explain")
def explain(run_id: Annotated[str, typer.Argument()], as_json: JsonOption = False) -> None:
    """Per step: cache hit or miss, and which part of the key changed."""
    with local_backend().meta.read() as conn:
        rows = service.explain_pipeline_run(conn, run_id)
    emit(
        rows,
        lambda: console().print(
            table(
                f"cache of pipeline run {run_id}",
                ["step", "cache", "reason"],
                [[r["step"], r["cache"], r["reason"]] for r in rows],
            )
        ),
        as_json,
    )
