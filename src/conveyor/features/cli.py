"""CLI: ``conveyor features apply|list|show|materialize|materialize-incremental|online|skew``.

Registered by one line in ``conveyor.cli.main.MODULES``. Every command runs through the
operation table, on the embedded store or on the server named by ``CONVEYOR_URI``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from conveyor.cli._backend import backend
from conveyor.cli._output import JsonOption, console, emit, fmt_time, kv_table, table

__all__ = ["app"]

app = typer.Typer(
    name="features",
    help="Feature store: apply definitions, list them, materialize to the online store.",
    no_args_is_help=True,
)

KindOpt = Annotated[
    str | None,
    typer.Option("--kind", "-k", help="entity, feature_view or feature_service."),
]

_MARK = {"added": "+", "changed": "~", "removed": "-", "unchanged": " "}


@app.command("apply")
def apply(
    path: Annotated[Path, typer.Argument(help="Python file defining entities, views, services.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan only.")] = False,
    no_prune: Annotated[
        bool, typer.Option("--no-prune", help="Keep definitions the file does not mention.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Show what the file adds, changes and removes, then apply it (unless --dry-run)."""
    from conveyor.features.loader import load_definitions

    plan = backend().apply_features(load_definitions(path), dry_run=dry_run, prune=not no_prune)

    def render() -> None:
        rows = [
            (_MARK[i.action], i.action, i.kind, i.name, i.version, ", ".join(i.changes))
            for i in plan.items
        ]
        console().print(table("Plan", ["", "action", "kind", "name", "version", "changes"], rows))
        changes = [i for i in plan.items if i.action != "unchanged"]
        if not changes:
            console().print("Nothing to change.")
        elif plan.applied:
            console().print(f"Applied {len(changes)} change(s).", markup=False)
        else:
            console().print("Dry run: nothing applied.")

    emit(plan, render, as_json)


@app.command("list")
def list_(kind: KindOpt = None, as_json: JsonOption = False) -> None:
    """Entities, feature views and feature services, with their versions."""
    found = backend().list_features(kind)
    rows = [(o.kind, o.name, o.version, _summary(o), fmt_time(o.updated_at)) for o in found]
    emit(
        found,
        lambda: console().print(
            table("Feature definitions", ["kind", "name", "version", "what", "updated"], rows)
        ),
        as_json,
    )


def _summary(obj: Any) -> str:
    spec = obj.spec
    if obj.kind == "entity":
        return "keys: " + ", ".join(spec["join_keys"])
    if obj.kind == "feature_service":
        return ", ".join(spec["features"])
    ttl = f", ttl {spec['ttl_s']:g}s" if spec.get("ttl_s") else ""
    return f"{len(spec['features'])} features from {spec['source']['type']}{ttl}"


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Name of a view, service or entity.")],
    kind: KindOpt = None,
    versions: Annotated[bool, typer.Option("--versions", help="Every stored version.")] = False,
    as_json: JsonOption = False,
) -> None:
    """One definition: its spec and version (or its history with --versions)."""
    client = backend()
    obj = client.get_feature_definition(name, kind)
    if versions:
        history = client.list_feature_versions(obj.name, obj.kind)
        rows = [(v.version, v.digest[:12], v.created_by, fmt_time(v.created_at)) for v in history]
        emit(
            history,
            lambda: console().print(
                table(f"{obj.kind} {obj.name}", ["version", "digest", "by", "at"], rows)
            ),
            as_json,
        )
        return
    items: dict[str, Any] = {"kind": obj.kind, "name": obj.name, "version": obj.version}
    if obj.kind == "feature_view":
        items["entities"] = obj.spec["entities"]
        items["features"] = [f"{f['name']} ({f['dtype']})" for f in obj.spec["features"]]
        items["source"] = obj.spec["source"]
        items["ttl_s"] = obj.spec["ttl_s"]
    else:
        items.update({k: v for k, v in obj.spec.items() if k != "name"})
    items["updated"] = fmt_time(obj.updated_at)
    emit(obj, lambda: console().print(kv_table(None, items)), as_json)


ViewOpt = Annotated[
    list[str] | None, typer.Option("--view", "-v", help="Only this view; repeatable.")
]


def _materialize(
    start: str | None, end: str | None, views: list[str] | None, incremental: bool, as_json: bool
) -> None:
    from conveyor.features.materialization import to_ms

    client = backend()
    end_ms = to_ms(end) if end else None
    names = views or [
        o.name for o in client.list_features("feature_view") if o.spec.get("online", True)
    ]
    done: list[Any] = []
    quiet = as_json or not names
    from rich.progress import Progress

    with Progress(console=console(), transient=True, disable=quiet) as progress:
        task = progress.add_task("materializing", total=len(names))
        for name in names:  # one view at a time: progress, and a failure keeps the others
            progress.update(task, description=f"materializing {name}")
            done += client.materialize_features(
                start=start, end=end_ms, views=[name], incremental=incremental
            )
            progress.advance(task)
    rows = [
        (m.view, m.rows, fmt_time(m.start_ms) or "(all)", fmt_time(m.end_ms),
         fmt_time(m.newest_event_ms))
        for m in done
    ]  # fmt: skip
    cols = ["view", "rows", "from", "to", "newest event"]
    emit(done, lambda: console().print(table("Materialized", cols, rows)), as_json)


@app.command("materialize")
def materialize(
    start: Annotated[str | None, typer.Option("--start", help="ISO-8601 event time.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="ISO-8601 (default now).")] = None,
    view: ViewOpt = None,
    as_json: JsonOption = False,
) -> None:
    """Write the latest value per entity with event time in [start, end] to the online store."""
    _materialize(start, end, view, False, as_json)


@app.command("materialize-incremental")
def materialize_incremental(
    end: Annotated[str | None, typer.Option("--end", help="ISO-8601 (default now).")] = None,
    view: ViewOpt = None,
    as_json: JsonOption = False,
) -> None:
    """Materialize each view from where its last materialization ended, up to --end."""
    _materialize(None, end, view, True, as_json)


def _value(text: str) -> Any:
    import json

    try:
        return json.loads(text)
    except ValueError:
        return text


@app.command("online")
def online(
    feature: Annotated[
        list[str], typer.Option("--feature", "-f", help="view:feature; repeatable.")
    ],
    entity: Annotated[
        list[str], typer.Option("--entity", "-e", help="key=value (JSON value); repeatable.")
    ],
    as_json: JsonOption = False,
) -> None:
    """Read online values for one entity (``-e customer_id=42``)."""
    row = {k: _value(v) for k, _, v in (item.partition("=") for item in entity)}
    answer = backend().get_online_features([row], feature)
    items = {
        name: f"{values[0]!r} ({answer.statuses[name][0]})"
        if name in answer.statuses
        else values[0]
        for name, values in answer.values.items()
    }
    emit(answer, lambda: console().print(kv_table(None, items)), as_json)


@app.command("freshness")
def freshness(as_json: JsonOption = False) -> None:
    """Age of the newest materialized value of each feature view."""
    found = backend().feature_freshness()
    rows = [
        (f.view, fmt_time(f.newest_event_ms), "" if f.age_s is None else f"{f.age_s:.0f}s",
         fmt_time(f.last_materialized_at))
        for f in found
    ]  # fmt: skip
    cols = ["view", "newest event", "age", "materialized"]
    emit(found, lambda: console().print(table("Freshness", cols, rows)), as_json)


@app.command("skew")
def skew(
    endpoint: Annotated[str, typer.Argument(help="Deployment endpoint bound to a service.")],
    dataset: Annotated[
        str, typer.Argument(help="Training set from get_historical_features: NAME[:VERSION].")
    ],
    window: Annotated[str, typer.Option("--window", "-w", help="Served window, e.g. 1d.")] = "1d",
    as_json: JsonOption = False,
) -> None:
    """Train-vs-serve drift: the training set's feature values against those served."""
    name, _, number = dataset.partition(":")
    if number and not number.isdigit():
        raise typer.BadParameter(f"{dataset!r}: use NAME or NAME:VERSION (a number)")
    found = backend().feature_skew(endpoint, name, int(number) if number else None, window)

    def render() -> None:
        rows = [
            (c["column"], c.get("method") or "", c["status"],
             "" if c.get("distance") is None else f"{c['distance']:.4g}",
             f"{c.get('reference_rows', 0)} / {c.get('current_rows', 0)}")
            for c in found["columns"]
        ]  # fmt: skip
        title = f"Skew of service {found['service']} ({found['verdict']})"
        cols = ["feature", "method", "status", "distance", "trained / served rows"]
        console().print(table(title, cols, rows))

    emit(found, render, as_json)


@app.command("bind")
def bind(
    endpoint: Annotated[str, typer.Argument(help="Deployment endpoint.")],
    service: Annotated[str, typer.Option("--service", "-s", help="Feature service name.")],
    on_missing: Annotated[
        str, typer.Option("--on-missing", help="fail (default) or defaults.")
    ] = "fail",
    as_json: JsonOption = False,
) -> None:
    """Make an endpoint look a feature service up before predicting.

    Servers already serving the endpoint pick the binding up on their next poll of the
    store (CONVEYOR_SERVE_POLL_S, 1 s by default): no redeploy.
    """
    found = backend().set_endpoint_features(endpoint, service, on_missing=on_missing)
    emit(
        found,
        lambda: console().print(
            f"Endpoint {found.endpoint} looks up feature service {found.service} "
            f"(missing values: {found.on_missing}); running servers pick it up on their "
            "next poll, no redeploy needed",
            markup=False,
        ),
        as_json,
    )


@app.command("unbind")
def unbind(endpoint: Annotated[str, typer.Argument(help="Deployment endpoint.")]) -> None:
    """Stop looking features up for an endpoint."""
    backend().delete_endpoint_features(endpoint)
    console().print(f"Endpoint {endpoint} looks no features up", markup=False)
