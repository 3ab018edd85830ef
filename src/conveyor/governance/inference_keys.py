"""Inference keys: optional per-endpoint secrets the inference server asks callers for.

Keys live in the metadata store (``create_inference_key``, ``revoke_inference_key``: the
operation table's ``inference-keys`` operations, admin-only, each audited as
``inference_key.create`` / ``inference_key.revoke`` without the secret). Only the sha256
of a key is stored; the key itself is shown once, in the answer to its creation. The
inference servers (``conveyor serve``, ``conveyor server``'s ``/serving``) poll the digests
with the revision numbers (one query per interval), so a new or revoked key takes effect
within a poll interval, and check a request with one sha256 and a constant-time compare
against the cached set. An endpoint that has (or ever had) a key answers only requests
with ``Authorization: Bearer <key>`` (401 otherwise) on its predict, explain and feedback
routes; revoking its last key closes it rather than opening it. Endpoints that never had
a key stay open.

A keys file (setting ``inference_keys_file``, mode 0600) still works for servers started
without access to the keys' store: it maps an endpoint to the digests of its keys,
``{"churn-api": ["<sha256>", ...]}`` (``conveyor inference-keys create ENDPOINT --file
FILE``; not audited), read when the server starts.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa

from conveyor._schema import END, EndpointName, Rule
from conveyor._util import now_ms, to_iso
from conveyor.errors import NotFound, ValidationFailed
from conveyor.governance.oversight import Reason, require_reason
from conveyor.governance.tables import inference_keys
from conveyor.governance.tokens import hash_secret
from conveyor.store import UnitOfWork
from conveyor.store.projects import current_project_id

__all__ = [
    "InferenceKey",
    "add_inference_key",
    "create_inference_key",
    "endpoint_key_digests",
    "list_inference_keys",
    "load_inference_keys",
    "revoke_inference_key",
]

_KEY_ID = re.compile(r"[0-9a-f]{16}")
KeyId = Annotated[str, Rule({"pattern": rf"^[0-9a-f]{{16}}{END}"})]
Description = Annotated[str, Rule({"maxLength": 500})]


@dataclass(frozen=True)
class InferenceKey:
    """A stored inference key, without its secret — except ``key`` in the answer to its
    creation (shown that once, never stored)."""

    id: str
    endpoint: str
    description: str
    created_by: str
    created_at: int
    revoked_by: str | None = None
    revoked_at: int | None = None
    revoke_reason: str | None = None
    key: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "created_at_iso": to_iso(self.created_at)}


def _new_key() -> str:
    return "cvk_" + secrets.token_urlsafe(32)


def _key(row: Any, key: str | None = None) -> InferenceKey:
    return InferenceKey(
        row.id, row.endpoint, row.description, row.created_by, row.created_at,
        row.revoked_by, row.revoked_at, row.revoke_reason, key,
    )  # fmt: skip


def create_inference_key(
    uow: UnitOfWork, endpoint: EndpointName, description: Description = ""
) -> InferenceKey:
    """A new inference key for ``endpoint`` (audited as ``inference_key.create``).

    The answer's ``key`` is the only place the secret ever appears; from the next poll of
    its servers on, the endpoint answers only requests bearing one of its keys."""
    from conveyor.deployments.service import check_endpoint

    check_endpoint(endpoint)
    if not isinstance(description, str) or len(description) > 500:
        raise ValidationFailed("description must be text of at most 500 characters")
    key, key_id = _new_key(), secrets.token_hex(8)
    row = {
        "id": key_id,
        "project_id": current_project_id(),
        "endpoint": endpoint,
        "secret_sha256": hash_secret(key),
        "description": description,
        "created_by": uow.actor.name,
        "created_at": now_ms(),
    }
    uow.conn.execute(inference_keys.insert().values(**row))
    uow.audit(
        "inference_key.create",
        "inference_key",
        key_id,
        {"endpoint": endpoint, "description": description},
    )
    return _key(_Row({**row, "revoked_by": None, "revoked_at": None, "revoke_reason": None}), key)


class _Row:
    def __init__(self, data: dict[str, Any]) -> None:
        self.__dict__.update(data)


def list_inference_keys(
    conn: sa.Connection, endpoint: EndpointName | None = None
) -> list[InferenceKey]:
    """Stored inference keys (never their secrets), newest first; optionally one
    endpoint's. Revoked keys stay listed with who revoked them and why."""
    from conveyor.deployments.service import check_endpoint

    query = sa.select(inference_keys).where(inference_keys.c.project_id == current_project_id())
    if endpoint is not None:
        check_endpoint(endpoint)
        query = query.where(inference_keys.c.endpoint == endpoint)
    rows = conn.execute(query.order_by(inference_keys.c.created_at.desc(), inference_keys.c.id))
    return [_key(row) for row in rows]


def revoke_inference_key(uow: UnitOfWork, key_id: KeyId, reason: Reason) -> InferenceKey:
    """Revoke an inference key by its id (``reason`` required; audited as
    ``inference_key.revoke``): its endpoint's servers refuse it from their next poll on.
    Revoking a revoked key changes nothing."""
    if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
        raise ValidationFailed(
            "an inference key id is 16 hexadecimal characters; "
            "`conveyor inference-keys list` shows them"
        )
    query = sa.select(inference_keys).where(
        inference_keys.c.project_id == current_project_id(), inference_keys.c.id == key_id
    )
    row = uow.conn.execute(query).first()
    if row is None:
        raise NotFound(f"no inference key {key_id!r}; `conveyor inference-keys list` shows them")
    why = require_reason(reason, "revoke the inference key of", row.endpoint)
    if row.revoked_at is None:
        uow.conn.execute(
            inference_keys.update()
            .where(inference_keys.c.id == key_id)
            .values(revoked_at=now_ms(), revoked_by=uow.actor.name, revoke_reason=why)
        )
        uow.audit(
            "inference_key.revoke",
            "inference_key",
            key_id,
            {"endpoint": row.endpoint},
            reason=why,
        )
    return _key(uow.conn.execute(query).one())


def endpoint_key_digests(
    conn: sa.Connection, endpoints: Iterable[str] | None = None
) -> dict[str, frozenset[str]]:
    """``{endpoint: sha256 digests of its live keys}`` for every endpoint that has or had
    a key (an endpoint whose keys are all revoked maps to an empty set: closed)."""
    query = sa.select(
        inference_keys.c.endpoint, inference_keys.c.secret_sha256, inference_keys.c.revoked_at
    ).where(inference_keys.c.project_id == current_project_id())
    if endpoints is not None:
        query = query.where(inference_keys.c.endpoint.in_(list(endpoints)))
    out: dict[str, set[str]] = {}
    for name, digest, revoked_at in conn.execute(query):
        live = out.setdefault(name, set())
        if revoked_at is None:
            live.add(digest)
    return {name: frozenset(digests) for name, digests in out.items()}


def load_inference_keys(path: str | Path) -> dict[str, frozenset[str]]:
    """Endpoint -> the sha256 digests of its keys, from the keys file ('' or absent: {})."""
    if not path:
        return {}
    file = Path(path).expanduser()
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationFailed(
            f"inference keys file {file} does not exist; create keys with "
            "`conveyor inference-keys create ENDPOINT --file FILE`"
        ) from None
    except (OSError, ValueError) as exc:
        raise ValidationFailed(f"{file}: unreadable inference keys file ({exc})") from None
    if not isinstance(data, dict) or not all(
        isinstance(v, list) and all(isinstance(d, str) and len(d) == 64 for d in v)
        for v in data.values()
    ):
        raise ValidationFailed(f"{file}: expected {{endpoint: [sha256 of each key, ...]}}")
    return {str(name): frozenset(digests) for name, digests in data.items()}


def add_inference_key(endpoint: str, path: str | Path) -> str:
    """A new key for ``endpoint``; its digest is added to the keys file (0600, atomic)."""
    from conveyor.deployments.service import check_endpoint

    check_endpoint(endpoint)
    file = Path(path).expanduser()
    current = {k: sorted(v) for k, v in load_inference_keys(file).items()} if file.exists() else {}
    key = _new_key()
    current.setdefault(endpoint, []).append(hash_secret(key))
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(file.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(current, fh, indent=2)
    os.replace(tmp, file)
    return key
