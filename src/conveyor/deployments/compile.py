"""Deploy-time compilation: each model version to ONNX once, kept only when parity holds.

::

    result = ensure_compiled(backend, model_version)   # cached per model version
    result.status            # "onnx": serve onnx_sha256; "native": serve the model itself
    result.parity            # ParityReport.to_dict(): agreement, max_abs_diff, passed ...

The version's files are materialised and verified, the model is loaded, converted with
:func:`conveyor.models.compile_to_onnx` on its input example, and compared with the native
model by :func:`conveyor.models.parity_check`. Passing ONNX bytes go to the content-addressed
artifact store; the result (either way, with the reason) is cached in the metadata store so
later revisions of any endpoint reuse it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from conveyor._schema import EndpointName
from conveyor.deployments import service
from conveyor.deployments.entities import CompileResult, Revision
from conveyor.errors import IntegrityError, NotFound, ValidationFailed
from conveyor.registry.entities import ModelVersion
from conveyor.registry.register import check_stored_model
from conveyor.registry.uris import ResolvedModel, materialize
from conveyor.store.stores import Stores

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "compile_version",
    "deploy_endpoint",
    "ensure_compiled",
    "load_version",
    "verify_version",
]

log = logging.getLogger(__name__)


def load_version(backend: Any, mv: ModelVersion) -> Any:
    """The model version as a verified ``LoadedModel`` (files downloaded once, sha256-checked)."""
    from conveyor.models import load_model
    from conveyor.registry.pickle_trust import is_trusted

    resolved = ResolvedModel(mv.uri, mv.manifest_sha256, mv.files, mv.name, mv.version)
    # a pickle loads only for a version an admin trusted (else the allow_pickle setting)
    return load_model(materialize(backend, resolved), allow_pickle=is_trusted(mv) or None)


def verify_version(backend: Any, mv: ModelVersion, endpoint: str = "ENDPOINT") -> None:
    """What a deploy checks of each version in every mode (with or without compiling):
    it can serve (an input signature), every file's blob is in the store and hashes to its
    sha256, this machine trusts what its files would create (:mod:`conveyor.models.trust`),
    and a pickle was trusted by an admin (:mod:`conveyor.registry.pickle_trust`) — so no
    revision is written that a restarted server could not load."""
    from conveyor.registry.pickle_trust import refuse_untrusted

    if mv.flavor == "mlflow":  # logged by the stock MLflow client in a format we do not load
        from conveyor.models.mlflow_format import refusal

        raise refusal(mv.name, mv.version, backend.artifacts.read_bytes(mv.manifest_sha256))
    refuse_untrusted(backend.artifacts, mv, endpoint=endpoint)
    service.input_columns(mv)
    for entry in mv.files:
        sha, rel = str(entry["sha256"]), str(entry["path"])
        where = {"model": mv.name, "version": mv.version, "file": rel, "sha256": sha}
        if not backend.artifacts.exists(sha):
            raise NotFound(
                f"file {rel!r} of {mv.name}/{mv.version} (blob {sha[:12]}) is missing from the "
                "artifact store; restore it from a backup or register the model again — "
                "nothing was deployed",
                details=where,
            )
        if not backend.artifacts.verify(sha):
            raise IntegrityError(
                f"file {rel!r} of {mv.name}/{mv.version} (blob {sha[:12]}) is corrupted in the "
                "artifact store; restore it from a backup or register the model again — "
                "nothing was deployed",
                details=where,
            )
    check_stored_model(backend.artifacts, mv.manifest_sha256, mv.files)


def compile_version(
    backend: Any, mv: ModelVersion, validation_df: pd.DataFrame | None = None
) -> CompileResult:
    """Try ONNX for one version (no caching): store the bytes when parity passes."""
    from conveyor.models import compile_to_onnx, parity_check

    loaded = load_version(backend, mv)

    def native(reason: str, parity: dict[str, Any] | None = None) -> CompileResult:
        log.info("serving %s natively: %s", mv.uri, reason)
        return CompileResult(
            mv.name, mv.version, "native", None, parity, reason, mv.manifest_sha256
        )

    sample = validation_df if validation_df is not None else loaded.input_example
    if sample is not None and loaded.signature is not None:  # labels, ids: not model inputs
        sample = sample[[c for c in loaded.signature.input_names if c in sample.columns]]
    if sample is None or len(sample) == 0:
        return native("no input example to compile and check parity with")
    reasons: list[str] = []
    compiled = compile_to_onnx(loaded, sample, reasons=reasons)
    if compiled is None:
        return native("; ".join(reasons) or "no ONNX converter applies")
    report = parity_check(loaded, compiled, sample)
    if not report.passed:
        return native("ONNX parity failed: " + "; ".join(report.failures), report.to_dict())
    info = backend.artifacts.put_bytes(compiled.to_bytes())
    return CompileResult(
        mv.name, mv.version, "onnx", info.sha256, report.to_dict(), "", mv.manifest_sha256
    )


def ensure_compiled(
    backend: Any, mv: ModelVersion, validation_df: pd.DataFrame | None = None
) -> CompileResult:
    """The cached compile result of ``mv``, compiling (and caching) it the first time.

    A cached ONNX blob is verified against its sha256 (IntegrityError when altered), so a
    deploy never records a revision that no server could load."""
    with backend.meta.read() as conn:
        cached = service.get_compile(conn, mv)
    if cached is not None:
        sha = cached.onnx_sha256
        if cached.status == "onnx" and sha:
            if not backend.artifacts.exists(sha):
                raise NotFound(
                    f"the compiled ONNX of {mv.name}/{mv.version} (blob {sha[:12]}) is missing "
                    "from the artifact store; restore it from a backup — nothing was deployed",
                    details={"model": mv.name, "version": mv.version, "sha256": sha},
                )
            if not backend.artifacts.verify(sha):
                raise IntegrityError(
                    f"the compiled ONNX of {mv.name}/{mv.version} (blob {sha[:12]}) is "
                    "corrupted in the artifact store; restore the blob from a backup — nothing "
                    "was deployed",
                    details={"model": mv.name, "version": mv.version, "sha256": sha},
                )
        return cached
    result = compile_version(backend, mv, validation_df)
    with backend.meta.write(backend.actor) as uow:
        return service.record_compile(uow, mv, result)


def _trust_pickles(stores: Stores, endpoint: str, versions: dict[str, ModelVersion]) -> None:
    """``deploy --trust-pickle``: trust the pickle of each version that has one."""
    from conveyor.registry.pickle_trust import pickle_format, trust_version

    for key, mv in versions.items():
        fmt = pickle_format(stores.artifacts, mv)
        if fmt is not None:
            with stores.write() as uow:
                versions[key] = trust_version(uow, mv, fmt, f"deploy {endpoint} --trust-pickle")


def deploy_endpoint(
    stores: Stores,
    endpoint: EndpointName,
    *,
    model: str | None = None,
    canary: service.Refs = None,
    shadow: service.Refs = None,
    ab: service.Refs = None,
    ab_key: str | None = None,
    fallback: str | None = None,
    deadline_ms: int | None = None,
    description: str = "",
    override_reason: str | None = None,
    compile: bool = True,
    validation_data: pd.DataFrame | None = None,
    trust_pickle: bool = False,
) -> Revision:
    """Resolve and validate the routes, compile each version (cached), write the revision.

    Compiling runs outside the write transaction; the revision records each version's
    compile result. ``validation_data`` (rows with the models' input columns) replaces the
    input example for the parity check of versions compiled now (results are cached per
    version, so it does not re-check versions compiled before). ``compile=False`` records
    ``pending`` for versions never compiled (the runtime serves those natively). In every
    mode each version is first checked by :func:`verify_version` (signature, every blob,
    trusted types). ``override_reason`` lets a primary model whose gates did not pass
    through (audited). ``trust_pickle`` first trusts each version stored with a pickle
    (admin only, audited: :func:`conveyor.registry.pickle_trust.trust_version`); without
    it such a version is refused, the error naming the flag.
    """
    service.check_endpoint(endpoint)  # before any model is resolved or compiled
    with stores.read() as conn:
        pairs = service.plan(
            conn, model=model, canary=canary, shadow=shadow, ab=ab, fallback=fallback
        )
    versions = {spec.key: mv for spec, mv in pairs}
    if not isinstance(trust_pickle, bool):
        raise ValidationFailed(f"trust_pickle must be true or false, got {trust_pickle!r}")
    if trust_pickle:
        _trust_pickles(stores, endpoint, versions)
    for mv in versions.values():
        verify_version(stores, mv, endpoint)
    if compile:
        for mv in versions.values():
            ensure_compiled(stores, mv, validation_data)
    with stores.write() as uow:
        return service.deploy(
            uow,
            endpoint,
            model=model,
            canary=canary,
            shadow=shadow,
            ab=ab,
            ab_key=ab_key,
            fallback=fallback,
            deadline_ms=deadline_ms,
            description=description,
            override_reason=override_reason,
        )
