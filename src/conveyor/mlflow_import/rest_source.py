"""Reading an MLflow tracking server through its REST API (``/api/2.0/mlflow/...``).

Pages through experiments, runs, metric histories, logged models, registered models and
versions; artifacts come through the server's artifact proxy (``mlflow-artifacts:/``) or,
for servers that record local paths, from those folders. Only httpx is needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from conveyor.errors import ConveyorError, NotFound, ValidationFailed
from conveyor.mlflow_import.artifacts import ProxyArtifacts
from conveyor.mlflow_import.records import (
    MlExperiment,
    MlLoggedModel,
    MlModelVersion,
    MlRegisteredModel,
    MlRun,
    Point,
)
from conveyor.tracking.entities import decode_float

__all__ = ["RestSource"]

_API = "/api/2.0/mlflow"
_PAGE = 1000


def _kv(items: list[dict[str, Any]] | None) -> dict[str, str]:
    return {i["key"]: str(i.get("value", "")) for i in items or []}


class RestSource:
    """An MLflow tracking server at ``url``."""

    def __init__(self, url: str, artifacts_root: Path | None, token: str | None = None) -> None:
        self.location = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=self.location, headers=headers, timeout=60)
        self.artifacts = ProxyArtifacts(self.http, artifacts_root)
        try:
            self._call("GET", "/experiments/search", params={"max_results": 1})
        except httpx.HTTPError as exc:
            self.http.close()
            raise ValidationFailed(f"cannot reach an MLflow server at {url}: {exc}") from None

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        answer = self.http.request(method, _API + path, **kwargs)
        if answer.status_code >= 400:
            try:
                body = answer.json()
            except ValueError:
                body = {"message": answer.text[:200]}
            error = NotFound if answer.status_code == 404 else ConveyorError
            raise error(
                f"MLflow server {self.location} answered {method} {path} with "
                f"{answer.status_code}: {body.get('error_code', '')} {body.get('message', '')}"
            )
        data: dict[str, Any] = answer.json()
        return data

    def _pages(self, method: str, path: str, key: str, **body: Any) -> Iterator[dict[str, Any]]:
        token = None
        while True:
            args = {**body, **({"page_token": token} if token else {})}
            if method == "GET":
                data = self._call(method, path, params=args)
            else:
                data = self._call(method, path, json=args)
            yield from data.get(key, [])
            token = data.get("next_page_token")
            if not token:
                return

    def experiments(self) -> list[MlExperiment]:
        found = self._pages(
            "POST", "/experiments/search", "experiments", max_results=_PAGE, view_type="ACTIVE_ONLY"
        )
        exps = [
            MlExperiment(
                e["experiment_id"], e["name"], e.get("artifact_location", ""), _kv(e.get("tags"))
            )
            for e in found
        ]
        return sorted(exps, key=lambda e: (len(e.id), e.id))

    def runs(self, experiment_id: str) -> list[MlRun]:
        found = self._pages(
            "POST",
            "/runs/search",
            "runs",
            experiment_ids=[experiment_id],
            max_results=_PAGE,
            run_view_type="ACTIVE_ONLY",
            order_by=["attributes.start_time ASC"],
        )
        runs = []
        for r in found:
            info, data = r["info"], r.get("data", {})
            runs.append(
                MlRun(
                    id=info["run_id"],
                    experiment_id=experiment_id,
                    name=info.get("run_name", ""),
                    status=info.get("status", "FINISHED"),
                    start_time=int(info.get("start_time", 0)),
                    end_time=int(info["end_time"]) if info.get("end_time") else None,
                    artifact_uri=info.get("artifact_uri", ""),
                    params=_kv(data.get("params")),
                    tags=_kv(data.get("tags")),
                    metric_keys=tuple(m["key"] for m in data.get("metrics", [])),
                )
            )
        return runs

    def metric_history(self, run: MlRun) -> Iterator[Point]:
        for key in run.metric_keys:
            for m in self._pages(
                "GET",
                "/metrics/get-history",
                "metrics",
                run_id=run.id,
                metric_key=key,
                max_results=25_000,
            ):
                value = decode_float(m.get("value"))
                yield key, value, int(m.get("timestamp", 0)), int(m.get("step", 0))

    def logged_models(self) -> list[MlLoggedModel]:
        ids = [e.id for e in self.experiments()]
        if not ids:
            return []
        try:
            found = list(
                self._pages(
                    "POST", "/logged-models/search", "models", experiment_ids=ids, max_results=100
                )
            )
        except NotFound:  # an MLflow 2 server has no logged models
            return []
        return [
            MlLoggedModel(
                m["info"]["model_id"],
                m["info"].get("name", "model"),
                m["info"].get("artifact_uri", ""),
                m["info"].get("source_run_id"),
            )
            for m in found
        ]

    def registered_models(self) -> list[MlRegisteredModel]:
        found = self._pages(
            "GET", "/registered-models/search", "registered_models", max_results=_PAGE
        )
        return [
            MlRegisteredModel(
                m["name"],
                m.get("description", ""),
                _kv(m.get("tags")),
                {a["alias"]: int(a["version"]) for a in m.get("aliases", [])},
            )
            for m in found
        ]

    def model_versions(self, name: str) -> list[MlModelVersion]:
        quoted = name.replace("'", "\\'")
        found = self._pages(
            "GET",
            "/model-versions/search",
            "model_versions",
            filter=f"name='{quoted}'",
            max_results=_PAGE,
        )
        versions = [
            MlModelVersion(
                name=name,
                version=int(v["version"]),
                source=v.get("source", ""),
                run_id=v.get("run_id") or None,
                description=v.get("description", ""),
                tags=_kv(v.get("tags")),
                current_stage=v.get("current_stage", "None"),
                storage_location=v.get("storage_location"),
            )
            for v in found
        ]
        return sorted(versions, key=lambda v: v.version)
