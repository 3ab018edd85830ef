"""Inference keys: optional per-endpoint secrets the inference server asks callers for.

The keys file (setting ``inference_keys_file``, mode 0600) maps an endpoint to the sha256
digests of its keys — never the keys — ``{"churn-api": ["<sha256>", ...]}``. An endpoint
listed there answers only requests with ``Authorization: Bearer <key>`` (401 otherwise);
endpoints not listed stay open. ``conveyor inference-keys create ENDPOINT`` prints a new
key once and adds its digest; the server reads the file when it starts.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path

from conveyor.errors import ValidationFailed

__all__ = ["add_inference_key", "load_inference_keys"]


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
    key = "cvk_" + secrets.token_urlsafe(32)
    current.setdefault(endpoint, []).append(hashlib.sha256(key.encode()).hexdigest())
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(file.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(current, fh, indent=2)
    os.replace(tmp, file)
    return key
