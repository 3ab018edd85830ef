"""Deploy a model trained on a frame and serve rows to it in-process, with a prediction log."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

import conveyor
from conveyor._util import now_ms
from conveyor.deployments import deploy_endpoint
from conveyor.deployments.runtime import DeploymentServer
from conveyor.monitoring.windows import Window
from conveyor.serving.prediction_log import PredictionLog


@asynccontextmanager
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """``app`` in-process (its startup/shutdown around the block) behind an httpx client."""
    await app.startup()
    try:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c
    finally:
        await app.shutdown()


def deploy(name: str, frame: pd.DataFrame, y: np.ndarray, *, reference: bool = True) -> Any:
    """Train on ``frame``, log the model (its run's input: ``frame``, unless not
    ``reference``), register the next version of ``name``, deploy it as ``<name>-api``."""
    with conveyor.start_run():
        if reference:
            conveyor.log_input(conveyor.log_dataset(frame, f"{name}-train", link_to_run=False))
        info = conveyor.log_model(
            LogisticRegression(max_iter=2000).fit(frame, y), "model",
            input_example=frame.head(5), registered_model_name=name,
        )  # fmt: skip
    assert info.registered_version is not None
    backend = conveyor.connect()
    deploy_endpoint(backend, f"{name}-api", model=f"{name}/{info.registered_version.version}")
    return backend


def serve(backend: Any, endpoint: str, frame: pd.DataFrame, log_uri: Path) -> Window:
    """POST ``frame`` as JSON records in batches; the log is flushed at shutdown."""
    plog = PredictionLog(log_uri, flush_interval_s=3600)
    server = DeploymentServer(backend, [endpoint], poll_interval=60, prediction_log=plog)
    records = frame.to_dict("records")
    start = now_ms()

    async def go() -> None:
        async with client(server) as c:
            for i in range(0, len(records), 250):
                r = await c.post(
                    f"/endpoints/{endpoint}/invocations",
                    json={"dataframe_records": records[i : i + 250]},
                )
                assert r.status_code == 200, r.text

    asyncio.run(go())
    assert plog.written == len(frame) and plog.dropped_total == 0
    return Window(start, now_ms() + 1)
