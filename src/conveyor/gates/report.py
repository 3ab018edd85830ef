"""Gate reports: each check's outcome, the verdict, and renderings (rich, JSON, HTML).

A check's ``verdict`` is ``pass``, ``fail``, ``insufficient_data`` or ``error``. Whether a
check lets the gate through is ``verdict == "pass"``, or the check's policy says what an
error / missing data counts as (``on_error`` / ``on_insufficient``, ``fail`` by default:
fail closed).
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from conveyor._util import to_iso

__all__ = ["VERDICTS", "CheckOutcome", "CheckResult", "GateReport", "render_html", "render_table"]

VERDICTS = ("pass", "fail", "insufficient_data", "error")


@dataclass
class CheckOutcome:
    """What a check's ``run`` returns: verdict, the measured value, the threshold it was
    held to, a one-line message and the evidence (tables, intervals, sample sizes)."""

    verdict: str
    value: Any = None
    threshold: Any = None
    message: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, got {self.verdict!r}")


@dataclass
class CheckResult:
    """One check in a report: its outcome plus who it is and whether it let the gate pass."""

    name: str
    kind: str
    verdict: str
    passed: bool
    value: Any
    threshold: Any
    message: str
    evidence: dict[str, Any]
    on_error: str = "fail"
    on_insufficient: str = "fail"
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class GateReport:
    """The stored result of running a model's gate policy on one version."""

    id: str
    model: str
    version: int
    policy_version: int
    passed: bool
    checks: list[CheckResult]
    datasets: dict[str, Any]
    champion: int | None
    created_by: str
    created_at: int
    duration_s: float

    @property
    def failed_checks(self) -> list[str]:
        return [c.name for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.model,
            "version": self.version,
            "policy_version": self.policy_version,
            "passed": self.passed,
            "failed_checks": self.failed_checks,
            "checks": [c.to_dict() for c in self.checks],
            "datasets": self.datasets,
            "champion": self.champion,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "created_at_iso": to_iso(self.created_at),
            "duration_s": self.duration_s,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateReport:
        return cls(
            id=data["id"],
            model=data["model"],
            version=int(data["version"]),
            policy_version=int(data["policy_version"]),
            passed=bool(data["passed"]),
            checks=[CheckResult(**c) for c in data["checks"]],
            datasets=dict(data.get("datasets") or {}),
            champion=data.get("champion"),
            created_by=data["created_by"],
            created_at=int(data["created_at"]),
            duration_s=float(data.get("duration_s", 0.0)),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str)


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_fmt(v)}" for k, v in value.items())
    return str(value)


_STYLE = {"pass": "green", "fail": "red", "insufficient_data": "yellow", "error": "magenta"}


def render_table(report: GateReport) -> Any:
    """A rich Table: one row per check (verdict coloured), the overall verdict as caption."""
    from rich.table import Table

    verdict = "[green]PASSED[/]" if report.passed else "[red]FAILED[/]"
    table = Table(
        title=f"gates {report.model}/{report.version} (policy v{report.policy_version})",
        caption=f"{verdict}  evaluation {report.datasets.get('evaluation', '—')}",
    )
    for col in ("check", "verdict", "value", "threshold", "message"):
        table.add_column(col, overflow="fold")
    for c in report.checks:
        shown = c.verdict if c.passed == (c.verdict == "pass") else f"{c.verdict} (→ pass)"
        table.add_row(
            c.name,
            f"[{_STYLE[c.verdict]}]{shown}[/]",
            _fmt(c.value),
            _fmt(c.threshold),
            c.message,
        )
    return table


def _html_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    cols = list(rows[0])
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c)))}</td>" for c in cols) + "</tr>"
        for r in rows
    )
    return f"<table class='cv-evidence'><tr>{head}</tr>{body}</table>"


def render_html(report: GateReport) -> str:
    """A self-contained HTML section (inline style, no scripts, no external assets)."""
    verdict = "PASSED" if report.passed else "FAILED"
    colour = "#1a7f37" if report.passed else "#cf222e"
    rows = []
    for c in report.checks:
        tables = "".join(
            f"<p>{html.escape(key)}</p>{_html_table(value)}"
            for key, value in c.evidence.items()
            if isinstance(value, list) and value and isinstance(value[0], dict)
        )
        rows.append(
            f"<tr class='cv-{c.verdict}'><td>{html.escape(c.name)}</td>"
            f"<td>{html.escape(c.verdict)}</td><td>{html.escape(_fmt(c.value))}</td>"
            f"<td>{html.escape(_fmt(c.threshold))}</td><td>{html.escape(c.message)}{tables}</td></tr>"
        )
    return (
        "<section class='cv-gate-report'>"
        "<style>.cv-gate-report table{border-collapse:collapse;font:13px sans-serif}"
        ".cv-gate-report td,.cv-gate-report th{border:1px solid #d0d7de;padding:3px 6px;"
        "vertical-align:top}.cv-pass td:nth-child(2){color:#1a7f37}"
        ".cv-fail td:nth-child(2),.cv-error td:nth-child(2){color:#cf222e}"
        ".cv-insufficient_data td:nth-child(2){color:#9a6700}</style>"
        f"<h2>Gates {html.escape(report.model)}/{report.version}: "
        f"<span style='color:{colour}'>{verdict}</span></h2>"
        f"<p>policy version {report.policy_version}; evaluation dataset "
        f"{html.escape(str(report.datasets.get('evaluation', '—')))}; champion "
        f"{html.escape(str(report.champion or '—'))}</p>"
        "<table><tr><th>check</th><th>verdict</th><th>value</th><th>threshold</th>"
        f"<th>details</th></tr>{''.join(rows)}</table></section>"
    )
