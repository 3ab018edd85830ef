"""The tracked run a pipeline step is executing in, for runs the step's code starts.

The pipeline engine sets :data:`step_run` around a step's function; a run the step starts
with the fluent API (``conveyor.start_run``, or ``conveyor.log_model`` without an active
run) becomes that step run's child, so lineage leads from the model it logs back to the
pipeline run and its data.
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["step_run"]

#: the id of the step's tracked run while its function runs (None outside a step)
step_run: ContextVar[str | None] = ContextVar("conveyor_step_run", default=None)
