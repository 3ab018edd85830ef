"""A model a step returns carries a signature (so it can be deployed), and a cache hit is
a tracked run marked cached that names the run whose outputs it reused."""

from __future__ import annotations

from typing import Any

import pytest
from tests.pipelines.conftest import UserCode

from conveyor.errors import ValidationFailed

TRAIN = """
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import conveyor

    @conveyor.step
    def load(n: int) -> pd.DataFrame:
        rng = np.random.default_rng(0)
        x = rng.normal(size=(n, 2))
        return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": (x[:, 0] > 0).astype("int64")})

    @conveyor.step
    def fit(frame: pd.DataFrame) -> LogisticRegression:
        return LogisticRegression().fit(frame[["a", "b"]], frame["y"])

    @conveyor.step(input_example="features")
    def fit_declared(features: pd.DataFrame, labels: pd.DataFrame) -> LogisticRegression:
        return LogisticRegression().fit(features.to_numpy(), labels["y"])

    @conveyor.pipeline
    def train(n: int = 200):
        frame = load(n)
        return fit(frame), fit_declared(frame[["a", "b"]], frame[["y"]])
"""


def _signature(backend: Any, uri: str) -> dict[str, Any]:
    version = backend.register_model(model_uri=uri, name="m")
    assert version.signature is not None
    return version.signature


def test_a_returned_model_gets_a_signature_from_the_step_input(
    backend: Any, user_code: UserCode
) -> None:
    user_code.write("trainflow", TRAIN)
    result = user_code.load("trainflow").train.run()
    assert result.status == "succeeded", result.run.error
    inferred, declared = (s.outputs["uri"] for s in result.run.steps[1:])
    names = [c["name"] for c in _signature(backend, inferred)["inputs"]]
    assert names == ["a", "b"]  # the model's features, not the label column
    # a numpy-fitted model recorded no feature names: the declared argument gives them
    assert [c["name"] for c in _signature(backend, declared)["inputs"]] == ["a", "b"]
    from conveyor.deployments import deploy_endpoint

    revision = deploy_endpoint(backend, "m-api", model="m/1")
    assert revision.revision == 1


def test_input_example_must_name_an_argument() -> None:
    import conveyor

    with pytest.raises(ValidationFailed, match="input_example='nope' is not one of"):

        @conveyor.step(input_example="nope")
        def fit(frame: Any) -> Any:
            return frame


def test_a_cache_hit_records_a_cached_run_pointing_at_the_source(
    backend: Any, flow_module: Any
) -> None:
    flow = flow_module()
    first = flow.flow.run(n=5)
    second = flow.flow.run(n=5)
    children = backend.search_runs(
        [backend.get_run(second.id).experiment_id],
        filter_string=f"tags.conveyor.pipeline_run = '{second.id}'",
    )
    assert len(children) == 3
    by_step = {r.name: r for r in children}
    for original, hit in zip(first.run.steps, second.run.steps, strict=True):
        run = by_step[hit.name]
        assert hit.cache == "hit" and hit.run_id == original.run_id
        assert run.parent_run_id == second.id and run.status == "FINISHED"
        assert run.tags["conveyor.cache"] == "hit"
        assert run.tags["conveyor.cached_from"] == original.run_id
    assert backend.get_run(first.run.steps[0].run_id).tags["conveyor.cache"] == "miss"
