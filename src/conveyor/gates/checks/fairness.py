"""``fairness``: per-group rates over declared sensitive columns, Fairlearn's definitions.

::

    - fairness:
        sensitive: [gender, region]
        demographic_parity_ratio: {min: 0.8}       # default 0.8: the four-fifths rule
        equalized_odds_difference: {max: 0.1}      # default 0.1
        min_group_size: 30                         # smaller groups: reported, not used
        resamples: 1000                            # bootstrap intervals (evidence); 0: none

For each sensitive column (``intersectional: true`` adds the combination of all of them),
each group gets its size, selection rate P(ŷ=1), true-positive rate P(ŷ=1 | y=1),
false-positive rate P(ŷ=1 | y=0) and accuracy. Then, exactly as Fairlearn's
``demographic_parity_ratio`` and ``equalized_odds_difference`` (``method="between_groups"``,
``agg="worst_case"``): the ratio is min/max of the selection rates, the difference is the
larger of the TPR spread and the FPR spread (max - min). The check reports the worst column.
Groups below ``min_group_size`` rows are listed as insufficient and left out of the ratio and
difference — never merged into another group; fewer than two usable groups → insufficient.
The verdict is on the point values; ``resamples`` adds 95% percentile-bootstrap intervals of
both numbers to the evidence (one pass over the resamples for every column at once).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from conveyor.gates._registry import Check, register_check
from conveyor.gates.checks import _params as p
from conveyor.gates.context import GateContext, Scored
from conveyor.gates.policy import param_error
from conveyor.gates.report import CheckOutcome
from conveyor.gates.stats import bootstrap_weights, single_threaded_blas

__all__ = ["Fairness", "group_table", "parity_numbers"]


def _bound(params: dict[str, Any], key: str, side: str, default: float) -> float:
    value = params.get(key, default)
    if isinstance(value, dict):
        p.known_keys(value, {side})
        value = value.get(side, default)
    out = p.number({key: value}, key, lo=0.0)
    assert out is not None
    return out


def _group_keys(frame: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, list[str]]:
    if len(columns) == 1:
        codes, uniques = pd.factorize(frame[columns[0]], use_na_sentinel=False)
        return codes, [str(u) for u in uniques]
    codes, uniques = pd.MultiIndex.from_frame(frame[columns].astype(object)).factorize()
    return codes, [" & ".join(str(v) for v in u) for u in uniques]


def group_table(
    codes: np.ndarray, names: list[str], y: np.ndarray, pred: np.ndarray
) -> list[dict[str, Any]]:
    """Size, selection rate, TPR, FPR and accuracy per group (None where undefined)."""
    k = len(names)
    size = np.bincount(codes, minlength=k).astype(np.float64)
    pos = np.bincount(codes, weights=y, minlength=k)
    sel = np.bincount(codes, weights=pred, minlength=k)
    tp = np.bincount(codes, weights=pred * y, minlength=k)
    fp = sel - tp
    neg = size - pos
    correct = tp + (neg - fp)

    def rate(num: np.ndarray, den: np.ndarray, i: int) -> float | None:
        return float(num[i] / den[i]) if den[i] > 0 else None

    return [
        {
            "group": names[i],
            "size": int(size[i]),
            "selection_rate": rate(sel, size, i),
            "tpr": rate(tp, pos, i),
            "fpr": rate(fp, neg, i),
            "accuracy": rate(correct, size, i),
            "positives": int(pos[i]),
        }
        for i in range(k)
    ]


def _interval_numbers(
    sets: list[tuple[str, np.ndarray, list[bool]]],
    y: np.ndarray,
    pred: np.ndarray,
    resamples: int,
    seed: int,
) -> dict[str, dict[str, list[float] | None]]:
    """Percentile-bootstrap 95% intervals of the ratio and the difference per column set.

    Per resample, every group's four sums (rows, positives, selected, true positives) come
    from one matrix product of the resample weights with the groups' indicator columns.
    """
    blocks: list[np.ndarray] = []
    spans: list[tuple[int, int]] = []
    for _, codes, usable in sets:
        k = len(usable)
        onehot = np.zeros((len(codes), k))
        onehot[np.arange(len(codes)), codes] = 1.0
        start = sum(b.shape[1] for b in blocks)
        blocks.append(
            np.hstack(
                [onehot, onehot * y[:, None], onehot * pred[:, None], onehot * (pred * y)[:, None]]
            )
        )
        spans.append((start, k))
    design = np.hstack(blocks)
    design32 = design.astype(np.float32)  # exact: 0/1 indicators, sums of counts < 2**24
    with single_threaded_blas():
        sums = np.vstack([w @ design32 for w in bootstrap_weights(len(y), resamples, seed)]).astype(
            np.float64
        )
    out: dict[str, dict[str, list[float] | None]] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for (key, _, usable), (start, k) in zip(sets, spans, strict=True):
            size, pos, sel, tp = (sums[:, start + j * k : start + (j + 1) * k] for j in range(4))
            keep = np.asarray(usable)
            size, pos, sel, tp = size[:, keep], pos[:, keep], sel[:, keep], tp[:, keep]
            rate = sel / size
            ratio = np.nanmin(rate, axis=1) / np.nanmax(rate, axis=1)
            tpr, fpr = tp / pos, (sel - tp) / (size - pos)
            eod = np.maximum(
                np.nanmax(tpr, axis=1) - np.nanmin(tpr, axis=1),
                np.nanmax(fpr, axis=1) - np.nanmin(fpr, axis=1),
            )
            out[key] = {
                "demographic_parity_ratio": _pct(ratio),
                "equalized_odds_difference": _pct(eod),
            }
    return out


def _pct(values: np.ndarray) -> list[float] | None:
    finite = values[np.isfinite(values)]
    return [float(v) for v in np.quantile(finite, [0.025, 0.975])] if len(finite) else None


def _spread(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return max(vals) - min(vals) if len(vals) >= 2 else None


def parity_numbers(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    """Demographic-parity ratio and equalized-odds difference over the given groups."""
    rates = [r["selection_rate"] for r in rows if r["selection_rate"] is not None]
    ratio = None
    if len(rates) >= 2 and max(rates) > 0:
        ratio = min(rates) / max(rates)
    tpr, fpr = _spread([r["tpr"] for r in rows]), _spread([r["fpr"] for r in rows])
    eod = None if tpr is None or fpr is None else max(tpr, fpr)
    return {"demographic_parity_ratio": ratio, "equalized_odds_difference": eod}


class Fairness(Check):
    name = "fairness"

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        p.known_keys(
            params,
            {
                "sensitive",
                "demographic_parity_ratio",
                "equalized_odds_difference",
                "min_group_size",
                "intersectional",
                "resamples",
            },
        )
        intersectional = params.get("intersectional", False)
        if not isinstance(intersectional, bool):
            raise param_error("intersectional", f"must be true or false, got {intersectional!r}")
        return {
            "sensitive": p.columns(params, "sensitive"),
            "demographic_parity_ratio": _bound(params, "demographic_parity_ratio", "min", 0.8),
            "equalized_odds_difference": _bound(params, "equalized_odds_difference", "max", 0.1),
            "min_group_size": p.positive_int(params, "min_group_size", 30),
            "intersectional": intersectional,
            "resamples": 0
            if params.get("resamples") == 0
            else p.positive_int(params, "resamples", 1000),
        }

    def describe(self, params: dict[str, Any]) -> str:
        return "fairness:" + ",".join(params["sensitive"])

    def columns(self, params: dict[str, Any]) -> list[tuple[str, str]]:
        return [(f"sensitive[{i}]", c) for i, c in enumerate(params["sensitive"])]

    def run(self, ctx: GateContext, params: dict[str, Any]) -> CheckOutcome:
        s: Scored = ctx.candidate
        if not s.is_binary:
            return CheckOutcome(
                "error", message="fairness rates need a binary classifier (a positive class)"
            )
        y, pred = s.y_bin.astype(np.float64), s.pred_bin.astype(np.float64)
        sets = [[c] for c in params["sensitive"]]
        if params["intersectional"] and len(params["sensitive"]) > 1:
            sets.append(list(params["sensitive"]))
        min_dp, max_eo = params["demographic_parity_ratio"], params["equalized_odds_difference"]
        evidence: dict[str, Any] = {"min_group_size": params["min_group_size"]}
        per_column: dict[str, dict[str, float | None]] = {}
        grouped: list[tuple[str, np.ndarray, list[bool]]] = []
        for cols in sets:
            key = " & ".join(cols)
            codes, names = _group_keys(ctx.frame, cols)
            rows = group_table(codes, names, y, pred)
            for r in rows:
                r["status"] = "ok" if r["size"] >= params["min_group_size"] else "insufficient"
            per_column[key] = parity_numbers([r for r in rows if r["status"] == "ok"])
            evidence[f"groups:{key}"] = rows
            grouped.append((key, codes, [r["status"] == "ok" for r in rows]))
        evidence["by_column"] = per_column
        if params["resamples"] and all(None not in n.values() for n in per_column.values()):
            evidence["intervals"] = _interval_numbers(
                grouped, y, pred, params["resamples"], ctx.seed
            )
            evidence["resamples"] = params["resamples"]
        threshold = {
            "demographic_parity_ratio": f">= {min_dp:g}",
            "equalized_odds_difference": f"<= {max_eo:g}",
        }
        missing = [c for c, n in per_column.items() if None in n.values()]
        if missing:
            return CheckOutcome(
                "insufficient_data",
                threshold=threshold,
                message=f"fewer than two groups of >= {params['min_group_size']} rows "
                f"(with both classes) in {', '.join(missing)}",
                evidence=evidence,
            )
        dp_col = min(per_column, key=lambda c: per_column[c]["demographic_parity_ratio"] or 0.0)
        eo_col = max(per_column, key=lambda c: per_column[c]["equalized_odds_difference"] or 0.0)
        dp_worst = float(per_column[dp_col]["demographic_parity_ratio"] or 0.0)
        eo_worst = float(per_column[eo_col]["equalized_odds_difference"] or 0.0)
        value = {"demographic_parity_ratio": dp_worst, "equalized_odds_difference": eo_worst}
        problems = []
        if dp_worst < min_dp:
            problems.append(f"demographic parity ratio {dp_worst:.3f} < {min_dp:g} on {dp_col}")
        if eo_worst > max_eo:
            problems.append(f"equalized odds difference {eo_worst:.3f} > {max_eo:g} on {eo_col}")
        return CheckOutcome(
            "fail" if problems else "pass",
            value=value,
            threshold=threshold,
            message="; ".join(problems)
            or f"parity ratio {dp_worst:.3f} ({dp_col}), odds difference {eo_worst:.3f} ({eo_col})",
            evidence=evidence,
        )


register_check(Fairness())
