"""One report over a window: drift, quality, performance, business value, operational."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from conveyor.monitoring.windows import (
    Window,
    instant_ms,
    read_window,
    reference_for,
    require_endpoint,
)

__all__ = ["WindowReport", "window_report"]


@dataclass(slots=True)
class WindowReport:
    """Drift, quality, performance, business value and operational figures of one window.

    ``drift``/``quality`` are None (and ``reference_error`` says why) when no reference data
    could be found; ``business`` is None unless a value matrix or function was given.
    """

    summary: dict[str, Any]
    performance: Any
    operational: Any
    drift: Any = None
    quality: Any = None
    business: Any = None
    reference_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "window": self.summary,
            "reference_error": self.reference_error,
            "drift": self.drift.to_dict() if self.drift is not None else None,
            "quality": self.quality.to_dict() if self.quality is not None else None,
            "performance": self.performance.to_dict(),
            "business": self.business.to_dict() if self.business is not None else None,
            "operational": self.operational.to_dict(),
        }

    def to_html(self) -> str:
        """One styled page titled "Window report: <endpoint>": the drift report (or why
        there is none), then compact tables: the window (ISO times), performance per group
        (overall, each model version, each route) and the overall calibration bins,
        operational figures, business value per group and the quality issues."""
        import html

        from conveyor.monitoring.drift._html import page_head

        heading = f"Window report: {self.summary.get('endpoint', '')}"
        h1 = f"<h1>{html.escape(heading)}</h1>\n<h2>Data drift</h2>"
        sections = "\n".join(self._html_sections())
        if self.drift is None:
            note = html.escape(self.reference_error or "no reference data")
            return (
                f"{page_head(heading, _FIGURES_CSS)}{h1}\n"
                f'<div class="verdict v-insufficient_data">Drift: {note}</div>\n'
                f"{sections}\n</body></html>\n"
            )
        page = str(self.drift.to_html())
        page = re.sub(r"<title>.*?</title>", lambda _: f"<title>{html.escape(heading)}</title>",
                      page, count=1)  # fmt: skip
        page = page.replace("</style>", f"{_FIGURES_CSS}</style>", 1)
        page = page.replace("<h1>Data drift report</h1>", h1, 1)
        if "</body>" in page:
            return page.replace("</body>", f"{sections}\n</body>", 1)
        return page + sections

    def _html_sections(self) -> list[str]:
        s = self.summary
        window = s.get("window") or {}
        reason = f" ({s['reason']})" if s.get("reason") else ""
        sections = [
            _html_section("Window", ["field", "value"], [
                ["endpoint", s.get("endpoint")],
                ["window", f"{window.get('start')} .. {window.get('end')}"],
                ["status", f"{s.get('status')}{reason}"],
                ["rows", s.get("rows")],
                ["labelled", s.get("labelled")],
                ["label coverage", s.get("label_coverage")],
                ["model versions", ", ".join(map(str, s.get("model_versions") or []))],
                ["routes", ", ".join(map(str, s.get("routes") or []))],
            ], header=False)
        ]  # fmt: skip
        columns, rows = self.performance.table()
        sections.append(_html_section("Performance", columns, rows))
        overall = self.performance.overall.metrics
        if overall.get("proba_reason"):
            sections.append(_html_section("", ["auc, log loss, ece"], [[overall["proba_reason"]]]))
        bins = overall.get("calibration_bins") or []
        if bins:
            cal_rows = [
                [f"{b['lower']:.1f}-{b['upper']:.1f}", b["count"], b["mean_score"],
                 b["positive_rate"]]
                for b in bins if b.get("count")
            ]  # fmt: skip
            sections.append(
                _html_section(
                    "Calibration (window)", ["score", "rows", "mean score", "positive rate"],
                    cal_rows,
                )
            )  # fmt: skip
        op = self.operational
        op_rows: list[list[Any]] = [[f"latency {k} (ms)", v] for k, v in op.latency_ms.items()]
        op_rows += [
            ["requests", op.requests],
            ["requests/s", op.throughput_rps],
            ["rows/s", op.throughput_rows_per_s],
            ["fallback rate", op.fallback_rate],
            ["failed requests", op.failed_requests],
            ["error rate (5xx)", op.error_rate if op.error_rate is not None else op.error_source],
            ["client error rate (4xx)", op.client_error_rate],
        ]
        if op.reason:
            op_rows.append(["reason", op.reason])
        sections.append(_html_section("Operational", ["figure", "value"], op_rows, header=False))
        if self.business is not None:
            b = self.business
            biz_rows = [
                [g.group if g.value is None else f"{g.group} {g.value}", g.labelled, g.total,
                 g.per_prediction, g.baseline_total, g.uplift, g.reason or ""]
                for g in [b.overall, *b.by_version, *b.by_route]
            ]  # fmt: skip
            cols = ["group", "labelled", "total", "per prediction", f"baseline ({b.baseline})",
                    "uplift", "reason"]  # fmt: skip
            sections.append(_html_section("Business value", cols, biz_rows))
        if self.quality is not None:
            issues = [[i.severity, i.check, i.column or "", i.message] for i in self.quality.issues]
            if issues:
                cols = ["severity", "check", "column", "message"]
                sections.append(_html_section("Data quality", cols, issues))
            else:
                sections.append(_html_section("Data quality", ["result"], [["passed"]]))
        return sections

    def save_html(self, path: str | Any) -> Any:
        from pathlib import Path

        target = Path(path)
        target.write_text(self.to_html(), encoding="utf-8")
        return target


_FIGURES_CSS = (
    "table.figures{border-collapse:collapse;margin:0 0 1.5em;font-size:13px}"
    "table.figures th{text-align:left;font-weight:500;color:#555;padding:2px 16px 2px 0;"
    "background:none;text-transform:none;font-size:13px}"
    "table.figures td{font-variant-numeric:tabular-nums;padding:2px 16px 2px 0}"
)


def _html_section(
    title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, header: bool = True
) -> str:
    """A titled table; ``header=False``: a field/value table whose first cell is a label."""
    import html

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns) if header else ""
    body = "".join(
        "<tr>"
        + "".join(
            f"<th>{html.escape(_scalar(v))}</th>" if not header and i == 0
            else f"<td>{html.escape(_scalar(v))}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )  # fmt: skip
    heading = f"<h2>{html.escape(title)}</h2>" if title else ""
    thead = f"<tr>{head}</tr>" if head else ""
    return f"<section>{heading}<table class='figures'>{thead}{body}</table></section>"


def _scalar(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "—" if value is None else str(value)


def window_report(
    backend: Any,
    endpoint: str,
    window: Window | str | float = "1h",
    *,
    now: datetime | int | None = None,
    log_uri: str | None = None,
    model_version: str | None = None,
    route: str | None = None,
    model: str | None = None,
    reference: Any = None,
    task: str = "auto",
    classes: Sequence[Any] | None = None,
    positive: Any = None,
    value: Any = None,
    baseline: Any = "predict_nothing",
    progress: Callable[[int, int, str], None] | None = None,
) -> WindowReport:
    """Everything about one window of ``endpoint``. ``reference``: data to compare with
    (default: the training data of the window's main model version, see ``reference_for``);
    ``classes``/``positive``: the class order of logged probabilities and the positive
    class, when they should not be inferred (see ``performance_report``). NotFound when
    the endpoint is neither deployed nor in the prediction log."""
    from conveyor.monitoring.business import business_value
    from conveyor.monitoring.drift import drift_report
    from conveyor.monitoring.operational import operational_report
    from conveyor.monitoring.performance import performance_report
    from conveyor.monitoring.quality import quality_report

    if not isinstance(window, Window):
        window = Window.last(window, now=instant_ms(now))
    data = read_window(endpoint, window, log_uri=log_uri, model_version=model_version, route=route)
    if data.num_rows == 0:
        require_endpoint(backend, endpoint, log_uri)  # an empty window, or no such endpoint?
    out = WindowReport(
        data.summary(),
        performance_report(data, task=task, classes=classes, positive=positive),  # type: ignore[arg-type]
        operational_report(data),
    )
    if value is not None:
        out.business = business_value(data, value, baseline=baseline)
    if data.status != "ok":
        out.reference_error = data.reason
        return out
    ref = reference
    if ref is None:
        seen = data.versions()
        try:
            ref = reference_for(
                backend, endpoint, model_version=model_version or seen[0], model=model
            )
        except Exception as exc:
            out.reference_error = f"no reference data: {exc}"
            return out
    current = data.inputs()
    ref_cols = list(getattr(ref, "column_names", None) or [str(c) for c in ref.columns])
    columns = [c for c in current.column_names if c in ref_cols]
    if not columns:
        out.reference_error = "no logged input column is in the reference data"
        return out
    out.drift = drift_report(ref, current, columns=columns, progress=progress)
    out.quality = quality_report(ref, current, columns=columns)
    return out
