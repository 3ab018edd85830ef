"""The Ray executor and Ray batch scoring give the same results as the local paths.

One local Ray instance (``ray.init(num_cpus=2)``) for the whole module: starting Ray
costs seconds, every test here reuses it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from tests.pipelines.conftest import UserCode
from typer.testing import CliRunner

import conveyor
from conveyor._ray import RayUnavailable
from conveyor.cli.main import app
from conveyor.deployments import predict_file
from conveyor.errors import ValidationFailed
from conveyor.pipelines.engine import run_pipeline

pytestmark = pytest.mark.slow

UNREACHABLE = "127.0.0.1:9"  # discard port: nothing listens


def _import_ray() -> Any:
    if os.environ.get("CI") == "true":
        import ray  # CI installs the extra: a missing Ray is a failure there

        return ray
    return pytest.importorskip("ray", reason="Ray not installed: pip install -e '.[ray]'")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    ray = _import_ray()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


FLOW = """
    import os

    import numpy as np
    import pandas as pd

    import conveyor
    import helpers

    @conveyor.step
    def load(n: int) -> pd.DataFrame:
        rng = np.random.default_rng(n)
        return pd.DataFrame({"x": rng.normal(size=n), "k": np.arange(n) % 3})

    @conveyor.step(resources={"num_cpus": 1})
    def features(frame: pd.DataFrame) -> np.ndarray:
        return helpers.scale(frame["x"].to_numpy())

    @conveyor.step(resources={"num_cpus": 2})
    def summary(values: np.ndarray) -> dict:
        return {"total": float(values.sum()), "n": int(len(values))}

    @conveyor.step(cache=False)
    def where() -> int:
        return os.getpid()

    @conveyor.step
    def explode(values: np.ndarray) -> float:
        raise RuntimeError("disk on fire")

    @conveyor.pipeline
    def flow(n: int = 50):
        return {"summary": summary(features(load(n))), "pid": where()}

    @conveyor.pipeline
    def failing(n: int = 50):
        return explode(features(load(n)))
"""


@pytest.fixture
def ray_flow(user_code: UserCode) -> Any:
    user_code.write("helpers", "def scale(values):\n    return values * 2.0\n")
    user_code.write("rayflow", FLOW)
    return user_code.load("rayflow")


def test_ray_and_local_executors_give_the_same_outputs_and_cache(
    backend: Any, ray_flow: Any, ray_cluster: Any
) -> None:
    local = ray_flow.flow.run(n=50)
    on_ray = ray_flow.flow.run(n=50, executor="ray", no_cache=True)
    assert local.status == on_ray.status == "succeeded", on_ray.run.error
    assert on_ray.value["summary"] == local.value["summary"]
    assert local.value["pid"] == os.getpid() != on_ray.value["pid"]  # ran in a Ray worker
    assert on_ray.run.executor == "ray"
    keys = {s.name: s.cache_key for s in local.run.steps}
    assert {s.name: s.cache_key for s in on_ray.run.steps} == keys  # same cache keys
    again = ray_flow.flow.run(n=50, executor="ray")
    assert [(s.name, s.cache) for s in again.run.steps] == [
        ("load", "hit"), ("features", "hit"), ("summary", "hit"), ("where", "miss"),
    ]  # fmt: skip
    # the outputs Ray produced are stored like local ones: the frame is a dataset version
    assert on_ray.run.steps[0].outputs["kind"] == "dataset"


def test_a_step_raising_on_ray_fails_the_run_naming_it(
    backend: Any, ray_flow: Any, ray_cluster: Any
) -> None:
    result = ray_flow.failing.run(n=20, executor="ray")
    assert result.status == "failed"
    assert "step 'explode' raised RuntimeError: disk on fire" in (result.run.error or "")
    assert [s.status for s in result.run.steps] == ["succeeded", "succeeded", "failed"]


def test_unreachable_ray_is_a_clear_error_never_a_local_fallback(
    backend: Any, ray_flow: Any
) -> None:
    with pytest.raises(RayUnavailable, match=f"cannot reach the Ray cluster at {UNREACHABLE}"):
        run_pipeline(ray_flow.flow, {}, executor="ray", executor_options={"address": UNREACHABLE})
    out = CliRunner().invoke(
        app, ["pipeline", "run", "rayflow:flow", "--executor", "ray", "--address", UNREACHABLE]
    )
    assert out.exit_code != 0 and UNREACHABLE in out.output, out.output
    out = CliRunner().invoke(app, ["pipeline", "run", "rayflow:flow", "--address", UNREACHABLE])
    assert out.exit_code != 0 and "--executor ray" in out.output


def test_step_resources_are_validated() -> None:
    with pytest.raises(ValidationFailed, match="resources= maps names to amounts"):

        @conveyor.step(resources={"num_cpus": "two"})
        def f() -> None:
            return None


# -- batch scoring ------------------------------------------------------------------------------
@pytest.fixture
def scoring_input(conveyor_home: Path, tmp_path: Path) -> Path:
    """A registered classifier (churn v1) and a 6,000-row Parquet input with an id column."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(6_000, 3)), columns=["a", "b", "c"])
    frame["segment"] = rng.choice(["x", "y"], len(frame))
    model = LogisticRegression().fit(frame[["a", "b", "c"]], frame["a"] > 0)
    with conveyor.start_run():
        conveyor.log_model(model, "model", input_example=frame[["a", "b", "c"]].head(5),
                           registered_model_name="churn")  # fmt: skip
    path = tmp_path / "in.parquet"
    frame.assign(customer_id=[f"c{i}" for i in range(len(frame))]).to_parquet(
        path, row_group_size=1_000
    )
    return path


def test_ray_batch_scoring_writes_the_same_parquet_as_local(
    scoring_input: Path, tmp_path: Path, ray_cluster: Any
) -> None:
    local, on_ray = tmp_path / "local.parquet", tmp_path / "ray.parquet"
    stats = predict_file(conveyor.connect(), "models:/churn/1", scoring_input, local,
                         chunk_rows=1_500)  # fmt: skip
    assert stats.rows == 6_000
    # `conveyor predict --executor ray`: Ray Data map_batches over a pool of 2 actors
    args = ["predict", "--model", "churn/1", "--input", str(scoring_input), "--output",
            str(on_ray), "--chunk-rows", "1500", "--executor", "ray",
            "--concurrency", "2"]  # fmt: skip
    out = CliRunner().invoke(app, [*args, "--json"])
    assert out.exit_code == 0, out.output
    left, right = pq.read_table(local), pq.read_table(on_ray)
    assert left.schema == right.schema
    assert left.equals(right)  # same rows, same order, same types
    assert right.column_names == ["a", "b", "c", "segment", "customer_id", "prediction"]


def test_ray_batch_scoring_errors(scoring_input: Path, tmp_path: Path, ray_cluster: Any) -> None:
    api = conveyor.connect()
    bad = tmp_path / "bad.parquet"
    pd.read_parquet(scoring_input).drop(columns=["b"]).to_parquet(bad)
    with pytest.raises(ValidationFailed, match="do not match the signature of models:/churn/1"):
        predict_file(api, "models:/churn/1", bad, tmp_path / "o.parquet", executor="ray")
    assert not (tmp_path / "o.parquet").exists()
    with pytest.raises(ValidationFailed, match="unknown executor 'dask'"):
        predict_file(api, "models:/churn/1", bad, tmp_path / "o.parquet", executor="dask")
    out = CliRunner().invoke(app, ["predict", "--model", "churn/1", "--input", str(scoring_input),
                                   "--output", str(tmp_path / "x.parquet"), "--executor", "ray",
                                   "--address", UNREACHABLE])  # fmt: skip
    assert out.exit_code != 0 and f"cannot reach the Ray cluster at {UNREACHABLE}" in out.output
    out = CliRunner().invoke(app, ["predict", "--model", "churn/1", "--input", str(scoring_input),
                                   "--output", str(tmp_path / "x.parquet"),
                                   "--address", UNREACHABLE])  # fmt: skip
    assert out.exit_code != 0 and "--executor ray" in out.output
