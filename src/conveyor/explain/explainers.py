"""One explainer per model: SHAP values for rows in the model's input column order.

::

    explainer = make_explainer(loaded.native, flavor="sklearn", background=X_example)
    result = explainer.explain(matrix)      # float64 (n, features)
    result.contributions                    # (n, features, outputs)
    result.base_values + contributions.sum(axis=1) == result.output_values   # additivity

``method`` says which algorithm: ``tree`` (exact TreeSHAP), ``linear`` (exact for
independent features, against the background mean), ``lime`` (the black-box fallback:
LIME's local linear surrogate, `lime.lime_tabular.LimeTabularExplainer`, fitted around each
row; contributions are its weights times the row's distance from the background mean, so
they add up to the model's output only approximately), ``kernel`` (SHAP's model-agnostic
sampling, additive by construction; the black-box fallback when ``lime`` is not
installed, or when asked for). ``output`` says what the values add up to: ``probability``
(scikit-learn forests), ``margin`` (log-odds of boosted and linear classifiers),
``prediction`` (regressors, pyfunc outputs).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from conveyor.errors import ValidationFailed

__all__ = ["ExplainResult", "Explainer", "Unsupported", "make_explainer"]

#: Rows of background data the kernel fallback keeps (its cost grows with them).
KERNEL_BACKGROUND = 20
#: Coalitions the kernel fallback samples per row.
KERNEL_SAMPLES = 512
#: Perturbed rows LIME fits its local surrogate on, per explained row.
LIME_SAMPLES = 1000
#: Every row is explained from the same seed: the same row gets the same answer.
LIME_SEED = 0
#: The black-box methods, in order of preference.
BLACK_BOX = ("lime", "kernel")


class Unsupported(ValidationFailed):
    """This model cannot be explained here (the message says why and what to do)."""


def import_shap() -> Any:
    """The shap module (imported once, its import-time deprecation noise from matplotlib
    silenced); Unsupported when it is not installed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import shap
    except ImportError:
        raise Unsupported(
            "explanations need the shap package: pip install 'conveyor-mlops[explain]'"
        ) from None
    return shap


_shap = import_shap


@dataclass(frozen=True)
class ExplainResult:
    """SHAP values of some rows: ``contributions`` (rows, features, outputs),
    ``base_values`` (outputs,), ``output_values`` (rows, outputs) = base + sum."""

    method: str
    output: str
    features: list[str]
    outputs: list[str]
    contributions: np.ndarray
    base_values: np.ndarray

    @property
    def output_values(self) -> np.ndarray:
        return np.asarray(self.base_values[None, :] + self.contributions.sum(axis=1))

    def rows(self) -> list[dict[str, Any]]:
        """JSON rows: ``{"contributions": {feature: v}, "base_value": b, "output_value": o}``
        with scalars for one output, lists (one per output) otherwise."""
        single = len(self.outputs) == 1
        out_values = self.output_values

        def val(a: np.ndarray) -> Any:
            return float(a[0]) if single else [float(x) for x in a]

        return [
            {
                "contributions": {f: val(row[j]) for j, f in enumerate(self.features)},
                "base_value": val(self.base_values),
                "output_value": val(out_values[i]),
            }
            for i, row in enumerate(self.contributions)
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "output": self.output,
            "features": self.features,
            "outputs": self.outputs,
            "rows": self.rows(),
        }


def _as_3d(values: Any, n_outputs_hint: int | None = None) -> np.ndarray:
    """shap's per-output list or (n, f[, k]) array as (n, f, k)."""
    if isinstance(values, list):
        return np.stack([np.asarray(v, dtype=np.float64) for v in values], axis=-1)
    arr = np.asarray(values, dtype=np.float64)
    return arr[:, :, None] if arr.ndim == 2 else arr


def _base(expected: Any) -> np.ndarray:
    return np.atleast_1d(np.asarray(expected, dtype=np.float64)).reshape(-1)


class Explainer:
    """A built shap explainer for one model; ``explain`` is thread-safe for reads."""

    def __init__(
        self,
        method: str,
        output: str,
        features: Sequence[str],
        outputs: Sequence[str],
        run: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    ) -> None:
        self.method = method
        self.output = output
        self.features = list(features)
        self.outputs = list(outputs)
        self._run = run

    def explain(self, matrix: np.ndarray) -> ExplainResult:
        """SHAP values of ``matrix`` (rows in the model's feature order)."""
        x = np.ascontiguousarray(matrix, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.features):
            raise ValidationFailed(
                f"expected rows of {len(self.features)} features ({', '.join(self.features)}), "
                f"got shape {tuple(x.shape)}"
            )
        values, base = self._run(x)
        outputs = self.outputs if len(self.outputs) == values.shape[2] else _names(values.shape[2])
        return ExplainResult(self.method, self.output, self.features, outputs, values, base)


def _names(k: int) -> list[str]:
    return ["prediction"] if k == 1 else [str(i) for i in range(k)]


def _classes(model: Any) -> list[str] | None:
    classes = getattr(model, "classes_", None)
    return None if classes is None else [str(c) for c in classes]


def _is_tree(model: Any) -> bool:
    module = type(model).__module__
    if module.startswith(("lightgbm", "xgboost")):
        return True
    if module.startswith("sklearn.tree"):
        return True
    return module.startswith("sklearn.ensemble") and type(model).__name__.startswith(
        ("RandomForest", "ExtraTrees", "GradientBoosting", "IsolationForest")
    )


def _is_linear(model: Any) -> bool:
    return type(model).__module__.startswith("sklearn.linear_model") and hasattr(model, "coef_")


def _tree(model: Any, features: list[str], classes: list[str] | None) -> Explainer:
    shap = _shap()
    explainer = shap.TreeExplainer(model)
    base = _base(explainer.expected_value)
    is_forest = (
        type(model).__module__.startswith(("sklearn.ensemble._forest", "sklearn.tree"))
        and classes is not None
    )
    # scikit-learn forests explain probabilities; boosted classifiers their log-odds
    output = "probability" if is_forest else ("margin" if classes is not None else "prediction")
    outputs = classes if classes is not None and len(classes) == len(base) else _names(len(base))

    def shap_run(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _as_3d(explainer.shap_values(x, check_additivity=False)), base

    run: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] = shap_run
    if type(model).__module__.startswith("lightgbm"):
        run = _lightgbm_run(getattr(model, "booster_", model))
    elif type(model).__module__.startswith("xgboost"):
        run = _xgboost_run(model.get_booster() if hasattr(model, "get_booster") else model)
    return Explainer("tree", output, features, outputs, run)


def _xgboost_run(booster: Any) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """TreeSHAP in XGBoost itself (``pred_contribs``, what shap's TreeExplainer calls),
    with the bias column as the base value: shap's ``expected_value`` can differ from
    XGBoost's ``base_score`` by a constant, which would break additivity."""
    import xgboost

    def run(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        phi = np.asarray(
            booster.predict(xgboost.DMatrix(x), pred_contribs=True, validate_features=False),
            dtype=np.float64,
        )
        phi = phi.reshape(len(x), -1, x.shape[1] + 1)  # (rows, outputs, features + bias)
        return phi[:, :, :-1].transpose(0, 2, 1), phi[0, :, -1].copy()

    return run


def _lightgbm_run(booster: Any) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """TreeSHAP in LightGBM itself (``pred_contrib``) — what shap's TreeExplainer calls for
    a Booster, minus its per-call warning about binary output shapes."""

    def run(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        width = x.shape[1] + 1
        phi = np.asarray(booster.predict(x, pred_contrib=True), dtype=np.float64)
        phi = phi.reshape(len(x), -1, width)  # (rows, outputs, features + bias)
        return phi[:, :, :-1].transpose(0, 2, 1), phi[0, :, -1].copy()

    return run


def _linear(
    model: Any, features: list[str], background: np.ndarray | None, classes: list[str] | None
) -> Explainer:
    if background is None or not len(background):
        raise Unsupported(
            "a linear model is explained against background data: log the model with an "
            "input example, or give data (conveyor models explain ... --data FILE)"
        )
    shap = _shap()
    explainer = shap.LinearExplainer(model, background)
    base = _base(explainer.expected_value)
    output = "margin" if classes is not None else "prediction"
    outputs = classes if classes is not None and len(classes) == len(base) else _names(len(base))

    def run(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _as_3d(explainer.shap_values(x)), base

    return Explainer("linear", output, features, outputs, run)


def _kernel(
    predict: Callable[[np.ndarray], Any],
    features: list[str],
    background: np.ndarray,
    classes: list[str] | None,
) -> Explainer:
    shap = _shap()
    rows = background[:KERNEL_BACKGROUND]

    def f(x: np.ndarray) -> np.ndarray:
        out = np.asarray(predict(x), dtype=np.float64)
        return out.reshape(len(x), -1) if out.ndim > 1 else out

    explainer = shap.KernelExplainer(f, rows, silent=True)
    base = _base(explainer.expected_value)

    def run(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = explainer.shap_values(x, nsamples=KERNEL_SAMPLES, silent=True)
        return _as_3d(values), base

    output = "probability" if classes is not None else "prediction"
    outputs = classes if classes is not None and len(classes) == len(base) else _names(len(base))
    return Explainer("kernel", output, features, outputs, run)


def import_lime() -> Any:
    """``lime.lime_tabular`` (None when the lime package is not installed)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from lime import lime_tabular
    except ImportError:
        return None
    return lime_tabular


def _lime(
    lime_tabular: Any,
    predict: Callable[[np.ndarray], Any],
    features: list[str],
    background: np.ndarray,
    classes: list[str] | None,
) -> Explainer:
    """LIME's local linear surrogate per row: feature ``j`` contributes its weight times the
    row's standardised distance from the background mean, ``w_j * (x_j - mean_j) / sd_j``;
    the base value is the model's mean output over the background."""

    def f(x: np.ndarray) -> np.ndarray:
        out = np.asarray(predict(x), dtype=np.float64)
        return out.reshape(len(x), -1)

    first = f(background)
    k = first.shape[1]
    explainer = lime_tabular.LimeTabularExplainer(
        background,
        mode="classification" if classes is not None else "regression",
        feature_names=features,
        discretize_continuous=False,  # weights per standardised unit: signed contributions
        sample_around_instance=True,
        feature_selection="none",
        random_state=LIME_SEED,
    )
    mean = np.asarray(explainer.scaler.mean_, dtype=np.float64)
    scale = np.asarray(explainer.scaler.scale_, dtype=np.float64)
    base = first.mean(axis=0)
    lock = threading.Lock()  # the explainer keeps its random state: one row at a time

    def one_output(x: np.ndarray) -> np.ndarray:
        return f(x)[:, 0]

    def run(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = np.zeros((len(x), x.shape[1], k))
        with lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i, row in enumerate(x):
                explainer.random_state = np.random.RandomState(LIME_SEED)
                if classes is not None:
                    exp = explainer.explain_instance(
                        row, f, labels=range(k), num_features=len(features),
                        num_samples=LIME_SAMPLES,
                    )  # fmt: skip
                    labels = list(range(k))
                else:  # regression: lime keeps the weights under label 1 (0 is negated)
                    exp = explainer.explain_instance(
                        row, one_output, num_features=len(features), num_samples=LIME_SAMPLES
                    )
                    labels = [1]
                z = (row - mean) / scale
                for out, label in enumerate(labels):
                    for j, weight in exp.local_exp[label]:
                        values[i, j, out] = weight * z[j]
        return values, base

    output = "probability" if classes is not None else "prediction"
    outputs = classes if classes is not None and len(classes) == k else _names(k)
    return Explainer("lime", output, features, outputs, run)


def _black_box(
    predict: Callable[[np.ndarray], Any],
    features: list[str],
    background: np.ndarray | None,
    classes: list[str] | None,
    method: str | None,
) -> Explainer:
    if method is not None and method not in BLACK_BOX:
        raise ValidationFailed(
            f"unknown black-box method {method!r}; use one of {', '.join(BLACK_BOX)}"
        )
    if background is None or not len(background):
        raise Unsupported(
            "a black-box model is explained by sampling around background data: log the "
            "model with an input example, or give data (conveyor models explain ... --data)"
        )
    if method in (None, "lime"):
        lime_tabular = import_lime()
        if lime_tabular is not None:
            return _lime(lime_tabular, predict, features, background, classes)
        if method == "lime":
            raise Unsupported(
                "LIME explanations need the lime package: pip install 'conveyor-mlops[explain]'"
            )
    return _kernel(predict, features, background, classes)


def make_explainer(
    model: Any,
    *,
    flavor: str,
    features: Sequence[str],
    background: np.ndarray | None = None,
    predict: Callable[[np.ndarray], Any] | None = None,
    classes: Sequence[Any] | None = None,
    black_box: str | None = None,
) -> Explainer:
    """The explainer for ``model`` (a native estimator, Booster or PythonModel).

    Tree models get ``TreeExplainer``, scikit-learn linear models ``LinearExplainer``
    (against ``background``), pyfunc models a black-box method over ``predict`` (a
    function of a float matrix in ``features`` order: class probabilities for a classifier
    with ``classes``): LIME when the lime package is installed, else SHAP's
    ``KernelExplainer`` (``black_box="lime"|"kernel"`` chooses); anything else is
    ``Unsupported``."""
    names = list(features)
    labels = [str(c) for c in classes] if classes is not None else _classes(model)
    bg = None if background is None else np.asarray(background, dtype=np.float64)
    if flavor in ("sklearn", "lightgbm", "xgboost") and _is_tree(model):
        return _tree(model, names, labels)
    if flavor == "sklearn" and _is_linear(model):
        return _linear(model, names, bg, labels)
    if flavor == "pyfunc" and predict is not None:
        return _black_box(predict, names, bg, labels, black_box)
    kind = f"{type(model).__module__}.{type(model).__name__}"
    raise Unsupported(
        f"cannot explain a {flavor} model of type {kind}: SHAP explanations cover tree models "
        "(scikit-learn forests and gradient boosting, LightGBM, XGBoost), scikit-learn linear "
        "models, and pyfunc models (LIME, or SHAP's kernel sampling); wrap other models in a "
        "pyfunc PythonModel to explain them as a black box"
    )
