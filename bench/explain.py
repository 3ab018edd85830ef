"""``POST /explain`` latency: a 50-tree forest (20 features, depth 8), one row per request.

Deploys the forest into a temporary store, serves it with the real ``DeploymentServer``
(in-process ASGI calls: no sockets, so the figure is the server's own time), sends
single-row ``/explain`` requests one after another and prints wall-clock p50/p99 per
request, beside shap's own ``TreeExplainer.shap_values`` on the same row (the floor)::

    PYTHONPATH=src .venv/bin/python bench/explain.py            # 2000 requests
    PYTHONPATH=src .venv/bin/python bench/explain.py -n 500

Target (issue 13): p99 <= 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from typing import Any

import numpy as np

N_FEATURES = 20


async def _run(app: Any, body: bytes, n: int) -> list[float]:
    scope = {"type": "http", "method": "POST", "path": "/explain",
             "headers": [(b"content-type", b"application/json")]}  # fmt: skip
    message = {"type": "http.request", "body": body, "more_body": False}
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        return message

    async def send(m: dict[str, Any]) -> None:
        if m["type"] == "http.response.start":
            status.append(m["status"])

    await app.startup()
    try:
        for _ in range(50):  # builds the explainer, warms caches
            await app(scope, receive, send)
        assert set(status) == {200}, status[:3]
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            await app(scope, receive, send)
            out.append(time.perf_counter() - t0)
        assert set(status) == {200}
        return out
    finally:
        await app.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="requests")
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="conveyor-bench-explain-")
    os.environ["CONVEYOR_HOME"] = home
    import pandas as pd
    import shap
    from sklearn.ensemble import RandomForestClassifier

    import conveyor
    from conveyor.deployments.runtime import DeploymentServer

    rng = np.random.default_rng(42)
    columns = [f"f{i}" for i in range(N_FEATURES)]
    X = pd.DataFrame(rng.normal(size=(5000, N_FEATURES)), columns=columns)
    y = (X.to_numpy() @ rng.normal(size=N_FEATURES) > 0).astype(np.int64)
    forest = RandomForestClassifier(n_estimators=50, max_depth=8, random_state=0).fit(X, y)
    with conveyor.start_run():
        conveyor.log_model(forest, "model", input_example=X.head(20), registered_model_name="rf")
    client = conveyor.connect()
    client.deploy("rf-api", model="rf/1")
    app = DeploymentServer(client, ["rf-api"], poll_interval=3600)
    row = X.iloc[[7]]
    body = json.dumps({"dataframe_records": row.to_dict("records")}).encode()
    samples = asyncio.run(_run(app, body, args.n))

    explainer = shap.TreeExplainer(forest)
    matrix = row.to_numpy()
    floor = []
    for _ in range(min(args.n, 500)):
        t0 = time.perf_counter()
        explainer.shap_values(matrix, check_additivity=False)
        floor.append(time.perf_counter() - t0)
    ms = np.array(samples) * 1000
    result = {
        "requests": args.n,
        "explain_p50_ms": round(float(np.percentile(ms, 50)), 2),
        "explain_p99_ms": round(float(np.percentile(ms, 99)), 2),
        "shap_alone_p50_ms": round(float(np.percentile(np.array(floor) * 1000, 50)), 2),
        "shap_alone_p99_ms": round(float(np.percentile(np.array(floor) * 1000, 99)), 2),
        "shap": shap.__version__,
        "python": sys.version.split()[0],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
