"""The embedded backend: every operation runs the services against the stores directly.

The REST API serves this same object, so local mode and server mode run the same code;
``HttpBackend`` is the other transport with the same methods.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from conveyor.artifacts import ArtifactStore
from conveyor.client import Client
from conveyor.client.local import LocalTransport
from conveyor.config import Settings
from conveyor.errors import NotFound
from conveyor.governance.identity import Actor
from conveyor.store import MetadataStore
from conveyor.tracking import service as tracking
from conveyor.tracking.entities import MetricPoint, Run
from conveyor.tracking.metric_rows import MetricRows

if TYPE_CHECKING:
    import pandas as pd

    from conveyor.data.entities import Dataset, DatasetVersion
    from conveyor.deployments.entities import Deployment, Revision

__all__ = ["LocalBackend"]


class LocalBackend(Client):
    """The operation table over a ``LocalTransport``, plus the operations not yet declared
    in the table (runs, artifacts, datasets, deployments)."""

    transport: LocalTransport

    def __init__(
        self,
        meta: MetadataStore,
        artifacts: ArtifactStore,
        actor: Actor | None = None,
    ) -> None:
        super().__init__(LocalTransport(meta, artifacts, actor))

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> LocalBackend:
        """Open the stores named by the settings (embedded defaults under CONVEYOR_HOME)."""
        t = LocalTransport.from_settings(settings)
        return cls(t.meta, t.artifacts)

    @property
    def meta(self) -> MetadataStore:
        return self.transport.meta

    @property
    def artifacts(self) -> ArtifactStore:
        return self.transport.artifacts

    @property
    def actor(self) -> Actor:
        return self.transport.actor

    def as_actor(self, actor: Actor) -> LocalBackend:
        """The same stores acting as another identity (used per request by the server)."""
        return LocalBackend(self.meta, self.artifacts, actor)

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
    ) -> Run:
        with self.meta.write(self.actor) as uow:
            return tracking.create_run(
                uow,
                experiment_id,
                name=name,
                parent_run_id=parent_run_id,
                tags=tags,
                params=params,
                source=source,
                start_time=start_time,
            )

    def log_batch(
        self,
        run_id: str,
        *,
        metrics: MetricRows | None = None,
        params: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
    ) -> None:
        if metrics is not None:
            metrics.validate()
        with self.meta.write(self.actor) as uow:
            tracking.log_batch(uow, run_id, metric_rows=metrics, params=params, tags=tags)

    def end_run(
        self,
        run_id: str,
        status: str = "FINISHED",
        end_time: int | None = None,
        *,
        metrics: MetricRows | None = None,
        params: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
    ) -> None:
        """End a run; its last buffered metrics, params and tags commit in the same
        transaction (one round trip for the SDK's final flush)."""
        if metrics is not None:
            metrics.validate()
        with self.meta.write(self.actor) as uow:
            tracking.end_run(
                uow,
                run_id,
                status=status,
                end_time=end_time,
                metric_rows=metrics,
                params=params,
                tags=tags,
            )

    def get_run(self, run_id: str) -> Run:
        with self.meta.read() as conn:
            return tracking.get_run(conn, run_id)

    def search_runs(
        self,
        experiment_ids: list[str] | None = None,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        max_results: int = 1000,
        offset: int = 0,
    ) -> list[Run]:
        with self.meta.read() as conn:
            return tracking.search_runs(
                conn,
                experiment_ids,
                filter_string=filter_string,
                order_by=order_by,
                max_results=max_results,
                offset=offset,
            )

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        with self.meta.read() as conn:
            return tracking.get_metric_history(conn, run_id, key)

    # -- run artifacts -------------------------------------------------------------------
    def upload_artifact(
        self, run_id: str, path: str, stream: BinaryIO | Iterator[bytes]
    ) -> dict[str, Any]:
        """Store a stream as the run's artifact ``path``; returns path, sha256, size."""
        path = tracking.check_artifact_path(path)
        with self.meta.read() as conn:  # fail before storing bytes: unknown or ended run
            tracking.writable_run(conn, run_id, "artifacts", lock=False)
        info = self.artifacts.put_stream(stream)
        with self.meta.write(self.actor) as uow:
            tracking.record_artifact(uow, run_id, path, info.sha256, info.size)
        return {"path": path, "sha256": info.sha256, "size": info.size}

    def list_artifacts(self, run_id: str, prefix: str = "") -> list[dict[str, Any]]:
        with self.meta.read() as conn:
            return tracking.list_run_artifacts(conn, run_id, prefix)

    def artifact_entry(self, run_id: str, path: str) -> dict[str, Any]:
        """The stored entry (sha256, size) of one run artifact file."""
        path = tracking.check_artifact_path(path)
        for entry in self.list_artifacts(run_id, path):
            if entry["path"] == path:
                return entry
        raise NotFound(f"run {run_id} has no artifact {path!r}")

    def iter_blob(self, sha256: str) -> Iterator[bytes]:
        """The verified bytes of a stored blob."""
        return self.artifacts.iter_chunks(sha256)

    def download_blob(self, sha256: str, dest: Path) -> Path:
        return self.artifacts.download(sha256, dest)

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
    ) -> DatasetVersion:
        """Store ``data`` as a version of ``name`` (same content, same version).

        Failed checks are recorded on the version, never raised here; the SDK raises
        after the version is committed when asked to.
        """
        from conveyor.data import service as datasets

        return datasets.record_dataset_version(
            self.meta,
            self.artifacts,
            self.actor,
            name=name,
            data=data,
            description=description,
            source=source,
            expectations=expectations,
            run_id=run_id,
            context=context,
        )

    def link_input(self, run_id: str, dataset_version_id: str, context: str = "training") -> None:
        from conveyor.data import service as datasets

        with self.meta.write(self.actor) as uow:
            datasets.link_run_input(uow, run_id, dataset_version_id, context)

    def get_dataset_version(self, name: str, version: int | str | None = None) -> DatasetVersion:
        """A dataset version by number (latest when None)."""
        from conveyor.data import service as datasets

        with self.meta.read() as conn:
            return datasets.get_dataset_version(conn, name, version)

    def get_dataset_version_by_id(self, dataset_version_id: str) -> DatasetVersion:
        from conveyor.data import service as datasets

        with self.meta.read() as conn:
            return datasets.get_dataset_version_by_id(conn, dataset_version_id)

    def list_datasets(self) -> list[Dataset]:
        from conveyor.data import service as datasets

        with self.meta.read() as conn:
            return datasets.list_datasets(conn)

    def list_dataset_versions(self, name: str) -> list[DatasetVersion]:
        from conveyor.data import service as datasets

        with self.meta.read() as conn:
            return datasets.list_versions(conn, name)

    def load_dataset(self, name: str, version: int | str | None = None) -> pd.DataFrame:
        """A dataset version's rows as a DataFrame, verified by sha256."""
        import pandas as pd

        from conveyor.data import service as datasets

        frame = datasets.load_dataset_version(
            self.artifacts, self.get_dataset_version(name, version), as_pandas=True
        )
        assert isinstance(frame, pd.DataFrame)
        return frame

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
        """Resolve the routes, compile each version to ONNX (cached), write the revision.

        The same as :func:`conveyor.deployments.deploy_endpoint` on this backend: the revision
        and its audit events are written as this backend's actor.
        """
        from conveyor.deployments.compile import deploy_endpoint

        return deploy_endpoint(
            self,
            endpoint,
            model=model,
            canary=canary,
            shadow=shadow,
            ab=ab,
            ab_key=ab_key,
            fallback=fallback,
            deadline_ms=deadline_ms,
            description=description,
            compile=compile,
            validation_data=validation_data,
            override_reason=override_reason,
        )

    def rollback(self, endpoint: str, *, to_revision: int | None = None) -> Revision:
        """Restore the previous revision of ``endpoint`` (or ``to_revision``) as a new one."""
        from conveyor.deployments import service as deployments

        with self.meta.write(self.actor) as uow:
            return deployments.rollback(uow, endpoint, to_revision=to_revision)

    def list_deployments(self) -> list[Deployment]:
        """Every endpoint, by name, with its current revision."""
        from conveyor.deployments import service as deployments

        with self.meta.read() as conn:
            return deployments.list_deployments(conn)

    def get_deployment(self, endpoint: str) -> Deployment:
        """An endpoint with its current revision."""
        from conveyor.deployments import service as deployments

        with self.meta.read() as conn:
            return deployments.get_deployment(conn, endpoint)

    def list_revisions(self, endpoint: str) -> list[Revision]:
        """Every revision of an endpoint, newest first."""
        from conveyor.deployments import service as deployments

        with self.meta.read() as conn:
            return deployments.list_revisions(conn, endpoint)

    def get_revision(self, endpoint: str, revision: int | None = None) -> Revision:
        """One revision of an endpoint (default: the current one)."""
        from conveyor.deployments import service as deployments

        with self.meta.read() as conn:
            return deployments.get_revision(conn, endpoint, revision)
