"""Shared background jobs: a small periodic scheduler (see :mod:`conveyor.jobs.scheduler`).

Used by the monitor scheduler; pipeline triggers and progressive rollouts register their
periodic work the same way::

    from conveyor.jobs import Scheduler

    scheduler = Scheduler("conveyor-rollouts")
    scheduler.every(30.0, advance_rollouts, name="rollouts")
    scheduler.start()
"""

from __future__ import annotations

from conveyor.jobs.scheduler import Job, Scheduler

__all__ = ["Job", "Scheduler"]
