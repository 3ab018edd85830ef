"""Metrics for a model card, each with a confidence interval when the data allows one.

With the evaluation data of the version's latest gate report (the dataset version and
label the gates used, still in the store), the version is scored again and every metric
that applies gets a percentile bootstrap interval (the gates' row-weight resampling, a
seed per version, so a card is reproducible). Without it, the gate report's values are
used — accuracy with a Wilson interval on its row count — and else the source run's
logged metrics, without intervals. Per-group rates from fairness checks get Wilson
intervals on their group sizes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["LEVEL", "bootstrap_metrics", "disaggregated", "wilson"]

LEVEL = 0.95
_Z = 1.959963984540054
CLASSIFIER_METRICS = ("accuracy", "precision", "recall", "f1", "auc", "log_loss")
REGRESSOR_METRICS = ("mae", "rmse", "r2")


def wilson(successes: float, n: int, z: float = _Z) -> tuple[float, float] | None:
    """Wilson score interval of a proportion (None for n = 0)."""
    if n <= 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _interval(lo: float, hi: float, method: str) -> dict[str, Any]:
    return {"lower_bound": lo, "upper_bound": hi, "level": LEVEL, "method": method}


def _metric(
    name: str, value: Any, *, slice_: str = "", source: str, n: int | None = None, ci: Any = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"type": name, "value": value, "slice": slice_, "source": source}
    if n is not None:
        out["n"] = n
    if ci is not None:
        out["confidence_interval"] = ci
    return out


def bootstrap_metrics(
    backend: Any, mv: Any, report: dict[str, Any], resamples: int = 1000
) -> list[dict[str, Any]] | None:
    """Every applicable metric of ``mv`` on its gate report's evaluation data, with a
    percentile bootstrap interval; None when that data or label is not available."""
    from conveyor.data import service as data
    from conveyor.errors import ConveyorError
    from conveyor.gates import service as gates
    from conveyor.gates.context import GateContext
    from conveyor.gates.stats import bootstrap_weights, weighted_metric

    datasets = report.get("datasets") or {}
    uri, label = datasets.get("evaluation"), datasets.get("label")
    if not (isinstance(uri, str) and uri.startswith("datasets:/") and label):
        return None
    name, _, version = uri.removeprefix("datasets:/").rpartition("/")
    try:
        with backend.meta.read() as conn:
            dv = data.get_dataset_version(conn, name, int(version))
            stored = gates.get_policy(conn, mv.name, int(report["policy_version"]))
        frame = data.load_dataset_version(backend.artifacts, dv, as_pandas=True)
        ctx = GateContext(backend, mv, stored.policy, stored.version, dv, frame, label)
        scored = ctx.candidate
    except (ConveyorError, ValueError, KeyError):
        return None
    names = REGRESSOR_METRICS if scored.task == "regression" else CLASSIFIER_METRICS
    n = len(scored.y_true)
    source = f"{uri} (label {label!r})"
    method = f"percentile bootstrap, {resamples} resamples"
    out = []
    for metric in names:
        try:
            fn = weighted_metric(metric, scored)
        except ValueError:
            continue
        point = float(fn(np.ones((1, n)))[0])
        if not math.isfinite(point):
            continue
        draws = np.concatenate([fn(w) for w in bootstrap_weights(n, resamples, ctx.seed)]).astype(
            np.float64
        )
        draws = draws[np.isfinite(draws)]
        ci = None
        if draws.size:
            lo, hi = np.quantile(draws, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
            ci = _interval(float(lo), float(hi), method)
        out.append(_metric(metric, point, source=source, n=n, ci=ci))
    return out


def report_metrics(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The gate report's metric checks (accuracy with a Wilson interval on its rows)."""
    out = []
    for check in report.get("checks", []):
        evidence = check.get("evidence") or {}
        if check.get("kind") != "metric" or check.get("value") is None:
            continue
        metric, n = evidence.get("metric", check["name"]), evidence.get("n")
        ci = None
        if metric == "accuracy" and isinstance(n, int):
            bounds = wilson(float(check["value"]) * n, n)
            ci = _interval(*bounds, "Wilson score") if bounds else None
        out.append(_metric(metric, check["value"], source="gate report", n=n, ci=ci))
    return out


_RATES = {"selection_rate": "size", "accuracy": "size", "tpr": "positives", "fpr": "negatives"}


def disaggregated(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-group results of the report's fairness and slice checks: ``{check, by, rows,
    summary}``; each group rate with a Wilson interval on the rows it is a rate of."""
    out = []
    for check in report.get("checks", []):
        evidence = check.get("evidence") or {}
        for key, rows in evidence.items():
            if key.startswith("groups:") and isinstance(rows, list):
                out.append(
                    {
                        "check": check["name"],
                        "by": key.removeprefix("groups:"),
                        "rows": [_with_intervals(r) for r in rows],
                        "summary": (evidence.get("by_column") or {}).get(
                            key.removeprefix("groups:")
                        ),
                    }
                )
        if check.get("kind") == "slices" and isinstance(evidence.get("slices"), list):
            out.append(
                {
                    "check": check["name"],
                    "by": "slice",
                    "rows": evidence["slices"],
                    "summary": {"overall": evidence.get("overall")},
                }
            )
    return out


def _with_intervals(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    size, positives = int(row.get("size") or 0), int(row.get("positives") or 0)
    counts = {"size": size, "positives": positives, "negatives": size - positives}
    for rate, base in _RATES.items():
        value = row.get(rate)
        if isinstance(value, int | float):
            bounds = wilson(value * counts[base], counts[base])
            if bounds is not None:
                row[f"{rate}_ci"] = [round(bounds[0], 6), round(bounds[1], 6)]
    return row


def slice_metrics(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The groups' accuracy as sliced performance metrics (the Toolkit's ``slice``)."""
    out = []
    for table in groups:
        for row in table["rows"]:
            if row.get("accuracy") is None or "group" not in row:
                continue
            ci = row.get("accuracy_ci")
            out.append(
                _metric(
                    "accuracy",
                    row["accuracy"],
                    slice_=f"{table['by']}={row['group']}",
                    source=f"gate check {table['check']}",
                    n=row.get("size"),
                    ci=_interval(ci[0], ci[1], "Wilson score") if ci else None,
                )
            )
    return out
