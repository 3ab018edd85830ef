"""Run a model's gate policy on one version and store the report.

::

    report = run_gates(backend, "churn", 4)      # scores, checks, stores, audits
    report.passed, report.failed_checks

Checks run one after another on a shared :class:`GateContext` (each version is scored once).
A check that raises becomes verdict ``error`` with the exception in its message; with
``on_error: fail`` (the default) it fails the gate — fail closed. Loading the evaluation data
or the candidate failing is an error of every check, so the stored report says why.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from conveyor._schema import Name, VersionNumber
from conveyor._util import new_id, now_ms
from conveyor.errors import ConveyorError
from conveyor.gates import service
from conveyor.gates._registry import get_check
from conveyor.gates.columns import label_column
from conveyor.gates.context import GateContext
from conveyor.gates.policy import CheckSpec
from conveyor.gates.report import CheckOutcome, CheckResult, GateReport
from conveyor.store.stores import Stores

__all__ = ["run_gates"]

log = logging.getLogger(__name__)


def _result(spec: CheckSpec, outcome: CheckOutcome, duration: float) -> CheckResult:
    if outcome.verdict == "pass":
        passed = True
    elif outcome.verdict == "error":
        passed = spec.on_error == "pass"
    elif outcome.verdict == "insufficient_data":
        passed = spec.on_insufficient == "pass"
    else:
        passed = False
    return CheckResult(
        name=spec.name,
        kind=spec.kind,
        verdict=outcome.verdict,
        passed=passed,
        value=outcome.value,
        threshold=outcome.threshold,
        message=outcome.message,
        evidence=outcome.evidence,
        on_error=spec.on_error,
        on_insufficient=spec.on_insufficient,
        duration_s=round(duration, 4),
    )


def _run_one(ctx: GateContext | None, spec: CheckSpec, setup_error: str | None) -> CheckResult:
    start = time.perf_counter()
    if ctx is None:
        outcome = CheckOutcome("error", message=f"gate setup failed: {setup_error}")
    else:
        try:
            outcome = get_check(spec.kind).run(ctx, spec.params)
            if not isinstance(outcome, CheckOutcome):
                raise TypeError(f"check returned {type(outcome).__name__}, not CheckOutcome")
        except Exception as exc:  # a crashing check is a verdict, not a crash of the gate
            log.warning("gate check %s raised", spec.name, exc_info=True)
            text = exc.message if isinstance(exc, ConveyorError) else f"{type(exc).__name__}: {exc}"
            outcome = CheckOutcome("error", message=text)
    return _result(spec, outcome, time.perf_counter() - start)


def run_gates(stores: Stores, model: Name, version: VersionNumber) -> GateReport:
    """Score ``model/version`` on its policy's evaluation dataset, run every check, store
    and audit the report. NotFound for an unknown model/version or a model without policy.

    ``stores`` is anything with ``meta``, ``artifacts``, ``actor`` and ``download_blob``
    (:class:`conveyor.store.stores.Stores`, or a ``LocalBackend``)."""
    backend: Any = stores
    from conveyor.data import service as data
    from conveyor.registry import service as registry

    started = time.perf_counter()
    with backend.meta.read() as conn:
        mv = registry.get_model_version(conn, model, version)
        stored = service.get_policy(conn, model)
    policy = stored.policy
    ctx: GateContext | None = None
    setup_error = None
    datasets: dict[str, Any] = {"evaluation": policy.evaluation_dataset}
    try:
        with backend.meta.read() as conn:
            dv = data.get_dataset_version(conn, policy.dataset_name, policy.dataset_ref)
        datasets["evaluation"] = dv.uri
        frame = data.load_dataset_version(backend.artifacts, dv, as_pandas=True)
        inputs = [c["name"] for c in (mv.signature or {}).get("inputs") or [] if c.get("name")]
        label = label_column(policy.label, list(frame.columns), inputs, dv.uri)
        ctx = GateContext(backend, mv, policy, stored.version, dv, frame, label)
        ctx.candidate  # noqa: B018  (score once up front; a failure is every check's error)
    except ConveyorError as exc:
        setup_error = exc.message
        ctx = None
    except Exception as exc:  # fail closed with the reason stored
        log.warning("gate setup for %s/%s failed", model, mv.version, exc_info=True)
        setup_error = f"{type(exc).__name__}: {exc}"
        ctx = None
    results = [_run_one(ctx, spec, setup_error) for spec in policy.checks]
    if ctx is not None:
        datasets["label"] = ctx.label
        datasets["rows"] = len(ctx.frame)
    report = GateReport(
        id=new_id(),
        model=mv.name,
        version=mv.version,
        policy_version=stored.version,
        passed=all(r.passed for r in results),
        checks=results,
        datasets=datasets,
        champion=(ctx.champions.get("champion") if ctx is not None else None),
        created_by=backend.actor.name,
        created_at=now_ms(),
        duration_s=round(time.perf_counter() - started, 3),
    )
    with backend.meta.write(backend.actor) as uow:
        return service.record_report(uow, report)
