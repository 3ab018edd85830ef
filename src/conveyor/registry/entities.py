"""Registry records: registered models and their immutable versions."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["APPROVAL_STATES", "Model", "ModelVersion"]

#: Approval states of a model version (governance issues drive the transitions).
APPROVAL_STATES = ("none", "pending", "approved", "rejected")


@dataclass
class Model:
    """A registered model: a name with versions and aliases."""

    id: str
    name: str
    description: str
    tags: dict[str, str]
    latest_version: int
    aliases: dict[str, int]
    created_at: int
    updated_at: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ModelVersion:
    """An immutable version of a model: its files (by sha256), flavor, signature, lineage."""

    id: str
    name: str
    version: int
    source: str
    run_id: str | None
    manifest_sha256: str
    flavor: str
    signature: dict[str, Any] | None
    files: list[dict[str, Any]]
    description: str
    tags: dict[str, str]
    approval: str
    created_by: str
    created_at: int
    aliases: list[str] = field(default_factory=list)
    reference_dataset_version_id: str | None = None

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["uri"] = self.uri
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelVersion:
        data = {k: v for k, v in data.items() if k != "uri"}
        return cls(**data)
