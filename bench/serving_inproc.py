"""The serving hot path in-process: CPU per request of ``InferenceApp`` without HTTP.

Calls the ASGI app directly (no sockets, no uvicorn) with one single-row request body,
many times, and prints µs per request for each path. Far less sensitive to other load on
the machine than a load test, so small regressions show. Compare two trees by running
it under each one's ``PYTHONPATH``::

    PYTHONPATH=src .venv/bin/python bench/serving_inproc.py
    PYTHONPATH=/path/to/old/src .venv/bin/python bench/serving_inproc.py --no-binary

Instruction counts (callgrind; independent of other load): run ``-n 100`` and ``-n 1100``
with ``--rounds 1 --no-binary --model-cache /tmp/rf.onnx`` under
``valgrind --tool=callgrind`` for each tree; (difference) / 2000 is one request's cost,
averaged over the two JSON paths.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

N_FEATURES = 20


def _model() -> bytes:
    from skl2onnx import to_onnx
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(42)
    x = rng.normal(size=(5000, N_FEATURES)).astype(np.float32)
    y = (x @ rng.normal(size=N_FEATURES) > 0).astype(np.int64)
    clf = RandomForestClassifier(n_estimators=50, max_depth=8, random_state=0).fit(x, y)
    return to_onnx(clf, x[:1], options={id(clf): {"zipmap": False}}).SerializeToString()


async def _time(app: Any, path: str, body: bytes, headers: list[Any], n: int) -> float:
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    message = {"type": "http.request", "body": body, "more_body": False}
    status = []

    async def receive() -> dict[str, Any]:
        return message

    async def send(m: dict[str, Any]) -> None:
        if m["type"] == "http.response.start":
            status.append(m["status"])

    for _ in range(200):
        await app(scope, receive, send)
    assert set(status) == {200}, status[:3]
    t0 = time.process_time()
    for _ in range(n):
        await app(scope, receive, send)
    return (time.process_time() - t0) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=20000, help="requests per path and round")
    parser.add_argument("--rounds", type=int, default=5, help="the best round is kept")
    parser.add_argument("--no-binary", action="store_true", help="skip the v2 binary path")
    parser.add_argument(
        "--model-cache",
        type=Path,
        help="read the ONNX model from this file (written on first use): under callgrind, "
        "training it would dominate the count",
    )
    args = parser.parse_args()
    from conveyor.serving import InferenceApp, OnnxPredictor, Router, RouteTable

    columns = [f"f{i}" for i in range(N_FEATURES)]
    if args.model_cache is not None and not args.model_cache.exists():
        args.model_cache.write_bytes(_model())
    onnx = args.model_cache.read_bytes() if args.model_cache is not None else _model()
    model = OnnxPredictor.from_bytes(onnx, name="rf", version="1", columns=columns)
    app = InferenceApp(Router([RouteTable("rf", model)]))
    row = np.random.default_rng(1).normal(size=N_FEATURES).astype(np.float32).tolist()
    json_headers = [(b"content-type", b"application/json")]
    tensor = {"name": "input", "shape": [1, N_FEATURES], "datatype": "FP32"}
    record = dict(zip(columns, row, strict=True))
    paths = {
        "/invocations records": ("/invocations", json.dumps({"records": [record]}).encode(),
                                 json_headers),
        "v2 JSON FP32": ("/v2/models/rf/infer",
                         json.dumps({"inputs": [{**tensor, "data": row}]}).encode(),
                         json_headers),
    }  # fmt: skip
    if not args.no_binary:
        raw = np.asarray(row, dtype="<f4").tobytes()
        head = json.dumps({"inputs": [{**tensor, "parameters": {"binary_data_size": len(raw)}}],
                           "parameters": {"binary_data_output": True}}).encode()  # fmt: skip
        length = [(b"inference-header-content-length", b"%d" % len(head))]
        paths["v2 binary FP32"] = ("/v2/models/rf/infer", head + raw, length)
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, (path, body, headers) in paths.items():
            us = asyncio.run(_time(app, path, body, headers, args.n))
            best[name] = min(best.get(name, us), us)
    print(json.dumps({k: round(v, 2) for k, v in best.items()}))


if __name__ == "__main__":
    main()
