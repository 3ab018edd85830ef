"""Periodic jobs in one background thread: monitors today, triggers and rollouts next.

::

    scheduler = Scheduler("conveyor-monitors")
    job = scheduler.every(5.0, evaluate_due_monitors, name="monitors")
    scheduler.start()          # runs the job now, then 5 s after each run ends
    job.wait_for_runs(3)       # tests await runs, never sleep
    scheduler.stop()           # sets ``scheduler.stopping``; joins the thread

A job is a callable without arguments; a long one can watch ``scheduler.stopping`` (a
``threading.Event``) to end early on ``stop()``. Its next run is due ``interval`` seconds
after its previous run ended, so a slow run never queues up overlapping ones. An
exception is logged and kept in ``job.last_error`` (``repr``); the job runs again at its
next time — errors are never fatal to the thread or to the other jobs. Jobs share the
one thread and run one at a time, earliest due first.

:meth:`Scheduler.run_once` runs every job now in the calling thread (tests, CLIs).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Job", "Scheduler"]

log = logging.getLogger("conveyor.jobs")


@dataclass(eq=False)
class Job:
    """One periodic job and what its runs did.

    ``runs`` counts finished runs (failed ones too), ``last_result`` is the latest
    successful run's return value, ``last_error`` the latest run's exception (``repr``;
    None after a run that succeeded).
    """

    name: str
    interval: float
    fn: Callable[[], Any]
    runs: int = 0
    last_result: Any = None
    last_error: str | None = None
    next_at: float = 0.0
    _done: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def run(self) -> None:
        """Run once now, in the calling thread; an exception is logged, not raised."""
        try:
            self.last_result = self.fn()
            self.last_error = None
        except Exception as exc:
            self.last_error = repr(exc)
            log.exception("job %s failed; it runs again in %g s", self.name, self.interval)
        with self._done:
            self.runs += 1
            self._done.notify_all()

    def wait_for_runs(self, count: int, timeout: float = 30.0) -> bool:
        """Block until ``count`` runs have finished (True) or ``timeout`` passed (False)."""
        with self._done:
            return self._done.wait_for(lambda: self.runs >= count, timeout)


class Scheduler:
    """Registered periodic jobs, run by one daemon thread between ``start()`` and ``stop()``."""

    def __init__(self, name: str = "conveyor-jobs") -> None:
        self.name = name
        self.jobs: list[Job] = []
        self.stopping = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def every(
        self, interval: float, fn: Callable[[], Any], *, name: str, run_at_start: bool = True
    ) -> Job:
        """Register ``fn`` to run every ``interval`` seconds (first at ``start()``, or one
        interval later with ``run_at_start=False``); may be called while running."""
        if not interval > 0:
            raise ValueError(f"job {name!r}: interval must be > 0 seconds, got {interval!r}")
        job = Job(name, float(interval), fn)
        job.next_at = 0.0 if run_at_start else time.monotonic() + job.interval
        with self._lock:
            self.jobs.append(job)
        self._wake.set()
        return job

    @property
    def running(self) -> bool:
        """Whether the thread is running (between ``start()`` and ``stop()``)."""
        return self._thread is not None

    def start(self) -> Scheduler:
        """Start the thread (no-op when running)."""
        if self._thread is None:
            self.stopping.clear()
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the jobs to stop (``stopping`` is set) and join the thread."""
        self.stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def run_once(self) -> None:
        """Run every registered job once now, in the calling thread."""
        with self._lock:
            jobs = list(self.jobs)
        for job in jobs:
            job.run()

    def __enter__(self) -> Scheduler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _loop(self) -> None:
        while not self.stopping.is_set():
            with self._lock:
                job = min(self.jobs, key=lambda j: j.next_at, default=None)
            delay = 3600.0 if job is None else job.next_at - time.monotonic()
            if delay > 0:
                self._wake.wait(delay)  # a new job or stop() wakes the thread early
                self._wake.clear()
                continue
            assert job is not None
            job.run()
            job.next_at = time.monotonic() + job.interval
