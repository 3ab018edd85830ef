"""The fluent dataset SDK in embedded mode."""

from __future__ import annotations

import pandas as pd
import pytest

import conveyor
from conveyor.data import in_range, list_run_inputs
from conveyor.data.sdk import log_dataset
from conveyor.errors import ValidationFailed


def _df(offset: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"a": [1 + offset, 2, 3], "b": ["x", "y", "z"]})


def test_log_load_and_link_to_the_active_run() -> None:
    with conveyor.start_run() as run:
        dv = log_dataset(_df(), "sdk-data", context="training")
        other = log_dataset(_df(5), "sdk-data", link_to_run=False)
        conveyor.log_input(other, "validation")
    assert (dv.version, other.version) == (1, 2)
    pd.testing.assert_frame_equal(conveyor.load_dataset("sdk-data", 1), _df())
    pd.testing.assert_frame_equal(conveyor.load_dataset("sdk-data"), _df(5))
    backend = conveyor.connect()
    with backend.meta.read() as conn:
        inputs = {i.dataset_version_id: i.context for i in list_run_inputs(conn, run.id)}
    assert inputs == {dv.id: "training", other.id: "validation"}


def test_failed_checks_raise_after_commit() -> None:
    with pytest.raises(ValidationFailed, match="in_range"):
        log_dataset(_df(), "checked", expectations=[in_range("a", 10, 20)], raise_on_failure=True)
    stored = conveyor.load_dataset("checked")
    assert len(stored) == 3
