"""Self-contained HTML pages (inline style, no script, nothing fetched) for lineage, model
cards and the compliance bundle's index."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

from conveyor.lineage.graph import LineageGraph
from conveyor.lineage.svg import render_svg

__all__ = ["lineage_page", "page", "table"]

STYLE = """
body{font-family:Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#212529;
line-height:1.45;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #dee2e6;padding-bottom:.2em;
margin-top:1.6em}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #dee2e6;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f1f3f5}.na{color:#868e96;font-style:italic}.pass{color:#2b8a3e}
.fail{color:#e03131}.graph{overflow-x:auto;border:1px solid #dee2e6;padding:.5em}
code{background:#f1f3f5;padding:0 .2em}
"""


def page(title: str, body: str) -> str:
    """A whole HTML document around ``body`` (already escaped HTML)."""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def cell(value: Any) -> str:
    if value is None or value == "":
        return '<span class="na">—</span>'
    if isinstance(value, float):
        return f"{value:.4g}"
    return escape(str(value))


def table(columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    """An HTML table; cells are escaped."""
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def graph_section(graph: LineageGraph) -> str:
    """The graph drawn (inline SVG) and listed (one row per edge)."""
    rows = [[e.source, e.relation, e.target] for e in graph.edges]
    note = "<p class='na'>The depth limit cut the walk.</p>" if graph.truncated else ""
    return (
        f'<div class="graph">{render_svg(graph)}</div>{note}'
        f"<details><summary>{len(graph.nodes)} objects, {len(graph.edges)} links</summary>"
        f"{table(['cause', 'relation', 'effect'], rows)}</details>"
    )


def lineage_page(graph: LineageGraph) -> str:
    """A page for one lineage walk."""
    title = f"Lineage of {graph.root}"
    return page(title, f"<h1>{escape(title)}</h1>{graph_section(graph)}")
