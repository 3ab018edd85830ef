"""What an MLflow source yields, whatever it reads (database, server, folder)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "ArtifactReader",
    "MlExperiment",
    "MlLoggedModel",
    "MlModelVersion",
    "MlRegisteredModel",
    "MlRun",
    "MlflowSource",
    "Point",
]

#: one metric point: key, value, timestamp (epoch ms), step
Point = tuple[str, float, int, int]


@dataclass(frozen=True)
class MlExperiment:
    id: str
    name: str
    artifact_location: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MlRun:
    id: str
    experiment_id: str
    name: str
    status: str
    start_time: int
    end_time: int | None
    artifact_uri: str
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    #: keys of the run's metrics, when the source needs them to fetch histories
    metric_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class MlLoggedModel:
    """An MLflow 3 logged model (``models:/m-<id>``): files outside the run's artifacts."""

    id: str
    name: str
    artifact_uri: str
    source_run_id: str | None


@dataclass(frozen=True)
class MlModelVersion:
    name: str
    version: int
    source: str
    run_id: str | None
    description: str
    tags: dict[str, str]
    current_stage: str
    storage_location: str | None = None


@dataclass(frozen=True)
class MlRegisteredModel:
    name: str
    description: str
    tags: dict[str, str]
    aliases: dict[str, int]


class ArtifactReader(Protocol):
    """Files under an MLflow artifact URI."""

    def list_files(self, uri: str) -> list[str]:
        """Relative paths of every file under ``uri`` (empty when there is none)."""

    def read(self, uri: str, rel: str) -> bytes:
        """The bytes of the file ``rel`` under ``uri``."""


class MlflowSource(Protocol):
    """An MLflow store to import (active objects only; deleted ones are not yielded)."""

    location: str

    @property
    def artifacts(self) -> ArtifactReader: ...

    def experiments(self) -> list[MlExperiment]: ...

    def runs(self, experiment_id: str) -> list[MlRun]:
        """The experiment's runs, oldest first (so parents come before children)."""

    def metric_history(self, run: MlRun) -> Iterator[Point]: ...

    def logged_models(self) -> list[MlLoggedModel]: ...

    def registered_models(self) -> list[MlRegisteredModel]: ...

    def model_versions(self, name: str) -> list[MlModelVersion]:
        """The model's versions, lowest number first."""

    def close(self) -> None: ...
