"""Step values: how an output is stored and loaded back, and the content hash of an input.

An output is stored under the step's tracked run and described by a small JSON
*descriptor* (kept on the step's row), which is all a cache hit needs to load it back:

=========================  ===========  ==================================================
value                      ``kind``     stored as
=========================  ===========  ==================================================
None, bool, int, float,    ``json``     canonical JSON (inline in the descriptor when
str, list, dict (str keys)              small; always also the run artifact
                                        ``outputs/<name>.json``)
pandas DataFrame           ``dataset``  a dataset version named ``<pipeline>.<step>``
numpy array (no objects)   ``numpy``    ``.npy`` written with ``allow_pickle=False``
pyarrow Table              ``arrow``    Arrow IPC stream
a model a flavor can save  ``model``    a logged model under ``outputs/<name>/``
tuple                      ``tuple``    each item by the rules above
=========================  ===========  ==================================================

Nothing is pickled. Anything else is :class:`UnserializableOutput`, naming the step and
the type. Every descriptor carries ``sha256``: the content hash a later step uses as
its input hash.
"""

from __future__ import annotations

import hashlib
import io
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conveyor._util import canonical_json
from conveyor.errors import ValidationFailed

__all__ = [
    "UnserializableOutput",
    "decode",
    "encode",
    "input_hash",
    "is_json_value",
    "model_input_example",
]

_INLINE_LIMIT = 64 * 1024


class UnserializableOutput(ValidationFailed):
    """A step returned a value that Conveyor cannot store without pickle."""


def is_json_value(value: Any, depth: int = 0) -> bool:
    """True when ``value`` round-trips through JSON unchanged (finite floats, str keys)."""
    if value is None or isinstance(value, bool | int | str):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if depth > 50:
        return False
    if isinstance(value, list):
        return all(is_json_value(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_json_value(v, depth + 1) for k, v in value.items())
    return False


def _type_name(value: Any) -> str:
    cls = type(value)
    return (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )


def _kind(value: Any) -> str | None:
    if is_json_value(value):
        return "json"
    module = type(value).__module__.partition(".")[0]
    if module == "pandas":
        import pandas as pd

        if isinstance(value, pd.DataFrame):
            return "dataset"
    if module == "numpy":
        import numpy as np

        if isinstance(value, np.ndarray) and not value.dtype.hasobject:
            return "numpy"
    if module == "pyarrow":
        import pyarrow as pa

        if isinstance(value, pa.Table):
            return "arrow"
    if isinstance(value, tuple):
        return "tuple"
    return None


def _frame_hash(frame: Any) -> str:
    import pandas as pd

    h = hashlib.sha256()
    h.update(canonical_json([[str(c), str(t)] for c, t in frame.dtypes.items()]))
    h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return h.hexdigest()


def _npy(value: Any) -> bytes:
    import numpy as np

    buf = io.BytesIO()
    np.save(buf, value, allow_pickle=False)
    return buf.getvalue()


def _ipc(value: Any) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, value.schema) as writer:
        writer.write_table(value)
    return bytes(sink.getvalue().to_pybytes())


def input_hash(value: Any, step: str, name: str) -> str:
    """The content hash of an argument that is not a JSON parameter."""
    kind = _kind(value)
    if kind == "dataset":
        return _frame_hash(value)
    if kind == "numpy":
        return hashlib.sha256(_npy(value)).hexdigest()
    if kind == "arrow":
        return hashlib.sha256(_ipc(value)).hexdigest()
    if kind == "tuple":
        return hashlib.sha256(
            canonical_json([input_hash(v, step, f"{name}[{i}]") for i, v in enumerate(value)])
        ).hexdigest()
    if kind == "json":
        return hashlib.sha256(canonical_json(value)).hexdigest()
    with tempfile.TemporaryDirectory(prefix="conveyor-hash-") as tmp:
        return _save_model(value, Path(tmp) / "m", step, name).digest()


def _feature_names(model: Any) -> list[str] | None:
    """The input column names a fitted model recorded (scikit-learn, LightGBM, XGBoost)."""
    for attr in ("feature_names_in_", "feature_name_", "feature_names"):
        names = getattr(model, attr, None)
        if names is not None and not callable(names) and len(names):
            return [str(n) for n in names]
    return None


def _frames(value: Any) -> list[Any]:
    kind = _kind(value)
    if kind == "dataset":
        return [value]
    if kind == "tuple":
        return [f for item in value for f in _frames(item)]
    return []


def model_input_example(model: Any, arguments: dict[str, Any], declared: str | None = None) -> Any:
    """A few input rows for a model a step returned, so its signature can be inferred.

    ``declared`` names the step argument holding the model's input frame (the step's
    ``input_example=`` option); otherwise the first DataFrame argument (or item of a tuple
    argument) holding every feature the fitted model recorded. Restricted to those
    features when the model recorded them; None when nothing fits."""
    features = _feature_names(model)
    if declared is not None:
        if declared not in arguments:
            raise ValidationFailed(
                f"input_example={declared!r} is not an argument of the step "
                f"(its arguments are {', '.join(arguments) or 'none'})"
            )
        candidates = _frames(arguments[declared])
        if not candidates:
            raise ValidationFailed(
                f"input_example={declared!r}: that argument is a "
                f"{_type_name(arguments[declared])}, not a pandas DataFrame"
            )
    else:
        candidates = [f for v in arguments.values() for f in _frames(v)]
    for frame in candidates:
        if features is None:
            if declared is not None:
                return frame.head(20)
            continue
        if all(f in frame.columns for f in features):
            return frame[features].head(20)
    return None


def _save_model(value: Any, folder: Path, step: str, name: str, input_example: Any = None) -> Any:
    from conveyor.models import save_model
    from conveyor.models.flavors import detect_flavor

    try:
        detect_flavor(value)
    except ValidationFailed:
        raise UnserializableOutput(
            f"step {step!r}: {name} is a {_type_name(value)}, which Conveyor cannot store "
            "safely (no pickle): return JSON values, a pandas DataFrame, a numpy array, a "
            "pyarrow Table, a model a flavor can save (scikit-learn, LightGBM, XGBoost, ONNX, "
            "conveyor.models.PythonModel) or a tuple of those",
            details={"step": step, "output": name, "type": _type_name(value)},
        ) from None
    return save_model(value, folder, input_example=input_example)


def encode(
    backend: Any,
    run_id: str,
    value: Any,
    *,
    step: str,
    name: str,
    dataset: str,
    example: Callable[[Any], Any] | None = None,
) -> dict[str, Any]:
    """Store ``value`` under run ``run_id``; returns its descriptor. ``example(model)``
    gives a returned model input rows (see :func:`model_input_example`), from which its
    signature is inferred, so the model can be deployed."""
    kind = _kind(value)
    path = f"outputs/{name}"
    if kind == "json":
        data = canonical_json(value)
        entry = backend.upload_artifact(run_id, path + ".json", io.BytesIO(data))
        out: dict[str, Any] = {"kind": "json", "sha256": hashlib.sha256(data).hexdigest()}
        out["blob"] = entry["sha256"]
        if len(data) <= _INLINE_LIMIT:
            out["value"] = value
        return out
    if kind == "dataset":
        dv = backend.log_dataset(
            dataset, value, source=f"runs:/{run_id}", description=f"output of {step}"
        )
        return {
            "kind": "dataset",
            "sha256": _frame_hash(value),
            "dataset": dv.name,
            "version": dv.version,
            "dataset_version_id": dv.id,
        }
    if kind in ("numpy", "arrow"):
        data = _npy(value) if kind == "numpy" else _ipc(value)
        suffix = ".npy" if kind == "numpy" else ".arrow"
        entry = backend.upload_artifact(run_id, path + suffix, io.BytesIO(data))
        return {"kind": kind, "sha256": entry["sha256"], "blob": entry["sha256"]}
    if kind == "tuple":
        items = [
            encode(
                backend,
                run_id,
                v,
                step=step,
                name=f"{name}.{i}",
                dataset=f"{dataset}.{i}",
                example=example,
            )
            for i, v in enumerate(value)
        ]
        digest = hashlib.sha256(canonical_json([d["sha256"] for d in items])).hexdigest()
        return {"kind": "tuple", "sha256": digest, "items": items}
    with tempfile.TemporaryDirectory(prefix="conveyor-output-") as tmp:
        folder = Path(tmp) / "model"
        rows = example(value) if example is not None else None
        manifest = _save_model(value, folder, step, name, rows)
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            with file.open("rb") as fh:
                backend.upload_artifact(run_id, f"{path}/{file.relative_to(folder).as_posix()}", fh)
    digest = manifest.digest()
    return {
        "kind": "model",
        "sha256": digest,
        "uri": f"runs:/{run_id}/{path}",
        "flavor": manifest.flavor,
    }


def _blob(backend: Any, sha256: str) -> bytes:
    return b"".join(backend.iter_blob(sha256))


def decode(backend: Any, desc: dict[str, Any]) -> Any:
    """Load the value a descriptor points to (every blob verified by sha256)."""
    import orjson

    kind = desc["kind"]
    if kind == "json":
        return desc["value"] if "value" in desc else orjson.loads(_blob(backend, desc["blob"]))
    if kind == "dataset":
        return backend.load_dataset(desc["dataset"], desc["version"])
    if kind == "numpy":
        import numpy as np

        return np.load(io.BytesIO(_blob(backend, desc["blob"])), allow_pickle=False)
    if kind == "arrow":
        import pyarrow as pa

        return pa.ipc.open_stream(_blob(backend, desc["blob"])).read_all()
    if kind == "tuple":
        return tuple(decode(backend, d) for d in desc["items"])
    if kind == "model":
        from conveyor.models import load_model
        from conveyor.registry.uris import materialize, resolve_model_uri

        return load_model(materialize(backend, resolve_model_uri(backend, desc["uri"])))
    raise ValidationFailed(f"unknown output kind {kind!r} in a stored step descriptor")
