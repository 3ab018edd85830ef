"""Fixtures for the serving tests: small ONNX models built with scikit-learn + skl2onnx."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conveyor.serving import OnnxPredictor

# the tests import their plain helpers as ``serving_helpers`` (pytest runs in importlib mode)
sys.path.insert(0, str(Path(__file__).parent))
COLUMNS = ["f0", "f1", "f2", "f3"]  # same as serving_helpers.COLUMNS


@pytest.fixture(scope="session")
def training() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, len(COLUMNS))).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    return x, y


def _onnx(model: Any, x: np.ndarray) -> bytes:
    from skl2onnx import to_onnx

    return to_onnx(model, x[:1], options={id(model): {"zipmap": False}}).SerializeToString()


@pytest.fixture(scope="session")
def onnx_models(training: tuple[np.ndarray, np.ndarray]) -> dict[str, bytes]:
    """Two classifiers that disagree on some rows: 'forest' and 'linear'."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    x, y = training
    forest = RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0).fit(x, y)
    linear = LogisticRegression().fit(x[:, [0]].repeat(4, axis=1), y)
    return {"forest": _onnx(forest, x), "linear": _onnx(linear, x)}


@pytest.fixture
def make_onnx(onnx_models: dict[str, bytes]) -> Callable[..., OnnxPredictor]:
    def make(version: str = "1", model: str = "forest", name: str = "clf") -> OnnxPredictor:
        return OnnxPredictor.from_bytes(
            onnx_models[model], name=name, version=version, columns=COLUMNS
        )

    return make
