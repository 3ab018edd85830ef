"""CLI: ``conveyor rollout start|status|pause|resume|promote|abort|run``.

Every command but ``run`` goes through the operation table, so it works embedded and, with
``CONVEYOR_URI`` set, against a server. ``run`` is the controller loop itself over the
embedded store (``conveyor serve`` and ``conveyor server`` run the same loop inside).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from conveyor.cli._output import JsonOption, ReasonOpt, console, emit, fmt_time, kv_table, table

__all__ = ["app"]

app = typer.Typer(
    name="rollout",
    help="Progressive rollouts: a candidate moved through traffic steps by the analysis.",
    no_args_is_help=True,
)

EndpointArg = Annotated[str, typer.Argument(help="Endpoint name.")]


def _client() -> Any:
    import conveyor

    return conveyor.connect()


def _show(data: dict[str, Any], title: str) -> None:
    out = console()
    out.print(
        kv_table(
            title,
            {
                "state": data["state"],
                "candidate": data["candidate"],
                "primary": data["primary"],
                "candidate weight": f"{data['weight']:g}%",
                "steps": ",".join(f"{s:g}" for s in data["config"]["steps"]),
                "interval": f"{data['config']['interval_s']:g}s",
                "step started": fmt_time(data["step_started_at"]),
                "reason": data["reason"],
            },
        )
    )
    decisions = data.get("decisions")
    if decisions:
        out.print(
            table(
                "Decisions",
                ["#", "time", "action", "state", "weight", "revision", "verdict", "reason"],
                [
                    [
                        d["seq"],
                        fmt_time(d["at"]),
                        d["action"],
                        d["state"],
                        f"{d['weight']:g}%",
                        d["revision"] or "",
                        (d["analysis"] or {}).get("verdict", ""),
                        d["reason"],
                    ]
                    for d in decisions
                ],
            )
        )


@app.command("start")
def start_cmd(
    endpoint: EndpointArg,
    candidate: Annotated[
        str, typer.Option("--candidate", "-c", help="The version to roll out: <model>/<version>.")
    ],
    steps: Annotated[
        str | None, typer.Option("--steps", help="Candidate weights, e.g. 10,25,50,100.")
    ] = None,
    interval: Annotated[
        str | None,
        typer.Option("--interval", help="Time per step (10m, 1h); default: the policy's, or 10m."),
    ] = None,
    min_samples: Annotated[
        int | None, typer.Option("--min-samples", help="Requests per route a check needs.")
    ] = None,
    max_hold: Annotated[
        str | None,
        typer.Option("--max-hold", help="How long a step may wait for data before failing."),
    ] = None,
    require_approval: Annotated[
        bool, typer.Option("--require-approval", help="Wait for `rollout promote` at the end.")
    ] = False,
    supersede: Annotated[
        bool, typer.Option("--supersede", help="Abort a running rollout and start this one.")
    ] = False,
    value_matrix: Annotated[
        str | None,
        typer.Option(
            "--value-matrix", help='Business value per prediction, JSON: {"tp": 40, "fn": -40}.'
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Start a progressive rollout; the controller moves it step by step.

    Options not given come from the ``rollout:`` section of the model's gate policy."""
    matrix = _json_option(value_matrix, "--value-matrix")
    data = _client().start_rollout(
        endpoint,
        candidate,
        steps=steps,
        interval=interval,
        min_samples=min_samples,
        max_hold=max_hold,
        require_approval=require_approval or None,  # absent: the policy's rollout section
        supersede=supersede,
        value_matrix=matrix,
    )
    emit(data, lambda: _show(data, f"Rollout of {data['candidate']} on {endpoint}"), as_json)


def _json_option(text: str | None, name: str) -> Any:
    import json

    from conveyor.errors import ValidationFailed

    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValidationFailed(f"{name} must be JSON, e.g. '{{\"tp\": 40}}': {exc}") from None


@app.command("status")
def status_cmd(endpoint: EndpointArg, as_json: JsonOption = False) -> None:
    """The latest rollout of an endpoint and every decision taken."""
    data = _client().rollout_status(endpoint)
    emit(data, lambda: _show(data, f"Rollout on {endpoint}"), as_json)


@app.command("pause")
def pause_cmd(
    endpoint: EndpointArg,
    reason: ReasonOpt = "",
    as_json: JsonOption = False,
) -> None:
    """Freeze the rollout at its current weight."""
    data = _client().pause_rollout(endpoint, reason=reason)
    emit(data, lambda: _show(data, f"Paused the rollout on {endpoint}"), as_json)


@app.command("resume")
def resume_cmd(endpoint: EndpointArg, as_json: JsonOption = False) -> None:
    """Continue a paused rollout."""
    data = _client().resume_rollout(endpoint)
    emit(data, lambda: _show(data, f"Resumed the rollout on {endpoint}"), as_json)


@app.command("promote")
def promote_cmd(
    endpoint: EndpointArg,
    reason: ReasonOpt = "",
    override_reason: Annotated[
        str | None,
        typer.Option("--override-reason", help="Promote despite failing gates (audited)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Promote the candidate now: primary at 100% and the protected alias (needs gates)."""
    data = _client().promote_rollout(endpoint, reason=reason, override_reason=override_reason)
    emit(data, lambda: _show(data, f"Promoted {data['candidate']} on {endpoint}"), as_json)


@app.command("abort")
def abort_cmd(
    endpoint: EndpointArg,
    reason: ReasonOpt = "",
    as_json: JsonOption = False,
) -> None:
    """Stop the rollout; all traffic back on the primary."""
    data = _client().abort_rollout(endpoint, reason=reason)
    emit(data, lambda: _show(data, f"Aborted the rollout on {endpoint}"), as_json)


@app.command("run")
def run_cmd(
    every: Annotated[float, typer.Option("--every", help="Seconds between ticks.")] = 10.0,
    log_uri: Annotated[
        str | None, typer.Option("--log-uri", help="The prediction log (default: the setting).")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="One tick, then exit.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Run the rollout controller (embedded store) until interrupted."""
    from conveyor.deployments.rollout_controller import RolloutController, run_controller

    client = _client()
    if client.kind != "local":
        from conveyor.errors import ValidationFailed

        raise ValidationFailed(
            "conveyor rollout run reads the store and the prediction log directly: unset "
            "CONVEYOR_URI (the server runs its own controller)"
        )
    controller = RolloutController(client.meta, log_uri=log_uri)
    if once:
        results = [r.__dict__ for r in controller.tick()]
        emit(results, lambda: _ticked(results), as_json)
        return
    console().print(f"Rollout controller: a tick every {every:g}s (Ctrl-C stops)", markup=False)
    run_controller(controller, every)


def _ticked(results: list[dict[str, Any]]) -> None:
    console().print(
        table(
            "Rollout tick",
            ["endpoint", "action", "state", "weight", "detail"],
            [
                [r["endpoint"], r["action"], r["state"], f"{r['weight']:g}%", r["detail"]]
                for r in results
            ],
        )
    )
