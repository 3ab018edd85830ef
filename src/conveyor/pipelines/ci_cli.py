"""CLI: ``conveyor ci run <module:function> --policy gates.yaml [--model] [--rollout] [--report]``.

Registered in ``conveyor.cli.main.MODULES``. Exit 0 when the pipeline succeeded and the
gates passed (and the rollout, if asked, started); 1 when the pipeline or a gate failed;
2 for invalid input. The JSON report (``--report``) is written in every one of these cases
once the pipeline ran.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from conveyor.cli._output import JsonOption, console, emit, kv_table, table

__all__ = ["app"]

app = typer.Typer(
    name="ci", help="CI: run a pipeline, gate its model, start a rollout.", no_args_is_help=True
)


def _render(data: dict[str, Any]) -> None:
    out = console()
    pipe = data["pipeline"]
    head = {
        "result": "PASSED" if data["passed"] else f"FAILED at {data['stage']}",
        "pipeline run": f"{pipe['id']} ({pipe['status']})",
        "model version": f"{data['model']}/{data['version']}" if data["model"] else "",
        "policy version": data["policy_version"] or "",
        "rollout": (data["rollout"] or {}).get("state", ""),
    }
    out.print(kv_table(f"ci run {pipe['target']}", head))
    gates = data["gates"]
    if gates:
        out.print(
            table(
                "Gates",
                ["check", "verdict", "value", "threshold", "message"],
                [
                    [c["name"], c["verdict"], c["value"], c["threshold"], c["message"]]
                    for c in gates["checks"]
                ],
            )
        )
    for note in data["notes"]:
        out.print(note)


@app.command("run")
def run(
    target: Annotated[str, typer.Argument(help="module:function of a @conveyor.pipeline.")],
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Gate policy YAML to set on the model.")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", help="The model the run registers (or registers as)."),
    ] = None,
    rollout: Annotated[
        str | None,
        typer.Option("--rollout", help="Endpoint to start a rollout on when gates pass."),
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the JSON report to this file.")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="Pipeline parameter key=value; repeatable."),
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Run every step.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Run a pipeline, gate the version it produced, optionally roll it out."""
    from conveyor.pipelines.ci import run_ci, write_report
    from conveyor.pipelines.cli import local_backend
    from conveyor.pipelines.engine import load_pipeline, parse_params

    pipe = load_pipeline(target)
    result = run_ci(
        local_backend(),
        pipe,
        params=parse_params(pipe, param or []),
        policy=policy,
        model=model,
        rollout=rollout,
        no_cache=no_cache,
    )
    if report is not None:
        write_report(result, report)
    data = result.to_dict()
    emit(data, lambda: _render(data), as_json)
    if result.exit_code:
        raise typer.Exit(result.exit_code)
