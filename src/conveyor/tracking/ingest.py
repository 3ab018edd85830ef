"""Metric ingest as operations: each batch validated once, before the write transaction.

``log_batch`` and ``end_run`` take ``Stores`` (not a unit of work) so that the per-point
checks of a large columnar batch run before the writer lock is taken.
"""

from __future__ import annotations

from typing import Any

from conveyor.store.stores import Stores
from conveyor.tracking import service
from conveyor.tracking.metric_rows import MetricRows

__all__ = ["end_run", "log_batch"]


def log_batch(
    stores: Stores,
    run_id: str,
    *,
    metrics: MetricRows | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
) -> None:
    """Log metrics (columnar), params and tags of a run in one transaction."""
    if metrics is not None:
        metrics.validate()
    with stores.write() as uow:
        service.log_batch(uow, run_id, metric_rows=metrics, params=params, tags=tags)


def end_run(
    stores: Stores,
    run_id: str,
    status: str = "FINISHED",
    end_time: int | None = None,
    *,
    metrics: MetricRows | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
) -> None:
    """End a run; its last buffered metrics, params and tags commit in the same
    transaction (one round trip for the SDK's final flush)."""
    if metrics is not None:
        metrics.validate()
    with stores.write() as uow:
        service.end_run(
            uow,
            run_id,
            status=status,
            end_time=end_time,
            metric_rows=metrics,
            params=params,
            tags=tags,
        )
