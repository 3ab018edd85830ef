"""The fluent tracking API: ``conveyor.start_run()``, ``conveyor.log_metric(...)`` ...

It keeps the active experiment and a stack of active runs (nested runs push onto it)
for this process, and talks to whichever backend ``conveyor.connect()`` resolves:
the embedded store by default, a server when ``CONVEYOR_URI`` is set.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from conveyor.config import get_settings
from conveyor.errors import Conflict, ValidationFailed
from conveyor.tracking.buffer import RunBuffer
from conveyor.tracking.context import step_run
from conveyor.tracking.entities import Experiment, MetricPoint, Run, RunData, RunInfo
from conveyor.tracking.environment import capture_source

__all__ = [
    "ActiveRun",
    "active_run",
    "end_run",
    "get_metric_history",
    "get_run",
    "log_artifact",
    "log_artifacts",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "start_run",
]

_state_lock = threading.RLock()
_experiment_name: str | None = None
_stack: list[ActiveRun] = []
#: Experiments resolved by this process, per backend and name: experiments are never
#: renamed, so a run start need not ask the store again.
_experiments: dict[tuple[int, str], Experiment] = {}


def _backend() -> Any:
    from conveyor.backend import connect

    return connect()


class ActiveRun:
    """A run being logged to; a context manager that ends the run on exit.

    Leaving the ``with`` block normally marks the run FINISHED; an exception marks it
    FAILED (KeyboardInterrupt: KILLED) and propagates.
    """

    def __init__(self, run: Run, backend: Any) -> None:
        self.run = run
        self.backend = backend
        settings = get_settings()
        self.buffer = RunBuffer(
            backend,
            run.id,
            flush_size=settings.metric_flush_size,
            flush_interval=settings.metric_flush_interval,
        )
        self.ended = False

    @property
    def id(self) -> str:
        return self.run.id

    run_id = id

    @property
    def info(self) -> RunInfo:
        """MLflow's ``run.info`` (as of the run's start)."""
        return self.run.info

    @property
    def data(self) -> RunData:
        """MLflow's ``run.data``: what the store holds now (buffered values flushed first)."""
        self.buffer.flush()
        return self.backend.get_run(self.run.id).data

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            status = "FINISHED"
        elif issubclass(exc_type, KeyboardInterrupt):
            status = "KILLED"
        else:
            status = "FAILED"
        if exc_type is None:
            _end(self, status)
            return
        try:
            _end(self, status)
        except Exception as end_error:  # the user's exception stays the one raised
            if exc is not None:
                exc.add_note(f"conveyor: ending run {self.run.id} also failed: {end_error}")

    def __repr__(self) -> str:
        return f"<ActiveRun {self.run.name} id={self.run.id}>"


def set_experiment(name: str) -> Experiment:
    """Make ``name`` the experiment new runs go to (created on first use)."""
    global _experiment_name
    experiment = _resolve_experiment(_backend(), name)
    with _state_lock:
        _experiment_name = experiment.name
    return experiment


def _resolve_experiment(backend: Any, name: str) -> Experiment:
    key = (id(backend), name)
    experiment = _experiments.get(key)
    if experiment is None:
        experiment = backend.get_or_create_experiment(name)
        _experiments[key] = experiment
    return experiment


def _current_experiment_name() -> str:
    if _experiment_name:
        return _experiment_name
    return os.environ.get("CONVEYOR_EXPERIMENT_NAME") or "Default"


def start_run(
    run_name: str | None = None,
    *,
    nested: bool = False,
    tags: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    experiment: str | None = None,
    description: str | None = None,
    run_id: str | None = None,
    experiment_id: str | None = None,
    parent_run_id: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a run in the current experiment and make it active.

    With an active run, pass ``nested=True`` to start a child run (its parent is the
    active run, or ``parent_run_id``); otherwise starting a second run is an error.
    ``run_id`` resumes a run that is still RUNNING (e.g. after a crash). ``experiment_id``
    is MLflow's spelling of ``experiment`` (an id or a name).
    """
    if log_system_metrics:
        raise ValidationFailed(
            "log_system_metrics is not supported: Conveyor does not sample CPU/GPU usage. "
            "Log the figures you need with conveyor.log_metric()."
        )
    if experiment is not None and experiment_id is not None:
        raise ValidationFailed("pass experiment= or experiment_id=, not both (they are aliases)")
    backend = _backend()
    with _state_lock:
        parent = _stack[-1] if _stack else None
        if parent is not None and not nested:
            raise ValidationFailed(
                f"run {parent.run.id} is already active; end it first, or pass nested=True "
                "to start a child run"
            )
        if run_id is not None:
            return _resume(backend, run_id, run_name, tags, params, description)
        exp = _resolve_experiment(
            backend, experiment or experiment_id or _current_experiment_name()
        )
        all_tags = {k: str(v) for k, v in (tags or {}).items()}
        if description:
            all_tags["conveyor.note"] = description
        run = backend.create_run(
            exp.id,
            name=run_name,
            parent_run_id=parent_run_id or (parent.run.id if parent else step_run.get()),
            tags=all_tags,
            params=params,
            source=capture_source(),
        )
        active = ActiveRun(run, backend)
        if params:
            active.buffer._logged_params.update({k: str(v) for k, v in params.items()})
        _stack.append(active)
    return active


def _resume(
    backend: Any,
    run_id: str,
    run_name: str | None,
    tags: dict[str, Any] | None,
    params: dict[str, Any] | None,
    description: str | None,
) -> ActiveRun:
    """Make the RUNNING run ``run_id`` active again (``start_run(run_id=...)``)."""
    run: Run = backend.get_run(run_id)
    if run.status != "RUNNING":
        raise Conflict(
            f"run {run_id} is {run.status}: unlike MLflow, Conveyor does not reopen an ended "
            "run (ended runs are immutable). Start a new run, e.g. "
            f"conveyor.start_run(parent_run_id={run_id!r}, nested=True) or one with the same "
            "params.",
            details={"run_id": run_id, "status": run.status},
        )
    if run_name is not None and run_name != run.name:
        raise ValidationFailed(
            f"run {run_id} is named {run.name!r}; run names cannot change, so drop "
            "run_name= when resuming"
        )
    active = ActiveRun(run, backend)
    active.buffer._logged_params.update(run.params)
    if description:
        active.buffer.add_tags({"conveyor.note": description})
    if tags:
        active.buffer.add_tags(tags)
    if params:
        active.buffer.add_params(params)
    _stack.append(active)
    return active


@atexit.register
def _end_runs_at_exit() -> None:
    """A script that exits with runs still active ends them FINISHED, like MLflow."""
    while (run := active_run()) is not None:
        try:
            _end(run, "FINISHED")
        except Exception as exc:
            print(f"conveyor: could not end run {run.id} at exit: {exc}", file=sys.stderr)
            with _state_lock:
                if run in _stack:
                    _stack.remove(run)


def active_run() -> ActiveRun | None:
    """The innermost active run, or None."""
    with _state_lock:
        return _stack[-1] if _stack else None


def _require_run() -> ActiveRun:
    run = active_run()
    if run is None:
        return start_run()  # like MLflow: logging without a run starts one
    return run


@contextmanager
def _run_for_call() -> Iterator[ActiveRun]:
    """The active run; else one started for this call (like MLflow).

    A run started here is ended FAILED if the call fails, so a refused upload does not
    leave an empty run active. Callers check their input before entering, so bad input
    starts no run at all.
    """
    run = active_run()
    if run is not None:
        yield run
        return
    run = start_run()
    try:
        yield run
    except BaseException:
        try:
            _end(run, "FAILED")
        except Exception as exc:  # keep the caller's error; say why the run stayed open
            print(f"conveyor: could not end run {run.id}: {exc}", file=sys.stderr)
        raise


def _end(run: ActiveRun, status: str) -> None:
    if run.ended:
        return
    run.buffer.close(status)  # the final flush and the end travel together
    run.ended = True
    with _state_lock:
        if run in _stack:
            _stack.remove(run)


def end_run(status: str = "FINISHED") -> None:
    """Flush and end the innermost active run (no-op when there is none)."""
    run = active_run()
    if run is not None:
        _end(run, status)


def log_param(key: str, value: Any) -> None:
    """Log one parameter (immutable: a different value later raises Conflict)."""
    _require_run().buffer.add_params({key: value})


def log_params(params: dict[str, Any]) -> None:
    """Log several parameters."""
    if not isinstance(params, dict):
        raise ValidationFailed("log_params takes a dict of name -> value")
    _require_run().buffer.add_params(params)


def log_metric(key: str, value: float, step: int = 0, timestamp: int | None = None) -> None:
    """Log one metric value (buffered; sent in batches, flushed at end_run)."""
    _require_run().buffer.add_metric(key, value, step, timestamp)


def log_metrics(metrics: dict[str, float], step: int = 0, timestamp: int | None = None) -> None:
    """Log several metric values at one step."""
    if not isinstance(metrics, dict):
        raise ValidationFailed("log_metrics takes a dict of name -> number")
    buffer = _require_run().buffer
    for key, value in metrics.items():
        buffer.add_metric(key, value, step, timestamp)


def set_tag(key: str, value: Any) -> None:
    """Set a run tag (tags may be overwritten)."""
    _require_run().buffer.add_tags({key: value})


def set_tags(tags: dict[str, Any]) -> None:
    """Set several run tags."""
    if not isinstance(tags, dict):
        raise ValidationFailed("set_tags takes a dict of name -> value")
    _require_run().buffer.add_tags(tags)


def log_artifact(local_path: str | Path, artifact_path: str | None = None) -> dict[str, Any]:
    """Upload a file as an artifact of the active run; returns path, sha256, size."""
    path = Path(local_path)
    if not path.is_file():
        raise ValidationFailed(f"{path} is not a file; log folders with log_artifacts()")
    dest = _artifact_dest(artifact_path, path.name)
    with open(path, "rb") as fh, _run_for_call() as run:
        entry: dict[str, Any] = run.backend.upload_artifact(run.run.id, dest, fh)
    return entry


def _artifact_dest(artifact_path: str | None, rel: str) -> str:
    from conveyor.tracking.service import check_artifact_path

    return check_artifact_path(f"{artifact_path.strip('/')}/{rel}" if artifact_path else rel)


def log_artifacts(local_dir: str | Path, artifact_path: str | None = None) -> list[dict[str, Any]]:
    """Upload every file under a folder, keeping relative paths."""
    root = Path(local_dir)
    if not root.is_dir():
        raise ValidationFailed(f"{root} is not a folder")
    files = sorted(p for p in root.rglob("*") if p.is_file())
    if not files:
        raise ValidationFailed(f"{root} has no files to log")
    dests = [_artifact_dest(artifact_path, f.relative_to(root).as_posix()) for f in files]
    entries = []
    with _run_for_call() as run:
        for file, dest in zip(files, dests, strict=True):
            with open(file, "rb") as fh:
                entries.append(run.backend.upload_artifact(run.run.id, dest, fh))
    return entries


def reset() -> None:
    """Forget the active experiment and runs of this process without ending them (tests)."""
    global _experiment_name
    with _state_lock:
        _experiment_name = None
        _stack.clear()
        _experiments.clear()


def get_run(run_id: str) -> Run:
    """A run with its params, latest metrics, tags and inputs."""
    run: Run = _backend().get_run(run_id)
    return run


def search_runs(
    experiment_ids: list[str] | str | None = None,
    filter_string: str | None = None,
    run_view_type: int | str | None = None,
    max_results: int = 1000,
    order_by: list[str] | str | None = None,
    output_format: str = "list",
    search_all_experiments: bool = False,
    experiment_names: list[str] | None = None,
) -> Any:
    """Runs matching ``filter_string`` (e.g. ``metrics.auc > 0.8 and params.model = 'rf'``).

    ``experiment_ids`` and ``experiment_names`` both accept ids or names; without either,
    the current experiment (set_experiment) or else every experiment is searched.
    ``output_format="pandas"`` returns a DataFrame shaped like MLflow's (``run_id``,
    ``experiment_id``, ``status``, ``start_time``, ``end_time``, ``params.*``,
    ``metrics.*``, ``tags.*``); the default is a list of runs.
    """
    from conveyor.tracking.run_frame import check_view_type, runs_frame

    if output_format not in ("list", "pandas"):
        raise ValidationFailed(f"output_format must be 'list' or 'pandas', got {output_format!r}")
    check_view_type(run_view_type)
    backend = _backend()
    refs: list[str] | None = None
    if isinstance(experiment_ids, str):
        experiment_ids = [experiment_ids]
    if experiment_ids is not None or experiment_names is not None:
        refs = [*(experiment_ids or []), *(experiment_names or [])]
    elif not search_all_experiments and _experiment_name:
        refs = [_current_experiment_name()]
    ids = [backend.get_experiment(ref).id for ref in refs] if refs is not None else None
    order = [order_by] if isinstance(order_by, str) else order_by
    runs: list[Run] = backend.search_runs(ids, filter_string, order, max_results)
    return runs_frame(runs) if output_format == "pandas" else runs


def get_metric_history(run_id: str, key: str) -> list[MetricPoint]:
    """Every logged value of a metric."""
    points: list[MetricPoint] = _backend().get_metric_history(run_id, key)
    return points
