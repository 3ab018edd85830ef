"""CLI: ``conveyor trigger create|list|show|pause|resume|tick|run``.

Registered in ``conveyor.cli.main.MODULES`` as ``"conveyor.pipelines.trigger_cli"``.
``tick`` evaluates every active trigger once (put it in cron); ``run`` ticks on the shared
scheduler (``conveyor.jobs``) until interrupted; alerts reach their triggers at once
through the alert hook.
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

import typer

from conveyor.cli._output import JsonOption, console, emit, fmt_time, kv_table, table
from conveyor.errors import ValidationFailed
from conveyor.pipelines import triggers
from conveyor.pipelines.cli import local_backend

__all__ = ["app"]

app = typer.Typer(
    name="trigger",
    help="Retraining triggers: a pipeline bound to alerts, cron or data.",
    no_args_is_help=True,
)


def _duration(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip()
    try:
        if text and text[-1] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except ValueError:
        raise ValidationFailed(f"duration {text!r}: use e.g. 30s, 15m, 6h, 1d") from None


def _cause(text: str) -> tuple[str, str]:
    kind, sep, ref = text.partition(":")
    if not sep or not ref or kind not in triggers.CAUSES:
        raise ValidationFailed(
            f"--on {text!r}: use alert:<monitor>, cron:'<expr>' or dataset:<name>"
        )
    return kind, ref


def _params(pairs: list[str]) -> dict[str, Any]:
    from conveyor.pipelines.engine import load_pipeline, parse_params

    return parse_params(load_pipeline(pairs[0]), pairs[1:])


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Trigger name.")],
    pipeline: Annotated[str, typer.Option("--pipeline", help="module:function.")],
    on: Annotated[str, typer.Option("--on", help="alert:<monitor> | cron:<expr> | dataset:<name>")],
    model: Annotated[
        str | None, typer.Option("--model", help="Dedup key: model it retrains.")
    ] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="key=value")] = None,
    m: Annotated[int, typer.Option("--m", help="Fire on M positive ...")] = 1,
    n: Annotated[int, typer.Option("--n", help="... of the last N evaluations.")] = 1,
    cooldown: Annotated[str, typer.Option("--cooldown")] = "1h",
    max_concurrent: Annotated[int, typer.Option("--max-concurrent")] = 1,
    labels_dataset: Annotated[str | None, typer.Option("--labels-dataset")] = None,
    min_labels: Annotated[int, typer.Option("--min-labels")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Create a trigger (refused when the pipeline or the monitor/dataset does not exist)."""
    kind, ref = _cause(on)
    params = _params([pipeline, *(param or [])]) if param else {}
    backend = local_backend()
    with backend.meta.write(backend.actor) as uow:
        trig = triggers.create_trigger(
            uow,
            name,
            pipeline=pipeline,
            cause_kind=kind,
            cause=ref,
            model=model,
            params=params,
            m=m,
            n=n,
            cooldown_s=_duration(cooldown),
            max_concurrent=max_concurrent,
            labels_dataset=labels_dataset,
            min_labels=min_labels,
        )
    data = trig.to_dict()
    emit(data, lambda: console().print(kv_table(f"trigger {name}", data)), as_json)


@app.command("list")
def list_(as_json: JsonOption = False) -> None:
    """Triggers and their state."""
    with local_backend().meta.read() as conn:
        data = [t.to_dict() for t in triggers.list_triggers(conn)]
    emit(
        data,
        lambda: console().print(
            table(
                "triggers",
                ["name", "state", "pipeline", "cause", "M/N", "cooldown s", "last fired"],
                [
                    [
                        t["name"],
                        t["state"],
                        t["pipeline"],
                        f"{t['cause_kind']}:{t['cause']}",
                        f"{t['m']}/{t['n']}",
                        t["cooldown_s"],
                        fmt_time(t["last_fired_at"]),
                    ]
                    for t in data
                ],
            )
        ),
        as_json,
    )


@app.command("show")
def show(name: Annotated[str, typer.Argument()], as_json: JsonOption = False) -> None:
    """A trigger with its latest evaluations."""
    with local_backend().meta.read() as conn:
        trig = triggers.get_trigger(conn, name)
        data = {**trig.to_dict(), "evaluations": triggers.list_evaluations(conn, trig.id)}

    def render() -> None:
        out = console()
        out.print(kv_table(f"trigger {name}", trig.to_dict()))
        out.print(
            table(
                "evaluations",
                ["at", "positive", "fired", "reason"],
                [
                    [fmt_time(e["evaluated_at"]), e["positive"], e["fired"], e["reason"]]
                    for e in data["evaluations"]
                ],
            )
        )

    emit(data, render, as_json)


def _set_state(name: str, state: str, as_json: bool) -> None:
    backend = local_backend()
    with backend.meta.write(backend.actor) as uow:
        data = triggers.set_trigger_state(uow, name, state).to_dict()
    emit(data, lambda: console().print(f"trigger {name}: {state}"), as_json)


@app.command("pause")
def pause(name: Annotated[str, typer.Argument()], as_json: JsonOption = False) -> None:
    """Stop evaluating a trigger."""
    _set_state(name, "paused", as_json)


@app.command("resume")
def resume(name: Annotated[str, typer.Argument()], as_json: JsonOption = False) -> None:
    """Evaluate a paused trigger again."""
    _set_state(name, "active", as_json)


@app.command("tick")
def tick(as_json: JsonOption = False) -> None:
    """Evaluate every active trigger once; runs what fires."""
    from dataclasses import asdict

    from conveyor.pipelines.controller import tick as run_tick

    data = [asdict(d) for d in run_tick(local_backend())]
    emit(
        data,
        lambda: console().print(
            table(
                "tick",
                ["trigger", "positive", "fired", "reason"],
                [[d["trigger"], d["positive"], d["fired"], d["reason"]] for d in data],
            )
        ),
        as_json,
    )


@app.command("run")
def run(
    interval: Annotated[float, typer.Option("--interval", help="Seconds between ticks.")] = 60.0,
) -> None:
    """Evaluate the triggers every --interval seconds until interrupted (Ctrl-C)."""
    from conveyor.jobs import Scheduler
    from conveyor.pipelines.controller import schedule_triggers

    scheduler = Scheduler("conveyor-triggers")
    schedule_triggers(scheduler, local_backend(), interval)
    console().print(f"evaluating triggers every {interval:g}s; Ctrl-C stops")
    with scheduler, contextlib.suppress(KeyboardInterrupt):
        scheduler.stopping.wait()
