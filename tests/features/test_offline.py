"""Point-in-time correctness against a brute-force reference on randomized data: ties,
TTL expiry, late-arriving corrections, entities without rows; and the refusals."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

import conveyor
from conveyor.errors import NotFound, ValidationFailed
from conveyor.features import apply, get_historical_features, offline

from .helpers import make_world, reference


@pytest.mark.parametrize(
    ("seed", "joins"), [(1, "chained"), (2, "chained"), (3, "per-view"), (4, "per-view")]
)
def test_point_in_time_matches_brute_force(
    tmp_path: Path, seed: int, joins: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if joins == "per-view":  # what frames above CHAIN_MAX_ROWS get: a file per view
        monkeypatch.setattr(offline, "CHAIN_MAX_ROWS", 0)
    world = make_world(tmp_path / "data", seed)
    apply(world.objects)
    features = ["a:orders", "a:spend", "b:score", "b:orders"]
    with get_historical_features(world.entities, features, full_feature_names=True) as job:
        got = job.to_df()
    assert list(got.customer_id) == list(world.entities.customer_id)  # order kept
    ties = hits = expired = 0
    for i, row in world.entities.iterrows():
        out = got.iloc[i]
        want_a = reference(world.a, row.customer_id, row.event_timestamp, world.ttl_a, True)
        if want_a:
            assert len(want_a) == 1  # the created column decides ties
            assert out.a__orders == want_a[0].orders and out.a__spend == want_a[0].spend
            hits += 1
        else:
            assert pd.isna(out.a__orders) and pd.isna(out.a__spend)
            no_ttl = reference(world.a, row.customer_id, row.event_timestamp, None, True)
            expired += bool(no_ttl)
        want_b = reference(world.b, row.customer_id, row.event_timestamp, None, False)
        if want_b:
            ties += len(want_b) > 1
            pairs = {(r.score, r.orders) for r in want_b}
            assert (out.b__score, out.b__orders) in pairs  # one of the tied rows
        else:
            assert math.isnan(out.b__score)
    assert hits and expired  # the data exercised matches and TTL expiry


def test_service_and_dataset_logging(tmp_path: Path) -> None:
    world = make_world(tmp_path / "data", 7)
    apply(world.objects)
    with (
        conveyor.start_run(experiment="churn"),
        get_historical_features(world.entities, "both") as job,
    ):
        frame = job.to_df()
        dv = job.log_dataset("churn-training")
    assert list(frame.columns) == ["customer_id", "event_timestamp", "orders", "spend", "score"]
    assert dv.source == "features:a@1,b@1" and dv.num_rows == len(world.entities)


def test_refusals_name_what_is_wrong(tmp_path: Path) -> None:
    world = make_world(tmp_path / "data", 5)
    apply(world.objects)
    with pytest.raises(ValidationFailed, match=r"no feature 'nope'; its features: orders, spend"):
        get_historical_features(world.entities, ["a:nope"])
    with pytest.raises(NotFound, match="no feature view 'zzz'"):
        get_historical_features(world.entities, ["zzz:orders"])
    with pytest.raises(ValidationFailed, match="no timestamp column 'event_timestamp'"):
        get_historical_features(world.entities.drop(columns="event_timestamp"), ["a:orders"])
    with pytest.raises(ValidationFailed, match="no join key column 'customer_id'"):
        get_historical_features(world.entities.rename(columns={"customer_id": "c"}), ["a:orders"])
    with pytest.raises(ValidationFailed, match="full_feature_names=True"):
        get_historical_features(world.entities, ["a:orders", "b:orders"])


@pytest.mark.postgres
def test_postgresql_source_joins_in_postgres_like_duckdb(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy as sa

    from conveyor.features import Entity, FeatureView, Field, PostgreSQLSource

    world = make_world(tmp_path / "data", 11)
    engine = sa.create_engine(pg_url)
    world.a.to_sql("activity_a", engine, if_exists="replace", index=False)
    engine.dispose()
    monkeypatch.setenv("CONVEYOR_FEATURES_POSTGRES_URL", pg_url)
    conveyor.config.reset_settings()
    customer = Entity(name="customer", join_keys=["customer_id"])
    pg_view = FeatureView(
        name="a_pg",
        entities=[customer],
        schema=[Field("orders", "int64"), Field("spend", "float64")],
        source=PostgreSQLSource("activity_a", created_timestamp_column="created"),
        ttl=world.ttl_a,
    )
    apply([*world.objects, pg_view])
    feats = ["a:orders", "a:spend", "a_pg:orders", "a_pg:spend"]
    with get_historical_features(world.entities, feats, full_feature_names=True) as job:
        got = job.to_df()
    pd.testing.assert_series_equal(got.a__orders, got.a_pg__orders, check_names=False)
    pd.testing.assert_series_equal(got.a__spend, got.a_pg__spend, check_names=False)
    assert got.a_pg__orders.notna().any()


def test_dataset_source_and_sql_transformation(tmp_path: Path) -> None:
    from conveyor.features import DatasetSource, Entity, FeatureView, Field

    world = make_world(tmp_path / "data", 13)
    conveyor.log_dataset(world.b, "activity-b")
    view = FeatureView(
        name="b_ds",
        entities=[Entity(name="customer", join_keys=["customer_id"])],
        schema=[Field("score", "float64"), Field("double_score", "float64")],
        source=DatasetSource("activity-b"),
        transformation="SELECT *, score * 2 AS double_score FROM source",
    )
    apply([*world.objects, view])
    feats = ["b:score", "b_ds:score", "b_ds:double_score"]
    with get_historical_features(world.entities, feats, full_feature_names=True) as job:
        got = job.to_df()
    assert got.b_ds__score.notna().any()
    pd.testing.assert_series_equal(got.b_ds__double_score, got.b_ds__score * 2, check_names=False)
    done = conveyor.features.materialize(
        end=int(pd.Timestamp("2026-01-02", tz="UTC").value // 10**6)
    )
    assert {m.view for m in done} >= {"b_ds"}


@pytest.mark.parametrize("order", ["packed", "128-bit"])
@pytest.mark.parametrize("joins", ["chained", "per-view", "per-view, transformed"])
def test_boundaries_and_rows_feast_differs_on(
    tmp_path: Path, joins: str, order: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both ends of [t - ttl, t] are inclusive, ties go to the latest created row, and every
    entity row comes back — also those Feast's file offline store drops (a key with rows,
    none in the window) or collapses (a repeated (key, time)); naive times are UTC, aware
    ones are converted. Paths: one chain, one view at a time (Parquet read by row locator),
    and one view at a time carrying the features (a transformed view); the (event, created)
    order as a packed BIGINT (spans of seconds) or, with a created time years away, 128 bits.
    """
    from datetime import timedelta

    from conveyor.features import Entity, FeatureView, Field, FileSource

    if joins != "chained":
        monkeypatch.setattr(offline, "CHAIN_MAX_ROWS", 0)
    t = pd.Timestamp("2026-01-01 12:00", tz="UTC")
    us, ttl = pd.Timedelta(microseconds=1), timedelta(seconds=2)
    rows = [  # (key, event time, created time, value)
        (1, t, t, 10),  # tied event time: the later-created row (11) wins
        (1, t, t + us, 11),
        (1, t - ttl, t, 99),  # older, loses to the tie
        (2, t - ttl, t, 20),  # exactly t - ttl: in the window
        (3, t - ttl - us, t, 30),  # one microsecond too old: outside
        (4, t + us, t + us, 40),  # one microsecond after t: the future
        (5, t, t + timedelta(seconds=3), 50),  # exactly t (and the latest created): in
    ]
    if order == "128-bit":  # created 20 years after its event: 62 bits cannot hold both
        rows.append((7, t - timedelta(days=1), t + timedelta(days=7300), 70))
    source = pd.DataFrame(rows, columns=["customer_id", "event_timestamp", "created", "value"])
    (tmp_path / "aware").mkdir()
    (tmp_path / "naive").mkdir()
    source.to_parquet(tmp_path / "aware" / "part-0.parquet")  # TIMESTAMPTZ in DuckDB
    naive = source.assign(  # the same instants as naive UTC times: plain TIMESTAMP
        event_timestamp=source.event_timestamp.dt.tz_localize(None),
        created=source.created.dt.tz_localize(None),
    )
    naive.to_parquet(tmp_path / "naive" / "part-0.parquet")
    customer = Entity(name="customer", join_keys=["customer_id"])
    transformation = "SELECT * FROM source" if joins.endswith("transformed") else None
    views = [
        FeatureView(
            name=name,
            entities=[customer],
            schema=[Field("value", "int64")],
            source=FileSource(str(tmp_path / name), created_timestamp_column="created"),
            ttl=ttl,
            transformation=transformation,
        )
        for name in ("aware", "naive")
    ]
    apply([customer, *views])
    keys = [1, 1, 2, 3, 4, 5, 6]  # 1 twice at the same time; 6 has no rows at all
    utc = pd.DataFrame({"customer_id": keys, "event_timestamp": [t] * len(keys)})
    paris = utc.assign(event_timestamp=utc.event_timestamp.dt.tz_convert("Europe/Paris"))
    naive_entities = utc.assign(event_timestamp=utc.event_timestamp.dt.tz_localize(None))
    want = [11, 11, 20, None, None, 50, None]
    for entities in (utc, paris, naive_entities):
        with get_historical_features(
            entities, ["aware:value", "naive:value"], full_feature_names=True
        ) as job:
            got = job.to_df()
        assert list(got.customer_id) == keys  # every row, in the given order
        for column in ("aware__value", "naive__value"):
            assert [None if pd.isna(v) else int(v) for v in got[column]] == want, column
    # Feast's file store would return 4 of these 7 rows: the repeated (1, t) once, and
    # neither key 3 nor key 4, whose rows all fall outside [t - ttl, t]
