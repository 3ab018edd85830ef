"""The lineage graph as a self-contained SVG (no script, no fonts or styles fetched).

Layered layout: each node's column is the length of the longest cause chain leading to it
(edges point left to right, cause → effect); nodes in a column are ordered by the mean row
of their causes (one barycentre pass), which keeps most edges short and uncrossed.
"""

from __future__ import annotations

from html import escape

from conveyor.lineage.graph import LineageGraph, Node

__all__ = ["render_svg"]

W, H = 190, 44  # node box
GAP_X, GAP_Y = 70, 18
PAD = 16

COLORS = {
    "dataset_version": "#2b8a3e",
    "run": "#1971c2",
    "pipeline_run": "#1864ab",
    "commit": "#495057",
    "model_version": "#e67700",
    "gate_report": "#9c36b5",
    "approval": "#c2255c",
    "deployment_revision": "#0c8599",
    "rollout": "#5f3dc4",
    "alert": "#e03131",
    "trigger": "#d9480f",
    "prediction": "#5c940d",
}


def _layers(graph: LineageGraph) -> dict[str, int]:
    ids = [n.id for n in graph.nodes]
    causes: dict[str, list[str]] = {i: [] for i in ids}
    for e in graph.edges:
        if e.source in causes and e.target in causes and e.source != e.target:
            causes[e.target].append(e.source)
    layer: dict[str, int] = {}

    def depth(i: str, stack: frozenset[str]) -> int:
        if i in layer:
            return layer[i]
        if i in stack:  # a cycle (should not happen): cut it here
            return 0
        layer[i] = d = max((depth(c, stack | {i}) + 1 for c in causes[i]), default=0)
        return d

    for i in ids:
        depth(i, frozenset())
    return layer


def _order(graph: LineageGraph, layer: dict[str, int]) -> list[list[Node]]:
    columns: list[list[Node]] = [[] for _ in range(max(layer.values(), default=0) + 1)]
    for n in sorted(graph.nodes, key=lambda n: (n.type, n.id)):
        columns[layer[n.id]].append(n)
    row: dict[str, float] = {}
    causes: dict[str, list[str]] = {}
    for e in graph.edges:
        causes.setdefault(e.target, []).append(e.source)
    for column in columns:
        first = {n.id: float(i) for i, n in enumerate(column)}

        def bary(n: Node, first: dict[str, float] = first) -> float:
            known = [row[c] for c in causes.get(n.id, []) if c in row]
            return sum(known) / len(known) if known else first[n.id]

        column.sort(key=bary)
        for i, n in enumerate(column):
            row[n.id] = float(i)
    return columns


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_svg(graph: LineageGraph, *, title: str | None = None) -> str:
    """The graph as an SVG document (a string), the root drawn with a thick border."""
    layer = _layers(graph)
    columns = _order(graph, layer)
    tallest = max((len(c) for c in columns), default=1)
    width = PAD * 2 + len(columns) * W + (len(columns) - 1) * GAP_X
    height = PAD * 2 + 24 + tallest * H + (tallest - 1) * GAP_Y
    pos: dict[str, tuple[float, float]] = {}
    for ci, column in enumerate(columns):
        offset = (tallest - len(column)) * (H + GAP_Y) / 2
        for ri, n in enumerate(column):
            pos[n.id] = (PAD + ci * (W + GAP_X), PAD + 24 + offset + ri * (H + GAP_Y))
    caption = title or f"Lineage of {graph.root} ({graph.direction})"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(caption)}" '
        'font-family="Helvetica, Arial, sans-serif">',
        f"<title>{escape(caption)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#868e96"/></marker></defs>',
        f'<text x="{PAD}" y="{PAD + 12}" font-size="13" font-weight="bold">'
        f"{escape(caption)}</text>",
    ]
    for e in graph.edges:
        if e.source not in pos or e.target not in pos:
            continue
        (x1, y1), (x2, y2) = pos[e.source], pos[e.target]
        sx, sy, tx, ty = x1 + W, y1 + H / 2, x2, y2 + H / 2
        if layer[e.target] <= layer[e.source]:  # same column or backwards: go around
            sx, tx = x1 + W / 2, x2 + W / 2
            sy, ty = y1 + H, y2
        mx = (sx + tx) / 2
        out.append(
            f'<path d="M{sx:.1f},{sy:.1f} C{mx:.1f},{sy:.1f} {mx:.1f},{ty:.1f} '
            f'{tx:.1f},{ty:.1f}" fill="none" stroke="#adb5bd" stroke-width="1.3" '
            f'marker-end="url(#arrow)"><title>{escape(e.source)} → {escape(e.target)}: '
            f"{escape(e.relation)}</title></path>"
        )
        out.append(
            f'<text x="{mx:.1f}" y="{(sy + ty) / 2 - 3:.1f}" font-size="9" fill="#868e96" '
            f'text-anchor="middle">{escape(_clip(e.relation, 18))}</text>'
        )
    for n in graph.nodes:
        x, y = pos[n.id]
        color = COLORS.get(n.type, "#495057")
        stroke = 3 if n.id == graph.root else 1.2
        missing = "missing" in n.attrs
        fill, dash = ("#f8f9fa", ' stroke-dasharray="4 3"') if missing else ("#ffffff", "")
        out.append(
            f"<g><title>{escape(n.id)}</title>"
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{W}" height="{H}" rx="7" '
            f'fill="{fill}" stroke="{color}" stroke-width="{stroke}"{dash}/>'
            f'<text x="{x + 8:.1f}" y="{y + 16:.1f}" font-size="9" fill="{color}">'
            f"{escape(n.type.replace('_', ' '))}</text>"
            f'<text x="{x + 8:.1f}" y="{y + 33:.1f}" font-size="12" fill="#212529">'
            f"{escape(_clip(n.label or n.key, 28))}</text></g>"
        )
    out.append("</svg>")
    return "\n".join(out)
