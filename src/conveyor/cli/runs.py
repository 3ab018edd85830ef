"""``conveyor runs``: list, show, search, metric history, artifacts and downloads."""

from __future__ import annotations

import os
import uuid
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from conveyor.cli._backend import backend
from conveyor.cli._output import (
    JsonOption,
    compact,
    console,
    emit,
    err_console,
    fmt_float,
    fmt_time,
    kv_table,
    table,
)
from conveyor.errors import NotFound, ValidationFailed
from conveyor.tracking.entities import Run
from conveyor.tracking.search import parse_filter, parse_order_by

__all__ = ["app"]

app = typer.Typer(name="runs", help="Training and evaluation runs.", no_args_is_help=True)

ExperimentOption = Annotated[
    str | None, typer.Option("--experiment", "-e", help="Experiment name or id (default: all).")
]
MaxOption = Annotated[int, typer.Option("--max", "-n", min=1, help="At most this many runs.")]


def _duration(run: Run) -> str:
    if run.end_time is None:
        return ""
    seconds = max(0, run.end_time - run.start_time) / 1000
    return f"{seconds:.1f}s" if seconds < 120 else f"{seconds / 60:.1f}m"


def _runs_table(
    title: str, items: list[Run], metric_keys: list[str], experiments: dict[str, str]
) -> Any:
    columns = ["run id", "experiment", "name", "status", "started", "duration"]
    columns += [f"metrics.{k}" for k in metric_keys]
    columns += ["metrics" if not metric_keys else "other metrics", "params"]
    rows = []
    for run in items:
        shown = [fmt_float(run.metrics.get(k)) for k in metric_keys]
        rest = {k: v for k, v in run.metrics.items() if k not in metric_keys}
        rows.append(
            [
                run.id,
                experiments.get(run.experiment_id, run.experiment_id),
                run.name,
                run.status,
                fmt_time(run.start_time),
                _duration(run),
                *shown,
                compact(rest),
                compact(run.params),
            ]
        )
    return table(title, columns, rows)


def _metric_keys(filter_string: str | None, order_by: list[str]) -> list[str]:
    """Metric keys named in a filter or order-by, shown as their own columns."""
    named = [(c.kind, c.key) for c in parse_filter(filter_string)]
    named += [(o.kind, o.key) for o in parse_order_by(order_by)]
    return list(dict.fromkeys(key for kind, key in named if kind == "metric"))


_EXISTS = {"tag": "tags.`{}` like '%'", "param": "params.`{}` like '%'",
           "metric": "metrics.`{}` >= -1e308"}  # fmt: skip


def _unknown_keys(experiment_ids: list[str] | None, filter_string: str | None) -> list[str]:
    """Keys in the filter that no run of these experiments has (why nothing matched)."""
    unknown = []
    for clause in parse_filter(filter_string):
        probe = _EXISTS.get(clause.kind)
        if probe is None or "`" in clause.key:
            continue
        hits = backend().search_runs(
            experiment_ids, filter_string=probe.format(clause.key), max_results=1
        )
        if not hits:
            unknown.append(f"{clause.kind} {clause.key!r}")
    return list(dict.fromkeys(unknown))


def _experiment_ids(experiment: str | None) -> list[str] | None:
    return None if experiment is None else [backend().get_experiment(experiment).id]


def _experiment_names() -> dict[str, str]:
    return {e.id: e.name for e in backend().list_experiments()}


def _emit_runs(title: str, items: list[Run], metric_keys: list[str], as_json: bool) -> None:
    emit(
        [r.to_dict() for r in items],
        lambda: console().print(_runs_table(title, items, metric_keys, _experiment_names())),
        as_json,
    )


@app.command("list")
def list_runs(
    experiment: ExperimentOption = None, max_results: MaxOption = 100, as_json: JsonOption = False
) -> None:
    """Runs, newest first."""
    items = backend().search_runs(_experiment_ids(experiment), max_results=max_results)
    _emit_runs(f"Runs ({len(items)})", items, [], as_json)


@app.command("search")
def search(
    filter_string: Annotated[
        str | None,
        typer.Option(
            "--filter",
            "-f",
            help="e.g. \"metrics.auc > 0.8 and params.model = 'rf'\" "
            "(metrics./params./tags./attributes; = != > >= < <= like ilike in, not in).",
        ),
    ] = None,
    order_by: Annotated[
        list[str] | None,
        typer.Option("--order-by", "-o", help='e.g. "metrics.auc DESC"; repeatable.'),
    ] = None,
    experiment: ExperimentOption = None,
    max_results: MaxOption = 100,
    as_json: JsonOption = False,
) -> None:
    """Runs matching a filter, in the given order."""
    experiment_ids = _experiment_ids(experiment)
    items = backend().search_runs(
        experiment_ids,
        filter_string=filter_string,
        order_by=order_by or None,
        max_results=max_results,
    )
    keys = _metric_keys(filter_string, order_by or [])
    _emit_runs(f"Runs matching ({len(items)})", items, keys, as_json)
    unknown = [] if items else _unknown_keys(experiment_ids, filter_string)
    if unknown:
        err_console().print(
            f"No run has {', '.join(unknown)}: keys match exactly (quote one with special "
            "characters in backticks, e.g. tags.`team name`).",
            markup=False,
        )


@app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(help="Run id.")], as_json: JsonOption = False
) -> None:
    """One run: params, latest metrics, tags, inputs, source and git state."""
    run = backend().get_run(run_id)
    emit(run.to_dict(), lambda: _render_run(run), as_json)


def _render_run(run: Run) -> None:
    out = console()
    git = run.source.get("git") or {}
    fields: dict[str, Any] = {
        "id": run.id,
        "name": run.name,
        "experiment": f"{backend().get_experiment(run.experiment_id).name} ({run.experiment_id})",
        "status": run.status,
        "user": run.user,
        "started": fmt_time(run.start_time),
        "ended": fmt_time(run.end_time),
        "duration": _duration(run),
    }
    if run.parent_run_id:
        fields["parent run"] = run.parent_run_id
    if git:
        dirty = " (dirty)" if git.get("dirty") else ""
        fields["git"] = f"{git.get('commit', '')} {git.get('branch', '')}{dirty}".strip()
    for key in ("python", "platform", "executable"):
        if run.source.get(key):
            fields[key] = run.source[key]
    if run.source.get("command"):
        fields["command"] = " ".join(str(a) for a in run.source["command"])
    out.print(kv_table(f"Run {run.id}", fields))
    for title, values in (("Params", run.params), ("Metrics (latest)", run.metrics)):
        if values:
            out.print(table(title, ["key", "value"], sorted(values.items())))
    if run.tags:
        out.print(table("Tags", ["key", "value"], sorted(run.tags.items())))
    if run.inputs:
        columns = sorted({k for item in run.inputs for k in item})
        out.print(table("Inputs", columns, [[i.get(c) for c in columns] for i in run.inputs]))
    packages = run.source.get("packages") or {}
    if packages:
        out.print(table("Packages", ["package", "version"], sorted(packages.items())))


@app.command("metrics")
def metrics(
    run_id: Annotated[str, typer.Argument(help="Run id.")],
    key: Annotated[str, typer.Argument(help="Metric key.")],
    as_json: JsonOption = False,
) -> None:
    """The full history of one metric (every step)."""
    points = backend().get_metric_history(run_id, key)
    emit(
        [p.to_dict() for p in points],
        lambda: console().print(
            table(
                f"Metric {key} ({len(points)} points)",
                ["step", "value", "time"],
                [[p.step, p.value, fmt_time(p.timestamp)] for p in points],
            )
        ),
        as_json,
    )


@app.command("artifacts")
def artifacts(
    run_id: Annotated[str, typer.Argument(help="Run id.")],
    path: Annotated[str, typer.Option("--path", "-p", help="Only under this folder.")] = "",
    as_json: JsonOption = False,
) -> None:
    """The files a run stored: path, size and sha256."""
    entries = backend().list_artifacts(run_id, path)
    emit(
        entries,
        lambda: console().print(
            table(
                f"Artifacts of run {run_id} ({len(entries)})",
                ["path", "size", "sha256"],
                [[e["path"], e["size"], e["sha256"]] for e in entries],
            )
        ),
        as_json,
    )


def _target(dest: Path, base: PurePosixPath, path: str) -> Path:
    """Where artifact ``path`` goes under ``dest`` (relative to the parent of ``base``)."""
    relative = PurePosixPath(path).relative_to(base.parent) if str(base.parent) != "." else path
    target = (dest / str(relative)).resolve()
    if not target.is_relative_to(dest.resolve()):
        raise ValidationFailed(f"artifact path {path!r} would be written outside {dest}")
    return target


@app.command("download")
def download(
    run_id: Annotated[str, typer.Argument(help="Run id.")],
    path: Annotated[str, typer.Argument(help="Artifact file or folder, e.g. model.")],
    dest: Annotated[Path, typer.Option("--dest", "-d", help="Folder to write into.")] = Path(),
    as_json: JsonOption = False,
) -> None:
    """Download a run's artifact file or folder (verified against its sha256)."""
    api = backend()
    entries = api.list_artifacts(run_id, path)
    if not entries:
        raise NotFound(f"run {run_id} has no artifact {path!r}")
    base = PurePosixPath(path.strip("/"))
    total = sum(int(e["size"]) for e in entries)
    written: list[dict[str, Any]] = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err_console(),
        transient=True,
    ) as progress:
        task = progress.add_task(f"{path}", total=total)
        for entry in entries:
            target = _target(dest, base, entry["path"])
            progress.update(task, description=entry["path"])
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
            try:
                with open(tmp, "wb") as out:
                    for chunk in api.iter_blob(entry["sha256"]):
                        out.write(chunk)
                        progress.advance(task, len(chunk))
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
            written.append({**entry, "dest": str(target)})
    emit(
        written,
        lambda: console().print(
            f"Downloaded {len(written)} file(s), {total} bytes, to {dest}", markup=False
        ),
        as_json,
    )
