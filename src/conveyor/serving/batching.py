"""Adaptive micro-batching: concurrent requests for one predictor share one call.

``MicroBatcher.submit(matrix)`` queues the rows and returns their outputs. The queue is
flushed into one ``predict_matrix`` call:

* at the next event-loop tick (every request parsed in the same tick joins the batch),
* or after ``max_wait_us`` when recent batches show concurrency (EWMA of batch size
  above 1.5) — a lone client never waits for the window,
* or at once when ``max_batch`` rows are queued.

``fn`` returns the outputs of the rows, or a tuple of per-row arrays (outputs and class
probabilities, None where absent): each request gets its slice of each.

With ``threaded=True`` the call runs in a thread pool (onnxruntime releases the GIL), so
a deadline can be enforced around it and requests keep arriving while it runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

import numpy as np

__all__ = ["MicroBatcher"]


class MicroBatcher:
    """Gathers rows for one predictor and runs them in one call."""

    def __init__(
        self,
        fn: Callable[[np.ndarray], Any],
        *,
        max_batch: int = 64,
        max_wait_us: int = 0,
        threaded: bool = False,
        executor: Executor | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.fn = fn
        self.max_batch = max_batch
        self.max_wait = max_wait_us / 1e6
        self.threaded = threaded
        self.executor = executor
        self.on_batch = on_batch
        self._pending: list[tuple[np.ndarray, asyncio.Future[Any]]] = []
        self._rows = 0
        self._scheduled = False
        self.ewma = 1.0
        self.batches = 0
        self.rows = 0

    async def submit(self, matrix: np.ndarray) -> Any:
        """``fn``'s result for ``matrix``'s rows, computed together with other requests'."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        self._pending.append((matrix, fut))
        self._rows += len(matrix)
        if self._rows >= self.max_batch:
            self._flush()
        elif not self._scheduled:
            self._scheduled = True
            if self.max_wait and self.ewma > 1.5:
                loop.call_later(self.max_wait, self._flush)
            else:
                loop.call_soon(self._flush)
        return await fut

    def _flush(self) -> None:
        self._scheduled = False
        pending, self._pending, self._rows = self._pending, [], 0
        if not pending:
            return
        matrix = pending[0][0] if len(pending) == 1 else np.concatenate([m for m, _ in pending])
        n = len(matrix)
        self.ewma = 0.8 * self.ewma + 0.2 * len(pending)
        self.batches += 1
        self.rows += n
        if self.on_batch is not None:
            self.on_batch(n)
        if self.threaded:
            loop = asyncio.get_running_loop()
            job = loop.run_in_executor(self.executor, self.fn, matrix)
            job.add_done_callback(lambda f: self._deliver(pending, f))
            return
        try:
            out = self.fn(matrix)
        except Exception as exc:  # every waiter sees the model's error
            for _, fut in pending:
                if not fut.done():
                    fut.set_exception(exc)
            return
        self._split(pending, out)

    def _deliver(self, pending: list[tuple[np.ndarray, asyncio.Future[Any]]], job: Any) -> None:
        exc = job.exception() if not job.cancelled() else asyncio.CancelledError()
        if exc is not None:
            for _, fut in pending:
                if not fut.done():
                    fut.set_exception(exc)
            return
        self._split(pending, job.result())

    @staticmethod
    def _split(pending: list[tuple[np.ndarray, asyncio.Future[Any]]], out: Any) -> None:
        start = 0
        for matrix, fut in pending:
            end = start + len(matrix)
            if not fut.done():
                if isinstance(out, tuple):
                    fut.set_result(tuple(None if o is None else o[start:end] for o in out))
                else:
                    fut.set_result(out[start:end])
            start = end
