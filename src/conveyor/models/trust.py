"""Which object types a skops model file may create: decided by the loading side only.

A skops file names the types it needs; loading creates them, and some node kinds *call*
them with arguments from the file (``timeit.timeit("pass", "<code>")`` runs code). So the
list of types to trust never comes from the artifact (the manifest's ``trusted_types`` is
informational). A type is trusted when:

- skops trusts it by default (``skops.io.get_untrusted_types`` does not report it), or
- it is on Conveyor's allowlist: *classes* of scikit-learn, LightGBM and XGBoost that are
  estimators or transformers (``sklearn.base.BaseEstimator`` subclasses), the fitted-model
  helpers scikit-learn stores inside them (``Tree``, ``TreePredictor``, KD/ball trees,
  distance metrics, losses, links), numpy arrays, dtypes, scalars and random generators,
  scipy sparse matrices, the LightGBM/XGBoost boosters, ``collections.OrderedDict``, and
  the univariate score functions of ``sklearn.feature_selection`` (``SelectKBest``'s
  defaults), or
- the operator lists it in the ``trusted_model_types`` setting (exact names, or a module
  prefix ending in ``.*``).

Everything else — any other function, any class outside those families (``numpy.memmap``
writes files, ``subprocess.Popen`` runs programs) — is refused before anything is created,
with a message naming the type and the setting. Types that run code, touch files or the
process (``builtins.eval``, ``os.*``, ``subprocess.*``, ``importlib.*``, ``operator.*`` ...)
are refused even when the setting lists them.

Residual risk, documented in docs/models.md: skops itself does not trust ``Tree`` and
``TreePredictor`` by default because their node indices are not bounds-checked, so a crafted
file can crash the process at ``predict`` (no code runs). Conveyor trusts them so that tree
models load; only users who can log runs can plant such a file.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Iterable
from typing import Any

from conveyor.config import get_settings
from conveyor.errors import ConveyorError, IntegrityError, PermissionDenied

__all__ = ["NEVER_TRUSTED", "SETTING", "check_types", "is_allowed", "skops_trusted_list"]

SETTING = "trusted_model_types"
_ENV = "CONVEYOR_TRUSTED_MODEL_TYPES"

#: prefixes refused whatever the setting says: these run code or touch the system
NEVER_TRUSTED = (
    "builtins.",
    "os.",
    "posix.",
    "nt.",
    "subprocess.",
    "sys.",
    "shutil.",
    "importlib.",
    "pickle.",
    "marshal.",
    "socket.",
    "runpy.",
    "code.",
    "codeop.",
    "timeit.",
    "operator.",
    "functools.",
    "ctypes.",
    "pty.",
    "multiprocessing.",
    "tempfile.",
    "io.",
    "pathlib.",
)

#: top-level packages whose objects the default allowlist may resolve (imported to check)
_PACKAGES = frozenset({"sklearn", "numpy", "scipy", "lightgbm", "xgboost", "collections"})


def _families() -> tuple[type, ...]:
    """Base classes whose subclasses in the allowed packages are trusted."""
    import numpy as np
    import scipy.sparse
    import sklearn.base
    from sklearn._loss.link import BaseLink, Interval
    from sklearn._loss.loss import BaseLoss
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
    from sklearn.metrics import DistanceMetric
    from sklearn.neighbors import BallTree, KDTree
    from sklearn.tree._tree import Tree

    sparse_base: Any = getattr(scipy.sparse, "_base")._spbase  # noqa: B009 - private on purpose
    return (
        sklearn.base.BaseEstimator,
        Tree,
        TreePredictor,
        KDTree,
        BallTree,
        DistanceMetric,
        BaseLoss,
        BaseLink,
        Interval,
        np.dtype,
        np.generic,
        np.random.RandomState,
        np.random.Generator,
        np.random.BitGenerator,
        np.random.SeedSequence,
        sparse_base,
    )


def _exact() -> tuple[Any, ...]:
    """Objects trusted as themselves (not their subclasses)."""
    import collections

    import numpy as np
    from sklearn import feature_selection as fs

    objects: list[Any] = [np.ndarray, np.matrix, np.ma.MaskedArray, collections.OrderedDict]
    objects += [fs.f_classif, fs.f_regression, fs.r_regression, fs.chi2, fs.f_oneway]
    objects += [fs.mutual_info_classif, fs.mutual_info_regression]
    for module, name in (("lightgbm", "Booster"), ("xgboost", "Booster")):
        try:
            objects.append(getattr(importlib.import_module(module), name))
        except ImportError:
            continue
    return tuple(objects)


_cache: dict[str, bool] = {}


def _resolve(name: str) -> Any:
    """The object skops would create for ``name`` (module = up to the last dot), or None.

    Only modules of the allowed packages are imported; anything else is not resolved.
    """
    module, _, attr = name.rpartition(".")
    if not module or module.split(".")[0] not in _PACKAGES:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return getattr(importlib.import_module(module), attr, None)
    except Exception:  # an unimportable module cannot be what the file needs
        return None


def _default_allowed(name: str) -> bool:
    if name not in _cache:
        obj = _resolve(name)
        if obj is None:
            allowed = False
        elif any(obj is o for o in _exact()):
            allowed = True
        else:
            top = str(getattr(obj, "__module__", "")).split(".")[0]
            allowed = (
                isinstance(obj, type)
                and top in _PACKAGES
                and issubclass(obj, _families())
                and not issubclass(obj, _never_classes())
            )
        _cache[name] = allowed
    return _cache[name]


def _never_classes() -> tuple[type, ...]:
    """Subclasses of trusted families that are still refused (they open or write files)."""
    import numpy as np

    return (np.memmap,)


def _operator_patterns() -> list[str]:
    return list(get_settings().trusted_model_types)


def _operator_allowed(name: str, patterns: Iterable[str]) -> bool:
    for pattern in patterns:
        if pattern.endswith(".*") and name.startswith(pattern[:-1]):
            return True
        if name == pattern:
            return True
    return False


def is_allowed(name: str) -> bool:
    """True when the loading side trusts the type ``name`` (skops' own defaults aside)."""
    if name.startswith(NEVER_TRUSTED):
        return False
    return _default_allowed(name) or _operator_allowed(name, _operator_patterns())


def _kind(name: str) -> str:
    if "<lambda>" in name or "<locals>" in name or name.startswith("__main__."):
        return (
            "a lambda or a function defined in __main__ or a notebook, which cannot be stored "
            "safely: move it into an importable module"
        )
    obj = _resolve(name)
    if obj is None:
        return "not a known scikit-learn/numpy/scipy/LightGBM/XGBoost type"
    return "a class outside the trusted families" if isinstance(obj, type) else "a function"


def check_types(
    types: Iterable[str], *, file: str, error: type[ConveyorError] = PermissionDenied
) -> list[str]:
    """``types`` (what skops does not trust by default) if every one is allowed, else
    ``error`` (PermissionDenied on load, ValidationFailed when saving) naming each refused
    type and the setting that would allow it."""
    found = sorted(set(types))
    never = [t for t in found if t.startswith(NEVER_TRUSTED)]
    refused = [t for t in found if not is_allowed(t)]
    if not refused:
        return found
    never_note = f"runs code or touches the system: never trusted, even through {SETTING}"
    described = "; ".join(f"{t} ({never_note if t in never else _kind(t)})" for t in refused)
    hint = (
        f"If you trust the code behind a type, an operator can add its full name to the "
        f"`{SETTING}` setting ({_ENV}, comma-separated; `package.module.*` trusts a module) "
        "on every machine that loads the model — the uploader cannot."
    )
    raise error(
        f"{file} would create objects of types Conveyor does not trust: {described}. Nothing "
        "was loaded. Only scikit-learn, LightGBM and XGBoost estimators and the numpy/scipy "
        f"array types they hold are trusted by default; the model's own list of trusted types "
        f"is never used. {hint}",
        details={"file": file, "types": refused, "setting": SETTING, "env": _ENV},
    )


def skops_trusted_list(
    data: bytes, *, file: str, error: type[ConveyorError] = PermissionDenied
) -> list[str]:
    """The ``trusted=`` list to load the skops bytes ``data`` with (checked by this policy)."""
    import skops.io as sio

    try:
        found = sio.get_untrusted_types(data=data)
    except Exception as exc:  # not a skops file we can even read the schema of
        raise IntegrityError(
            f"{file} is not a readable skops file ({type(exc).__name__}: {exc}); save the "
            "model again",
            details={"file": file},
        ) from exc
    return check_types(found, file=file, error=error)
