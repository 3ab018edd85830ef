"""CLI: ``conveyor monitors create|list|delete|checks|run|report|alerts`` (``monitor``: the
old singular spelling, kept hidden for one release).

Registered by one line in ``conveyor.cli.main.MODULES``: ``"conveyor.monitoring.cli"``.
Every command runs through the operation table (``conveyor.client.Client``): on the
embedded store, or on the server named by ``CONVEYOR_URI`` (which evaluates monitors and
builds reports over its own prediction log). ``--log-uri`` (default
``<CONVEYOR_HOME>/logs``) is where the serving runtime writes the prediction log.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from conveyor.cli._backend import backend
from conveyor.cli._output import JsonOption, console, emit, fmt_time, kv_table, table
from conveyor.errors import ValidationFailed
from conveyor.monitoring import service
from conveyor.monitoring.monitors import MonitorSpec, load_monitor_specs

__all__ = ["app"]

app = typer.Typer(
    name="monitors",
    help="Monitors, checks and alerts over the prediction log; window reports.",
    no_args_is_help=True,
)

LogUri = Annotated[
    str | None,
    typer.Option("--log-uri", help="Prediction log root (default <CONVEYOR_HOME>/logs)."),
]
EndpointOpt = Annotated[str | None, typer.Option("--endpoint", "-e", help="Endpoint name.")]


def _stores(client: Any) -> Any:
    """The embedded stores behind a local client (progress bars and in-process reports)."""
    return client.transport.stores


def _notifier(text: str) -> dict[str, Any]:
    """``webhook=https://...``, ``slack=https://...``, ``log`` or a JSON object."""
    if text.strip().startswith("{"):
        parsed = json.loads(text)
        if not isinstance(parsed, dict):
            raise ValidationFailed(f"--notify {text!r}: expected a JSON object")
        return parsed
    kind, _, url = text.partition("=")
    return {"type": kind, "url": url} if url else {"type": kind}


@app.command("create")
def create(
    name: Annotated[str | None, typer.Argument(help="Monitor name.")] = None,
    endpoint: EndpointOpt = None,
    metric: Annotated[
        str | None, typer.Option("--metric", "-m", help="drift.share, latency.p99, ...")
    ] = None,
    threshold: Annotated[float | None, typer.Option("--threshold", "-t")] = None,
    comparison: Annotated[str, typer.Option("--comparison", "-c", help="> >= < <= == !=")] = ">",
    window: Annotated[str, typer.Option("--window", "-w")] = "1h",
    schedule: Annotated[str, typer.Option("--schedule", "-s", help="Evaluate every ...")] = "5m",
    severity: Annotated[str, typer.Option("--severity")] = "warning",
    for_: Annotated[str, typer.Option("--for", help="Breach must hold this long.")] = "0s",
    cooldown: Annotated[str, typer.Option("--cooldown", help="Between two firings.")] = "0s",
    model_version: Annotated[str | None, typer.Option("--model-version")] = None,
    route: Annotated[str | None, typer.Option("--route")] = None,
    notify: Annotated[
        list[str] | None,
        typer.Option("--notify", "-n", help="log | webhook=URL | slack=URL | JSON; repeatable."),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help='key=JSON value, e.g. model="churn"; repeatable.'),
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="YAML/JSON/TOML file of monitors.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a monitor from options, or create/update every monitor in a file."""
    if file is not None:
        specs = load_monitor_specs(file)
    else:
        if name is None or endpoint is None or metric is None or threshold is None:
            raise ValidationFailed(
                "give NAME, --endpoint, --metric and --threshold (or --file monitors.yaml)"
            )
        options: dict[str, Any] = {}
        for item in option or []:
            key, _, raw = item.partition("=")
            try:
                options[key] = json.loads(raw)
            except json.JSONDecodeError:
                options[key] = raw
        specs = [
            MonitorSpec(
                name, endpoint, metric, threshold, comparison, window, schedule, severity,
                for_, cooldown, model_version, route, options,
                [_notifier(n) for n in notify or []],
            )
        ]  # fmt: skip
    client = backend()
    if file is not None:
        done = [(d.action, d.monitor) for d in client.apply_monitors(specs)]
    else:
        done = [("created", client.create_monitor(specs[0]))]
    emit(
        [{"action": a, **m.to_dict()} for a, m in done],
        lambda: console().print(
            table(None, ["action", "monitor", "condition"], [(a, m.name, m.condition())
                                                               for a, m in done])
        ),
        as_json,
    )  # fmt: skip


@app.command("list")
def list_(endpoint: EndpointOpt = None, as_json: JsonOption = False) -> None:
    """The monitors, by name."""
    found = backend().list_monitors(endpoint=endpoint)
    rows = [
        (m.name, m.endpoint, m.condition(), f"{m.window_s:g}s", f"{m.schedule_s:g}s", m.severity,
         "yes" if m.enabled else "no", fmt_time(m.last_evaluated_at))
        for m in found
    ]  # fmt: skip
    cols = ["name", "endpoint", "condition", "window", "every", "severity", "on", "last"]
    emit(found, lambda: console().print(table("Monitors", cols, rows)), as_json)


@app.command("delete")
def delete(name: Annotated[str, typer.Argument(help="Monitor name.")]) -> None:
    """Delete a monitor with its checks and alert history."""
    backend().delete_monitor(name)
    console().print(f"Deleted monitor {name}", markup=False)


@app.command("checks")
def checks(
    name: Annotated[str, typer.Argument(help="Monitor name.")],
    limit: Annotated[int, typer.Option("--limit")] = 20,
    as_json: JsonOption = False,
) -> None:
    """The latest evaluations of a monitor."""
    found = backend().list_monitor_checks(name, limit=limit)
    rows = [
        (fmt_time(c["evaluated_at"]), c["status"], c["value"], (c["details"] or {}).get("reason"))
        for c in found
    ]
    emit(
        found,
        lambda: console().print(table(name, ["time", "status", "value", "reason"], rows)),
        as_json,
    )


def _outcomes_table(outcomes: list[service.CheckOutcome]) -> Any:
    rows = [
        (o.monitor, o.status, o.value, o.action, o.alert.state if o.alert else "", o.reason or "")
        for o in outcomes
    ]
    return table("Checks", ["monitor", "status", "value", "alert", "state", "reason"], rows)


def _round(
    client: Any,
    endpoint: str | None,
    due_only: bool,
    log_uri: str | None,
    stop: threading.Event,
    quiet: bool,
) -> list[service.CheckOutcome]:
    """One round of evaluations: behind a progress bar on the embedded store, by the server
    otherwise."""
    if client.kind != "local":
        outcomes: list[service.CheckOutcome] = client.run_monitors(
            endpoint=endpoint, due_only=due_only, log_uri=log_uri
        )
        return outcomes
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("[bold]monitors"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=console(),
        transient=True,
        disable=quiet,
    ) as bar:
        task = bar.add_task("", total=None)

        def progress(done: int, total: int, name: str) -> None:
            bar.update(task, completed=done, total=total, description=name)

        return service.run_once(
            _stores(client), endpoint=endpoint, due_only=due_only, log_uri=log_uri,
            progress=progress, cancel=stop,
        )  # fmt: skip


def _show(outcomes: list[service.CheckOutcome], as_json: bool) -> None:
    emit(
        [o.to_dict() for o in outcomes],
        lambda: console().print(_outcomes_table(outcomes)),
        as_json,
    )


@app.command("run")
def run(
    once: Annotated[bool, typer.Option("--once", help="One round, then exit.")] = False,
    endpoint: EndpointOpt = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Evaluate every monitor, due or not.")
    ] = False,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between rounds.")] = 5.0,
    log_uri: LogUri = None,
    as_json: JsonOption = False,
) -> None:
    """Evaluate due monitors: one round (--once) or every --interval seconds until Ctrl-C."""
    client = backend()
    stop = threading.Event()
    try:
        while True:
            outcomes = _round(client, endpoint, not all_, log_uri, stop, as_json)
            if once or outcomes:
                _show(outcomes, as_json)
            if once or stop.wait(interval):
                return
    except KeyboardInterrupt:
        stop.set()
        raise typer.Exit(130) from None


@app.command("report")
def report(
    endpoint: Annotated[str, typer.Option("--endpoint", "-e", help="Endpoint name.")],
    window: Annotated[str, typer.Option("--window", "-w", help="The last ... (1h, 1d).")] = "1h",
    html: Annotated[Path | None, typer.Option("--html", help="Write an HTML report.")] = None,
    model_version: Annotated[str | None, typer.Option("--model-version")] = None,
    route: Annotated[str | None, typer.Option("--route")] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Registered model name (for the reference).")
    ] = None,
    task: Annotated[str, typer.Option("--task", help="auto|classification|regression")] = "auto",
    classes: Annotated[
        str | None,
        typer.Option(
            "--classes",
            help="Class order of the logged probabilities: no,yes or a JSON list "
            "(default: inferred from the served labels).",
        ),
    ] = None,
    positive: Annotated[
        str | None,
        typer.Option("--positive", help="Positive class, e.g. 1 or yes."),
    ] = None,
    value_matrix: Annotated[
        str | None,
        typer.Option(
            "--value-matrix", help='Business value JSON: {"tp":..,"tn":..,"fp":..,"fn":..}'
        ),
    ] = None,
    log_uri: LogUri = None,
    as_json: JsonOption = False,
) -> None:
    """Drift, quality, performance, business value and operational figures of a window."""
    client = backend()
    value = _json_option("--value-matrix", value_matrix)
    class_order = _class_list(classes)
    label = None if positive is None else _label(positive)
    if client.kind != "local":  # the server reads its own prediction log
        data = client.monitor_report(
            endpoint, window, log_uri=log_uri, model_version=model_version, route=route,
            model=model, task=task, classes=class_order, positive=label, value=value,
            html=html is not None,
        )  # fmt: skip
        page = data.pop("html", None)
        if html is not None and page is not None:
            html.write_text(page, encoding="utf-8")
        emit(data, lambda: console().print_json(data=data), as_json)
        return
    if value is not None:
        from conveyor.monitoring.business import ValueMatrix

        value = ValueMatrix.from_dict(value, what="--value-matrix")
    rep = service.window_report(
        _stores(client), endpoint, window, log_uri=log_uri, model_version=model_version,
        route=route, model=model, task=task, value=value, classes=class_order,
        positive=label,
    )  # fmt: skip
    if html is not None:
        rep.save_html(html)
    emit(rep.to_dict(), lambda: _render(rep, html), as_json)


def _label(text: str) -> Any:
    """A class label from the command line: JSON when it parses (``1``, ``"yes"``, ``true``),
    else the text itself (``yes``)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _class_list(text: str | None) -> list[Any] | None:
    """``--classes``: a JSON list (``'["no", "yes"]'``) or comma-separated labels
    (``no,yes``, ``0,1``)."""
    if text is None:
        return None
    if not text.lstrip().startswith("["):
        return [_label(part.strip()) for part in text.split(",")]
    parsed = _json_option("--classes", text)
    if not isinstance(parsed, list):
        raise ValidationFailed(f"--classes must be a list, got {text!r}")
    return parsed


def _json_option(flag: str, text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"{flag} is not valid JSON ({exc.msg}): {text!r}") from None


#: drifted columns / quality issues named in the text report (``--json`` has them all)
_SHOWN = 5


def _render(rep: service.WindowReport, html: Path | None) -> None:
    out = console()
    s = rep.summary
    out.print(
        kv_table(
            f"Endpoint {s['endpoint']}",
            {
                "window": f"{s['window']['start']} .. {s['window']['end']}",
                "status": s["status"] + (f" ({s['reason']})" if s["reason"] else ""),
                "rows": s["rows"],
                "label coverage": f"{s['label_coverage']:.1%}",
                "versions": s["model_versions"],
            },
        )
    )
    if rep.drift is not None:
        out.print(rep.drift.verdict(), markup=False)
        drifted = rep.drift.drifted_columns
        if drifted:
            more = f" (+{len(drifted) - _SHOWN} more)" if len(drifted) > _SHOWN else ""
            out.print(f"Drifted columns: {', '.join(drifted[:_SHOWN])}{more}", markup=False)
    else:
        out.print(f"Drift: {rep.reference_error}", markup=False)
    if rep.quality is not None:
        issues = rep.quality.issues
        out.print(f"Quality: {'passed' if not issues else f'{len(issues)} issue(s)'}", markup=False)
        for issue in issues[:_SHOWN]:
            out.print(f"  [{issue.severity}] {issue.check}: {issue.message}", markup=False)
        if len(issues) > _SHOWN:
            out.print(f"  ... {len(issues) - _SHOWN} more (--json lists them all)", markup=False)
    perf = rep.performance.overall
    status = perf.status + (f" ({perf.reason})" if perf.reason else "")
    figures: dict[str, Any] = {k: v for k, v in perf.metrics.items() if isinstance(v, int | float)}
    if "positive" in perf.metrics:  # a class label: a number or a string
        figures["positive"] = perf.metrics["positive"]
    if perf.metrics.get("proba_reason"):
        figures["auc, log loss, ece"] = f"not computed: {perf.metrics['proba_reason']}"
    out.print(kv_table("Performance", {"status": status, **figures}))
    perf_report = rep.performance
    if len(perf_report.by_version) > 1 or len(perf_report.by_route) > 1:
        columns, rows = perf_report.table()
        out.print(table("Performance by version and route", columns, rows[1:]))
    op = rep.operational
    out.print(
        kv_table(
            "Operational",
            {**{f"latency {k} ms": v for k, v in op.latency_ms.items()},
             "requests/s": op.throughput_rps, "fallback rate": op.fallback_rate,
             "failed requests": op.failed_requests,
             "error rate (5xx)": op.error_rate if op.error_rate is not None else op.error_source,
             "client error rate (4xx)": op.client_error_rate},
        )
    )  # fmt: skip
    if rep.business is not None:
        b = rep.business.overall
        out.print(
            kv_table(
                "Business value",
                {"total": b.total, "per prediction": b.per_prediction,
                 "baseline total": b.baseline_total, "uplift": b.uplift},
            )
        )  # fmt: skip
    if html is not None:
        out.print(f"Wrote {html}", markup=False)


@app.command("alerts")
def alerts_(
    open_only: Annotated[bool, typer.Option("--open", help="Pending and firing only.")] = False,
    monitor: Annotated[str | None, typer.Option("--monitor")] = None,
    endpoint: EndpointOpt = None,
    limit: Annotated[int, typer.Option("--limit")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Alert history, newest first."""
    found = backend().list_alerts(
        monitor=monitor, endpoint=endpoint, open_only=open_only, limit=limit
    )
    rows = [
        (a.id[:12], a.monitor, a.state, a.severity, a.value, fmt_time(a.started_at),
         fmt_time(a.fired_at), fmt_time(a.resolved_at),
         sum(1 for n in a.notifications if not n.get("ok")))
        for a in found
    ]  # fmt: skip
    cols = ["id", "monitor", "state", "severity", "value", "since", "fired", "resolved", "failed"]
    emit(found, lambda: console().print(table("Alerts", cols, rows)), as_json)
