"""The reference of a window: the training data of the model version that served it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

import conveyor
from conveyor.monitoring.windows import reference_for


def test_reference_of_a_route_labelled_with_its_model(conveyor_home: Path) -> None:
    """Routes of two models answer as "<model>/<version>"; either names its own data."""
    x = pd.DataFrame({"a": np.arange(8.0), "b": np.arange(8.0) % 3})
    y = (x["a"] > 3).astype(int)
    for name, scale in (("m1", 1.0), ("m2", 10.0)):
        with conveyor.start_run():
            conveyor.log_dataset(x * scale, f"train-{name}")
            conveyor.log_model(LogisticRegression().fit(x, y), "model", input_example=x,
                               registered_model_name=name)  # fmt: skip
    backend = conveyor.connect()
    backend.deploy("ep", model="m1/1", canary="m2/1:50", compile=False)
    second = reference_for(backend, "ep", model_version="m2/1", as_pandas=True)
    assert second["a"].tolist() == (x["a"] * 10).tolist()
    first = reference_for(backend, "ep", model_version="m1/1", as_pandas=True)
    assert first["a"].tolist() == x["a"].tolist()
