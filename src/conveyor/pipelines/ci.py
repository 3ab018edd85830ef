"""CI: run a pipeline, gate the model version it produced, optionally start its rollout.

``conveyor ci run flows:retrain --policy gates.yaml --model churn --rollout churn-api``
is :func:`run_ci`: the pipeline runs (engine, cache and all), the version it produced is
found — a version its steps registered during this run, or else the model its last
model-returning step output, registered as ``--model`` — the policy file is set when it
differs from the model's current one, the gates run, and when they pass a rollout of the
version starts on the endpoint (superseding a running one). The result is a
:class:`CiResult` whose ``exit_code`` is 0 (passed), 1 (a gate failed or the pipeline
failed); its dict is the JSON report.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from conveyor._util import now_ms
from conveyor.errors import NotFound, ValidationFailed
from conveyor.lineage.edges import record_edge
from conveyor.pipelines.service import PipelineRun
from conveyor.pipelines.steps import Pipeline

__all__ = ["CiResult", "produced_version", "run_ci", "write_report"]


@dataclass
class CiResult:
    """What one CI run did; ``stage`` is where it stopped (``pipeline``, ``gates``,
    ``rollout`` or ``done``)."""

    pipeline_run: PipelineRun
    stage: str
    model: str | None = None
    version: int | None = None
    registered_by_ci: bool = False
    policy_version: int | None = None
    gates: dict[str, Any] | None = None
    rollout: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.stage == "done"

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    def to_dict(self) -> dict[str, Any]:
        run = self.pipeline_run
        return {
            "passed": self.passed,
            "exit_code": self.exit_code,
            "stage": self.stage,
            "pipeline": {
                "id": run.id,
                "target": run.target,
                "status": run.status,
                "error": run.error,
                "params": run.params,
            },
            "model": self.model,
            "version": self.version,
            "registered_by_ci": self.registered_by_ci,
            "policy_version": self.policy_version,
            "gates": self.gates,
            "failed_checks": (self.gates or {}).get("failed_checks", []),
            "rollout": self.rollout,
            "notes": self.notes,
        }


def _model_outputs(desc: dict[str, Any] | None) -> list[str]:
    """The ``runs:/`` URIs of the models in a step's stored outputs (tuples included)."""
    if not desc:
        return []
    if desc.get("kind") == "model":
        return [desc["uri"]]
    return [uri for item in desc.get("items", []) for uri in _model_outputs(item)]


def produced_version(backend: Any, run: PipelineRun, model: str | None) -> tuple[str, int, bool]:
    """``(model, version, registered_by_ci)`` of the version ``run`` produced.

    First a version registered during the run from the pipeline's or a step's tracked run
    (newest, of ``model`` when given), or with ``model`` any version of it created while
    the run ran; else, with ``model``, the last model a step returned is registered under
    it; else NotFound saying what to do."""
    from conveyor.store.tables import model_versions, models

    run_ids = {run.id} | {s.run_id for s in run.steps if s.run_id and s.cache == "miss"}
    during = (
        sa.select(models.c.name, model_versions.c.version)
        .join(models, models.c.id == model_versions.c.model_id)
        .where(model_versions.c.created_at >= run.created_at)
        .order_by(model_versions.c.created_at.desc(), model_versions.c.version.desc())
        .limit(1)
    )
    ours = during.where(model_versions.c.run_id.in_(sorted(run_ids)))
    with backend.meta.read() as conn:
        if model is None:
            row = conn.execute(ours).first()
        else:
            # a step that registers through log_model(..., registered_model_name=) logs to
            # a run of its own: a version of ``model`` created while the pipeline ran counts
            row = (
                conn.execute(ours.where(models.c.name == model)).first()
                or conn.execute(
                    during.where(models.c.name == model).where(
                        model_versions.c.created_at <= (run.ended_at or now_ms())
                    )
                ).first()
            )
    if row is not None:
        return row.name, int(row.version), False
    uris = [uri for s in run.steps for uri in _model_outputs(s.outputs)]
    if model is None:
        raise NotFound(
            f"pipeline run {run.id} registered no model version; register one in a step "
            "or pass --model NAME to register the model its last step returned",
            details={"pipeline_run": run.id},
        )
    if not uris:
        raise NotFound(
            f"pipeline run {run.id} registered no version of {model!r} and no step "
            "returned a model to register",
            details={"pipeline_run": run.id, "model": model},
        )
    mv = backend.register_model(model_uri=uris[-1], name=model)
    return mv.name, int(mv.version), True


def _policy(backend: Any, model: str, path: Path) -> int:
    """Set the policy file on ``model`` unless it is already the current policy's text;
    the current policy version."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationFailed(f"cannot read the policy file {str(path)!r}: {exc}") from None
    try:
        current = backend.get_gate_policy(model)
    except NotFound:
        current = None
    if current is not None and current.source == text:
        return int(current.version)
    return int(backend.set_gate_policy(model, text, source=path.name).version)


def run_ci(
    backend: Any,
    target: str | Pipeline,
    *,
    params: dict[str, Any] | None = None,
    policy: str | Path | None = None,
    model: str | None = None,
    rollout: str | None = None,
    no_cache: bool = False,
) -> CiResult:
    """Run the pipeline ``target`` and gate (and optionally roll out) what it produced."""
    from conveyor.pipelines.engine import load_pipeline, run_pipeline

    pipe = load_pipeline(target) if isinstance(target, str) else target
    result = run_pipeline(pipe, params or {}, no_cache=no_cache, backend=backend)
    run = result.run
    if result.status != "succeeded":
        return CiResult(run, "pipeline", notes=[f"pipeline failed: {run.error}"])
    name, version, registered = produced_version(backend, run, model)
    with backend.meta.write(backend.actor) as uow:  # lineage: the run produced this version
        record_edge(uow, f"pipeline-run:{run.id}", f"model:{name}/{version}", "produced")
    ci = CiResult(run, "gates", name, version, registered)
    if policy is not None:
        ci.policy_version = _policy(backend, name, Path(policy))
    report = backend.run_gates(name, version)
    ci.gates = report.to_dict()
    ci.policy_version = report.policy_version
    if not report.passed:
        ci.notes.append(f"gates failed: {', '.join(report.failed_checks)}")
        return ci
    if rollout is not None:
        ci.stage = "rollout"
        ci.rollout = backend.start_rollout(rollout, f"{name}/{version}", supersede=True)
    ci.stage = "done"
    return ci


def write_report(result: CiResult, path: str | Path) -> None:
    """Write the JSON report atomically (a temporary file beside it, then renamed)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(
                orjson.dumps(
                    result.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY
                )
            )
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
