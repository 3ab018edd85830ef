"""Pipelines: steps, cache keys, executors, and retraining triggers. See docs/pipelines.md.

::

    import conveyor

    @conveyor.step
    def double(x: int) -> int:
        return 2 * x

    @conveyor.pipeline
    def flow(x: int = 1):
        return double(double(x))

    result = flow.run(x=3)        # result.id names the pipeline run; result.value == 12
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conveyor._lazy import lazy_getattr

_LAZY = {
    "Pipeline": "conveyor.pipelines.steps",
    "Step": "conveyor.pipelines.steps",
    "pipeline": "conveyor.pipelines.steps",
    "step": "conveyor.pipelines.steps",
    "PipelineFailed": "conveyor.pipelines.engine",
    "PipelineResult": "conveyor.pipelines.engine",
    "StepFailed": "conveyor.pipelines.engine",
    "run_pipeline": "conveyor.pipelines.engine",
    "UnserializableOutput": "conveyor.pipelines.values",
    "register_executor": "conveyor.pipelines.executors",
}
__getattr__ = lazy_getattr(__name__, _LAZY)

if TYPE_CHECKING:
    from conveyor.pipelines.engine import PipelineFailed, PipelineResult, StepFailed, run_pipeline
    from conveyor.pipelines.executors import register_executor
    from conveyor.pipelines.steps import Pipeline, Step, pipeline, step
    from conveyor.pipelines.values import UnserializableOutput

__all__ = [
    "Pipeline",
    "PipelineFailed",
    "PipelineResult",
    "Step",
    "StepFailed",
    "UnserializableOutput",
    "pipeline",
    "register_executor",
    "run_pipeline",
    "step",
]
