"""Buffered logging: metrics, params and tags queue in memory and are sent in batches.

One background thread per process flushes every run's buffer when it reaches
``metric_flush_size`` points or every ``metric_flush_interval`` seconds; ``end_run``
and interpreter exit flush synchronously. A failed flush keeps the data buffered and
is retried; if it still fails when the run ends, ``end_run`` raises — nothing is
dropped silently.
"""

from __future__ import annotations

import atexit
import functools
import sys
import threading
import weakref
from typing import Any, Protocol

from conveyor._util import now_ms
from conveyor.errors import (
    Conflict,
    ConveyorError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from conveyor.tracking.metric_rows import MetricRows
from conveyor.tracking.validation import check_key, check_point, check_str_map, check_text_value

__all__ = ["FlushFailed", "RunBuffer"]


class _Sink(Protocol):
    def log_batch(
        self,
        run_id: str,
        *,
        metrics: MetricRows | None = None,
        params: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
    ) -> None: ...

    def end_run(
        self,
        run_id: str,
        status: str = "FINISHED",
        end_time: int | None = None,
        *,
        metrics: MetricRows | None = None,
        params: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
    ) -> None: ...


class FlushFailed(ConveyorError):
    """Buffered data could not be sent; it is still buffered and will be retried."""

    status = 503
    code = "flush_failed"
    headline = "Logging flush failed"


class RunBuffer:
    """Pending metrics, params and tags of one run."""

    def __init__(self, sink: _Sink, run_id: str, *, flush_size: int, flush_interval: float):
        self.sink = sink
        self.run_id = run_id
        self.flush_size = flush_size
        self.flush_interval = flush_interval
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._metrics = MetricRows()
        self._params: dict[str, str] = {}
        self._tags: dict[str, str] = {}
        self._logged_params: dict[str, str] = {}
        self._keys: set[str] = set()
        self.error: BaseException | None = None
        _Flusher.get().register(self)

    # -- producers (called on the user's thread) ------------------------------------------
    def add_metric(self, key: str, value: float, step: int, timestamp: int | None) -> None:
        if key not in self._keys:
            check_key(key, "metric key")
            self._keys.add(key)
        ts = now_ms() if timestamp is None else timestamp
        number = check_point(key, value, step, ts)
        with self._lock:
            self._metrics.append(key, number, step, ts)
            full = len(self._metrics) >= self.flush_size
        if full:
            _Flusher.get().wake()

    def add_params(self, params: dict[str, Any]) -> None:
        checked: dict[str, str] = {}
        for key, value in params.items():
            check_key(key, "param key")
            text = check_text_value(key, value, "param")
            old = self._logged_params.get(key)
            if old is not None and old != text:
                raise Conflict(
                    f"param {key!r} of run {self.run_id} is already {old!r}; params are "
                    f"immutable, so it cannot become {text!r}. Log it under another key.",
                    details={"key": key, "old": old, "new": text},
                )
            checked[key] = text
        with self._lock:
            self._logged_params.update(checked)
            self._params.update(checked)

    def add_tags(self, tags: dict[str, Any]) -> None:
        checked = check_str_map(tags, "tag")
        with self._lock:
            self._tags.update(checked)

    def pending(self) -> int:
        with self._lock:
            return len(self._metrics) + len(self._params) + len(self._tags)

    # -- sending ---------------------------------------------------------------------------
    def flush(self) -> None:
        """Send what is buffered; on failure keep it buffered and remember the error."""
        self._send(self._log_batch)

    def _log_batch(self, metrics: Any, params: Any, tags: Any) -> None:
        self.sink.log_batch(self.run_id, metrics=metrics, params=params, tags=tags)

    def _end_run(self, status: str, metrics: Any, params: Any, tags: Any) -> None:
        self.sink.end_run(self.run_id, status, metrics=metrics, params=params, tags=tags)

    def _send(self, send: Any, *, always: bool = False) -> None:
        with self._send_lock:
            with self._lock:
                metrics, params, tags = self._metrics, self._params, self._tags
                if not (always or len(metrics) or params or tags):
                    return
                self._metrics, self._params, self._tags = MetricRows(), {}, {}
            try:
                send(metrics if len(metrics) else None, params or None, tags or None)
            except BaseException as exc:
                with self._lock:  # put it back in front of anything logged meanwhile
                    metrics.extend(self._metrics)
                    self._metrics = metrics
                    self._params = {**params, **self._params}
                    self._tags = {**tags, **self._tags}
                self.error = exc
                raise
            self.error = None

    def close(self, status: str | None = None) -> None:
        """Final synchronous flush — with ``status``, ending the run in the same call.

        Raises if the data could not be sent; it stays buffered for another try.
        """
        send = self._log_batch if status is None else functools.partial(self._end_run, status)
        try:
            self._send(send, always=status is not None)
        except ConveyorError as exc:
            if isinstance(exc, ValidationFailed | Conflict | NotFound | PermissionDenied):
                # retrying cannot help: the caller sees the error, the data stays in .pending
                _Flusher.get().unregister(self)
                raise
            raise FlushFailed(
                f"{self.pending()} buffered metric points/params/tags of run {self.run_id} "
                f"could not be sent: {exc.message}. They are still buffered; call end_run() "
                "again once the store is reachable.",
                details={"run_id": self.run_id, "cause": exc.code},
            ) from exc
        _Flusher.get().unregister(self)


class _Flusher:
    """The process's single background flushing thread."""

    _instance: _Flusher | None = None
    _guard = threading.Lock()

    def __init__(self) -> None:
        self._buffers: weakref.WeakSet[RunBuffer] = weakref.WeakSet()
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="conveyor-flusher", daemon=True)
        self._thread.start()
        atexit.register(self.flush_all)

    @classmethod
    def get(cls) -> _Flusher:
        with cls._guard:
            if cls._instance is None:
                cls._instance = _Flusher()
            return cls._instance

    def register(self, buffer: RunBuffer) -> None:
        with self._cond:
            self._buffers.add(buffer)

    def unregister(self, buffer: RunBuffer) -> None:
        with self._cond:
            self._buffers.discard(buffer)

    def wake(self) -> None:
        with self._cond:
            self._cond.notify()

    def _interval(self) -> float:
        with self._cond:
            intervals = [b.flush_interval for b in self._buffers]
        return min(intervals) if intervals else 5.0

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait(timeout=self._interval())
                buffers = list(self._buffers)
            for buffer in buffers:
                if not buffer.pending() or buffer._send_lock.locked():
                    continue
                try:
                    buffer.flush()
                except BaseException:  # kept buffered with .error set; end_run reports it
                    continue

    def flush_all(self) -> None:
        """Flush every live buffer (at interpreter exit)."""
        with self._cond:
            buffers = list(self._buffers)
        for buffer in buffers:
            try:
                buffer.flush()
            except BaseException as exc:
                n = buffer.pending()
                print(
                    f"conveyor: {n} buffered items of run {buffer.run_id} could not be sent "
                    f"at exit: {exc}",
                    file=sys.stderr,
                )
