"""Node kinds on the build side: dataset versions, runs, pipeline runs, code commits,
model versions, gate reports and approvals."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from conveyor.errors import NotFound
from conveyor.lineage import providers
from conveyor.lineage._base import (
    FANOUT,
    Kind,
    Link,
    dataset_uri_node,
    model_node,
    recorded,
    register,
    run_node,
    split_versioned,
)
from conveyor.lineage.graph import Node
from conveyor.store.projects import current_project_id, run_in_project
from conveyor.store.tables import (
    dataset_versions,
    datasets,
    model_versions,
    models,
    run_inputs,
    runs,
)

__all__: list[str] = []


def _versions(conn: sa.Connection, type_: str, where: Any) -> list[Node]:
    """Nodes of the dataset or model versions matching ``where`` (newest first)."""
    parent, child, fk = (
        (datasets, dataset_versions, dataset_versions.c.dataset_id)
        if type_ == "dataset_version"
        else (models, model_versions, model_versions.c.model_id)
    )
    rows = conn.execute(
        sa.select(parent.c.name, child.c.version)
        .join(parent, parent.c.id == fk)
        .where(where)
        .order_by(child.c.created_at.desc())
        .limit(FANOUT)
    )
    return [Node(type_, f"{r.name}/{int(r.version)}") for r in rows]


def _dv_nodes(conn: sa.Connection, where: Any) -> list[Node]:
    return _versions(conn, "dataset_version", where)


def _mv_nodes(conn: sa.Connection, where: Any) -> list[Node]:
    return _versions(conn, "model_version", where)


def _gate_report_nodes(conn: sa.Connection, where: Any) -> list[Node]:
    from conveyor.gates.tables import gate_reports

    rows = conn.execute(
        sa.select(gate_reports.c.id)
        .where(where)
        .order_by(gate_reports.c.created_at.desc())
        .limit(FANOUT)
    )
    return [Node("gate_report", r.id) for r in rows]


class DatasetVersionKind(Kind):
    type = "dataset_version"

    def resolve(self, conn: sa.Connection, node: Node) -> Node:
        from conveyor.data import service as data

        name, version = split_versioned(node.key)
        dv = data.get_dataset_version(conn, name, version)
        checks = dv.checks or {}
        node.label = f"{dv.name} v{dv.version}"
        node.attrs = {
            "id": dv.id,
            "rows": dv.num_rows,
            "sha256": dv.sha256,
            "source": dv.source,
            "checks_passed": checks.get("passed") if checks else None,
            "created_at": dv.created_at,
        }
        return node

    def upstream(self, conn: sa.Connection, node: Node) -> list[Link]:
        out = recorded(conn, node, upstream=True)
        source = str(node.attrs.get("source") or "")
        if source.startswith("runs:/"):
            out.append((run_node(conn, source.removeprefix("runs:/").split("/")[0]), "produced"))
        return out

    def downstream(self, conn: sa.Connection, node: Node) -> list[Link]:
        from conveyor.gates.tables import gate_reports

        dv_id = node.attrs["id"]
        rows = conn.execute(
            sa.select(run_inputs.c.run_id, run_inputs.c.context)
            .where(run_inputs.c.dataset_version_id == dv_id)
            .order_by(run_inputs.c.created_at.desc())
            .limit(FANOUT)
        )
        out: list[Link] = [(run_node(conn, r.run_id), r.context) for r in rows]
        ref = model_versions.c.reference_dataset_version_id == dv_id
        out += [(n, "reference") for n in _mv_nodes(conn, ref)]
        uri = '"datasets:/' + node.key + '"'
        text = sa.cast(gate_reports.c.report, sa.Text)
        out += [(n, "evaluation data") for n in _gate_report_nodes(conn, text.like(f"%{uri}%"))]
        return out + recorded(conn, node, upstream=False)


def _run_row(conn: sa.Connection, run_id: str) -> Any:
    in_project = run_in_project(current_project_id())
    row = conn.execute(sa.select(runs).where(runs.c.id == run_id, in_project)).first()
    if row is None:
        raise NotFound(f"no run {run_id!r}: `conveyor runs list` shows the runs")
    return row


def _commit(source: Any) -> str | None:
    git = (source or {}).get("git") or {}
    commit = git.get("commit") if isinstance(git, dict) else None
    return str(commit) if commit else None


class RunKind(Kind):
    type = "run"

    def resolve(self, conn: sa.Connection, node: Node) -> Node:
        row = _run_row(conn, node.key)
        node.label = f"run {row.name or row.id[:8]}"
        node.attrs = {
            "name": row.name,
            "status": row.status,
            "user": row.user,
            "parent_run_id": row.parent_run_id,
            "commit": _commit(row.source),
            "start_time": row.start_time,
        }
        return node

    def upstream(self, conn: sa.Connection, node: Node) -> list[Link]:
        rows = conn.execute(
            sa.select(run_inputs.c.dataset_version_id, run_inputs.c.context).where(
                run_inputs.c.run_id == node.key
            )
        )
        out: list[Link] = []
        for r in rows:
            for dv in _dv_nodes(conn, dataset_versions.c.id == r.dataset_version_id):
                out.append((dv, r.context))
        parent = node.attrs.get("parent_run_id")
        if parent:
            pnode = run_node(conn, parent)
            out.append((pnode, "step" if pnode.type == "pipeline_run" else "parent"))
        if node.attrs.get("commit"):
            out.append((Node("commit", node.attrs["commit"]), "code"))
        return out + recorded(conn, node, upstream=True)

    def downstream(self, conn: sa.Connection, node: Node) -> list[Link]:
        out: list[Link] = [
            (n, "registered") for n in _mv_nodes(conn, model_versions.c.run_id == node.key)
        ]
        produced = dataset_versions.c.source == f"runs:/{node.key}"
        out += [(n, "produced") for n in _dv_nodes(conn, produced)]
        children = conn.execute(
            sa.select(runs.c.id)
            .where(runs.c.parent_run_id == node.key)
            .order_by(runs.c.start_time)
            .limit(FANOUT)
        )
        relation = "step" if node.type == "pipeline_run" else "child"
        out += [(Node("run", r.id), relation) for r in children]
        return out + recorded(conn, node, upstream=False)


class PipelineRunKind(RunKind):
    type = "pipeline_run"

    def resolve(self, conn: sa.Connection, node: Node) -> Node:
        from conveyor.pipelines import service as pipelines

        run = pipelines.get_pipeline_run(conn, node.key, with_steps=False)
        node.label = f"pipeline {run.pipeline}"
        commit = _commit(_run_row(conn, run.id).source)
        node.attrs = {
            "pipeline": run.pipeline,
            "target": run.target,
            "status": run.status,
            "trigger_id": run.trigger_id,
            "cause": (run.cause or {}).get("why"),
            "resumed_from": run.resumed_from,
            "commit": commit,
            "created_at": run.created_at,
        }
        return node

    def upstream(self, conn: sa.Connection, node: Node) -> list[Link]:
        from conveyor.pipelines.tables import triggers

        out = super().upstream(conn, node)
        if node.attrs.get("trigger_id"):
            row = conn.execute(
                sa.select(triggers.c.name).where(triggers.c.id == node.attrs["trigger_id"])
            ).first()
            if row is not None:
                out.append((Node("trigger", row.name), "fired"))
        if node.attrs.get("resumed_from"):
            out.append((Node("pipeline_run", node.attrs["resumed_from"]), "resumed"))
        return out


class CommitKind(Kind):
    type = "commit"

    def _runs(self, conn: sa.Connection, sha: str) -> list[str]:
        rows = conn.execute(
            sa.select(runs.c.id, runs.c.source)
            .where(sa.cast(runs.c.source, sa.Text).like(f"%{sha}%"))
            .order_by(runs.c.start_time.desc())
            .limit(FANOUT * 4)
        )
        return [r.id for r in rows if (_commit(r.source) or "").startswith(sha)][:FANOUT]

    def resolve(self, conn: sa.Connection, node: Node) -> Node:
        if not all(c in "0123456789abcdef" for c in node.key.lower()):
            raise NotFound(f"{node.key!r} is not a git commit hash")
        found = self._runs(conn, node.key.lower())
        if not found:
            raise NotFound(f"no run records commit {node.key!r}")
        node.label = f"commit {node.key[:12]}"
        node.attrs = {"runs": len(found)}
        return node

    def downstream(self, conn: sa.Connection, node: Node) -> list[Link]:
        return [(run_node(conn, r), "code") for r in self._runs(conn, node.key.lower())]


class ModelVersionKind(Kind):
    type = "model_version"

    def resolve(self, conn: sa.Connection, node: Node) -> Node:
        from conveyor.registry import service as registry

        name, version = split_versioned(node.key)
        mv = registry.get_model_version(conn, name, version)
        node.label = f"{mv.name} v{mv.version}"
        node.attrs = {
            "id": mv.id,
            "flavor": mv.flavor,
            "run_id": mv.run_id,
            "aliases": mv.aliases,
            "reference_dataset_version_id": mv.reference_dataset_version_id,
            "created_by": mv.created_by,
            "created_at": mv.created_at,
        }
        return node

    def upstream(self, conn: sa.Connection, node: Node) -> list[Link]:
        out: list[Link] = []
        if node.attrs.get("run_id"):
            out.append((run_node(conn, node.attrs["run_id"]), "registered"))
        ref = node.attrs.get("reference_dataset_version_id")
        if ref:
            out += [(n, "reference") for n in _dv_nodes(conn, dataset_versions.c.id == ref)]
        return out + recorded(conn, node, upstream=True)

    def downstream(self, conn: sa.Connection, node: Node) -> list[Link]:
        from conveyor.deployments.rollout_tables import rollouts
        from conveyor.gates.tables import gate_reports
        from conveyor.lineage._ops_kinds import revisions_serving

        name, version = split_versioned(node.key)
        out: list[Link] = [
            (n, "evaluated")
            for n in _gate_report_nodes(conn, gate_reports.c.model_version_id == node.attrs["id"])
        ]
        out += [(n, "approval") for n in approval_nodes(conn, name, version)]
        rows = conn.execute(
            sa.select(rollouts.c.id)
            .where(rollouts.c.candidate_model == name, rollouts.c.candidate_version == version)
            .order_by(rollouts.c.created_at.desc())
            .limit(FANOUT)
        )
        out += [(Node("rollout", r.id), "candidate") for r in rows]
        out += [(n, "serves") for n in revisions_serving(conn, name, version)]
        return out + recorded(conn, node, upstream=False)


def latest_report_before(conn: sa.Connection, name: str, version: int, at: int) -> Node | None:
    """The gate report of ``name/version`` in force at ``at`` (the newest not after it)."""
    from conveyor.gates.tables import gate_reports

    row = conn.execute(
        sa.select(gate_reports.c.id)
        .join(models, models.c.id == gate_reports.c.model_id)
        .where(
            models.c.name == name,
            models.c.project_id == current_project_id(),
            gate_reports.c.version == version,
            gate_reports.c.created_at <= at,
        )
        .order_by(gate_reports.c.created_at.desc(), gate_reports.c.id.desc())
        .limit(1)
    ).first()
    return Node("gate_report", row.id) if row is not None else None


class GateReportKind(Kind):
    type = "gate_report"

    def resolve(self, conn: sa.Connection, node: Node) -> Node:
        from conveyor.gates.tables import gate_reports

        row = conn.execute(sa.select(gate_reports).where(gate_reports.c.id == node.key)).first()
        if row is None:
            raise NotFound(f"no gate report {node.key!r}")
        report = row.report or {}
        node.label = f"gates {'passed' if row.passed else 'failed'}"
        node.attrs = {
            "model": report.get("model"),
            "version": row.version,
            "passed": bool(row.passed),
            "policy_version": row.policy_version,
            "failed_checks": report.get("failed_checks", []),
            "evaluation": (report.get("datasets") or {}).get("evaluation"),
            "created_at": row.created_at,
        }
        return node

    def upstream(self, conn: sa.Connection, node: Node) -> list[Link]:
        out: list[Link] = [(model_node(node.attrs["model"], node.attrs["version"]), "evaluated")]
        data = dataset_uri_node(node.attrs.get("evaluation"))
        if data is not None:
            out.append((data, "evaluation data"))
        return out

    def downstream(self, conn: sa.Connection, node: Node) -> list[Link]:
        """Rollouts and revisions of the version that this report cleared: those created
        while it was the version's newest report."""
        from conveyor.deployments.rollout_tables import rollouts
        from conveyor.lineage._ops_kinds import revisions_serving

        name, version = node.attrs["model"], int(node.attrs["version"])
        rows = conn.execute(
            sa.select(rollouts.c.id, rollouts.c.created_at)
            .where(rollouts.c.candidate_model == name, rollouts.c.candidate_version == version)
            .where(rollouts.c.created_at >= node.attrs["created_at"])
            .order_by(rollouts.c.created_at)
        )

        def in_force(at: int) -> bool:
            report = latest_report_before(conn, name, version, at)
            return report is not None and report.id == node.id

        out: list[Link] = [
            (Node("rollout", r.id), "cleared") for r in rows if in_force(r.created_at)
        ]
        for rev in revisions_serving(conn, name, version, primary_only=True):
            at = rev.attrs.get("created_at", 0)
            if at >= node.attrs["created_at"] and in_force(at):
                out.append((rev, "cleared"))
        return out[:FANOUT]


def approval_nodes(conn: sa.Connection, model: str, version: int) -> list[Node]:
    """The version's approvals (from the ``approvals`` provider; none when absent)."""
    found = providers.provide("approvals", conn, model, version) or []
    return [
        Node(
            "approval",
            str(a["id"]),
            f"approval {a.get('status', '')}".strip(),
            {**a, "model": model, "version": version},
        )
        for a in found
    ]


class ApprovalKind(Kind):
    type = "approval"

    def resolve(self, conn: sa.Connection, node: Node) -> Node:
        if node.attrs.get("model"):
            return node
        found = providers.find_approval(conn, node.key)
        if found is None:
            raise NotFound(
                f"no approval {node.key!r} (or approvals are not available in this install)"
            )
        node.label = f"approval {found.get('status', '')}".strip()
        node.attrs = dict(found)
        return node

    def upstream(self, conn: sa.Connection, node: Node) -> list[Link]:
        return [(model_node(node.attrs["model"], node.attrs["version"]), "approval")]


for _kind in (
    DatasetVersionKind(),
    RunKind(),
    PipelineRunKind(),
    CommitKind(),
    ModelVersionKind(),
    GateReportKind(),
    ApprovalKind(),
):
    register(_kind)
