"""Metrics merged across worker snapshots; apps built from a JSON spec."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from serving_helpers import COLUMNS, client, record, run

from conveyor.errors import ValidationFailed
from conveyor.serving import ServingMetrics, app_from_spec, create_app
from conveyor.serving.server import SPEC_ENV


def test_metrics_add_other_workers_snapshots(tmp_path: Path) -> None:
    other = ServingMetrics()
    other.observe(("clf", "1", "primary"), 200, 0.004)
    other.observe(("clf", "1", "primary"), 200, 0.020)
    other.batch_size("clf", "1", 3)
    # what another worker process leaves in the shared folder
    (tmp_path / "metrics-999999999.json").write_bytes(orjson.dumps(other.snapshot()))
    mine = ServingMetrics(tmp_path)
    mine.observe(("clf", "1", "primary"), 200, 0.001)
    mine.error(("clf", "1", "primary"), "invalid")
    mine.write_snapshot()  # its own file is replaced by the live counters when merging
    text = mine.render().decode()
    labels = 'endpoint="clf",model_version="1",route="primary"'
    assert f'conveyor_requests_total{{{labels},status="200"}} 3.0' in text
    bucket = 'conveyor_request_latency_seconds_bucket{endpoint="clf",le="%s",model_version="1"'
    assert bucket % "0.005" + ',route="primary"} 2.0' in text
    assert bucket % "+Inf" + ',route="primary"} 3.0' in text
    assert f'conveyor_errors_total{{code="invalid",{labels}}} 1.0' in text
    assert 'conveyor_batch_size_sum{endpoint="clf",model_version="1"} 3.0' in text


def test_app_from_spec_file(
    onnx_models: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, data in onnx_models.items():
        (tmp_path / f"{name}.onnx").write_bytes(data)
    spec = {
        "endpoints": [{
            "name": "churn",
            "columns": [[c, "double"] for c in COLUMNS],
            "routes": [{"name": "primary", "onnx": str(tmp_path / "forest.onnx"),
                        "version": "3", "weight": 50},
                       {"name": "b", "onnx": str(tmp_path / "linear.onnx"),
                        "version": "4", "weight": 50}],
            "shadows": [{"name": "shadow", "onnx": str(tmp_path / "linear.onnx"),
                         "version": "5"}],
            "sticky_field": "f0",
        }],
        "log_uri": str(tmp_path / "log"),
        "batching": {"max_batch": 8},
    }  # fmt: skip
    path = tmp_path / "serving.json"
    path.write_bytes(orjson.dumps(spec))
    monkeypatch.setenv(SPEC_ENV, str(path))
    app = create_app()
    assert app.batching is not None and app.batching.max_batch == 8
    table = app.router.get("churn")
    assert [r.version for r in table.routes] == ["3", "4"] and table.shadows[0].version == "5"

    async def go() -> None:
        async with client(app) as c:
            r = await c.post("/v2/models/churn/infer", json={"inputs": [
                {"name": "input", "shape": [1, 4], "datatype": "FP64",
                 "data": list(record().values())}]})  # fmt: skip
            assert r.status_code == 200, r.text
            assert r.json()["model_version"] in ("3", "4")

    run(go())
    assert list((tmp_path / "log" / "predictions" / "endpoint=churn").glob("date=*/*.parquet"))
    with pytest.raises(ValidationFailed):
        app_from_spec({"endpoints": [{"name": "x", "columns": ["a"], "routes": [{}]}]})
    monkeypatch.delenv(SPEC_ENV)
    with pytest.raises(ValidationFailed, match=SPEC_ENV):
        create_app()
