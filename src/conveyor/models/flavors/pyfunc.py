"""pyfunc flavor: a :class:`conveyor.models.PythonModel` stored by reference, not pickled.

The manifest records the class as ``module:qualname`` and the instance attributes when they
are plain JSON values; loading imports the class, restores the attributes (``__init__`` is
not called) and calls ``load_context``. Artifacts given at save time are copied under
``artifacts/<name>/`` and hashed like every other file. Only when the instance holds values
JSON cannot represent is it pickled, and such a model loads only with pickle allowed.
"""

from __future__ import annotations

import importlib
import json
import pickle
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from conveyor.errors import PermissionDenied, ValidationFailed
from conveyor.models.flavors.base import Flavor, Predictor
from conveyor.models.pyfunc import PythonModel, PythonModelContext

__all__ = ["PyfuncFlavor", "PyfuncPredictor"]

PICKLE_FILE = "python_model.pkl"
_ARTIFACT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")


def _import_class(ref: str) -> type:
    module_name, _, qualname = ref.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ValidationFailed(
            f"cannot import the custom model class {ref!r} ({exc}); install the package that "
            "defines it in this environment"
        ) from exc
    if not (isinstance(obj, type) and issubclass(obj, PythonModel)):
        raise ValidationFailed(f"{ref} is not a conveyor.models.PythonModel subclass")
    return obj


def _json_state(model: PythonModel) -> dict[str, Any] | None:
    state = dict(vars(model))
    try:
        return state if json.loads(json.dumps(state)) == state else None
    except (TypeError, ValueError):
        return None


class PyfuncPredictor(Predictor):
    def __init__(self, model: PythonModel, context: PythonModelContext) -> None:
        self._model = model
        self.context = context

    @property
    def native(self) -> Any:
        return self._model

    def predict(self, frame: pd.DataFrame) -> Any:
        return self._model.predict(self.context, frame)

    def predict_proba(self, frame: pd.DataFrame) -> Any:
        try:
            return self._model.predict_proba(self.context, frame)
        except NotImplementedError:
            return super().predict_proba(frame)


class PyfuncFlavor(Flavor):
    name = "pyfunc"

    def detect(self, model: Any) -> bool:
        return isinstance(model, PythonModel)

    def save(
        self, model: Any, path: Path, *, artifacts: Mapping[str, str | Path] | None = None
    ) -> dict[str, Any]:
        cls = type(model)
        ref = f"{cls.__module__}:{cls.__qualname__}"
        if cls.__module__ == "__main__" or "<locals>" in cls.__qualname__:
            raise ValidationFailed(
                f"custom model class {ref} cannot be imported when the model is loaded; define "
                "it at the top level of a module in an installed package"
            )
        if _import_class(ref) is not cls:
            raise ValidationFailed(f"{ref} imports as a different class than the one saved")
        options: dict[str, Any] = {"python_model": ref, "artifacts": {}}
        state = _json_state(model)
        if state is None:
            (path / PICKLE_FILE).write_bytes(pickle.dumps(model, protocol=5))
            options["pickle"] = PICKLE_FILE
        else:
            options["state"] = state
        for name, source in (artifacts or {}).items():
            if not _ARTIFACT_NAME.match(name):
                raise ValidationFailed(f"bad artifact name {name!r}: use letters, digits, _.-")
            source = Path(source)
            if not source.exists():
                raise ValidationFailed(f"artifact {name!r}: {source} does not exist")
            dest = path / "artifacts" / name / source.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, dest)
            else:
                shutil.copyfile(source, dest)
            options["artifacts"][name] = dest.relative_to(path).as_posix()
        return options

    def referenced_files(self, options: dict[str, Any]) -> list[str]:
        refs = [str(v) for v in (options.get("artifacts") or {}).values()]
        return refs + ([str(options["pickle"])] if options.get("pickle") else [])

    def pickle_format(self, options: dict[str, Any]) -> str | None:
        return "pickle" if options.get("pickle") else None

    def load(self, path: Path, options: dict[str, Any], *, allow_pickle: bool) -> Predictor:
        ref = str(options.get("python_model", ""))
        cls = _import_class(ref)
        model: PythonModel
        if options.get("pickle"):
            if not allow_pickle:
                raise PermissionDenied(
                    f"this custom model ({ref}) was stored with pickle, which can run arbitrary "
                    "code when loaded. Load it only if you trust its source: pass "
                    "allow_pickle=True or set CONVEYOR_ALLOW_PICKLE=1.",
                    details={"flavor": "pyfunc", "file": str(options["pickle"])},
                )
            model = pickle.loads((path / str(options["pickle"])).read_bytes())
            if not isinstance(model, cls):
                raise ValidationFailed(f"{options['pickle']} does not hold a {ref} instance")
        else:
            model = object.__new__(cls)
            model.__dict__.update(options.get("state") or {})
        context = PythonModelContext(
            artifacts={k: path / str(v) for k, v in (options.get("artifacts") or {}).items()},
            model_dir=path,
        )
        model.load_context(context)
        return PyfuncPredictor(model, context)
