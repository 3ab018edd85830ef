"""The flavor seam: how one kind of model is written to files and read back.

A flavor is a class with a ``name``, ``detect(model)``, ``save(model, path)`` returning
JSON-able options for the manifest, and ``load(path, options, allow_pickle)`` returning a
:class:`Predictor`. Built-in and third-party flavors register the same way, by name in
:data:`conveyor.models.flavors.FLAVORS`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from conveyor.errors import ValidationFailed

__all__ = ["Flavor", "Predictor", "classes_from_options", "classes_to_options"]


class Predictor(ABC):
    """A loaded model behind one small interface (what ``LoadedModel`` delegates to)."""

    #: class labels of a classifier in the model's own order, else None
    classes: np.ndarray | None = None

    @property
    @abstractmethod
    def native(self) -> Any:
        """The underlying model object."""

    @abstractmethod
    def predict(self, frame: pd.DataFrame) -> Any:
        """Predictions for the rows of ``frame`` (columns already in signature order)."""

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Class probabilities, one column per entry of ``classes``."""
        raise ValidationFailed(
            f"this {type(self.native).__name__} model has no predict_proba (not a classifier "
            "with probabilities)"
        )


class Flavor(ABC):
    """Writes one kind of model to files and reads it back."""

    name: ClassVar[str]
    #: distributions whose versions are recorded in the manifest
    packages: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def detect(self, model: Any) -> bool:
        """True when this flavor can save ``model``. Must not import heavy libraries."""

    @abstractmethod
    def save(self, model: Any, path: Path) -> dict[str, Any]:
        """Write the model's files under ``path``; return options for the manifest."""

    @abstractmethod
    def load(self, path: Path, options: dict[str, Any], *, allow_pickle: bool) -> Predictor:
        """Read the model from ``path`` (files already verified)."""

    def check_files(self, options: dict[str, Any], read: Callable[[str], bytes]) -> None:
        """Refuse (PermissionDenied, IntegrityError) files that would be unsafe to load,
        without loading them; ``read(rel_path)`` returns a file's verified bytes.

        Registration calls this before a version is recorded. The default accepts; flavors
        whose files name code to run (skops) override it. ``load`` must check again.
        """
        return None

    def pickle_format(self, options: dict[str, Any]) -> str | None:
        """The pickle format ``load`` unpickles (``"pickle"``, ``"cloudpickle"``), or None
        when it loads without one (the default). Deployments serve a version that needs one
        only when an admin trusted it (:mod:`conveyor.registry.pickle_trust`)."""
        return None

    def referenced_files(self, options: dict[str, Any]) -> list[str]:
        """Relative paths (files or folders) ``load`` will read; each must be in the manifest.

        The default is the ``file`` option; override when a flavor reads more.
        """
        return [str(options["file"])] if options.get("file") else []


def classes_to_options(classes: Any) -> dict[str, Any]:
    """JSON-able form of a classes array (values plus numpy dtype)."""
    array = np.asarray(classes)
    return {
        "classes": array.tolist(),
        "classes_dtype": array.dtype.str if array.dtype != object else "object",
    }


def classes_from_options(options: dict[str, Any]) -> np.ndarray | None:
    """Inverse of :func:`classes_to_options`; None when no classes were recorded."""
    if options.get("classes") is None:
        return None
    return np.asarray(options["classes"], dtype=np.dtype(options.get("classes_dtype", "object")))
