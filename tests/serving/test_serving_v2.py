"""The Open Inference Protocol v2 as stock clients speak it: the binary tensor extension,
the protocol's error shape, versioned routes and metadata a client can follow."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
import pytest
from serving_helpers import COLUMNS, client, record, run

from conveyor.errors import ValidationFailed
from conveyor.serving import FunctionPredictor, InferenceApp, OnnxPredictor, Router, RouteTable
from conveyor.serving.binary import DTYPES, decode_tensor, encode_tensor

ROWS = np.array([[0.5, -1.25, 2.0, 0.0], [1.0, 2.0, -3.0, 4.5], [-0.5, 0.25, 0.0, 1.0]])


def _app(*predictors: Any, **kwargs: Any) -> InferenceApp:
    tables = [RouteTable(p.name, p) for p in predictors]
    return InferenceApp(Router(tables), **kwargs)


def _binary(payload: dict[str, Any], *tensors: bytes) -> tuple[bytes, dict[str, str]]:
    """A request of the binary extension: JSON header, then the raw tensors."""
    head = orjson.dumps(payload)
    headers = {"inference-header-content-length": str(len(head))}
    return head + b"".join(tensors), headers


def _raw_input(name: str, values: np.ndarray, datatype: str) -> tuple[dict[str, Any], bytes]:
    raw = encode_tensor(values)
    entry = {"name": name, "shape": list(values.shape), "datatype": datatype,
             "parameters": {"binary_data_size": len(raw)}}  # fmt: skip
    return entry, raw


def _outputs(body: bytes, header_length: str | None) -> dict[str, np.ndarray]:
    """Each output tensor of a v2 response, decoded from JSON or from the binary tail."""
    if header_length is None:
        head, tail = orjson.loads(body), b""
    else:
        n = int(header_length)
        head, tail = orjson.loads(body[:n]), body[n:]
    got, pos = {}, 0
    for out in head["outputs"]:
        if "data" in out:
            got[out["name"]] = np.asarray(out["data"]).reshape(out["shape"])
            continue
        size = out["parameters"]["binary_data_size"]
        chunk = memoryview(tail)[pos : pos + size]
        got[out["name"]] = decode_tensor(out["name"], out["datatype"], out["shape"], chunk)
        pos += size
    return got


@pytest.mark.parametrize("datatype", sorted(set(DTYPES) - {"BOOL"}))
def test_binary_inputs_of_every_numeric_datatype(
    make_onnx: Callable[..., OnnxPredictor], datatype: str
) -> None:
    """Every numeric datatype arrives as raw little-endian bytes and predicts as JSON does."""
    values = (np.abs(ROWS) * 2).round().astype(DTYPES[datatype])  # fits every type
    expected = make_onnx().predict_matrix(values.astype(np.float32)).tolist()

    async def go() -> None:
        async with client(_app(make_onnx())) as c:
            entry, raw = _raw_input("input", values, datatype)
            body, headers = _binary({"inputs": [entry]}, raw)
            r = await c.post("/v2/models/clf/infer", content=body, headers=headers)
            assert r.status_code == 200, r.text
            assert "inference-header-content-length" not in r.headers  # JSON unless asked
            assert r.json()["outputs"][0]["data"] == expected

    run(go())


def test_binary_outputs_when_asked_for_all_or_per_output(
    make_onnx: Callable[..., OnnxPredictor],
) -> None:
    model = make_onnx()
    labels, proba = model.predict_scored(ROWS.astype(np.float32))

    async def go() -> None:
        async with client(_app(model)) as c:
            entry, raw = _raw_input("input", ROWS, "FP64")
            body, headers = _binary({"inputs": [entry], "parameters": {"binary_data_output": True}},
                                    raw)  # fmt: skip
            r = await c.post("/v2/models/clf/infer", content=body, headers=headers)
            assert r.status_code == 200, r.text
            assert r.headers["content-type"] == "application/octet-stream"
            got = _outputs(r.content, r.headers["inference-header-content-length"])
            assert got["predict"].tolist() == labels.tolist()
            # per output: probabilities as bytes, predict as JSON
            asked = [{"name": "predict", "parameters": {"binary_data": False}},
                     {"name": "probabilities", "parameters": {"binary_data": True}}]  # fmt: skip
            body, headers = _binary({"inputs": [entry], "outputs": asked}, raw)
            r = await c.post("/v2/models/clf/infer", content=body, headers=headers)
            head = orjson.loads(r.content[: int(r.headers["inference-header-content-length"])])
            assert "data" in head["outputs"][0] and "data" not in head["outputs"][1]
            got = _outputs(r.content, r.headers["inference-header-content-length"])
            assert got["predict"].tolist() == labels.tolist()
            np.testing.assert_allclose(got["probabilities"], proba)

    run(go())


def test_bytes_and_bool_tensors_per_column() -> None:
    """BYTES with 4-byte little-endian length prefixes and BOOL as bytes 0/1, one tensor per
    column, reach a model with string and boolean columns."""
    seen: list[Any] = []

    def fn(frame: Any) -> Any:
        seen.append(frame.to_dict("records"))
        return np.arange(len(frame))

    columns = [("plan", "string"), ("vip", "bool"), ("age", "double")]
    model = FunctionPredictor(fn, name="mixed", version="1", columns=columns)
    plans = "".join(["pro", "free ü"]).encode()
    raw_plan = struct.pack("<I", 3) + plans[:3] + struct.pack("<I", len(plans) - 3) + plans[3:]
    raw_vip = bytes([1, 0])
    raw_age = np.array([30.5, 41.0]).tobytes()

    async def go() -> None:
        async with client(_app(model)) as c:
            inputs = [
                {"name": "plan", "shape": [2], "datatype": "BYTES",
                 "parameters": {"binary_data_size": len(raw_plan)}},
                {"name": "vip", "shape": [2], "datatype": "BOOL",
                 "parameters": {"binary_data_size": 2}},
                {"name": "age", "shape": [2], "datatype": "FP64",
                 "parameters": {"binary_data_size": 16}},
            ]  # fmt: skip
            body, headers = _binary({"inputs": inputs}, raw_plan, raw_vip, raw_age)
            r = await c.post("/v2/models/mixed/infer", content=body, headers=headers)
            assert r.status_code == 200, r.text
            meta = (await c.get("/v2/models/mixed")).json()
            assert [(i["name"], i["datatype"]) for i in meta["inputs"]] == [
                ("plan", "BYTES"), ("vip", "BOOL"), ("age", "FP64")]  # fmt: skip

    run(go())
    assert seen[0] == [{"plan": "pro", "vip": True, "age": 30.5},
                       {"plan": "free ü", "vip": False, "age": 41.0}]  # fmt: skip


def test_broken_binary_bodies_are_clear_4xx(make_onnx: Callable[..., OnnxPredictor]) -> None:
    entry, raw = _raw_input("input", ROWS, "FP64")

    async def post(c: Any, body: bytes, headers: dict[str, str]) -> str:
        r = await c.post("/v2/models/clf/infer", content=body, headers=headers)
        assert 400 <= r.status_code < 500, r.text
        message: str = r.json()["error"]
        return message

    async def go() -> None:
        async with client(_app(make_onnx())) as c:
            body, headers = _binary({"inputs": [entry]}, raw[:-8])
            assert "binary_data_size 96 does not fit the 88 bytes" in await post(c, body, headers)
            body, headers = _binary({"inputs": [entry]}, raw)
            assert "not a length" in await post(
                c, body, {"inference-header-content-length": "99999"}
            )
            assert "needs the Inference-Header-Content-Length" in await post(
                c, orjson.dumps({"inputs": [entry]}), {}
            )
            body, headers = _binary({"inputs": [entry]}, raw + b"\0")
            assert "bytes after the last binary input" in await post(c, body, headers)

    run(go())
    with pytest.raises(ValidationFailed, match="length prefix"):
        decode_tensor("s", "BYTES", [1], memoryview(b"\x05\x00"))
    with pytest.raises(ValidationFailed, match="0 or 1"):
        decode_tensor("b", "BOOL", [1], memoryview(b"\x07"))


def test_v2_errors_have_the_protocol_shape_and_own_routes_keep_theirs(
    make_onnx: Callable[..., OnnxPredictor],
) -> None:
    async def go() -> None:
        async with client(_app(make_onnx())) as c:
            r = await c.post("/v2/models/nope/infer", json={"inputs": []})
            body = r.json()
            assert r.status_code == 404 and isinstance(body["error"], str)
            assert "'nope'" in body["error"] and body["code"] == "not_found"
            r = await c.get("/v2/models/nope/ready")
            assert r.status_code == 404 and isinstance(r.json()["error"], str)
            r = await c.post("/endpoints/nope/invocations", json={"records": [record()]})
            assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"

    run(go())


def test_versioned_routes_answer_for_the_served_versions(
    make_onnx: Callable[..., OnnxPredictor],
) -> None:
    from conveyor.serving import Route

    canary = make_onnx(version="4", model="linear")
    table = RouteTable("clf", [Route("primary", make_onnx(version="3"), 90),
                               Route("canary", canary, 10)])  # fmt: skip
    tensor = {"name": "input", "shape": [3, 4], "datatype": "FP64", "data": ROWS.tolist()}

    async def go() -> None:
        async with client(InferenceApp(Router([table]))) as c:
            meta = (await c.get("/v2/models/clf")).json()
            assert meta["versions"] == ["3", "4"]
            assert (await c.get("/v2/models/clf/versions/4")).json()["versions"] == ["4"]
            assert (await c.get("/v2/models/clf/versions/4/ready")).status_code == 200
            for _ in range(5):  # always the named version, whatever the weights say
                r = await c.post("/v2/models/clf/versions/4/infer", json={"inputs": [tensor]})
                assert r.status_code == 200 and r.json()["model_version"] == "4"
            r = await c.post("/v2/models/clf/versions/9/infer", json={"inputs": [tensor]})
            assert r.status_code == 404
            assert (
                r.json()["error"] == "endpoint 'clf' does not serve version '9'; it serves "
                "['3', '4']"
            )
            assert (await c.get("/v2/models/clf/versions/9/ready")).status_code == 404

    run(go())


def test_following_the_metadata_literally_works(make_onnx: Callable[..., OnnxPredictor]) -> None:
    async def go() -> None:
        async with client(_app(make_onnx())) as c:
            meta = (await c.get("/v2/models/clf")).json()
            (spec,) = meta["inputs"]
            n = 3
            shape = [n if s == -1 else s for s in spec["shape"]]
            data = ROWS.astype(np.float32).reshape(-1).tolist()
            tensor = {"name": spec["name"], "datatype": spec["datatype"], "shape": shape,
                      "data": data}  # fmt: skip
            r = await c.post("/v2/models/clf/infer", json={"inputs": [tensor]})
            assert r.status_code == 200, r.text
            # the other layout: one FP64 tensor per column, named in parameters.columns
            columns = [{"name": col, "datatype": "FP64", "shape": [n], "data": ROWS[:, i].tolist()}
                       for i, col in enumerate(meta["parameters"]["columns"])]  # fmt: skip
            r2 = await c.post("/v2/models/clf/infer", json={"inputs": columns})
            assert r2.json()["outputs"][0]["data"] == r.json()["outputs"][0]["data"]

    run(go())


def test_mlflow_scoring_server_routes_and_csv(make_onnx: Callable[..., OnnxPredictor]) -> None:
    model = make_onnx()
    expected = model.predict_matrix(ROWS.astype(np.float32)).tolist()
    csv = ("f2,f0,f1,f3\n" + "\n".join(f"{r[2]},{r[0]},{r[1]},{r[3]}" for r in ROWS)).encode()

    async def go() -> None:
        async with client(_app(model)) as c:
            for path in ("/ping", "/health"):
                r = await c.get(path)
                assert r.status_code == 200 and r.text == "\n"
            assert (await c.get("/version")).text == __import__("conveyor").__version__
            r = await c.post("/invocations", content=csv, headers={"content-type": "text/csv"})
            assert r.status_code == 200, r.text
            assert r.json()["predictions"] == expected
            bad = csv.replace(b"-1.25", b"abc")
            r = await c.post("/invocations", content=bad,
                             headers={"content-type": "text/csv; charset=utf-8"})  # fmt: skip
            assert r.status_code == 422
            assert r.json()["error"]["details"]["errors"][0] == {
                "field": "f1", "error": "'abc' is not a number", "row": 0}  # fmt: skip
            # an empty cell is a missing value (NaN for a number column), as pandas reads it
            r = await c.post("/invocations", content=b"f0,f1,f2,f3\n1,,2,3\n",
                             headers={"content-type": "text/csv"})  # fmt: skip
            assert r.status_code == 200, r.text
            r = await c.post("/invocations", content=b"f0,f1\n1,2\n",
                             headers={"content-type": "text/csv"})  # fmt: skip
            assert r.status_code == 422 and "missing column" in r.text

    run(go())
    assert COLUMNS == ["f0", "f1", "f2", "f3"]
