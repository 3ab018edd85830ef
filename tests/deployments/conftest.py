"""Fixtures for the deployments tests: a backend on each metadata store, tiny real models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.isotonic import IsotonicRegression

from conveyor.artifacts import ArtifactStore
from conveyor.backend.local import LocalBackend
from conveyor.models import save_model
from conveyor.registry.entities import ModelVersion
from conveyor.store import MetadataStore

COLUMNS = ["f0", "f1", "f2", "f3"]


@pytest.fixture(scope="session")
def clf_data() -> tuple[pd.DataFrame, np.ndarray]:
    """300 rows, 4 numeric columns, binary integer labels."""
    X, y = make_classification(300, 4, n_informative=3, n_redundant=0, random_state=0)
    return pd.DataFrame(X, columns=COLUMNS), y


@pytest.fixture(scope="session")
def forests(clf_data: tuple[pd.DataFrame, np.ndarray]) -> list[RandomForestClassifier]:
    """Two small random forests that differ (different seeds and depths)."""
    X, y = clf_data
    return [
        RandomForestClassifier(n_estimators=8, max_depth=4, random_state=1).fit(X, y),
        RandomForestClassifier(n_estimators=6, max_depth=3, random_state=2).fit(X, y),
    ]


@pytest.fixture(scope="session")
def isotonic(clf_data: tuple[pd.DataFrame, np.ndarray]) -> IsotonicRegression:
    """A model skl2onnx has no converter for (served natively)."""
    X, _ = clf_data
    return IsotonicRegression(out_of_bounds="clip").fit(X[["f0"]], X["f0"] ** 2)


@pytest.fixture
def backend(meta: MetadataStore, tmp_path: Path) -> LocalBackend:
    """An embedded backend on each metadata store (SQLite, PostgreSQL) + a local folder."""
    return LocalBackend(meta, ArtifactStore.from_uri(str(tmp_path / "artifacts")))


@pytest.fixture
def home_backend() -> Any:
    """The embedded backend under the test's CONVEYOR_HOME (what the SDK and CLI use)."""
    import conveyor

    return conveyor.connect()


def register(
    backend: LocalBackend,
    name: str,
    model: Any,
    example: pd.DataFrame | None,
    tmp_path: Path,
) -> ModelVersion:
    """Save ``model`` under a new run of ``backend`` and register it as the next version."""
    exp = backend.get_or_create_experiment("deployments-tests")
    run = backend.create_run(exp.id)
    folder = tmp_path / f"model-{run.id}"
    save_model(model, folder, input_example=example)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        with open(path, "rb") as fh:
            backend.upload_artifact(run.id, f"model/{path.relative_to(folder).as_posix()}", fh)
    return backend.register_model(f"runs:/{run.id}/model", name)
