"""Fixtures for the gates tests: a backend on each metadata store, real models, real data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from conveyor.artifacts import ArtifactStore
from conveyor.backend.local import LocalBackend
from conveyor.models import save_model
from conveyor.registry.entities import ModelVersion
from conveyor.store import MetadataStore

FEATURES = ["f0", "f1", "f2"]


def make_frame(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` rows: three features, a binary label, two sensitive columns, an age."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    logit = 1.5 * x[:, 0] - 1.0 * x[:, 1] + 0.5 * x[:, 2]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    frame = pd.DataFrame(x, columns=FEATURES)
    frame["label"] = y
    frame["gender"] = rng.choice(["f", "m"], size=n)
    frame["region"] = rng.choice(["north", "south", "east"], size=n, p=[0.5, 0.3, 0.2])
    frame["age"] = rng.integers(18, 80, size=n)
    return frame


@pytest.fixture(scope="session")
def train_frame() -> pd.DataFrame:
    return make_frame(2000, seed=1)


@pytest.fixture(scope="session")
def eval_frame() -> pd.DataFrame:
    return make_frame(1500, seed=2)


@pytest.fixture(scope="session")
def good_model(train_frame: pd.DataFrame) -> LogisticRegression:
    return LogisticRegression().fit(train_frame[FEATURES], train_frame["label"])


@pytest.fixture(scope="session")
def weak_model(train_frame: pd.DataFrame) -> LogisticRegression:
    """Sees only the weakest feature: clearly worse AUC and accuracy."""
    x = train_frame[FEATURES].copy()
    x[["f0", "f1"]] = 0.0
    return LogisticRegression().fit(x, train_frame["label"])


@pytest.fixture
def backend(meta: MetadataStore, tmp_path: Path) -> LocalBackend:
    return LocalBackend(meta, ArtifactStore.from_uri(str(tmp_path / "artifacts")))


def register(
    backend: LocalBackend,
    name: str,
    model: Any,
    tmp_path: Path,
    *,
    train: pd.DataFrame | None = None,
) -> ModelVersion:
    """Save ``model`` under a new run (linking ``train`` as its training data), register it."""
    exp = backend.get_or_create_experiment("gates-tests")
    run = backend.create_run(exp.id)
    if train is not None:
        backend.log_dataset(f"{name}-train", train, run_id=run.id)
    folder = tmp_path / f"model-{run.id}"
    example = (train if train is not None else make_frame(5))[FEATURES].head(5)
    save_model(model, folder, input_example=example)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        with open(path, "rb") as fh:
            backend.upload_artifact(run.id, f"model/{path.relative_to(folder).as_posix()}", fh)
    return backend.register_model(model_uri=f"runs:/{run.id}/model", name=name)
