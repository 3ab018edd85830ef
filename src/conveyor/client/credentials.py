"""Tokens saved by ``conveyor login``, one per server URL, in a file only its owner reads.

The file (setting ``credentials_file``, default ``$XDG_CONFIG_HOME/conveyor/credentials.json``)
maps a server URL to its token: ``{"servers": {"http://host:5050": {"token": "cvy_…"}}}``.
It is written atomically with mode 0600; a token is only sent to the URL it was saved for.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from conveyor.config import Settings, get_settings
from conveyor.errors import ValidationFailed

__all__ = ["credentials_path", "save_token", "token_for"]


def credentials_path(settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    if settings.credentials_file:
        return Path(settings.credentials_file).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "conveyor" / "credentials.json"


def _load(path: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ValidationFailed(f"{path}: unreadable credentials file ({exc}); remove it") from None
    servers = data.get("servers") if isinstance(data, dict) else None
    return servers if isinstance(servers, dict) else {}


def token_for(url: str, settings: Settings | None = None) -> str:
    """The token ``conveyor login`` saved for ``url``, or ''."""
    entry = _load(credentials_path(settings)).get(url.rstrip("/"), {})
    token = entry.get("token", "") if isinstance(entry, dict) else ""
    return token if isinstance(token, str) else ""


def save_token(url: str, token: str, settings: Settings | None = None) -> Path:
    """Remember ``token`` for ``url`` (mode 0600, replaced atomically); returns the file."""
    path = credentials_path(settings)
    servers = _load(path)
    servers[url.rstrip("/")] = {"token": token}
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"servers": servers}, fh, indent=2)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path
