"""Registry and experiment records under MLflow's field names (versions as strings).

They are views of Conveyor's own records (``conveyor.registry.entities``,
``conveyor.tracking.entities``), built by :class:`conveyor.MlflowClient`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conveyor.registry.entities import Model, ModelVersion
from conveyor.tracking.entities import Experiment

__all__ = ["MlflowExperiment", "MlflowModelVersion", "MlflowRegisteredModel"]


@dataclass(frozen=True)
class MlflowExperiment:
    """MLflow's ``Experiment``."""

    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    tags: dict[str, str]
    creation_time: int
    last_update_time: int

    @classmethod
    def of(cls, exp: Experiment) -> MlflowExperiment:
        return cls(
            experiment_id=exp.id,
            name=exp.name,
            artifact_location=f"conveyor:/experiments/{exp.id}",
            lifecycle_stage="active" if exp.lifecycle == "active" else "deleted",
            tags=dict(exp.tags),
            creation_time=exp.created_at,
            last_update_time=exp.updated_at,
        )


@dataclass(frozen=True)
class MlflowModelVersion:
    """MLflow's ``ModelVersion``: ``version`` is a string, stages are always ``"None"``."""

    name: str
    version: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str
    user_id: str
    source: str
    run_id: str | None
    tags: dict[str, str]
    aliases: list[str]
    current_stage: str = "None"
    status: str = "READY"
    status_message: str = ""
    run_link: str = ""
    native: ModelVersion | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, mv: ModelVersion) -> MlflowModelVersion:
        return cls(
            name=mv.name,
            version=str(mv.version),
            creation_timestamp=mv.created_at,
            last_updated_timestamp=mv.created_at,
            description=mv.description,
            user_id=mv.created_by,
            source=mv.source,
            run_id=mv.run_id,
            tags=dict(mv.tags),
            aliases=list(mv.aliases),
            native=mv,
        )


@dataclass(frozen=True)
class MlflowRegisteredModel:
    """MLflow's ``RegisteredModel``: ``aliases`` maps alias -> version string."""

    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str
    tags: dict[str, str]
    aliases: dict[str, str]
    latest_versions: list[MlflowModelVersion] = field(default_factory=list)

    @classmethod
    def of(cls, model: Model, latest: list[ModelVersion] | None = None) -> MlflowRegisteredModel:
        return cls(
            name=model.name,
            creation_timestamp=model.created_at,
            last_updated_timestamp=model.updated_at,
            description=model.description,
            tags=dict(model.tags),
            aliases={a: str(v) for a, v in model.aliases.items()},
            latest_versions=[MlflowModelVersion.of(v) for v in latest or []],
        )

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "aliases": self.aliases, "description": self.description}
