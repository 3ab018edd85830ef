"""Canary weights, sticky A/B, shadow comparison, atomic swap."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds
import pytest
from serving_helpers import COLUMNS, client, constant, record, run

from conveyor.errors import NotFound, ValidationFailed
from conveyor.serving import (
    FunctionPredictor,
    InferenceApp,
    OnnxPredictor,
    PredictionLog,
    Route,
    Router,
    RouteTable,
)


def _within(count: int, n: int, p: float) -> bool:
    """Binomial count within 5 standard deviations (false alarm < 1e-6)."""
    return abs(count - n * p) <= 5 * math.sqrt(n * p * (1 - p))


def test_canary_weight_split_without_keys() -> None:
    table = RouteTable("clf", [Route("primary", constant(0, "1"), 90),
                               Route("canary", constant(1, "2"), 10)])  # fmt: skip
    n = 20_000
    counts = Counter(table.choose().name for _ in range(n))
    assert _within(counts["canary"], n, 0.10), counts


def test_canary_split_through_the_app() -> None:
    table = RouteTable("clf", [Route("primary", constant(0, "1"), 70),
                               Route("canary", constant(1, "2"), 30)])  # fmt: skip
    n = 400

    async def go() -> Counter[str]:
        seen: Counter[str] = Counter()
        async with client(InferenceApp(Router([table]))) as c:
            for _ in range(n):
                r = await c.post("/invocations", json={"records": [record()]})
                assert r.status_code == 200
                body = r.json()
                assert body["predictions"] == [0 if body["model_version"] == "1" else 1]
                seen[r.headers["x-conveyor-route"]] += 1
        return seen

    seen = run(go())
    assert _within(seen["canary"], n, 0.30), seen


def test_routes_of_different_models_name_the_model_in_their_version() -> None:
    """A canary of another model with the same version number must not look the same."""
    other = FunctionPredictor(lambda f: np.ones(len(f)), name="lgb", version="1",
                              columns=COLUMNS)  # fmt: skip
    table = RouteTable("clf", [Route("primary", constant(0, "1"), 50), Route("canary", other, 50)])
    assert [r.version for r in table.routes] == ["clf/1", "lgb/1"]
    same = RouteTable("clf", [Route("primary", constant(0, "1")), Route("b", constant(1, "2"))])
    assert [r.version for r in same.routes] == ["1", "2"]  # one model: plain versions

    async def go() -> set[tuple[str, str]]:
        seen = set()
        async with client(InferenceApp(Router([table]))) as c:
            for i in range(40):
                r = await c.post("/invocations", json={"records": [record()]},
                                 headers={"x-conveyor-key": str(i)})  # fmt: skip
                seen.add((r.json()["model_version"], r.headers["x-conveyor-model-version"]))
        return seen

    assert run(go()) == {("clf/1", "clf/1"), ("lgb/1", "lgb/1")}


def test_sticky_ab_assignment_by_header_and_by_field() -> None:
    routes = [Route("a", constant(0, "1"), 50), Route("b", constant(1, "2"), 50)]
    table = RouteTable("clf", routes)
    first = {f"user-{i}": table.choose(f"user-{i}").name for i in range(2000)}
    for _ in range(3):
        assert {k: table.choose(k).name for k in first} == first
    assert _within(Counter(first.values())["b"], 2000, 0.5)
    by_field = RouteTable("clf", routes, sticky_field="f0")

    async def go() -> None:
        async with client(InferenceApp(Router([table]))) as c:
            for key in ("alice", "bob", "carol"):
                answers = set()
                for _ in range(5):
                    r = await c.post("/invocations", json={"records": [record()]},
                                     headers={"X-Conveyor-Key": key})  # fmt: skip
                    answers.add(r.headers["x-conveyor-route"])
                assert answers == {table.choose(key).name}
        async with client(InferenceApp(Router([by_field]))) as c:
            for value in (0.5, 1.5, 2.5):
                rec = {**record(), "f0": value}
                routes_seen = {
                    (await c.post("/invocations", json={"records": [rec]})).headers[
                        "x-conveyor-route"
                    ]
                    for _ in range(4)
                }
                assert routes_seen == {by_field.choose(str(value)).name}

    run(go())


def test_shadow_outputs_are_compared_and_logged(
    make_onnx: Callable[..., OnnxPredictor], tmp_path: Path
) -> None:
    primary = make_onnx(version="1", model="forest")
    shadow = make_onnx(version="9", model="linear")
    table = RouteTable("clf", primary, shadows=[Route("shadow", shadow)])
    log = PredictionLog(tmp_path)
    recs = [record(i) for i in range(40)]

    async def go() -> tuple[list[str], str]:
        ids: list[str] = []
        async with client(InferenceApp(Router([table]), prediction_log=log)) as c:
            for rec in recs:
                r = await c.post("/invocations", json={"records": [rec]})
                assert r.json()["model_version"] == "1"
                ids += r.json()["prediction_ids"]
            text = (await c.get("/metrics")).text
        return ids, text

    ids, text = run(go())
    rows = ds.dataset(tmp_path / "predictions", format="parquet", partitioning="hive").to_table()
    served = rows.filter(ds.field("route") == "primary").to_pylist()
    shadows = rows.filter(ds.field("route") == "shadow").to_pylist()
    assert sorted(r["prediction_id"] for r in served) == sorted(ids)
    assert sorted(r["shadow_of"] for r in shadows) == sorted(ids)
    out = {r["prediction_id"]: r["output_num"] for r in served}
    for r in shadows:
        assert r["model_version"] == "9"
        assert r["agree"] == (r["output_num"] == out[r["shadow_of"]])
    agree = sum(r["agree"] for r in shadows)
    assert 0 < agree < len(recs), "the two models should disagree on some rows"
    labels = 'endpoint="clf",model_version="9",route="shadow"'
    assert f'conveyor_shadow_comparisons_total{{agree="true",{labels}}} {agree:.1f}' in text
    assert (
        f'conveyor_shadow_comparisons_total{{agree="false",{labels}}} {len(recs) - agree:.1f}'
        in text
    )


def test_swap_replaces_the_table_and_returns_the_old_one() -> None:
    old = RouteTable("clf", constant(0, "1"))
    router = Router([old])
    new = RouteTable("clf", constant(1, "2"))
    assert router.swap(new) is old
    assert router.get("clf") is new and router.get(None) is new
    router.swap(RouteTable("other", constant(2, "1")))
    assert router.default == "clf"
    with pytest.raises(NotFound, match="'missing'"):
        router.get("missing")
    router.remove("clf")
    assert router.default == "other"


def test_route_table_checks() -> None:
    with pytest.raises(ValidationFailed):
        RouteTable("clf", [])
    with pytest.raises(ValidationFailed):
        RouteTable("clf", [Route("a", constant(0, "1")), Route("a", constant(0, "2"))])
    with pytest.raises(ValidationFailed):
        RouteTable("clf", [Route("a", constant(0, "1"), 0)])
    with pytest.raises(ValidationFailed):
        Route("a", constant(0, "1"), -1)
    described = RouteTable("clf", [Route("a", constant(0, "1"), 3),
                                   Route("b", constant(0, "2"), 1)]).describe()  # fmt: skip
    assert [r["weight"] for r in described["routes"]] == [75.0, 25.0]
