"""The client seam: every transport (embedded ``LocalBackend``, ``HttpBackend``) has these.

``conveyor.backend.connect()`` returns a ``Backend``; the SDK and CLI only use this
surface, so they run the same against the embedded store and a server. mypy checks both
transports against it (see the assignments at the end of ``conveyor/backend/__init__.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from conveyor.governance.audit import AuditEvent, ChainReport
from conveyor.registry.entities import Model, ModelVersion
from conveyor.tracking.entities import Experiment, MetricPoint, Run
from conveyor.tracking.metric_rows import MetricRows

if TYPE_CHECKING:
    import pandas as pd

    from conveyor.data.entities import Dataset, DatasetVersion
    from conveyor.deployments.entities import Deployment, Revision
    from conveyor.gates.report import GateReport
    from conveyor.gates.service import StoredPolicy

__all__ = ["Backend"]


class Backend(Protocol):
    """Tracking, artifacts, registry, datasets, deployments and audit — one interface, two
    transports."""

    @property
    def kind(self) -> str:
        """``"local"`` or ``"http"``."""
        ...

    @property
    def location(self) -> str:
        """Where the data lives (store URLs, or the server URL); for messages."""
        ...

    # -- experiments ---------------------------------------------------------------------
    def create_experiment(
        self, name: str, *, description: str = "", tags: dict[str, str] | None = None
    ) -> Experiment: ...

    def get_or_create_experiment(self, name: str) -> Experiment: ...

    def get_experiment(self, id_or_name: str) -> Experiment: ...

    def list_experiments(self) -> list[Experiment]: ...

    # -- runs ----------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        *,
        name: str | None = None,
        parent_run_id: str | None = None,
        tags: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        source: dict[str, Any] | None = None,
        start_time: int | None = None,
    ) -> Run: ...

    def log_batch(
        self,
        run_id: str,
        *,
        metrics: MetricRows | None = None,
        params: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
    ) -> None: ...

    def end_run(
        self,
        run_id: str,
        status: str = "FINISHED",
        end_time: int | None = None,
        *,
        metrics: MetricRows | None = None,
        params: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
    ) -> None: ...

    def get_run(self, run_id: str) -> Run: ...

    def search_runs(
        self,
        experiment_ids: list[str] | None = None,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        max_results: int = 1000,
        offset: int = 0,
    ) -> list[Run]: ...

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]: ...

    # -- artifacts -----------------------------------------------------------------------
    def upload_artifact(
        self, run_id: str, path: str, stream: BinaryIO | Iterator[bytes]
    ) -> dict[str, Any]: ...

    def list_artifacts(self, run_id: str, prefix: str = "") -> list[dict[str, Any]]: ...

    def artifact_entry(self, run_id: str, path: str) -> dict[str, Any]: ...

    def iter_blob(self, sha256: str) -> Iterator[bytes]: ...

    def download_blob(self, sha256: str, dest: Path) -> Path: ...

    # -- registry ------------------------------------------------------------------------
    def register_model(
        self,
        name: str,
        source: str,
        *,
        description: str = "",
        tags: dict[str, str] | None = None,
    ) -> ModelVersion: ...

    def create_model(
        self, name: str, *, description: str = "", tags: dict[str, str] | None = None
    ) -> Model: ...

    def get_model(self, name: str) -> Model: ...

    def search_models(self, name_like: str = "", max_results: int = 1000) -> list[Model]: ...

    def get_model_version(self, name: str, ref: str | int) -> ModelVersion: ...

    def list_model_versions(self, name: str) -> list[ModelVersion]: ...

    def set_model_alias(self, name: str, alias: str, version: int | str) -> ModelVersion: ...

    def delete_model_alias(self, name: str, alias: str) -> None: ...

    def set_model_version_tag(
        self, name: str, version: int | str, key: str, value: str
    ) -> ModelVersion: ...

    def update_model_version(
        self, name: str, version: int | str, *, description: str
    ) -> ModelVersion: ...

    # -- datasets ------------------------------------------------------------------------
    def log_dataset(
        self,
        name: str,
        data: Any,
        *,
        description: str = "",
        source: str = "",
        expectations: Any = None,
        run_id: str | None = None,
        context: str = "training",
    ) -> DatasetVersion: ...

    def link_input(
        self, run_id: str, dataset_version_id: str, context: str = "training"
    ) -> None: ...

    def get_dataset_version(
        self, name: str, version: int | str | None = None
    ) -> DatasetVersion: ...

    def get_dataset_version_by_id(self, dataset_version_id: str) -> DatasetVersion: ...

    def list_datasets(self) -> list[Dataset]: ...

    def list_dataset_versions(self, name: str) -> list[DatasetVersion]: ...

    def load_dataset(self, name: str, version: int | str | None = None) -> pd.DataFrame: ...

    # -- deployments ---------------------------------------------------------------------
    def deploy(
        self,
        endpoint: str,
        *,
        model: str | None = None,
        canary: str | Sequence[str] | None = None,
        shadow: str | Sequence[str] | None = None,
        ab: str | Sequence[str] | None = None,
        ab_key: str | None = None,
        fallback: str | None = None,
        deadline_ms: int | None = None,
        description: str = "",
        compile: bool = True,
        validation_data: pd.DataFrame | None = None,
        override_reason: str | None = None,
    ) -> Revision:
        """Write a new revision of ``endpoint`` (see ``conveyor.deployments.deploy_endpoint``);
        model versions are compiled to ONNX where the store is (the server, remotely)."""
        ...

    def rollback(self, endpoint: str, *, to_revision: int | None = None) -> Revision:
        """Restore the previous revision (or ``to_revision``) as a new revision."""
        ...

    def list_deployments(self) -> list[Deployment]: ...

    def get_deployment(self, endpoint: str) -> Deployment: ...

    def list_revisions(self, endpoint: str) -> list[Revision]: ...

    def get_revision(self, endpoint: str, revision: int | None = None) -> Revision: ...

    # -- gates ---------------------------------------------------------------------------
    def set_gate_policy(
        self, model: str, policy: str | dict[str, Any], *, source: str = "policy"
    ) -> StoredPolicy: ...

    def get_gate_policy(self, model: str, version: int | None = None) -> StoredPolicy: ...

    def run_gates(self, model: str, version: int | str) -> GateReport: ...

    def get_gate_report(self, model: str, version: int | str) -> GateReport: ...

    # -- audit ---------------------------------------------------------------------------
    def list_audit_events(
        self,
        *,
        object_type: str | None = None,
        object_id: str | None = None,
        action: str | None = None,
        limit: int = 100,
        after_seq: int = 0,
        newest_first: bool = False,
    ) -> list[AuditEvent]: ...

    def verify_audit_chain(self, batch: int = 10_000) -> ChainReport: ...
