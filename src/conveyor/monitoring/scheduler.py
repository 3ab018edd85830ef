"""The monitor scheduler: :func:`~conveyor.monitoring.evaluate.run_once` as a periodic job of
the shared :class:`conveyor.jobs.Scheduler`."""

from __future__ import annotations

from typing import Any

from conveyor.jobs import Scheduler
from conveyor.monitoring.evaluate import CheckOutcome, run_once
from conveyor.store.projects import each_project

__all__ = ["MonitorScheduler"]


class MonitorScheduler:
    """Evaluates due monitors in a background thread every ``interval`` seconds.

    ``start()`` / ``stop()`` (cancellable: the thread waits on an event, not a sleep, and a
    round stops after the monitor being evaluated); ``ticks`` counts finished rounds and
    ``last_outcomes`` holds the latest round's checks. A round that fails (store
    unreachable) is logged, kept in ``last_error`` and retried on the next tick.
    """

    def __init__(
        self,
        backend: Any,
        *,
        interval: float = 5.0,
        endpoint: str | None = None,
        log_uri: str | None = None,
    ) -> None:
        self.backend = backend
        self.interval = float(interval)
        self.endpoint = endpoint
        self.log_uri = log_uri
        self.jobs = Scheduler("conveyor-monitor-scheduler")
        self._job = self.jobs.every(self.interval, self._round, name="monitors")

    def _round(self) -> list[CheckOutcome]:
        def round_in_project() -> list[CheckOutcome]:
            return run_once(
                self.backend,
                endpoint=self.endpoint,
                log_uri=self.log_uri,
                cancel=self.jobs.stopping,
            )

        return each_project(self.backend.meta.engine, round_in_project)

    @property
    def ticks(self) -> int:
        return self._job.runs

    @property
    def last_outcomes(self) -> list[CheckOutcome]:
        return self._job.last_result or []

    @property
    def last_error(self) -> str | None:
        return self._job.last_error

    @property
    def running(self) -> bool:
        return self.jobs.running

    def start(self) -> MonitorScheduler:
        self.jobs.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self.jobs.stop(timeout)

    def __enter__(self) -> MonitorScheduler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_for_ticks(self, count: int, timeout: float = 30.0) -> bool:
        """Block until ``count`` rounds have finished (True) or ``timeout`` passed."""
        return self._job.wait_for_runs(count, timeout)
