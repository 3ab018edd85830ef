"""The ASGI app in-process: answers, every error status, never a 500, fallbacks, metrics."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
import pytest
from serving_helpers import COLUMNS, client, constant, failing, record, run

from conveyor.serving import (
    BatchingConfig,
    FunctionPredictor,
    InferenceApp,
    OnnxPredictor,
    Route,
    Router,
    RouteTable,
)

HEX32 = set("0123456789abcdef")


def _app(predictor: Any, **kwargs: Any) -> InferenceApp:
    return InferenceApp(Router([RouteTable("clf", predictor)]), **kwargs)


def test_invocations_answer_with_ids_version_and_request_id(
    make_onnx: Callable[..., OnnxPredictor], training: tuple[np.ndarray, np.ndarray]
) -> None:
    from sklearn.ensemble import RandomForestClassifier

    x, y = training
    predictor = make_onnx(version="3")
    expected = predictor.predict_matrix(x[:5])
    assert (
        expected.tolist()
        == RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0)
        .fit(x, y)
        .predict(x[:5])
        .tolist()
    )
    rows = [dict(zip(COLUMNS, map(float, r), strict=True)) for r in x[:5]]

    async def go() -> None:
        async with client(_app(predictor)) as c:
            r = await c.post("/invocations", json={"records": rows},
                             headers={"X-Request-Id": "abc-123"})  # fmt: skip
            assert r.status_code == 200
            assert r.headers["x-request-id"] == "abc-123"
            assert r.headers["x-conveyor-model-version"] == "3"
            body = r.json()
            assert body["predictions"] == expected.tolist()
            assert body["model_version"] == "3"
            ids = body["prediction_ids"]
            assert len(ids) == 5 and len(set(ids)) == 5
            assert all(len(i) == 32 and set(i) <= HEX32 for i in ids)
            r = await c.post("/endpoints/clf/invocations", json={"records": rows[0]})
            assert r.status_code == 200 and r.json()["predictions"] == expected[:1].tolist()
            assert len(r.headers["x-request-id"]) == 16  # generated when not given

    run(go())


def test_v2_infer_metadata_and_health(make_onnx: Callable[..., OnnxPredictor]) -> None:
    rec = record(1)

    async def go() -> None:
        async with client(_app(make_onnx(version="2"))) as c:
            tensor = {"name": "input", "shape": [1, 4], "datatype": "FP32"}
            body = {"id": "r1", "inputs": [{**tensor, "data": list(rec.values())}]}
            r = await c.post("/v2/models/clf/infer", json=body)
            assert r.status_code == 200, r.text
            out = r.json()
            assert out["id"] == "r1" and out["model_version"] == "2"
            assert out["outputs"][0]["datatype"] == "INT64"
            assert out["outputs"][0]["shape"] == [1]
            assert len(out["parameters"]["prediction_ids"]) == 1
            assert (await c.get("/v2/health/live")).json() == {"live": True}
            assert (await c.get("/v2/health/ready")).json() == {"ready": True}
            assert (await c.get("/v2/models/clf/ready")).status_code == 200
            meta = (await c.get("/v2/models/clf")).json()
            assert meta["name"] == "clf" and meta["versions"] == ["2"]
            # one layout, in the dtype the model receives (this ONNX model takes float32)
            assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}]
            assert meta["parameters"]["columns"] == COLUMNS
            assert meta["outputs"][0] == {"name": "predict", "datatype": "INT64", "shape": [-1]}
            assert (await c.get("/v2")).status_code == 200

    run(go())


JSON = {"content-type": "application/json"}


def test_error_statuses(make_onnx: Callable[..., OnnxPredictor]) -> None:
    async def go() -> None:
        async with client(_app(make_onnx(), max_body_bytes=2000)) as c:
            r = await c.post("/invocations", json={"records": [{"f0": 1.0, "f1": "x", "z": 1}]})
            assert r.status_code == 422
            err = r.json()["error"]
            assert err["code"] == "invalid"
            fields = {(e["field"], e["error"]) for e in err["details"]["errors"]}
            assert fields == {("f1", "expected a number, got str"), ("f2", "missing"),
                              ("f3", "missing"), ("z", "unexpected field")}  # fmt: skip
            r = await c.post("/invocations", content=b'{"records": [', headers=JSON)
            assert r.status_code == 400 and r.json()["error"]["code"] == "malformed"
            r = await c.post("/invocations", content=b"x" * 2001, headers=JSON)
            assert r.status_code == 413 and r.json()["error"]["details"]["limit"] == 2000
            # /v2 routes answer the protocol's {"error": "<message>"}
            r = await c.post("/v2/models/nope/infer", json={"inputs": []})
            assert r.status_code == 404 and "'nope'" in r.json()["error"]
            r = await c.get("/v2/models/nope")
            assert r.status_code == 404 and "'nope'" in r.json()["error"]
            r = await c.get("/nowhere")
            assert r.status_code == 404 and "/nowhere" in r.json()["error"]["message"]
            r = await c.get("/invocations")
            assert r.status_code == 405 and r.headers["allow"] == "POST"
            r = await c.post("/metrics")
            assert r.status_code == 405 and r.headers["allow"] == "GET"
            r = await c.delete("/v2/models/clf/infer")
            assert r.status_code == 405

    run(go())


def test_streamed_body_over_the_limit_is_413(make_onnx: Callable[..., OnnxPredictor]) -> None:
    """No Content-Length: the size is counted as the chunks arrive."""
    app = _app(make_onnx(), max_body_bytes=100)
    sent: list[dict[str, Any]] = []
    chunks = [b'{"records": [' + b" " * 60, b" " * 60, b"]}"]

    async def receive() -> dict[str, Any]:
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"content-type", b"application/json")]
    scope = {"type": "http", "method": "POST", "path": "/invocations", "headers": headers}
    run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert orjson.loads(sent[1]["body"])["error"]["code"] == "too_large"


GARBAGE = [
    b"",
    b"null",
    b"[]",
    b"123",
    b'"text"',
    b"\xff\xfe",
    b'{"records": null}',
    b'{"records": [[]]}',
    b'{"records": [1, 2]}',
    b'{"records": [{"f0": {"a": 1}}]}',
    b'{"dataframe_split": {"columns": 5, "data": [[1]]}}',
    b'{"dataframe_split": {"columns": ["f0"], "data": [1]}}',
    b'{"instances": [[1e999, 1, 1, 1]]}',
    b'{"instances": {"f0": [1], "f1": [1, 2], "f2": [1], "f3": [1]}}',
    b'{"inputs": [null]}',
    b'{"records": [{"f0": 1, "f1": 1, "f2": 1, "f3": 1}], "inputs": 5}',
]


def test_bad_input_never_yields_500(make_onnx: Callable[..., OnnxPredictor]) -> None:
    async def go() -> None:
        async with client(_app(make_onnx())) as c:
            for body in GARBAGE:
                for path in ("/invocations", "/v2/models/clf/infer", "/feedback"):
                    r = await c.post(path, content=body)
                    assert r.status_code < 500 or r.status_code == 503, (path, body, r.text)
                    assert "error" in r.json() or r.status_code == 200
            r = await c.post("/invocations", json={"records": [record()]})
            assert r.status_code == 200

    run(go())


def test_model_failure_is_503_with_error_id_and_the_server_keeps_serving(
    make_onnx: Callable[..., OnnxPredictor],
) -> None:
    switch = {"fail": True}
    healthy = make_onnx()

    def sometimes(frame: Any) -> Any:
        if switch["fail"]:
            raise ValueError("model exploded")
        return healthy.predict_matrix(frame.to_numpy(dtype=np.float32))

    flaky = FunctionPredictor(sometimes, name="clf", version="1", columns=COLUMNS)

    async def go() -> None:
        async with client(_app(flaky)) as c:
            r = await c.post("/invocations", json={"records": [record()]})
            assert r.status_code == 503
            err = r.json()["error"]
            assert err["code"] == "model_error" and len(err["details"]["error_id"]) == 16
            assert err["details"]["error_id"] in err["message"]
            switch["fail"] = False
            r = await c.post("/invocations", json={"records": [record()]})
            assert r.status_code == 200
            metrics = (await c.get("/metrics")).text
            assert 'conveyor_errors_total{code="model_error",endpoint="clf"' in metrics

    run(go())


def test_fallback_answers_when_the_primary_raises(make_onnx: Callable[..., OnnxPredictor]) -> None:
    table = RouteTable("clf", [Route("primary", failing("2"))],
                       fallback=Route("fallback", constant(7, "1")))  # fmt: skip

    async def go() -> None:
        async with client(InferenceApp(Router([table]))) as c:
            for _ in range(3):
                r = await c.post("/invocations", json={"records": [record(), record(1)]})
                assert r.status_code == 200
                assert r.json()["predictions"] == [7, 7]
                assert r.json()["model_version"] == "1"
                assert r.headers["x-conveyor-route"] == "fallback"

    run(go())


def test_fallback_answers_when_the_primary_misses_its_deadline(
    make_onnx: Callable[..., OnnxPredictor],
) -> None:
    release = threading.Event()
    entered = threading.Event()

    def stuck(frame: Any) -> Any:
        entered.set()
        release.wait(10)
        return np.zeros(len(frame), dtype=np.int64)

    slow = FunctionPredictor(stuck, name="clf", version="2", columns=COLUMNS)
    table = RouteTable("clf", slow, fallback=make_onnx(version="1"), deadline_ms=50)

    async def go() -> None:
        async with client(InferenceApp(Router([table]))) as c:
            r = await c.post("/invocations", json={"records": [record()]})
            assert entered.is_set()
            release.set()
            assert r.status_code == 200, r.text
            assert r.headers["x-conveyor-route"] == "fallback"
            assert r.json()["model_version"] == "1"

    run(go())


def test_a_missed_deadline_without_fallback_says_so() -> None:
    release = threading.Event()

    def stuck(frame: Any) -> Any:
        release.wait(10)
        return np.zeros(len(frame), dtype=np.int64)

    slow = FunctionPredictor(stuck, name="clf", version="2", columns=COLUMNS)
    table = RouteTable("clf", slow, deadline_ms=30)

    async def go() -> None:
        async with client(InferenceApp(Router([table]))) as c:
            r = await c.post("/invocations", json={"records": [record()]})
            release.set()
            assert r.status_code == 503
            message = r.json()["error"]["message"]
            assert "version 2 missed its deadline of 30 ms; error id" in message

    run(go())


def test_metrics_expose_labelled_series(make_onnx: Callable[..., OnnxPredictor]) -> None:
    async def go() -> None:
        async with client(_app(make_onnx(version="5"))) as c:
            for _ in range(3):
                assert (await c.post("/invocations", json={"records": [record()]})).is_success
            await c.post("/invocations", json={"records": [{"f0": 1}]})
            text = (await c.get("/metrics")).text
        labels = 'endpoint="clf",model_version="5",route="primary"'
        assert f'conveyor_requests_total{{{labels},status="200"}} 3.0' in text
        assert f'conveyor_requests_total{{{labels},status="422"}} 1.0' in text
        assert f"conveyor_request_latency_seconds_count{{{labels}}} 4.0" in text
        assert 'conveyor_batch_size_count{endpoint="clf",model_version="5"} 3.0' in text
        assert "conveyor_prediction_log_dropped_total 0.0" in text

    run(go())


@pytest.mark.parametrize("rows", [1, 3])
def test_function_predictor_with_typed_columns(rows: int) -> None:
    cols = [("age", "long"), ("plan", "string")]

    def score(frame: Any) -> Any:
        return (frame["age"].astype(int) * 2).to_numpy()

    app = InferenceApp(Router([RouteTable("f", FunctionPredictor(score, name="f", version="1",
                                                                  columns=cols))]))  # fmt: skip
    recs = [{"age": i + 1, "plan": "pro"} for i in range(rows)]

    async def go() -> None:
        async with client(app) as c:
            r = await c.post("/invocations", json={"dataframe_records": recs})
            assert r.status_code == 200, r.text
            assert r.json()["predictions"] == [2 * (i + 1) for i in range(rows)]
            whole = await c.post("/invocations", json={"records": {"age": 41.0, "plan": "x"}})
            assert whole.status_code == 200 and whole.json()["predictions"] == [82]
            huge = await c.post("/invocations", json={"records": {"age": 1e19, "plan": "x"}})
            assert huge.status_code == 422
            assert "1e+19 is outside the int64 range" in huge.text
            big = await c.post("/invocations", json={"records": {"age": 2**63, "plan": "x"}})
            assert big.status_code == 422 and "outside the int64 range" in big.text
            half = await c.post("/invocations", json={"records": {"age": 41.5, "plan": "x"}})
            assert half.status_code == 422
            assert half.json()["error"]["details"]["errors"] == [
                {"field": "age", "error": "expected an integer, got float", "row": 0}
            ]

    run(go())


@pytest.mark.parametrize("batching", [None, BatchingConfig()], ids=["direct", "batched"])
def test_class_probabilities_when_asked(
    make_onnx: Callable[..., OnnxPredictor], batching: BatchingConfig | None
) -> None:
    model = make_onnx()
    recs = [record(i) for i in range(3)]
    expected = model.session.run(None, {"X": np.array([[r[c] for c in COLUMNS] for r in recs],
                                                      dtype=np.float32)})[1]  # fmt: skip

    async def go() -> None:
        async with client(_app(model, batching=batching)) as c:
            plain = await c.post("/invocations", json={"records": recs})
            assert "probabilities" not in plain.json()
            asked = await c.post(
                "/invocations", json={"records": recs, "params": {"probabilities": True}}
            )
            body = asked.json()
            assert body["predictions"] == plain.json()["predictions"]
            np.testing.assert_allclose(body["probabilities"], expected, rtol=1e-6)
            assert "classes" not in body  # plain ONNX bytes do not say their class order
            v2 = await c.post(
                "/v2/models/clf/infer",
                json={"inputs": [{"name": "input", "shape": [3, 4], "datatype": "FP64",
                                  "data": [[r[c] for c in COLUMNS] for r in recs]}],
                      "outputs": [{"name": "predict"}, {"name": "probabilities"}]},
            )  # fmt: skip
            tensors = {o["name"]: o for o in v2.json()["outputs"]}
            assert tensors["probabilities"]["shape"] == [3, 2]
            np.testing.assert_allclose(tensors["probabilities"]["data"], expected.reshape(-1),
                                       rtol=1e-6)  # fmt: skip
            bad = await c.post(
                "/invocations", json={"records": recs, "params": {"probabilities": "yes"}}
            )
            assert bad.status_code == 422
            assert bad.json()["error"]["details"]["errors"][0]["field"] == "params.probabilities"
            typo = await c.post(
                "/invocations", json={"records": recs, "params": {"probabilites": True}}
            )
            assert typo.status_code == 422 and "unknown params ['probabilites']" in typo.text
            odd = await c.post(
                "/v2/models/clf/infer",
                json={"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP64",
                                  "data": [1.0, 2.0, 3.0, 4.0]}],
                      "outputs": [{"name": "proba"}]},
            )  # fmt: skip
            assert odd.status_code == 422 and "unknown requested output 'proba'" in odd.text

    run(go())


def test_probabilities_from_a_model_without_them_is_a_clear_422() -> None:
    async def go() -> None:
        async with client(_app(constant(1, "3"))) as c:
            r = await c.post(
                "/invocations", json={"records": [record()], "params": {"probabilities": True}}
            )
            assert r.status_code == 422
            assert "version 3 gives no class probabilities" in r.json()["error"]["message"]

    run(go())


def test_a_fallback_without_probabilities_answers_with_predictions_only() -> None:
    def broken(frame: Any) -> Any:
        raise RuntimeError("scores exploded")

    primary = FunctionPredictor(lambda f: np.zeros(len(f)), name="clf", version="2",
                                columns=COLUMNS, proba_fn=broken, classes=[0, 1])  # fmt: skip
    table = RouteTable("clf", [Route("primary", primary)],
                       fallback=Route("fallback", constant(7, "1")))  # fmt: skip

    async def go() -> None:
        async with client(InferenceApp(Router([table]))) as c:
            r = await c.post(
                "/invocations", json={"records": [record()], "params": {"probabilities": True}}
            )
            assert r.status_code == 200 and r.json()["predictions"] == [7]
            assert "probabilities" not in r.json()

    run(go())
