"""One behaviour suite for both online stores (embedded SQLite, Redis DB 7): materialize,
read typed values in one round trip, missing/expired reported, idempotence, online/offline
consistency, and refusals."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import conveyor
from conveyor.cli.main import app
from conveyor.errors import StoreUnavailable, ValidationFailed
from conveyor.features import apply, get_historical_features, get_online_features
from conveyor.features.lookup import FeatureLookup, shared_store
from conveyor.features.online import open_online_store

from .helpers import T0, World, make_world

END = T0 + timedelta(minutes=500)
END_MS = int(END.timestamp() * 1000)
FEATURES = ["a:orders", "a:spend", "b:score"]


class CountingStore:
    """A real online store, counting its reads (round trips)."""

    def __init__(self, store: object) -> None:
        self.store, self.reads = store, 0

    def read(self, keys: list) -> list:
        self.reads += 1
        return self.store.read(keys)  # type: ignore[attr-defined]

    def read_many(self, views: list, keys: list) -> list:
        self.reads += 1
        return self.store.read_many(views, keys)  # type: ignore[attr-defined]


def _world(tmp_path: Path, seed: int = 3) -> World:
    world = make_world(tmp_path / "data", seed)
    apply(world.objects)
    return world


def _lookup(features: list[str]) -> FeatureLookup:
    views = conveyor.connect().resolve_features(features)
    return FeatureLookup(views, shared_store())


def test_materialize_then_read_matches_offline(tmp_path: Path, online_url: str) -> None:
    world = _world(tmp_path)
    done = conveyor.features.materialize(end=END_MS)
    assert {m.view for m in done} == {"a", "b"} and all(m.rows > 0 for m in done)
    keys = sorted(set(world.entities.customer_id))
    rows = [{"customer_id": int(k)} for k in keys]
    lookup = _lookup(FEATURES)
    counting = CountingStore(lookup.store)
    lookup.store = counting  # type: ignore[assignment]
    online = lookup.get(rows, full_feature_names=True, now_ms=END_MS)
    assert counting.reads == 1  # every view, every entity: one round trip
    frame = pd.DataFrame({"customer_id": keys, "event_timestamp": [END] * len(keys)})
    with get_historical_features(frame, FEATURES, full_feature_names=True) as job:
        offline = job.to_df()
    for column in ("a__orders", "a__spend", "b__score"):
        for i, (got, want) in enumerate(zip(online.values[column], offline[column], strict=True)):
            if pd.isna(want):
                assert got is None and online.statuses[column][i] != "PRESENT", (column, i)
            else:
                assert got == want and online.statuses[column][i] == "PRESENT", (column, i)
    orders = [v for v in online.values["a__orders"] if v is not None]
    assert orders and all(type(v) is int for v in orders)
    assert all(type(v) is float for v in online.values["b__score"] if v is not None)
    assert "NOT_FOUND" in online.statuses["b__score"]  # keys with no rows at all
    day_later = lookup.get(rows, full_feature_names=True, now_ms=END_MS + 86_400_000)
    assert set(day_later.statuses["a__orders"]) <= {"OUTSIDE_MAX_AGE", "NOT_FOUND"}
    assert "OUTSIDE_MAX_AGE" in day_later.statuses["a__orders"]  # past a's TTL
    assert day_later.values["a__orders"] == [None] * len(rows)
    assert day_later.values["b__score"] == online.values["b__score"]  # b has no TTL


def test_materialize_is_idempotent_and_incremental(tmp_path: Path, online_url: str) -> None:
    _world(tmp_path)
    rows = [{"customer_id": k} for k in range(30)]
    conveyor.features.materialize(end=END_MS)
    first = _lookup(["b:score"]).get(rows, now_ms=END_MS)
    conveyor.features.materialize(end=END_MS)  # again
    conveyor.features.materialize(
        start=T0.isoformat(), end=(T0 + timedelta(minutes=60)).isoformat()
    )
    again = _lookup(["b:score"]).get(rows, now_ms=END_MS)
    assert again.values == first.values  # an older window never overwrote newer values
    later = conveyor.features.materialize_incremental(end=END_MS + 200 * 60_000, views=["b"])
    assert later[0].start_ms == END_MS  # from where the last one ended
    history = conveyor.connect().list_materializations("b")
    assert len(history) == 4 and history[0].profile["num_rows"] == later[0].rows
    freshness = {f.view: f for f in conveyor.connect().feature_freshness(now=END_MS + 200 * 60_000)}
    assert freshness["b"].newest_event_ms == later[0].newest_event_ms
    assert freshness["b"].age_s is not None and freshness["b"].age_s >= 0


def test_sdk_cli_and_refusals(tmp_path: Path, online_url: str) -> None:
    _world(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["features", "materialize", "--end", END.isoformat(), "--json"])
    assert result.exit_code == 0, result.output
    assert {m["view"] for m in json.loads(result.stdout)} == {"a", "b"}
    answer = get_online_features(
        ["b:score", "b:orders"], [{"customer_id": 1}, {"customer_id": 999}]
    )
    assert answer.values["customer_id"] == [1, 999]
    assert answer.statuses["score"][1] == "NOT_FOUND" and answer.values["score"][1] is None
    assert answer.missing[0] == {"row": 1, "feature": "score", "status": "NOT_FOUND"}
    shown = runner.invoke(app, ["features", "online", "-f", "b:score", "-e", "customer_id=1"])
    assert shown.exit_code == 0 and "score" in shown.stdout
    fresh = runner.invoke(app, ["features", "freshness"])
    assert fresh.exit_code == 0 and "b" in fresh.stdout
    with pytest.raises(ValidationFailed, match="no join key 'customer_id'"):
        get_online_features(["b:score"], [{"customer": 1}])
    with pytest.raises(ValidationFailed, match="no feature 'nope'; its features: orders, score"):
        get_online_features(["b:nope"], [{"customer_id": 1}])


def test_unreachable_redis_fails_fast_with_a_clear_error() -> None:
    store = open_online_store("redis://127.0.0.1:1/0", timeout_s=0.2)
    with pytest.raises(StoreUnavailable, match=r"redis://127.0.0.1:1/0 unreachable"):
        store.read([("v", b"[1]")])
    # the message reaches inference clients (a 503) and the prediction log: no password
    secret = open_online_store("redis://:s3cret@127.0.0.1:1/0", timeout_s=0.2)
    with pytest.raises(StoreUnavailable, match=r"redis://\*\*\*@127.0.0.1:1/0 unreachable") as info:
        secret.read([("v", b"[1]")])
    assert "s3cret" not in str(info.value)


def test_colliding_feature_names_are_refused(tmp_path: Path, online_url: str) -> None:
    _world(tmp_path)
    with pytest.raises(ValidationFailed, match="orders appear in several views"):
        get_online_features(["a:orders", "b:orders"], [{"customer_id": 1}])
    answer = get_online_features(
        ["a:orders", "b:orders"], [{"customer_id": 1}], full_feature_names=True
    )
    assert set(answer.values) == {"customer_id", "a__orders", "b__orders"}


def test_concurrent_materializations_keep_the_newest_value_of_each_key(online_url: str) -> None:
    """Two writers race on the same keys in small chunks (each newer on half of them): every
    key ends with the newest event's whole value, whatever the interleaving."""
    import threading
    import uuid

    from conveyor.features.online.base import decode_value, encode_value

    project = f"race-{uuid.uuid4().hex[:8]}"  # a key prefix of this test only
    stores = [open_online_store(project=project) for _ in range(2)]
    for store in stores:
        if hasattr(store, "chunk"):
            store.chunk = 50  # many script calls per run: room to interleave
    keys = [b"[%d]" % i for i in range(2_000)]

    def run(name: str, newer_when: int) -> list[tuple[bytes, bytes]]:
        return [
            (
                k,
                encode_value(
                    2_000 + i if i % 2 == newer_when else 1_000 + i, {"run": name, "i": i}
                ),
            )
            for i, k in enumerate(keys)
        ]

    runs = [run("a", 0), run("b", 1)]
    start = threading.Barrier(2)

    def materialize(index: int) -> None:
        start.wait()
        stores[index].write("v", runs[index])

    try:
        for _ in range(3):
            threads = [threading.Thread(target=materialize, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            got = [decode_value(v) for v in stores[0].read([("v", k) for k in keys])]  # type: ignore[arg-type]
            assert [value["run"] for _, value in got] == [
                "a" if i % 2 == 0 else "b" for i in range(len(keys))
            ]
            assert [ms for ms, _ in got] == [2_000 + i for i in range(len(keys))]
    finally:
        stores[0].clear()
        for store in stores:
            store.close()


@pytest.mark.redis
def test_redis_reads_from_an_event_loop_pipelined_and_recover_from_a_lost_connection() -> None:
    """The inference server's read (``read_many_async``): the values ``read_many`` gives,
    concurrent reads on one connection each get their own answer, a killed connection is
    replaced on the next read, an unreachable server is the same clear error."""
    import asyncio

    import redis

    from .conftest import redis_or_skip

    url = redis_or_skip()  # a database other than 0: SELECT on connect
    store = open_online_store(url, timeout_s=2)
    store.write("v", [(b"[%d]" % i, b'%016d{"x":%d}' % (i, i)) for i in range(50)])
    keys = [[b"[%d]" % i for i in range(0, 50, 7)], [b"[1]", b"[999]"]]

    async def reads() -> None:
        got = await store.read_many_async(["v", "v"], keys)
        assert got == store.read_many(["v", "v"], keys) and got[-1] is None
        answers = await asyncio.gather(
            *(store.read_many_async(["v"], [[b"[%d]" % i]]) for i in range(50))
        )
        assert answers == [[b'%016d{"x":%d}' % (i, i)] for i in range(50)]
        killer = redis.Redis.from_url(url)
        assert killer.client_kill_filter(skipme=True, _type="normal") >= 1
        killer.close()
        deadline = asyncio.get_running_loop().time() + 10
        while True:  # the server closed it: at most the reads in flight fail, then reconnect
            try:
                assert await store.read_many_async(["v"], [[b"[3]"]]) == [b'%016d{"x":3}' % 3]
                break
            except StoreUnavailable:
                assert asyncio.get_running_loop().time() < deadline
        store.close_loop()

    asyncio.run(reads())
    down = open_online_store("redis://:s3cret@127.0.0.1:1/0", timeout_s=0.2)
    with pytest.raises(StoreUnavailable, match=r"redis://\*\*\*@127.0.0.1:1/0 unreachable") as info:
        asyncio.run(down.read_many_async(["v"], [[b"[1]"]]))
    assert "s3cret" not in str(info.value)


def test_a_silent_redis_server_is_a_timeout_then_a_fresh_connection() -> None:
    """A server that accepts and never answers: the read fails after the store's timeout
    (never a hang) and drops the connection; the next read connects again."""
    import asyncio

    async def scenario() -> None:
        accepted: list[asyncio.StreamWriter] = []

        async def silent(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.append(writer)

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        store = open_online_store(f"redis://127.0.0.1:{port}/0", timeout_s=0.2)
        for attempt in (1, 2):
            with pytest.raises(StoreUnavailable, match=r"no answer within 0.2 s"):
                await store.read_many_async(["v"], [[b"[1]"]])
            assert len(accepted) == attempt  # a new connection for the second read
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()
        store.close()

    asyncio.run(scenario())
