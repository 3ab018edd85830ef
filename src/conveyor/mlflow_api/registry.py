"""MLflow model-registry endpoints over Conveyor's registry services.

An MLflow model version is a Conveyor model version: its files are run artifacts (of
the logged model, ``logged-models/<id>/`` of its run, or of a ``runs:/`` path) plus a
Conveyor manifest in the flavor :mod:`conveyor.models.mlflow_format` maps it to (skops,
ONNX, native boosters; ``mlflow_pickle`` for pickles, served once an admin trusts them);
a format Conveyor has no loader for is recorded with flavor ``mlflow`` and the MLmodel
file as manifest. Versions are answered as strings.
"""

from __future__ import annotations

from typing import Any

from conveyor.backend.local import LocalBackend
from conveyor.errors import Conflict, NotFound
from conveyor.mlflow_api._handlers import Handler, filter_clauses, guarded, matches, write
from conveyor.mlflow_api._wire import (
    MlflowError,
    as_int,
    decode_page_token,
    encode_page_token,
    from_conveyor,
    kv_dict,
    require,
)
from conveyor.mlflow_api.entities import (
    logged_model_id,
    logged_model_source,
    model_json,
    model_version_json,
)
from conveyor.models.manifest import FileEntry
from conveyor.models.mlflow_format import MLFLOW_FLAVOR, MLMODEL, conveyor_manifest
from conveyor.registry import lifecycle
from conveyor.registry import service as registry
from conveyor.registry.entities import ModelVersion
from conveyor.registry.register import check_stored_model
from conveyor.registry.uris import MANIFEST_NAME, parse_run_uri
from conveyor.tracking import logged_models

__all__ = ["MLMODEL", "ROUTES", "download_uri"]


def _limit(body: dict[str, Any], default: int) -> int:
    n = as_int(body.get("max_results"), "max_results", default) or default
    if not 1 <= n <= 50_000:
        raise MlflowError(
            "INVALID_PARAMETER_VALUE", f"Invalid value {n} for parameter 'max_results'"
        )
    return n


# -- registered models -----------------------------------------------------------------------
def _model(backend: LocalBackend, name: str) -> dict[str, Any]:
    model = backend.get_model(name)
    latest = backend.get_model_version(name, "latest") if model.latest_version else None
    return model_json(model, latest)


def create_registered_model(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    name = str(require(body, "name"))
    try:
        backend.create_model(
            name,
            description=str(body.get("description") or ""),
            tags=kv_dict(body.get("tags"), "tags"),
        )
    except Conflict:
        raise MlflowError(
            "RESOURCE_ALREADY_EXISTS", f"Registered Model (name={name}) already exists."
        ) from None
    return {"registered_model": _model(backend, name)}


def get_registered_model(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    return {"registered_model": _model(backend, str(require(body, "name")))}


def search_registered_models(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    limit = _limit(body, 100)
    offset = decode_page_token(body.get("page_token"))
    clauses = filter_clauses(body.get("filter"), ("name",))
    found = backend.search_models(max_results=50_000)
    for field, op, value in clauses:
        found = [
            m
            for m in found
            if matches(m.name if field == "name" else m.tags.get(field[5:]), op, value)
        ]
    page = [_model(backend, m.name) for m in found[offset : offset + limit + 1]]
    out: dict[str, Any] = {"registered_models": page[:limit]}
    if len(page) > limit:
        out["next_page_token"] = encode_page_token(offset + limit)
    return out


def update_registered_model(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    name = str(require(body, "name"))
    if body.get("description") is not None:
        write(backend, lifecycle.update_model, name, description=str(body["description"]))
    return {"registered_model": _model(backend, name)}


def rename_registered_model(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    name, new_name = str(require(body, "name")), str(require(body, "new_name"))
    try:
        write(backend, lifecycle.rename_model, name, new_name)
    except Conflict as exc:
        raise from_conveyor(exc, exists=True) from None
    return {"registered_model": _model(backend, new_name)}


def delete_registered_model(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    write(backend, lifecycle.delete_model, str(require(body, "name")))
    return {}


def set_registered_model_tag(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    value = body.get("value")
    write(
        backend,
        lifecycle.set_model_tag,
        str(require(body, "name")),
        str(require(body, "key")),
        "" if value is None else str(value),
    )
    return {}


def delete_registered_model_tag(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    write(
        backend, lifecycle.delete_model_tag, str(require(body, "name")), str(require(body, "key"))
    )
    return {}


def get_latest_versions(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    name = str(require(body, "name"))
    model = backend.get_model(name)
    stages = body.get("stages") or []
    if not model.latest_version or (stages and "None" not in stages):
        return {"model_versions": []}  # stages are not kept: every version is in "None"
    return {"model_versions": [model_version_json(backend.get_model_version(name, "latest"))]}


# -- aliases ---------------------------------------------------------------------------------
def set_alias(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    backend.set_model_alias(
        str(require(body, "name")), str(require(body, "alias")), str(require(body, "version"))
    )
    return {}


def delete_alias(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    backend.delete_model_alias(str(require(body, "name")), str(require(body, "alias")))
    return {}


def get_by_alias(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    name, alias = str(require(body, "name")), str(require(body, "alias"))
    return {"model_version": model_version_json(backend.get_model_version(name, alias))}


# -- model versions --------------------------------------------------------------------------
def _files_at(backend: LocalBackend, run_id: str, prefix: str) -> list[dict[str, Any]]:
    entries = backend.list_artifacts(run_id, prefix)
    return [{**e, "path": e["path"][len(prefix) + 1 :]} for e in entries]


def _resolve_source(backend: LocalBackend, source: str, model_id: str | None) -> tuple[str, str]:
    """(Conveyor ``runs:/`` URI of the files, run id) of an MLflow version source."""
    if not model_id and source.startswith("models:/") and "/" not in source[8:].strip("/"):
        model_id = source[8:].strip("/")
    if model_id:
        with backend.read() as conn:
            model = logged_models.get_logged_model(conn, model_id)
        return logged_model_source(model), model.run_id
    if source.startswith("mlflow-artifacts:/"):
        parts = source[len("mlflow-artifacts:") :].strip("/").split("/")
        if len(parts) >= 4 and parts[2] == "artifacts":
            source = f"runs:/{parts[1]}/{'/'.join(parts[3:])}"
        elif len(parts) >= 4 and parts[1] == "models":
            return _resolve_source(backend, "", parts[2])
    if source.startswith("runs:/"):
        run_id, _ = parse_run_uri(source)
        return source, run_id
    raise MlflowError(
        "INVALID_PARAMETER_VALUE",
        f"model version source {source!r} is not stored on this server: use models:/<model_id> "
        "(MLflow 3 log_model), runs:/<run_id>/<path> or an mlflow-artifacts:/ URI",
    )


def create_model_version(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    name = str(require(body, "name"))
    source = str(require(body, "source"))
    backend.get_model(name)  # MLflow: the registered model must exist first
    uri, run_id = _resolve_source(backend, source, body.get("model_id") or None)
    tags = kv_dict(body.get("tags"), "tags")
    description = str(body.get("description") or "")
    _, path = parse_run_uri(uri)
    files = _files_at(backend, run_id, path)
    by_path = {f["path"]: f for f in files}
    if MANIFEST_NAME in by_path:  # a Conveyor-logged model
        mv = backend.register_model(uri, name, description=description, tags=tags)
        return {"model_version": model_version_json(mv)}
    if MLMODEL not in by_path:
        raise MlflowError(
            "INVALID_PARAMETER_VALUE",
            f"no MLflow model at {source!r}: its files have no MLmodel (upload the model's "
            "files first: log_model does)",
        )
    manifest_sha256, flavor, signature = by_path[MLMODEL]["sha256"], MLFLOW_FLAVOR, None
    entries = [FileEntry(str(f["path"]), str(f["sha256"]), int(f["size"])) for f in files]
    manifest, _ = conveyor_manifest(
        backend.artifacts.read_bytes(manifest_sha256),
        entries,
        lambda rel: backend.artifacts.read_bytes(by_path[rel]["sha256"]),
    )
    if manifest is not None:  # a Conveyor manifest makes it loadable here (pickles: trusted)
        info = backend.artifacts.put_bytes(manifest.to_bytes())
        files = [*files, {"path": MANIFEST_NAME, "sha256": info.sha256, "size": info.size}]
        check_stored_model(backend.artifacts, info.sha256, files)  # trusted types only
        manifest_sha256, flavor, signature = info.sha256, manifest.flavor, manifest.signature
    mv = write(
        backend,
        registry.create_model_version,
        name,
        source=uri,
        manifest_sha256=manifest_sha256,
        flavor=flavor,
        files=files,
        signature=signature,
        run_id=run_id,
        description=description,
        tags=tags,
    )
    return {"model_version": model_version_json(mv)}


def _version(backend: LocalBackend, body: dict[str, Any]) -> ModelVersion:
    return backend.get_model_version(str(require(body, "name")), str(require(body, "version")))


def get_model_version(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    return {"model_version": model_version_json(_version(backend, body))}


def update_model_version(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    mv = _version(backend, body)
    if body.get("description") is not None:
        mv = backend.update_model_version(mv.name, mv.version, description=str(body["description"]))
    return {"model_version": model_version_json(mv)}


def delete_model_version(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    mv = _version(backend, body)
    raise from_conveyor(lifecycle.refuse_version_delete(mv.name, mv.version))


def transition_stage(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    raise MlflowError(
        "INVALID_PARAMETER_VALUE",
        "model version stages are deprecated in MLflow and not kept by Conveyor: use aliases "
        "(MlflowClient().set_registered_model_alias(name, 'champion', version))",
    )


def search_model_versions(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    limit = _limit(body, 10_000)
    offset = decode_page_token(body.get("page_token"))
    clauses = filter_clauses(
        body.get("filter"), ("name", "run_id", "source_path", "version_number")
    )
    names = [v for f, op, v in clauses if f == "name" and op == "="]
    models = (
        [str(names[0])] if names else [m.name for m in backend.search_models(max_results=50_000)]
    )
    found: list[ModelVersion] = []
    for model in models:
        try:
            found.extend(backend.list_model_versions(model))
        except NotFound:
            continue
    for field, op, value in clauses:

        def get(mv: ModelVersion, field: str = field) -> Any:
            if field.startswith("tags."):
                return mv.tags.get(field[5:])
            return {
                "name": mv.name,
                "run_id": mv.run_id,
                "source_path": mv.source,
                "version_number": mv.version,
            }[field]

        found = [mv for mv in found if matches(get(mv), op, value)]
    page = [model_version_json(mv) for mv in found[offset : offset + limit + 1]]
    out: dict[str, Any] = {"model_versions": page[:limit]}
    if len(page) > limit:
        out["next_page_token"] = encode_page_token(offset + limit)
    return out


def download_uri(backend: LocalBackend, mv: ModelVersion) -> str:
    """The ``mlflow-artifacts:`` URI the stock client downloads a version's files from."""
    model_id = logged_model_id(mv.source)
    if model_id:
        with backend.read() as conn:
            model = logged_models.get_logged_model(conn, model_id)
        return f"mlflow-artifacts:/{model.experiment_id}/models/{model.id}/artifacts"
    run_id, path = parse_run_uri(mv.source)
    run = backend.get_run(run_id)
    return f"mlflow-artifacts:/{run.experiment_id}/{run_id}/artifacts/{path}"


def get_download_uri(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    return {"artifact_uri": download_uri(backend, _version(backend, body))}


def set_model_version_tag(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    mv = _version(backend, body)
    value = body.get("value")
    backend.set_model_version_tag(
        mv.name, mv.version, str(require(body, "key")), "" if value is None else str(value)
    )
    return {}


def delete_model_version_tag(backend: LocalBackend, body: dict[str, Any]) -> dict[str, Any]:
    mv = _version(backend, body)
    write(
        backend, lifecycle.delete_model_version_tag, mv.name, mv.version, str(require(body, "key"))
    )
    return {}


ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "/registered-models/create"): create_registered_model,
    ("GET", "/registered-models/get"): get_registered_model,
    ("GET", "/registered-models/search"): search_registered_models,
    ("PATCH", "/registered-models/update"): update_registered_model,
    ("POST", "/registered-models/rename"): rename_registered_model,
    ("DELETE", "/registered-models/delete"): delete_registered_model,
    ("POST", "/registered-models/set-tag"): set_registered_model_tag,
    ("DELETE", "/registered-models/delete-tag"): delete_registered_model_tag,
    ("POST", "/registered-models/get-latest-versions"): get_latest_versions,
    ("GET", "/registered-models/get-latest-versions"): get_latest_versions,
    ("POST", "/registered-models/alias"): set_alias,
    ("DELETE", "/registered-models/alias"): delete_alias,
    ("GET", "/registered-models/alias"): get_by_alias,
    ("POST", "/model-versions/create"): create_model_version,
    ("GET", "/model-versions/get"): get_model_version,
    ("PATCH", "/model-versions/update"): update_model_version,
    ("DELETE", "/model-versions/delete"): delete_model_version,
    ("POST", "/model-versions/transition-stage"): transition_stage,
    ("GET", "/model-versions/search"): search_model_versions,
    ("GET", "/model-versions/get-download-uri"): get_download_uri,
    ("POST", "/model-versions/set-tag"): set_model_version_tag,
    ("DELETE", "/model-versions/delete-tag"): delete_model_version_tag,
}
ROUTES = guarded(ROUTES)
