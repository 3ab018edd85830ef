"""The pipeline engine: run a pipeline function, routing each step call through the cache.

A pipeline run is a tracked run (experiment ``pipeline/<name>``) and a ``pipeline_runs``
row with the same id. Each step call:

1. binds and type-checks its arguments; splits them into *params* (JSON values) and
   *inputs* (data: content hashes, known without rehashing for values an earlier step
   produced);
2. builds the key parts (``explain.PARTS``) and the cache key;
3. hit → loads the stored outputs (a ``pipeline_steps`` row points at the tracked run
   that produced them); miss → a child tracked run, the executor runs the function, the
   outputs are stored (``values.encode``) and the row records why it was a miss.

A step that raises fails the run naming the step and the exception; outputs stored
before stay cached, so running the pipeline again resumes where it failed.
"""

from __future__ import annotations

import contextvars
import importlib
from dataclasses import dataclass, field
from typing import Any

from conveyor._util import canonical_json, now_ms
from conveyor.errors import ConveyorError, NotFound, ValidationFailed
from conveyor.pipelines import service, values
from conveyor.pipelines.executors import Executor, get_executor
from conveyor.pipelines.explain import cache_key, miss_reason
from conveyor.pipelines.fingerprint import fingerprint
from conveyor.pipelines.service import PipelineRun, StepRecord
from conveyor.pipelines.steps import Pipeline, Step
from conveyor.tracking import service as tracking
from conveyor.tracking.context import step_run

__all__ = [
    "PipelineFailed",
    "PipelineResult",
    "StepFailed",
    "current_context",
    "load_pipeline",
    "parse_params",
    "run_pipeline",
]

_current: contextvars.ContextVar[RunContext | None] = contextvars.ContextVar(
    "conveyor_pipeline_run", default=None
)


class StepFailed(ConveyorError):
    """A step raised; the message names the step and the exception."""

    headline = "Step failed"


class PipelineFailed(ConveyorError):
    """A pipeline run ended failed (``details["pipeline_run_id"]`` names it)."""

    headline = "Pipeline failed"


@dataclass
class PipelineResult:
    """What ``run_pipeline`` returns: the stored run, and the function's return value."""

    run: PipelineRun
    value: Any = None

    @property
    def id(self) -> str:
        return self.run.id

    @property
    def status(self) -> str:
        return self.run.status

    def raise_for_status(self) -> PipelineResult:
        if self.run.status != "succeeded":
            raise PipelineFailed(
                f"pipeline run {self.run.id} failed: {self.run.error}; fix it and run the "
                "pipeline again — steps that succeeded are cache hits",
                details={"pipeline_run_id": self.run.id, "error": self.run.error},
            )
        return self


def current_context() -> RunContext | None:
    """The pipeline run executing on this thread/task, if any."""
    return _current.get()


@dataclass
class RunContext:
    """One pipeline run in progress: where steps go, and what it has produced so far."""

    backend: Any
    run: PipelineRun
    experiment_id: str
    executor: Executor
    no_cache: bool
    seq: int = 0
    # id(value) → (value, sha256, dataset_version_id): data produced earlier in the run
    known: dict[int, tuple[Any, str, str | None]] = field(default_factory=dict)

    # -- argument handling ---------------------------------------------------------------
    def _bind(self, step: Step, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        try:
            bound = step.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise ValidationFailed(f"step {step.name!r}: {exc}") from None
        bound.apply_defaults()
        hints = step.hints()
        for name, value in bound.arguments.items():
            hint = hints.get(name)
            if isinstance(hint, type) and hint is not object and not _fits(value, hint):
                raise ValidationFailed(
                    f"step {step.name!r}: argument {name!r} expects {hint.__name__}, got "
                    f"{type(value).__name__}",
                    details={"step": step.name, "argument": name},
                )
        return dict(bound.arguments)

    def _hash(self, value: Any, step: Step, name: str) -> tuple[str, str | None]:
        known = self.known.get(id(value))
        if known is not None and known[0] is value:
            return known[1], known[2]
        return values.input_hash(value, step.name, name), None

    def _remember(self, value: Any, desc: dict[str, Any]) -> None:
        if desc["kind"] == "json":
            return
        self.known[id(value)] = (value, desc["sha256"], desc.get("dataset_version_id"))
        if desc["kind"] == "tuple":
            for item, item_desc in zip(value, desc["items"], strict=True):
                self._remember(item, item_desc)

    # -- one step call -------------------------------------------------------------------
    def call(self, step: Step, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        arguments = self._bind(step, args, kwargs)
        params: dict[str, Any] = {}
        inputs: dict[str, str] = {}
        lineage: list[str] = []
        for name, value in arguments.items():
            if values.is_json_value(value):
                params[name] = value
            else:
                sha, dataset_version = self._hash(value, step, name)
                inputs[name] = sha
                if dataset_version:
                    lineage.append(dataset_version)
        code = fingerprint(step.fn)
        parts = {
            "code": code.functions,
            "constants": code.constants,
            "params": params,
            "inputs": inputs,
            "packages": code.packages,
        }
        self.seq += 1
        call = _Call(step, self.seq, parts, cache_key(step.id, parts), now_ms())
        if not (step.cache and not self.no_cache):
            call.reason = (
                "cache disabled (--no-cache)" if self.no_cache else "cache=False on the step"
            )
            return self._compute(call, arguments, lineage)
        with self.backend.meta.write(self.backend.actor) as uow:
            hit = service.cached_step(uow.conn, step.id, call.key)
            if hit is not None and hit.outputs is not None:
                # one transaction for the lookup and the step's row: the hot path
                value = values.decode(self.backend, hit.outputs)
                call.reason = f"same code, parameters, inputs and packages as run {hit.run_id}"
                self._cached_run(uow, call, hit.run_id, lineage)
                record = call.record("succeeded", "hit", hit.run_id, hit.outputs)
                service.record_step(uow, self.run.id, record)
                self._remember(value, hit.outputs)
                return value
            previous = service.recent_steps(uow.conn, step.id)
        call.reason = miss_reason([p.key_parts for p in previous], parts)
        return self._compute(call, arguments, lineage)

    def _step_run(
        self, uow: Any, call: _Call, lineage: list[str], extra: dict[str, str] | None = None
    ) -> Any:
        """The step's child tracked run (inputs linked for lineage)."""
        from conveyor.data.service import link_run_input

        child = tracking.create_run(
            uow,
            self.experiment_id,
            name=call.step.name,
            parent_run_id=self.run.id,
            tags={
                "conveyor.pipeline_run": self.run.id,
                "conveyor.step": call.step.id,
                "conveyor.cache_key": call.key,
                **(extra or {}),
            },
            params={k: canonical_json(v).decode()[:500] for k, v in call.parts["params"].items()},
        )
        for dataset_version in lineage:
            link_run_input(uow, child.id, dataset_version, "pipeline-input")
        return child

    def _cached_run(
        self, uow: Any, call: _Call, source_run: str | None, lineage: list[str]
    ) -> None:
        """A hit is a tracked run too: finished at once, marked cached, naming the run
        whose outputs it reused (the step row keeps pointing at that source run)."""
        extra = {"conveyor.cache": "hit", "conveyor.cached_from": source_run or ""}
        child = self._step_run(uow, call, lineage, extra)
        tracking.end_run(uow, child.id, status="FINISHED")

    def _compute(self, call: _Call, arguments: dict[str, Any], lineage: list[str]) -> Any:
        backend, step = self.backend, call.step
        with backend.meta.write(backend.actor) as uow:
            child = self._step_run(uow, call, lineage, {"conveyor.cache": "miss"})
        token = step_run.set(child.id)  # runs the step starts become its children
        try:
            value = self.executor.run(step, arguments)
            _check_return(step, value)
            desc = values.encode(
                backend,
                child.id,
                value,
                step=step.name,
                name="return",
                dataset=f"{self.run.pipeline}.{step.name}",
                example=lambda model: values.model_input_example(
                    model, arguments, step.input_example
                ),
            )
        except Exception as exc:
            step_run.reset(token)
            error = _describe(exc)
            self._finish(call.record("failed", "miss", child.id, None, error), "FAILED")
            if isinstance(exc, ValidationFailed):
                raise
            raise StepFailed(
                f"step {step.name!r} raised {error}",
                details={"step": step.name, "exception": type(exc).__name__},
            ) from exc
        step_run.reset(token)
        self._remember(value, desc)
        self._finish(call.record("succeeded", "miss", child.id, desc), "FINISHED")
        return value

    def _finish(self, record: StepRecord, run_status: str) -> None:
        """End the step's tracked run and store its row, in one transaction."""
        with self.backend.meta.write(self.backend.actor) as uow:
            if record.run_id is not None:
                tracking.end_run(uow, record.run_id, status=run_status)
            service.record_step(uow, self.run.id, record)


@dataclass
class _Call:
    """One step call being decided: its key, and why it is a hit or a miss."""

    step: Step
    seq: int
    parts: dict[str, Any]
    key: str
    started: int
    reason: str = ""

    def record(
        self,
        status: str,
        cache: str,
        run_id: str | None,
        outputs: dict[str, Any] | None,
        error: str | None = None,
    ) -> StepRecord:
        return StepRecord(
            seq=self.seq,
            step=self.step.id,
            name=self.step.name,
            status=status,
            cache=cache,
            reason=self.reason,
            cache_key=self.key,
            key_parts=self.parts,
            run_id=run_id,
            outputs=outputs,
            error=error,
            started_at=self.started,
            ended_at=now_ms(),
        )


def _fits(value: Any, hint: type) -> bool:
    if isinstance(value, hint):
        return True
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return True
    from conveyor.models import LoadedModel

    return isinstance(value, LoadedModel)  # a cached model comes back loaded


def _check_return(step: Step, value: Any) -> None:
    hint = step.hints().get("return")
    if isinstance(hint, type) and hint is not object and not _fits(value, hint):
        raise ValidationFailed(
            f"step {step.name!r} is declared to return {hint.__name__} but returned "
            f"{type(value).__name__}",
            details={"step": step.name},
        )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConveyorError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"[:2000]


# -- loading and parameters --------------------------------------------------------------------
def load_pipeline(target: str) -> Pipeline:
    """The ``@conveyor.pipeline`` at ``module:function`` (the current folder is importable)."""
    import sys

    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise ValidationFailed(f"pipeline {target!r}: use module:function, e.g. flows:retrain")
    if "" not in sys.path:
        sys.path.insert(0, "")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise NotFound(f"pipeline {target!r}: no module {exc.name!r} on the Python path") from exc
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise NotFound(f"pipeline {target!r}: module {module_name!r} has no {attr!r}")
    if not isinstance(obj, Pipeline):
        raise ValidationFailed(f"{target!r} is not decorated with @conveyor.pipeline")
    return obj


def parse_params(pipe: Pipeline, pairs: list[str]) -> dict[str, Any]:
    """``k=v`` pairs → typed params: JSON when it parses, else text; coerced to the hints."""
    import orjson

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ValidationFailed(f"--param {pair!r}: use key=value")
        if key not in pipe.signature.parameters:
            known = ", ".join(pipe.signature.parameters) or "none"
            raise ValidationFailed(f"--param {key!r}: the pipeline's parameters are {known}")
        try:
            value: Any = orjson.loads(text)
        except orjson.JSONDecodeError:
            value = text
        hint = pipe.signature.parameters[key].annotation
        if hint in (str, "str"):
            value = text
        out[key] = value
    return out


def _pipeline_params(pipe: Pipeline, params: dict[str, Any]) -> dict[str, Any]:
    try:
        bound = pipe.signature.bind(**params)
    except TypeError as exc:
        raise ValidationFailed(f"pipeline {pipe.name!r}: {exc}") from None
    bound.apply_defaults()
    for name, value in bound.arguments.items():
        if not values.is_json_value(value):
            raise ValidationFailed(
                f"pipeline {pipe.name!r}: parameter {name!r} must be a JSON value (a number, "
                f"text, list or dict), got {type(value).__name__}"
            )
    return dict(bound.arguments)


# -- running ---------------------------------------------------------------------------------
def _open(backend: Any, pipe: Pipeline, params: dict[str, Any], **fields: Any) -> PipelineRun:
    experiment = backend.get_or_create_experiment(f"pipeline/{pipe.name}")
    queued = fields.pop("queued_id", None)
    with backend.meta.write(backend.actor) as uow:
        if queued is not None:
            service.start_pipeline_run(uow, queued)
            return service.get_pipeline_run(uow.conn, queued, with_steps=False)
        run = tracking.create_run(
            uow,
            experiment.id,
            name=pipe.name,
            tags={"conveyor.pipeline": pipe.target},
            params={k: canonical_json(v).decode()[:500] for k, v in params.items()},
        )
        return service.create_pipeline_run(
            uow, run.id, pipeline=pipe.name, target=pipe.target, params=params, **fields
        )


def run_pipeline(
    pipe: Pipeline | str,
    params: dict[str, Any] | None = None,
    *,
    no_cache: bool = False,
    executor: str = "local",
    executor_options: dict[str, Any] | None = None,
    backend: Any = None,
    trigger_id: str | None = None,
    cause: dict[str, Any] | None = None,
    resumed_from: str | None = None,
    queued_id: str | None = None,
) -> PipelineResult:
    """Run a pipeline (object or ``module:function``) and return its result.

    Needs the embedded store (the engine writes pipeline state next to the runs).
    ``queued_id`` starts a run a trigger queued (its tracked run already exists).
    ``executor_options`` go to the executor (``{"address": "head:6379"}`` for ``ray``).
    """
    if isinstance(pipe, str):
        pipe = load_pipeline(pipe)
    backend = backend if backend is not None else _local_backend()
    if current_context() is not None:
        raise ValidationFailed(f"pipeline {pipe.name!r} was called inside another pipeline run")
    params = _pipeline_params(pipe, dict(params or {}))
    runner = get_executor(executor, **(executor_options or {}))
    run = _open(
        backend,
        pipe,
        params,
        no_cache=no_cache,
        executor=executor,
        trigger_id=trigger_id,
        cause=cause,
        resumed_from=resumed_from,
        queued_id=queued_id,
    )
    experiment_id = backend.get_run(run.id).experiment_id
    ctx = RunContext(backend, run, experiment_id, runner, no_cache)
    token = _current.set(ctx)
    status, error, value = "succeeded", None, None
    try:
        value = pipe.fn(**params)
    except Exception as exc:
        status, error = "failed", _describe(exc)
    finally:
        _current.reset(token)
    with backend.meta.write(backend.actor) as uow:
        tracking.end_run(uow, run.id, status="FINISHED" if status == "succeeded" else "FAILED")
        service.finish_pipeline_run(uow, run.id, status, error)
    with backend.meta.read() as conn:
        stored = service.get_pipeline_run(conn, run.id)
    return PipelineResult(stored, value)


def _local_backend() -> Any:
    from conveyor.backend import connect

    backend = connect()
    if not hasattr(backend, "meta"):
        raise ValidationFailed(
            "pipelines run against the metadata store: unset CONVEYOR_URI and point "
            "CONVEYOR_DB_URL / CONVEYOR_HOME at the store"
        )
    return backend
