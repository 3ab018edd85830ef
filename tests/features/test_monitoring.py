"""Freshness as a monitor metric: the age of a view's newest materialized value alerts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

import conveyor
from conveyor.errors import ValidationFailed
from conveyor.features import apply
from conveyor.monitoring.evaluate import evaluate_monitor
from conveyor.monitoring.monitors import MonitorSpec

from .helpers import T0, make_world


def test_freshness_monitor_fires_when_the_store_falls_behind(tmp_path: Path) -> None:
    apply(make_world(tmp_path / "data", 4).objects)
    client = conveyor.connect()
    client.create_monitor(
        MonitorSpec("fresh-b", "churn-api", "features.freshness.b", threshold=3600, for_=0)
    )
    stores = client.transport.stores
    never = evaluate_monitor(stores, "fresh-b", now=T0 + timedelta(hours=12))
    assert never.value is None and never.status == "insufficient_data"
    done = conveyor.features.materialize(end=(T0 + timedelta(hours=10)).isoformat(), views=["b"])
    newest = done[0].newest_event_ms
    at = newest + 30 * 60_000
    fresh = evaluate_monitor(stores, "fresh-b", now=at)
    assert fresh.value == pytest.approx(1800.0) and fresh.alert is None
    stale = evaluate_monitor(stores, "fresh-b", now=newest + 3 * 3_600_000)
    assert stale.value == pytest.approx(3 * 3600.0)
    assert stale.alert is not None and stale.alert.state in ("pending", "firing")
    with pytest.raises(ValidationFailed, match=r"features.freshness.<view>"):
        client.create_monitor(MonitorSpec("bad", "churn-api", "features.freshness.", 1.0))
