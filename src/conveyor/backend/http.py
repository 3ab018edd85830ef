"""``HttpBackend``: the same methods as ``LocalBackend``, served by a Conveyor server.

One persistent ``httpx.Client`` (keep-alive) per backend; bodies are orjson. Server errors
come back as the same typed exceptions (``error_from_payload``); an unreachable server is
``StoreUnavailable`` naming the URL. Artifacts stream both ways with bounded memory, and
downloaded bytes are verified against their sha256 here too.

Usage::

    backend = HttpBackend("http://127.0.0.1:5050")
    run = backend.create_run(backend.get_or_create_experiment("demo").id, params={"lr": 0.1})
"""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote

import httpx
import orjson

from conveyor.artifacts.store import write_atomically
from conveyor.client import Client
from conveyor.client.http import HttpTransport
from conveyor.client.wire import encode, json_dumps
from conveyor.errors import (
    IntegrityError,
    StoreUnavailable,
    ValidationFailed,
)
from conveyor.tracking.entities import MetricPoint, Run, decode_float
from conveyor.tracking.metric_rows import MetricRows

if TYPE_CHECKING:  # pandas and the data package load on first dataset call
    import pandas as pd

    from conveyor.data.entities import Dataset, DatasetVersion
    from conveyor.deployments.entities import Deployment, Revision

__all__ = ["SHA256_HEADER", "HttpBackend", "json_dumps"]

SHA256_HEADER = "X-Conveyor-Sha256"
SIZE_HEADER = "X-Conveyor-Size"
CHUNK = 1 << 20
_AUDIT_FILTERS = frozenset(
    {"object_type", "object_id", "action", "limit", "after_seq", "newest_first"}
)


def _known_fields(cls: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The items of ``data`` that are fields of the dataclass ``cls`` (newer servers may
    answer with more)."""
    fields = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in data.items() if k in fields}


def _dataset_version(data: dict[str, Any]) -> DatasetVersion:
    from conveyor.data.entities import DatasetVersion

    return DatasetVersion(**_known_fields(DatasetVersion, data))


def _revision(data: dict[str, Any]) -> Revision:
    from conveyor.deployments.entities import CompileResult, Revision, RouteSpec

    compiled = {}
    for key, result in data["compiled"].items():
        parity = result.get("parity")
        if parity:  # the server writes non-finite differences as "NaN" / "Infinity"
            parity = {k: _decode_number(v) for k, v in parity.items()}
        compiled[key] = CompileResult(**_known_fields(CompileResult, {**result, "parity": parity}))
    return Revision(
        **{
            **_known_fields(Revision, data),
            "routes": [RouteSpec(**_known_fields(RouteSpec, r)) for r in data["routes"]],
            "compiled": compiled,
        }
    )


def _deployment(data: dict[str, Any]) -> Deployment:
    from conveyor.deployments.entities import Deployment

    current = data.get("current")
    return Deployment(
        **{
            **_known_fields(Deployment, data),
            "current": None if current is None else _revision(current),
        }
    )


def _decode_number(value: Any) -> Any:
    return decode_float(value) if value in ("NaN", "Infinity", "-Infinity") else value


def _segment(value: Any, what: str) -> str:
    """One URL path segment (ids, aliases, versions), percent-encoded."""
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise ValidationFailed(f"{what} must be a non-empty string")
    return quote(str(value), safe="")


def _name(value: Any, what: str) -> str:
    """A name that may contain '/', sent as a path tail."""
    if not isinstance(value, str) or not value.strip("/"):
        raise ValidationFailed(f"{what} must be a non-empty string")
    return quote(value, safe="/")


class HttpBackend(Client):
    """The operation table over an ``HttpTransport``, plus the operations not yet declared
    in the table (runs, artifacts, datasets, deployments)."""

    transport: HttpTransport

    def __init__(
        self,
        url: str,
        token: str = "",
        timeout: float = 60.0,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(HttpTransport(url, token, timeout, transport=transport))
        self.url = self.transport.url
        self._client = self.transport.client
        self._call = self.transport.call
        self._unavailable = self.transport.unavailable
        self._raise_for = self.transport.raise_for

    def __enter__(self) -> HttpBackend:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

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
        body = {
            "experiment_id": experiment_id,
            "name": name,
            "parent_run_id": parent_run_id,
            "tags": tags,
            "params": params,
            "source": source,
            "start_time": start_time,
        }
        return Run.from_dict(self._call("POST", "/runs", body))

    def log_batch(
        self,
        run_id: str,
        *,
        metrics: MetricRows | None = None,
        params: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
    ) -> None:
        body = _batch_body(metrics, params, tags)
        self._call("POST", f"/runs/{_segment(run_id, 'run id')}/log-batch", body)

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
        body = {"status": status, "end_time": end_time, **_batch_body(metrics, params, tags)}
        self._call("POST", f"/runs/{_segment(run_id, 'run id')}/end", body)

    def get_run(self, run_id: str) -> Run:
        return Run.from_dict(self._call("GET", f"/runs/{_segment(run_id, 'run id')}"))

    def search_runs(
        self,
        experiment_ids: list[str] | None = None,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        max_results: int = 1000,
        offset: int = 0,
    ) -> list[Run]:
        body = {
            "experiment_ids": experiment_ids,
            "filter": filter_string,
            "order_by": order_by,
            "max_results": max_results,
            "offset": offset,
        }
        return [Run.from_dict(r) for r in self._call("POST", "/runs/search", body)["runs"]]

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        data = self._call(
            "GET", f"/runs/{_segment(run_id, 'run id')}/metric-history", params={"key": key}
        )
        return [
            MetricPoint(p["key"], decode_float(p["value"]), p["step"], p["timestamp"])
            for p in data["points"]
        ]

    # -- artifacts -----------------------------------------------------------------------
    def upload_artifact(
        self, run_id: str, path: str, stream: BinaryIO | Iterator[bytes]
    ) -> dict[str, Any]:
        """Stream ``stream`` (a binary file object or an iterator of bytes) to the server."""
        from conveyor.tracking.service import check_artifact_path

        path = check_artifact_path(path)
        chunks: Iterator[bytes]
        if hasattr(stream, "read"):
            reader: Any = stream
            chunks = iter(lambda: reader.read(CHUNK), b"")
        else:
            chunks = iter(stream)
        url = f"/runs/{_segment(run_id, 'run id')}/artifacts/{quote(path, safe='/')}"
        try:
            response = self._client.put(
                url, content=chunks, headers={"Content-Type": "application/octet-stream"}
            )
        except httpx.TransportError as exc:
            raise self._unavailable(exc) from exc
        self._raise_for(response)
        return dict(orjson.loads(response.content))

    def list_artifacts(self, run_id: str, prefix: str = "") -> list[dict[str, Any]]:
        data = self._call(
            "GET", f"/runs/{_segment(run_id, 'run id')}/artifacts", params={"prefix": prefix}
        )
        return list(data["artifacts"])

    def artifact_entry(self, run_id: str, path: str) -> dict[str, Any]:
        """The stored entry (sha256, size) of one run artifact file."""
        from conveyor.errors import NotFound
        from conveyor.tracking.service import check_artifact_path

        path = check_artifact_path(path)
        for entry in self.list_artifacts(run_id, path):
            if entry["path"] == path:
                return entry
        raise NotFound(f"run {run_id} has no artifact {path!r}")

    def iter_blob(self, sha256: str) -> Iterator[bytes]:
        """The bytes of a stored blob, verified against ``sha256`` as they arrive.

        Raises IntegrityError at the end when they do not hash back (as the local store
        does), StoreUnavailable when the download is cut short.
        """
        url = f"/blobs/{_segment(sha256, 'sha256')}"
        hasher, received, expected = hashlib.sha256(), 0, -1
        try:
            with self._client.stream("GET", url) as response:
                if response.status_code >= 400:
                    response.read()
                    self._raise_for(response)
                expected = int(response.headers.get(SIZE_HEADER, -1))
                try:
                    for chunk in response.iter_bytes():
                        hasher.update(chunk)
                        received += len(chunk)
                        yield chunk
                except httpx.TransportError:
                    # The server cuts the response short when the stored bytes fail their
                    # check at the end; with every byte here, the hash below says so.
                    if received != expected:
                        raise
        except httpx.TransportError as exc:
            if 0 <= received < expected or (expected >= 0 and received > expected):
                raise StoreUnavailable(
                    f"download of blob {sha256} from {self.url} was cut short after "
                    f"{received} of {expected} bytes; try again",
                    details={"sha256": sha256, "received": received, "expected": expected},
                ) from exc
            raise self._unavailable(exc) from exc
        actual = hasher.hexdigest()
        if actual != sha256:
            raise IntegrityError(
                f"artifact blob {sha256} is corrupted: its bytes hash to {actual}. "
                "Restore it from a backup or log the artifact again.",
                details={"expected": sha256, "actual": actual},
            )

    def download_blob(self, sha256: str, dest: Path) -> Path:
        """Write the verified blob to ``dest`` atomically; a corrupted blob leaves no file."""
        return write_atomically(dest, self.iter_blob(sha256))

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

        ``data`` (DataFrame, Arrow table, .parquet/.csv path) is converted to Parquet here
        and uploaded; the server hashes, checks and profiles it like the embedded backend.
        """
        from conveyor.data.checks import CheckSuite
        from conveyor.data.frames import to_table, write_parquet

        url = f"/datasets/{_name(name, 'dataset name')}/versions"
        table = to_table(data)
        form: dict[str, str] = {"description": description, "source": source}
        form["context"] = context
        if run_id is not None:
            form["run_id"] = run_id
        if expectations is not None:
            suite = (
                expectations
                if isinstance(expectations, CheckSuite)
                else CheckSuite.from_dict(expectations)
                if isinstance(expectations, dict)
                else CheckSuite(expectations)
            )
            form["expectations"] = json_dumps(suite.to_dict()).decode()
        with tempfile.TemporaryDirectory(prefix="conveyor-upload-") as tmp:
            path = write_parquet(table, Path(tmp) / "data.parquet")
            with open(path, "rb") as fh:
                files = {"data": ("data.parquet", fh, "application/vnd.apache.parquet")}
                try:
                    response = self._client.post(url, data=form, files=files)
                except httpx.TransportError as exc:
                    raise self._unavailable(exc) from exc
        self._raise_for(response)
        return _dataset_version(orjson.loads(response.content))

    def link_input(self, run_id: str, dataset_version_id: str, context: str = "training") -> None:
        body = {"dataset_version_id": dataset_version_id, "context": context}
        self._call("POST", f"/runs/{_segment(run_id, 'run id')}/inputs", body)

    def get_dataset_version(self, name: str, version: int | str | None = None) -> DatasetVersion:
        """A dataset version by number (latest when None)."""
        ref = "latest" if version is None else version
        url = f"/datasets/{_name(name, 'dataset name')}/versions/{_segment(ref, 'version')}"
        return _dataset_version(self._call("GET", url))

    def get_dataset_version_by_id(self, dataset_version_id: str) -> DatasetVersion:
        url = f"/dataset-versions/{_segment(dataset_version_id, 'dataset version id')}"
        return _dataset_version(self._call("GET", url))

    def list_datasets(self) -> list[Dataset]:
        from conveyor.data.entities import Dataset

        return [Dataset(**d) for d in self._call("GET", "/datasets")["datasets"]]

    def list_dataset_versions(self, name: str) -> list[DatasetVersion]:
        data = self._call("GET", f"/datasets/{_name(name, 'dataset name')}/versions")
        return [_dataset_version(v) for v in data["versions"]]

    def load_dataset(self, name: str, version: int | str | None = None) -> pd.DataFrame:
        """A dataset version's rows as a DataFrame, verified by sha256 on arrival."""
        import pandas as pd

        from conveyor.data.frames import read_parquet

        dv = self.get_dataset_version(name, version)
        frame = read_parquet(b"".join(self.iter_blob(dv.file_sha256))).to_pandas()
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
        """Write a new revision of ``endpoint`` on the server, which compiles the versions.

        ``validation_data`` travels as JSON records (missing values as null).
        """
        body = {
            "model": model,
            "canary": canary,
            "shadow": shadow,
            "ab": ab,
            "ab_key": ab_key,
            "fallback": fallback,
            "deadline_ms": deadline_ms,
            "description": description,
            "compile": compile,
            "validation_data": None if validation_data is None else encode(validation_data),
            "override_reason": override_reason,
        }
        url = f"/deployments/{_name(endpoint, 'endpoint name')}/revisions"
        return _revision(self._call("POST", url, body))

    def rollback(self, endpoint: str, *, to_revision: int | None = None) -> Revision:
        """Restore the previous revision of ``endpoint`` (or ``to_revision``) as a new one."""
        url = f"/deployments/{_name(endpoint, 'endpoint name')}/rollback"
        return _revision(self._call("POST", url, {"to_revision": to_revision}))

    def list_deployments(self) -> list[Deployment]:
        """Every endpoint, by name, with its current revision."""
        return [_deployment(d) for d in self._call("GET", "/deployments")["deployments"]]

    def get_deployment(self, endpoint: str) -> Deployment:
        """An endpoint with its current revision."""
        return _deployment(self._call("GET", f"/deployments/{_name(endpoint, 'endpoint name')}"))

    def list_revisions(self, endpoint: str) -> list[Revision]:
        """Every revision of an endpoint, newest first."""
        data = self._call("GET", f"/deployments/{_name(endpoint, 'endpoint name')}/revisions")
        return [_revision(r) for r in data["revisions"]]

    def get_revision(self, endpoint: str, revision: int | None = None) -> Revision:
        """One revision of an endpoint (default: the current one)."""
        ref = _segment("current" if revision is None else revision, "revision")
        url = f"/deployments/{_name(endpoint, 'endpoint name')}/revisions/{ref}"
        return _revision(self._call("GET", url))


def _batch_body(
    metrics: MetricRows | None, params: dict[str, Any] | None, tags: dict[str, Any] | None
) -> dict[str, Any]:
    """The JSON fields of a metrics/params/tags batch (absent parts left out)."""
    body: dict[str, Any] = {}
    if metrics is not None:
        try:
            body["metrics"] = metrics.to_wire()
        except TypeError:  # a non-number value: let validate() name the point
            metrics.validate()
            raise
    if params is not None:
        body["params"] = params
    if tags is not None:
        body["tags"] = tags
    return body
