"""Bad inference input is a 4xx naming the problem (issue 10 items 4 and 8), feedback goes
where it says (issue 9 item 8), and random bodies never get a 5xx."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pyarrow.dataset as ds
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serving_helpers import client, record, run

from conveyor.serving import InferenceApp, OnnxPredictor, PredictionLog, Router, RouteTable

ROW = [0.5, -1.0, 2.0, 0.0]


def _v2(data: list[Any], datatype: str = "FP64", **extra: Any) -> dict[str, Any]:
    return {"inputs": [{"name": "input", "shape": [1, 4], "datatype": datatype, "data": data}],
            **extra}  # fmt: skip


def test_numbers_the_model_cannot_hold_are_refused(make_onnx: Callable[..., OnnxPredictor]) -> None:
    app = InferenceApp(Router([RouteTable("clf", make_onnx())]))  # a float32 model

    async def go() -> None:
        async with client(app) as c:
            r = await c.post("/invocations", json={"instances": [[1e308, 0.0, 0.0, 0.0]]})
            assert r.status_code == 422
            err = r.json()["error"]["details"]["errors"][0]
            assert err["field"] == "f0" and "outside the float32 range" in err["error"]
            r = await c.post("/v2/models/clf/infer", json=_v2([1e308, 0.0, 0.0, 0.0]))
            assert r.status_code == 422 and "float32" in r.json()["error"]
            r = await c.post("/v2/models/clf/infer", json=_v2([1e39, 0, 0, 0], "FP32"))
            assert r.status_code == 422 and "outside the float32 range" in r.json()["error"]
            r = await c.post("/v2/models/clf/infer", json=_v2([1000, -5, 0, 1], "UINT8"))
            assert r.status_code == 422 and "1000 is not a UINT8 value (0..255)" in r.text
            r = await c.post("/v2/models/clf/infer", json=_v2([1, 0, 1, 1], "BOOL"))
            assert r.status_code == 422 and "is not a BOOL value" in r.text
            r = await c.post("/v2/models/clf/infer", json=_v2(ROW, id={"a": 1}))
            assert r.status_code == 422 and r.json()["error"] == "'id' must be a string, got dict"
            ok = await c.post("/v2/models/clf/infer", json=_v2([3, 0, 1, 2], "UINT8", id="r"))
            assert ok.status_code == 200 and ok.json()["id"] == "r"

    run(go())


def test_paths_and_body_types_that_are_refused(make_onnx: Callable[..., OnnxPredictor]) -> None:
    app = InferenceApp(Router([RouteTable("clf", make_onnx())]))
    body = orjson.dumps({"records": [record()]})

    async def go() -> None:
        async with client(app) as c:
            r = await c.post("/endpoints//invocations", json={"records": [record()]})
            assert r.status_code == 404 and "''" in r.json()["error"]["message"]
            # what a page on another site can send without a CORS preflight
            for ctype in ("text/plain", "application/x-www-form-urlencoded",
                          "multipart/form-data; boundary=x"):  # fmt: skip
                for path in ("/invocations", "/endpoints/clf/invocations", "/feedback",
                             "/v2/models/clf/infer"):  # fmt: skip
                    r = await c.post(path, content=body, headers={"content-type": ctype})
                    assert r.status_code == 415, (path, ctype, r.text)
                    assert "application/json" in r.text
            r = await c.post("/invocations", content=body)  # no type: as MLflow, refused
            assert r.status_code == 415
            utf8 = {"content-type": "application/json; charset=utf-8"}
            r = await c.post("/invocations", content=body, headers=utf8)
            assert r.status_code == 200
            r = await c.post("/v2/models/clf/infer", content=orjson.dumps(_v2(ROW)))
            assert r.status_code == 200  # tritonclient sends JSON without a Content-Type

    run(go())


def _two_endpoints(make_onnx: Callable[..., OnnxPredictor], log: PredictionLog) -> InferenceApp:
    tables = [RouteTable("first", make_onnx(name="first")),
              RouteTable("churn-api", make_onnx(name="churn-api"))]  # fmt: skip
    return InferenceApp(Router(tables), prediction_log=log)


def _feedback(root: Path, endpoint: str) -> list[dict[str, Any]]:
    folder = root / "feedback" / f"endpoint={endpoint}"
    if not folder.exists():
        return []
    rows: list[dict[str, Any]] = ds.dataset(folder, format="parquet").to_table().to_pylist()
    return rows


def test_feedback_goes_to_the_endpoint_it_names_and_counts_matches(
    make_onnx: Callable[..., OnnxPredictor], tmp_path: Path
) -> None:
    async def predict() -> list[str]:
        async with client(_two_endpoints(make_onnx, PredictionLog(tmp_path))) as c:
            r = await c.post("/endpoints/churn-api/invocations",
                             json={"records": [record(1), record(2)]})  # fmt: skip
            ids: list[str] = r.json()["prediction_ids"]
            return ids  # the log is written when the app shuts down

    ids = run(predict())

    async def label() -> None:
        async with client(_two_endpoints(make_onnx, PredictionLog(tmp_path))) as c:
            body = {"endpoint": "churn-api",
                    "feedback": [{"prediction_id": ids[0], "label": 1},
                                 {"prediction_id": ids[1], "label": 0},
                                 {"prediction_id": "f" * 32, "label": 1}]}  # fmt: skip
            r = await c.post("/feedback", json=body)
            assert r.status_code == 200, r.text
            assert r.json() == {"accepted": 3, "matched": 2}
            # the same ids are not predictions of the default endpoint
            r = await c.post("/feedback", json={"prediction_id": ids[0], "label": 1})
            assert r.json() == {"accepted": 1, "matched": 0}
            r = await c.post("/feedback", json={"endpoint": "churn-api", "feedbak": []})
            assert r.status_code == 422 and "unknown key(s) ['feedbak']" in r.text
            r = await c.post("/feedback", json={"prediction_id": ids[0], "label": 1, "lable": 2})
            assert r.status_code == 422 and "lable" in r.text
            other = {"prediction_id": ids[0], "label": 1, "endpoint": "first"}
            mixed = {"endpoint": "churn-api", "feedback": [other]}
            r = await c.post("/feedback", json=mixed)
            assert r.status_code == 422 and "differs from the body's endpoint" in r.text

    run(label())
    assert sorted(r["prediction_id"] for r in _feedback(tmp_path, "churn-api")) == sorted(
        [ids[0], ids[1], "f" * 32]
    )
    assert [r["prediction_id"] for r in _feedback(tmp_path, "first")] == [ids[0]]


@pytest.mark.parametrize(
    "body",
    [
        {"prediction_id": "ab", "label": 1, "endpoint": []},
        {"prediction_id": "ab", "label": 1, "endpoint": {"a": 1}},
        {"prediction_id": ["ab"], "label": 1},
        {"prediction_id": "ab", "label": {"x": 1}},
        {"prediction_id": "ab", "label": None},
        {"endpoint": [], "feedback": [{"prediction_id": "ab", "label": 1}]},
        {"feedback": {"prediction_id": "ab"}},
        {"prediction_id": "a" * 201, "label": 1},
    ],
)
def test_every_feedback_field_is_validated(
    make_onnx: Callable[..., OnnxPredictor], tmp_path: Path, body: Any
) -> None:
    async def go() -> None:
        async with client(_two_endpoints(make_onnx, PredictionLog(tmp_path))) as c:
            r = await c.post("/feedback", json=body)
            assert r.status_code == 422, r.text
            assert r.json()["error"]["details"]["errors"]

    run(go())


# -- property-based: random bodies on every POST route never get a 5xx ----------------------
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12,
)  # fmt: skip
_keys = st.sampled_from(["prediction_id", "label", "endpoint", "feedback", "inputs", "records",
                         "instances", "dataframe_split", "outputs", "parameters", "id", "name",
                         "shape", "datatype", "data", "f0", "params"])  # fmt: skip
_shaped = st.recursive(
    _json,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=5),
    max_leaves=20,
)
_paths = st.sampled_from(["/feedback", "/invocations", "/endpoints/clf/invocations",
                          "/v2/models/clf/infer", "/v2/models/clf/versions/1/infer"])  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(path=_paths, body=_shaped, binary=st.binary(max_size=24), use_binary=st.booleans())
def test_random_bodies_never_get_a_5xx(
    fuzz_app: Callable[[], httpx.AsyncClient], path: str, body: Any, binary: bytes,
    use_binary: bool,
) -> None:  # fmt: skip
    head = json.dumps(body).encode()  # the stdlib writes any int (and Infinity: a 400)
    headers = {"content-type": "application/json"}
    content = head
    if use_binary and path.startswith("/v2"):
        headers["inference-header-content-length"] = str(len(head))
        content = head + binary

    async def go() -> int:
        async with fuzz_app() as c:
            r = await c.post(path, content=content, headers=headers)
            return r.status_code

    status = run(go())
    assert status < 500, (path, body, status)


@pytest.fixture
def fuzz_app(
    make_onnx: Callable[..., OnnxPredictor], tmp_path: Path
) -> Callable[[], httpx.AsyncClient]:
    app = InferenceApp(Router([RouteTable("clf", make_onnx())]),
                       prediction_log=PredictionLog(tmp_path))  # fmt: skip
    transport = httpx.ASGITransport(app)

    def make() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=transport, base_url="http://test")

    return make
