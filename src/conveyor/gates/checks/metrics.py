"""``metric``: Conveyor scores the version on the evaluation rows and checks bounds.

::

    - metric: auc
      min: 0.80
    - metric: rmse
      max: 3.2
"""

from __future__ import annotations

from typing import Any

from conveyor.gates._registry import Check, register_check
from conveyor.gates.checks import _params as p
from conveyor.gates.context import GateContext
from conveyor.gates.policy import param_error
from conveyor.gates.report import CheckOutcome
from conveyor.gates.stats import CLASSIFICATION, REGRESSION

__all__ = ["MetricCheck", "bounds_outcome"]


def bounds_outcome(value: float, lo: float | None, hi: float | None) -> tuple[str, str]:
    """``(verdict, threshold text)`` of ``value`` against inclusive bounds."""
    parts = ([f">= {lo:g}"] if lo is not None else []) + ([f"<= {hi:g}"] if hi is not None else [])
    ok = (lo is None or value >= lo) and (hi is None or value <= hi)
    return ("pass" if ok else "fail"), " and ".join(parts)


class MetricCheck(Check):
    name = "metric"

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        p.known_keys(params, {"metric", "min", "max", "min_rows"})
        metric = p.metric_name(params)
        lo, hi = p.number(params, "min"), p.number(params, "max")
        if lo is None and hi is None:
            raise param_error(None, f"metric {metric}: give a bound, min: or max:")
        return {
            "metric": metric,
            "min": lo,
            "max": hi,
            "min_rows": p.positive_int(params, "min_rows", 30),
        }

    def describe(self, params: dict[str, Any]) -> str:
        return f"metric:{params['metric']}"

    def run(self, ctx: GateContext, params: dict[str, Any]) -> CheckOutcome:
        s = ctx.candidate
        n = len(s.y_true)
        lo, hi = params["min"], params["max"]
        if n < params["min_rows"]:
            return CheckOutcome(
                "insufficient_data",
                message=f"{n} evaluation rows, fewer than min_rows={params['min_rows']}",
                evidence={"n": n},
            )
        metric = params["metric"]
        if (metric in REGRESSION and s.task != "regression") or (
            metric in CLASSIFICATION and s.task != "classification"
        ):
            return CheckOutcome("error", message=f"{metric} does not apply to a {s.task} model")
        value = s.metrics.get(metric)
        if value is None or value != value:
            return CheckOutcome(
                "insufficient_data",
                message=f"{metric} is undefined here (one class only, or no probabilities)",
                evidence={"n": n},
            )
        value = float(value)
        verdict, threshold = bounds_outcome(value, lo, hi)
        return CheckOutcome(
            verdict,
            value=value,
            threshold=threshold,
            message=f"{metric} {value:.4g} on {n} rows",
            evidence={"n": n, "metric": metric},
        )


register_check(MetricCheck())
