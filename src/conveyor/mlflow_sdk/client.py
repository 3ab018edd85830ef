"""``conveyor.MlflowClient``: MLflow's ``MlflowClient`` method names over Conveyor's
operation table (``conveyor.connect()``), for code written against MLflow.

Each method calls one or two operations of :class:`conveyor.client.Client`; records come
back under MLflow's field names (:mod:`conveyor.mlflow_sdk.entities`, ``Run.info`` /
``Run.data``). What Conveyor does differently — stages (use aliases), deletions (versions
and runs are immutable records), renames — raises ``ValidationFailed`` saying what to use
instead.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from conveyor.errors import NotFound, ValidationFailed
from conveyor.mlflow_sdk.entities import MlflowExperiment, MlflowModelVersion, MlflowRegisteredModel
from conveyor.tracking.entities import MetricPoint, Run
from conveyor.tracking.run_frame import check_view_type

__all__ = ["UNSUPPORTED", "MlflowClient"]

_IMMUTABLE = "Conveyor keeps {what} as an immutable, audited record"
#: MLflow client methods Conveyor does not offer, with what to use instead.
UNSUPPORTED = {
    "transition_model_version_stage": "model stages are replaced by aliases (as in MLflow 3): "
    "use set_registered_model_alias(name, 'champion', version)",
    "get_latest_versions": "stages are replaced by aliases: use get_model_version_by_alias(name, "
    "alias), or get_model_version(name, 'latest') for the newest version",
    "delete_registered_model": _IMMUTABLE.format(what="registered models and their versions")
    + "; remove its aliases with delete_registered_model_alias",
    "delete_model_version": _IMMUTABLE.format(what="model versions")
    + "; move aliases away from it with set_registered_model_alias",
    "rename_registered_model": "model names are permanent; register the versions under the new "
    "name with create_model_version(new_name, source=...)",
    "update_registered_model": "a registered model's description is set when it is created "
    "(create_registered_model(name, description=...)); version descriptions change with "
    "update_model_version",
    "set_registered_model_tag": "registered model tags are set at creation "
    "(create_registered_model(name, tags=...)); version tags with set_model_version_tag",
    "delete_registered_model_tag": "registered model tags are set at creation only",
    "delete_model_version_tag": "overwrite the tag with set_model_version_tag instead",
    "delete_run": _IMMUTABLE.format(what="runs"),
    "restore_run": "runs are never deleted, so there is nothing to restore",
    "delete_experiment": _IMMUTABLE.format(what="experiments"),
    "restore_experiment": "experiments are never deleted, so there is nothing to restore",
    "rename_experiment": "experiment names are permanent",
    "delete_tag": "run tags can be overwritten (set_tag) but not removed",
    "update_run": "end a run with set_terminated(run_id, status); run names are permanent",
}
_NAME_FILTER = re.compile(r"""^\s*name\s*(=|like|ilike)\s*(['"])(.*)\2\s*$""", re.IGNORECASE)


def _unsupported(name: str) -> Any:
    hint = UNSUPPORTED[name]

    def method(self: MlflowClient, *args: Any, **kwargs: Any) -> Any:
        raise ValidationFailed(f"MlflowClient.{name} is not supported by Conveyor: {hint}.")

    method.__name__ = name
    method.__doc__ = f"Not supported: {hint}."
    return method


def _key_value(item: Any, what: str) -> tuple[str, Any]:
    """(key, value) of an MLflow entity (``Param``, ``RunTag``), a dict or a pair."""
    if hasattr(item, "key") and hasattr(item, "value"):
        return item.key, item.value
    if isinstance(item, dict) and "key" in item:
        return item["key"], item.get("value")
    if isinstance(item, tuple | list) and len(item) == 2:
        return item[0], item[1]
    raise ValidationFailed(f"each {what} must have .key and .value (or be a (key, value) pair)")


class MlflowClient:
    """MLflow's tracking and registry client calls, served by Conveyor.

    ``tracking_uri`` / ``registry_uri`` are Conveyor URIs (a server URL or the embedded
    store when omitted), as for ``conveyor.connect``.
    """

    def __init__(self, tracking_uri: str | None = None, registry_uri: str | None = None) -> None:
        if registry_uri is not None and registry_uri != tracking_uri:
            raise ValidationFailed(
                "Conveyor keeps runs and the registry in one store: pass tracking_uri only"
            )
        from conveyor.backend import connect

        self._client = connect(tracking_uri)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise AttributeError(
            f"MlflowClient.{name} is not available in Conveyor; see docs/mlflow.md for the "
            "methods it offers, or use conveyor.connect() for Conveyor's own operations"
        )

    # -- experiments -----------------------------------------------------------------------
    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: dict[str, Any] | None = None,
    ) -> str:
        """Create an experiment; returns its id."""
        if artifact_location is not None:
            raise ValidationFailed(
                "artifact_location is not supported: Conveyor stores every artifact in its "
                "own content-addressed store (CONVEYOR_ARTIFACTS_URI)"
            )
        exp = self._client.create_experiment(
            name, tags={k: str(v) for k, v in (tags or {}).items()}
        )
        return str(exp.id)

    def get_experiment(self, experiment_id: str) -> MlflowExperiment:
        return MlflowExperiment.of(self._client.get_experiment(str(experiment_id)))

    def get_experiment_by_name(self, name: str) -> MlflowExperiment | None:
        """The experiment named ``name``, or None (as MLflow)."""
        try:
            return MlflowExperiment.of(self._client.get_experiment(name))
        except NotFound:
            return None

    def search_experiments(
        self,
        view_type: Any = None,
        max_results: int | None = None,
        filter_string: str | None = None,
    ) -> list[MlflowExperiment]:
        check_view_type(view_type)
        if filter_string:
            raise ValidationFailed(
                "search_experiments(filter_string=...) is not supported; list them all and "
                "filter in Python"
            )
        found = [MlflowExperiment.of(e) for e in self._client.list_experiments()]
        return found[:max_results] if max_results else found

    # -- runs ------------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: dict[str, Any] | None = None,
        run_name: str | None = None,
    ) -> Run:
        """Create a RUNNING run (log to it with log_metric/log_param, end it with
        set_terminated)."""
        tags = {k: str(v) for k, v in (tags or {}).items()}
        run: Run = self._client.create_run(
            str(experiment_id), name=run_name, tags=tags, start_time=start_time
        )
        return run

    def get_run(self, run_id: str) -> Run:
        run: Run = self._client.get_run(run_id)
        return run

    def search_runs(
        self,
        experiment_ids: list[str] | str,
        filter_string: str = "",
        run_view_type: Any = None,
        max_results: int = 1000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> list[Run]:
        """Runs of the experiments matching MLflow's filter grammar."""
        check_view_type(run_view_type)
        if page_token:
            raise ValidationFailed(
                "page_token is not supported here: pass a larger max_results (up to 50,000)"
            )
        if isinstance(experiment_ids, str):
            experiment_ids = [experiment_ids]
        runs: list[Run] = self._client.search_runs(
            [str(e) for e in experiment_ids], filter_string or None, order_by, max_results
        )
        return runs

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        **unsupported: Any,
    ) -> None:
        self._refuse(unsupported, "log_metric", "model_id, dataset_name and dataset_digest")
        self.log_batch(run_id, metrics=[(key, value, timestamp, step)])

    def log_param(self, run_id: str, key: str, value: Any) -> Any:
        self.log_batch(run_id, params=[(key, value)])
        return value

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        self.log_batch(run_id, tags=[(key, value)])

    def log_batch(
        self,
        run_id: str,
        metrics: Any = (),
        params: Any = (),
        tags: Any = (),
    ) -> None:
        """Log MLflow ``Metric``/``Param``/``RunTag`` entities (or tuples) in one call."""
        from conveyor._util import now_ms
        from conveyor.tracking.metric_rows import MetricRows

        rows = MetricRows()
        for m in metrics:
            if isinstance(m, tuple):
                key, value, timestamp, step = m
            else:
                key, value, timestamp, step = m.key, m.value, m.timestamp, m.step
            value = math.nan if value is None else value
            rows.append(key, value, step or 0, now_ms() if timestamp is None else timestamp)
        self._client.log_batch(
            run_id,
            metrics=rows if len(rows) else None,
            params=dict(_key_value(p, "param") for p in params) or None,
            tags=dict(_key_value(t, "tag") for t in tags) or None,
        )

    def set_terminated(
        self, run_id: str, status: str | None = None, end_time: int | None = None
    ) -> None:
        """End a run (FINISHED by default)."""
        self._client.end_run(run_id, status or "FINISHED", end_time)

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        points: list[MetricPoint] = self._client.get_metric_history(run_id, key)
        return points

    def log_artifact(self, run_id: str, local_path: str, artifact_path: str | None = None) -> None:
        from conveyor.tracking.service import check_artifact_path

        path = Path(local_path)
        if path.is_dir():
            self.log_artifacts(run_id, local_path, artifact_path)
            return
        dest = f"{artifact_path.strip('/')}/{path.name}" if artifact_path else path.name
        with open(path, "rb") as fh:
            self._client.upload_artifact(run_id, check_artifact_path(dest), fh)

    def log_artifacts(self, run_id: str, local_dir: str, artifact_path: str | None = None) -> None:
        root = Path(local_dir)
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            rel = file.relative_to(root).parent.as_posix()
            sub = "/".join(p for p in (artifact_path, rel) if p and p != ".")
            self.log_artifact(run_id, str(file), sub or None)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self._client.list_artifacts(run_id, path or "")
        return entries

    def download_artifacts(self, run_id: str, path: str, dst_path: str | None = None) -> str:
        """Download a run's artifact file or folder (each file verified by sha256) into
        ``dst_path`` (default: a new temporary folder); returns the local path."""
        import tempfile

        from conveyor.tracking.service import check_artifact_path

        path = check_artifact_path(path)
        root = Path(dst_path) if dst_path else Path(tempfile.mkdtemp(prefix="conveyor-"))
        entries = [
            e
            for e in self._client.list_artifacts(run_id, path)
            if e["path"] == path or e["path"].startswith(path + "/")
        ]
        if not entries:
            raise NotFound(f"run {run_id} has no artifact {path!r}")
        for entry in entries:
            self._client.download_blob(entry["sha256"], root / entry["path"])
        return str(root / path)

    # -- registry --------------------------------------------------------------------------
    def create_registered_model(
        self,
        name: str,
        tags: dict[str, Any] | None = None,
        description: str | None = None,
        **unsupported: Any,
    ) -> MlflowRegisteredModel:
        self._refuse(unsupported, "create_registered_model", "deployment_job_id")
        tags = {k: str(v) for k, v in (tags or {}).items()}
        model = self._client.create_model(name, description=description or "", tags=tags)
        return MlflowRegisteredModel.of(model)

    def get_registered_model(self, name: str) -> MlflowRegisteredModel:
        model = self._client.get_model(name)
        versions = self._client.list_model_versions(name)
        return MlflowRegisteredModel.of(model, versions[:1])

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> list[MlflowRegisteredModel]:
        """Models whose name matches ``name = 'x'`` or ``name LIKE 'x%'`` (or all)."""
        if order_by or page_token:
            raise ValidationFailed(
                "search_registered_models orders by name and returns one page: drop order_by "
                "and page_token, pass a larger max_results"
            )
        pattern, exact = self._name_pattern(filter_string)
        models = self._client.search_models(pattern, max_results)
        return [MlflowRegisteredModel.of(m) for m in models if exact is None or m.name == exact]

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        **unsupported: Any,
    ) -> MlflowModelVersion:
        """Register the model logged at ``source`` (``runs:/<run_id>/<name>``) as the next
        version of ``name`` (the registered model is created on first use)."""
        self._refuse(unsupported, "create_model_version", "await_creation_for and model_id")
        if not source.startswith("runs:/"):
            if run_id is None:
                raise ValidationFailed(
                    f"source {source!r} is not a runs:/<run_id>/<path> URI; Conveyor registers "
                    "models logged to a run: pass source='runs:/<run_id>/model'"
                )
            source = f"runs:/{run_id}/{source.rstrip('/').rsplit('/', 1)[-1]}"
        mv = self._client.register_model(
            source,
            name,
            description=description or "",
            tags={k: str(v) for k, v in (tags or {}).items()},
        )
        return MlflowModelVersion.of(mv)

    def get_model_version(self, name: str, version: str | int) -> MlflowModelVersion:
        return MlflowModelVersion.of(self._client.get_model_version(name, str(version)))

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> list[MlflowModelVersion]:
        """Versions of the model named in ``filter_string`` (``name = 'x'``), newest first."""
        match = _NAME_FILTER.match(filter_string or "")
        if not match or match.group(1) != "=" or order_by or page_token:
            raise ValidationFailed(
                "search_model_versions supports filter_string=\"name = '<model>'\" only "
                "(no order_by or page_token); e.g. search_model_versions(\"name = 'churn'\")"
            )
        versions = self._client.list_model_versions(match.group(3))
        return [MlflowModelVersion.of(v) for v in versions[:max_results]]

    def update_model_version(
        self, name: str, version: str | int, description: str | None = None
    ) -> MlflowModelVersion:
        if description is None:
            return self.get_model_version(name, version)
        mv = self._client.update_model_version(name, int(version), description=description)
        return MlflowModelVersion.of(mv)

    def set_model_version_tag(
        self,
        name: str,
        version: str | int | None = None,
        key: str | None = None,
        value: Any = None,
        stage: str | None = None,
    ) -> None:
        if stage is not None:
            raise ValidationFailed("stages are replaced by aliases: pass version=, not stage=")
        if version is None or key is None:
            raise ValidationFailed("set_model_version_tag needs name, version, key and value")
        self._client.set_model_version_tag(name, int(version), key, str(value))

    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        self._client.set_model_alias(name, alias, int(version))

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self._client.delete_model_alias(name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> MlflowModelVersion:
        model = self._client.get_model(name)
        if alias not in model.aliases:
            raise NotFound(f"registered model {name!r} has no alias {alias!r}")
        return MlflowModelVersion.of(self._client.get_model_version(name, alias))

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        """Where the version's files are: its ``runs:/`` source URI."""
        return str(self._client.get_model_version(name, str(version)).source)

    # -- helpers ---------------------------------------------------------------------------
    @staticmethod
    def _refuse(unsupported: dict[str, Any], method: str, names: str) -> None:
        given = sorted(k for k, v in unsupported.items() if v is not None and k != "synchronous")
        if given:
            raise ValidationFailed(
                f"MlflowClient.{method} does not support {', '.join(given)} in Conveyor "
                f"(MLflow-only arguments: {names}); drop them"
            )

    @staticmethod
    def _name_pattern(filter_string: str | None) -> tuple[str, str | None]:
        """A LIKE pattern for the store, and the exact name when the filter is ``=``."""
        if not filter_string:
            return "", None
        match = _NAME_FILTER.match(filter_string)
        if not match:
            raise ValidationFailed(
                f"filter {filter_string!r} is not supported; use \"name = 'x'\" or "
                "\"name LIKE 'x%'\""
            )
        op, value = match.group(1).lower(), match.group(3)
        return value, value if op == "=" else None


for _name in UNSUPPORTED:
    setattr(MlflowClient, _name, _unsupported(_name))
