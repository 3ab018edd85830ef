"""Deployment records: endpoints, their immutable revisions, routes and compile results."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["ROLES", "CompileResult", "Deployment", "Revision", "RouteSpec"]

#: Route roles. primary, canary and ab share the traffic by weight (summing to 100);
#: shadows get a copy of each request; the fallback answers when a route fails or is late.
ROLES = ("primary", "canary", "ab", "shadow", "fallback")
WEIGHTED_ROLES = ("primary", "canary", "ab")


@dataclass(frozen=True)
class RouteSpec:
    """One route of a revision: a model version (resolved at deploy time), role and weight.

    ``alias`` is the alias the version was resolved from (``champion``), if any; ``name`` is
    the route's name in the serving table (``primary``, ``canary``, ``a``, ``shadow`` ...).
    """

    model: str
    version: int
    role: str
    weight: float = 0.0
    alias: str | None = None
    name: str = ""

    @property
    def key(self) -> str:
        return f"{self.model}/{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RouteSpec:
        return cls(**data)


@dataclass(frozen=True)
class CompileResult:
    """How a model version is served: ``onnx`` (blob ``onnx_sha256``, parity passed) or
    ``native`` (with the ``reason``); ``pending`` when the deploy did not compile it."""

    model: str
    version: int
    status: str
    onnx_sha256: str | None = None
    parity: dict[str, Any] | None = None
    reason: str = ""
    manifest_sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CompileResult:
        return cls(**data)


@dataclass(frozen=True)
class Revision:
    """One immutable state of an endpoint's traffic."""

    id: str
    endpoint: str
    revision: int
    routes: list[RouteSpec]
    sticky: dict[str, Any]
    deadline_ms: int | None
    rollout_state: str
    reason: str
    parent_revision: int | None
    restored_from: int | None
    compiled: dict[str, CompileResult]
    created_by: str
    created_at: int

    def routes_by_role(self, role: str) -> list[RouteSpec]:
        return [r for r in self.routes if r.role == role]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["routes"] = [r.to_dict() for r in self.routes]
        data["compiled"] = {k: v.to_dict() for k, v in self.compiled.items()}
        return data


@dataclass(frozen=True)
class Deployment:
    """A named endpoint and its current revision (None before the first deploy);
    ``stopped``: who stopped it, when and why (``{stopped_by, stopped_at, reason}``) while
    it is stopped (conveyor.deployments.interventions)."""

    id: str
    name: str
    description: str
    current_revision: int
    created_by: str
    created_at: int
    updated_at: int
    current: Revision | None = field(default=None)
    stopped: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["current"] = None if self.current is None else self.current.to_dict()
        return data
