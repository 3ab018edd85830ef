"""A metric's history for a chart: at most ``max_points`` points, min/max per bucket.

A chart 1,000 pixels wide shows no more than two values per pixel column (the lowest and
the highest), so a 100,000-point history is read as ``max_points // 2`` buckets of
consecutive steps, each giving its lowest and its highest value (min/max decimation, as
plotting libraries do on the client — here in one aggregate query, so neither the server
nor the browser touches every point). The drawn envelope is the one of every point; the
full history stays available (``get_metric_columns``, or a narrower ``min_step`` /
``max_step`` range, which is what zooming in asks for).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

import sqlalchemy as sa

from conveyor._schema import NonEmpty, Rule
from conveyor.errors import ValidationFailed
from conveyor.store.tables import metrics
from conveyor.tracking.service import _run_row

__all__ = ["MAX_CHART_POINTS", "MetricChart", "get_metric_chart"]

MAX_CHART_POINTS = 20_000
ChartPoints = Annotated[int, Rule({"minimum": 2, "maximum": MAX_CHART_POINTS})]
Step = Annotated[int | None, Rule({"minimum": 0, "maximum": 2**53 - 1})]


@dataclass
class MetricChart:
    """Points to draw, as parallel columns ordered by step.

    ``points``: how many points the history holds in the range; ``downsampled``: the
    columns hold, per bucket of steps, the lowest value at its first step and the highest
    at its last (the history has more points than ``max_points``).
    """

    key: str
    steps: list[int] = field(default_factory=list)
    timestamps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    points: int = 0
    downsampled: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check(max_points: object, min_step: object, max_step: object) -> None:
    if isinstance(max_points, bool) or not isinstance(max_points, int):
        raise ValidationFailed(f"max_points must be an integer, got {max_points!r:.50}")
    if not 2 <= max_points <= MAX_CHART_POINTS:
        raise ValidationFailed(
            f"max_points must be from 2 to {MAX_CHART_POINTS:,}, got {max_points}; "
            "for every point use get_metric_columns"
        )
    for name, value in (("min_step", min_step), ("max_step", max_step)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            raise ValidationFailed(f"{name} must be a non-negative integer, got {value!r:.50}")
    if isinstance(min_step, int) and isinstance(max_step, int) and min_step > max_step:
        raise ValidationFailed(f"min_step ({min_step}) is after max_step ({max_step})")


def get_metric_chart(
    conn: sa.Connection,
    run_id: str,
    key: NonEmpty,
    max_points: ChartPoints = 1000,
    min_step: Step = None,
    max_step: Step = None,
) -> MetricChart:
    """One metric's history to draw: every point when there are at most ``max_points``,
    else the lowest and highest value of each of ``max_points // 2`` step buckets.
    ``min_step`` / ``max_step`` (inclusive) narrow the range (zooming in)."""
    _check(max_points, min_step, max_step)
    _run_row(conn, run_id)
    where = [metrics.c.run_id == run_id, metrics.c.key == key]
    if min_step is not None:
        where.append(metrics.c.step >= min_step)
    if max_step is not None:
        where.append(metrics.c.step <= max_step)
    # two index seeks, not a count: a count would scan the range once more
    lo = conn.execute(sa.select(sa.func.min(metrics.c.step)).where(*where)).scalar()
    hi = conn.execute(sa.select(sa.func.max(metrics.c.step)).where(*where)).scalar()
    chart = MetricChart(key)
    if lo is None or hi is None:
        return chart
    rows = conn.execute(
        sa.select(metrics.c.step, metrics.c.timestamp, metrics.c.value)
        .where(*where)
        .order_by(metrics.c.step, metrics.c.id)
        .limit(max_points + 1)
    ).all()
    if len(rows) <= max_points:
        for step, ts, value in rows:
            chart.steps.append(step)
            chart.timestamps.append(ts)
            chart.values.append(math.nan if value is None else value)
        chart.points = len(rows)
        return chart
    buckets = max_points // 2
    width = max(1, -(-(hi - lo + 1) // buckets))  # ceil: at most `buckets` buckets
    bucket = ((metrics.c.step - lo) // width).label("bucket")
    envelopes = conn.execute(
        sa.select(
            sa.func.min(metrics.c.step),
            sa.func.max(metrics.c.step),
            sa.func.min(metrics.c.timestamp),
            sa.func.max(metrics.c.timestamp),
            sa.func.min(metrics.c.value),
            sa.func.max(metrics.c.value),
            sa.func.count(),
        )
        .where(*where)
        .group_by(bucket)
        .order_by(bucket)
    ).all()
    chart.downsampled = True
    for first, last, t_first, t_last, low, high, count in envelopes:
        chart.points += count
        chart.steps.append(first)
        chart.timestamps.append(t_first)
        chart.values.append(math.nan if low is None else low)
        if last != first or high != low:
            chart.steps.append(last)
            chart.timestamps.append(t_last)
            chart.values.append(math.nan if high is None else high)
    return chart
