"""Prediction and feedback logs: partitioned Parquet, every row after shutdown, back-pressure."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from serving_helpers import COLUMNS, client, record, run

from conveyor.artifacts import ArtifactStore
from conveyor.serving import (
    BatchingConfig,
    Column,
    FunctionPredictor,
    InferenceApp,
    OnnxPredictor,
    PredictionLog,
    Route,
    Router,
    RouteTable,
    Signature,
)


def _read(root: Path, kind: str = "predictions") -> pa.Table:
    return ds.dataset(root / kind, format="parquet", partitioning="hive").to_table()


def test_every_prediction_is_in_parquet_after_graceful_shutdown(
    make_onnx: Callable[..., OnnxPredictor], tmp_path: Path
) -> None:
    log = PredictionLog(tmp_path, flush_rows=7, flush_interval_s=3600)
    app = InferenceApp(Router([RouteTable("clf", make_onnx(version="4"))]), prediction_log=log)
    recs = [record(i) for i in range(30)]

    async def go() -> tuple[list[str], list[int]]:
        ids, preds = [], []
        async with client(app) as c:
            for i in range(0, 30, 3):
                r = await c.post("/invocations", json={"records": recs[i : i + 3]})
                ids += r.json()["prediction_ids"]
                preds += r.json()["predictions"]
        return ids, preds

    ids, preds = run(go())
    files = sorted(tmp_path.rglob("*.parquet"))
    assert files and not list(tmp_path.rglob("*.tmp"))
    for f in files:
        rel = f.relative_to(tmp_path).parts
        assert rel[0] == "predictions" and rel[1] == "endpoint=clf"
        assert rel[2].startswith("date=20") and rel[3].startswith("part-")
    table = pq.read_table(files[0])
    schema = table.schema
    assert schema.field("ts").type == pa.timestamp("ms", "UTC")
    assert schema.field("input_f0").type == pa.float32()  # what the float32 model received
    assert schema.field("latency_ms").type == pa.float64()
    assert schema.field("output_num").type == pa.float64()
    rows = _read(tmp_path).to_pylist()
    assert sorted(r["prediction_id"] for r in rows) == sorted(ids)
    by_id = {r["prediction_id"]: r for r in rows}
    for pid, pred, rec in zip(ids, preds, recs, strict=True):
        row = by_id[pid]
        assert row["endpoint"] == "clf" and row["model_version"] == "4"
        assert row["route"] == "primary" and row["output"] == str(pred)
        assert row["output_num"] == pred and row["latency_ms"] > 0
        assert np.isclose(row["input_f2"], rec["f2"], rtol=1e-6)
        assert row["shadow_of"] is None and row["agree"] is None
    assert log.written == 30 and log.dropped_total == 0


def test_feedback_is_recorded(make_onnx: Callable[..., OnnxPredictor], tmp_path: Path) -> None:
    log = PredictionLog(tmp_path)
    app = InferenceApp(Router([RouteTable("clf", make_onnx())]), prediction_log=log)

    async def go() -> list[str]:
        async with client(app) as c:
            r = await c.post("/invocations", json={"records": [record(1), record(2)]})
            ids = r.json()["prediction_ids"]
            one = await c.post("/feedback", json={"prediction_id": ids[0], "label": 1})
            # not on disk yet (the log writes every flush_interval_s): accepted, unmatched
            assert one.status_code == 200 and one.json() == {"accepted": 1, "matched": 0}
            many = await c.post(
                "/feedback", json=[{"prediction_id": ids[1], "label": "churned", "endpoint": "clf"}]
            )
            assert many.json() == {"accepted": 1, "matched": 0}
            bad = await c.post("/feedback", json=[{"label": 1}, {"prediction_id": "x"}])
            assert bad.status_code == 422
            fields = [e["field"] for e in bad.json()["error"]["details"]["errors"]]
            assert fields == ["prediction_id", "label"]
            typed = await c.post("/feedback", json={"prediction_id": 5, "label": 1})
            assert typed.json()["error"]["details"]["errors"][0]["error"] == (
                "expected a non-empty string of at most 200 characters"
            )
            unknown = await c.post("/feedback", json={"prediction_id": "x", "label": 1,
                                                      "endpoint": "nope"})  # fmt: skip
            assert unknown.status_code == 422
        return ids

    ids = run(go())
    rows = sorted(_read(tmp_path, "feedback").to_pylist(), key=lambda r: r["label"])
    assert [(r["prediction_id"], r["label"], r["label_num"]) for r in rows] == [
        (ids[1], '"churned"', None),
        (ids[0], "1", 1.0),
    ]
    assert all(r["endpoint"] == "clf" for r in rows)
    assert len(list((tmp_path / "feedback" / "endpoint=clf").glob("date=*/part-*.parquet"))) >= 1


def test_full_queue_drops_and_counts_without_failing_requests(
    make_onnx: Callable[..., OnnxPredictor], tmp_path: Path
) -> None:
    """The writer is not started, so the queue fills: requests still answer 200."""
    log = PredictionLog(tmp_path, max_queue_rows=5)
    app = InferenceApp(Router([RouteTable("clf", make_onnx())]), prediction_log=log)

    async def go() -> str:
        async with client(app) as c:
            log.close()  # writer stopped: nothing drains the queue from here on
            for i in range(8):
                r = await c.post("/invocations", json={"records": [record(i)]})
                assert r.status_code == 200
            return (await c.get("/metrics")).text

    text = run(go())
    assert log.dropped == 3
    assert "conveyor_prediction_log_dropped_total 3.0" in text
    assert "conveyor_prediction_log_queue_rows 5.0" in text


def test_sink_callback_into_the_artifact_store(tmp_path: Path) -> None:
    store = ArtifactStore.from_uri(str(tmp_path / "artifacts"))
    stored: dict[str, str] = {}
    log = PredictionLog(
        sink=lambda rel, data: stored.__setitem__(rel, store.put_bytes(data).sha256)
    )
    sig = Signature([Column(c) for c in COLUMNS])
    matrix = np.arange(8, dtype=np.float64).reshape(2, 4)
    log.log("clf", "1", "primary", ["a" * 32, "b" * 32], 1_700_000_000_000, sig, matrix,
            np.array([0.25, 1.5]), 2.0)  # fmt: skip
    log.close()
    ((rel, sha),) = stored.items()
    assert rel.startswith("predictions/endpoint=clf/date=2023-11-14/part-")
    table = pq.read_table(pa.BufferReader(store.read_bytes(sha)))
    assert table.column("output_num").to_pylist() == [0.25, 1.5]
    assert table.column("input_f3").to_pylist() == [3.0, 7.0]


@pytest.mark.parametrize("batching", [None, BatchingConfig(max_batch=8)], ids=["direct", "batched"])
def test_class_probabilities_are_logged_next_to_the_labels(
    make_onnx: Callable[..., OnnxPredictor], tmp_path: Path, batching: BatchingConfig | None
) -> None:
    """One session.run gives labels and probabilities; monitoring reads both from the log."""
    served = make_onnx(version="2")
    table = RouteTable("clf", served, shadows=[Route("shadow", make_onnx("3", model="linear"))])
    log = PredictionLog(tmp_path)
    app = InferenceApp(Router([table]), prediction_log=log, batching=batching)
    recs = [record(i) for i in range(12)]

    async def go() -> list[dict[str, Any]]:
        async with client(app) as c:
            answers = await asyncio.gather(
                *(
                    c.post("/invocations", json={"records": recs[i : i + 3]})
                    for i in range(0, 12, 3)
                )
            )
        return [a.json() for a in answers]

    answers = run(go())
    rows = _read(tmp_path).to_pylist()
    served_rows = {r["prediction_id"]: r for r in rows if r["route"] == "primary"}
    matrix = np.array([[r[c] for c in COLUMNS] for r in recs], dtype=np.float32)
    labels, proba = served.session.run(None, {"X": matrix})
    by_id = {
        pid: i
        for k, a in enumerate(answers)
        for j, pid in enumerate(a["prediction_ids"])
        for i in [3 * k + j]
    }
    assert len(served_rows) == 12
    for pid, i in by_id.items():
        row = served_rows[pid]
        assert row["output_num"] == labels[i]
        np.testing.assert_allclose(row["proba"], proba[i], rtol=1e-6)
        assert int(np.argmax(row["proba"])) == labels[i]
    shadow_rows = [r for r in rows if r["route"] == "shadow"]
    assert len(shadow_rows) == 12
    assert all(len(r["proba"]) == 2 and abs(sum(r["proba"]) - 1) < 1e-5 for r in shadow_rows)


def test_without_a_log_the_model_is_asked_for_labels_only(
    make_onnx: Callable[..., OnnxPredictor],
) -> None:
    table = RouteTable("clf", make_onnx())
    InferenceApp(Router([table]))
    assert table.primary.run(np.zeros((1, 4), np.float32))[1] is None
    InferenceApp(Router([table]), prediction_log=PredictionLog(sink=lambda rel, data: None))
    assert table.primary.run(np.zeros((1, 4), np.float32))[1] is not None


def _logged(tmp_path: Path, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    log = PredictionLog(tmp_path)
    sig = Signature([Column(c) for c in COLUMNS])
    for i, e in enumerate(entries):
        n = len(e["outputs"])
        log.log("clf", e.get("version", "1"), "primary", [f"{i:02d}{j:030d}" for j in range(n)],
                e.get("ts", 1_700_000_000_000), sig, np.full((n, 4), float(i)), e["outputs"],
                1.0, e.get("proba"))  # fmt: skip
    log.close()
    return sorted(_read(tmp_path).to_pylist(), key=lambda r: r["prediction_id"])


def test_requests_with_and_without_probabilities_share_a_stream(tmp_path: Path) -> None:
    rows = _logged(
        tmp_path,
        [
            {"outputs": np.array([1, 0]), "proba": np.array([[0.1, 0.9], [0.8, 0.2]])},
            {"outputs": np.array([1]), "proba": None},
            {"outputs": np.array([2]), "proba": np.array([[0.1, 0.2, 0.7]]), "version": "2"},
            {"outputs": np.array([0.25]), "proba": np.array([[0.5, 0.5]])},  # dtype changes
            {"outputs": np.array([1]), "proba": np.array([[0.5, 0.5]] * 3)},  # 3 rows for 1
        ],
    )
    assert [r["proba"] for r in rows] == [
        [0.1, 0.9], [0.8, 0.2], None, [0.1, 0.2, 0.7], [0.5, 0.5], None,
    ]  # fmt: skip
    assert [r["model_version"] for r in rows] == ["1", "1", "1", "2", "1", "1"]
    assert [r["output_num"] for r in rows] == [1, 0, 1, 2, 0.25, 1]


def test_requests_either_side_of_midnight_land_in_their_dates(tmp_path: Path) -> None:
    midnight = 1_700_006_400_000  # 2023-11-15T00:00Z
    rows = _logged(
        tmp_path,
        [
            {"outputs": np.array([0, 1]), "ts": midnight - 1},
            {"outputs": np.array([1]), "ts": midnight},
            {"outputs": np.array([0]), "ts": midnight - 5},
        ],
    )
    dates = {p.name for p in (tmp_path / "predictions" / "endpoint=clf").iterdir()}
    assert dates == {"date=2023-11-14", "date=2023-11-15"}
    assert [(r["date"], r["output"], r["input_f0"]) for r in rows] == [
        ("2023-11-14", "0", 0.0), ("2023-11-14", "1", 0.0),
        ("2023-11-15", "1", 1.0), ("2023-11-14", "0", 2.0),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "outputs",
    [
        np.array([0.5, float("nan"), -1e-300, 3.0]),
        np.array([[1.5, 2], [3, float("inf")], [0, 0], [-1, 1e20]]),
        np.array(["yes", 'say "no"', "a,b", "],["], dtype=object),
        np.array([True, False, True, True]),
    ],
    ids=["float", "matrix", "strings", "bool"],
)
def test_outputs_are_logged_as_json_text(tmp_path: Path, outputs: np.ndarray) -> None:
    rows = _logged(tmp_path, [{"outputs": outputs[:1]}, {"outputs": outputs[1:]}])
    expected = [orjson.loads(orjson.dumps(v, option=orjson.OPT_SERIALIZE_NUMPY))
                for v in outputs.tolist()]  # fmt: skip
    if outputs.dtype == bool:
        expected = [int(v) for v in expected]
    assert [json.loads(r["output"]) for r in rows] == expected


def test_rows_that_cannot_be_converted_are_counted_and_the_writer_goes_on(
    tmp_path: Path,
) -> None:
    log = PredictionLog(tmp_path)
    sig = Signature([Column(c) for c in COLUMNS])
    one = np.array([1])
    log.log("clf", "1", "primary", ["a"], 1, sig, np.zeros((1, 4)), one, 1.0)
    log.log("clf", "1", "primary", ["b"], 1, sig, np.zeros((1, 3)), one, 1.0)  # 3 of 4 inputs
    log.log("clf", "2", "primary", ["c"], 1, sig, np.zeros((1, 3)), one, 1.0)
    log._drain_and_write(force=True, buffers={})
    log.log("clf", "1", "primary", ["d"], 1, sig, np.zeros((1, 4)), one, 1.0)
    log.close()
    # only the requests that cannot be converted are lost, not the others taken with them
    assert log.write_failed == 2 and log.dropped_total == 2
    assert sorted(_read(tmp_path).column("prediction_id").to_pylist()) == ["a", "d"]


def test_single_output_regressors_answer_and_log_one_number_per_row(
    training: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    """skl2onnx regressors answer [n, 1]; users (and monitoring) expect one number a row."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LinearRegression

    x, _ = training
    target = x @ np.array([1.0, -2.0, 0.5, 3.0])
    model = LinearRegression().fit(x, target)
    onnx = OnnxPredictor.from_bytes(
        to_onnx(model, x[:1]).SerializeToString(), name="reg", version="1", columns=COLUMNS
    )
    native = FunctionPredictor(lambda f: model.predict(f.to_numpy()).reshape(-1, 1),
                               name="reg", version="2", columns=COLUMNS)  # fmt: skip
    recs = [record(i) for i in range(3)]
    rows = np.array([[r[c] for c in COLUMNS] for r in recs])
    for predictor in (onnx, native):
        log = PredictionLog(tmp_path / predictor.version)
        app = InferenceApp(Router([RouteTable("reg", predictor)]), prediction_log=log)

        async def go(app: InferenceApp = app) -> list[Any]:
            async with client(app) as c:
                return (await c.post("/invocations", json={"records": recs})).json()["predictions"]

        predictions = run(go())
        np.testing.assert_allclose(predictions, model.predict(rows), rtol=1e-5)
        logged = _read(tmp_path / predictor.version).to_pylist()
        np.testing.assert_allclose(
            sorted(r["output_num"] for r in logged), sorted(predictions), rtol=1e-6
        )


def test_a_failed_request_is_one_row_with_a_short_error_and_no_credentials(
    tmp_path: Path,
) -> None:
    from conveyor.serving.prediction_log import MAX_ERROR_CHARS

    plog = PredictionLog(tmp_path)
    sig = Signature([Column("x", "double")])
    message = "online store redis://:s3cret@127.0.0.1:6379/0 unreachable; " + "y" * 400
    assert plog.log_failure("ep", "1", None, sig, 1_795_773_600_000, 2.5, 503, message)
    plog.close()
    (path,) = plog.files
    row = pq.read_table(path).to_pylist()[0]
    assert (row["status"], row["route"], row["latency_ms"], row["output"]) == (503, None, 2.5, None)
    assert row["error"].startswith("online store redis://***@127.0.0.1:6379/0 unreachable")
    assert len(row["error"]) == MAX_ERROR_CHARS and "s3cret" not in row["error"]
