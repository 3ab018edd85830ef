"""``slices``: the metric on each declared slice against the metric overall.

::

    - slices:
        metric: accuracy
        by: [region, {column: age, bins: [0, 30, 50, 120]}]
        max_gap: 0.05            # worst slice may be at most this much worse than overall
        min_size: 30             # smaller slices: reported as insufficient, not judged

A slice is one value of a column, or one numeric bin ``[lo, hi)`` (the last bin closed).
The gap is ``direction · (overall - slice)``; the worst slice (largest gap) decides.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from conveyor.gates._registry import Check, register_check
from conveyor.gates.checks import _params as p
from conveyor.gates.context import GateContext
from conveyor.gates.policy import param_error
from conveyor.gates.report import CheckOutcome
from conveyor.gates.stats import direction, weighted_metric

__all__ = ["Slices"]


def _slice_spec(item: Any, i: int) -> dict[str, Any]:
    if isinstance(item, str):
        return {"column": item, "bins": None}
    if not isinstance(item, dict) or not isinstance(item.get("column"), str):
        raise param_error(f"by[{i}]", f"must be a column name or {{column:, bins:}}, got {item!r}")
    p.known_keys(item, {"column", "bins"})
    bins = item.get("bins")
    if bins is not None and (
        not isinstance(bins, list)
        or len(bins) < 2
        or not all(isinstance(b, int | float) and not isinstance(b, bool) for b in bins)
        or any(b >= c for b, c in itertools.pairwise(bins))
    ):
        raise param_error(f"by[{i}].bins", f"must be 2+ increasing numbers, got {bins!r}")
    return {"column": item["column"], "bins": [float(b) for b in bins] if bins else None}


def _masks(frame: pd.DataFrame, spec: dict[str, Any]) -> list[tuple[str, np.ndarray]]:
    col = frame[spec["column"]]
    if spec["bins"] is None:
        codes, uniques = pd.factorize(col, use_na_sentinel=False)
        return [(f"{spec['column']}={u}", codes == j) for j, u in enumerate(uniques)]
    x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)
    edges = spec["bins"]
    out = []
    for j, (lo, hi) in enumerate(itertools.pairwise(edges)):
        last = j == len(edges) - 2
        mask = (x >= lo) & ((x <= hi) if last else (x < hi))
        out.append((f"{spec['column']} in [{lo:g}, {hi:g}{']' if last else ')'}", mask))
    return out


class Slices(Check):
    name = "slices"

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        p.known_keys(params, {"metric", "by", "max_gap", "min_size", "direction"})
        by = params.get("by")
        if not isinstance(by, list) or not by:
            raise param_error("by", f"must list columns or {{column:, bins:}}, got {by!r}")
        gap = p.number(params, "max_gap", lo=0.0)
        if gap is None:
            raise param_error("max_gap", "is required: how much worse than overall a slice may be")
        return {
            "metric": p.metric_name(params),
            "by": [_slice_spec(item, i) for i, item in enumerate(by)],
            "max_gap": gap,
            "min_size": p.positive_int(params, "min_size", 30),
            "direction": p.choice(params, "direction", ("higher", "lower"), None),
        }

    def describe(self, params: dict[str, Any]) -> str:
        return f"slices:{params['metric']}"

    def columns(self, params: dict[str, Any]) -> list[tuple[str, str]]:
        return [(f"by[{i}]", s["column"]) for i, s in enumerate(params["by"])]

    def run(self, ctx: GateContext, params: dict[str, Any]) -> CheckOutcome:
        s = ctx.candidate
        metric, sign = params["metric"], direction(params["metric"], params["direction"])
        fn = weighted_metric(metric, s)
        n = len(s.y_true)
        overall = float(fn(np.ones((1, n)))[0])
        rows: list[dict[str, Any]] = []
        for spec in params["by"]:
            for name, mask in _masks(ctx.frame, spec):
                size = int(mask.sum())
                value = float(fn(mask[None, :].astype(np.float64))[0]) if size else float("nan")
                ok = size >= params["min_size"] and value == value
                rows.append(
                    {
                        "slice": name,
                        "size": size,
                        metric: value if value == value else None,
                        "gap": sign * (overall - value) if ok else None,
                        "status": "ok" if ok else "insufficient",
                    }
                )
        judged = [r for r in rows if r["status"] == "ok"]
        evidence = {"overall": overall, "n": n, "slices": rows}
        if not judged:
            return CheckOutcome(
                "insufficient_data",
                message=f"no slice has {params['min_size']}+ rows with a defined {metric}",
                evidence=evidence,
            )
        worst = max(judged, key=lambda r: r["gap"])
        verdict = "pass" if worst["gap"] <= params["max_gap"] else "fail"
        return CheckOutcome(
            verdict,
            value=worst["gap"],
            threshold=f"gap <= {params['max_gap']:g}",
            message=f"worst slice {worst['slice']} ({worst['size']} rows): {metric} "
            f"{worst[metric]:.4g} vs {overall:.4g} overall",
            evidence=evidence,
        )


register_check(Slices())
