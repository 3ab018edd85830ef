"""The compliance bundle of a model version, organised after the EU AI Act's Annex IV.

:func:`compliance_documents` gathers the documents as ``{path: text}`` (so the operation
answers JSON over either transport); :func:`write_bundle` zips them atomically with a
``manifest.json`` (each file's sha256) and an ``index.html`` that follows the nine
Annex IV headings (Regulation (EU) 2024/1689, technical documentation referred to in
Article 11(1)) and says, per heading, which files answer it and what the provider must
still supply (harmonised standards, the declaration of conformity, …).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from html import escape
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from conveyor._schema import Name, VersionNumber
from conveyor._util import now_ms, to_iso
from conveyor.errors import NotFound
from conveyor.lineage import providers
from conveyor.lineage.card import model_card
from conveyor.lineage.card_render import card_html, card_markdown
from conveyor.lineage.graph import LineageGraph
from conveyor.lineage.html import page, table
from conveyor.lineage.svg import render_svg
from conveyor.store.stores import Stores

__all__ = ["ANNEX_IV", "compliance_documents", "write_bundle"]

#: (folder, Annex IV point, heading, what Conveyor cannot know and the provider supplies)
ANNEX_IV = [
    ("1-general-description", "1", "A general description of the AI system",
     "how the system is placed on the market, its hardware, user interface and instructions "
     "for use beyond the model card"),
    ("2-development", "2",
     "A detailed description of the elements of the AI system and of the process for its "
     "development", "cybersecurity measures; third-party pre-trained components"),
    ("3-monitoring-functioning-control", "3",
     "Detailed information about the monitoring, functioning and control of the AI system",
     "foreseeable unintended outcomes beyond the card's limitations"),
    ("4-performance-metrics", "4",
     "A description of the appropriateness of the performance metrics for the specific AI "
     "system", "why these metrics suit the intended purpose"),
    ("5-risk-management", "5",
     "A detailed description of the risk management system in accordance with Article 9",
     "the organisation's risk management process; the gate policy is one of its controls"),
    ("6-lifecycle-changes", "6",
     "A description of relevant changes made by the provider to the system through its "
     "lifecycle", ""),
    ("7-harmonised-standards", "7",
     "A list of the harmonised standards applied", "the list of standards (not recorded here)"),
    ("8-declaration-of-conformity", "8",
     "A copy of the EU declaration of conformity referred to in Article 47",
     "the signed declaration (not recorded here)"),
    ("9-post-market-monitoring", "9",
     "A detailed description of the system in place to evaluate the AI system performance "
     "in the post-market phase in accordance with Article 72, including the post-market "
     "monitoring plan", ""),
]  # fmt: skip

NOT_AVAILABLE = {"available": False}


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"


def _gate_files(conn: sa.Connection, name: str, version: int) -> dict[str, str]:
    from conveyor.gates import service as gates
    from conveyor.gates.report import render_html

    files: dict[str, str] = {}
    for report in gates.list_reports(conn, name, version):
        stem = f"2-development/gate-reports/{report.created_at}-{report.id}"
        files[f"{stem}.json"] = report.to_json() + "\n"
        files[f"{stem}.html"] = render_html(report)
    try:
        policy = gates.get_policy(conn, name)
        files["5-risk-management/gate-policy.json"] = _json(policy.to_dict())
        if policy.source:
            files["5-risk-management/gate-policy.source.txt"] = policy.source
    except NotFound:
        files["5-risk-management/gate-policy.json"] = _json(
            {**NOT_AVAILABLE, "reason": f"model {name!r} has no gate policy"}
        )
    return files


def _monitoring(conn: sa.Connection, endpoints: list[str]) -> dict[str, Any]:
    from conveyor.monitoring import crud

    out: dict[str, Any] = {"endpoints": {}}
    for endpoint in endpoints:
        monitors = crud.list_monitors(conn, endpoint=endpoint)
        alerts = crud.list_alerts(conn, endpoint=endpoint, limit=100)
        out["endpoints"][endpoint] = {
            "monitors": [
                {**m.to_dict(), "recent_checks": crud.list_checks(conn, m.name, limit=10)}
                for m in monitors
            ],
            "alerts": [a.to_dict() for a in alerts],
            "alerts_by_state": {
                s: sum(1 for a in alerts if a.state == s) for s in sorted({a.state for a in alerts})
            },
        }
    return out


def compliance_documents(stores: Stores, name: Name, version: VersionNumber) -> dict[str, str]:
    """Every document of the bundle of ``name/version``, as ``{path in the bundle: text}``
    (``index.html`` and ``manifest.json`` included)."""
    from conveyor.registry import service as registry

    backend: Any = stores
    card = model_card(stores, name, version)
    model, number = card["model_details"]["name"], int(card["model_details"]["version"]["name"])
    x = card["model_details"]["conveyor"]
    graph = LineageGraph.from_dict(x["lineage"])
    endpoints = sorted({h["endpoint"] for h in x["deployment_history"]})
    files: dict[str, str] = {
        "1-general-description/model-card.html": card_html(card),
        "1-general-description/model-card.md": card_markdown(card),
        "1-general-description/model-card.json": _json(card),
        "2-development/lineage.svg": render_svg(graph),
        "2-development/lineage.json": _json(x["lineage"]),
        "2-development/datasets.json": _json(card["model_parameters"]["data"]),
        "3-monitoring-functioning-control/explanations.json": _json(
            card["quantitative_analysis"]["explanations"]
        ),
        "3-monitoring-functioning-control/human-oversight-approvals.json": _json(x["approvals"]),
        "4-performance-metrics/metrics.json": _json(
            {
                "performance_metrics": card["quantitative_analysis"]["performance_metrics"],
                "disaggregated": card["quantitative_analysis"]["disaggregated"],
            }
        ),
        "6-lifecycle-changes/deployment-history.json": _json(x["deployment_history"]),
    }
    with backend.meta.read() as conn:
        mv = registry.get_model_version(conn, model, number)
        files.update(_gate_files(conn, model, number))
        audit = providers.provide("audit_extract", conn, model, number)
        retention = providers.provide("retention", conn, model, number)
        monitoring = _monitoring(conn, endpoints)
        versions = [
            {"version": v.version, "created_at": to_iso(v.created_at), "by": v.created_by}
            for v in registry.list_model_versions(conn, model)
        ]
    if audit is None:
        files["6-lifecycle-changes/audit-extract.jsonl"] = ""
        files["6-lifecycle-changes/chain-proof.json"] = _json(NOT_AVAILABLE)
    else:
        events = audit.get("events", [])
        files["6-lifecycle-changes/audit-extract.jsonl"] = "".join(
            json.dumps(e, sort_keys=True, default=str) + "\n" for e in events
        )
        files["6-lifecycle-changes/chain-proof.json"] = _json(audit.get("chain", NOT_AVAILABLE))
    files["6-lifecycle-changes/model-versions.json"] = _json(versions)
    files["9-post-market-monitoring/monitoring-summary.json"] = _json(monitoring)
    files["9-post-market-monitoring/retention.json"] = _json(
        NOT_AVAILABLE if retention is None else retention
    )
    for folder, _, heading, supply in ANNEX_IV:
        if not any(p.startswith(folder + "/") for p in files):
            files[f"{folder}/README.md"] = (
                f"# {heading}\n\nTo be supplied by the provider: {supply}.\n"
            )
    meta = {
        "model": model,
        "version": number,
        "uri": mv.uri,
        "generated_at": to_iso(now_ms()),
        "audit_chain": json.loads(files["6-lifecycle-changes/chain-proof.json"]),
    }
    files["index.html"] = _index(meta, files, files["2-development/lineage.svg"])
    files["manifest.json"] = _json(
        {
            **meta,
            "files": [
                {
                    "path": path,
                    "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
                    "bytes": len(text.encode("utf-8")),
                }
                for path, text in sorted(files.items())
            ],
        }
    )
    return files


def _index(meta: dict[str, Any], files: dict[str, str], svg: str) -> str:
    title = f"Technical documentation: {meta['model']} version {meta['version']}"
    body = [
        f"<h1>{escape(title)}</h1>",
        f"<p>Generated {escape(meta['generated_at'])} from {escape(meta['uri'])}, organised "
        "after Annex IV of the EU AI Act (Regulation (EU) 2024/1689, Article 11(1)). "
        "<code>manifest.json</code> lists each file with its sha256.</p>",
    ]
    chain = meta["audit_chain"]
    if chain.get("available") is False:
        body.append('<p class="na">Audit chain proof: not available.</p>')
    else:
        state = "verified" if chain.get("ok") else f"BROKEN at event {chain.get('first_bad_seq')}"
        body.append(
            f"<p>Audit chain {escape(state)}: {chain.get('events')} events, head "
            f"<code>{escape(str(chain.get('head_hash', '')))}</code> "
            f"(seq {escape(str(chain.get('head_seq', '')))}).</p>"
        )
    for folder, point, heading, supply in ANNEX_IV:
        body.append(f"<h2>{escape(point)}. {escape(heading)}</h2>")
        links = [
            f'<li><a href="{escape(p)}">{escape(p.removeprefix(folder + "/"))}</a>'
            f"{_note(files[p])}</li>"
            for p in sorted(files)
            if p.startswith(folder + "/")
        ]
        body.append("<ul>" + "".join(links) + "</ul>")
        if point == "2":
            body.append(f'<div class="graph">{svg}</div>')
        if supply:
            body.append(f'<p class="na">To be supplied by the provider: {escape(supply)}.</p>')
    body.append("<h2>Files</h2>")
    body.append(table(["path", "bytes"], [[p, len(t.encode())] for p, t in sorted(files.items())]))
    return page(title, "".join(body))


def _note(text: str) -> str:
    return ' <span class="na">(not available)</span>' if '"available": false' in text else ""


def write_bundle(documents: dict[str, str], output: str | Path) -> Path:
    """Zip ``documents`` into ``output`` atomically (a temporary file beside it, renamed
    over it when complete)."""
    from conveyor.lineage.files import write_atomically_with

    target = Path(output)

    def write(fh: Any) -> None:
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(documents):
                info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, documents[path].encode("utf-8"))

    return write_atomically_with(target, write)
