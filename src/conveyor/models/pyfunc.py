"""Custom Python models: subclass :class:`PythonModel` to serve any Python code.

::

    from conveyor.models import PythonModel, save_model

    class Doubler(PythonModel):
        def load_context(self, context):
            self.factor = float(context.artifacts["factor"].read_text())

        def predict(self, context, model_input):
            return model_input["x"].to_numpy() * self.factor

    save_model(Doubler(), path, artifacts={"factor": "factor.txt"}, input_example=df)

The class is stored by reference (``module:qualname``), not pickled, so it must be
importable where the model is loaded: define it in a module of an installed package (not
in ``__main__`` or inside a function). Instance attributes that are plain JSON values are
stored in the manifest; anything else makes the model need pickle, which loading refuses
unless pickle is allowed (``allow_pickle=True`` or ``CONVEYOR_ALLOW_PICKLE=1``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["PythonModel", "PythonModelContext"]


@dataclass(frozen=True)
class PythonModelContext:
    """What a custom model sees: its artifacts by name as local file paths."""

    artifacts: dict[str, Path] = field(default_factory=dict)
    model_dir: Path | None = None


class PythonModel:
    """Base class of custom Python models (the ``pyfunc`` flavor)."""

    def load_context(self, context: PythonModelContext) -> None:
        """Called once after loading, before any ``predict``: read artifacts here."""

    def predict(self, context: PythonModelContext, model_input: Any) -> Any:
        """Predict for ``model_input`` (a DataFrame in signature column order)."""
        raise NotImplementedError(f"{type(self).__qualname__} must implement predict()")

    def predict_proba(self, context: PythonModelContext, model_input: Any) -> Any:
        """Optional class probabilities; override to support ``LoadedModel.predict_proba``."""
        raise NotImplementedError(f"{type(self).__qualname__} has no predict_proba()")
