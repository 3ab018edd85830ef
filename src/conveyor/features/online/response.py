"""What an online read answers: typed values per feature, and a status per value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["NOT_FOUND", "OUTSIDE_MAX_AGE", "PRESENT", "OnlineResponse"]

PRESENT, NOT_FOUND, OUTSIDE_MAX_AGE = "PRESENT", "NOT_FOUND", "OUTSIDE_MAX_AGE"


@dataclass(slots=True)
class OnlineResponse:
    """``values[column][i]`` for entity row ``i``; ``statuses`` alike (Feast's names).

    A value is None when its status is ``NOT_FOUND`` (never materialized for that entity)
    or ``OUTSIDE_MAX_AGE`` (older than the view's TTL) — unless defaults were asked for.
    """

    values: dict[str, list[Any]]
    statuses: dict[str, list[str]]
    event_ms: dict[str, list[int | None]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """``{"values", "statuses", "event_ms"}`` (what the REST API answers)."""
        return {"values": self.values, "statuses": self.statuses, "event_ms": self.event_ms}

    def to_df(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.values)

    @property
    def missing(self) -> list[dict[str, Any]]:
        """Every value not present: ``{"row", "feature", "status"}``."""
        return [
            {"row": i, "feature": name, "status": status}
            for name, column in self.statuses.items()
            for i, status in enumerate(column)
            if status != PRESENT
        ]
