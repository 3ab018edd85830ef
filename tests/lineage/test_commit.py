"""Code commits in lineage: the commit a run recorded leads to the run and what it built;
a prefix names it; data checks travel with the dataset node."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from conveyor.errors import NotFound
from conveyor.tracking import service as tracking

SHA = "3f786850e387550fdab836ed7e6dc881de23001b"


def test_commit_to_run_to_data_both_ways(backend: Any) -> None:
    dv = backend.log_dataset("customers", pd.DataFrame({"x": [1, 2, 3], "y": [0, 1, 0]}))
    with backend.meta.write(backend.actor) as uow:
        exp = tracking.get_or_create_experiment(uow, "churn")
        run = tracking.create_run(uow, exp.id, name="train", source={"git": {"commit": SHA}})
    backend.link_input(run.id, dv.id)
    up = backend.get_lineage(f"run:{run.id}", "upstream", 2)
    ids = {n["id"] for n in up["nodes"]}
    assert {f"commit:{SHA}", "dataset:customers/1"} <= ids
    rel = {(e["source"], e["target"]): e["relation"] for e in up["edges"]}
    assert rel[(f"commit:{SHA}", f"run:{run.id}")] == "code"
    assert rel[("dataset:customers/1", f"run:{run.id}")] == "training"
    down = backend.get_lineage(f"commit:{SHA[:10]}", "downstream", 1)
    assert f"run:{run.id}" in {n["id"] for n in down["nodes"]}
    forward = backend.get_lineage("dataset:customers/1", "downstream", 1)
    assert f"run:{run.id}" in {n["id"] for n in forward["nodes"]}
    with pytest.raises(NotFound, match="no run records commit"):
        backend.get_lineage("commit:deadbeef")
