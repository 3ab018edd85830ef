"""Pipeline fixtures: the embedded store (SQLite and PostgreSQL), and a folder of
user modules written on disk (so a test can edit a helper module and reload it)."""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import conveyor
from conveyor.backend import reset_backends
from conveyor.config import reset_settings
from conveyor.pipelines import fingerprint


@pytest.fixture
def backend(conveyor_home: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The embedded backend ``conveyor.connect()`` gives, on SQLite and on PostgreSQL."""
    monkeypatch.setenv("CONVEYOR_DB_URL", db_url)
    reset_settings()
    reset_backends()
    api = conveyor.connect()
    yield api
    api.meta.dispose()


class UserCode:
    """Writes modules into a folder on sys.path and (re)imports them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.names: set[str] = set()

    def write(self, name: str, source: str) -> None:
        (self.root / f"{name}.py").write_text(textwrap.dedent(source))
        self.names.add(name)

    def load(self, name: str) -> ModuleType:
        importlib.invalidate_caches()
        for mod in self.names:  # a fresh import of everything the test wrote
            sys.modules.pop(mod, None)
        return importlib.import_module(name)


@pytest.fixture
def user_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[UserCode]:
    root = tmp_path / "usercode"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    code = UserCode(root)
    yield code
    for mod in code.names:
        sys.modules.pop(mod, None)
    fingerprint.forget()


FLOW = """
    import numpy as np
    import pandas as pd

    import conveyor
    import helpers

    CALLS = []

    @conveyor.step
    def load(n: int) -> pd.DataFrame:
        CALLS.append("load")
        return pd.DataFrame({"x": np.arange(n, dtype="int64"), "y": np.arange(n) % 2})

    @conveyor.step
    def features(frame: pd.DataFrame) -> np.ndarray:
        CALLS.append("features")
        return helpers.scale(frame["x"].to_numpy())

    @conveyor.step
    def summary(values: np.ndarray, label: str = "run") -> dict:
        CALLS.append("summary")
        return {"label": label, "total": float(values.sum())}

    @conveyor.pipeline
    def flow(n: int = 10, label: str = "run"):
        return summary(features(load(n)), label=label)
"""

HELPERS = """
    def scale(values):
        return values * 2.0
"""


@pytest.fixture
def flow_module(user_code: UserCode) -> Callable[[], ModuleType]:
    user_code.write("helpers", HELPERS)
    user_code.write("flow", FLOW)
    return lambda: user_code.load("flow")
