"""Node kinds on the run side: deployment revisions, rollouts, alerts, triggers and
predictions."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from conveyor.errors import NotFound
from conveyor.lineage._base import FANOUT, Kind, Link, model_node, recorded, register
from conveyor.lineage.graph import Node
from conveyor.store.projects import current_project_id

__all__ = ["revisions_serving"]

_REVISION = re.compile(r"^(.+)/(\d+)$")


def _deployments() -> Any:
    from conveyor.deployments.tables import deployment_revisions, deployments

    return deployments, deployment_revisions


def _routes(routes: Any) -> list[dict[str, Any]]:
    return [r for r in routes or [] if isinstance(r, dict)]


def revisions_serving(
    conn: sa.Connection, model: str, version: int, *, primary_only: bool = False
) -> list[Node]:
    """Deployment revisions with a route to ``model/version`` (newest first)."""
    deployments, revs = _deployments()
    rows = conn.execute(
        sa.select(deployments.c.name, revs.c.revision, revs.c.routes, revs.c.created_at)
        .join(deployments, deployments.c.id == revs.c.deployment_id)
        .where(sa.cast(revs.c.routes, sa.Text).like(f"%{model}%"))
        .where(deployments.c.project_id == current_project_id())
        .order_by(revs.c.created_at.desc())
    )
    out = []
    for r in rows:
        for route in _routes(r.routes):
            if route.get("model") == model and int(route.get("version", -1)) == version:
                if primary_only and route.get("role") != "primary":
                    continue
                out.append(
                    Node(
                        "deployment_revision",
                        f"{r.name}/{r.revision}",
                        attrs={"created_at": r.created_at},
                    )
                )
                break
        if len(out) >= FANOUT:
            break
    return out


def revision_at(conn: sa.Connection, endpoint: str, at: int) -> Node | None:
    """The revision of ``endpoint`` that was current at ``at`` (epoch ms)."""
    deployments, revs = _deployments()
    row = conn.execute(
        sa.select(revs.c.revision)
        .join(deployments, deployments.c.id == revs.c.deployment_id)
        .where(deployments.c.name == endpoint, revs.c.created_at <= at)
        .where(deployments.c.project_id == current_project_id())
        .order_by(revs.c.created_at.desc(), revs.c.revision.desc())
        .limit(1)
    ).first()
    return Node("deployment_revision", f"{endpoint}/{row.revision}") if row else None


class DeploymentRevisionKind(Kind):
    type = "deployment_revision"

    def resolve(self, conn: sa.Connection, node: Node) -> Node:
        from conveyor.deployments import service as deployments

        match = _REVISION.match(node.key)
        rev = None
        if match is not None:
            try:
                rev = deployments.get_revision(conn, match.group(1), int(match.group(2)))
            except NotFound:
                rev = None
        if rev is None:
            rev = deployments.get_revision(conn, node.key, None)
        node.key = f"{rev.endpoint}/{rev.revision}"
        node.label = f"{rev.endpoint} rev {rev.revision}"
        deps, revs = _deployments()
        nxt = conn.execute(
            sa.select(revs.c.created_at)
            .join(deps, deps.c.id == revs.c.deployment_id)
            .where(deps.c.name == rev.endpoint, revs.c.revision > rev.revision)
            .order_by(revs.c.revision)
            .limit(1)
        ).first()
        node.attrs = {
            "endpoint": rev.endpoint,
            "revision": rev.revision,
            "routes": [
                {
                    "model": r.model,
                    "version": r.version,
                    "role": r.role,
                    "weight": r.weight,
                    "name": r.name,
                }
                for r in rev.routes
            ],
            "reason": rev.reason,
            "rollout_state": rev.rollout_state,
            "created_by": rev.created_by,
            "created_at": rev.created_at,
            "until": nxt.created_at if nxt is not None else None,
        }
        return node

    def upstream(self, conn: sa.Connection, node: Node) -> list[Link]:
        from conveyor.deployments.rollout_tables import rollout_decisions, rollouts
        from conveyor.lineage._data_kinds import approval_nodes, latest_report_before

        out: list[Link] = []
        for route in node.attrs["routes"]:
            out.append((model_node(route["model"], route["version"]), "serves"))
            report = latest_report_before(
                conn, route["model"], int(route["version"]), node.attrs["created_at"]
            )
            if report is not None and route["role"] == "primary":
                out.append((report, "cleared"))
            out += [
                (a, "approved")
                for a in approval_nodes(conn, route["model"], int(route["version"]))
                if a.attrs.get("status") == "approved"
            ]
        rows = conn.execute(
            sa.select(rollouts.c.id)
            .distinct()
            .join(rollout_decisions, rollout_decisions.c.rollout_id == rollouts.c.id)
            .where(
                rollouts.c.endpoint == node.attrs["endpoint"],
                rollout_decisions.c.revision == node.attrs["revision"],
            )
        )
        out += [(Node("rollout", r.id), "step") for r in rows]
        return out + recorded(conn, node, upstream=True)

    def downstream(self, conn: sa.Connection, node: Node) -> list[Link]:
        from conveyor.monitoring.tables import alerts, monitors

        query = (
            sa.select(alerts.c.id)
            .join(monitors, monitors.c.id == alerts.c.monitor_id)
            .where(
                monitors.c.endpoint == node.attrs["endpoint"],
                alerts.c.started_at >= node.attrs["created_at"],
            )
        )
        if node.attrs.get("until") is not None:
            query = query.where(alerts.c.started_at < node.attrs["until"])
        rows = conn.execute(query.order_by(alerts.c.started_at.desc()).limit(FANOUT))
        return [(Node("alert", r.id), "monitored") for r in rows] + recorded(
            conn, node, upstream=False
        )


class RolloutKind(Kind):
    type = "rollout"

    def resolve(self, conn: sa.Connection, node: Node) -> Node:
        from conveyor.deployments.rollout_tables import rollouts

        row = conn.execute(sa.select(rollouts).where(rollouts.c.id == node.key)).first()
        if row is None:
            raise NotFound(f"no rollout {node.key!r}: `conveyor rollout status <endpoint>`")
        candidate = f"{row.candidate_model}/{row.candidate_version}"
        node.label = f"rollout {candidate} on {row.endpoint}"
        node.attrs = {
            "endpoint": row.endpoint,
            "candidate": candidate,
            "primary": f"{row.primary_model}/{row.primary_version}",
            "state": row.state,
            "base_revision": row.base_revision,
            "reason": row.reason,
            "created_by": row.created_by,
            "created_at": row.created_at,
        }
        return node

    def upstream(self, conn: sa.Connection, node: Node) -> list[Link]:
        from conveyor.lineage._data_kinds import latest_report_before

        name, _, version = node.attrs["candidate"].rpartition("/")
        out: list[Link] = [(model_node(name, version), "candidate")]
        report = latest_report_before(conn, name, int(version), node.attrs["created_at"])
        if report is not None:
            out.append((report, "cleared"))
        base = f"{node.attrs['endpoint']}/{node.attrs['base_revision']}"
        out.append((Node("deployment_revision", base), "base"))
        return out + recorded(conn, node, upstream=True)

    def downstream(self, conn: sa.Connection, node: Node) -> list[Link]:
        from conveyor.deployments.rollout_tables import rollout_decisions

        rows = conn.execute(
            sa.select(rollout_decisions.c.revision)
            .where(
                rollout_decisions.c.rollout_id == node.key,
                rollout_decisions.c.revision.is_not(None),
            )
            .order_by(rollout_decisions.c.seq)
        )
        seen: list[int] = []
        for r in rows:
            if r.revision not in seen and r.revision != node.attrs["base_revision"]:
                seen.append(r.revision)
        endpoint = node.attrs["endpoint"]
        return [(Node("deployment_revision", f"{endpoint}/{n}"), "step") for n in seen] + recorded(
            conn, node, upstream=False
        )


class AlertKind(Kind):
    type = "alert"

    def resolve(self, conn: sa.Connection, node: Node) -> Node:
        from conveyor.monitoring import crud

        alert = crud.get_alert(conn, node.key)
        node.label = f"alert {alert.monitor}"
        node.attrs = {
            "monitor": alert.monitor,
            "endpoint": alert.endpoint,
            "state": alert.state,
            "severity": alert.severity,
            "value": alert.value,
            "threshold": alert.threshold,
            "message": alert.message,
            "started_at": alert.started_at,
            "fired_at": alert.fired_at,
        }
        return node

    def upstream(self, conn: sa.Connection, node: Node) -> list[Link]:
        rev = revision_at(conn, node.attrs["endpoint"], node.attrs["started_at"])
        out: list[Link] = [(rev, "monitored")] if rev is not None else []
        return out + recorded(conn, node, upstream=True)

    def downstream(self, conn: sa.Connection, node: Node) -> list[Link]:
        return recorded(conn, node, upstream=False)


class TriggerKind(Kind):
    type = "trigger"

    def resolve(self, conn: sa.Connection, node: Node) -> Node:
        from conveyor.pipelines import triggers

        trig = triggers.get_trigger(conn, node.key)
        node.key = trig.name
        node.label = f"trigger {trig.name}"
        node.attrs = {
            "id": trig.id,
            "pipeline": trig.pipeline,
            "cause_kind": trig.cause_kind,
            "cause": trig.cause,
            "model": trig.model,
            "state": trig.state,
        }
        return node

    def upstream(self, conn: sa.Connection, node: Node) -> list[Link]:
        return recorded(conn, node, upstream=True)[-FANOUT:]

    def downstream(self, conn: sa.Connection, node: Node) -> list[Link]:
        from conveyor.pipelines.tables import pipeline_runs

        rows = conn.execute(
            sa.select(pipeline_runs.c.id)
            .where(pipeline_runs.c.trigger_id == node.attrs["id"])
            .order_by(pipeline_runs.c.created_at.desc())
            .limit(FANOUT)
        )
        return [(Node("pipeline_run", r.id), "fired") for r in rows]


def find_prediction(conn: sa.Connection, prediction_id: str) -> dict[str, Any] | None:
    """The logged prediction with this id (endpoint, model version, route, time), searched
    in the prediction log of every deployed endpoint; None when absent."""
    import pyarrow.compute as pc
    import pyarrow.dataset as pads

    from conveyor.monitoring.windows import _files, default_log_uri

    deployments, _ = _deployments()
    uri = default_log_uri()
    columns = ["prediction_id", "ts", "endpoint", "model_version", "route", "latency_ms"]
    names = sa.select(deployments.c.name).where(deployments.c.project_id == current_project_id())
    for (endpoint,) in conn.execute(names.order_by(deployments.c.name)):
        files = _files(uri, "predictions", endpoint, None)
        if not files:
            continue
        # the files sit under endpoint=/date= folders: no hive partitioning, their own
        # (dictionary-typed) endpoint column is the one to read
        table = pads.dataset(files, format="parquet", partitioning=None).to_table(
            columns=columns, filter=pc.field("prediction_id") == prediction_id
        )
        if table.num_rows:
            row = table.to_pylist()[0]
            ts = row["ts"]
            row["ts"] = int(ts.timestamp() * 1000) if hasattr(ts, "timestamp") else int(ts)
            return row
    return None


class PredictionKind(Kind):
    type = "prediction"

    def resolve(self, conn: sa.Connection, node: Node) -> Node:
        found = find_prediction(conn, node.key)
        if found is None:
            raise NotFound(
                f"no prediction {node.key!r} in the prediction log of any deployed endpoint "
                "(is prediction logging on, and has the log been flushed?)"
            )
        node.label = f"prediction {node.key[:8]}"
        node.attrs = {k: v for k, v in found.items() if k != "prediction_id"}
        rev = revision_at(conn, found["endpoint"], found["ts"])
        if rev is not None:
            rev = DeploymentRevisionKind().resolve(conn, rev)
            node.attrs["revision"] = rev.key
            routes = rev.attrs["routes"]
            route = next((r for r in routes if r["name"] == found["route"]), None) or next(
                (r for r in routes if str(r["version"]) == str(found["model_version"])), None
            )
            if route is not None:
                node.attrs["model"] = f"{route['model']}/{route['version']}"
        return node

    def upstream(self, conn: sa.Connection, node: Node) -> list[Link]:
        out: list[Link] = []
        if node.attrs.get("revision"):
            out.append((Node("deployment_revision", node.attrs["revision"]), "served"))
        if node.attrs.get("model"):
            name, _, version = node.attrs["model"].rpartition("/")
            out.append((model_node(name, version), "predicted"))
        return out


for _kind in (
    DeploymentRevisionKind(),
    RolloutKind(),
    AlertKind(),
    TriggerKind(),
    PredictionKind(),
):
    register(_kind)
