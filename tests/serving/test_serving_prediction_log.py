"""Prediction and feedback logs: partitioned Parquet, every row after shutdown, back-pressure."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from serving_helpers import COLUMNS, client, record, run

from conveyor.artifacts import ArtifactStore
from conveyor.serving import (
    Column,
    InferenceApp,
    OnnxPredictor,
    PredictionLog,
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
    assert schema.field("input_f0").type == pa.float64()
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
            assert one.status_code == 200 and one.json() == {"accepted": 1}
            many = await c.post(
                "/feedback", json=[{"prediction_id": ids[1], "label": "churned", "endpoint": "clf"}]
            )
            assert many.json() == {"accepted": 1}
            bad = await c.post("/feedback", json=[{"label": 1}, {"prediction_id": "x"}])
            assert bad.status_code == 422
            fields = [e["field"] for e in bad.json()["error"]["details"]["errors"]]
            assert fields == ["prediction_id", "label"]
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
