"""Failed requests, end to end: a real inference server on loopback logs each failure with
its status, and the operational report, the traffic buckets and an ``error_rate`` monitor
read the exact fraction from the prediction log."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import conveyor
from conveyor._util import now_ms
from conveyor.api.testing import ServerThread
from conveyor.deployments import deploy_endpoint
from conveyor.deployments.runtime import DeploymentServer
from conveyor.models import PythonModel, PythonModelContext
from conveyor.monitoring.evaluate import evaluate_monitor
from conveyor.monitoring.monitors import MonitorSpec, compute_metric
from conveyor.monitoring.operational import operational_report
from conveyor.monitoring.service import create_monitor
from conveyor.monitoring.traffic import endpoint_traffic
from conveyor.monitoring.windows import Window, default_log_uri, read_window
from conveyor.serving.prediction_log import MAX_ERROR_CHARS, PredictionLog

from .test_loop_helpers import ENDPOINT as LOG_ENDPOINT
from .test_loop_helpers import SIG, T0, write_log

ENDPOINT = "errs-api"
KEY = "k-0123456789"
SECRET = "hunter2"  # in the model's exception text: it must stay out of the log


class RaisesOnLarge(PythonModel):
    """Predicts the sign of ``f0``; raises on a row whose ``f0`` is above ``above``."""

    def __init__(self, above: float = 100.0) -> None:
        self.above = above

    def predict(self, context: PythonModelContext, model_input: Any) -> Any:
        f0 = model_input["f0"].to_numpy()
        if (f0 > self.above).any():
            raise RuntimeError(f"cannot score f0={f0.max()} (db password {SECRET})")
        return (f0 > 0).astype(np.int64)


def _frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(rng.normal(size=(n, 4)), columns=["f0", "f1", "f2", "f3"])


def _deploy() -> Any:
    with conveyor.start_run():
        info = conveyor.log_model(
            RaisesOnLarge(), "model", input_example=_frame(5), registered_model_name="errs"
        )
    assert info.registered_version is not None
    backend = conveyor.connect()
    deploy_endpoint(backend, ENDPOINT, model=f"errs/{info.registered_version.version}")
    return backend


def _traffic(backend: Any) -> tuple[dict[int, int], int]:
    """Good and failing requests over loopback HTTP; ``({status: count}, start ms)``."""
    rows = _frame(20).to_dict("records")
    digest = hashlib.sha256(KEY.encode()).hexdigest()
    plog = PredictionLog(default_log_uri(), flush_interval_s=3600)
    server = DeploymentServer(
        backend, [ENDPOINT], poll_interval=60, prediction_log=plog,
        inference_keys={ENDPOINT: frozenset({digest})},
    )  # fmt: skip
    url = f"/endpoints/{ENDPOINT}/invocations"
    v2 = f"/v2/models/{ENDPOINT}/infer"
    auth = {"Authorization": f"Bearer {KEY}"}
    statuses: dict[int, int] = {}
    start = now_ms()
    with ServerThread(server, lifespan="on") as thread, httpx.Client(base_url=thread.url) as c:

        def send(path: str, **kw: Any) -> None:
            r = c.post(path, **kw)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

        for row in rows[:6]:  # 6 answered one-row requests
            send(url, json={"dataframe_records": [row]}, headers=auth)
        send(url, json={"dataframe_records": rows[6:11]}, headers=auth)  # 1 of 5 rows
        missing = {k: v for k, v in rows[11].items() if k != "f3"}  # wrong shape: 422
        send(url, json={"dataframe_records": [missing]}, headers=auth)
        bad_v2 = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64",
                              "data": [1.0, 2.0, 3.0]}]}  # fmt: skip
        send(v2, json=bad_v2, headers=auth)  # 422
        send(url, content=b"{not json", headers={**auth, "Content-Type": "application/json"})
        for i in range(4):  # the model raises: 503
            send(url, json={"dataframe_records": [{**rows[12 + i], "f0": 1000.0}]}, headers=auth)
        send(url, json={"dataframe_records": [rows[0]]})  # no key: 401, not logged
        send(url, json={"dataframe_records": [rows[0]]}, headers={"Authorization": "Bearer no"})
        send("/endpoints/nowhere/invocations", json={"dataframe_records": [rows[0]]})  # 404
    assert plog.dropped_total == 0
    return statuses, start


@pytest.fixture
def served() -> tuple[dict[int, int], Window]:
    """``errs-api`` deployed under this test's home and served the requests of
    :func:`_traffic`; the statuses answered and the window holding them."""
    statuses, start = _traffic(_deploy())
    return statuses, Window(start, now_ms() + 1)


def test_failed_requests_are_logged_with_status_and_short_error(served: Any) -> None:
    statuses, _ = served
    assert statuses == {200: 7, 422: 2, 400: 1, 503: 4, 401: 2, 404: 1}
    files = sorted(Path(default_log_uri()).glob(f"predictions/endpoint={ENDPOINT}/*/*.parquet"))
    table = pa.concat_tables([pq.read_table(f) for f in files], promote_options="permissive")
    ok = table.filter(pc.equal(table.column("status"), 200))
    assert ok.num_rows == 11 and ok.column("error").null_count == 11  # 6 + 5 rows
    failed = table.filter(pc.not_equal(table.column("status"), 200))
    assert sorted(failed.column("status").to_pylist()) == [400, 422, 422, 503, 503, 503, 503]
    errors = failed.column("error").to_pylist()
    assert all(e and len(e) <= MAX_ERROR_CHARS for e in errors)
    assert not any(SECRET in e for e in errors)  # the traceback stays in the server's log
    assert sum("failed to predict" in e for e in errors) == 4
    assert (
        failed.filter(pc.equal(failed.column("status"), 503)).column("route").to_pylist()
        == ["primary"] * 4
    )
    assert failed.column("input_f0").null_count == failed.num_rows  # no inputs logged


def test_operational_report_and_traffic_give_the_exact_error_rate(served: Any) -> None:
    _, window = served
    data = read_window(ENDPOINT, window)
    assert data.num_rows == 11 and data.num_failed == 7  # failures are not predictions
    rep = operational_report(data)
    # 7 answered + 7 failed requests; 4 answered 5xx, 3 answered 4xx
    assert (rep.requests, rep.failed_requests) == (7, 7)
    assert rep.error_rate == 4 / 14 and rep.client_error_rate == 3 / 14
    assert rep.error_source.startswith("prediction log")
    assert rep.by_version[data.versions()[0]]["error_rate"] == 4 / 14
    traffic = endpoint_traffic(conveyor.connect(), ENDPOINT, "1h", 1)
    assert traffic.error_rate == [4 / 14] and traffic.client_error_rate == [3 / 14]
    assert traffic.failed_requests == [7] and traffic.requests == [7]
    buckets = endpoint_traffic(conveyor.connect(), ENDPOINT, "1h", 60)
    assert sum(buckets.failed_requests) == 7 and sum(buckets.requests) == 7
    assert buckets.error_rate[-1] == 4 / 14 and buckets.error_rate[0] is None


def test_a_window_of_only_failures_still_measures_its_error_rate(served: Any) -> None:
    _, window = served
    data = read_window(ENDPOINT, window)
    only = data.failures
    assert only is not None
    empty = type(data)(ENDPOINT, window, data.table.slice(0, 0), "insufficient_data",
                       "no predictions", failures=only)  # fmt: skip
    result = compute_metric("error_rate", empty)
    assert (result.status, result.value) == ("ok", 4 / 7)
    assert compute_metric("latency.p99", empty).status == "insufficient_data"


def test_error_rate_monitor_fires(served: Any) -> None:
    _, window = served
    backend = conveyor.connect()
    spec = MonitorSpec("errors", ENDPOINT, "error_rate", 0.1, comparison=">", window="1h")
    with backend.meta.write(backend.actor) as uow:
        create_monitor(uow, spec)
    outcome = evaluate_monitor(backend, "errors", now=window.end_ms)
    assert outcome.value == 4 / 14 and outcome.status == "breach"
    assert outcome.action == "fire" and outcome.alert is not None
    assert outcome.alert.state == "firing"


def test_logs_older_than_the_status_column_read_as_answered(tmp_path: Path) -> None:
    root = tmp_path / "plog"
    write_log(root, n_requests=8)
    for f in root.glob("predictions/*/*/*.parquet"):  # as a server before failures were logged
        pq.write_table(pq.read_table(f).drop_columns(["status", "error"]), f)
    window = Window(T0, T0 + 1_000_000)
    old = read_window(LOG_ENDPOINT, window, log_uri=str(root))
    assert old.failures is None and old.num_rows == 32
    rep = operational_report(old)
    assert rep.error_rate is None and rep.error_source.startswith("not logged")
    assert compute_metric("error_rate", old).status == "insufficient_data"
    plog = PredictionLog(root)  # a newer server logs a failure beside the old files
    plog.log_failure(LOG_ENDPOINT, "1", "primary", SIG, T0 + 5, 3.0, 503, "x" * 500)
    plog.close()
    mixed = read_window(LOG_ENDPOINT, window, log_uri=str(root))
    assert (mixed.num_rows, mixed.num_failed) == (32, 1)  # old rows count as answered
    assert operational_report(mixed).error_rate == 1 / 9  # 8 answered requests + 1 failed
    assert mixed.failures is not None
    assert mixed.failures.column("error").to_pylist() == ["x" * MAX_ERROR_CHARS]
