"""Explainers attached to serving routes: built on the first ``/explain`` request (the
native model loaded and verified, shap imported), then reused by every request."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from conveyor.explain.explainers import Explainer, ExplainResult
    from conveyor.registry.entities import ModelVersion

__all__ = ["LazyExplainer"]


class LazyExplainer:
    """``explainer(matrix) -> ExplainResult`` for one model version; thread-safe.

    A failure to build (an unsupported model, no background data) is remembered and raised
    again on every call, so a bad model costs one load, not one per request."""

    def __init__(self, backend: Any, mv: ModelVersion) -> None:
        self._backend = backend
        self._mv = mv
        self._lock = threading.Lock()
        self._explainer: Explainer | None = None
        self._error: Exception | None = None

    def _build(self) -> Explainer:
        with self._lock:
            if self._error is not None:
                raise self._error
            if self._explainer is None:
                from conveyor.deployments.compile import load_version
                from conveyor.errors import ConveyorError
                from conveyor.explain.loaded import explainer_for

                try:
                    self._explainer = explainer_for(load_version(self._backend, self._mv))
                except ConveyorError as exc:
                    self._error = exc
                    raise
            return self._explainer

    #: Methods cheap enough per row to run on the event loop once built (as predictions
    #: do): exact TreeSHAP / linear SHAP take a few ms a row; sampling methods do not.
    INLINE_METHODS = ("tree", "linear")
    #: Rows explained inline at most; larger requests go to the thread pool.
    INLINE_ROWS = 4

    def inline(self, rows: int) -> bool:
        """Whether explaining ``rows`` rows may run on the caller's thread: the explainer
        is built (the first call loads the model and imports shap) and exact."""
        built = self._explainer
        return (
            built is not None and built.method in self.INLINE_METHODS and rows <= self.INLINE_ROWS
        )

    def __call__(self, matrix: np.ndarray) -> ExplainResult:
        explainer = self._explainer or self._build()
        return explainer.explain(matrix)
