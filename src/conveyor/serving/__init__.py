"""Serving runtime: raw-ASGI inference app, routing, micro-batching, prediction log.

Build an app from predictors and a route table, then run it::

    from conveyor.serving import InferenceApp, OnnxPredictor, PredictionLog, RouteTable, Router

    model = OnnxPredictor.from_bytes(onnx_bytes, name="churn", version="3", columns=cols)
    app = InferenceApp(Router([RouteTable("churn", model)]),
                       prediction_log=PredictionLog("/var/conveyor/logs"))
    # in a module: def make_app(): return app  ->  run_server("module:make_app", workers=2)
"""

from conveyor.serving.app import BatchingConfig, InferenceApp, MethodNotAllowed
from conveyor.serving.batching import MicroBatcher
from conveyor.serving.metrics import ServingMetrics
from conveyor.serving.prediction_log import PredictionLog
from conveyor.serving.predictor import (
    Column,
    FunctionPredictor,
    OnnxPredictor,
    Predictor,
    Signature,
)
from conveyor.serving.routing import Route, Router, RouteTable
from conveyor.serving.server import app_from_spec, create_app, run_server

__all__ = [
    "BatchingConfig",
    "Column",
    "FunctionPredictor",
    "InferenceApp",
    "MethodNotAllowed",
    "MicroBatcher",
    "OnnxPredictor",
    "PredictionLog",
    "Predictor",
    "Route",
    "RouteTable",
    "Router",
    "ServingMetrics",
    "Signature",
    "app_from_spec",
    "create_app",
    "run_server",
]
