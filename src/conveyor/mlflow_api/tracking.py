"""MLflow tracking endpoints (experiments, runs, metrics, logged models) over Conveyor's
tracking services. Each handler takes the acting backend and the request's arguments
and returns the JSON answer; errors raise (mapped by :mod:`conveyor.mlflow_api.app`).
"""

from __future__ import annotations

import json
from typing import Any

from conveyor.backend.local import LocalBackend
from conveyor.errors import Conflict, NotFound
from conveyor.mlflow_api._handlers import Handler, filter_clauses, guarded, matches, write
from conveyor.mlflow_api._wire import (
    MlflowError,
    as_float,
    as_int,
    decode_page_token,
    encode_float,
    encode_page_token,
    from_conveyor,
    kv_dict,
    kv_list,
    require,
)
from conveyor.mlflow_api.entities import (
    INPUTS_TAG,
    experiment_json,
    logged_model_json,
    run_info_json,
    runs_json,
)
from conveyor.tracking import lifecycle, logged_models
from conveyor.tracking import service as tracking
from conveyor.tracking.entities import Run
from conveyor.tracking.metric_rows import MetricRows
from conveyor.tracking.mlflow_filter import parse_mlflow_filter, parse_mlflow_order_by

__all__ = ["ROUTES"]

#: MLflow's id of the experiment a client uses when none is set
DEFAULT_EXPERIMENT_ID = "0"
_VIEW_TYPES = {
    "ACTIVE_ONLY": ("active",),
    "DELETED_ONLY": ("deleted",),
    "ALL": ("active", "deleted"),
    1: ("active",),
    2: ("deleted",),
    3: ("active", "deleted"),
}
# MLflow's per-request bounds of log-batch
MAX_BATCH_METRICS, MAX_BATCH_PARAMS, MAX_BATCH_TAGS = 1000, 100, 100


def _experiment_id(backend: LocalBackend, value: Any) -> str:
    """An experiment id; MLflow's default id "0" is Conveyor's Default experiment."""
    exp_id = str(require({"experiment_id": value}, "experiment_id"))
    if exp_id == DEFAULT_EXPERIMENT_ID:
        return backend.get_or_create_experiment(tracking.DEFAULT_EXPERIMENT).id
    return exp_id


def _run_id(body: dict[str, Any]) -> str:
    return str(body.get("run_id") or require(body, "run_uuid"))


def _view(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ("active",)
    if value not in _VIEW_TYPES:
        raise MlflowError(
            "INVALID_PARAMETER_VALUE",
            f"view type {value!r} is not one of ACTIVE_ONLY, DELETED_ONLY, ALL",
        )
    return _VIEW_TYPES[value]


def _max_results(body: dict[str, Any], default: int, ceiling: int) -> int:
    n = as_int(body.get("max_results"), "max_results", default)
    assert n is not None
    if not 1 <= n <= ceiling:
        raise MlflowError(
            "INVALID_PARAMETER_VALUE",
            f"Invalid value {n} for parameter 'max_results' supplied. It must be at most "
            f"{ceiling} and at least 1.",
        )
    return n


def _page(items: list[Any], offset: int, limit: int, key: str) -> dict[str, Any]:
    """One page of ``items`` (fetched with one extra to know whether more follow)."""
    out: dict[str, Any] = {key: items[:limit]}
    if len(items) > limit:
        out["next_page_token"] = encode_page_token(offset + limit)
    return out


# -- experiments ---------------------------------------------------------------------------
def get_experiment_by_name(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    name = str(require(body, "experiment_name"))
    with backend.read() as conn:
        found = [
            e for e in lifecycle.list_experiments_in(conn, ("active", "deleted")) if e.name == name
        ]
    if not found:
        raise MlflowError(
            "RESOURCE_DOES_NOT_EXIST", f"Could not find experiment with name '{name}'"
        )
    return {"experiment": experiment_json(found[0])}


def create_experiment(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    name = str(require(body, "name"))
    tags = kv_dict(body.get("tags"), "tags")
    try:
        exp = backend.create_experiment(name, tags=tags)
    except Conflict as exc:
        raise from_conveyor(exc, exists=True) from None
    return {"experiment_id": exp.id}


def get_experiment(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    exp_id = _experiment_id(backend, body.get("experiment_id"))
    return {"experiment": experiment_json(backend.get_experiment(exp_id))}


def search_experiments(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    limit = _max_results(body, 1000, 50_000)
    offset = decode_page_token(body.get("page_token"))
    with backend.read() as conn:
        found = lifecycle.list_experiments_in(conn, _view(body.get("view_type")))
    found = _filter_experiments(found, body.get("filter"))
    order = body.get("order_by") or []
    for term in reversed([order] if isinstance(order, str) else list(order)):
        field, _, direction = str(term).strip().partition(" ")
        attr = {
            "name": "name",
            "experiment_id": "id",
            "creation_time": "created_at",
            "last_update_time": "updated_at",
        }.get(field.removeprefix("attributes.").removeprefix("attribute."))
        if attr is None:
            raise MlflowError("INVALID_PARAMETER_VALUE", f"Invalid order_by clause '{term}'")
        found.sort(key=lambda e: getattr(e, attr), reverse=direction.strip().upper() == "DESC")
    if not order:
        found.sort(key=lambda e: (e.created_at, e.id), reverse=True)
    page = [experiment_json(e) for e in found[offset : offset + limit + 1]]
    return _page(page, offset, limit, "experiments")


def _filter_experiments(found: list[Any], text: Any) -> list[Any]:
    """MLflow's experiment filter: ``name``, times and ``tags.<key>``."""
    fields = ("name", "creation_time", "last_update_time")
    for field, op, value in filter_clauses(text, fields):

        def get(e: Any, field: str = field) -> Any:
            if field.startswith("tags."):
                return e.tags.get(field[5:])
            return {"name": e.name, "creation_time": e.created_at}.get(field, e.updated_at)

        found = [e for e in found if matches(get(e), op, value)]
    return found


def delete_experiment(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    exp_id = _experiment_id(backend, body.get("experiment_id"))
    write(backend, lifecycle.delete_experiment, exp_id)
    return {}


def restore_experiment(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    write(backend, lifecycle.restore_experiment, _experiment_id(backend, body.get("experiment_id")))
    return {}


def update_experiment(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    exp_id = _experiment_id(backend, body.get("experiment_id"))
    if body.get("new_name"):
        try:
            write(backend, lifecycle.update_experiment, exp_id, name=str(body["new_name"]))
        except Conflict as exc:
            raise from_conveyor(exc, exists=True) from None
    return {}


def set_experiment_tag(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    exp_id = _experiment_id(backend, body.get("experiment_id"))
    value = body.get("value")
    write(
        backend,
        lifecycle.set_experiment_tag,
        exp_id,
        str(require(body, "key")),
        "" if value is None else str(value),
    )
    return {}


def delete_experiment_tag(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    exp_id = _experiment_id(backend, body.get("experiment_id"))
    write(backend, lifecycle.delete_experiment_tag, exp_id, str(require(body, "key")))
    return {}


# -- runs ----------------------------------------------------------------------------------
def _run_json(backend: LocalBackend, run_id: str) -> dict[str, Any]:
    with backend.read() as conn:
        return runs_json(conn, [tracking.get_run(conn, run_id)])[0]


def create_run(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    exp_id = _experiment_id(backend, body.get("experiment_id") or DEFAULT_EXPERIMENT_ID)
    tags = kv_dict(body.get("tags"), "tags")
    name = body.get("run_name") or tags.get("mlflow.runName") or None
    tags.pop("mlflow.runName", None)  # the run's name, answered as this tag
    parent = tags.get("mlflow.parentRunId") or None
    run = backend.create_run(
        exp_id,
        name=name,
        parent_run_id=parent,
        tags=tags,
        start_time=as_int(body.get("start_time"), "start_time"),
    )
    # a new run has no metrics, inputs or outputs yet: answer without reading it back
    tags = {**run.tags, "mlflow.runName": run.name}
    return {
        "run": {
            "info": run_info_json(run),
            "data": {"metrics": [], "params": kv_list(run.params), "tags": kv_list(tags)},
            "inputs": {"dataset_inputs": []},
            "outputs": {"model_outputs": []},
        }
    }


def update_run(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    run_id = _run_id(body)
    status = body.get("status")
    if isinstance(status, int):
        status = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}.get(status)
    end_time = as_int(body.get("end_time"), "end_time")
    with backend.write() as uow:  # one transaction: the stock client ends each run so
        lifecycle.update_run(
            uow, run_id, status=status or None, end_time=end_time, name=body.get("run_name") or None
        )
        row = lifecycle.run_row(uow.conn, run_id)  # the info alone: no params, metrics, tags
    run = Run(
        id=row.id,
        experiment_id=row.experiment_id,
        name=row.name,
        status=row.status,
        user=row.user,
        start_time=row.start_time,
        end_time=row.end_time,
    )
    return {"run_info": run_info_json(run, row.lifecycle)}


def delete_run(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    write(backend, lifecycle.delete_run, _run_id(body))
    return {}


def restore_run(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    write(backend, lifecycle.restore_run, _run_id(body))
    return {}


def get_run(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    try:
        return {"run": _run_json(backend, _run_id(body))}
    except NotFound:
        raise MlflowError(
            "RESOURCE_DOES_NOT_EXIST", f"Run with id={_run_id(body)} not found"
        ) from None


def _metric_rows(items: Any) -> MetricRows:
    if items is None:
        return MetricRows()
    if not isinstance(items, list):
        raise MlflowError("INVALID_PARAMETER_VALUE", "'metrics' must be a list")
    keys: list[str] = []
    values: list[float] = []
    steps: list[int] = []
    stamps: list[int] = []
    for item in items:
        # the stock client's points (a str key, a float, int64s as numbers) go straight
        # into the columns; anything else takes the checking path below
        if type(item) is dict and not item.get("model_id"):
            key, value, stamp = item.get("key"), item.get("value"), item.get("timestamp")
            step = item.get("step", 0)
            if (
                type(key) is str
                and key
                and type(value) is float
                and type(stamp) is int
                and type(step) is int
            ):
                keys.append(key)
                values.append(value)
                steps.append(step)
                stamps.append(stamp)
                continue
        if not isinstance(item, dict):
            raise MlflowError("INVALID_PARAMETER_VALUE", "each metric must be an object")
        if item.get("model_id"):  # MLflow 3 re-logs a run's metrics linked to a model
            continue
        key = str(require(item, "key"))
        keys.append(key)
        values.append(as_float(item.get("value"), f"metrics.{key}.value"))
        steps.append(as_int(item.get("step"), "step", 0) or 0)
        stamps.append(as_int(require(item, "timestamp"), "timestamp") or 0)
    return MetricRows(keys, values, steps, stamps)


def log_metric(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    rows = _metric_rows(
        [
            {
                "key": require(body, "key"),
                "value": body.get("value"),
                "timestamp": require(body, "timestamp"),
                "step": body.get("step"),
                "model_id": body.get("model_id"),
            }
        ]
    )
    if len(rows):
        backend.log_batch(_run_id(body), metrics=rows)
    return {}


def log_param(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    value = body.get("value")
    backend.log_batch(
        _run_id(body), params={str(require(body, "key")): "" if value is None else str(value)}
    )
    return {}


def _set_tags(backend: LocalBackend, run_id: str, tags: dict[str, str]) -> None:
    name = tags.pop("mlflow.runName", None)
    if tags:
        backend.log_batch(run_id, tags=tags)
    if name:
        write(backend, lifecycle.update_run, run_id, name=name)


def set_tag(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    value = body.get("value")
    _set_tags(
        backend, _run_id(body), {str(require(body, "key")): "" if value is None else str(value)}
    )
    return {}


def delete_tag(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    write(backend, lifecycle.delete_run_tag, _run_id(body), str(require(body, "key")))
    return {}


def log_batch(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    run_id = str(require(body, "run_id"))
    metrics, params, tags = body.get("metrics") or [], body.get("params"), body.get("tags")
    for what, items, bound in (
        ("metrics", metrics, MAX_BATCH_METRICS),
        ("params", params or [], MAX_BATCH_PARAMS),
        ("tags", tags or [], MAX_BATCH_TAGS),
    ):
        if isinstance(items, list) and len(items) > bound:
            raise MlflowError(
                "INVALID_PARAMETER_VALUE",
                f"A batch logging request can contain at most {bound} {what}. Got "
                f"{len(items)} {what}. Please split up {what} across multiple requests and "
                "try again.",
            )
    rows = _metric_rows(metrics)
    param_map = kv_dict(params, "params")
    tag_map = kv_dict(tags, "tags")
    name = tag_map.pop("mlflow.runName", None)
    if len(rows) or param_map or tag_map:
        backend.log_batch(
            run_id, metrics=rows if len(rows) else None, params=param_map, tags=tag_map
        )
    if name:
        write(backend, lifecycle.update_run, run_id, name=name)
    return {}


def log_model(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    """MLflow 2's record of a model logged to a run: appended to the run's history tag."""
    run_id = str(require(body, "run_id"))
    try:
        model = json.loads(str(require(body, "model_json")))
    except ValueError:
        raise MlflowError("INVALID_PARAMETER_VALUE", "model_json must be JSON") from None
    run = backend.get_run(run_id)
    history = json.loads(run.tags.get("mlflow.log-model.history", "[]"))
    history.append(model)
    backend.log_batch(run_id, tags={"mlflow.log-model.history": json.dumps(history)})
    return {}


def log_inputs(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    """MLflow dataset inputs (no Conveyor dataset version behind them) kept on the run."""
    run_id = str(require(body, "run_id"))
    datasets = body.get("datasets") or []
    if datasets:
        run = backend.get_run(run_id)
        known = json.loads(run.tags.get(INPUTS_TAG, "[]"))
        known += [d for d in datasets if d not in known]
        backend.log_batch(run_id, tags={INPUTS_TAG: json.dumps(known)})
    return {}


def log_outputs(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    run_id = str(require(body, "run_id"))
    backend.get_run(run_id)
    with backend.read() as conn:
        for item in body.get("models") or []:
            logged_models.get_logged_model(conn, str(require(item, "model_id")))
    return {}


def search_runs(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    limit = _max_results(body, 1000, 50_000)
    offset = decode_page_token(body.get("page_token"))
    experiment_ids = body.get("experiment_ids") or []
    if isinstance(experiment_ids, str):
        experiment_ids = [experiment_ids]
    order = body.get("order_by") or None
    clauses = parse_mlflow_filter(body.get("filter") or None)
    order_keys = parse_mlflow_order_by(order)
    with backend.read() as conn:
        ids = [
            _experiment_id(backend, e) if str(e) == DEFAULT_EXPERIMENT_ID else str(e)
            for e in experiment_ids
        ]
        found = tracking.search_parsed(
            conn,
            ids or None,
            clauses,
            order_keys,
            max_results=limit + 1,
            offset=offset,
            lifecycles=_view(body.get("run_view_type")),
        )
        page = runs_json(conn, found)
    return _page(page, offset, limit, "runs")


def get_metric_history(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    run_id = _run_id(body)
    key = str(require(body, "metric_key"))
    points = backend.get_metric_history(run_id, key)
    limit = as_int(body.get("max_results"), "max_results", 25_000) or 25_000
    offset = decode_page_token(body.get("page_token"))
    page = [
        {"key": p.key, "value": encode_float(p.value), "timestamp": p.timestamp, "step": p.step}
        for p in points[offset : offset + limit + 1]
    ]
    return _page(page, offset, limit, "metrics")


def list_artifacts(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    from conveyor.mlflow_api.artifacts import list_dir

    run_id = _run_id(body)
    run = backend.get_run(run_id)
    path = str(body.get("path") or "").strip("/")
    files = list_dir(backend.list_artifacts(run_id), path, hide_models=True)
    return {
        "root_uri": f"mlflow-artifacts:/{run.experiment_id}/{run_id}/artifacts",
        "files": files,
    }


# -- logged models -------------------------------------------------------------------------
def create_logged_model(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    exp_id = _experiment_id(backend, body.get("experiment_id"))
    model = write(
        backend,
        logged_models.create_logged_model,
        exp_id,
        name=str(body.get("name") or ""),
        source_run_id=body.get("source_run_id") or None,
        model_type=str(body.get("model_type") or ""),
        params=kv_dict(body.get("params"), "params"),
        tags=kv_dict(body.get("tags"), "tags"),
    )
    return {"model": logged_model_json(model)}


def get_logged_model(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    with backend.read() as conn:
        return {"model": logged_model_json(logged_models.get_logged_model(conn, body["model_id"]))}


def finalize_logged_model(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    raw = body.get("status") or "LOGGED_MODEL_READY"
    status = {
        "LOGGED_MODEL_READY": "READY",
        "LOGGED_MODEL_UPLOAD_FAILED": "FAILED",
        "LOGGED_MODEL_PENDING": "PENDING",
        1: "PENDING",
        2: "READY",
        3: "FAILED",
    }.get(raw)
    if status is None:
        raise MlflowError("INVALID_PARAMETER_VALUE", f"unknown logged model status {raw!r}")
    model = write(backend, logged_models.finalize_logged_model, body["model_id"], status)
    return {"model": logged_model_json(model)}


def delete_logged_model(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    raise MlflowError(
        "INVALID_PARAMETER_VALUE",
        "Conveyor keeps logged models (their files are run artifacts, which are immutable "
        "once written); tag the model instead",
    )


def search_logged_models(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    limit = _max_results(body, 100, 50_000)
    offset = decode_page_token(body.get("page_token"))
    source_run_id, name = None, None
    text = str(body.get("filter") or "").strip()
    if text:
        from conveyor.tracking.search import _Parser

        for clause in text.split(" AND ") if " AND " in text else text.split(" and "):
            parser = _Parser(clause.strip())
            field = parser.take()[1]
            if parser.peek() == ("punct", "."):
                parser.i += 1
                field = parser.take()[1]
            op = parser.op()
            value = parser.scalar()
            if op != "=" or field not in ("source_run_id", "name"):
                raise MlflowError(
                    "INVALID_PARAMETER_VALUE",
                    f"logged model filter {clause!r} is not supported: use "
                    "source_run_id = '<id>' or name = '<name>'",
                )
            if field == "source_run_id":
                source_run_id = str(value)
            else:
                name = str(value)
    exp_ids = body.get("experiment_ids") or None
    with backend.read() as conn:
        ids = [
            _experiment_id(backend, e) if str(e) == DEFAULT_EXPERIMENT_ID else str(e)
            for e in exp_ids or []
        ]
        found = logged_models.search_logged_models(
            conn,
            ids or None,
            source_run_id=source_run_id,
            name=name,
            max_results=limit + 1,
            offset=offset,
        )
    return _page([logged_model_json(m) for m in found], offset, limit, "models")


def set_logged_model_tags(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    tags = kv_dict(body.get("tags"), "tags")
    write(backend, logged_models.set_logged_model_tags, body["model_id"], tags)
    return {}


def delete_logged_model_tag(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    write(backend, logged_models.delete_logged_model_tag, body["model_id"], body["tag_key"])
    return {}


def log_logged_model_params(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    params = kv_dict(body.get("params"), "params")
    write(backend, logged_models.log_logged_model_params, body["model_id"], params)
    return {}


def list_logged_model_artifacts(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    from conveyor.mlflow_api.artifacts import list_dir

    with backend.read() as conn:
        model = logged_models.get_logged_model(conn, body["model_id"])
    path = str(body.get("artifact_directory_path") or "").strip("/")
    prefix = model.artifact_prefix
    entries = [
        {**e, "path": e["path"][len(prefix) + 1 :]}
        for e in backend.list_artifacts(model.run_id, prefix)
    ]
    return {"files": list_dir(entries, path)}


#: (method, path under /api/2.0/mlflow) → handler; ``{model_id}`` segments are bound
ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/experiments/get-by-name"): get_experiment_by_name,
    ("POST", "/experiments/create"): create_experiment,
    ("GET", "/experiments/get"): get_experiment,
    ("POST", "/experiments/search"): search_experiments,
    ("GET", "/experiments/search"): search_experiments,
    ("POST", "/experiments/delete"): delete_experiment,
    ("POST", "/experiments/restore"): restore_experiment,
    ("POST", "/experiments/update"): update_experiment,
    ("POST", "/experiments/set-experiment-tag"): set_experiment_tag,
    ("POST", "/experiments/delete-experiment-tag"): delete_experiment_tag,
    ("POST", "/runs/create"): create_run,
    ("POST", "/runs/update"): update_run,
    ("POST", "/runs/delete"): delete_run,
    ("POST", "/runs/restore"): restore_run,
    ("POST", "/runs/log-metric"): log_metric,
    ("POST", "/runs/log-parameter"): log_param,
    ("POST", "/runs/set-tag"): set_tag,
    ("POST", "/runs/delete-tag"): delete_tag,
    ("GET", "/runs/get"): get_run,
    ("POST", "/runs/search"): search_runs,
    ("POST", "/runs/log-batch"): log_batch,
    ("POST", "/runs/log-model"): log_model,
    ("POST", "/runs/log-inputs"): log_inputs,
    ("POST", "/runs/outputs"): log_outputs,
    ("GET", "/metrics/get-history"): get_metric_history,
    ("GET", "/artifacts/list"): list_artifacts,
    ("POST", "/logged-models"): create_logged_model,
    ("POST", "/logged-models/search"): search_logged_models,
    ("GET", "/logged-models/{model_id}"): get_logged_model,
    ("PATCH", "/logged-models/{model_id}"): finalize_logged_model,
    ("DELETE", "/logged-models/{model_id}"): delete_logged_model,
    ("PATCH", "/logged-models/{model_id}/tags"): set_logged_model_tags,
    ("DELETE", "/logged-models/{model_id}/tags/{tag_key}"): delete_logged_model_tag,
    ("POST", "/logged-models/{model_id}/params"): log_logged_model_params,
    ("GET", "/logged-models/{model_id}/artifacts/directories"): list_logged_model_artifacts,
}
ROUTES = guarded(ROUTES)
