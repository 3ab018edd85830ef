"""A model card (the dict :func:`conveyor.lineage.card.model_card` returns) as Markdown
and as one self-contained HTML page (inline style, the lineage graph as inline SVG)."""

from __future__ import annotations

from html import escape
from typing import Any

from conveyor.lineage.graph import LineageGraph
from conveyor.lineage.html import graph_section, page, table

__all__ = ["card_html", "card_markdown"]

NA = "not available"


def _fmt(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(_fmt(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {_fmt(v)}" for k, v in value.items())
    return str(value)


def _ci(metric: dict[str, Any]) -> str:
    ci = metric.get("confidence_interval")
    if not ci:
        return NA
    return f"[{ci['lower_bound']:.4g}, {ci['upper_bound']:.4g}] ({ci['method']})"


def _sections(card: dict[str, Any]) -> list[tuple[str, list[tuple[str, Any]]]]:
    """The card as (heading, [(kind, content)]) — one structure, two renderings.

    Kinds: ``text`` (a paragraph), ``list`` (bullet items), ``table`` ((columns, rows)),
    ``na`` (the feature is absent), ``graph`` (the lineage dict)."""
    d, p = card["model_details"], card["model_parameters"]
    q, c = card["quantitative_analysis"], card["considerations"]
    x = d["conveyor"]

    def items(entries: list[dict[str, Any]], key: str = "description") -> list[tuple[str, Any]]:
        return [("list", [e[key] for e in entries])] if entries else [("na", "not provided")]

    details = [
        ("text", d["overview"] or "No overview provided (`conveyor models card-set`)."),
        (
            "table",
            (
                ["field", "value"],
                [
                    ["model", f"{d['name']} version {d['version']['name']}"],
                    ["uri", x["uri"]],
                    ["date", d["version"]["date"]],
                    ["flavor", x["flavor"]],
                    ["aliases", x["aliases"]],
                    ["owners", [f"{o['name']} {o['contact']}".strip() for o in d["owners"]]],
                    ["licenses", [next(iter(lic.values())) for lic in d["licenses"]]],
                    ["registered by", x["created_by"]],
                    ["source run", x["source_run"]],
                    ["code commit", x["commit"]],
                    ["references", [r["reference"] for r in d["references"]]],
                ],
            ),
        ),
    ]
    if d["documentation"]:
        details.append(("text", d["documentation"]))
    uses = [
        ("text", "Primary intended uses:"),
        *items(c["use_cases"]),
        ("text", "Primary intended users:"),
        *items(c["users"]),
        ("text", "Out-of-scope uses:"),
        *items(c["out_of_scope_uses"]),
        ("text", "Limitations:"),
        *items(c["limitations"]),
    ]
    data: list[tuple[str, Any]] = []
    for ds in p["data"]:
        data.append(("text", f"{ds['name']} — {ds['role']}, {ds['rows']} rows ({ds['link']})"))
        checks = ds["checks"]
        data.append(
            ("text", f"checks: {'passed' if checks.get('passed') else 'failed'}")
            if checks.get("available", True)
            else ("na", "no data checks stored")
        )
        cols = ["column", "type", "nulls", "mean", "std", "min", "max"]
        rows = [
            [
                r.get("name"),
                r.get("type"),
                r.get("null_fraction"),
                r.get("mean"),
                r.get("std"),
                r.get("min"),
                r.get("max"),
            ]
            for r in ds["profile"]
        ]
        data.append(("table", (cols, rows)))
    if not data:
        data = [("na", "no dataset versions are linked to this version")]
    params = [
        ("text", f"Architecture: {p['model_architecture']}"),
        ("text", f"Inputs: {p['input_format'] or NA}"),
        ("text", f"Outputs: {p['output_format'] or NA}"),
    ]
    metrics = [m for m in q["performance_metrics"] if not m["slice"]]
    perf: list[tuple[str, Any]] = (
        [
            (
                "table",
                (
                    ["metric", "value", "95% interval", "rows", "source"],
                    [[m["type"], m["value"], _ci(m), m.get("n"), m["source"]] for m in metrics],
                ),
            )
        ]
        if metrics
        else [("na", "no metrics recorded")]
    )
    report = q["gate_report"]
    if report.get("available", True):
        verdict = "passed" if report["passed"] else f"failed ({', '.join(report['failed_checks'])})"
        perf.append(("text", f"Gate report {report['id']} ({report['created_at']}): {verdict}"))
        perf.append(
            (
                "table",
                (
                    ["check", "verdict", "value", "threshold", "message"],
                    [
                        [k["name"], k["verdict"], k["value"], _fmt(k["threshold"]), k["message"]]
                        for k in report["checks"]
                    ],
                ),
            )
        )
    groups: list[tuple[str, Any]] = []
    for g in q["disaggregated"]:
        groups.append(("text", f"{g['check']} by {g['by']}: {_fmt(g.get('summary'))}"))
        cols = ["group", "size", "selection rate", "95% CI", "TPR", "FPR", "accuracy", "95% CI"]
        rows = [
            [
                r.get("group", r.get("slice")),
                r.get("size"),
                r.get("selection_rate"),
                r.get("selection_rate_ci"),
                r.get("tpr"),
                r.get("fpr"),
                r.get("accuracy"),
                r.get("accuracy_ci"),
            ]
            for r in g["rows"]
        ]
        groups.append(("table", (cols, rows)))
    if not groups:
        groups = [("na", "no fairness groups or slices in the gate report")]
    expl = q["explanations"]
    explanation = (
        [("na", NA)]
        if expl.get("available") is False
        else [
            ("text", f"Method: {expl.get('method', '—')}"),
            (
                "table",
                (
                    ["feature", "importance"],
                    [
                        [i.get("feature"), i.get("importance")]
                        for i in expl.get("global_importance", [])
                    ],
                ),
            ),
        ]
    )
    approvals = x["approvals"]
    approval = (
        [("na", NA)]
        if isinstance(approvals, dict) and approvals.get("available") is False
        else [
            (
                "table",
                (
                    ["id", "target", "status", "requested by", "decided by", "comment"],
                    [
                        [
                            a.get("id"),
                            a.get("target"),
                            a.get("status"),
                            a.get("requested_by"),
                            a.get("decided_by"),
                            a.get("comment"),
                        ]
                        for a in approvals
                    ],
                ),
            )
        ]
    )
    history = (
        [
            (
                "table",
                (
                    ["at", "event", "endpoint", "revision / state", "role", "weight", "by"],
                    [
                        [
                            h["at"],
                            h["event"],
                            h["endpoint"],
                            h.get("revision", h.get("state")),
                            h.get("role"),
                            h.get("weight"),
                            h["by"],
                        ]
                        for h in x["deployment_history"]
                    ],
                ),
            )
        ]
        if x["deployment_history"]
        else [("na", "never deployed")]
    )
    risks = [f"{r['name']}: {r['mitigation_strategy']}" for r in c["ethical_considerations"]]
    ethics = [
        ("text", "Ethical considerations:"),
        *([("list", risks)] if risks else [("na", "not provided")]),
        ("text", "Tradeoffs:"),
        *items(c["tradeoffs"]),
    ]
    return [
        ("Model details", details),
        ("Intended use and limitations", uses),
        ("Model parameters", params),
        ("Training and evaluation data", data),
        ("Metrics", perf),
        ("Disaggregated results", groups),
        ("Explanations", explanation),
        ("Approvals", approval),
        ("Deployment history", history),
        ("Ethical considerations, caveats and recommendations", ethics),
        ("Lineage", [("graph", x["lineage"])]),
    ]


def _md_cell(value: Any) -> str:
    return _fmt(value).replace("|", "\\|").replace("\n", " ")


def card_markdown(card: dict[str, Any]) -> str:
    """The card as Markdown."""
    d = card["model_details"]
    out = [f"# Model card: {d['name']} version {d['version']['name']}", ""]
    for heading, parts in _sections(card):
        out += [f"## {heading}", ""]
        for kind, content in parts:
            if kind in ("text", "na"):
                out += [f"_{content}_" if kind == "na" else str(content), ""]
            elif kind == "list":
                out += [f"- {item}" for item in content] + [""]
            elif kind == "table":
                cols, rows = content
                out += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
                out += ["| " + " | ".join(_md_cell(v) for v in r) + " |" for r in rows] + [""]
            elif kind == "graph":
                out += [
                    f"- {e['source']} —{e['relation']}→ {e['target']}" for e in content["edges"]
                ]
                out += [""]
    return "\n".join(out)


def card_html(card: dict[str, Any]) -> str:
    """The card as one self-contained HTML page."""
    d = card["model_details"]
    title = f"Model card: {d['name']} version {d['version']['name']}"
    body = [f"<h1>{escape(title)}</h1>"]
    for heading, parts in _sections(card):
        body.append(f"<h2>{escape(heading)}</h2>")
        for kind, content in parts:
            if kind == "text":
                body.append(f"<p>{escape(str(content))}</p>")
            elif kind == "na":
                body.append(f'<p class="na">{escape(str(content))}</p>')
            elif kind == "list":
                body.append(
                    "<ul>" + "".join(f"<li>{escape(str(i))}</li>" for i in content) + "</ul>"
                )
            elif kind == "table":
                cols, rows = content
                body.append(table(cols, [[_fmt(v) for v in r] for r in rows]))
            elif kind == "graph":
                body.append(graph_section(LineageGraph.from_dict(content)))
    return page(title, "".join(body))
