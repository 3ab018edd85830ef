"""Pydantic base for request bodies: unknown fields are rejected, naming them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Body"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
