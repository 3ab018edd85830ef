"""Tracking services on SQLite and PostgreSQL: runs, params, metrics, search, audit."""

from __future__ import annotations

import math

import pytest

from conveyor.errors import Conflict, NotFound, ValidationFailed
from conveyor.governance.audit import list_events, verify_chain
from conveyor.governance.identity import Actor
from conveyor.store import MetadataStore
from conveyor.tracking import service
from conveyor.tracking.metric_rows import MetricRows

ALICE = Actor("alice")


def _rows(*points: tuple[str, float, int, int]) -> MetricRows:
    rows = MetricRows()
    for key, value, step, ts in points:
        rows.append(key, value, step, ts)
    return rows


def _new_run(meta: MetadataStore, **kwargs: object) -> str:
    with meta.write(ALICE) as uow:
        exp = service.get_or_create_experiment(uow, "exp")
        return service.create_run(uow, exp.id, **kwargs).id  # type: ignore[arg-type]


def test_run_lifecycle_params_metrics_and_audit(meta: MetadataStore) -> None:
    run_id = _new_run(meta, name="first", tags={"team": "ml"}, params={"model": "rf"})
    with meta.write(ALICE) as uow:
        service.log_batch(
            uow,
            run_id,
            metric_rows=_rows(("loss", 0.5, 0, 10), ("loss", 0.25, 1, 20), ("loss", 0.9, 0, 30)),
            params={"depth": 8},
            tags={"stage": "dev"},
        )
        service.end_run(uow, run_id, status="FINISHED")
    with meta.read() as conn:
        run = service.get_run(conn, run_id)
        history = service.get_metric_history(conn, run_id, "loss")
        events = list_events(conn, object_id=run_id)
        assert verify_chain(conn).ok
    assert run.status == "FINISHED" and run.end_time is not None
    assert run.params == {"model": "rf", "depth": "8"}
    assert run.tags == {"team": "ml", "stage": "dev"}
    assert run.metrics == {"loss": 0.25}  # highest step wins, not the last logged
    assert [(p.step, p.value) for p in history] == [(0, 0.5), (0, 0.9), (1, 0.25)]
    assert [e.action for e in events] == ["run.create", "run.log_batch", "run.end"]
    assert {e.actor for e in events} == {"alice"}


def test_param_conflict_and_same_value_relog(meta: MetadataStore) -> None:
    run_id = _new_run(meta)
    with meta.write(ALICE) as uow:
        service.log_batch(uow, run_id, params={"lr": 0.1})
    with meta.write(ALICE) as uow:
        service.log_batch(uow, run_id, params={"lr": "0.1"})  # same value: accepted
    with pytest.raises(Conflict, match=r"'lr'.*'0.1'.*'0.2'"), meta.write(ALICE) as uow:
        service.log_batch(uow, run_id, params={"lr": 0.2})


def test_non_finite_metrics_round_trip(meta: MetadataStore) -> None:
    run_id = _new_run(meta)
    with meta.write(ALICE) as uow:
        service.log_batch(
            uow,
            run_id,
            metric_rows=_rows(
                ("nan", math.nan, 0, 1), ("pinf", math.inf, 0, 1), ("ninf", -math.inf, 0, 1)
            ),
        )
    with meta.read() as conn:
        run = service.get_run(conn, run_id)
        history = service.get_metric_history(conn, run_id, "pinf")
    assert math.isnan(run.metrics["nan"])
    assert run.metrics["pinf"] == math.inf
    assert run.metrics["ninf"] == -math.inf
    assert history[0].value == math.inf


def test_unknown_ids_name_themselves(meta: MetadataStore) -> None:
    with meta.read() as conn:
        with pytest.raises(NotFound, match="nope"):
            service.get_run(conn, "nope")
        with pytest.raises(NotFound, match="ghost"):
            service.get_experiment(conn, "ghost")
    with pytest.raises(ValidationFailed, match="invalid experiment name"), meta.write(ALICE) as uow:
        service.create_experiment(uow, " bad name")


def test_search_filters_and_orders(meta: MetadataStore) -> None:
    ids = {}
    for model, auc in [("rf", 0.91), ("rf", 0.75), ("lr", 0.85), ("gbm", math.nan)]:
        run_id = _new_run(meta, params={"model": model})
        with meta.write(ALICE) as uow:
            service.log_batch(uow, run_id, metric_rows=_rows(("auc", auc, 0, 1)))
        ids[(model, auc if auc == auc else "nan")] = run_id
    with meta.read() as conn:
        found = service.search_runs(conn, filter_string="metrics.auc > 0.8 and params.model = 'rf'")
        ordered = service.search_runs(conn, order_by=["metrics.auc DESC"])
        in_list = service.search_runs(conn, filter_string="params.model IN ('lr', 'gbm')")
    assert [r.id for r in found] == [ids[("rf", 0.91)]]
    assert [r.params["model"] for r in ordered] == ["rf", "lr", "rf", "gbm"]  # NaN last
    assert {r.params["model"] for r in in_list} == {"lr", "gbm"}


def test_failed_batch_writes_nothing(meta: MetadataStore) -> None:
    run_id = _new_run(meta, params={"a": 1})
    with pytest.raises(Conflict), meta.write(ALICE) as uow:
        service.log_batch(uow, run_id, metric_rows=_rows(("m", 1.0, 0, 1)), params={"a": 2})
    with meta.read() as conn:
        assert service.get_run(conn, run_id).metrics == {}
        assert service.get_metric_history(conn, run_id, "m") == []
