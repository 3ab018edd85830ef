"""Upload debris: staging files (``*.part``) left behind by a process killed mid-upload.

An upload streams into ``<staging>/<uuid>.part`` and is renamed into the store when
complete, so a ``.part`` file that has not been written to for a long time belongs to an
upload that will never finish. ``conveyor server`` removes those older than the
``staging_max_age_s`` setting at start-up and then periodically (every hour, or a quarter of
that age when shorter), logging how much was reclaimed::

    report = clean_staging(store, max_age_s=86400)   # StagingReport(files=1, bytes=491e6)
    janitor = start_staging_janitor(store, max_age_s=86400)   # a conveyor.jobs.Scheduler
    janitor.stop()
"""

from __future__ import annotations

import logging
import time
from typing import NamedTuple

from conveyor.artifacts.store import ArtifactStore
from conveyor.jobs import Scheduler

__all__ = ["StagingReport", "clean_staging", "janitor_interval", "start_staging_janitor"]

log = logging.getLogger("conveyor.artifacts")


class StagingReport(NamedTuple):
    """What one cleaning removed."""

    files: int
    bytes: int


def clean_staging(
    store: ArtifactStore, max_age_s: float, *, now: float | None = None
) -> StagingReport:
    """Delete the store's ``*.part`` staging files last modified more than ``max_age_s``
    seconds ago; logs (and returns) how many files and bytes were reclaimed."""
    folder = store.backend.staging_dir()
    cutoff = (time.time() if now is None else now) - max_age_s
    files = size = 0
    for part in folder.glob("*.part"):
        try:
            stat = part.stat()
            if stat.st_mtime >= cutoff:
                continue
            part.unlink()
        except FileNotFoundError:  # finished or cleaned by another worker meanwhile
            continue
        files += 1
        size += stat.st_size
    if files:
        log.warning(
            "reclaimed %d stale upload staging file(s), %.1f MiB, older than %g s from %s",
            files, size / (1 << 20), max_age_s, folder,
        )  # fmt: skip
    return StagingReport(files, size)


def janitor_interval(max_age_s: float) -> float:
    """Seconds between cleanings: hourly, or a quarter of the age when that is shorter."""
    return max(0.05, min(3600.0, max_age_s / 4))


def start_staging_janitor(store: ArtifactStore, max_age_s: float) -> Scheduler:
    """Clean now (in the calling thread), then periodically in a background thread."""
    clean_staging(store, max_age_s)
    scheduler = Scheduler("conveyor-staging-janitor")
    scheduler.every(
        janitor_interval(max_age_s),
        lambda: clean_staging(store, max_age_s),
        name="staging-cleanup",
        run_at_start=False,
    )
    return scheduler.start()
