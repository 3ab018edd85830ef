"""Adaptive micro-batching: concurrent submits share a call, a lone one does not wait."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np
import pytest
from serving_helpers import client, record, run

from conveyor.serving import (
    BatchingConfig,
    InferenceApp,
    MicroBatcher,
    OnnxPredictor,
    Router,
    RouteTable,
)


def _recording() -> tuple[list[int], Callable[[np.ndarray], np.ndarray]]:
    calls: list[int] = []

    def fn(matrix: np.ndarray) -> np.ndarray:
        calls.append(len(matrix))
        return matrix[:, 0] * 10

    return calls, fn


def test_concurrent_submits_share_one_call_and_get_their_own_rows() -> None:
    calls, fn = _recording()
    batcher = MicroBatcher(fn, max_batch=64)

    async def go() -> list[np.ndarray]:
        rows = [np.array([[float(i), 0.0]]) for i in range(10)]
        return await asyncio.gather(*(batcher.submit(r) for r in rows))

    outs = run(go())
    assert calls == [10]
    assert [o.tolist() for o in outs] == [[i * 10.0] for i in range(10)]


def test_max_batch_bounds_each_call() -> None:
    calls, fn = _recording()
    batcher = MicroBatcher(fn, max_batch=32)

    async def go() -> list[np.ndarray]:
        return await asyncio.gather(
            *(batcher.submit(np.array([[float(i), 1.0]])) for i in range(100))
        )

    outs = run(go())
    assert sum(calls) == 100 and max(calls) <= 32
    assert [o.tolist() for o in outs] == [[i * 10.0] for i in range(100)]


def test_a_lone_request_does_not_wait_for_the_window() -> None:
    calls, fn = _recording()
    batcher = MicroBatcher(fn, max_wait_us=60_000_000)  # a one-minute window

    async def go() -> None:
        for i in range(3):
            out = await asyncio.wait_for(batcher.submit(np.array([[float(i), 0.0]])), 5.0)
            assert out.tolist() == [i * 10.0]

    run(go())
    assert calls == [1, 1, 1]


def test_model_error_reaches_every_waiter() -> None:
    def boom(matrix: np.ndarray) -> np.ndarray:
        raise RuntimeError("boom")

    batcher = MicroBatcher(boom)

    async def go() -> list[object]:
        return await asyncio.gather(
            *(batcher.submit(np.zeros((1, 2))) for _ in range(4)), return_exceptions=True
        )

    assert all(isinstance(e, RuntimeError) for e in run(go()))


@pytest.mark.parametrize("deadline_ms", [None, 5000])
def test_app_batches_concurrent_requests(
    make_onnx: Callable[..., OnnxPredictor], deadline_ms: float | None
) -> None:
    predictor = make_onnx(version="1")
    table = RouteTable("clf", predictor, deadline_ms=deadline_ms)
    app = InferenceApp(Router([table]), batching=BatchingConfig(max_batch=16))
    recs = [record(i) for i in range(24)]
    expected = predictor.predict_records(recs)

    async def go() -> str:
        async with client(app) as c:
            answers = await asyncio.gather(
                *(c.post("/invocations", json={"records": [rec]}) for rec in recs)
            )
            assert [a.json()["predictions"][0] for a in answers] == expected
            return (await c.get("/metrics")).text

    text = run(go())
    count = next(
        line for line in text.splitlines()
        if line.startswith('conveyor_batch_size_count{endpoint="clf"')
    )  # fmt: skip
    assert float(count.rsplit(" ", 1)[1]) < len(recs)
