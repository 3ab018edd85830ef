"""From a prediction-log window to the two samples a rollout step compares.

The rollout revision routes the candidate as ``canary`` and the primary as ``primary``,
with the primary version as ``fallback``. A route's errors are:

- its **logged failed requests** (``WindowData.failures`` with that ``route``: every
  status the server logs, 4xx and 5xx). The comparison is relative, so the callers' own
  bad inputs, spread over both routes by the weights, cancel out; a candidate that refuses
  input the primary takes (a changed signature: 422) or fails without rescue (503) is
  worse, and is caught;
- for the candidate, also the requests **answered by the fallback** (``route =
  "fallback"``): the candidate raised or missed its deadline and the primary answered, so
  the client saw no error and no failure is logged. That attribution is conservative: a
  primary failure rescued by the fallback counts against the candidate too (for a
  deterministic model the retry fails as well and is logged as the primary's failure).

A request that failed before a route was chosen (``route`` null: malformed body, feature
lookup) counts for neither route.
"""

from __future__ import annotations

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from conveyor.deployments.rollout_analysis import RouteSample
from conveyor.monitoring.business import ValueMatrix
from conveyor.monitoring.windows import WindowData

__all__ = ["CANDIDATE_ROUTE", "PRIMARY_ROUTE", "route_samples"]

CANDIDATE_ROUTE = "canary"
PRIMARY_ROUTE = "primary"
_FALLBACK_ROUTE = "fallback"


def _column(table: pa.Table, name: str) -> np.ndarray:
    return np.asarray(table.column(name).to_numpy(zero_copy_only=False))


def _outputs(table: pa.Table) -> np.ndarray:
    nums = table.column("output_num")
    if table.num_rows and nums.null_count == 0:
        return _column(table, "output_num").astype(np.float64)
    return _column(table, "output").astype(str)


def _regression(*tables: pa.Table) -> bool:
    nums = [t.column("output_num") for t in tables if t.num_rows]
    if not nums or any(c.null_count for c in nums):
        return False
    values = np.concatenate([np.asarray(c.to_numpy(zero_copy_only=False)) for c in nums])
    return len(np.unique(values)) > 20


def _scores(table: pa.Table, regression: bool) -> np.ndarray | None:
    labelled = table.filter(pc.is_valid(table.column("label")))
    if labelled.num_rows == 0:
        return None
    out_num, lab_num = labelled.column("output_num"), labelled.column("label_num")
    if regression:
        both = pc.and_(pc.is_valid(out_num), pc.is_valid(lab_num))
        sub = labelled.filter(both)
        err = _column(sub, "output_num").astype(float) - _column(sub, "label_num").astype(float)
        return -np.abs(err)
    numeric = pc.and_(pc.is_valid(out_num), pc.is_valid(lab_num))
    same_num = pc.equal(out_num, lab_num)
    same_text = pc.equal(labelled.column("output"), labelled.column("label"))
    same = pc.if_else(numeric, same_num, same_text)
    return np.asarray(pc.fill_null(same, False).to_numpy(zero_copy_only=False), dtype=np.float64)


def _values(table: pa.Table, matrix: ValueMatrix | None) -> np.ndarray | None:
    """The matrix's value of each labelled prediction (tp/tn/fp/fn)."""
    if matrix is None:
        return None
    labelled = table.filter(pc.is_valid(table.column("label")))
    if labelled.num_rows == 0:
        return None
    outputs = [orjson.loads(v) for v in labelled.column("output").to_pylist()]
    labels = [orjson.loads(v) for v in labelled.column("label").to_pylist()]
    acted = matrix.is_positive(outputs)
    truth = np.fromiter((v == matrix.positive for v in labels), dtype=bool, count=len(labels))
    return np.select(
        [acted & truth, acted & ~truth, ~acted & truth],
        [matrix.tp, matrix.fp, matrix.fn],
        default=matrix.tn,
    ).astype(np.float64)


def _sample(
    table: pa.Table,
    failed: int,
    rescued: int,
    regression: bool,
    matrix: ValueMatrix | None,
) -> RouteSample:
    return RouteSample(
        requests=table.num_rows + failed + rescued,
        errors=failed + rescued,
        latency_ms=_column(table, "latency_ms").astype(np.float64),
        outputs=_outputs(table),
        correct=_scores(table, regression),
        score="negative absolute error" if regression else "accuracy",
        value=_values(table, matrix),
    )


def _route(table: pa.Table, route: str) -> pa.Table:
    if table.num_rows == 0:
        return table
    return table.filter(pc.equal(table.column("route"), route))


def _failed(failures: pa.Table | None, route: str) -> int:
    """Logged failed requests of ``route`` (0 when the log records none)."""
    return 0 if failures is None else _route(failures, route).num_rows


def route_samples(
    data: WindowData, value_matrix: ValueMatrix | None = None
) -> tuple[RouteSample, RouteSample]:
    """``(candidate, primary)`` samples of a step window (shadow rows are not in it);
    with a ``value_matrix``, each labelled prediction's business value too."""
    table = data.table
    cand, prim = _route(table, CANDIDATE_ROUTE), _route(table, PRIMARY_ROUTE)
    rescued = _route(table, _FALLBACK_ROUTE).num_rows
    regression = _regression(cand, prim)
    return (
        _sample(cand, _failed(data.failures, CANDIDATE_ROUTE), rescued, regression, value_matrix),
        _sample(prim, _failed(data.failures, PRIMARY_ROUTE), 0, regression, value_matrix),
    )
