"""ONNX flavor: an ``onnx.ModelProto`` (or a path to a ``.onnx`` file), run by onnxruntime.

With one model input, the rows are fed as one 2-D tensor in signature column order; with
several inputs, each input is fed the column of the same name as an ``(n, 1)`` tensor. The
first model output is the prediction; a second 2-D output is taken as class probabilities.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from conveyor.errors import ValidationFailed
from conveyor.models.flavors.base import Flavor, Predictor

__all__ = ["OnnxFlavor", "OnnxPredictor", "session_options"]

FILE = "model.onnx"
_NUMPY = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
    "tensor(string)": object,
}


def session_options() -> Any:
    """Session options for single-request latency: one thread, sequential execution."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return options


class OnnxPredictor(Predictor):
    def __init__(self, model_bytes: bytes) -> None:
        import onnxruntime as ort

        self.model_bytes = model_bytes
        self.session = ort.InferenceSession(
            model_bytes, sess_options=session_options(), providers=["CPUExecutionProvider"]
        )
        self.inputs = [(i.name, _NUMPY.get(i.type, np.float32)) for i in self.session.get_inputs()]
        self.outputs = [o.name for o in self.session.get_outputs()]

    @property
    def native(self) -> Any:
        return self.session

    def _feed(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        if len(self.inputs) == 1:
            name, dtype = self.inputs[0]
            return {name: frame.to_numpy(dtype=dtype)}
        missing = [n for n, _ in self.inputs if n not in frame.columns]
        if missing:
            raise ValidationFailed(f"the ONNX model needs input columns {missing}")
        return {n: frame[n].to_numpy(dtype=t).reshape(-1, 1) for n, t in self.inputs}

    def run(self, frame: pd.DataFrame) -> list[Any]:
        return list(self.session.run(self.outputs, self._feed(frame)))

    def predict(self, frame: pd.DataFrame) -> Any:
        out = np.asarray(self.run(frame)[0])
        return out.reshape(-1) if out.ndim == 2 and out.shape[1] == 1 else out

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        results = self.run(frame)
        if len(results) < 2 or np.asarray(results[1]).ndim != 2:
            return super().predict_proba(frame)
        return np.asarray(results[1])


class OnnxFlavor(Flavor):
    name = "onnx"
    packages = ("onnx", "onnxruntime")

    def detect(self, model: Any) -> bool:
        if isinstance(model, str | os.PathLike):
            return str(model).endswith(".onnx")
        return type(model).__name__ == "ModelProto" and type(model).__module__.startswith("onnx")

    def save(self, model: Any, path: Path) -> dict[str, Any]:
        import onnx

        is_path = isinstance(model, str | os.PathLike)
        proto = onnx.load_model(str(model)) if is_path else model
        onnx.checker.check_model(proto)
        (path / FILE).write_bytes(proto.SerializeToString())
        return {
            "file": FILE,
            "opsets": {o.domain or "ai.onnx": o.version for o in proto.opset_import},
        }

    def load(self, path: Path, options: dict[str, Any], *, allow_pickle: bool) -> Predictor:
        return OnnxPredictor((path / str(options.get("file", FILE))).read_bytes())
