"""Which model versions may load a pickle: those an admin trusted, audited.

A pickle (a scikit-learn model the stock MLflow client logged with ``cloudpickle``, a
custom pyfunc stored with pickle) runs arbitrary code when it is loaded, so Conveyor
deploys and serves none by default. An admin (permission ``models:trust``) trusts one
version::

    conveyor models trust churn 3 --reason "our training job, reviewed"
    conveyor deploy churn --model churn/3 --trust-pickle      # trust, then deploy

The mark is the reserved version tag ``conveyor.trusted_pickle`` (who trusted it) plus an
audit event ``model_version.trust_pickle`` (who, why, the format); the tag is written only
here, never through the tag operations. Deployments then accept the version and the
serving runtime loads its pickle; every other version still needs
``CONVEYOR_ALLOW_PICKLE=1`` (the process-wide switch) to load one.
"""

from __future__ import annotations

import json
from typing import Any

from conveyor._schema import Name, NonEmpty, VersionRef
from conveyor.errors import PermissionDenied, ValidationFailed
from conveyor.registry.entities import ModelVersion
from conveyor.store import UnitOfWork
from conveyor.store.stores import Stores

__all__ = [
    "TRUST_PERMISSION",
    "TRUST_TAG",
    "check_tag_key",
    "is_trusted",
    "pickle_format",
    "refuse_untrusted",
    "trust_model_version",
    "trust_version",
]

TRUST_TAG = "conveyor.trusted_pickle"
#: held by the admin role only (``*:write`` does not reach it)
TRUST_PERMISSION = "models:trust"


def check_tag_key(key: str) -> None:
    """Refuse the reserved trust tag in the tag operations (it must stay an admin's act)."""
    if key == TRUST_TAG:
        raise ValidationFailed(
            f"tag {TRUST_TAG!r} is reserved: it records that an admin trusted the version's "
            "pickle; use `conveyor models trust NAME VERSION --reason ...` (audited)"
        )


def is_trusted(mv: ModelVersion) -> bool:
    """Whether an admin trusted this version's pickle."""
    return bool(mv.tags.get(TRUST_TAG))


def pickle_format(artifacts: Any, mv: ModelVersion) -> str | None:
    """The pickle format the version's files load with (``cloudpickle`` ...), or None when
    it loads without unpickling anything."""
    from conveyor.models.flavors import get_flavor
    from conveyor.models.manifest import ModelManifest
    from conveyor.models.mlflow_format import MLFLOW_FLAVOR

    if mv.flavor == MLFLOW_FLAVOR:  # no Conveyor manifest: never loaded here
        return None
    manifest = ModelManifest.from_dict(json.loads(artifacts.read_bytes(mv.manifest_sha256)))
    return get_flavor(manifest.flavor).pickle_format(dict(manifest.flavor_options))


def refuse_untrusted(artifacts: Any, mv: ModelVersion, *, endpoint: str = "ENDPOINT") -> None:
    """PermissionDenied, naming the flag to pass, when the version needs a pickle that no
    admin trusted (and the process-wide ``allow_pickle`` setting is off)."""
    from conveyor.config import get_settings

    fmt = pickle_format(artifacts, mv)
    if fmt is None or is_trusted(mv) or get_settings().allow_pickle:
        return
    raise PermissionDenied(
        f"model {mv.name} version {mv.version} is stored with {fmt} ({mv.flavor}), and "
        "unpickling runs arbitrary code, so Conveyor serves it only once an admin trusts it: "
        f"`conveyor deploy {endpoint} --model {mv.name}/{mv.version} --trust-pickle` (SDK: "
        "deploy(..., trust_pickle=True); or `conveyor models trust "
        f"{mv.name} {mv.version} --reason ...` first). Both need the admin role and are "
        "audited. Safer: log it again in a safe format (mlflow.sklearn.log_model(..., "
        "serialization_format='skops'), ONNX, a native booster, or conveyor.log_model).",
        details={
            "model": mv.name,
            "version": mv.version,
            "format": fmt,
            "flag": "--trust-pickle",
            "permission": TRUST_PERMISSION,
        },
    )


def trust_version(uow: UnitOfWork, mv: ModelVersion, fmt: str, reason: str) -> ModelVersion:
    """Record that ``uow.actor`` trusts ``mv``'s pickle (tag + audit event), idempotently."""
    from conveyor.governance.roles import check_permission
    from conveyor.store.tables import model_versions

    check_permission(uow.actor, TRUST_PERMISSION)
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationFailed("reason must say why the version's pickle is trusted")
    if is_trusted(mv):
        return mv
    tags = {**mv.tags, TRUST_TAG: uow.actor.name}
    uow.conn.execute(model_versions.update().where(model_versions.c.id == mv.id).values(tags=tags))
    uow.audit(
        "model_version.trust_pickle",
        "model_version",
        f"{mv.name}/{mv.version}",
        {"format": fmt, "reason": reason, "by": uow.actor.name},
    )
    mv.tags = tags
    return mv


def trust_model_version(
    stores: Stores, name: Name, version: VersionRef, *, reason: NonEmpty
) -> ModelVersion:
    """Trust one version's pickle so it can be deployed and served (admin only, audited).

    ValidationFailed when the version loads without a pickle (nothing to trust)."""
    from conveyor.registry.service import resolve_version

    with stores.read() as conn:
        mv = resolve_version(conn, name, version)
    fmt = pickle_format(stores.artifacts, mv)
    if fmt is None:
        raise ValidationFailed(
            f"model {mv.name} version {mv.version} ({mv.flavor}) loads without a pickle; "
            "it needs no trust to be deployed"
        )
    with stores.write() as uow:
        return trust_version(uow, mv, fmt, reason)
