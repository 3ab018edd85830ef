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


def test_train_vs_serve_skew_through_the_drift_engine(tmp_path: Path) -> None:
    """The features a training set got against those the server looked up and logged."""
    import asyncio

    import httpx
    import pandas as pd

    from conveyor.deployments.runtime import build_route_table
    from conveyor.features import get_historical_features
    from conveyor.serving import InferenceApp, Router
    from conveyor.serving.prediction_log import PredictionLog

    from .helpers import CHURN_T0, churn_model, churn_world

    frame = churn_world(tmp_path / "data")
    churn_model(frame)
    client = conveyor.connect()
    client.set_endpoint_features("churn-api", "churn")
    client.deploy("churn-api", model="churn/1", compile=False)
    stores = client.transport.stores
    table = build_route_table(stores, client.get_revision("churn-api"))
    logs = tmp_path / "logs"
    app = InferenceApp(Router([table]), prediction_log=PredictionLog(logs))

    async def serve() -> int:
        async with app.running():
            transport = httpx.ASGITransport(app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                rows = [{"customer_id": int(i)} for i in frame.customer_id]
                r = await c.post("/invocations", json={"dataframe_records": rows})
                return r.status_code

    assert asyncio.run(serve()) == 200  # shutdown flushes the prediction log
    entities = pd.DataFrame(
        {"customer_id": frame.customer_id, "event_timestamp": CHURN_T0 + timedelta(days=3)}
    )
    with get_historical_features(entities, "churn") as job:
        job.log_dataset("churn-train")
        skewed = job.to_df()
    skewed["spend_7d"] += 500.0  # a training pipeline that computed spend differently
    conveyor.log_dataset(skewed, "churn-skewed")

    same = client.feature_skew("churn-api", "churn-train", window="1d", log_uri=str(logs))
    assert same["service"] == "churn" and same["served_rows"] == len(frame)
    assert same["features"] == {"orders_7d": "orders_7d", "spend_7d": "spend_7d"}
    assert same["drifted_columns"] == [] and same["status"] == "ok"
    off = client.feature_skew("churn-api", "churn-skewed", window="1d", log_uri=str(logs))
    assert off["drifted_columns"] == ["spend_7d"]

    client.create_monitor(
        MonitorSpec(
            "skew",
            "churn-api",
            "features.skew.share",
            threshold=0.4,
            for_=0,
            options={"reference": "churn-skewed"},
        )
    )
    check = evaluate_monitor(stores, "skew", log_uri=str(logs))
    assert check.value == pytest.approx(0.5) and check.alert is not None
    with pytest.raises(ValidationFailed, match="no feature of service 'churn'"):
        conveyor.log_dataset(pd.DataFrame({"x": [1.0]}), "unrelated")
        client.feature_skew("churn-api", "unrelated", log_uri=str(logs))
