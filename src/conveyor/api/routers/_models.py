"""Pydantic pieces for request bodies: unknown fields rejected, 64-bit integers, JSON."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from conveyor._schema import INT64_MAX

__all__ = ["Body", "Count", "EpochMs", "JsonMap"]


#: Epoch milliseconds (UTC).
EpochMs = Annotated[int, Field(ge=0, le=INT64_MAX)]
#: A non-negative count or offset the database can hold.
Count = Annotated[int, Field(ge=0, le=INT64_MAX)]


def _json_safe(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None:
        try:
            orjson.dumps(value)
        except TypeError as exc:  # e.g. integers past 64 bits
            raise ValueError(f"not storable as JSON: {exc}") from None
    return value


#: A JSON object of free-form values (params, source), storable as JSON.
JsonMap = Annotated[dict[str, Any] | None, AfterValidator(_json_safe)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
