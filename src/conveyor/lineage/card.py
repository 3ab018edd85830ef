"""A model card per model version, in the Model Card Toolkit's field layout.

:func:`model_card` gathers, for ``model/version``: model details (the user-written fields
of :mod:`conveyor.lineage.card_fields` plus what the registry knows), model parameters
(flavor, signature, the training and evaluation data with their profiles and checks),
the quantitative analysis (metrics with confidence intervals, disaggregated by the gate
report's fairness groups and slices) and the considerations (intended users and uses,
limitations, tradeoffs, ethical risks) — the sections of Mitchell et al. 2019.

Top-level keys are the Toolkit's (``schema_version``, ``model_details``,
``model_parameters``, ``quantitative_analysis``, ``considerations``); what Conveyor adds
sits inside them: ``model_details.conveyor`` (uri, flavor, source run and commit,
approvals, deployment history, lineage graph), ``quantitative_analysis.disaggregated``
and ``quantitative_analysis.explanations``. A section whose feature is absent is
``{"available": false}`` (see :mod:`conveyor.lineage.providers`).
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa

from conveyor._schema import Name, Rule, VersionRef, check_limit
from conveyor._util import to_iso
from conveyor.errors import NotFound
from conveyor.lineage import card_metrics, providers
from conveyor.lineage._base import dataset_uri_node
from conveyor.lineage.card_fields import card_fields
from conveyor.lineage.graph import LineageGraph
from conveyor.lineage.service import walk
from conveyor.store.stores import Stores

__all__ = ["SCHEMA_VERSION", "model_card"]

SCHEMA_VERSION = "0.0.2"
NOT_AVAILABLE: dict[str, Any] = {"available": False}


MAX_RESAMPLES = 10_000
Resamples = Annotated[int, Rule({"minimum": 1, "maximum": MAX_RESAMPLES})]


def _section(name: str, conn: sa.Connection, model: str, version: int) -> Any:
    found = providers.provide(name, conn, model, version)
    return NOT_AVAILABLE if found is None else found


def _owners(fields: dict[str, Any], created_by: str) -> list[dict[str, str]]:
    out = []
    for text in fields.get("owners") or [created_by]:
        name, _, contact = text.partition("<")
        out.append({"name": name.strip(), "contact": contact.rstrip(">").strip()})
    return out


def _licenses(fields: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for text in fields.get("licenses", []):
        key = "identifier" if " " not in text.strip() else "custom_text"
        out.append({key: text})
    return out


def _risks(fields: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for text in fields.get("ethical_considerations", []):
        name, _, mitigation = text.partition(":")
        out.append({"name": name.strip(), "mitigation_strategy": mitigation.strip()})
    return out


def _descriptions(fields: dict[str, Any], key: str) -> list[dict[str, str]]:
    return [{"description": text} for text in fields.get(key, [])]


def _signature_text(columns: list[dict[str, Any]] | None) -> str:
    return ", ".join(f"{c.get('name', '?')}: {c.get('type', '?')}" for c in columns or [])


def _profile_summary(profile: dict[str, Any]) -> list[dict[str, Any]]:
    keep = ("name", "type", "null_fraction", "mean", "std", "min", "max")
    out = []
    for column in profile.get("columns", []):
        row = {k: column.get(k) for k in keep if k in column}
        top = column.get("top") or column.get("top_values")
        if top:
            row["top"] = top[:5]
        out.append(row)
    return out


_ROLES = {"reference": "reference", "evaluation data": "evaluation"}


def _dataset_roles(graph: LineageGraph, report: dict[str, Any] | None) -> list[tuple[str, str]]:
    """``(name/version, role)`` of the data the version was built on (nearest first),
    then the evaluation data of its latest gate report."""
    relation = {e.source: e.relation for e in graph.edges}
    out = [
        (n.key, _ROLES.get(relation.get(n.id, ""), "training"))
        for n in sorted(graph.nodes, key=lambda n: graph.distance.get(n.id, 0))
        if n.type == "dataset_version" and "missing" not in n.attrs
    ]
    evaluation = dataset_uri_node((report or {}).get("datasets", {}).get("evaluation"))
    if evaluation is not None and evaluation.key not in {k for k, _ in out}:
        out.append((evaluation.key, "evaluation"))
    return out


def _datasets(conn: sa.Connection, roles: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Each dataset version with its role, size, checks and profile summary."""
    from conveyor.data import service as data

    out = []
    for key, role in roles:
        name, _, version = key.rpartition("/")
        try:
            dv = data.get_dataset_version(conn, name, int(version))
        except NotFound:
            continue
        checks = dv.checks or {}
        out.append(
            {
                "name": f"{dv.name} v{dv.version}",
                "link": dv.uri,
                "description": dv.description or f"{role} data, {dv.num_rows} rows",
                "role": role,
                "rows": dv.num_rows,
                "sha256": dv.sha256,
                "created_at": to_iso(dv.created_at),
                "checks": {"passed": checks.get("passed"), "failed": checks.get("failed")}
                if checks
                else NOT_AVAILABLE,
                "profile": _profile_summary(dv.profile),
            }
        )
    return out


def _deployment_history(conn: sa.Connection, name: str, version: int) -> list[dict[str, Any]]:
    from conveyor.deployments.rollout_tables import rollouts
    from conveyor.lineage._ops_kinds import revisions_serving

    history = []
    for node in revisions_serving(conn, name, version):
        endpoint, _, number = node.key.rpartition("/")
        from conveyor.deployments import service as deployments

        rev = deployments.get_revision(conn, endpoint, int(number))
        route = next(r for r in rev.routes if (r.model, r.version) == (name, version))
        history.append(
            {
                "event": "revision",
                "endpoint": endpoint,
                "revision": rev.revision,
                "role": route.role,
                "weight": route.weight,
                "reason": rev.reason,
                "by": rev.created_by,
                "at": to_iso(rev.created_at),
            }
        )
    for r in conn.execute(
        sa.select(rollouts)
        .where(rollouts.c.candidate_model == name, rollouts.c.candidate_version == version)
        .order_by(rollouts.c.created_at)
    ):
        history.append(
            {
                "event": "rollout",
                "endpoint": r.endpoint,
                "state": r.state,
                "reason": r.reason,
                "by": r.created_by,
                "at": to_iso(r.created_at),
            }
        )
    return sorted(history, key=lambda h: h["at"])


def _latest_report(conn: sa.Connection, name: str, version: int) -> dict[str, Any] | None:
    from conveyor.gates import service as gates

    report = gates.latest_report(conn, name, version)
    return report.to_dict() if report is not None else None


def model_card(
    stores: Stores, name: Name, version: VersionRef, resamples: Resamples = 1000
) -> dict[str, Any]:
    """The model card of ``name/version`` as a Model Card Toolkit JSON object (see the
    module docstring); metrics carry ``confidence_interval`` when the data allows."""
    check_limit(resamples, "resamples", MAX_RESAMPLES)
    from conveyor.registry import service as registry

    backend: Any = stores
    with backend.meta.read() as conn:
        mv = registry.resolve_version(conn, name, version)
        fields = card_fields(conn, mv.name, mv.version)
        model = registry.get_model(conn, mv.name)
        ref = f"model:{mv.name}/{mv.version}"
        upstream = walk(conn, ref, direction="upstream", depth=8)
        both = walk(conn, ref, direction="both", depth=3)
        report = _latest_report(conn, mv.name, mv.version)
        run = next((n for n in upstream.nodes if n.id == f"run:{mv.run_id}"), None)
        details_extra = {
            "uri": mv.uri,
            "flavor": mv.flavor,
            "aliases": mv.aliases,
            "created_by": mv.created_by,
            "source_run": mv.run_id,
            "commit": next(
                (n.key for n in upstream.nodes if n.type == "commit"),
                (run.attrs.get("commit") if run else None),
            ),
            "approvals": _section("approvals", conn, mv.name, mv.version),
            "deployment_history": _deployment_history(conn, mv.name, mv.version),
            "lineage": both.to_dict(),
        }
        data = _datasets(conn, _dataset_roles(upstream, report))
        explanations = _section("explanations", conn, mv.name, mv.version)
        run_metrics = _run_metrics(conn, mv.run_id)
    performance = card_metrics.bootstrap_metrics(backend, mv, report, resamples) if report else None
    if performance is None:
        performance = card_metrics.report_metrics(report) if report else []
    if not performance:
        performance = run_metrics
    groups = card_metrics.disaggregated(report) if report else []
    return {
        "schema_version": SCHEMA_VERSION,
        "model_details": {
            "name": mv.name,
            "overview": fields.get("overview") or mv.description or model.description,
            "documentation": fields.get("documentation", ""),
            "owners": _owners(fields, mv.created_by),
            "version": {"name": str(mv.version), "date": to_iso(mv.created_at)[:10], "diff": ""},
            "licenses": _licenses(fields),
            "references": [{"reference": r} for r in fields.get("references", [])],
            "citations": [{"citation": c} for c in fields.get("citations", [])],
            "conveyor": details_extra,
        },
        "model_parameters": {
            "model_architecture": mv.flavor,
            "data": data,
            "input_format": _signature_text((mv.signature or {}).get("inputs")),
            "output_format": _signature_text((mv.signature or {}).get("outputs")),
        },
        "quantitative_analysis": {
            "performance_metrics": performance + card_metrics.slice_metrics(groups),
            "graphics": {"description": "", "collection": []},
            "disaggregated": groups,
            "gate_report": _report_summary(report),
            "explanations": explanations,
        },
        "considerations": {
            "users": _descriptions(fields, "users"),
            "use_cases": _descriptions(fields, "use_cases"),
            "out_of_scope_uses": _descriptions(fields, "out_of_scope_uses"),
            "limitations": _descriptions(fields, "limitations"),
            "tradeoffs": _descriptions(fields, "tradeoffs"),
            "ethical_considerations": _risks(fields),
        },
    }


def _run_metrics(conn: sa.Connection, run_id: str | None) -> list[dict[str, Any]]:
    from conveyor.tracking import service as tracking

    if not run_id:
        return []
    try:
        run = tracking.get_run(conn, run_id)
    except NotFound:
        return []
    return [
        {"type": k, "value": v, "slice": "", "source": f"run {run_id} (logged)"}
        for k, v in sorted(run.metrics.items())
    ]


def _report_summary(report: dict[str, Any] | None) -> dict[str, Any]:
    if report is None:
        return NOT_AVAILABLE
    return {
        "id": report["id"],
        "passed": report["passed"],
        "policy_version": report["policy_version"],
        "failed_checks": report["failed_checks"],
        "created_at": report["created_at_iso"],
        "checks": [
            {
                "name": c["name"],
                "verdict": c["verdict"],
                "value": c["value"] if not isinstance(c["value"], dict) else None,
                "threshold": c["threshold"],
                "message": c["message"],
            }
            for c in report["checks"]
        ],
    }
