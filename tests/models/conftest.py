"""Small real datasets and models for the models tests (a few trees each, so tests are fast)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification, make_regression
from threadpoolctl import threadpool_limits


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """OpenMP/BLAS pools at one thread: tiny models run faster and steadier on a busy box."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="session")
def clf_data() -> tuple[pd.DataFrame, np.ndarray]:
    """200 rows, 5 numeric columns, binary integer labels."""
    X, y = make_classification(200, 5, n_informative=3, random_state=0)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(5)]), y


@pytest.fixture(scope="session")
def multi_data() -> tuple[pd.DataFrame, np.ndarray]:
    """200 rows, 6 numeric columns, three string classes."""
    X, y = make_classification(200, 6, n_informative=4, n_classes=3, random_state=1)
    labels = np.array(["bronze", "gold", "silver"], dtype=object)[y]
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(6)]), labels


@pytest.fixture(scope="session")
def reg_data() -> tuple[pd.DataFrame, np.ndarray]:
    """200 rows, 4 numeric columns, a real-valued target."""
    X, y = make_regression(200, 4, noise=0.1, random_state=2)
    return pd.DataFrame(X, columns=["a", "b", "c", "d"]), y


@pytest.fixture(scope="session")
def mixed_data() -> tuple[pd.DataFrame, np.ndarray]:
    """Numeric and string columns, binary labels: for Pipeline + ColumnTransformer."""
    X, y = make_classification(200, 3, n_informative=2, n_redundant=0, random_state=3)
    frame = pd.DataFrame(X, columns=["age", "income", "score"])
    frame["city"] = np.where(X[:, 0] > 0, "paris", "lyon")
    return frame, y
