"""A self-contained HTML drift report: inline CSS, inline SVG charts, no scripts, no CDN."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conveyor.monitoring.drift._report import ColumnDrift, DriftReport

__all__ = ["page_head", "render_html", "svg_chart"]

_REF, _CUR = "#4C78A8", "#F58518"
_W, _H = 260, 70

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222}
h1{font-size:20px;margin:0 0 4px}
.verdict{padding:12px 16px;border-radius:6px;font-size:17px;font-weight:600;margin:12px 0}
.v-drifted{background:#fde2e1;border-left:6px solid #d62728}
.v-ok{background:#e3f4e1;border-left:6px solid #2ca02c}
.v-insufficient_data,.v-partial{background:#fff3cd;border-left:6px solid #e0a800}
.meta{color:#555;font-size:13px}
table{border-collapse:collapse;margin-top:12px}
th,td{padding:6px 10px;border-bottom:1px solid #e5e5e5;text-align:left;vertical-align:middle}
th{background:#f6f6f6;font-size:12px;text-transform:uppercase;letter-spacing:.03em}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{padding:2px 8px;border-radius:10px;font-size:12px;font-weight:600;white-space:nowrap}
.b-drifted{background:#d62728;color:#fff}.b-ok{background:#2ca02c;color:#fff}
.b-insufficient_data{background:#e0a800;color:#222}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
.reason{color:#7a5b00;font-size:12px}
"""


def page_head(title: str, css: str = "") -> str:
    """The doctype, ``<head>`` (``title`` escaped, the report style plus ``css``) and
    opening ``<body>`` of every monitoring HTML page."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{escape(title)}</title><style>{_CSS}{css}</style></head>
<body>
"""


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "-"
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.2e}"
    return f"{value:.{digits}f}"


def svg_chart(plot: dict[str, Any]) -> str:
    """Overlaid reference/current proportions as a small inline SVG."""
    ref, cur = plot.get("reference") or [], plot.get("current") or []
    if not ref:
        return '<span class="meta">no data</span>'
    top = max(max(ref), max(cur), 1e-12)
    n = len(ref)
    slot = _W / n
    bars = []
    for i, (r, c) in enumerate(zip(ref, cur, strict=True)):
        x = i * slot
        for value, color, offset in ((r, _REF, 0.0), (c, _CUR, 0.0)):
            h = (_H - 4) * value / top
            bars.append(
                f'<rect x="{x + offset:.1f}" y="{_H - h:.1f}" width="{max(slot - 1, 1):.1f}" '
                f'height="{h:.1f}" fill="{color}" fill-opacity="0.55"/>'
            )
    title = ""
    if plot.get("type") == "histogram":
        e = plot["edges"]
        title = f"<title>range {e[0]:.4g} … {e[-1]:.4g}</title>"
    elif plot.get("categories"):
        title = "<title>" + escape(", ".join(plot["categories"][:20])) + "</title>"
    return (
        f'<svg width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" role="img">{title}'
        f'<line x1="0" y1="{_H}" x2="{_W}" y2="{_H}" stroke="#999"/>{"".join(bars)}</svg>'
    )


def _row(c: ColumnDrift) -> str:
    result = f'<div class="reason">{escape(c.reason)}</div>' if c.reason else ""
    unseen = ""
    if c.unseen_categories:
        names = ", ".join(escape(u["value"]) for u in c.unseen_categories[:5])
        unseen = f'<div class="reason">unseen: {names} ({_fmt(c.unseen_share, 3)} of rows)</div>'
    compared = "p" if c.p_value is not None else "distance"
    return (
        "<tr>"
        f"<td><b>{escape(c.column)}</b><div class='meta'>{escape(c.kind)}</div>"
        f"{result}{unseen}</td>"
        f'<td><span class="badge b-{c.status}">{escape(c.status.replace("_", " "))}</span></td>'
        f"<td>{escape(c.method or '-')}</td>"
        f'<td class="num">{_fmt(c.distance)}</td>'
        f'<td class="num">{_fmt(c.p_value)}</td>'
        f'<td class="num">{compared} {"&lt;" if compared == "p" else "&ge;"} '
        f"{_fmt(c.threshold)}</td>"
        f'<td class="num">{_fmt(c.reference_null_rate, 3)} / {_fmt(c.current_null_rate, 3)}</td>'
        f"<td>{svg_chart(c.plot)}</td>"
        "</tr>"
    )


def render_html(report: DriftReport) -> str:
    order = {"drifted": 0, "ok": 1, "insufficient_data": 2}
    cols = sorted(
        report.columns,
        key=lambda c: (order[c.status], -(c.distance or 0.0), c.column),
    )
    rows = "\n".join(_row(c) for c in cols)
    tone = "partial" if report.status == "ok" and report.drifted_columns else report.status
    meta = (
        f"reference {report.reference_rows:,} rows · current {report.current_rows:,} rows · "
        f"{report.n_evaluated} columns evaluated · p-value tests: {report.n_p_value_tests} "
        f"(alpha {report.alpha:g}, correction {escape(report.correction)}) · "
        f"computed in {report.elapsed_seconds:.2f} s · {escape(report.created)}"
    )
    return f"""{page_head("Conveyor drift report")}<h1>Data drift report</h1>
<div class="verdict v-{tone}">{escape(report.verdict())}</div>
<div class="meta">{meta}</div>
<div class="meta legend"><span style="background:{_REF}"></span>reference
<span style="background:{_CUR}"></span>current (shares of non-null values)</div>
<table>
<thead><tr><th>column</th><th>status</th><th>method</th><th>distance / effect</th>
<th>p-value</th><th>rule</th><th>null rate ref / cur</th><th>distribution</th></tr></thead>
<tbody>
{rows}
</tbody></table>
</body></html>
"""
