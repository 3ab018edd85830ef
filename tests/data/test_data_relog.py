"""Re-logging unchanged data still runs its checks; row bookkeeping is not data."""

from __future__ import annotations

import pandas as pd
import pytest

import conveyor
from conveyor.data.checks import in_range
from conveyor.errors import ValidationFailed


def test_same_content_with_failing_expectations_is_checked_and_raises() -> None:
    frame = pd.DataFrame({"age": [10.0, 200.0, 30.0]})
    first = conveyor.log_dataset(frame, "people")
    assert first.checks is None
    with pytest.raises(ValidationFailed, match="age"):
        conveyor.log_dataset(
            frame, "people", expectations=[in_range("age", 0, 120)], raise_on_failure=True
        )
    again = conveyor.log_dataset(frame, "people")
    assert again.id == first.id and again.version == 1
    stored = conveyor.connect().get_dataset_version("people", 1)
    assert stored.checks is not None and stored.checks["passed"] is False
    events = conveyor.connect().list_audit_events(action="dataset_version.check")
    assert [e.object_id for e in events] == [first.id]


def test_unnamed_index_is_not_data_but_a_named_one_is() -> None:
    frame = pd.DataFrame({"x": [1, 2, 3, 4]})
    shuffled = frame.sample(frac=1.0, random_state=0).sort_values("x")  # same rows, odd index
    shuffled.index = [7, 3, 9, 1]
    a = conveyor.log_dataset(frame, "rows")
    b = conveyor.log_dataset(shuffled, "rows")
    assert a.id == b.id
    assert [c["name"] for c in a.schema] == ["x"]
    keyed = frame.set_index(pd.Index(["a", "b", "c", "d"], name="customer"))
    c = conveyor.log_dataset(keyed, "rows")
    assert c.version == 2 and {col["name"] for col in c.schema} == {"x", "customer"}


@pytest.mark.parametrize("name", ["bad/..", "a//b", "/lead", "trail/", "./x"])
def test_path_like_names_are_rejected(name: str) -> None:
    with pytest.raises(ValidationFailed, match="invalid dataset name"):
        conveyor.log_dataset(pd.DataFrame({"x": [1]}), name)
