"""Run and experiment lifecycle and metadata edits, registry edits, logged models."""

from __future__ import annotations

from typing import Any

import pytest

from conveyor.errors import Conflict, NotFound
from conveyor.registry import lifecycle as models
from conveyor.tracking import lifecycle, logged_models
from conveyor.tracking.search import parse_filter, parse_order_by
from conveyor.tracking.service import search_parsed


def _write(backend: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
    with backend.write() as uow:
        return fn(uow, *args, **kwargs)


def test_run_and_experiment_lifecycle(sqlite_backend: Any) -> None:
    b = sqlite_backend
    exp = b.create_experiment("life")
    run = b.create_run(exp.id, name="a", tags={"t": "1"})
    _write(b, lifecycle.update_run, run.id, name="renamed")
    _write(b, lifecycle.delete_run_tag, run.id, "t")
    got = b.get_run(run.id)
    assert (got.name, got.tags) == ("renamed", {})
    with pytest.raises(NotFound):
        _write(b, lifecycle.delete_run_tag, run.id, "t")

    _write(b, lifecycle.delete_run, run.id)
    with b.read() as conn:
        assert search_parsed(conn, [exp.id], [], [], max_results=10) == []
        deleted = search_parsed(conn, [exp.id], [], [], max_results=10, lifecycles=("deleted",))
        assert [r.id for r in deleted] == [run.id]
    _write(b, lifecycle.restore_run, run.id)
    assert [r.id for r in b.search_runs([exp.id])] == [run.id]

    _write(b, lifecycle.update_run, run.id, status="FINISHED", end_time=123)
    ended = b.get_run(run.id)
    assert (ended.status, ended.end_time) == ("FINISHED", 123)
    with pytest.raises(Conflict):  # an ended run does not change status again
        _write(b, lifecycle.update_run, run.id, status="FAILED")

    _write(b, lifecycle.set_experiment_tag, exp.id, "k", "v")
    _write(b, lifecycle.update_experiment, exp.id, name="life-2")
    assert (b.get_experiment(exp.id).name, b.get_experiment(exp.id).tags) == ("life-2", {"k": "v"})
    b.create_experiment("taken")
    with pytest.raises(Conflict):
        _write(b, lifecycle.update_experiment, exp.id, name="taken")
    _write(b, lifecycle.delete_experiment, exp.id)
    assert "life-2" not in [e.name for e in b.list_experiments()]
    _write(b, lifecycle.restore_experiment, exp.id)
    assert "life-2" in [e.name for e in b.list_experiments()]
    actions = {e.action for e in b.list_audit_events(limit=100)}
    assert {"run.update", "run.delete", "run.restore", "experiment.delete"} <= actions


def test_search_parsed_takes_clauses(sqlite_backend: Any) -> None:
    b = sqlite_backend
    exp = b.create_experiment("clauses")
    for i in range(3):
        b.create_run(exp.id, name=f"r{i}", params={"i": str(i)})
    with b.read() as conn:
        found = search_parsed(
            conn,
            [exp.id],
            parse_filter("params.i != '1'"),
            parse_order_by(["params.i DESC"]),
            max_results=10,
        )
    assert [r.name for r in found] == ["r2", "r0"]


def test_logged_model_records(sqlite_backend: Any) -> None:
    b = sqlite_backend
    exp = b.create_experiment("lm")
    run = b.create_run(exp.id)
    model = _write(b, logged_models.create_logged_model, exp.id, name="m", source_run_id=run.id)
    assert (model.status, model.run_id) == ("PENDING", run.id)
    _write(b, logged_models.set_logged_model_tags, model.id, {"a": "1"})
    _write(b, logged_models.log_logged_model_params, model.id, {"p": "x"})
    ready = _write(b, logged_models.finalize_logged_model, model.id, "READY")
    assert (ready.status, ready.tags, ready.params) == ("READY", {"a": "1"}, {"p": "x"})
    holder = _write(b, logged_models.create_logged_model, exp.id, name="alone")
    assert holder.run_id != run.id and holder.source_run_id is None
    _write(b, logged_models.finalize_logged_model, holder.id, "READY")
    assert b.get_run(holder.run_id).status == "FINISHED"  # its holder run ended with it
    with b.read() as conn:
        mine = logged_models.search_logged_models(conn, [exp.id], source_run_id=run.id)
    assert [m.id for m in mine] == [model.id]


def test_registry_edits(sqlite_backend: Any) -> None:
    b = sqlite_backend
    b.create_model("reg", tags={"a": "1"})
    _write(b, models.update_model, "reg", description="d")
    _write(b, models.set_model_tag, "reg", "b", "2")
    _write(b, models.delete_model_tag, "reg", "a")
    renamed = _write(b, models.rename_model, "reg", "reg-2")
    assert (renamed.name, renamed.description, renamed.tags) == ("reg-2", "d", {"b": "2"})
    _write(b, models.delete_model, "reg-2")
    with pytest.raises(NotFound):
        b.get_model("reg-2")
    assert "gaps" in models.refuse_version_delete("m", 1).message
