"""Run the inference app under uvicorn, with several worker processes.

::

    run_server("myservice:make_app", host="127.0.0.1", port=8080, workers=2)

``app_factory`` is an import string ``"module:function"``; every worker process imports
it and calls it to build its own ``InferenceApp`` (uvicorn's ``factory=True``). uvloop and
httptools are used when installed (``uvicorn[standard]``). SIGTERM/SIGINT shut down
gracefully: in-flight requests finish, then the ASGI lifespan shutdown flushes the
prediction log.

``create_app`` is a ready-made factory that builds the app from a JSON spec file named by
the environment variable ``CONVEYOR_SERVING_SPEC``::

    {"endpoints": [{"name": "churn",
                    "columns": [["age", "double"], ["plan", "double"]],
                    "routes": [{"name": "primary", "onnx": "m3.onnx", "version": "3",
                                "weight": 90},
                               {"name": "canary", "onnx": "m4.onnx", "version": "4",
                                "weight": 10}],
                    "shadows": [], "fallback": null, "deadline_ms": null}],
     "log_uri": "/var/conveyor/logs", "batching": null, "max_body_bytes": 4194304}
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path
from typing import Any

import orjson

from conveyor.errors import ValidationFailed
from conveyor.serving.app import BatchingConfig, InferenceApp
from conveyor.serving.logs import configure_logging
from conveyor.serving.metrics import ServingMetrics
from conveyor.serving.prediction_log import PredictionLog
from conveyor.serving.predictor import OnnxPredictor
from conveyor.serving.routing import Route, Router, RouteTable

__all__ = ["METRICS_DIR_ENV", "SPEC_ENV", "app_from_spec", "create_app", "run_server"]

SPEC_ENV = "CONVEYOR_SERVING_SPEC"
METRICS_DIR_ENV = "CONVEYOR_SERVING_METRICS_DIR"


def _route(spec: dict[str, Any], columns: list[Any], default_name: str, model: str) -> Route:
    if "onnx" not in spec:
        raise ValidationFailed(f"route spec needs an 'onnx' file: {spec!r}")
    data = Path(spec["onnx"]).read_bytes()
    predictor = OnnxPredictor.from_bytes(
        data,
        name=spec.get("model", model),
        version=str(spec.get("version", "1")),
        columns=[tuple(c) if isinstance(c, list) else c for c in columns],
    )
    return Route(spec.get("name", default_name), predictor, float(spec.get("weight", 100)))


def app_from_spec(spec: dict[str, Any]) -> InferenceApp:
    """Build an ``InferenceApp`` from a spec dict (see the module docstring)."""
    tables = []
    for ep in spec.get("endpoints", []):
        cols = ep["columns"]
        model = ep["name"]  # routes name their model with "model"; default: the endpoint's
        routes = [_route(r, cols, "primary", model) for r in ep["routes"]]
        shadows = [_route(r, cols, "shadow", model) for r in ep.get("shadows", [])]
        fallback = _route(ep["fallback"], cols, "fallback", model) if ep.get("fallback") else None
        tables.append(
            RouteTable(
                ep["name"],
                routes,
                shadows=shadows,
                fallback=fallback,
                deadline_ms=ep.get("deadline_ms"),
                sticky_field=ep.get("sticky_field"),
            )
        )
    log = None
    if spec.get("log_uri"):
        log = PredictionLog(spec["log_uri"], **spec.get("log_options", {}))
    batching = BatchingConfig(**spec["batching"]) if spec.get("batching") else None
    metrics = ServingMetrics(os.environ.get(METRICS_DIR_ENV) or spec.get("metrics_dir"))
    return InferenceApp(
        Router(tables),
        prediction_log=log,
        batching=batching,
        metrics=metrics,
        max_body_bytes=int(spec.get("max_body_bytes", 4 << 20)),
        access_log=bool(spec.get("access_log", False)),
        freeze_gc=bool(spec.get("freeze_gc", True)),
    )


def create_app() -> InferenceApp:
    """uvicorn factory: the app described by the JSON file in ``$CONVEYOR_SERVING_SPEC``."""
    path = os.environ.get(SPEC_ENV)
    if not path:
        raise ValidationFailed(f"set {SPEC_ENV} to the path of a serving spec JSON file")
    configure_logging()
    return app_from_spec(orjson.loads(Path(path).read_bytes()))


def run_server(
    app_factory: str,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    *,
    graceful_timeout_s: float = 30.0,
    log_level: str = "warning",
) -> None:
    """Serve ``app_factory`` (``"module:function"``) until SIGTERM/SIGINT."""
    import uvicorn

    if workers > 1 and not os.environ.get(METRICS_DIR_ENV):
        os.environ[METRICS_DIR_ENV] = tempfile.mkdtemp(prefix="conveyor-metrics-")
    has = importlib.util.find_spec
    uvicorn.run(
        app_factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop" if has("uvloop") else "asyncio",
        http="httptools" if has("httptools") else "h11",
        lifespan="on",
        access_log=False,
        proxy_headers=False,  # its middleware costs ~4 µs a request; put a proxy in front
        server_header=False,
        log_level=log_level,
        timeout_graceful_shutdown=int(graceful_timeout_s),
        backlog=4096,
    )


def main() -> None:  # pragma: no cover - thin CLI
    import argparse

    parser = argparse.ArgumentParser(description="Run the Conveyor inference server.")
    parser.add_argument("--spec", help="serving spec JSON (sets CONVEYOR_SERVING_SPEC)")
    parser.add_argument("--factory", default="conveyor.serving.server:create_app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--workers", type=int, default=max(1, os.cpu_count() or 1))
    args = parser.parse_args()
    if args.spec:
        os.environ[SPEC_ENV] = str(Path(args.spec).resolve())
    run_server(args.factory, args.host, args.port, args.workers)


if __name__ == "__main__":  # pragma: no cover
    main()
