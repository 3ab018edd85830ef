"""The read operation the UI added: a metric's history as columns, on both transports."""

from __future__ import annotations

import math
from typing import Any

import pytest

from conveyor.api import create_app
from conveyor.api.testing import ServerThread
from conveyor.backend.http import HttpBackend
from conveyor.errors import NotFound
from conveyor.tracking.metric_rows import MetricRows


@pytest.mark.server
def test_metric_columns_match_the_history(sqlite_backend: Any) -> None:
    exp = sqlite_backend.create_experiment("cols")
    run = sqlite_backend.create_run(exp.id)
    values = [0.5, math.nan, math.inf, 0.25]
    rows = MetricRows(["loss"] * 4, values, [0, 1, 1, 2], [10, 20, 21, 30])
    sqlite_backend.log_batch(run.id, metrics=rows)
    with ServerThread(create_app(sqlite_backend)) as server, HttpBackend(server.url) as http:
        for client in (sqlite_backend, http):
            cols = client.get_metric_columns(run.id, "loss")
            history = client.get_metric_history(run.id, "loss")
            assert cols.steps == [p.step for p in history] == [0, 1, 1, 2]
            assert cols.timestamps == [p.timestamp for p in history]
            assert str(cols.values) == str([p.value for p in history])
            assert cols.keys == ["loss"] * 4
            assert client.get_metric_columns(run.id, "nothing").steps == []
            with pytest.raises(NotFound):
                client.get_metric_columns("0" * 32, "loss")
