"""The fluent SDK in embedded mode: runs, nesting, buffering, params, models by URI."""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import conveyor
from conveyor.backend import HttpBackend
from conveyor.errors import (
    Conflict,
    IntegrityError,
    NotFound,
    StoreUnavailable,
    ValidationFailed,
)
from conveyor.tracking.buffer import FlushFailed, RunBuffer


def test_run_context_records_everything_and_finishes() -> None:
    conveyor.set_experiment("fluent")
    with conveyor.start_run(run_name="r1", tags={"team": "ml"}) as run:
        conveyor.log_params({"model": "lr", "C": 1.0})
        conveyor.log_param("model", "lr")  # same value again is fine
        for step in range(5):
            conveyor.log_metric("loss", 1 / (step + 1), step=step)
        conveyor.log_metrics({"nan": math.nan, "inf": math.inf})
        conveyor.set_tag("stage", "dev")
    stored = conveyor.get_run(run.id)
    assert stored.status == "FINISHED"
    assert stored.params == {"model": "lr", "C": "1.0"}
    assert stored.tags == {"team": "ml", "stage": "dev"}
    assert stored.metrics["loss"] == 0.2
    assert math.isnan(stored.metrics["nan"]) and stored.metrics["inf"] == math.inf
    assert [p.value for p in conveyor.get_metric_history(run.id, "loss")] == [
        1.0,
        0.5,
        1 / 3,
        0.25,
        0.2,
    ]
    git = stored.source["git"]
    assert set(stored.source) >= {"python", "packages", "command"}
    assert git == {} or {"commit", "dirty"} <= set(git)


def test_nested_runs_and_failure_status() -> None:
    with conveyor.start_run(run_name="parent") as parent:
        with pytest.raises(ValidationFailed, match="nested=True"):
            conveyor.start_run(run_name="oops")
        with conveyor.start_run(run_name="child", nested=True) as child:
            conveyor.log_metric("m", 1.0)
    assert conveyor.get_run(child.id).parent_run_id == parent.id
    with pytest.raises(RuntimeError), conveyor.start_run(run_name="broken") as broken:
        raise RuntimeError("training crashed")
    assert conveyor.get_run(broken.id).status == "FAILED"
    assert conveyor.active_run() is None


def test_param_conflict_raises_immediately() -> None:
    with conveyor.start_run():
        conveyor.log_param("lr", 0.1)
        with pytest.raises(Conflict, match="'lr'"):
            conveyor.log_param("lr", 0.2)


def test_bad_metric_input_is_rejected_at_the_call() -> None:
    with conveyor.start_run():
        with pytest.raises(ValidationFailed, match="must be a number"):
            conveyor.log_metric("m", "high")  # type: ignore[arg-type]
        with pytest.raises(ValidationFailed, match="step"):
            conveyor.log_metric("m", 1.0, step=-1)
        with pytest.raises(ValidationFailed, match="invalid metric key"):
            conveyor.log_metric("", 1.0)


def test_failed_flush_keeps_data_and_raises_at_close() -> None:
    with socket.socket() as sock:  # a port nothing listens on: the server is "down"
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sink = HttpBackend(f"http://127.0.0.1:{port}", timeout=2)
    buffer = RunBuffer(sink, "some-run", flush_size=10_000, flush_interval=60)
    buffer.add_metric("m", 1.0, 0, None)
    buffer.add_params({"p": 1})
    with pytest.raises(FlushFailed, match="2 buffered"):
        buffer.close("FINISHED")
    assert buffer.pending() == 2  # nothing dropped; a later end_run can retry
    assert isinstance(buffer.error, StoreUnavailable)
    sink.close()


def test_permanent_flush_errors_surface_as_themselves() -> None:
    buffer = RunBuffer(conveyor.connect(), "no-such-run", flush_size=10_000, flush_interval=60)
    buffer.add_metric("m", 1.0, 0, None)
    with pytest.raises(NotFound, match="no-such-run"):
        buffer.close("FINISHED")
    assert buffer.pending() == 1


def test_search_runs_through_the_sdk() -> None:
    conveyor.set_experiment("search")
    for auc, model in [(0.9, "rf"), (0.7, "rf"), (0.85, "lr")]:
        with conveyor.start_run():
            conveyor.log_param("model", model)
            conveyor.log_metric("auc", auc)
    found = conveyor.search_runs(
        filter_string="metrics.auc > 0.8 and params.model = 'rf'", order_by="metrics.auc DESC"
    )
    assert [r.metrics["auc"] for r in found] == [0.9]


def test_log_model_register_alias_and_load_verified(conveyor_home: object) -> None:
    x = pd.DataFrame(np.random.default_rng(0).normal(size=(60, 3)), columns=["a", "b", "c"])
    y = (x["a"] > 0).astype(int)
    model = LogisticRegression().fit(x, y)
    with conveyor.start_run():
        info = conveyor.log_model(
            model, "model", input_example=x.head(3), registered_model_name="m"
        )
    assert info.registered_version is not None and info.registered_version.version == 1
    conveyor.set_model_alias("m", "champion", 1)
    loaded = conveyor.load_model("models:/m@champion")
    assert list(loaded.predict(x.head(10))) == list(model.predict(x.head(10)))
    assert list(conveyor.load_model(info.model_uri).predict(x.head(3))) == list(
        model.predict(x.head(3))
    )
    mv = conveyor.get_model_version("m", "champion")
    assert mv.run_id == info.run_id and mv.flavor == "sklearn"
    with pytest.raises(NotFound, match="no alias 'prod'"):
        conveyor.load_model("models:/m@prod")
    with pytest.raises(ValidationFailed, match="unsupported model URI"):
        conveyor.load_model("s4://x")


def test_tampered_blob_refuses_to_load() -> None:
    x = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    model = LogisticRegression().fit(x, [0, 0, 1, 1])
    with conveyor.start_run():
        info = conveyor.log_model(model, "model", input_example=x)
    backend = conveyor.connect()
    entry = backend.artifact_entry(info.run_id, "model/model.skops")
    path = backend.artifacts.backend.local_path(backend.artifacts.key(entry["sha256"]))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError):
        conveyor.load_model(info.model_uri)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: conveyor.log_metric("a", 1.0, timestamp="now"), "timestamp"),  # type: ignore[arg-type]
        (lambda: conveyor.log_metric("a", 1.0, timestamp=-5), "timestamp"),
        (lambda: conveyor.log_metric("a", 1.0, timestamp=1.7e12), "timestamp"),  # type: ignore[arg-type]
        (lambda: conveyor.log_metric("a", 1.0, step=2**70), "step"),
        (lambda: conveyor.log_metric("a", 10**400), "too large"),
        (lambda: conveyor.log_param("p", "x" * 10_000), "limit is 6000"),
        (lambda: conveyor.set_tag("t", "x" * 10_000), "limit is 6000"),
    ],
)
def test_every_check_runs_at_the_call_and_good_data_survives(call: Any, message: str) -> None:
    with conveyor.start_run() as run:
        conveyor.log_metric("good", 1.0)
        conveyor.log_param("goodp", "x")
        with pytest.raises(ValidationFailed, match=message):
            call()
    stored = conveyor.get_run(run.id)
    assert stored.status == "FINISHED"
    assert stored.metrics == {"good": 1.0} and stored.params == {"goodp": "x"}


def test_runs_left_active_end_finished_at_exit(conveyor_home: Path, tmp_path: Path) -> None:
    script = tmp_path / "leave_open.py"
    script.write_text(
        "import sys, conveyor\n"
        "run = conveyor.start_run(run_name='open')\n"
        "conveyor.log_metric('m', 2.0)\n"
        "print(run.id)\n"
        "sys.exit(0)\n"
    )
    env = {**os.environ, "CONVEYOR_HOME": str(conveyor_home)}
    out = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, check=True
    )
    run = conveyor.get_run(out.stdout.strip())
    assert run.status == "FINISHED" and run.metrics == {"m": 2.0}


def test_altered_model_cache_is_refetched_from_the_store(conveyor_home: Path) -> None:
    x = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    model = LogisticRegression().fit(x, [0, 0, 1, 1])
    with conveyor.start_run():
        info = conveyor.log_model(model, "model", input_example=x)
    conveyor.load_model(info.model_uri)  # fills the cache
    cached = conveyor_home / "cache" / "models" / info.manifest_sha256 / "model.skops"
    data = bytearray(cached.read_bytes())
    data[len(data) // 2] ^= 0x01
    cached.write_bytes(bytes(data))
    assert list(conveyor.load_model(info.model_uri).predict(x)) == list(model.predict(x))
    assert cached.read_bytes() != bytes(data)  # repaired from the verified blob
