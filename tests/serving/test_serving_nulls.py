"""JSON null in a request follows the signature: missing (NaN) in a number column or an
optional one, else a 422 saying "null is not allowed for column X"."""

from __future__ import annotations

from typing import Any

import numpy as np
from serving_helpers import client, run

from conveyor.serving import Column, FunctionPredictor, InferenceApp, Router, RouteTable

COLUMNS = [Column("price", "double"), Column("rooms", "long"), Column("floor", "long", False)]


def _app(seen: list[Any]) -> InferenceApp:
    def model(frame: Any) -> Any:
        seen.append(frame.copy())
        return np.zeros(len(frame))

    predictor = FunctionPredictor(model, name="flat", version="1", columns=COLUMNS)
    return InferenceApp(Router([RouteTable("flat", predictor)]))


def test_null_is_missing_where_the_signature_allows_it() -> None:
    seen: list[Any] = []

    async def go() -> None:
        async with client(_app(seen)) as c:
            r = await c.post(
                "/invocations",
                json={"records": [{"price": None, "rooms": 3, "floor": None},
                                  {"price": 170.4, "rooms": 2, "floor": 1}]},
            )  # fmt: skip
            assert r.status_code == 200, r.text
            r = await c.post(
                "/v2/models/flat/infer",
                json={"inputs": [
                    {"name": "price", "shape": [1], "datatype": "FP64", "data": [None]},
                    {"name": "rooms", "shape": [1], "datatype": "INT64", "data": [4]},
                    {"name": "floor", "shape": [1], "datatype": "INT64", "data": [None]},
                ]},
            )  # fmt: skip
            assert r.status_code == 200, r.text

    run(go())
    first, v2 = seen
    assert np.isnan(first["price"][0]) and first["price"][1] == 170.4
    assert np.isnan(first["floor"][0]) and first["rooms"].tolist() == [3, 2]
    assert np.isnan(v2["price"][0]) and np.isnan(v2["floor"][0])


def test_null_in_a_required_column_names_it() -> None:
    seen: list[Any] = []

    async def go() -> None:
        async with client(_app(seen)) as c:
            for body in (
                {"records": [{"price": 1.0, "rooms": None, "floor": 1}]},
                {"dataframe_split": {"columns": ["price", "rooms", "floor"],
                                     "data": [[1.0, None, 1]]}},
            ):  # fmt: skip
                r = await c.post("/invocations", json=body)
                assert r.status_code == 422, r.text
                error = r.json()["error"]
                assert "null is not allowed for column 'rooms'" in error["message"]
                assert error["details"]["errors"][0]["field"] == "rooms"

    run(go())
    assert seen == []
