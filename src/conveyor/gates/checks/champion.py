"""``versus_champion``: the candidate is not worse than the champion by more than a margin,
with the stated confidence, on the same evaluation rows.

::

    - versus_champion: {metric: auc, max_drop: 0.01, confidence: 0.95}
    - versus_champion: {metric: rmse, max_relative_drop: 0.02}      # 2% of the champion's
    - versus_champion: {metric: accuracy, method: mcnemar}

``improvement = direction · (candidate - champion)`` (direction +1 when higher is better).
The check passes when the one-sided lower confidence bound of the improvement is above
``-margin``: with the paired bootstrap (default, ``resamples`` draws of the rows, the same
draws for both models), that bound is the ``1 - confidence`` quantile of the resampled
improvements; with ``method: mcnemar`` (accuracy only) it is the normal bound on the paired
difference of proportions from the discordant pairs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from conveyor.gates._registry import Check, register_check
from conveyor.gates.checks import _params as p
from conveyor.gates.context import GateContext
from conveyor.gates.policy import param_error
from conveyor.gates.report import CheckOutcome
from conveyor.gates.stats import (
    _correct,
    direction,
    mcnemar_interval,
    paired_bootstrap,
    weighted_metric,
)

__all__ = ["VersusChampion"]


class VersusChampion(Check):
    name = "versus_champion"

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        p.known_keys(
            params,
            {
                "metric",
                "max_drop",
                "max_relative_drop",
                "confidence",
                "method",
                "resamples",
                "direction",
                "champion",
                "if_no_champion",
                "min_rows",
            },
        )
        metric = p.metric_name(params)
        absolute = p.number(params, "max_drop", lo=0.0)
        relative = p.number(params, "max_relative_drop", lo=0.0, hi=1.0)
        if absolute is not None and relative is not None:
            raise param_error("max_relative_drop", "give max_drop or max_relative_drop, not both")
        method = p.choice(params, "method", ("bootstrap", "mcnemar"), "bootstrap")
        if method == "mcnemar" and metric != "accuracy":
            raise param_error("method", f"mcnemar compares accuracy, not {metric}; use bootstrap")
        alias = params.get("champion", "champion")
        if not isinstance(alias, str) or not alias:
            raise param_error("champion", f"must be an alias name, got {alias!r}")
        return {
            "metric": metric,
            "max_drop": absolute if absolute is not None or relative is not None else 0.0,
            "max_relative_drop": relative,
            "confidence": p.number(params, "confidence", 0.95, lo=0.5, hi=0.9999),
            "method": method,
            "resamples": p.positive_int(params, "resamples", 1000),
            "direction": p.choice(params, "direction", ("higher", "lower"), None),
            "champion": alias,
            "if_no_champion": p.choice(params, "if_no_champion", ("pass", "fail"), "pass"),
            "min_rows": p.positive_int(params, "min_rows", 100),
        }

    def describe(self, params: dict[str, Any]) -> str:
        return f"versus_champion:{params['metric']}"

    def run(self, ctx: GateContext, params: dict[str, Any]) -> CheckOutcome:
        metric = params["metric"]
        champion = ctx.champion_for(params["champion"])
        if champion is None:
            verdict = params["if_no_champion"]
            return CheckOutcome(
                verdict,
                message=f"no {params['champion']} to compare with ({verdict} by if_no_champion)",
            )
        cand = ctx.candidate
        n = len(cand.y_true)
        if n < params["min_rows"]:
            return CheckOutcome(
                "insufficient_data",
                message=f"{n} evaluation rows, fewer than min_rows={params['min_rows']}",
                evidence={"n": n},
            )
        sign = direction(metric, params["direction"])
        conf = params["confidence"]
        cand_m, champ_m = weighted_metric(metric, cand), weighted_metric(metric, champion)
        ones = np.ones((1, n))
        cand_v, champ_v = float(cand_m(ones)[0]), float(champ_m(ones)[0])
        margin = params["max_drop"]
        if params["max_relative_drop"] is not None:
            margin = params["max_relative_drop"] * abs(champ_v)
        evidence: dict[str, Any] = {
            "n": n,
            "candidate": cand_v,
            "champion": champ_v,
            "champion_version": champion.version.version,
            "direction": "higher" if sign > 0 else "lower",
            "margin": margin,
            "confidence": conf,
            "method": params["method"],
        }
        if params["method"] == "mcnemar":
            mc = mcnemar_interval(_correct(cand), _correct(champion), conf)
            lower, interval = mc["lower_one_sided"], mc["interval"]
            evidence.update(mc)
        else:
            cand_b, champ_b = paired_bootstrap(
                cand_m, champ_m, n, resamples=params["resamples"], seed=ctx.seed
            )
            improvement = sign * (cand_b - champ_b)
            valid = improvement[np.isfinite(improvement)]
            if len(valid) < 0.99 * len(improvement):
                return CheckOutcome(
                    "insufficient_data",
                    message=f"{metric} is undefined on {len(improvement) - len(valid)} of "
                    f"{len(improvement)} resamples (too few rows of a class)",
                    evidence=evidence,
                )
            lower = float(np.quantile(valid, 1 - conf))
            interval = [
                float(np.quantile(valid, (1 - conf) / 2)),
                float(np.quantile(valid, (1 + conf) / 2)),
            ]
            evidence.update(
                {"resamples": len(valid), "lower_one_sided": lower, "interval": interval}
            )
        verdict = "pass" if lower > -margin else "fail"
        return CheckOutcome(
            verdict,
            value=sign * (cand_v - champ_v),
            threshold=f"lower {conf:.0%} bound > -{margin:.4g}",
            message=(
                f"{metric} {cand_v:.4g} vs champion v{champion.version.version} {champ_v:.4g}; "
                f"improvement ≥ {lower:+.4g} with {conf:.0%} confidence"
            ),
            evidence=evidence,
        )


register_check(VersusChampion())
