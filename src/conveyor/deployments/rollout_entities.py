"""Rollout records: the configuration, the persisted state and each decision."""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from typing import Any

from conveyor.deployments.rollout_analysis import Thresholds
from conveyor.errors import ValidationFailed

__all__ = ["ACTIVE", "DEFAULT_STEPS", "ENDED", "Decision", "Rollout", "RolloutConfig"]

#: pending → progressing(step k) → paused → promoted | rolled_back | aborted
ACTIVE = ("pending", "progressing", "paused")
ENDED = ("promoted", "rolled_back", "aborted")
DEFAULT_STEPS = (10.0, 25.0, 50.0, 100.0)


def parse_steps(steps: str | list[float] | tuple[float, ...] | None) -> tuple[float, ...]:
    """``"10,25,50,100"`` or a list of candidate weights; increasing, in (0, 100], ending
    at 100 (appended when missing: the last step is promotion)."""
    if steps is None:
        return DEFAULT_STEPS
    try:
        values = [float(s) for s in (steps.split(",") if isinstance(steps, str) else steps)]
    except (TypeError, ValueError):
        raise ValidationFailed(
            f"bad steps {steps!r}: give candidate weights in percent, e.g. 10,25,50,100"
        ) from None
    if not values or any(not 0 < v <= 100 for v in values):
        raise ValidationFailed(f"bad steps {steps!r}: every weight must be in (0, 100]")
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise ValidationFailed(f"bad steps {steps!r}: weights must increase, e.g. 10,25,50,100")
    if values[-1] != 100:
        values.append(100.0)
    return tuple(values)


@dataclass(frozen=True)
class RolloutConfig:
    """How a rollout moves: candidate weights, time per step, how long a step may wait for
    data, the thresholds of the analysis, the alias promotion sets, and whether promotion
    waits for a human (``require_approval``); ``value_matrix`` adds the business-value
    check (a :class:`conveyor.monitoring.business.ValueMatrix` as a dict)."""

    steps: tuple[float, ...] = DEFAULT_STEPS
    interval_s: float = 600.0
    max_hold_s: float = 3600.0
    alias: str = "champion"
    require_approval: bool = False
    thresholds: Thresholds = field(default_factory=Thresholds)
    value_matrix: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["steps"] = list(self.steps)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RolloutConfig:
        data = dict(data)
        data["steps"] = tuple(data["steps"])
        data["thresholds"] = Thresholds(**data.get("thresholds", {}))
        return cls(**data)


@dataclass(frozen=True)
class Rollout:
    """One progressive rollout of ``candidate`` on ``endpoint`` (the persisted state)."""

    id: str
    endpoint: str
    candidate_model: str
    candidate_version: int
    primary_model: str
    primary_version: int
    base_revision: int
    state: str
    step: int
    step_started_at: int | None
    revision: int | None
    config: RolloutConfig
    reason: str
    seq: int
    created_by: str
    created_at: int
    updated_at: int
    ended_at: int | None

    @property
    def candidate(self) -> str:
        return f"{self.candidate_model}/{self.candidate_version}"

    @property
    def primary(self) -> str:
        return f"{self.primary_model}/{self.primary_version}"

    @property
    def weight(self) -> float:
        """The candidate's share of traffic now (0 before the first step)."""
        if self.state == "pending" or self.state in ("rolled_back", "aborted"):
            return 0.0
        if self.state == "promoted":
            return 100.0
        return self.config.steps[self.step]

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["config"] = self.config.to_dict()
        data["candidate"], data["primary"], data["weight"] = (
            self.candidate,
            self.primary,
            self.weight,
        )
        return data


@dataclass(frozen=True)
class Decision:
    """One stored decision: what was done, at which step, and the analysis behind it."""

    rollout_id: str
    seq: int
    action: str
    state: str
    step: int
    weight: float
    revision: int | None
    analysis: dict[str, Any] | None
    reason: str
    actor: str
    at: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
