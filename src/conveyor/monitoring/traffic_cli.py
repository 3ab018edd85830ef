"""CLI: ``conveyor traffic stats|sample ENDPOINT`` — an endpoint's traffic by time bucket and
the newest rows of its prediction log (what the endpoint page of the web UI shows).

Registered by one line in ``conveyor.cli.main.MODULES``; both commands call the operation
table (``endpoint_traffic``, ``sample_predictions``), on the embedded store or the server
named by ``CONVEYOR_URI`` (which reads its own prediction log).
"""

from __future__ import annotations

from typing import Annotated

import typer

from conveyor.cli._backend import backend
from conveyor.cli._output import JsonOption, console, emit, fmt_time, table

__all__ = ["app"]

app = typer.Typer(
    name="traffic",
    help="An endpoint's traffic over time and a sample of its prediction log.",
    no_args_is_help=True,
)

Endpoint = Annotated[str, typer.Argument(help="Endpoint name.")]
WindowOpt = Annotated[str, typer.Option("--window", "-w", help="How far back: 1h, 1d, 30m ...")]


@app.command("stats")
def stats(
    endpoint: Endpoint,
    window: WindowOpt = "1h",
    buckets: Annotated[int, typer.Option("--buckets", help="Time buckets in the window.")] = 12,
    as_json: JsonOption = False,
) -> None:
    """Requests, rows, latency p50/p95/p99, fallback share, failed requests and their 5xx
    and 4xx shares per time bucket."""
    found = backend().endpoint_traffic(endpoint, window, buckets)
    rows = [
        (fmt_time(found.starts[i]), found.requests[i], found.rows[i], found.latency_p50[i],
         found.latency_p95[i], found.latency_p99[i], found.fallback_rate[i],
         found.failed_requests[i], found.error_rate[i], found.client_error_rate[i])
        for i in range(len(found.starts))
    ]  # fmt: skip
    cols = ["from (UTC)", "requests", "rows", "p50 ms", "p95 ms", "p99 ms", "fallback",
            "failed", "5xx", "4xx"]  # fmt: skip
    emit(found, lambda: console().print(table(f"Traffic of {endpoint}", cols, rows)), as_json)


@app.command("sample")
def sample(
    endpoint: Endpoint,
    window: WindowOpt = "1d",
    limit: Annotated[int, typer.Option("--limit", help="Rows, newest first.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """The newest rows of the prediction log, with inputs, output and label."""
    found = backend().sample_predictions(endpoint, window, limit)
    rows = [
        (fmt_time(r["ts"]), r["prediction_id"], r["model_version"], r["route"], r["latency_ms"],
         r["inputs"], r["output"], r["label"])
        for r in found.rows
    ]  # fmt: skip
    cols = ["time (UTC)", "id", "version", "route", "ms", "inputs", "output", "label"]
    title = f"{endpoint}: {len(found.rows)} of {found.total} rows in the last {window}"
    emit(found, lambda: console().print(table(title, cols, rows)), as_json)
