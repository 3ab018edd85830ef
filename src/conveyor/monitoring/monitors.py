"""Declarative monitors: what is watched, how often, and when it is a breach.

::

    MonitorSpec(
        name="churn-auc", endpoint="churn", metric="performance.auc",
        window="1h", schedule="5m", comparison="<", threshold=0.75,
        severity="critical", for_="15m", cooldown="1h",
        notifiers=[{"type": "slack", "url": "https://hooks.slack.com/..."}],
    )

Metrics (``metric``):

=================================  ==========================================================
``drift.share``                    share of input columns that drifted (``drift_report``)
``drift.<col>``                    drift distance of a column (KS D, PSI, Wasserstein, JS ...)
``drift.<col>.p_value``            p-value of a column's test (p-value methods only)
``quality.null_rate.<col>``        null rate of an input column in the window
``quality.issues``                 failed data-quality checks against the reference
``performance.<m>``                accuracy, precision, recall, f1, auc, log_loss, ece, mae,
                                   rmse, r2, label_coverage (``performance_report``)
``business.<m>``                   value_per_prediction, total, uplift (``business_value``;
                                   ``options.value_matrix`` or ``options.value_function``)
``latency.p50|p95|p99|mean|max``   request latency in ms
``throughput`` / ``throughput.rows``  requests (rows) per second of the window
``volume`` / ``requests``         rows / answered requests of the window
``fallback_rate``                  share of rows answered by the fallback route
``error_rate``                     share of requests answered 5xx (prediction log ``status``)
``client_error_rate``              share of requests answered 4xx (input refused)
=================================  ==========================================================

Options (``options``): ``task``, ``classes``, ``positive``, ``threshold`` (performance),
``value_matrix``/``value_function``/``baseline`` (business), ``method``/``methods``,
``min_rows`` (drift), ``model`` (the registered model name, when it cannot be read from
the endpoint's deployment) and ``reference`` (``"dataset:version"`` to compare with instead
of the model version's training data).

A metric that cannot be computed — empty window, no labels, no reference — gives a check
with ``status="insufficient_data"`` and a reason, never an exception or a NaN.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from conveyor._schema import Duration, EndpointName, Name
from conveyor._util import check_name
from conveyor.errors import ValidationFailed
from conveyor.monitoring.windows import WindowData, parse_duration

__all__ = [
    "COMPARISONS",
    "SEVERITIES",
    "MetricResult",
    "Monitor",
    "MonitorSpec",
    "compute_metric",
    "load_monitor_specs",
    "metric_family",
]

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
SEVERITIES = ("info", "warning", "critical")
_FAMILIES = ("drift", "quality", "performance", "business", "latency", "throughput")
_OPERATIONAL = ("volume", "requests", "fallback_rate", "error_rate", "client_error_rate")
_ERROR_RATES = ("error_rate", "client_error_rate")


_NAMES = {
    "performance": {
        "accuracy", "precision", "recall", "f1", "auc", "log_loss", "ece", "mae", "rmse", "r2",
        "label_coverage", "coverage",
    },
    "business": {
        "value_per_prediction", "per_prediction", "value", "total", "uplift", "baseline_total",
        "baseline_per_prediction",
    },
    "latency": {"p50", "p95", "p99", "mean", "max"},
    "throughput": {"rows", "rps"},
}  # fmt: skip


def metric_family(metric: str) -> str:
    """``drift``, ``quality``, ``performance``, ``business`` or ``operational``."""
    head, _, rest = metric.partition(".")
    known = _NAMES.get(head)
    if known is not None and rest and rest not in known:
        raise ValidationFailed(
            f"unknown metric {metric!r}: {head}. takes one of {sorted(known)}",
            details={"metric": metric},
        )
    if head in ("performance", "latency") and not rest:
        raise ValidationFailed(f"metric {metric!r} needs a name: {head}.{sorted(known or ())[0]}")
    if head == "quality" and not (rest.startswith("null_rate.") or rest == "issues"):
        raise ValidationFailed(
            f"unknown metric {metric!r}: quality.null_rate.<column> or quality.issues"
        )
    if head == "drift" and not rest:
        raise ValidationFailed("drift metrics: drift.share, drift.<column>[.p_value|.drifted]")
    if head == "features":  # freshness.<view>, skew.* (conveyor.features.monitoring)
        from conveyor.features.monitoring import check_feature_metric

        check_feature_metric(metric)
        return "features"
    if head in ("latency", "throughput") or metric in _OPERATIONAL:
        return "operational"
    if head in _FAMILIES:
        return head
    raise ValidationFailed(
        f"unknown metric {metric!r}: use drift.share, drift.<column>, "
        "quality.null_rate.<column>, performance.<accuracy|auc|f1|...>, "
        "business.value_per_prediction, latency.p99, throughput, volume ...",
        details={"metric": metric},
    )


def _seconds(value: Any, what: str) -> float:
    try:
        return parse_duration(value)
    except ValidationFailed as exc:
        raise ValidationFailed(f"{what}: {exc.message}") from None


def _check_notifier_url(notifier: Mapping[str, Any]) -> None:
    """Webhook and Slack notifiers need an absolute http(s) URL."""
    kind = notifier["type"]
    if kind not in ("webhook", "slack"):
        return
    url = notifier.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationFailed(
            f"the {kind} notifier needs an http(s) URL, got {url!r}: "
            "e.g. https://hooks.example.com/alerts",
            details={"notifier": kind, "url": url},
        )


@dataclass(slots=True)
class MonitorSpec:
    """A monitor as declared (durations as ``"5m"``/seconds; see the module docstring)."""

    name: Name
    endpoint: EndpointName
    metric: str
    threshold: float
    comparison: str = ">"
    window: Duration = "1h"
    schedule: Duration = "5m"
    severity: str = "warning"
    for_: Duration = 0
    cooldown: Duration = 0
    model_version: str | None = None
    route: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    notifiers: list[dict[str, Any]] = field(default_factory=list)
    enabled: bool = True
    description: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MonitorSpec:
        """From a mapping (``for`` or ``for_`` both accepted); unknown keys are an error."""
        items = dict(data)
        if "for" in items:
            items["for_"] = items.pop("for")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(items) - known)
        if unknown:
            raise ValidationFailed(
                f"unknown monitor field(s) {unknown}; known: {sorted(known)}",
                details={"unknown": unknown},
            )
        missing = [k for k in ("name", "endpoint", "metric", "threshold") if k not in items]
        if missing:
            raise ValidationFailed(f"a monitor needs {missing}", details={"missing": missing})
        return cls(**items)

    def validate(self) -> dict[str, Any]:
        """The row values (durations in seconds); ValidationFailed naming the bad field."""
        check_name(self.name, "monitor name")
        check_name(self.endpoint, "endpoint name")
        family = metric_family(self.metric)
        if not isinstance(self.options, Mapping):
            raise ValidationFailed(f"options must be a mapping, got {self.options!r}")
        if family == "business":
            from conveyor.monitoring.business import check_value_options

            try:
                check_value_options(self.options)
            except ValidationFailed as exc:
                raise ValidationFailed(f"{self.metric}: {exc.message}") from None
        if self.comparison not in COMPARISONS:
            raise ValidationFailed(
                f"comparison must be one of {list(COMPARISONS)}, got {self.comparison!r}"
            )
        if self.severity not in SEVERITIES:
            raise ValidationFailed(f"severity must be one of {SEVERITIES}, got {self.severity!r}")
        try:
            threshold = float(self.threshold)
        except (TypeError, ValueError):
            raise ValidationFailed(f"threshold must be a number, got {self.threshold!r}") from None
        if not math.isfinite(threshold):
            raise ValidationFailed(f"threshold must be finite, got {self.threshold!r}")
        window = _seconds(self.window, "window")
        schedule = _seconds(self.schedule, "schedule")
        if window <= 0 or schedule <= 0:
            raise ValidationFailed("window and schedule must be longer than 0 seconds")
        for notifier in self.notifiers:
            if not isinstance(notifier, Mapping) or "type" not in notifier:
                raise ValidationFailed(
                    f"each notifier is a mapping with a 'type' (log, webhook, slack ...), "
                    f"got {notifier!r}"
                )
            _check_notifier_url(notifier)
        return {
            "name": self.name,
            "endpoint": self.endpoint,
            "metric": self.metric,
            "window_s": window,
            "schedule_s": schedule,
            "comparison": self.comparison,
            "threshold": threshold,
            "severity": self.severity,
            "for_s": _seconds(self.for_, "for"),
            "cooldown_s": _seconds(self.cooldown, "cooldown"),
            "model_version": None if self.model_version is None else str(self.model_version),
            "route": self.route,
            "options": dict(self.options),
            "notifiers": [dict(n) for n in self.notifiers],
            "enabled": bool(self.enabled),
            "description": self.description,
        }


@dataclass(slots=True)
class Monitor:
    """A stored monitor (durations in seconds, times in epoch ms)."""

    id: str
    name: str
    endpoint: str
    metric: str
    window_s: float
    schedule_s: float
    comparison: str
    threshold: float
    severity: str
    for_s: float
    cooldown_s: float
    model_version: str | None
    route: str | None
    options: dict[str, Any]
    notifiers: list[dict[str, Any]]
    enabled: bool
    description: str
    last_evaluated_at: int | None
    created_by: str
    created_at: int
    updated_at: int

    def breached(self, value: float) -> bool:
        return COMPARISONS[self.comparison](value, self.threshold)

    def is_due(self, now_ms: int) -> bool:
        if not self.enabled:
            return False
        last = self.last_evaluated_at
        return last is None or now_ms - last >= self.schedule_s * 1000

    def condition(self) -> str:
        return f"{self.metric} {self.comparison} {self.threshold:g}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class MetricResult:
    """The value of a monitor's metric over one window."""

    value: float | None
    status: str  # "ok" (computed) or "insufficient_data"
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


_NEEDS_PROBABILITIES = frozenset({"auc", "log_loss", "ece"})


def _insufficient(reason: str, **details: Any) -> MetricResult:
    return MetricResult(None, "insufficient_data", reason, details)


def _finite(value: float | None, what: str, **details: Any) -> MetricResult:
    if value is None or not math.isfinite(float(value)):
        return _insufficient(f"{what} could not be computed on this window", **details)
    return MetricResult(float(value), "ok", None, details)


def compute_metric(
    metric: str,
    data: WindowData,
    *,
    options: Mapping[str, Any] | None = None,
    reference: Callable[[], Any] | None = None,
) -> MetricResult:
    """Compute ``metric`` on a window. ``reference``: a zero-argument callable returning
    the reference data (called only by drift and quality metrics)."""
    options = options or {}
    family = metric_family(metric)
    details: dict[str, Any] = {"rows": data.num_rows, "labelled": data.num_labelled}
    # a window whose every request failed has no prediction, and is the one to alert on
    failing = metric in _ERROR_RATES and data.num_failed > 0
    if data.status == "insufficient_data" and metric not in ("volume", "requests") and not failing:
        return _insufficient(data.reason or "empty window", **details)
    if family == "operational":
        from conveyor.monitoring.operational import operational_report

        rep = operational_report(data)
        if metric in _ERROR_RATES:
            details["failed_requests"] = rep.failed_requests
            if data.failures is None:
                return _insufficient(
                    "this window's prediction log records no failed requests (written by a "
                    "server before failures were logged); monitor fallback_rate or scrape "
                    "/metrics conveyor_requests_total",
                    **details,
                )
        name = "throughput" if metric == "throughput" else metric
        return _finite(rep.metric(name), metric, **details)
    if family == "performance":
        from conveyor.monitoring.performance import performance_report

        perf = performance_report(
            data,
            task=options.get("task", "auto"),
            classes=options.get("classes"),
            positive=options.get("positive"),
            threshold=float(options.get("threshold", 0.5)),
        )
        details["label_coverage"] = perf.overall.label_coverage
        name = metric.split(".", 1)[1] if "." in metric else ""
        if name in ("label_coverage", "coverage"):
            return MetricResult(perf.overall.label_coverage, "ok", None, details)
        if perf.status != "ok":
            return _insufficient(perf.overall.reason or "no labels", **details)
        value = perf.metric(name)
        why = perf.overall.metrics.get("proba_reason")
        if value is None and name in _NEEDS_PROBABILITIES and why:
            return _insufficient(f"{metric}: {why}", task=perf.task, **details)
        return _finite(value, metric, task=perf.task, **details)
    if family == "business":
        from conveyor.monitoring.business import business_value, value_from_options

        value, baseline = value_from_options(options)
        biz = business_value(data, value, baseline=baseline)
        if biz.status != "ok":
            return _insufficient(biz.overall.reason or "no labels", **details)
        name = metric.split(".", 1)[1] if "." in metric else "per_prediction"
        name = {"value_per_prediction": "per_prediction", "value": "total"}.get(name, name)
        return _finite(biz.metric(name), metric, **details)
    if family == "quality" and metric.startswith("quality.null_rate."):
        column = metric[len("quality.null_rate.") :]
        name = f"input_{column}"
        if name not in data.table.column_names:
            return _insufficient(f"column {column!r} is not in the logged inputs", **details)
        col = data.table.column(name)
        nulls = col.null_count
        if col.type in (_float_types()):
            import pyarrow.compute as pc

            nulls += int(pc.sum(pc.is_nan(col.fill_null(0.0))).as_py() or 0)
        return MetricResult(nulls / data.num_rows, "ok", None, details)
    if reference is None:
        return _insufficient(f"{metric} needs reference data", **details)
    try:
        ref = reference()
    except Exception as exc:  # NotFound, missing dataset, unreadable artifact ...
        return _insufficient(f"no reference data: {exc}", **details)
    current = data.inputs()
    columns = [c for c in current.column_names if c in _columns_of(ref)]
    if family == "quality":
        from conveyor.monitoring.quality import quality_report

        if metric != "quality.issues":
            raise ValidationFailed(
                f"unknown quality metric {metric!r}: quality.null_rate.<col>, quality.issues"
            )
        q = quality_report(ref, current, columns=columns or None)
        details["issues"] = [i.check + (f":{i.column}" if i.column else "") for i in q.issues]
        return MetricResult(float(len(q.issues)), "ok", None, details)
    from conveyor.monitoring.drift import drift_report

    if not columns:
        return _insufficient("no logged input column is in the reference data", **details)
    report = drift_report(
        ref,
        current,
        columns=columns,
        methods=options.get("methods"),
        min_rows=int(options.get("min_rows", 30)),
    )
    details["drifted_columns"] = report.drifted_columns
    if metric == "drift.share":
        if report.status == "insufficient_data":
            return _insufficient(report.reason or "drift could not be judged", **details)
        return MetricResult(float(report.share_drifted), "ok", None, details)
    parts = metric.split(".")
    column, field_name = parts[1], (parts[2] if len(parts) > 2 else "distance")
    try:
        col = report.column(column)
    except KeyError:
        return _insufficient(f"column {column!r} is not in both windows", **details)
    if col.status == "insufficient_data":
        return _insufficient(col.reason or "column could not be judged", **details)
    details["method"] = col.method
    value = {
        "distance": col.distance if col.distance is not None else col.statistic,
        "p_value": col.p_value,
        "statistic": col.statistic,
        "drifted": 1.0 if col.drifted else 0.0,
    }.get(field_name)
    return _finite(value, metric, **details)


def _float_types() -> tuple[Any, ...]:
    import pyarrow as pa

    return (pa.float64(), pa.float32(), pa.float16())


def _columns_of(data: Any) -> list[str]:
    if hasattr(data, "column_names"):
        return list(data.column_names)
    return [str(c) for c in getattr(data, "columns", [])]


def load_monitor_specs(path: str | Path) -> list[MonitorSpec]:
    """Monitor specs from a YAML, JSON or TOML file: a list, or ``{"monitors": [...]}``;
    each is validated (ValidationFailed names the file and the monitor)."""
    source = Path(path)
    if not source.is_file():
        raise ValidationFailed(f"monitor file {str(source)!r} does not exist")
    text = source.read_text(encoding="utf-8")
    suffix = source.suffix.lower()
    try:
        if suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        elif suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        else:
            import json

            data = json.loads(text)
    except Exception as exc:
        raise ValidationFailed(f"{source}: cannot parse ({exc})") from exc
    items = data.get("monitors", data.get("monitor")) if isinstance(data, dict) else data
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ValidationFailed(f"{source}: expected a list of monitors or a 'monitors' list")
    specs = []
    for i, item in enumerate(items):
        try:
            spec = MonitorSpec.from_dict(item)
            spec.validate()
        except ValidationFailed as exc:
            label = repr(item["name"]) if "name" in item else f"#{i + 1}"
            raise ValidationFailed(f"{source}: monitor {label}: {exc.message}") from None
        specs.append(spec)
    return specs
