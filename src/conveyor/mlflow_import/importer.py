"""The copy: MLflow experiments, runs, artifacts, models, versions and aliases → Conveyor.

Everything is written through the operation table (``conveyor.connect()``: the embedded
store or a server), so imports are audited like any other write. Each imported object
records its MLflow id, which is what makes a second import copy nothing twice:

- experiment: matched by name; created with the tag ``conveyor.import.mlflow_id``;
- run: the tag ``conveyor.import.mlflow_id`` is written *with the run's end* (one
  transaction), so a run whose import was interrupted never counts as imported: the next
  import ends it KILLED (tag ``conveyor.import.interrupted``) and imports the run again;
- model version: the tag ``conveyor.import.mlflow_version``;
- registered model: matched by name; aliases are set when they differ.

A run keeps its MLflow status, start and end time, params, tags (``mlflow.user`` names the
original user) and every metric point. MLflow model folders get a Conveyor manifest
(:mod:`conveyor.mlflow_import.models`) so their versions register; MLflow 3 logged models
(``models:/m-...``) are copied into their source run's artifacts under their name.
"""

from __future__ import annotations

import functools
import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conveyor._util import check_name
from conveyor.errors import ConveyorError, NotFound, ValidationFailed
from conveyor.mlflow_import.models import MLMODEL, conveyor_manifest
from conveyor.mlflow_import.records import (
    MlExperiment,
    MlflowSource,
    MlLoggedModel,
    MlModelVersion,
    MlRegisteredModel,
    MlRun,
)
from conveyor.models.manifest import MANIFEST_NAME
from conveyor.tracking.entities import RUN_STATUSES
from conveyor.tracking.metric_rows import MetricRows
from conveyor.tracking.validation import MAX_PARAM_LENGTH, check_point

__all__ = ["ID_TAG", "STARTED_TAG", "VERSION_TAG", "ImportSummary", "import_mlflow"]

ID_TAG = "conveyor.import.mlflow_id"
STARTED_TAG = "conveyor.import.started"
VERSION_TAG = "conveyor.import.mlflow_version"
_MODEL_TAG = "conveyor.import.model."  # + MLflow model id -> artifact path in the run
_CHUNK = 50_000
_TERMINAL = ("FINISHED", "FAILED", "KILLED")

#: progress(stage, done, total): called as each object is imported
Progress = Callable[[str, int, int], None]


@dataclass
class ImportSummary:
    """What an import did: counts per kind (``imported`` and ``existing``) and notes on
    everything skipped or changed, with the reason."""

    source: str
    imported: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    existing: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "imported": dict(self.imported),
            "existing": dict(self.existing),
            "notes": list(self.notes),
        }


def _read_in(reader: Any, uri: str, folder: str, rel: str) -> bytes:
    data: bytes = reader.read(uri, f"{folder}/{rel}")
    return data


class _Importer:
    def __init__(self, source: MlflowSource, client: Any, progress: Progress | None) -> None:
        self.source = source
        self.client = client
        self.progress = progress or (lambda stage, done, total: None)
        self.summary = ImportSummary(source.location)
        #: MLflow run id -> Conveyor run id (already imported or imported now)
        self.run_ids: dict[str, str] = {}
        #: MLflow model reference (models:/m-.., runs:/<id>/path) -> Conveyor runs:/ URI
        self.model_uris: dict[str, str] = {}

    def note(self, text: str) -> None:
        self.summary.notes.append(text)

    # -- keys and values ----------------------------------------------------------------
    def _clean(self, values: dict[str, str], what: str, owner: str) -> dict[str, str]:
        """The entries Conveyor accepts; the others are noted with the reason."""
        out = {}
        for key, value in values.items():
            try:
                check_name(key, f"{what} key")
            except ValidationFailed:
                self.note(f"{owner}: skipped {what} {key!r} (key not allowed in Conveyor)")
                continue
            if len(value) > MAX_PARAM_LENGTH:
                self.note(
                    f"{owner}: skipped {what} {key!r} ({len(value)} characters, over "
                    f"Conveyor's {MAX_PARAM_LENGTH})"
                )
                continue
            out[key] = value
        return out

    # -- experiments --------------------------------------------------------------------
    def experiment(self, exp: MlExperiment) -> str:
        try:
            found = self.client.get_experiment(exp.name)
            self.summary.existing["experiments"] += 1
            return str(found.id)
        except NotFound:
            pass
        tags = self._clean(exp.tags, "tag", f"experiment {exp.name!r}")
        created = self.client.create_experiment(
            exp.name,
            description=tags.get("mlflow.note.content", ""),
            tags={**tags, ID_TAG: exp.id},
        )
        self.summary.imported["experiments"] += 1
        return str(created.id)

    def _imported_runs(self, experiment_id: str) -> None:
        """Remember runs imported before; end the ones an interrupted import left open."""
        for run in self.client.search_runs(
            [experiment_id], f"tags.`{STARTED_TAG}` LIKE '%'", None, 50_000
        ):
            mlflow_id = run.tags.get(ID_TAG)
            if mlflow_id:
                self.run_ids[mlflow_id] = run.id
                for key, path in run.tags.items():
                    if key.startswith(_MODEL_TAG):
                        self.model_uris[f"models:/{key[len(_MODEL_TAG) :]}"] = (
                            f"runs:/{run.id}/{path}"
                        )
            elif run.status == "RUNNING":
                self.client.end_run(
                    run.id, "KILLED", None, tags={"conveyor.import.interrupted": "true"}
                )
                self.note(
                    f"run {run.id}: an earlier import of MLflow run {run.tags[STARTED_TAG]} "
                    "was interrupted; ended it KILLED and imported the run again"
                )

    # -- runs ---------------------------------------------------------------------------
    def run(self, run: MlRun, experiment_id: str, models: list[MlLoggedModel]) -> None:
        if run.id in self.run_ids:
            self.summary.existing["runs"] += 1
            return
        owner = f"MLflow run {run.id}"
        tags = self._clean(run.tags, "tag", owner)
        params = self._clean(run.params, "param", owner)
        name: str | None = run.name
        try:
            check_name(name, "run name")
        except ValidationFailed:
            name = None
        parent = self.run_ids.get(run.tags.get("mlflow.parentRunId", ""))
        created = self.client.create_run(
            experiment_id,
            name=name,
            parent_run_id=parent,
            tags={**tags, STARTED_TAG: run.id},
            params=params,
            source={"mlflow": {"run_id": run.id, "tracking": self.source.location}},
            start_time=run.start_time,
        )
        self._metrics(run, created.id)
        model_tags = self._artifacts(run, created.id, models)
        final = {ID_TAG: run.id, **model_tags}
        status = run.status if run.status in RUN_STATUSES else "FINISHED"
        if status in _TERMINAL:
            self.client.end_run(created.id, status, run.end_time, tags=final)
        else:
            self.client.log_batch(created.id, tags=final)
            self.note(f"{owner} was {status} in MLflow; it stays {status} in Conveyor")
        self.run_ids[run.id] = created.id
        self.summary.imported["runs"] += 1
        self.summary.imported["params"] += len(params)
        self.summary.imported["tags"] += len(tags)

    def _metrics(self, run: MlRun, run_id: str) -> None:
        rows = MetricRows()
        bad: set[str] = set()
        for key, value, timestamp, step in self.source.metric_history(run):
            try:
                check_name(key, "metric key")
                check_point(key, value, step, timestamp)
            except ValidationFailed as exc:
                if key not in bad:
                    self.note(f"MLflow run {run.id}: skipped points of metric {key!r} ({exc})")
                bad.add(key)
                continue
            rows.append(key, value, step, timestamp)
            if len(rows) >= _CHUNK:
                self.client.log_batch(run_id, metrics=rows)
                self.summary.imported["metric points"] += len(rows)
                rows = MetricRows()
        if len(rows):
            self.client.log_batch(run_id, metrics=rows)
            self.summary.imported["metric points"] += len(rows)

    def _upload(self, run_id: str, path: str, data: bytes) -> None:
        self.client.upload_artifact(run_id, path, io.BytesIO(data))
        self.summary.imported["artifact files"] += 1
        self.summary.imported["artifact bytes"] += len(data)

    def _artifacts(self, run: MlRun, run_id: str, models: list[MlLoggedModel]) -> dict[str, str]:
        """Copy the run's artifacts and its MLflow 3 logged models; add manifests to model
        folders. Returns the tags recording where each logged model went."""
        reader = self.source.artifacts
        files = reader.list_files(run.artifact_uri) if run.artifact_uri else []
        for rel in files:
            self._upload(run_id, rel, reader.read(run.artifact_uri, rel))
        for folder in sorted(
            {f.rpartition("/")[0] for f in files if f.rpartition("/")[2] == MLMODEL} - {""}
        ):
            inner = [f[len(folder) + 1 :] for f in files if f.startswith(folder + "/")]
            uri = self._add_manifest(
                run_id, folder, inner, functools.partial(_read_in, reader, run.artifact_uri, folder)
            )
            if uri:
                self.model_uris[f"runs:/{run.id}/{folder}"] = uri
        taken = {f.split("/")[0] for f in files}
        tags = {}
        for model in models:
            path = model.name if model.name not in taken else f"models/{model.id}"
            taken.add(path.split("/")[0])
            inner = reader.list_files(model.artifact_uri)
            for rel in inner:
                self._upload(run_id, f"{path}/{rel}", reader.read(model.artifact_uri, rel))
            self.summary.imported["logged models"] += 1
            uri = self._add_manifest(
                run_id, path, inner, functools.partial(reader.read, model.artifact_uri)
            )
            tags[_MODEL_TAG + model.id] = path
            if uri:
                self.model_uris[f"models:/{model.id}"] = uri
        return tags

    def _add_manifest(
        self, run_id: str, folder: str, files: list[str], read: Callable[[str], bytes]
    ) -> str | None:
        if MANIFEST_NAME in files:  # already a Conveyor package
            return f"runs:/{run_id}/{folder}"
        manifest, reason = conveyor_manifest(files, read)
        if manifest is None:
            self.note(
                f"run {run_id}: the MLflow model at {folder!r} was copied as files but "
                f"cannot be registered: {reason}"
            )
            return None
        data = manifest.to_bytes()
        self.client.upload_artifact(run_id, f"{folder}/{MANIFEST_NAME}", io.BytesIO(data))
        if manifest.flavor == "mlflow_pickle":
            self.note(
                f"run {run_id}: the MLflow model at {folder!r} is stored with "
                f"{manifest.flavor_options.get('format')}; it loads only with pickle allowed "
                "(allow_pickle=True or CONVEYOR_ALLOW_PICKLE=1) and deploys only once an admin "
                "trusts it (conveyor deploy ... --trust-pickle)"
            )
        return f"runs:/{run_id}/{folder}"

    # -- registry -----------------------------------------------------------------------
    def _version_uri(self, mv: MlModelVersion) -> str | None:
        if mv.source in self.model_uris:
            return self.model_uris[mv.source]
        if mv.source.startswith("runs:/"):
            run_id, _, path = mv.source[len("runs:/") :].partition("/")
            known = self.model_uris.get(f"runs:/{run_id}/{path.strip('/')}")
            if known:
                return known
            if run_id in self.run_ids:
                return f"runs:/{self.run_ids[run_id]}/{path.strip('/')}"
        return None

    def registered_model(self, model: MlRegisteredModel) -> None:
        try:
            self.client.get_model(model.name)
            self.summary.existing["registered models"] += 1
        except NotFound:
            tags = self._clean(model.tags, "tag", f"registered model {model.name!r}")
            self.client.create_model(model.name, description=model.description, tags=tags)
            self.summary.imported["registered models"] += 1
        done = {
            int(v.tags[VERSION_TAG]): v.version
            for v in self.client.list_model_versions(model.name)
            if VERSION_TAG in v.tags
        }
        for mv in self.source.model_versions(model.name):
            if mv.version in done:
                self.summary.existing["model versions"] += 1
                continue
            self._version(mv, done)
        for alias, version in sorted(model.aliases.items()):
            self._alias(model.name, alias, version, done)

    def _version(self, mv: MlModelVersion, done: dict[int, int]) -> None:
        label = f"MLflow model {mv.name!r} version {mv.version}"
        uri = self._version_uri(mv)
        if uri is None:
            self.note(
                f"{label}: skipped (its model files at {mv.source} were not imported "
                "or cannot be registered)"
            )
            return
        tags = self._clean(mv.tags, "tag", label)
        tags[VERSION_TAG] = str(mv.version)
        if mv.current_stage not in ("None", ""):
            tags["mlflow.current_stage"] = mv.current_stage
        try:
            created = self.client.register_model(
                uri, mv.name, description=mv.description, tags=tags
            )
        except ConveyorError as exc:
            self.note(f"{label}: not registered: {exc}")
            return
        done[mv.version] = created.version
        self.summary.imported["model versions"] += 1
        if created.version != mv.version:
            self.note(
                f"{label} is Conveyor version {created.version} (Conveyor numbers "
                "versions without gaps); the tag conveyor.import.mlflow_version keeps "
                "the MLflow number"
            )

    def _alias(self, name: str, alias: str, version: int, done: dict[int, int]) -> None:
        target = done.get(version)
        if target is None:
            self.note(
                f"alias {alias!r} of {name!r}: skipped (MLflow version {version} was not imported)"
            )
            return
        if self.client.get_model(name).aliases.get(alias) == target:
            self.summary.existing["aliases"] += 1
            return
        try:
            self.client.set_model_alias(name, alias, target)
        except ConveyorError as exc:  # e.g. a gate policy protects the alias
            self.note(f"alias {alias!r} of {name!r}: not set: {exc}")
            return
        self.summary.imported["aliases"] += 1


def import_mlflow(
    source: MlflowSource, client: Any | None = None, progress: Progress | None = None
) -> ImportSummary:
    """Copy everything in ``source`` into Conveyor (``client``: ``conveyor.connect()`` by
    default); safe to run again — objects imported before are counted as existing."""
    if client is None:
        from conveyor.backend import connect

        client = connect()
    job = _Importer(source, client, progress)
    by_run: dict[str, list[MlLoggedModel]] = defaultdict(list)
    for logged in source.logged_models():
        if logged.source_run_id:
            by_run[logged.source_run_id].append(logged)
    for exp in source.experiments():
        experiment_id = job.experiment(exp)
        job._imported_runs(experiment_id)
        runs = source.runs(exp.id)
        for j, run in enumerate(runs):
            job.progress(f"experiment {exp.name}", j, len(runs))
            job.run(run, experiment_id, by_run.get(run.id, []))
        job.progress(f"experiment {exp.name}", len(runs), len(runs))
    models = source.registered_models()
    for k, model in enumerate(models):
        job.progress("registered models", k, len(models))
        job.registered_model(model)
    job.progress("registered models", len(models), len(models))
    return job.summary
