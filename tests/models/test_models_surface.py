"""The public surface of conveyor.models, pinned: changing it is a deliberate act."""

from __future__ import annotations

import conveyor.models as models


def test_exported_names() -> None:
    assert models.__all__ == [
        "FLAVORS",
        "FORMAT_VERSION",
        "MANIFEST_NAME",
        "ColSpec",
        "CompiledModel",
        "FileEntry",
        "Flavor",
        "LoadedModel",
        "ModelManifest",
        "ParityReport",
        "Predictor",
        "PythonModel",
        "PythonModelContext",
        "Signature",
        "compile_to_onnx",
        "infer_signature",
        "load_model",
        "parity_check",
        "register_flavor",
        "save_model",
    ]
    for name in models.__all__:
        assert getattr(models, name) is not None


def test_builtin_flavors_are_registered_lazily() -> None:
    assert list(models.FLAVORS)[:5] == ["pyfunc", "onnx", "lightgbm", "xgboost", "sklearn"]
    assert all(":" in target for target in models.FLAVORS.values())
