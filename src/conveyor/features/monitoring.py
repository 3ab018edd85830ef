"""Feature-store metrics for monitors, and the train-vs-serve skew check.

``features.freshness.<view>`` is the age, in seconds at the check's time, of the newest
event time materialized for the view: a monitor like ``features.freshness.customer_activity
> 7200`` alerts when the online store falls behind (a materialization job stopped). A view
never materialized has no value (``insufficient_data``).

``feature_skew`` compares the feature values a training set got (a dataset version logged
from ``get_historical_features``) with the values the inference server looked up for an
endpoint (the full feature vector in its prediction log), feature by feature, through the
monitoring drift engine (``conveyor.monitoring.drift.drift_report``): the same methods,
thresholds and verdicts as every drift check. Only the features of the endpoint's feature
service are compared — not its join keys or request-time inputs. As monitor metrics:
``features.skew.share`` (share of the service's features that drifted) and
``features.skew.<feature>`` (a feature's drift distance), with ``options.reference =
"dataset:version"`` naming the training set.
"""

from __future__ import annotations

from typing import Any

from conveyor._schema import Duration, EndpointName, Name, PositiveInt
from conveyor.errors import ValidationFailed
from conveyor.features.online_ops import feature_freshness
from conveyor.store.projects import in_current_project
from conveyor.store.tables import DEFAULT_PROJECT_ID

__all__ = [
    "PREFIX",
    "SKEW_PREFIX",
    "check_feature_metric",
    "check_freshness_metric",
    "feature_metric",
    "feature_skew",
    "freshness_metric",
]

PREFIX = "features.freshness."
SKEW_PREFIX = "features.skew."


def check_freshness_metric(metric: str) -> str:
    """The view a ``features.freshness.<view>`` metric names."""
    view = metric[len(PREFIX) :] if metric.startswith(PREFIX) else ""
    if not view:
        raise ValidationFailed(
            f"unknown metric {metric!r}: features.freshness.<view> (age of its newest value, "
            "s), features.skew.share or features.skew.<feature> (train-vs-serve drift)"
        )
    return view


def check_feature_metric(metric: str) -> str:
    """``metric`` when it is a feature-store metric (freshness or skew), else refused."""
    if metric.startswith(SKEW_PREFIX) and metric[len(SKEW_PREFIX) :]:
        return metric
    check_freshness_metric(metric)
    return metric


def freshness_metric(stores: Any, metric: str, at_ms: int) -> Any:
    """The ``MetricResult`` of a freshness metric at ``at_ms``."""
    from conveyor.monitoring.monitors import MetricResult

    view = check_freshness_metric(metric)
    with stores.meta.read() as conn:
        found = {f.view: f for f in feature_freshness(conn, now=at_ms)}
    if view not in found:
        return MetricResult(None, "insufficient_data", f"no feature view {view!r}")
    entry = found[view]
    if entry.age_s is None:
        return MetricResult(None, "insufficient_data", f"feature view {view!r} never materialized")
    return MetricResult(entry.age_s, "ok", None, {"newest_event_ms": entry.newest_event_ms})


def _served_and_trained(
    stores: Any, endpoint: str, dataset: str, version: int | None, project_id: str
) -> tuple[str, dict[str, str], Any]:
    """The endpoint's service, ``{serving column: training-set column}``, the training set."""
    from conveyor.data import service as datasets
    from conveyor.features.registry import resolve_features
    from conveyor.features.serving import get_endpoint_features

    with stores.meta.read() as conn:
        binding = get_endpoint_features(conn, endpoint, project_id=project_id)
        views = resolve_features(conn, service=binding.service, project_id=project_id)
        dv = datasets.get_dataset_version(conn, dataset, version)
    table = datasets.load_dataset_version(stores.artifacts, dv)
    columns = set(table.column_names)
    pairs: dict[str, str] = {}
    for view in views:
        for feat in view.feature_names:
            for name in (feat, f"{view.name}__{feat}"):  # either naming of the training set
                if name in columns:
                    pairs[feat] = name
                    break
    if not pairs:
        raise ValidationFailed(
            f"dataset {dataset!r} version {dv.version} has no feature of service "
            f"{binding.service!r} (looked for "
            f"{', '.join(f for v in views for f in v.feature_names)}, or view__feature); "
            "log it from get_historical_features"
        )
    reference = table.select(list(pairs.values())).rename_columns(list(pairs))
    return binding.service, pairs, reference


@in_current_project
def feature_skew(
    stores: Any,
    endpoint: EndpointName,
    dataset: Name,
    version: PositiveInt | None = None,
    window: Duration = "1d",
    *,
    log_uri: str | None = None,
    methods: dict[str, str] | None = None,
    min_rows: PositiveInt = 30,
    project_id: str = DEFAULT_PROJECT_ID,
) -> dict[str, Any]:
    """Train-vs-serve drift of ``endpoint``'s feature service: the training set ``dataset``
    (version, default the latest) against the values served in the last ``window``.

    The drift report (``DriftReport.to_dict()``) plus ``service``, ``dataset``, ``version``,
    ``features`` (serving column -> training-set column) and ``served_rows``.
    """
    from conveyor.monitoring.drift import drift_report
    from conveyor.monitoring.windows import Window, read_window

    service, pairs, reference = _served_and_trained(stores, endpoint, dataset, version, project_id)
    data = read_window(endpoint, Window.last(window), log_uri=log_uri)
    served = data.inputs()
    logged = [c for c in pairs if c in served.column_names]
    if not logged:
        raise ValidationFailed(
            f"the prediction log of {endpoint!r} holds no feature of service {service!r} "
            f"in the last {window} ({data.num_rows} rows): serve requests first, or widen the "
            "window"
        )
    report = drift_report(
        reference, served.select(logged), columns=logged, methods=methods, min_rows=min_rows
    )
    out = report.to_dict()
    out.update(
        service=service,
        dataset=dataset,
        version=version,
        features={c: pairs[c] for c in logged},
        served_rows=data.num_rows,
    )
    return out


def feature_metric(stores: Any, monitor: Any, window: Any, log_uri: str | None) -> Any:
    """The ``MetricResult`` of a ``features.*`` monitor metric over ``window``."""
    from conveyor.monitoring.monitors import MetricResult

    metric = monitor.metric
    if not metric.startswith(SKEW_PREFIX):
        return freshness_metric(stores, metric, window.end_ms)
    named = monitor.options.get("reference")
    if not named:
        return MetricResult(
            None, "insufficient_data", f"{metric} needs options.reference = 'dataset:version'"
        )
    name, _, number = str(named).partition(":")
    seconds = (window.end_ms - window.start_ms) / 1000.0
    try:
        report = feature_skew(
            stores,
            monitor.endpoint,
            name,
            int(number) if number else None,
            seconds,
            log_uri=log_uri,
            methods=monitor.options.get("methods"),
            min_rows=int(monitor.options.get("min_rows", 30)),
        )
    except Exception as exc:  # no binding, no dataset, nothing served: no value
        return MetricResult(None, "insufficient_data", f"{metric}: {exc}"[:1000])
    details = {"drifted_columns": report["drifted_columns"], "service": report["service"]}
    if report["status"] == "insufficient_data":
        return MetricResult(None, "insufficient_data", report.get("reason"), details)
    column = metric[len(SKEW_PREFIX) :]
    if column == "share":
        return MetricResult(float(report["share_drifted"]), "ok", None, details)
    found = {c["column"]: c for c in report["columns"]}
    if column not in found or found[column].get("distance") is None:
        return MetricResult(
            None, "insufficient_data", f"feature {column!r} was not compared", details
        )
    return MetricResult(float(found[column]["distance"]), "ok", None, details)
