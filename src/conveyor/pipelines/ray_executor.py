"""The Ray executor: each step that misses the cache runs as a Ray task.

``flow.run(executor="ray")``, ``run_pipeline(..., executor="ray", executor_options={"address":
"head:6379"})`` or ``conveyor pipeline run flows:retrain --executor ray --address head:6379``.
The step's ``resources`` (``@conveyor.step(resources={"num_cpus": 2, "num_gpus": 1})``) are
the task's resource request; anything Ray's ``.options`` takes is accepted (``memory``,
custom resources under ``resources``). The engine keeps the cache, storage and tracking in
the calling process, so outputs, cache keys and runs are the same as with the local
executor: only where the function runs changes. The user's own modules are shipped to the
workers by value; installed packages must be installed on the cluster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conveyor import _ray

if TYPE_CHECKING:
    from conveyor.pipelines.steps import Step

__all__ = ["RayExecutor"]

#: ``@conveyor.step(resources=...)`` keys that are arguments of Ray's ``.options``; any
#: other key is a custom resource.
_OPTIONS = ("num_cpus", "num_gpus", "memory")


def task_options(resources: dict[str, Any]) -> dict[str, Any]:
    """Ray ``.options`` for a step's resources (custom resources under ``resources``)."""
    options = {k: v for k, v in resources.items() if k in _OPTIONS}
    custom = {k: v for k, v in resources.items() if k not in _OPTIONS}
    options.setdefault("num_cpus", 1)
    if custom:
        options["resources"] = custom
    options["max_retries"] = 0  # a step that raised fails the run; the engine resumes it
    return options


class RayExecutor:
    """Runs a step's function as a Ray task and waits for its value."""

    name = "ray"

    def __init__(self, address: str | None = None, **init_options: Any) -> None:
        self.address = address
        self.ray = _ray.connect(address, **init_options)
        self._remote: dict[int, Any] = {}

    def run(self, step: Step, kwargs: dict[str, Any]) -> Any:
        ray = self.ray
        _ray.ship_project_code()
        remote = self._remote.get(id(step.fn))
        if remote is None:
            remote = self._remote[id(step.fn)] = ray.remote(step.fn)
        ref = remote.options(name=step.name, **task_options(step.resources)).remote(**kwargs)
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            raise _ray.unwrap(exc) from None
