"""``@conveyor.step`` and ``@conveyor.pipeline``: plain functions, composed by calling.

::

    @conveyor.step
    def load(n: int) -> pd.DataFrame: ...

    @conveyor.step(cache=False, resources={"num_cpus": 2})
    def train(frame: pd.DataFrame, depth: int = 4) -> RandomForestClassifier: ...

    @conveyor.pipeline
    def retrain(n: int = 1000, depth: int = 4):
        return train(load(n), depth=depth)

    result = retrain.run(n=500)          # or: conveyor pipeline run mymod:retrain --param n=500

A step called outside a running pipeline is the plain function. Inside one, the call goes
through the engine (cache, storage, tracking) and returns the real value: execution is
*eager* (see docs/pipelines.md for why).
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, overload

from conveyor._util import check_name
from conveyor.errors import ValidationFailed

__all__ = ["Pipeline", "Step", "pipeline", "step"]


@dataclass(eq=False)
class Step:
    """A step: the function, its options, and its identity in the cache (``id``)."""

    fn: Callable[..., Any]
    name: str
    cache: bool = True
    resources: dict[str, Any] = field(default_factory=dict)
    input_example: str | None = None
    _hints: dict[str, Any] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        functools.update_wrapper(self, self.fn)
        self.signature = inspect.signature(self.fn)

    @property
    def id(self) -> str:
        return f"{self.fn.__module__}.{self.fn.__qualname__}"

    def hints(self) -> dict[str, Any]:
        """The function's type hints (resolved once; unresolvable hints are ignored)."""
        if self._hints is None:
            try:
                self._hints = typing.get_type_hints(self.fn)
            except Exception:
                self._hints = {}
        return self._hints

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from conveyor.pipelines.engine import current_context

        ctx = current_context()
        if ctx is None:
            return self.fn(*args, **kwargs)
        return ctx.call(self, args, kwargs)


@dataclass(eq=False)
class Pipeline:
    """A pipeline: a function whose parameters are the pipeline's parameters."""

    fn: Callable[..., Any]
    name: str

    def __post_init__(self) -> None:
        functools.update_wrapper(self, self.fn)
        self.signature = inspect.signature(self.fn)

    @property
    def target(self) -> str:
        return f"{self.fn.__module__}:{self.fn.__qualname__}"

    def run(
        self,
        *,
        no_cache: bool = False,
        executor: str = "local",
        executor_options: dict[str, Any] | None = None,
        **params: Any,
    ) -> Any:
        """Run the pipeline; returns the :class:`~conveyor.pipelines.engine.PipelineResult`
        (``status`` is ``failed`` when a step raised — nothing is raised here).
        ``executor="ray"`` runs the steps as Ray tasks (``executor_options={"address":
        "head:6379"}`` for a cluster)."""
        from conveyor.pipelines.engine import run_pipeline

        return run_pipeline(
            self, params, no_cache=no_cache, executor=executor, executor_options=executor_options
        )

    def __call__(self, **params: Any) -> Any:
        """Run the pipeline and return its result; a failed run raises ``PipelineFailed``."""
        return self.run(**params).raise_for_status()


def _check_options(cache: Any, resources: Any) -> None:
    if not isinstance(cache, bool):
        raise ValidationFailed(f"step cache= must be True or False, got {cache!r}")
    if resources is not None and not isinstance(resources, dict):
        raise ValidationFailed("step resources= must be a dict such as {'num_cpus': 2}")
    for key, amount in (resources or {}).items():
        if (
            not isinstance(key, str)
            or isinstance(amount, bool)
            or not isinstance(amount, int | float)
        ):
            raise ValidationFailed(
                f"step resources= maps names to amounts such as {{'num_cpus': 2}}, got "
                f"{key!r}: {amount!r}"
            )


@overload
def step(fn: Callable[..., Any], /) -> Step: ...
@overload
def step(
    *,
    name: str | None = None,
    cache: bool = True,
    resources: dict[str, Any] | None = None,
    input_example: str | None = None,
) -> Callable[[Callable[..., Any]], Step]: ...
def step(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    cache: bool = True,
    resources: dict[str, Any] | None = None,
    input_example: str | None = None,
) -> Any:
    """Declare a pipeline step. ``cache=False`` always runs it; ``resources`` are passed
    to executors that schedule by resources (``num_cpus``, ``num_gpus``, ``memory``).
    ``input_example`` names the argument holding the input frame of a model the step
    returns (its signature is inferred from those rows; without it, from the first
    DataFrame argument that has every feature the fitted model recorded)."""
    _check_options(cache, resources)

    def wrap(f: Callable[..., Any]) -> Step:
        if not callable(f) or isinstance(f, Step | Pipeline):
            raise ValidationFailed("@conveyor.step decorates a plain function")
        label = check_name(name or f.__name__, "step name")
        if input_example is not None and input_example not in inspect.signature(f).parameters:
            raise ValidationFailed(
                f"step {label!r}: input_example={input_example!r} is not one of its arguments"
            )
        return Step(f, label, cache, dict(resources or {}), input_example)

    return wrap(fn) if fn is not None else wrap


@overload
def pipeline(fn: Callable[..., Any], /) -> Pipeline: ...
@overload
def pipeline(*, name: str | None = None) -> Callable[[Callable[..., Any]], Pipeline]: ...
def pipeline(fn: Callable[..., Any] | None = None, /, *, name: str | None = None) -> Any:
    """Declare a pipeline: calling steps inside it builds and runs them."""

    def wrap(f: Callable[..., Any]) -> Pipeline:
        if not callable(f) or isinstance(f, Step | Pipeline):
            raise ValidationFailed("@conveyor.pipeline decorates a plain function")
        return Pipeline(f, check_name(name or f.__name__, "pipeline name"))

    return wrap(fn) if fn is not None else wrap
