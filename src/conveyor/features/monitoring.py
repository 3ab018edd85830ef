"""Feature freshness as a monitor metric: ``features.freshness.<view>`` is the age, in
seconds at the check's time, of the newest event time materialized for the view.

A monitor like ``features.freshness.customer_activity > 7200`` alerts when the online
store falls behind (a materialization job stopped). A view never materialized has no
value (``insufficient_data``).
"""

from __future__ import annotations

from typing import Any

from conveyor.errors import ValidationFailed
from conveyor.features.online_ops import feature_freshness

__all__ = ["PREFIX", "check_freshness_metric", "freshness_metric"]

PREFIX = "features.freshness."


def check_freshness_metric(metric: str) -> str:
    """The view a ``features.freshness.<view>`` metric names."""
    view = metric[len(PREFIX) :] if metric.startswith(PREFIX) else ""
    if not view:
        raise ValidationFailed(
            f"unknown metric {metric!r}: features.freshness.<view> (age of its newest value, s)"
        )
    return view


def freshness_metric(stores: Any, metric: str, at_ms: int) -> Any:
    """The ``MetricResult`` of a freshness metric at ``at_ms``."""
    from conveyor.monitoring.monitors import MetricResult

    view = check_freshness_metric(metric)
    with stores.meta.read() as conn:
        found = {f.view: f for f in feature_freshness(conn, now=at_ms)}
    if view not in found:
        return MetricResult(None, "insufficient_data", f"no feature view {view!r}")
    entry = found[view]
    if entry.age_s is None:
        return MetricResult(None, "insufficient_data", f"feature view {view!r} never materialized")
    return MetricResult(entry.age_s, "ok", None, {"newest_event_ms": entry.newest_event_ms})
