"""Models that cannot be saved, or examples they cannot read, fail with a clear
ValidationFailed saying what to do — never a raw serialiser traceback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from conveyor.errors import ValidationFailed
from conveyor.models import save_model

X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]})
Y = [0, 0, 0, 1, 1, 1]


def test_lambda_in_a_pipeline_says_how_to_fix_it(tmp_path: Path) -> None:
    model = make_pipeline(FunctionTransformer(lambda z: z * 2), LogisticRegression()).fit(X, Y)
    with pytest.raises(ValidationFailed, match="importable module"):
        save_model(model, tmp_path / "m", input_example=X.head(3))
    assert not (tmp_path / "m").exists()  # nothing half-written left behind


def test_example_without_the_training_columns_is_explained(tmp_path: Path) -> None:
    model = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, Y)
    with pytest.raises(ValidationFailed, match="same column names"):
        save_model(model, tmp_path / "m", input_example=np.asarray(X)[:3])
