"""Explainers for loaded model versions (``LoadedModel``): features from the signature,
background from the input example (or given data), a float matrix in and out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from conveyor.explain.explainers import Explainer, Unsupported, make_explainer

if TYPE_CHECKING:
    import pandas as pd

    from conveyor.models.loaded import LoadedModel

__all__ = ["explainer_for", "to_matrix"]


def _features(loaded: LoadedModel) -> list[str]:
    """The input columns: the signature's, else those the estimator was fitted on."""
    if loaded.signature is not None:
        return list(loaded.signature.input_names)
    fitted = getattr(loaded.native, "feature_names_in_", None)
    if fitted is not None:
        return [str(f) for f in fitted]
    raise Unsupported(
        "the model has no input signature, so its features have no names: log it with "
        "an input example or a signature to explain it"
    )


def to_matrix(frame: pd.DataFrame, features: list[str]) -> np.ndarray:
    """``frame``'s ``features`` columns as float64; Unsupported for non-numeric columns."""
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise Unsupported(f"the data lacks the model's input columns {missing}")
    try:
        return frame[features].to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise Unsupported(
            "explanations (SHAP and LIME) need numeric inputs; this data has non-numeric "
            f"columns ({exc})"
        ) from None


def explainer_for(loaded: LoadedModel, background: pd.DataFrame | None = None) -> Explainer:
    """The explainer of a loaded model version; ``background`` defaults to its input
    example (needed by linear and black-box models, unused by tree models)."""
    import pandas as pd

    features = _features(loaded)
    frame = background if background is not None else loaded.input_example
    matrix = None if frame is None else to_matrix(frame, features)
    classes = loaded.classes
    predict = None
    if loaded.flavor == "pyfunc":

        def predict(x: np.ndarray) -> Any:
            rows = pd.DataFrame(x, columns=features)
            if classes is not None:
                return loaded.predict_proba(rows)
            out = loaded.predict(rows)
            return out.to_numpy() if isinstance(out, pd.DataFrame) else out

    return make_explainer(
        loaded.native,
        flavor=loaded.flavor,
        features=features,
        background=matrix,
        predict=predict,
        classes=None if classes is None else list(classes),
    )
