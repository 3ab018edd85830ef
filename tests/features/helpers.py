"""Randomized feature data and a brute-force point-in-time reference."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import conveyor
import conveyor.features
from conveyor.features import Entity, FeatureService, FeatureView, Field, FileSource, apply

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class World:
    """Two views over random rows: ``a`` (TTL, created column, corrections arriving late
    in a second file) and ``b`` (no TTL, no created column)."""

    a: pd.DataFrame
    b: pd.DataFrame
    entities: pd.DataFrame
    objects: list[Any]
    ttl_a: timedelta


def make_world(root: Path, seed: int, n_keys: int = 30, n_rows: int = 400) -> World:
    rng = np.random.default_rng(seed)
    ttl_a = timedelta(minutes=int(rng.integers(20, 200)))

    def rows(n: int, created_base: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "customer_id": rng.integers(0, n_keys, n),
                "event_timestamp": [
                    T0 + timedelta(minutes=int(m)) for m in rng.integers(0, 600, n)
                ],
                "created": [
                    T0 + timedelta(minutes=created_base + int(m)) for m in rng.permutation(n)
                ],
                "orders": rng.integers(0, 50, n),
                "spend": rng.normal(100, 30, n).round(3),
            }
        )

    first, late = rows(n_rows, 0), rows(n_rows // 4, 10_000)  # late: created later
    (root / "a").mkdir(parents=True)
    first.to_parquet(root / "a" / "part-0.parquet")
    late.to_parquet(root / "a" / "part-1.parquet")
    a = pd.concat([first, late], ignore_index=True)
    b = rows(n_rows, 0).drop(columns="created").rename(columns={"spend": "score"})
    (root / "b").mkdir()
    b.to_parquet(root / "b" / "part-0.parquet")
    n = 300
    entities = pd.DataFrame(
        {
            "customer_id": rng.integers(0, n_keys + 5, n),  # some keys have no rows at all
            "event_timestamp": [T0 + timedelta(minutes=int(m)) for m in rng.integers(-30, 700, n)],
        }
    )
    customer = Entity(name="customer", join_keys=["customer_id"])
    view_a = FeatureView(
        name="a",
        entities=[customer],
        schema=[Field("orders", "int64"), Field("spend", "float64")],
        source=FileSource(str(root / "a"), created_timestamp_column="created"),
        ttl=ttl_a,
    )
    view_b = FeatureView(
        name="b",
        entities=[customer],
        schema=[Field("orders", "int64"), Field("score", "float64")],
        source=FileSource(str(root / "b")),
    )
    service = FeatureService("both", [view_a, view_b[["score"]]])
    return World(a, b, entities, [customer, view_a, view_b, service], ttl_a)


def reference(
    source: pd.DataFrame, key: int, at: datetime, ttl: timedelta | None, created: bool
) -> list[pd.Series]:
    """The rows a correct join may return for (key, at): [] when none, else the ties."""
    rows = source[(source.customer_id == key) & (source.event_timestamp <= at)]
    if ttl:
        rows = rows[rows.event_timestamp >= at - ttl]
    if rows.empty:
        return []
    rows = rows[rows.event_timestamp == rows.event_timestamp.max()]
    if created:
        rows = rows[rows.created == rows.created.max()]
    return [r for _, r in rows.iterrows()]


CHURN_T0 = datetime(2026, 3, 1, tzinfo=UTC)


def churn_world(root: Path) -> pd.DataFrame:
    """40 customers' activity, view ``customer_activity``, service ``churn``, materialized."""
    rng = np.random.default_rng(0)
    n = 40
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "event_timestamp": [CHURN_T0 + timedelta(hours=int(h)) for h in rng.integers(0, 48, n)],
            "orders_7d": rng.integers(0, 20, n),
            "spend_7d": rng.normal(200, 50, n).round(2),
        }
    )
    root.mkdir(parents=True)
    frame.to_parquet(root / "activity.parquet")
    customer = Entity(name="customer", join_keys=["customer_id"])
    activity = FeatureView(
        name="customer_activity",
        entities=[customer],
        schema=[Field("orders_7d", "int64", default=0), Field("spend_7d", "float64", default=0.0)],
        source=FileSource(str(root)),
    )
    apply([customer, activity, FeatureService("churn", [activity])])
    conveyor.features.materialize(end=(CHURN_T0 + timedelta(days=3)).isoformat())
    return frame


def churn_model(frame: pd.DataFrame) -> Any:
    """A classifier on the two features, registered as ``churn`` version 1."""
    from sklearn.linear_model import LogisticRegression

    X = frame[["orders_7d", "spend_7d"]].astype("float64")
    model = LogisticRegression().fit(X, (frame.orders_7d > 8).astype(int))
    with conveyor.start_run():
        conveyor.log_model(model, "model", input_example=X.head(5), registered_model_name="churn")
    return model
