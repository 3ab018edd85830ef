"""``conveyor.autolog()``: log params, training metrics, the model and its input dataset
whenever a scikit-learn, LightGBM or XGBoost model is trained.

It wraps the training entry points — every scikit-learn estimator's ``fit`` (found with
``sklearn.utils.all_estimators``), the scikit-learn wrappers of LightGBM and XGBoost, and
``lightgbm.train`` / ``xgboost.train`` — and keeps the originals, so
``autolog(disable=True)`` puts everything back. Only the outermost call logs (a
``Pipeline`` logs once, not once per step). A fit outside a run gets a run of its own,
ended when the fit returns; inside a run, it logs to that run. A logging failure never
breaks training: it becomes a warning.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from conveyor.errors import ValidationFailed

__all__ = ["FLAVORS", "autolog"]

FLAVORS = ("sklearn", "lightgbm", "xgboost")
_INPUT_ROWS = 5


@dataclass
class _Config:
    log_models: bool = True
    log_datasets: bool = True
    log_input_examples: bool = False
    exclusive: bool = False
    silent: bool = False
    extra_tags: dict[str, str] = field(default_factory=dict)
    registered_model_name: str | None = None


_config = _Config()
_patches: list[tuple[Any, str, Any]] = []
_lock = threading.Lock()
_local = threading.local()


def autolog(
    *,
    log_models: bool = True,
    log_datasets: bool = True,
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    silent: bool = False,
    extra_tags: dict[str, Any] | None = None,
    registered_model_name: str | None = None,
    exclude_flavors: list[str] | None = None,
    disable_for_unsupported_versions: bool = False,
    log_traces: bool = False,
) -> None:
    """Log every scikit-learn, LightGBM and XGBoost training from now on (MLflow's
    ``mlflow.autolog``): params, training metrics (per iteration for boosters with
    validation sets), the model with its signature, and the training data as a dataset
    version linked to the run. ``autolog(disable=True)`` restores the original methods.
    """
    if not log_model_signatures:
        raise ValidationFailed(
            "log_model_signatures=False is not supported: Conveyor serves and checks models by "
            "their signature, so autolog always records one"
        )
    if log_traces:
        raise ValidationFailed("log_traces is not supported: Conveyor has no tracing (yet)")
    excluded = set(exclude_flavors or [])
    if unknown := excluded - set(FLAVORS):
        raise ValidationFailed(
            f"unknown flavors in exclude_flavors: {sorted(unknown)}; use some of {FLAVORS}"
        )
    del disable_for_unsupported_versions  # every installed version is patched the same way
    global _config
    with _lock:
        _unpatch()
        if disable:
            return
        _config = _Config(
            log_models=log_models,
            log_datasets=log_datasets,
            log_input_examples=log_input_examples,
            exclusive=exclusive,
            silent=silent,
            extra_tags={k: str(v) for k, v in (extra_tags or {}).items()},
            registered_model_name=registered_model_name,
        )
        for flavor in FLAVORS:
            if flavor not in excluded and importlib.util.find_spec(flavor) is not None:
                _PATCHERS[flavor]()


def _unpatch() -> None:
    while _patches:
        owner, attr, original = _patches.pop()
        setattr(owner, attr, original)


def _patch(owner: Any, attr: str, make: Callable[[Any], Any]) -> None:
    original = owner.__dict__[attr] if isinstance(owner, type) else getattr(owner, attr)
    wrapper = make(original)
    functools.update_wrapper(wrapper, original)
    wrapper.__conveyor_autolog__ = True
    setattr(owner, attr, wrapper)
    _patches.append((owner, attr, original))


# -- the run a training logs to ---------------------------------------------------------------
@contextmanager
def _outermost() -> Iterator[bool]:
    """True for the outermost patched call of this thread (the one that logs)."""
    depth = getattr(_local, "depth", 0)
    _local.depth = depth + 1
    try:
        yield depth == 0
    finally:
        _local.depth = depth


def _train_and_log(train: Callable[[], Any], log: Callable[[Any], None]) -> Any:
    """Run ``train`` in the active run (or a new one) and ``log`` its result there."""
    from conveyor.tracking import fluent

    with _outermost() as outermost:
        active = fluent.active_run()
        if not outermost or (active is not None and _config.exclusive):
            return train()
        own = active is None
        if own:
            fluent.start_run(tags={"conveyor.autolog": "true", **_config.extra_tags})
        try:
            result = train()
        except BaseException:
            if own:
                fluent.end_run("FAILED")
            raise
        try:
            log(result)
        except Exception as exc:  # autolog must never break a training that succeeded
            if not _config.silent:
                warnings.warn(
                    f"conveyor.autolog could not log this training: {type(exc).__name__}: {exc}",
                    stacklevel=3,
                )
        finally:
            if own:
                fluent.end_run()
        return result


# -- what gets logged ---------------------------------------------------------------------
def _frame(data: Any) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if hasattr(data, "toarray"):  # scipy sparse
        data = data.toarray()
    array = np.asarray(data)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    return pd.DataFrame(array, columns=[f"f{i}" for i in range(array.shape[1])])


def _log_params(params: dict[str, Any]) -> None:
    from conveyor.tracking import fluent
    from conveyor.tracking.validation import MAX_PARAM_LENGTH

    fluent.log_params({k: str(v)[:MAX_PARAM_LENGTH] for k, v in params.items()})


def _log_dataset(x: Any, y: Any) -> None:
    import pandas as pd

    from conveyor.data.sdk import log_dataset

    frame = _frame(x).copy()
    if y is not None:
        target = pd.Series(getattr(y, "values", y)).reset_index(drop=True)
        frame = frame.reset_index(drop=True)
        frame["target" if "target" not in frame else "__target__"] = target
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).values.tobytes())
    log_dataset(frame, f"autolog-{digest.hexdigest()[:12]}", source="conveyor.autolog")


def _log_model(model: Any, x: Any, predict: Callable[[Any], Any]) -> None:
    from conveyor.models.signature import infer_signature
    from conveyor.tracking.model_logging import log_model

    head = _frame(x).head(_INPUT_ROWS)
    signature = infer_signature(head, predict(head))
    log_model(
        model,
        "model",
        signature=signature,
        input_example=head if _config.log_input_examples else None,
        registered_model_name=_config.registered_model_name,
    )


def _log_common(model: Any, x: Any, y: Any, predict: Callable[[Any], Any]) -> None:
    if _config.log_datasets and x is not None:
        _log_dataset(x, y)
    if _config.log_models and x is not None:
        _log_model(model, x, predict)


def _training_metrics(model: Any, x: Any, y: Any) -> dict[str, float]:
    """MLflow's ``training_*`` metrics of a fitted scikit-learn-style estimator."""
    from sklearn import base, metrics

    if y is None or not hasattr(model, "predict"):
        return {}
    predicted = model.predict(x)
    if base.is_classifier(model):
        return {
            "training_accuracy_score": metrics.accuracy_score(y, predicted),
            "training_precision_score": metrics.precision_score(
                y, predicted, average="weighted", zero_division=0
            ),
            "training_recall_score": metrics.recall_score(
                y, predicted, average="weighted", zero_division=0
            ),
            "training_f1_score": metrics.f1_score(y, predicted, average="weighted"),
        }
    if base.is_regressor(model):
        mse = metrics.mean_squared_error(y, predicted)
        return {
            "training_mean_squared_error": mse,
            "training_root_mean_squared_error": mse**0.5,
            "training_mean_absolute_error": metrics.mean_absolute_error(y, predicted),
            "training_r2_score": metrics.r2_score(y, predicted),
        }
    return {}


def _log_history(history: dict[str, dict[str, list[float]]], sep: str = "-") -> None:
    """Per-iteration evaluation results (``{valid_set: {metric: [values]}}``) as steps."""
    from conveyor.tracking import fluent

    for data_name, by_metric in history.items():
        for metric, values in by_metric.items():
            for step, value in enumerate(values):
                fluent.log_metric(f"{data_name}{sep}{metric}", float(value), step=step)


def _xy(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any]:
    x = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    return x, y


def _fit_wrapper(original: Any) -> Any:
    """``Estimator.fit`` that logs params, training metrics, the dataset and the model."""

    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        x, y = _xy(args, kwargs)

        def log(_: Any) -> None:
            from conveyor.tracking import fluent

            _log_params(self.get_params(deep=True))
            metrics = _training_metrics(self, x, y)
            if hasattr(self, "score") and y is not None:
                metrics["training_score"] = float(self.score(x, y))
            fluent.log_metrics({k: float(v) for k, v in metrics.items()})
            history = getattr(self, "evals_result_", None)
            if isinstance(history, dict):
                _log_history(history)
            _log_common(self, x, y, self.predict)

        return _train_and_log(lambda: original(self, *args, **kwargs), log)

    return fit


# -- patchers, one per library ------------------------------------------------------------
def _patch_estimators(classes: list[type]) -> None:
    """Wrap ``fit`` where each class gets it from (often an abstract base such as
    ``BaseForest``), once per defining class."""
    owners = {next((c for c in cls.__mro__ if "fit" in c.__dict__), None) for cls in classes}
    for owner in owners:
        if owner is not None and not getattr(owner.__dict__["fit"], "__conveyor_autolog__", 0):
            _patch(owner, "fit", _fit_wrapper)


def _patch_sklearn() -> None:
    from sklearn.utils import all_estimators

    classes = [cls for _, cls in all_estimators()]
    import sklearn.pipeline

    _patch_estimators([*classes, sklearn.pipeline.Pipeline])


def _subclasses(module: Any, base: type) -> list[type]:
    return [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, base) and obj.__module__ == module.__name__
    ]


def _patch_lightgbm() -> None:
    import lightgbm
    import lightgbm.sklearn

    _patch_estimators(_subclasses(lightgbm.sklearn, lightgbm.sklearn.LGBMModel))

    def make(original: Any) -> Any:
        def train(params: dict[str, Any], train_set: Any, *args: Any, **kwargs: Any) -> Any:
            history: dict[str, Any] = {}
            callbacks = [
                *(kwargs.pop("callbacks", None) or []),
                lightgbm.record_evaluation(history),
            ]
            x, y = train_set.data, train_set.label  # read before training frees the raw data

            def log(booster: Any) -> None:
                _log_params({**params, "num_boost_round": kwargs.get("num_boost_round", 100)})
                _log_history(history)
                data = x if x is None or not isinstance(x, str) else None  # a file path: skip
                _log_common(booster, data, y, booster.predict)

            return _train_and_log(
                lambda: original(params, train_set, *args, callbacks=callbacks, **kwargs), log
            )

        return train

    _patch(lightgbm, "train", make)


def _patch_xgboost() -> None:
    import xgboost
    import xgboost.sklearn

    _patch_estimators(_subclasses(xgboost.sklearn, xgboost.sklearn.XGBModel))

    def make(original: Any) -> Any:
        def train(params: dict[str, Any], dtrain: Any, *args: Any, **kwargs: Any) -> Any:
            history: dict[str, Any] = kwargs.pop("evals_result", None)
            history = {} if history is None else history

            def log(booster: Any) -> None:
                import pandas as pd

                _log_params({**params, "num_boost_round": kwargs.get("num_boost_round", 10)})
                _log_history(history)
                names = dtrain.feature_names
                x = pd.DataFrame(dtrain.get_data().toarray(), columns=names)
                _log_common(
                    booster, x, dtrain.get_label(), lambda f: booster.predict(xgboost.DMatrix(f))
                )

            return _train_and_log(
                lambda: original(params, dtrain, *args, evals_result=history, **kwargs), log
            )

        return train

    _patch(xgboost, "train", make)


_PATCHERS: dict[str, Callable[[], None]] = {
    "sklearn": _patch_sklearn,
    "lightgbm": _patch_lightgbm,
    "xgboost": _patch_xgboost,
}
