"""``data``: the training and evaluation dataset versions passed their data checks.

::

    - data: {}                       # or: - data: {require_checks: true}

Training datasets are the dataset versions linked to the version's source run with context
``training``, or ``pipeline-input`` when the version is a model a pipeline step returned
(the step's input frames are what it was trained on). A version whose checks failed
fails the gate; one without checks passes unless ``require_checks: true``; a model
version with no linked training data is insufficient (fail closed) unless
``require_training_data: false``.
"""

from __future__ import annotations

from typing import Any

from conveyor.gates._registry import Check, register_check
from conveyor.gates.checks import _params as p
from conveyor.gates.context import GateContext
from conveyor.gates.policy import param_error
from conveyor.gates.report import CheckOutcome

__all__ = ["TRAINING_CONTEXTS", "DataChecks"]

#: run-input contexts that mean "trained on": logged by hand, or a pipeline step's inputs
TRAINING_CONTEXTS = ("training", "pipeline-input")


def _flag(params: dict[str, Any], key: str, default: bool) -> bool:
    value = params.get(key, default)
    if not isinstance(value, bool):
        raise param_error(key, f"must be true or false, got {value!r}")
    return value


class DataChecks(Check):
    name = "data"

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        params.pop("data", None)
        p.known_keys(params, {"require_checks", "require_training_data"})
        return {
            "require_checks": _flag(params, "require_checks", False),
            "require_training_data": _flag(params, "require_training_data", True),
        }

    def run(self, ctx: GateContext, params: dict[str, Any]) -> CheckOutcome:
        from conveyor.data import service as data

        versions = [("evaluation", ctx.dataset)]
        with ctx.backend.meta.read() as conn:
            if ctx.version.run_id is not None:
                for link in data.list_run_inputs(conn, ctx.version.run_id):
                    if link.context in TRAINING_CONTEXTS:
                        dv = data.get_dataset_version_by_id(conn, link.dataset_version_id)
                        versions.append(("training", dv))
        rows: list[dict[str, Any]] = []
        for role, dv in versions:
            passed = dv.checks_passed
            status = "no checks" if passed is None else "passed" if passed else "failed"
            rows.append({"role": role, "dataset": dv.uri, "rows": dv.num_rows, "checks": status})
        evidence = {"datasets": rows}
        failed = [r["dataset"] for r in rows if r["checks"] == "failed"]
        unchecked = [r["dataset"] for r in rows if r["checks"] == "no checks"]
        if failed:
            return CheckOutcome(
                "fail",
                value=len(failed),
                threshold="0 failed",
                message=f"data checks failed on {', '.join(failed)}",
                evidence=evidence,
            )
        if params["require_checks"] and unchecked:
            return CheckOutcome(
                "fail",
                value=len(unchecked),
                threshold="every dataset checked",
                message=f"no data checks ran on {', '.join(unchecked)}",
                evidence=evidence,
            )
        if params["require_training_data"] and len(versions) == 1:
            return CheckOutcome(
                "insufficient_data",
                message=f"{ctx.version.name}/{ctx.version.version} has no training dataset "
                "linked to its run (log it with conveyor.log_dataset(..., context='training'))",
                evidence=evidence,
            )
        return CheckOutcome(
            "pass",
            value=0,
            threshold="0 failed",
            message=f"{len(versions)} dataset versions, none failed",
            evidence=evidence,
        )


register_check(DataChecks())
