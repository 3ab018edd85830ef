"""Save a trained model as a directory of files plus a manifest, and load it back verified.

::

    from conveyor.models import save_model, load_model

    manifest = save_model(clf, Path("out/model"), input_example=X_train.head())
    model = load_model(Path("out/model"))        # every file's sha256 checked first
    model.predict(X_test)                        # DataFrame, dict records or 2-D array
    model.validate_input(bad_df)                 # [{"field": "age", "error": "missing"}]

No store or database is involved: the registry and run tracking call these functions with
a local directory and keep ``manifest.digest()`` (the sha256 of ``conveyor-model.json``) as
the model's identity.
"""

from __future__ import annotations

import json
import platform
import shutil
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from conveyor.config import get_settings
from conveyor.errors import Conflict, IntegrityError, ValidationFailed
from conveyor.models.flavors import detect_flavor, get_flavor
from conveyor.models.flavors.base import Predictor
from conveyor.models.manifest import MANIFEST_NAME, FileEntry, ModelManifest, hash_file
from conveyor.models.signature import (
    Signature,
    coerce_frame,
    infer_signature,
    to_frame,
    validate_frame,
)

__all__ = ["INPUT_EXAMPLE_FILE", "LoadedModel", "load_model", "save_model"]

INPUT_EXAMPLE_FILE = "input_example.json"
_BASE_PACKAGES = ("conveyor-mlops", "numpy", "pandas")


class LoadedModel:
    """A verified, loaded model with one prediction interface across flavors."""

    def __init__(self, manifest: ModelManifest, predictor: Predictor, path: Path) -> None:
        self.manifest = manifest
        self.path = path
        self._predictor = predictor
        self.signature: Signature | None = (
            None if manifest.signature is None else Signature.from_dict(manifest.signature)
        )
        self._columns = None if self.signature is None else self.signature.input_names

    @property
    def flavor(self) -> str:
        return self.manifest.flavor

    @property
    def native(self) -> Any:
        """The underlying model object (estimator, Booster, InferenceSession, PythonModel)."""
        return self._predictor.native

    @property
    def classes(self) -> np.ndarray | None:
        """Class labels of a classifier (the order of ``predict_proba`` columns), else None."""
        return self._predictor.classes

    @property
    def input_example(self) -> pd.DataFrame | None:
        """The input example stored with the model, if any."""
        if self.manifest.input_example is None:
            return None
        frame = _read_example(self.path / self.manifest.input_example)
        for spec in self.signature.inputs if self.signature else ():
            if spec.type == "datetime" and spec.name in frame.columns:
                frame[spec.name] = pd.to_datetime(frame[spec.name])  # JSON holds ISO text
        return frame

    def validate_input(self, data: Any) -> list[dict[str, str]]:
        """Field errors of ``data`` against the signature (empty list: acceptable).

        Each error is ``{"field": <column>, "error": <what is wrong>}``: ``missing``,
        ``unexpected (not in the signature)``, ``expected double, got string``, ``null values
        in a required column``. Without a signature every input is acceptable.
        """
        if self.signature is None:
            return []
        return validate_frame(to_frame(data, self._columns), self.signature.inputs)

    def prepare(self, data: Any) -> pd.DataFrame:
        """``data`` as a DataFrame in signature order and types; ValidationFailed if not."""
        frame = to_frame(data, self._columns)
        if self.signature is None:
            return frame
        errors = validate_frame(frame, self.signature.inputs)
        if errors:
            summary = "; ".join(f"{e['field']}: {e['error']}" for e in errors[:5])
            raise ValidationFailed(
                f"input does not match the model signature ({summary})",
                details={"errors": errors},
            )
        return coerce_frame(frame, self.signature.inputs)

    def predict(self, data: Any) -> np.ndarray | pd.DataFrame:
        """Predictions for a DataFrame, a list of dict records or a 2-D array.

        Returns a numpy array, or a DataFrame when the model has several named outputs.
        """
        result = self._predictor.predict(self.prepare(data))
        if isinstance(result, pd.DataFrame):
            return result
        array = np.asarray(result)
        outputs = self.signature.outputs if self.signature else None
        if (
            array.ndim == 2
            and outputs
            and len(outputs) == array.shape[1] > 1
            and all(o.name for o in outputs)
        ):
            return pd.DataFrame(array, columns=[o.name for o in outputs])
        return array

    def predict_proba(self, data: Any) -> np.ndarray:
        """Class probabilities, columns in the order of :attr:`classes`.

        ValidationFailed when the model is not a classifier with probabilities.
        """
        return np.asarray(self._predictor.predict_proba(self.prepare(data)))

    def __repr__(self) -> str:
        return f"LoadedModel(flavor={self.flavor!r}, path={str(self.path)!r})"


def _write_example(frame: pd.DataFrame, target: Path) -> None:
    text = frame.to_json(orient="split", index=False, date_format="iso", date_unit="ms")
    target.write_text(text + "\n", encoding="utf-8")


def _read_example(target: Path) -> pd.DataFrame:
    data = json.loads(target.read_text(encoding="utf-8"))
    return pd.DataFrame(data["data"], columns=data["columns"])


def _package_versions(names: Sequence[str]) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions


def _json_value(value: Any, what: str) -> Any:
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"{what} must be JSON-serialisable: {exc}") from exc


def _signature(value: Signature | Mapping[str, Any] | None) -> Signature | None:
    if value is None or isinstance(value, Signature):
        return value
    return Signature.from_dict(value)


def save_model(
    model: Any,
    path: Path,
    *,
    input_example: Any = None,
    signature: Signature | Mapping[str, Any] | None = None,
    flavor: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    pip_requirements: Sequence[str] | None = None,
    artifacts: Mapping[str, str | Path] | None = None,
) -> ModelManifest:
    """Write ``model`` into the new or empty directory ``path`` and return its manifest.

    - ``flavor``: a registered flavor name; detected from the model when omitted.
    - ``input_example``: a few rows (DataFrame, dict records, 2-D array) stored as
      ``input_example.json``. Without ``signature``, the signature is inferred from it and
      from the model's predictions on it.
    - ``signature``: a :class:`Signature` or its ``to_dict()`` form.
    - ``metadata``: JSON-able dict copied into the manifest.
    - ``pip_requirements``: requirement strings recorded for rebuilding the environment.
    - ``artifacts``: ``{name: file or folder}`` copied into the package (pyfunc only).

    The manifest file ``conveyor-model.json`` is written last; its sha256
    (``manifest.digest()``) identifies the model.
    """
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise Conflict(f"{path} already exists and is not empty; save the model to a new directory")
    name = flavor or detect_flavor(model)
    impl = get_flavor(name)
    if artifacts and name != "pyfunc":
        raise ValidationFailed("artifacts= is only for custom Python models (flavor 'pyfunc')")
    created_dir = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    try:
        return _save(
            model,
            path,
            name,
            impl,
            input_example,
            _signature(signature),
            metadata,
            pip_requirements,
            artifacts,
        )
    except BaseException:
        if created_dir:
            shutil.rmtree(path, ignore_errors=True)
        else:
            for child in path.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        raise


def _save(
    model: Any,
    path: Path,
    name: str,
    impl: Any,
    input_example: Any,
    signature: Signature | None,
    metadata: Mapping[str, Any] | None,
    pip_requirements: Sequence[str] | None,
    artifacts: Mapping[str, str | Path] | None,
) -> ModelManifest:
    options = (
        impl.save(model, path, artifacts=artifacts) if name == "pyfunc" else impl.save(model, path)
    )
    options = _json_value(options, f"options of flavor {name!r}")
    example_file = None
    if input_example is not None:
        frame = to_frame(input_example, signature.input_names if signature else None)
        _write_example(frame, path / INPUT_EXAMPLE_FILE)
        example_file = INPUT_EXAMPLE_FILE
        if signature is None:
            inputs_only = infer_signature(frame)
            predictor = impl.load(path, options, allow_pickle=True)
            probe = LoadedModel(
                _manifest(name, options, (), inputs_only, None, {}, None), predictor, path
            )
            output = probe.predict(frame)
            signature = infer_signature(frame, output)
        else:
            errors = validate_frame(frame, signature.inputs)
            if errors:
                raise ValidationFailed(
                    "input_example does not match the signature", details={"errors": errors}
                )
    files = tuple(
        FileEntry(p.relative_to(path).as_posix(), *hash_file(p))
        for p in sorted(path.rglob("*"))
        if p.is_file() and p.relative_to(path).as_posix() != MANIFEST_NAME
    )
    manifest = _manifest(
        name,
        options,
        files,
        signature,
        example_file,
        _json_value(dict(metadata or {}), "metadata"),
        None if pip_requirements is None else [str(r) for r in pip_requirements],
        packages=_package_versions((*_BASE_PACKAGES, *impl.packages)),
    )
    (path / MANIFEST_NAME).write_bytes(manifest.to_bytes())
    return manifest


def _manifest(
    name: str,
    options: dict[str, Any],
    files: tuple[FileEntry, ...],
    signature: Signature | None,
    example_file: str | None,
    metadata: dict[str, Any],
    pip_requirements: list[str] | None,
    packages: dict[str, str] | None = None,
) -> ModelManifest:
    return ModelManifest(
        flavor=name,
        flavor_options=options,
        files=files,
        signature=None if signature is None else signature.to_dict(),
        input_example=example_file,
        python_version=platform.python_version(),
        packages=packages or {},
        pip_requirements=pip_requirements,
        created=datetime.now(UTC).isoformat(timespec="milliseconds"),
        metadata=metadata,
    )


def load_model(path: Path, *, allow_pickle: bool | None = None) -> LoadedModel:
    """Load the model saved in ``path`` after verifying every file against the manifest.

    Raises IntegrityError (naming the file, expected and actual sha256) when a file was
    changed or is missing, ValidationFailed for an unknown flavor or a newer format
    version, PermissionDenied when the model needs pickle and it is not allowed.
    ``allow_pickle=None`` takes the ``allow_pickle`` setting (``CONVEYOR_ALLOW_PICKLE``,
    default off).
    """
    path = Path(path)
    manifest = ModelManifest.read(path)
    impl = get_flavor(manifest.flavor)
    for entry in manifest.files:
        entry.verify(path)
    options = dict(manifest.flavor_options)
    for rel in impl.referenced_files(options):
        if not manifest.covers(rel):
            raise IntegrityError(
                f"the {manifest.flavor} flavor would read {rel!r}, which the manifest does not "
                "list with a sha256; refusing to load unverified files. Save the model again.",
                details={"file": rel, "expected": None, "actual": None},
            )
    if allow_pickle is None:
        allow_pickle = bool(get_settings().allow_pickle)
    predictor = impl.load(path, options, allow_pickle=allow_pickle)
    return LoadedModel(manifest, cast(Predictor, predictor), path)
