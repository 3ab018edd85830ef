"""One behaviour suite, run on every transport and store combination.

``backend`` is a LocalBackend on SQLite and on PostgreSQL (``meta`` from conftest), and
an HttpBackend talking to a real uvicorn server (in a thread, on a loopback port) that
serves that same LocalBackend. The tests only use the ``Backend`` interface.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from conveyor.api import create_app
from conveyor.api.testing import ServerThread
from conveyor.artifacts import ArtifactStore
from conveyor.backend import Backend, HttpBackend, LocalBackend
from conveyor.data import checks
from conveyor.data.frames import content_hash, to_table
from conveyor.errors import Conflict, IntegrityError, NotFound, ValidationFailed
from conveyor.registry.uris import MANIFEST_NAME as MODEL_MANIFEST
from conveyor.store import MetadataStore
from conveyor.tracking.metric_rows import MetricRows


@pytest.fixture(params=["local", pytest.param("http", marks=pytest.mark.server)])
def backend(
    request: pytest.FixtureRequest, meta: MetadataStore, artifacts: ArtifactStore
) -> Iterator[Backend]:
    local = LocalBackend(meta, artifacts)
    if request.param == "local":
        yield local
        return
    with ServerThread(create_app(local)) as server, HttpBackend(server.url) as client:
        yield client


def _rows(points: list[tuple[str, float, int]]) -> MetricRows:
    rows = MetricRows()
    for key, value, step in points:
        rows.append(key, value, step, 1_700_000_000_000 + step)
    return rows


def _run(backend: Backend, **kwargs: object) -> str:
    exp = backend.get_or_create_experiment("exp")
    return backend.create_run(exp.id, **kwargs).id  # type: ignore[arg-type]


# -- experiments ---------------------------------------------------------------------------
def test_experiments_crud(backend: Backend) -> None:
    exp = backend.create_experiment("churn", description="d", tags={"team": "risk"})
    assert backend.get_experiment(exp.id) == exp
    assert backend.get_experiment("churn") == exp
    assert backend.get_or_create_experiment("churn") == exp
    other = backend.get_or_create_experiment("team/fraud v2")
    assert backend.get_experiment("team/fraud v2").id == other.id
    assert {e.name for e in backend.list_experiments()} >= {"churn", "team/fraud v2"}
    with pytest.raises(Conflict, match="churn"):
        backend.create_experiment("churn")
    with pytest.raises(NotFound, match="nope"):
        backend.get_experiment("nope")
    with pytest.raises(ValidationFailed):
        backend.create_experiment(" bad name")


# -- runs ----------------------------------------------------------------------------------
def test_run_create_log_end_get(backend: Backend) -> None:
    exp = backend.create_experiment("e")
    run = backend.create_run(
        exp.id, name="first", params={"lr": 0.1, "depth": 3}, tags={"team": "a"}
    )
    assert run.status == "RUNNING" and run.params == {"lr": "0.1", "depth": "3"}
    backend.log_batch(
        run.id,
        metrics=_rows([("loss", 0.9, 0), ("loss", 0.5, 1), ("acc", 0.7, 1)]),
        params={"seed": 7},
        tags={"stage": "dev"},
    )
    backend.end_run(run.id, "FINISHED")
    got = backend.get_run(run.id)
    assert got.status == "FINISHED" and got.end_time is not None
    assert got.name == "first" and got.experiment_id == exp.id
    assert got.params == {"lr": "0.1", "depth": "3", "seed": "7"}
    assert got.tags == {"team": "a", "stage": "dev"}
    assert got.metrics == {"loss": 0.5, "acc": 0.7}
    child = backend.create_run(exp.id, parent_run_id=run.id)
    assert backend.get_run(child.id).parent_run_id == run.id


def test_param_conflict(backend: Backend) -> None:
    run_id = _run(backend, params={"lr": 0.1})
    backend.log_batch(run_id, params={"lr": 0.1})  # same value again is fine
    with pytest.raises(Conflict, match="lr"):
        backend.log_batch(run_id, params={"lr": 0.2})
    assert backend.get_run(run_id).params == {"lr": "0.1"}


def test_non_finite_metrics_round_trip(backend: Backend) -> None:
    run_id = _run(backend)
    values = [math.nan, math.inf, -math.inf, 1.5, -0.0, 1e308]
    backend.log_batch(run_id, metrics=_rows([("m", v, i) for i, v in enumerate(values)]))
    backend.log_batch(run_id, metrics=_rows([("last_nan", math.nan, 0), ("last_inf", math.inf, 0)]))
    history = backend.get_metric_history(run_id, "m")
    assert [p.step for p in history] == list(range(len(values)))
    got = [p.value for p in history]
    assert math.isnan(got[0]) and got[1:] == values[1:]
    metrics = backend.get_run(run_id).metrics
    assert metrics["m"] == 1e308
    assert math.isnan(metrics["last_nan"]) and metrics["last_inf"] == math.inf


def test_metric_history_and_latest(backend: Backend) -> None:
    run_id = _run(backend)
    backend.log_batch(run_id, metrics=_rows([("train/loss", 1.0 / (s + 1), s) for s in range(50)]))
    backend.log_batch(run_id, metrics=_rows([("train/loss", 9.0, 3)]))  # older step: history only
    history = backend.get_metric_history(run_id, "train/loss")
    assert len(history) == 51
    assert backend.get_run(run_id).metrics["train/loss"] == pytest.approx(1 / 50)
    assert backend.get_metric_history(run_id, "absent") == []


def test_bad_metric_batches_are_rejected(backend: Backend) -> None:
    run_id = _run(backend)
    with pytest.raises(ValidationFailed, match="step"):
        backend.log_batch(run_id, metrics=MetricRows(["m"], [1.0], [-1], [0]))
    with pytest.raises(ValidationFailed, match="metric key"):
        backend.log_batch(run_id, metrics=MetricRows([" bad"], [1.0], [0], [0]))
    with pytest.raises(ValidationFailed, match="value"):
        backend.log_batch(run_id, metrics=MetricRows(["m"], ["x"], [0], [0]))  # type: ignore[list-item]
    with pytest.raises(ValidationFailed, match="status"):
        backend.end_run(run_id, "DONE")
    assert backend.get_metric_history(run_id, "m") == []


def test_search_filters_and_order(backend: Backend) -> None:
    exp = backend.create_experiment("search")
    other = backend.create_experiment("other")
    ids = {}
    for name, acc, model in [("a", 0.6, "rf"), ("b", 0.9, "gbm"), ("c", 0.3, "rf")]:
        run = backend.create_run(exp.id, name=name, params={"model": model})
        backend.log_batch(run.id, metrics=_rows([("acc", acc, 0)]))
        ids[name] = run.id
    backend.create_run(other.id, name="x")
    found = backend.search_runs([exp.id], "metrics.acc > 0.5", ["metrics.acc DESC"])
    assert [r.name for r in found] == ["b", "a"]
    found = backend.search_runs([exp.id], "params.model = 'rf'", ["metrics.acc ASC"])
    assert [r.name for r in found] == ["c", "a"]
    page = backend.search_runs([exp.id], None, ["metrics.acc DESC"], max_results=1, offset=1)
    assert [r.id for r in page] == [ids["a"]]
    assert {r.name for r in backend.search_runs([exp.id, other.id])} == {"a", "b", "c", "x"}


def test_malformed_filter_names_the_problem(backend: Backend) -> None:
    exp = backend.create_experiment("f")
    with pytest.raises(ValidationFailed, match="ends too early"):
        backend.search_runs([exp.id], "metrics.acc >")
    with pytest.raises(ValidationFailed, match="max_results"):
        backend.search_runs([exp.id], max_results=0)


def test_unknown_objects_are_not_found_naming_the_id(backend: Backend) -> None:
    with pytest.raises(NotFound, match="0123abc"):
        backend.get_run("0123abc")
    with pytest.raises(NotFound, match="0123abc"):
        backend.log_batch("0123abc", metrics=_rows([("m", 1.0, 0)]))
    with pytest.raises(NotFound, match="ghost-model"):
        backend.get_model("ghost-model")
    backend.create_model("real")
    with pytest.raises(NotFound, match="real"):
        backend.get_model_version("real", 7)
    with pytest.raises(NotFound, match="champion"):
        backend.get_model_version("real", "champion")
    with pytest.raises(NotFound, match="0123abc"):
        backend.upload_artifact("0123abc", "a.txt", iter([b"x"]))


# -- artifacts -----------------------------------------------------------------------------
def test_artifacts_upload_download_list(backend: Backend, tmp_path: Path) -> None:
    run_id = _run(backend)
    data = bytes(range(256)) * 8192  # 2 MiB: several chunks
    sha = hashlib.sha256(data).hexdigest()
    info = backend.upload_artifact(run_id, "model/weights.bin", io.BytesIO(data))
    assert info == {"path": "model/weights.bin", "sha256": sha, "size": len(data)}
    small = backend.upload_artifact(run_id, "./notes/readme é.txt", iter([b"hello ", b"world"]))
    assert small["path"] == "notes/readme é.txt"
    assert small["sha256"] == hashlib.sha256(b"hello world").hexdigest()
    listed = backend.list_artifacts(run_id)
    assert [e["path"] for e in listed] == ["model/weights.bin", "notes/readme é.txt"]
    assert backend.list_artifacts(run_id, "model") == [info]
    assert backend.artifact_entry(run_id, "model/weights.bin") == info
    assert b"".join(backend.iter_blob(sha)) == data
    dest = backend.download_blob(sha, tmp_path / "out" / "w.bin")
    assert dest.read_bytes() == data
    with pytest.raises(NotFound, match=r"missing\.txt"):
        backend.artifact_entry(run_id, "missing.txt")
    with pytest.raises(
        ValidationFailed, match=r"'\.\.' segment; artifact paths must be relative POSIX"
    ):
        backend.upload_artifact(run_id, "../escape.txt", iter([b"x"]))
    with pytest.raises(NotFound):
        list(backend.iter_blob("f" * 64))
    with pytest.raises(ValidationFailed, match="sha256"):
        list(backend.iter_blob("not-a-sha"))


def test_corrupted_blob_is_an_integrity_error(
    backend: Backend, artifacts: ArtifactStore, tmp_path: Path
) -> None:
    run_id = _run(backend)
    data = b"precious model bytes " * 100_000
    sha = backend.upload_artifact(run_id, "m.bin", iter([data]))["sha256"]
    path = artifacts.backend.local_path(artifacts.key(sha))
    assert path is not None
    path.write_bytes(data.replace(b"precious", b"tampered"))  # same size, other bytes
    with pytest.raises(IntegrityError, match=sha):
        b"".join(backend.iter_blob(sha))
    with pytest.raises(IntegrityError):
        backend.download_blob(sha, tmp_path / "m.bin")
    assert not (tmp_path / "m.bin").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


# -- registry ------------------------------------------------------------------------------
def _log_model(backend: Backend, run_id: str, payload: bytes) -> None:
    """A real (tiny) model: registration checks what it registers would load."""
    import tempfile

    from sklearn.linear_model import LinearRegression

    from conveyor.models import save_model

    x = pd.DataFrame({"x": [0.0, 1.0, 2.0]})
    model = LinearRegression().fit(x, [0.0, 1.0, float(len(payload))])
    with tempfile.TemporaryDirectory() as tmp:
        save_model(model, Path(tmp) / "m", signature={"inputs": [{"name": "x", "type": "double"}]})
        for name in ("model.skops", MODEL_MANIFEST):
            backend.upload_artifact(
                run_id, f"model/{name}", iter([(Path(tmp) / "m" / name).read_bytes()])
            )


def test_registry_register_alias_resolve(backend: Backend) -> None:
    run_a, run_b = _run(backend), _run(backend)
    _log_model(backend, run_a, b"model-a")
    _log_model(backend, run_b, b"model-b")
    v1 = backend.register_model(f"runs:/{run_a}/model", "team/churn", description="first")
    v2 = backend.register_model(f"runs:/{run_b}/model", "team/churn", tags={"k": "v"})
    assert (v1.version, v2.version) == (1, 2)
    assert v1.flavor == "sklearn" and v1.run_id == run_a and v1.source == f"runs:/{run_a}/model"
    assert {f["path"] for f in v1.files} == {MODEL_MANIFEST, "model.skops"}
    assert v2.tags == {"k": "v"}
    assert backend.set_model_alias("team/churn", "champion", 1).aliases == ["champion"]
    assert backend.get_model_version("team/churn", "champion").version == 1
    assert backend.get_model_version("team/churn", "latest").version == 2
    assert backend.get_model_version("team/churn", 2) == v2
    assert backend.get_model("team/churn").aliases == {"champion": 1}
    tagged = backend.set_model_version_tag("team/churn", 1, "validated", "yes")
    assert tagged.tags == {"validated": "yes"}
    assert backend.update_model_version(
        "team/churn", "1", description="best so far"
    ).description == ("best so far")
    assert sorted(v.version for v in backend.list_model_versions("team/churn")) == [1, 2]
    backend.delete_model_alias("team/churn", "champion")
    with pytest.raises(NotFound, match="champion"):
        backend.get_model_version("team/churn", "champion")
    with pytest.raises(NotFound, match="champion"):
        backend.delete_model_alias("team/churn", "champion")
    model = backend.create_model("plain", description="no versions")
    assert model.latest_version == 0
    assert [m.name for m in backend.search_models("%churn%")] == ["team/churn"]
    assert [m.name for m in backend.search_models(max_results=1)] == ["plain"]
    with pytest.raises(Conflict):
        backend.create_model("plain")
    with pytest.raises(ValidationFailed, match="runs:/"):
        backend.register_model("s3://elsewhere/model", "team/churn")
    with pytest.raises(NotFound):
        backend.register_model(f"runs:/{run_a}/no-model-here", "team/churn")


# -- audit ---------------------------------------------------------------------------------
def test_every_mutation_is_audited_and_the_chain_verifies(backend: Backend) -> None:
    exp = backend.create_experiment("audited")
    run = backend.create_run(exp.id, params={"a": 1})
    backend.log_batch(run.id, metrics=_rows([("m", 1.0, 0)]))
    backend.upload_artifact(run.id, "f.txt", iter([b"x"]))
    _log_model(backend, run.id, b"m")
    backend.end_run(run.id)
    backend.register_model(f"runs:/{run.id}/model", "audited-model")
    backend.set_model_alias("audited-model", "prod", 1)
    backend.set_model_version_tag("audited-model", 1, "k", "v")

    run_actions = [e.action for e in backend.list_audit_events(object_id=run.id)]
    assert run_actions[0] == "run.create" and "run.end" in run_actions
    assert run_actions.count("run.log_artifact") == 3
    assert len(run_actions) >= 6  # + the metric batch
    exp_events = backend.list_audit_events(object_type="experiment", object_id=exp.id)
    assert [e.action for e in exp_events] == ["experiment.create"]
    versions = backend.list_audit_events(object_type="model_version")
    assert {e.action for e in versions} >= {"model_version.create", "model_version.set_tag"}
    everything = backend.list_audit_events(limit=1000)
    assert [e.seq for e in everything] == list(range(1, len(everything) + 1))
    assert backend.list_audit_events(after_seq=everything[-2].seq) == everything[-1:]
    assert all(e.actor for e in everything)
    report = backend.verify_audit_chain()
    assert report.ok and report.events == len(everything)


# -- datasets ------------------------------------------------------------------------------
def test_datasets_log_get_list_load_link(backend: Backend) -> None:
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None], "c": [0.5, math.nan, math.inf]})
    dv = backend.log_dataset("iris/train", frame, description="d", source="s3://bucket/x")
    assert (dv.name, dv.version, dv.num_rows) == ("iris/train", 1, 3)
    assert dv.sha256 == content_hash(to_table(frame)) and dv.source == "s3://bucket/x"
    assert backend.log_dataset("iris/train", frame.copy()) == dv  # same content, same version
    checked = backend.log_dataset(
        "iris/train",
        frame.assign(a=[1, 1, 1]),
        expectations=[checks.unique("a"), checks.not_null("b", max_fraction=0.5)],
    )
    assert checked.version == 2 and checked.checks_passed is False
    assert backend.get_dataset_version("iris/train") == checked
    assert backend.get_dataset_version("iris/train", 1) == dv
    assert backend.get_dataset_version("iris/train", "1") == dv
    assert backend.get_dataset_version_by_id(checked.id) == checked
    assert [d.name for d in backend.list_datasets()] == ["iris/train"]
    assert [v.version for v in backend.list_dataset_versions("iris/train")] == [1, 2]
    pd.testing.assert_frame_equal(backend.load_dataset("iris/train", 1), frame)

    run_id = _run(backend)
    backend.link_input(run_id, dv.id, "training")
    backend.link_input(run_id, dv.id, "training")  # idempotent
    assert [i["dataset_version_id"] for i in backend.get_run(run_id).inputs] == [dv.id]
    backend.link_input(run_id, dv.id, "validation")  # one version, several contexts
    linked = backend.log_dataset("other", frame, run_id=run_id, context="test")
    assert {i["context"] for i in backend.get_run(run_id).inputs} == {
        "training",
        "validation",
        "test",
    }
    assert linked.name == "other"
    with pytest.raises(NotFound, match="ghost"):
        backend.get_dataset_version("ghost")
    with pytest.raises(NotFound, match="iris/train"):
        backend.get_dataset_version("iris/train", 9)
    with pytest.raises(ValidationFailed, match="dataset version"):
        backend.get_dataset_version("iris/train", "first")
    with pytest.raises(ValidationFailed, match="dataset name"):
        backend.log_dataset(" bad", frame)


# -- deployments ---------------------------------------------------------------------------
def test_deployments_deploy_rollback_and_read(backend: Backend) -> None:
    for payload in (b"model-1", b"model-22"):  # compile=False: checked, not compiled
        run_id = _run(backend)
        _log_model(backend, run_id, payload)
        backend.register_model(f"runs:/{run_id}/model", "churn")
    backend.set_model_alias("churn", "champion", 1)

    first = backend.deploy(
        "team.churn-api", model="churn@champion", canary=["churn/2:25"], shadow="churn/2",
        ab_key="field:user_id", fallback="churn/1", deadline_ms=50, description="d",
        compile=False,
    )  # fmt: skip
    assert (first.revision, first.rollout_state, first.deadline_ms) == (1, "canary", 50)
    assert [(r.role, r.key, r.weight, r.alias) for r in first.routes] == [
        ("primary", "churn/1", 75, "champion"),
        ("canary", "churn/2", 25, None),
        ("shadow", "churn/2", 0, None),
        ("fallback", "churn/1", 0, None),
    ]
    assert first.sticky["field"] == "user_id"
    assert {k: c.status for k, c in first.compiled.items()} == {
        "churn/1": "pending",
        "churn/2": "pending",
    }
    second = backend.deploy("team.churn-api", model="churn/2", compile=False)
    assert (second.revision, second.parent_revision) == (2, 1)
    back = backend.rollback("team.churn-api", reason="bad canary")
    assert (back.revision, back.reason, back.restored_from) == (3, "rollback", 1)
    assert back.routes == first.routes
    again = backend.rollback("team.churn-api", to_revision=2, reason="restore v2")
    assert again.routes == second.routes

    assert backend.get_revision("team.churn-api", 1) == first
    assert backend.get_revision("team.churn-api").revision == 4
    assert [r.revision for r in backend.list_revisions("team.churn-api")] == [4, 3, 2, 1]
    dep = backend.get_deployment("team.churn-api")
    assert (dep.name, dep.description, dep.current_revision) == ("team.churn-api", "d", 4)
    assert dep.current == backend.get_revision("team.churn-api")
    assert backend.list_deployments() == [dep]
    actions = [e.action for e in backend.list_audit_events(object_type="deployment", limit=1000)]
    assert (
        actions == ["deployment.create"] + ["deployment.deploy"] * 2 + ["deployment.rollback"] * 2
    )

    with pytest.raises(NotFound, match="no version 9"):
        backend.deploy("ep", model="churn/9", compile=False)
    with pytest.raises(NotFound, match="prod"):
        backend.deploy("ep", model="churn@prod")
    with pytest.raises(ValidationFailed, match="sum to 100"):
        backend.deploy("ep", model="churn/1:80", canary="churn/2:10")
    with pytest.raises(NotFound, match="'ep'"):
        backend.get_deployment("ep")  # a refused deploy writes nothing
    with pytest.raises(NotFound, match="no revision 9"):
        backend.get_revision("team.churn-api", 9)
    with pytest.raises(NotFound, match="'ghost'"):
        backend.rollback("ghost", reason="test")
    with pytest.raises(ValidationFailed, match="endpoint name"):
        backend.list_revisions(" bad")


# -- monitoring ----------------------------------------------------------------------------
def test_monitors_crud_run_and_alerts(backend: Backend, tmp_path: Path) -> None:
    spec = {"name": "vol", "endpoint": "churn", "metric": "volume", "threshold": 1}
    made = backend.create_monitor(spec)
    assert made.name == "vol" and made.threshold == 1 and backend.get_monitor("vol") == made
    with pytest.raises(Conflict, match="vol"):
        backend.create_monitor(spec)
    done = backend.apply_monitors([spec, {**spec, "name": "vol2", "comparison": "<"}])
    assert [(d.action, d.monitor.name) for d in done] == [("unchanged", "vol"), ("created", "vol2")]
    assert backend.update_monitor("vol", {"threshold": 5}).threshold == 5
    assert [m.name for m in backend.list_monitors(endpoint="churn")] == ["vol", "vol2"]
    outcomes = backend.run_monitors(due_only=False, log_uri=str(tmp_path / "no-log"))
    assert {o.monitor for o in outcomes} == {"vol", "vol2"}
    assert all(o.status in ("ok", "breach", "insufficient_data") for o in outcomes)
    assert len(backend.list_monitor_checks("vol")) == 1
    for alert in backend.list_alerts():
        assert backend.get_alert(alert.id).id == alert.id
    with pytest.raises(NotFound, match="'churn' does not exist"):  # neither deployed nor logged
        backend.monitor_report("churn", "1h", log_uri=str(tmp_path / "no-log"))
    backend.delete_monitor("vol")
    with pytest.raises(NotFound, match="vol"):
        backend.get_monitor("vol")
    assert [m.name for m in backend.list_monitors()] == ["vol2"]
