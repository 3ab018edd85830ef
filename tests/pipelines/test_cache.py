"""Cache hits and misses, explain, resume after a failed step, bad outputs."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from tests.pipelines.conftest import UserCode
from typer.testing import CliRunner

import conveyor
from conveyor.cli.main import app
from conveyor.errors import ValidationFailed
from conveyor.pipelines.engine import PipelineFailed
from conveyor.store import MetadataStore


def _cache(result: Any) -> list[tuple[str, str]]:
    return [(s.name, s.cache) for s in result.run.steps]


def test_second_run_hits_every_step_and_returns_the_same_value(
    backend: Any, flow_module: Any
) -> None:
    flow = flow_module()
    first = flow.flow.run(n=10)
    assert first.status == "succeeded", first.run.error
    assert first.value == {"label": "run", "total": 90.0}
    assert _cache(first) == [("load", "miss"), ("features", "miss"), ("summary", "miss")]
    assert flow.CALLS == ["load", "features", "summary"]

    second = flow.flow.run(n=10)
    assert second.value == first.value
    assert _cache(second) == [("load", "hit"), ("features", "hit"), ("summary", "hit")]
    assert flow.CALLS == ["load", "features", "summary"]  # nothing ran again
    assert second.id != first.id


def test_param_change_misses_the_steps_it_reaches(backend: Any, flow_module: Any) -> None:
    flow = flow_module()
    flow.flow.run(n=10, label="a")
    again = flow.flow.run(n=10, label="b")
    assert _cache(again) == [("load", "hit"), ("features", "hit"), ("summary", "miss")]
    assert 'param label changed ("a" → "b")' in again.run.steps[2].reason
    bigger = flow.flow.run(n=11, label="b")
    assert _cache(bigger) == [("load", "miss"), ("features", "miss"), ("summary", "miss")]
    assert "param n changed (10 → 11)" in bigger.run.steps[0].reason
    assert "input frame changed" in bigger.run.steps[1].reason


def test_a_changed_helper_in_another_module_is_a_miss(
    backend: Any, flow_module: Any, user_code: UserCode
) -> None:
    flow_module().flow.run(n=10)
    user_code.write("helpers", "def scale(values):\n    return values * 3.0\n")
    flow = flow_module()
    result = flow.flow.run(n=10)
    assert _cache(result) == [("load", "hit"), ("features", "miss"), ("summary", "miss")]
    assert result.run.steps[1].reason == "source of helpers.scale changed"
    assert "input values changed" in result.run.steps[2].reason
    assert result.value["total"] == 135.0


def test_a_changed_constant_in_a_project_module_is_a_miss(
    backend: Any, user_code: UserCode
) -> None:
    user_code.write("consts", "FACTOR = 2\n")
    source = """
        import conveyor
        import consts

        @conveyor.step
        def times(x: int) -> int:
            return x * consts.FACTOR

        @conveyor.pipeline
        def p(x: int = 2):
            return times(x)
    """
    user_code.write("cflow", source)
    assert user_code.load("cflow").p.run().value == 4
    user_code.write("consts", "FACTOR = 5\n")
    result = user_code.load("cflow").p.run()
    assert result.value == 10
    assert result.run.steps[0].reason == "constant consts.FACTOR changed (2 → 5)"


def test_package_versions_are_part_of_the_key(backend: Any, flow_module: Any) -> None:
    result = flow_module().flow.run(n=3)
    parts = result.run.steps[0].key_parts
    assert "pandas" in parts["packages"] and "numpy" in parts["packages"]
    assert "helpers.scale" in result.run.steps[1].key_parts["code"]
    assert not any(k.startswith(("pandas", "numpy")) for k in parts["code"])


def test_no_cache_and_cache_false(backend: Any, user_code: UserCode) -> None:
    user_code.write(
        "nc",
        """
        import conveyor

        @conveyor.step
        def a(x: int) -> int:
            return x + 1

        @conveyor.step(cache=False)
        def b(x: int) -> int:
            return x * 2

        @conveyor.pipeline
        def p(x: int = 1):
            return b(a(x))
        """,
    )
    mod = user_code.load("nc")
    mod.p.run()
    again = mod.p.run()
    assert _cache(again) == [("a", "hit"), ("b", "miss")]
    assert again.run.steps[1].reason == "cache=False on the step"
    forced = mod.p.run(no_cache=True)
    assert _cache(forced) == [("a", "miss"), ("b", "miss")]
    assert forced.run.steps[0].reason == "cache disabled (--no-cache)"


FAILING = """
    import os
    import conveyor

    @conveyor.step
    def first(x: int) -> int:
        return x + 1

    @conveyor.step
    def second(x: int) -> int:
        if os.environ.get("BREAK_SECOND"):
            raise RuntimeError("disk on fire")
        return x * 10

    @conveyor.pipeline
    def p(x: int = 1):
        return second(first(x))
"""


def test_a_failing_step_fails_the_run_and_a_rerun_resumes(
    backend: Any, user_code: UserCode, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_code.write("failing", FAILING)
    mod = user_code.load("failing")
    monkeypatch.setenv("BREAK_SECOND", "1")
    failed = mod.p.run()
    assert failed.status == "failed"
    assert failed.run.error == "step 'second' raised RuntimeError: disk on fire"
    assert [(s.name, s.status) for s in failed.run.steps] == [
        ("first", "succeeded"),
        ("second", "failed"),
    ]
    with pytest.raises(PipelineFailed, match="disk on fire"):
        mod.p()
    parent = backend.get_run(failed.id)
    assert parent.status == "FAILED"
    child = backend.get_run(failed.run.steps[1].run_id)
    assert child.status == "FAILED" and child.parent_run_id == failed.id

    monkeypatch.delenv("BREAK_SECOND")
    resumed = mod.p.run()
    assert resumed.status == "succeeded" and resumed.value == 20
    assert _cache(resumed) == [("first", "hit"), ("second", "miss")]
    assert resumed.run.steps[0].run_id == failed.run.steps[0].run_id


def test_an_unserializable_output_names_the_step_and_the_type(
    backend: Any, user_code: UserCode
) -> None:
    user_code.write(
        "bad",
        """
        import conveyor

        class Opaque:
            pass

        @conveyor.step
        def make() -> object:
            return Opaque()

        @conveyor.pipeline
        def p():
            return make()
        """,
    )
    result = user_code.load("bad").p.run()
    assert result.status == "failed"
    assert result.run.error.startswith("step 'make': return is a bad.Opaque, which Conveyor ")
    assert "no pickle" in result.run.error


def test_wrong_argument_types_are_refused_naming_the_step(backend: Any, flow_module: Any) -> None:
    result = flow_module().flow.run(n="ten")
    assert result.status == "failed"
    assert result.run.error == "step 'load': argument 'n' expects int, got str"


def test_outputs_round_trip_numpy_arrow_tuples_and_models(
    backend: Any, user_code: UserCode
) -> None:
    user_code.write(
        "kinds",
        """
        import numpy as np
        import pyarrow as pa
        from sklearn.linear_model import LogisticRegression

        import conveyor

        @conveyor.step
        def data() -> tuple:
            x = np.array([[0.0], [1.0], [2.0], [3.0]])
            return x, np.array([0, 0, 1, 1]), pa.table({"a": [1, 2]})

        @conveyor.step
        def fit(x: np.ndarray, y: np.ndarray) -> LogisticRegression:
            return LogisticRegression().fit(x, y)

        @conveyor.step
        def score(model, x: np.ndarray) -> list:
            return [int(v) for v in model.predict(x)]

        @conveyor.pipeline
        def p():
            x, y, table = data()
            assert table.num_rows == 2
            return score(fit(x, y), x)
        """,
    )
    mod = user_code.load("kinds")
    first = mod.p.run()
    assert first.status == "succeeded", first.run.error
    second = mod.p.run()
    assert second.status == "succeeded", second.run.error
    assert second.value == first.value == [0, 0, 1, 1]
    assert _cache(second) == [("data", "hit"), ("fit", "hit"), ("score", "hit")]
    assert second.run.steps[1].outputs["kind"] == "model"


def test_dataframe_outputs_are_dataset_versions_linked_to_the_next_step(
    backend: Any, flow_module: Any
) -> None:
    result = flow_module().flow.run(n=4)
    out = result.run.steps[0].outputs
    assert out["kind"] == "dataset" and out["dataset"] == "flow.load"
    frame = backend.load_dataset("flow.load", out["version"])
    assert list(frame["x"]) == [0, 1, 2, 3]
    from conveyor.data import service as datasets

    with backend.meta.read() as conn:
        inputs = datasets.list_run_inputs(conn, result.run.steps[1].run_id)
    assert [(i.dataset_version_id, i.context) for i in inputs] == [
        (out["dataset_version_id"], "pipeline-input")
    ]


def test_cli_run_show_list_and_explain_json(
    backend: Any, flow_module: Any, user_code: UserCode
) -> None:
    flow_module()
    runner = CliRunner()
    first = runner.invoke(app, ["pipeline", "run", "flow:flow", "--param", "n=5", "--json"])
    assert first.exit_code == 0, first.output
    run_id = json.loads(first.output)["id"]
    user_code.write("helpers", "def scale(values):\n    return values + 1.0\n")
    user_code.load("flow")
    second = runner.invoke(app, ["pipeline", "run", "flow:flow", "-p", "n=5", "--json"])
    assert second.exit_code == 0, second.output
    second_id = json.loads(second.output)["id"]
    explained = runner.invoke(app, ["pipeline", "explain", second_id, "--json"])
    first_load = json.loads(first.output)["steps"][0]["run_id"]
    summary_reason = json.loads(second.output)["steps"][2]["reason"]
    assert json.loads(explained.output) == [
        {
            "step": "load",
            "cache": "hit",
            "reason": f"same code, parameters, inputs and packages as run {first_load}",
        },
        {"step": "features", "cache": "miss", "reason": "source of helpers.scale changed"},
        {"step": "summary", "cache": "miss", "reason": summary_reason},
    ]
    assert summary_reason.startswith("input values changed")
    listed = json.loads(runner.invoke(app, ["pipeline", "list", "--json"]).output)
    assert [r["id"] for r in listed] == [second_id, run_id]
    shown = runner.invoke(app, ["pipeline", "show", run_id])
    assert shown.exit_code == 0 and "features" in shown.output
    bad = runner.invoke(app, ["pipeline", "run", "flow:flow", "-p", "nope=1"])
    assert bad.exit_code == 2 and "the pipeline's parameters are n, label" in bad.output
    missing = runner.invoke(app, ["pipeline", "run", "no_such_module:flow"])
    assert missing.exit_code == 1 and "no module 'no_such_module'" in missing.output


def test_failed_cli_run_exits_1_and_names_the_step(
    backend: Any, user_code: UserCode, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_code.write("failing", FAILING)
    user_code.load("failing")
    monkeypatch.setenv("BREAK_SECOND", "1")
    out = CliRunner().invoke(app, ["pipeline", "run", "failing:p", "--json"])
    assert out.exit_code == 1
    data = json.loads(out.output)
    assert data["status"] == "failed" and "step 'second' raised RuntimeError" in data["error"]
    monkeypatch.delenv("BREAK_SECOND")
    resumed = CliRunner().invoke(app, ["pipeline", "resume", data["id"], "--json"])
    assert resumed.exit_code == 0, resumed.output
    assert [s["cache"] for s in json.loads(resumed.output)["steps"]] == ["hit", "miss"]
    assert json.loads(resumed.output)["resumed_from"] == data["id"]


def test_a_step_outside_a_pipeline_is_the_plain_function(flow_module: Any) -> None:
    flow = flow_module()
    assert list(flow.features(flow.load(3))) == [0.0, 2.0, 4.0]


def test_pipeline_params_must_be_json(backend: Any, flow_module: Any) -> None:
    with pytest.raises(ValidationFailed, match="parameter 'n' must be a JSON value"):
        flow_module().flow.run(n=np.int64(3))


def test_steps_are_child_runs_of_the_pipeline_run(backend: Any, flow_module: Any) -> None:
    result = flow_module().flow.run(n=3)
    for step in result.run.steps:
        run = backend.get_run(step.run_id)
        assert run.parent_run_id == result.id and run.status == "FINISHED"
        assert run.tags["conveyor.cache_key"] == step.cache_key
    assert conveyor.get_run(result.id).name == "flow"


def test_migration_matches_the_table_definitions(tmp_path: Any) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from conveyor.store.tables import metadata

    meta = MetadataStore(f"sqlite:///{tmp_path / 'm.db'}")
    with meta.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    ours = [d for d in diff if any(t in repr(d) for t in ("pipeline", "trigger"))]
    assert ours == []
