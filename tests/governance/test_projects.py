"""Projects: the same names kept apart per project (SDK, REST with tokens, MLflow adapter),
ids that do not cross projects, users with a role in one project only, and the CLI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from tests.governance.conftest import HTTP, Secured, error_of

import conveyor
from conveyor.backend import LocalBackend
from conveyor.errors import Conflict, NotFound, ValidationFailed
from conveyor.tracking import fluent


def _in(backend: LocalBackend, project: str) -> LocalBackend:
    return backend.as_actor(replace(backend.actor, project=project))


def test_two_projects_keep_the_same_names_apart_in_the_sdk(
    sqlite_backend: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqlite_backend.create_project("teamb", "team B's models")
    a, b = sqlite_backend, _in(sqlite_backend, "teamb")
    for client in (a, b):
        client.create_experiment("churn")
        client.create_model("churn")
    run_a = a.create_run(a.get_experiment("churn").id, name="in-a")
    run_b = b.create_run(b.get_experiment("churn").id, name="in-b")
    assert a.get_experiment("churn").id != b.get_experiment("churn").id
    assert a.get_model("churn").id != b.get_model("churn").id
    assert [r.name for r in b.search_runs()] == ["in-b"]
    assert [e.name for e in b.list_experiments()] == ["churn"]
    # an id from another project is not found, and says where it was looked for
    with pytest.raises(NotFound, match="in project 'teamb'"):
        b.get_run(run_a.id)
    with pytest.raises(NotFound):
        a.log_batch(run_b.id, params={"x": "1"})
    with pytest.raises(NotFound, match="teamb"):
        b.get_experiment(a.get_experiment("churn").id)
    with pytest.raises(ValidationFailed, match="takes no project_id"):
        b.list_datasets(project_id=a.get_experiment("churn").id)
    with pytest.raises(Conflict):
        b.create_project("teamb")
    assert [p.name for p in a.list_projects()] == ["default", "teamb"]
    with pytest.raises(NotFound, match="default, teamb"):
        _in(a, "nope").list_experiments()

    # the fluent SDK acts in CONVEYOR_PROJECT
    monkeypatch.setenv("CONVEYOR_PROJECT", "teamb")
    monkeypatch.setenv("CONVEYOR_DB_URL", a.meta.url)
    monkeypatch.setenv("CONVEYOR_ARTIFACT_URI", a.artifacts.uri)
    from conveyor.backend import reset_backends
    from conveyor.config import reset_settings

    reset_settings()
    reset_backends()
    conveyor.set_experiment("churn")
    with conveyor.start_run(run_name="fluent"):
        conveyor.log_param("p", "1")
    fluent.reset()
    assert sorted(r.name for r in b.search_runs()) == ["fluent", "in-b"]
    assert [r.name for r in a.search_runs()] == ["in-a"]


def _headers(token: str, project: str = "") -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if project:
        headers["X-Conveyor-Project"] = project
    return headers


def test_rest_projects_with_tokens(secured: Secured) -> None:
    with secured.client("root") as root:
        assert root.create_project("teamb", "B").role == "admin"
        # the creator became admin of teamb
        assert root.whoami()["roles"] == {"default": "admin", "teamb": "admin"}
    with secured.client("root", project="teamb") as root_b:
        root_b.create_user("carol", "editor")  # carol's only role: editor in teamb
        carol = root_b.create_token("carol").token

    url = secured.url + "/api/v1"
    for token, project in ((secured.tokens["editor"], ""), (carol, "teamb")):
        response = HTTP.post(
            url + "/experiments", json={"name": "churn"}, headers=_headers(token, project)
        )
        assert response.status_code == 201, response.text
    ids = {
        p: HTTP.get(url + "/experiments/churn", headers=_headers(t, p)).json()["id"]
        for t, p in ((secured.tokens["viewer"], ""), (carol, "teamb"))
    }
    assert ids[""] != ids["teamb"]
    run = HTTP.post(
        url + "/runs", json={"experiment_id": ids["teamb"]}, headers=_headers(carol, "teamb")
    ).json()

    # carol has no role in default: refused, saying so; her project list shows teamb only
    error = error_of(HTTP.get(url + "/experiments", headers=_headers(carol)), 403)
    assert "no role in project 'default'" in error["message"]
    for project in ("teamb", ""):  # from default too, where she has no role: she finds teamb
        listed = HTTP.get(url + "/projects", headers=_headers(carol, project)).json()
        assert [p["name"] for p in listed["projects"]] == ["teamb"]
    me = HTTP.get(url + "/whoami", headers=_headers(carol)).json()
    assert (me["project"], me["role"], me["roles"]) == ("default", None, {"teamb": "editor"})
    assert me["permissions"] == []
    error = error_of(HTTP.get(url + "/projects/default", headers=_headers(carol)), 404)
    assert "the projects you can use are: teamb" in error["message"]
    error = error_of(HTTP.get(url + "/experiments", headers=_headers(carol, "nope")), 404)
    assert "the projects you can use are: teamb " in error["message"]
    # an editor of default only: refused in teamb, and teamb's run id is not found in default
    editor = secured.tokens["editor"]
    error = error_of(HTTP.get(url + "/experiments", headers=_headers(editor, "teamb")), 403)
    assert "no role in project 'teamb'" in error["message"]
    error_of(HTTP.get(url + f"/runs/{run['id']}", headers=_headers(editor)), 404)
    # only a server admin (admin of default) creates projects
    error = error_of(
        HTTP.post(url + "/projects", json={"name": "c"}, headers=_headers(carol, "teamb")), 403
    )
    assert "'projects:manage'" in error["message"]
    assert "no role in project 'default'" in error["message"]
    # the MLflow adapter acts in the header's project too
    mlflow = secured.url + "/api/2.0/mlflow/experiments/get-by-name"
    got = HTTP.get(mlflow, params={"experiment_name": "churn"}, headers=_headers(carol, "teamb"))
    assert got.json()["experiment"]["experiment_id"] == ids["teamb"]
    events = [e.action for e in secured.local.list_audit_events(limit=50)]
    assert "project.create" in events


def test_projects_cli(run_json: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    made = run_json("projects", "create", "teamb", "--description", "team B")
    assert made["name"] == "teamb"
    assert [p["name"] for p in run_json("projects", "list")] == ["default", "teamb"]
    monkeypatch.setenv("CONVEYOR_PROJECT", "teamb")
    from conveyor.backend import reset_backends
    from conveyor.config import reset_settings

    reset_settings()
    reset_backends()
    assert run_json("projects", "show", "teamb")["description"] == "team B"
    run_json("experiments", "create", "churn")
    assert [e["name"] for e in run_json("experiments", "list")] == ["churn"]


def test_endpoints_of_every_project_are_served_names_unique_and_jobs_see_all(
    sqlite_backend: LocalBackend, tmp_path: Any
) -> None:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from tests.deployments.conftest import register

    from conveyor.deployments.rollout_controller import RolloutController, schedule
    from conveyor.deployments.runtime import DeploymentServer
    from conveyor.jobs import Scheduler
    from conveyor.store.projects import current_project_name, each_project

    sqlite_backend.create_project("teamb")
    a, b = sqlite_backend, _in(sqlite_backend, "teamb")
    x = pd.DataFrame(np.random.default_rng(0).normal(size=(40, 2)), columns=["f0", "f1"])
    model = LogisticRegression().fit(x, (x["f0"] > 0).astype(int))
    for _ in range(2):
        register(b, "churn", model, x.head(5), tmp_path)
    b.deploy("b-api", model="churn/1")
    # endpoint names are server-wide (serving URLs, prediction-log folders)
    register(a, "churn", model, x.head(5), tmp_path)
    with pytest.raises(Conflict, match="taken by project 'teamb'"):
        a.deploy("b-api", model="churn/1")
    assert each_project(a.meta.engine, lambda: [current_project_name()]) == ["default", "teamb"]
    # a serving runtime serves its backend's project's endpoints (CONVEYOR_PROJECT)
    server = DeploymentServer(b, ["b-api"], poll_interval=60)  # loads the tables
    assert server.watcher.status["b-api"].serving == 1
    with pytest.raises(NotFound, match="b-api"):
        DeploymentServer(a, ["b-api"], poll_interval=60)

    # the scheduled rollout controller ticks teamb's rollout, not only default's
    b.start_rollout("b-api", "churn/2", steps="50,100", interval="1h")
    jobs = Scheduler("test-rollouts")
    job = schedule(jobs, RolloutController(a.meta, log_uri=str(tmp_path / "logs")), every_s=0.05)
    with jobs:
        assert job.wait_for_runs(1)
    assert [(t.endpoint, t.action) for t in job.last_result or []] == [("b-api", "begin")]
