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
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, cast

from conveyor.config import get_settings
from conveyor.errors import Conflict, ConveyorError, IntegrityError, ValidationFailed
from conveyor.models.flavors import detect_flavor, get_flavor
from conveyor.models.flavors.base import Predictor
from conveyor.models.loaded import INPUT_EXAMPLE_FILE, LoadedModel, write_example
from conveyor.models.manifest import MANIFEST_NAME, FileEntry, ModelManifest, hash_file
from conveyor.models.signature import Signature, infer_signature, to_frame, validate_frame

__all__ = ["check_model", "load_model", "save_model"]

_BASE_PACKAGES = ("conveyor-mlops", "numpy", "pandas")


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


def _unsaveable(model: Any, flavor: str, exc: Exception) -> ValidationFailed:
    return ValidationFailed(
        f"cannot store the {type(model).__name__} model safely in the {flavor!r} flavor: "
        f"{type(exc).__name__}: {exc}. Lambdas and functions defined in __main__ or a "
        "notebook cannot be stored safely; move them into an importable module, or wrap the "
        "model as a custom Python model (flavor 'pyfunc').",
        details={"flavor": flavor, "cause": type(exc).__name__},
    )


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
    try:
        options = (
            impl.save(model, path, artifacts=artifacts)
            if name == "pyfunc"
            else impl.save(model, path)
        )
    except ConveyorError:
        raise
    except Exception as exc:  # the serialiser's own words, with what to do about them
        raise _unsaveable(model, name, exc) from exc
    options = _json_value(options, f"options of flavor {name!r}")
    example_file = None
    if input_example is not None:
        frame = to_frame(input_example, signature.input_names if signature else None)
        write_example(frame, path / INPUT_EXAMPLE_FILE)
        example_file = INPUT_EXAMPLE_FILE
        if signature is None:
            inputs_only = infer_signature(frame)
            try:
                predictor = impl.load(path, options, allow_pickle=True)
            except ConveyorError:
                raise
            except Exception as exc:  # saved, but it would not load back: say why
                raise _unsaveable(model, name, exc) from exc
            probe = LoadedModel(
                _manifest(name, options, (), inputs_only, None, {}, None), predictor, path
            )
            try:
                output = probe.predict(frame)
            except ConveyorError:
                raise
            except Exception as exc:
                raise ValidationFailed(
                    f"the model cannot predict on input_example: {type(exc).__name__}: {exc}. "
                    "Pass an example shaped like the training data (a DataFrame with the "
                    "same column names and types, e.g. X_train.head()).",
                    details={"columns": [str(c) for c in frame.columns]},
                ) from exc
            try:
                signature = infer_signature(frame, output)
            except ValidationFailed:  # outputs of a kind signatures cannot describe
                signature = inputs_only
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
    _check_referenced(manifest, impl, options)
    if allow_pickle is None:
        allow_pickle = bool(get_settings().allow_pickle)
    predictor = impl.load(path, options, allow_pickle=allow_pickle)
    return LoadedModel(manifest, cast(Predictor, predictor), path)


def check_model(manifest_bytes: bytes, read: Callable[[str, str], bytes]) -> ModelManifest:
    """Check a stored model is safe to load, without loading it (what registration runs).

    ``read(rel_path, sha256)`` returns the bytes of the model's file ``rel_path`` whose
    manifest entry says ``sha256`` (the store verifies them). Raises ValidationFailed for a
    bad manifest or unknown flavor, IntegrityError for a file the manifest does not list,
    PermissionDenied for a file naming types this machine does not trust.
    """
    try:
        data = json.loads(manifest_bytes)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(
            f"{MANIFEST_NAME} is not valid JSON ({exc}); log the model again"
        ) from exc
    manifest = ModelManifest.from_dict(data)
    impl = get_flavor(manifest.flavor)
    options = dict(manifest.flavor_options)
    _check_referenced(manifest, impl, options)

    def read_listed(rel: str) -> bytes:
        entry = manifest.file(rel)
        return read(entry.path, entry.sha256)

    impl.check_files(options, read_listed)
    return manifest


def _check_referenced(manifest: ModelManifest, impl: Any, options: dict[str, Any]) -> None:
    for rel in impl.referenced_files(options):
        if not manifest.covers(rel):
            raise IntegrityError(
                f"the {manifest.flavor} flavor would read {rel!r}, which the manifest does not "
                "list with a sha256; refusing to load unverified files. Save the model again.",
                details={"file": rel, "expected": None, "actual": None},
            )
