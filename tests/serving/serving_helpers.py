"""Helpers shared by the serving tests (plain functions; fixtures live in conftest)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
import numpy as np

from conveyor.serving import FunctionPredictor, InferenceApp

T = TypeVar("T")
COLUMNS = ["f0", "f1", "f2", "f3"]


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def record(i: int = 0) -> dict[str, float]:
    rng = np.random.default_rng(i)
    return {c: float(v) for c, v in zip(COLUMNS, rng.normal(size=len(COLUMNS)), strict=True)}


@asynccontextmanager
async def client(app: InferenceApp) -> AsyncIterator[httpx.AsyncClient]:
    """The app in-process, with its lifespan (startup/shutdown) around the block."""
    async with (
        app.running(),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as c,
    ):
        yield c


def failing(version: str = "bad") -> FunctionPredictor:
    """A predictor whose model raises on every call."""

    def boom(frame: Any) -> Any:
        raise RuntimeError("model exploded")

    return FunctionPredictor(boom, name="clf", version=version, columns=COLUMNS)


def constant(value: int, version: str) -> FunctionPredictor:
    return FunctionPredictor(
        lambda frame: np.full(len(frame), value), name="clf", version=version, columns=COLUMNS
    )
