"""Model packaging: flavors, signatures, verified loading, ONNX compilation.

Turns a trained model into a directory of files plus ``conveyor-model.json`` and back,
with no store or database involved. See ``docs/models.md``.
"""

from conveyor.models.flavors import FLAVORS, Flavor, Predictor, register_flavor
from conveyor.models.loaded import LoadedModel
from conveyor.models.manifest import FORMAT_VERSION, MANIFEST_NAME, FileEntry, ModelManifest
from conveyor.models.onnx_compile import CompiledModel, ParityReport, compile_to_onnx, parity_check
from conveyor.models.package import load_model, save_model
from conveyor.models.pyfunc import PythonModel, PythonModelContext
from conveyor.models.signature import ColSpec, Signature, infer_signature

__all__ = [
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
