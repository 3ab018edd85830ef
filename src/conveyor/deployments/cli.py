"""CLI: ``conveyor deploy|rollback|serve|predict`` and ``conveyor deployments list|show|revisions``.

``app`` has no name, so the root CLI adds its commands at the top level (one line in
``conveyor.cli.main.MODULES``). Every command but ``serve`` goes through the backend, so it
works on the embedded store and, with ``CONVEYOR_URI`` set, on a server (which compiles the
models on deploy). ``serve`` runs the inference runtime over the metadata store itself, so it
is embedded-only; ``conveyor server`` serves the same endpoints under ``/serving``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from conveyor.cli._backend import backend
from conveyor.cli._output import JsonOption, ReasonOpt, console, emit, fmt_time, kv_table, table
from conveyor.deployments.entities import WEIGHTED_ROLES
from conveyor.errors import ValidationFailed

if TYPE_CHECKING:  # imported inside the commands: `conveyor --help` stays fast
    from conveyor.deployments.entities import CompileResult, Deployment, Revision

__all__ = ["app", "deployments_app"]

app = typer.Typer(no_args_is_help=True)
deployments_app = typer.Typer(
    name="deployments", help="Endpoints and their revisions.", no_args_is_help=True
)
app.add_typer(deployments_app)

EndpointArg = Annotated[str, typer.Argument(help="Endpoint name.")]
CHUNK_ROWS = 65_536  # conveyor.deployments.batch.DEFAULT_CHUNK_ROWS (a test pins it)


def _embedded() -> None:
    """Refuse to run ``serve`` against a server: the runtime reads the store directly."""
    if backend().kind != "local":
        raise ValidationFailed(
            "conveyor serve reads deployments from the metadata store, so it runs embedded: "
            "unset CONVEYOR_URI and point CONVEYOR_DB_URL / CONVEYOR_HOME at the store the "
            "server uses — or use the server itself: `conveyor server` serves every endpoint "
            "under /serving (POST /serving/endpoints/<name>/invocations)"
        )


def _routes(rev: Revision) -> str:
    parts = []
    for r in rev.routes:
        alias = f" (@{r.alias})" if r.alias else ""
        weight = f" {r.weight:g}%" if r.role in WEIGHTED_ROLES else ""
        status = rev.compiled.get(r.key)
        how = f" [{status.status}]" if status else ""
        parts.append(f"{r.name}: {r.key}{alias}{weight}{how}")
    return "; ".join(parts)


def _compile_line(result: CompileResult) -> str:
    if result.status == "onnx":
        p = result.parity or {}
        return (
            f"ONNX {str(result.onnx_sha256)[:12]} (agreement {p.get('agreement', 0):.4f}, "
            f"max diff {p.get('max_abs_diff', 0):.2g})"
        )
    return f"{result.status}: {result.reason}"


def _show_revision(rev: Revision, title: str) -> None:
    out = console()
    info: dict[str, Any] = {
        "revision": rev.revision,
        "state": rev.rollout_state,
        "reason": rev.reason
        + (f" (restores revision {rev.restored_from})" if rev.restored_from else ""),
        "created": f"{fmt_time(rev.created_at)} by {rev.created_by}",
        "deadline ms": rev.deadline_ms or "",
        "sticky": (
            f"field {rev.sticky['field']}"
            if rev.sticky.get("field")
            else f"header {rev.sticky.get('header')}"
        ),
    }
    out.print(kv_table(title, info))
    out.print(
        table(
            "Routes",
            ["route", "role", "model", "version", "alias", "weight", "serving"],
            [
                [
                    r.name,
                    r.role,
                    r.model,
                    r.version,
                    r.alias or "",
                    f"{r.weight:g}" if r.role in WEIGHTED_ROLES else "",
                    _compile_line(rev.compiled[r.key]) if r.key in rev.compiled else "",
                ]
                for r in rev.routes
            ],
        )
    )


def _read_sample(path: Path, rows: int = 10_000) -> Any:
    """The first ``rows`` rows of a Parquet/CSV file as a DataFrame."""
    import pyarrow as pa

    from conveyor.deployments.batch import iter_batches

    batches, _ = iter_batches(path, rows)
    first = next(batches, None)
    if first is None:
        raise ValidationFailed(f"{path} has no rows to check parity with")
    return pa.Table.from_batches([first]).to_pandas()


@app.command("deploy")
def deploy_cmd(
    endpoint: EndpointArg,
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="Primary model: <name>@<alias> or <name>/<version>."),
    ] = None,
    canary: Annotated[
        list[str] | None,
        typer.Option("--canary", help="Canary route <name>/<version>:<weight> (repeatable)."),
    ] = None,
    shadow: Annotated[
        list[str] | None,
        typer.Option("--shadow", help="Shadow route <name>/<version> (repeatable)."),
    ] = None,
    ab: Annotated[
        list[str] | None,
        typer.Option("--ab", help="A/B route <name>/<version>:<weight> (repeatable)."),
    ] = None,
    ab_key: Annotated[
        str | None,
        typer.Option(
            "--ab-key", help="Sticky A/B key: a header name (X-User-Id) or field:<input field>."
        ),
    ] = None,
    fallback: Annotated[
        str | None, typer.Option("--fallback", help="Fallback model <name>/<version>.")
    ] = None,
    deadline_ms: Annotated[
        int | None,
        typer.Option("--deadline-ms", help="Answer from the fallback after this many ms."),
    ] = None,
    validation_data: Annotated[
        Path | None,
        typer.Option(
            "--validation-data",
            help="Parquet/CSV rows for the ONNX parity check (default: the input example).",
        ),
    ] = None,
    no_compile: Annotated[
        bool, typer.Option("--no-compile", help="Skip ONNX compilation (serve natively).")
    ] = False,
    override_reason: Annotated[
        str | None,
        typer.Option(
            "--override-reason",
            help="Deploy a primary model whose gates did not pass (recorded in the audit log).",
        ),
    ] = None,
    trust_pickle: Annotated[
        bool,
        typer.Option(
            "--trust-pickle",
            help="Trust the pickle of versions stored with one (e.g. logged by MLflow with "
            "cloudpickle) so they can be served; admin only, audited.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Deploy model versions to an endpoint as a new revision (ONNX when parity holds).

    With CONVEYOR_URI set, the server resolves, compiles and records the revision. The
    primary model of a model with a gate policy needs a passing gate report.
    """
    rev = backend().deploy(
        endpoint,
        model=model,
        canary=canary or None,
        shadow=shadow or None,
        ab=ab or None,
        ab_key=ab_key,
        fallback=fallback,
        deadline_ms=deadline_ms,
        compile=not no_compile,
        validation_data=_read_sample(validation_data) if validation_data else None,
        override_reason=override_reason,
        trust_pickle=trust_pickle,
    )

    def show() -> None:
        out = console()
        for key, result in rev.compiled.items():
            out.print(f"  {key}: {_compile_line(result)}", markup=False)
        _show_revision(rev, f"Deployed {endpoint}")

    emit(rev.to_dict(), show, as_json)


@app.command("rollback")
def rollback_cmd(
    endpoint: EndpointArg,
    to: Annotated[
        int | None, typer.Option("--to", help="Revision to restore (default: the previous).")
    ] = None,
    reason: ReasonOpt = "",
    as_json: JsonOption = False,
) -> None:
    """Restore the previous revision of an endpoint, as a new revision (audited with why)."""
    rev = backend().rollback(endpoint, to_revision=to, reason=reason)
    emit(rev.to_dict(), lambda: _show_revision(rev, f"Rolled back {endpoint}"), as_json)


@app.command("serve")
def serve_cmd(
    endpoints: Annotated[
        list[str] | None, typer.Argument(help="Endpoints to serve (default: every endpoint).")
    ] = None,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8080,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes.")] = 1,
    poll: Annotated[
        float, typer.Option("--poll", help="Seconds between checks for new revisions.")
    ] = 1.0,
    log_uri: Annotated[
        str | None,
        typer.Option(
            "--log-uri",
            help="Folder or URL for the prediction log (default: the prediction_log_uri "
            "setting, <home>/logs). Monitoring reads the same place.",
        ),
    ] = None,
    no_log: Annotated[
        bool, typer.Option("--no-log", help="Do not log predictions (monitoring sees nothing).")
    ] = False,
    inference_keys: Annotated[
        str | None,
        typer.Option(
            "--inference-keys",
            help="Keys file (`conveyor inference-keys create`): its endpoints need a key.",
        ),
    ] = None,
) -> None:
    """Serve endpoints over HTTP; new revisions are picked up without a restart.

    Embedded only (it reads the metadata store); `conveyor server` also serves every
    endpoint, under /serving.
    """
    from conveyor.deployments.rollout_controller import start_background
    from conveyor.deployments.runtime import serve

    _embedded()
    if inference_keys is not None:  # every worker reads the setting
        import os

        from conveyor.config import reset_settings

        os.environ["CONVEYOR_INFERENCE_KEYS_FILE"] = inference_keys
        reset_settings()
    console().print(f"Serving {', '.join(endpoints or ['every endpoint'])} on "
                    f"http://{host}:{port} ({workers} worker(s))", markup=False)  # fmt: skip
    rollouts = start_background(log_uri=None if no_log else log_uri)  # one per command
    try:
        serve(
            endpoints or None,
            host,
            port,
            workers,
            poll_interval=poll,
            log_uri="" if no_log else log_uri,
        )
    finally:
        rollouts.stop()


@app.command("predict")
def predict_cmd(
    model: Annotated[
        str, typer.Option("--model", "-m", help="models:/<name>@<alias>, models:/<name>/<v>.")
    ],
    input_path: Annotated[Path, typer.Option("--input", "-i", help="Parquet or CSV input.")],
    output_path: Annotated[Path, typer.Option("--output", "-o", help="Parquet output.")],
    chunk_rows: Annotated[
        int, typer.Option("--chunk-rows", help="Rows per chunk (bounds memory).")
    ] = CHUNK_ROWS,
    executor: Annotated[
        str,
        typer.Option("--executor", help="local (default) or ray: Ray Data over an actor pool."),
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option("--address", help="Ray cluster (host:port, ray://host:10001 or auto)."),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", help="Ray actors scoring in parallel (default: CPUs)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Score a Parquet/CSV file in chunks into a Parquet file."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    import conveyor
    from conveyor.deployments.batch import predict_file

    if not model.startswith(("models:/", "runs:/")):
        model = f"models:/{model}"
    if executor != "ray" and (address is not None or concurrency is not None):
        from conveyor.errors import ValidationFailed

        raise ValidationFailed("--address and --concurrency are for --executor ray")
    with Progress(
        TextColumn("[bold]scoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
        console=console(),
        transient=True,
        disable=as_json,
    ) as bar:
        task = bar.add_task("predict", total=None)

        def progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        stats = predict_file(
            conveyor.connect(),
            model,
            input_path,
            output_path,
            chunk_rows=chunk_rows,
            progress=progress,
            executor=executor,
            address=address,
            concurrency=concurrency,
        )
    emit(
        stats.to_dict(),
        lambda: console().print(
            f"Wrote {stats.rows} predictions in {stats.chunks} chunk(s) to {stats.output}",
            markup=False,
        ),
        as_json,
    )


@deployments_app.command("list")
def list_cmd(as_json: JsonOption = False) -> None:
    """Every endpoint with its current revision."""
    items = backend().list_deployments()
    emit(
        [d.to_dict() for d in items],
        lambda: console().print(
            table(
                f"Deployments ({len(items)})",
                ["endpoint", "revision", "state", "routes", "updated"],
                [
                    [
                        d.name,
                        d.current_revision,
                        "STOPPED" if d.stopped else d.current.rollout_state if d.current else "",
                        _routes(d.current) if d.current else "",
                        fmt_time(d.updated_at),
                    ]
                    for d in items
                ],
            )
        ),
        as_json,
    )


@deployments_app.command("show")
def show_cmd(endpoint: EndpointArg, as_json: JsonOption = False) -> None:
    """An endpoint's current revision: routes, weights, compile results."""
    dep = backend().get_deployment(endpoint)
    if dep.current is None:
        raise ValidationFailed(f"endpoint {endpoint!r} has no revision yet")
    current = dep.current

    def show() -> None:
        _show_stop(dep)
        _show_revision(current, f"Endpoint {endpoint}")

    emit(dep.to_dict(), show, as_json)


def _show_stop(dep: Deployment) -> None:
    if dep.stopped:
        stop = dep.stopped
        console().print(
            f"STOPPED by {stop['stopped_by']} at {fmt_time(stop['stopped_at'])}: "
            f"{stop['reason']} (resume: conveyor deployments resume {dep.name} --reason ...)",
            markup=False,
        )


@deployments_app.command("stop")
def stop_cmd(endpoint: EndpointArg, reason: ReasonOpt = "", as_json: JsonOption = False) -> None:
    """Stop an endpoint serving (503 naming who and why) until resumed; audited with why."""
    dep = backend().stop_deployment(endpoint, reason)
    emit(dep.to_dict(), lambda: _show_stop(dep), as_json)


@deployments_app.command("resume")
def resume_cmd(endpoint: EndpointArg, reason: ReasonOpt = "", as_json: JsonOption = False) -> None:
    """Serve a stopped endpoint again on its current revision; audited with why."""
    dep = backend().resume_deployment(endpoint, reason)
    emit(
        dep.to_dict(),
        lambda: console().print(
            f"Endpoint {endpoint} serves again (revision {dep.current_revision}).", markup=False
        ),
        as_json,
    )


def _weights(pairs: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = None
        if not sep or not name.strip() or number is None:
            raise ValidationFailed(f"--weight takes ROUTE=PERCENT (primary=90), got {pair!r}")
        out[name.strip()] = number
    return out


@deployments_app.command("override")
def override_cmd(
    endpoint: EndpointArg,
    weight: Annotated[
        list[str],
        typer.Option(
            "--weight", "-w", help="ROUTE=PERCENT for a route of the current revision (repeatable)."
        ),
    ],
    reason: ReasonOpt = "",
    as_json: JsonOption = False,
) -> None:
    """Set route weights by hand as a new revision (a running rollout is paused); audited."""
    rev = backend().override_traffic(endpoint, _weights(weight), reason)
    emit(rev.to_dict(), lambda: _show_revision(rev, f"Traffic of {endpoint} overridden"), as_json)


@deployments_app.command("revisions")
def revisions_cmd(endpoint: EndpointArg, as_json: JsonOption = False) -> None:
    """Every revision of an endpoint, newest first."""
    revs = backend().list_revisions(endpoint)
    emit(
        [r.to_dict() for r in revs],
        lambda: console().print(
            table(
                f"Revisions of {endpoint} ({len(revs)})",
                ["revision", "reason", "state", "routes", "created", "by"],
                [
                    [
                        r.revision,
                        r.reason + (f" → {r.restored_from}" if r.restored_from else ""),
                        r.rollout_state,
                        _routes(r),
                        fmt_time(r.created_at),
                        r.created_by,
                    ]
                    for r in revs
                ],
            )
        ),
        as_json,
    )
