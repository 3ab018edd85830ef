"""Global importance of a model version: mean |SHAP| per feature over some data, stored
with the version (one row per version and method).

Computed at registration for tree and linear models logged with an input example
(:func:`summarize_at_registration`, best effort: registration never fails because of it),
or on demand over given data (``conveyor models explain <model>/<version> --data FILE``,
:func:`explain_model_version`). Model cards read it back with
:func:`find_explanation_summary`::

    summary = find_explanation_summary(conn, "churn", 3)   # None when never computed
    summary["features"][0]    # {"name": "tenure", "mean_abs": 0.21, "mean": -0.01}
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa

from conveyor._schema import Name, VersionRef
from conveyor._util import new_id, now_ms
from conveyor.errors import NotFound, ValidationFailed
from conveyor.explain.tables import model_explanations
from conveyor.registry import service as registry
from conveyor.store import UnitOfWork
from conveyor.store.stores import Stores

if TYPE_CHECKING:
    from conveyor.explain.explainers import Explainer
    from conveyor.registry.entities import ModelVersion

__all__ = [
    "explain_model_version",
    "find_explanation_summary",
    "get_explanation_summary",
    "summarize",
    "summarize_at_registration",
]

log = logging.getLogger("conveyor.explain")

#: Rows the importance is computed over, at most (tree/linear; the black-box fallbacks: 50).
MAX_ROWS = 1000
_KERNEL_ROWS = 50
#: Flavors registration explains on its own (cheap, exact); pyfunc needs `models explain`.
_AT_REGISTRATION = ("sklearn", "lightgbm", "xgboost")


def summarize(explainer: Explainer, matrix: np.ndarray, *, data: str) -> dict[str, Any]:
    """The summary of ``explainer`` over ``matrix``: features by mean |SHAP| (largest
    first; averaged over outputs), base values, and where the rows came from."""
    from conveyor.explain.explainers import import_shap

    shap = import_shap()
    limit = _KERNEL_ROWS if explainer.method in ("kernel", "lime") else MAX_ROWS
    rows = matrix[:limit]
    result = explainer.explain(rows)
    values = result.contributions  # (rows, features, outputs)
    mean_abs = np.abs(values).mean(axis=(0, 2))
    mean = values.mean(axis=(0, 2))
    order = np.argsort(-mean_abs, kind="stable")
    return {
        "method": result.method,
        "output": result.output,
        "outputs": result.outputs,
        "base_values": [float(b) for b in result.base_values],
        "features": [
            {"name": result.features[i], "mean_abs": float(mean_abs[i]), "mean": float(mean[i])}
            for i in order
        ],
        "rows": len(rows),
        "data": data,
        "shap_version": shap.__version__,
    }


def _store(uow: UnitOfWork, mv: ModelVersion, summary: dict[str, Any]) -> dict[str, Any]:
    method = summary["method"]
    uow.conn.execute(
        model_explanations.delete().where(
            model_explanations.c.model_version_id == mv.id, model_explanations.c.method == method
        )
    )
    row = {
        "id": new_id(),
        "model_version_id": mv.id,
        "method": method,
        "summary": summary,
        "created_by": uow.actor.name,
        "created_at": now_ms(),
    }
    uow.conn.execute(model_explanations.insert().values(**row))
    uow.audit(
        "model_version.explain",
        "model_version",
        mv.id,
        summary,
        model=mv.name,
        version=mv.version,
        method=method,
        rows=summary["rows"],
        data=summary["data"],
        top=[f["name"] for f in summary["features"][:5]],
    )
    return _with_meta(summary, mv, row["created_at"], row["created_by"])


def _with_meta(summary: dict[str, Any], mv: Any, at: int, by: str) -> dict[str, Any]:
    return {**summary, "model": mv.name, "version": mv.version, "computed_at": at, "by": by}


def find_explanation_summary(
    conn: sa.Connection, model: str, version: int | str
) -> dict[str, Any] | None:
    """The stored explanation summary of a version (latest computed), or None.

    Keys: ``method`` (tree/linear/lime/kernel), ``output``, ``outputs``, ``base_values``,
    ``features`` (``[{"name", "mean_abs", "mean"}]``, most important first), ``rows``,
    ``data`` (``input_example`` or ``given``), ``shap_version``, ``model``, ``version``,
    ``computed_at``, ``by``."""
    mv = registry.resolve_version(conn, model, version)
    row = conn.execute(
        sa.select(model_explanations)
        .where(model_explanations.c.model_version_id == mv.id)
        .order_by(model_explanations.c.created_at.desc())
        .limit(1)
    ).first()
    return None if row is None else _with_meta(row.summary, mv, row.created_at, row.created_by)


def get_explanation_summary(
    conn: sa.Connection, model: Name, version: VersionRef
) -> dict[str, Any]:
    """The global feature importance stored with a model version (NotFound when none was
    computed: ``conveyor models explain <model>/<version> --data FILE`` computes it)."""
    summary = find_explanation_summary(conn, model, version)
    if summary is None:
        raise NotFound(
            f"model {model!r} version {version} has no explanation summary; compute one with "
            f"`conveyor models explain {model}/{version} --data FILE`"
        )
    return summary


def _frame(data: list[dict[str, Any]] | None) -> Any:
    if data is None:
        return None
    import pandas as pd

    if not isinstance(data, list) or not data or not all(isinstance(r, dict) for r in data):
        raise ValidationFailed("data must be a non-empty list of records ({column: value})")
    return pd.DataFrame.from_records(data)


def explain_model_version(
    stores: Stores, model: Name, version: VersionRef, data: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Compute and store the global importance of a model version over ``data`` (records;
    default: the version's input example). Audited as ``model_version.explain``."""
    from conveyor.explain.loaded import explainer_for, to_matrix
    from conveyor.models import load_model
    from conveyor.registry.uris import ResolvedModel, materialize

    with stores.read() as conn:
        mv = registry.resolve_version(conn, model, version)
    given = _frame(data)
    # a private folder, removed after: the model cache stays what serving put there
    with tempfile.TemporaryDirectory(prefix="conveyor-explain-") as tmp:
        resolved = ResolvedModel(mv.uri, mv.manifest_sha256, mv.files, mv.name, mv.version)
        loaded = load_model(materialize(stores, resolved, Path(tmp)))
        frame = given if given is not None else loaded.input_example
        if frame is None:
            raise ValidationFailed(
                f"{model}/{mv.version} was logged without an input example: give data to "
                f"explain it over (conveyor models explain {model}/{mv.version} --data FILE)"
            )
        explainer = explainer_for(loaded, frame)
        summary = summarize(
            explainer,
            to_matrix(frame, explainer.features),
            data="given" if given is not None else "input_example",
        )
    with stores.write() as uow:
        return _store(uow, mv, summary)


def summarize_at_registration(stores: Stores, mv: ModelVersion) -> dict[str, Any] | None:
    """Best effort, right after registering ``mv``: store its importance over its input
    example when it is a tree or linear model and shap is installed; None otherwise (and on
    any failure, logged: registration has already succeeded)."""
    if mv.flavor not in _AT_REGISTRATION:
        return None
    from conveyor.explain.explainers import Unsupported, import_shap

    try:
        import_shap()
    except Unsupported:
        return None  # shap not installed
    try:
        try:
            return explain_model_version(stores, mv.name, str(mv.version))
        except Unsupported as exc:
            log.info("%s/%s: no explanation summary at registration: %s", mv.name, mv.version, exc)
        except ValidationFailed:
            return None  # no input example: `conveyor models explain --data` later
    except Exception:
        log.exception("%s/%s: explanation summary failed at registration", mv.name, mv.version)
    return None
