"""The registry's SDK functions: load a model by URI, read and move versions' aliases.

They run on ``conveyor.connect()`` (embedded stores or the server at ``CONVEYOR_URI``).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from conveyor.errors import IntegrityError, NotFound
from conveyor.registry.uris import materialize, resolve_model_uri

__all__ = ["load_model"]


def load_model(uri: str | Path, *, allow_pickle: bool | None = None) -> Any:
    """Load a model by URI or local folder, verifying every file's sha256 first."""
    from conveyor.models import load_model as load_model_dir

    if isinstance(uri, Path) or (isinstance(uri, str) and ":/" not in uri):
        path = Path(uri)
        if not path.is_dir():
            raise NotFound(f"no model folder at {path}")
        return load_model_dir(path, allow_pickle=allow_pickle)
    from conveyor.backend import connect

    backend = connect()
    resolved = resolve_model_uri(backend, uri)
    folder = materialize(backend, resolved)
    try:
        return load_model_dir(folder, allow_pickle=allow_pickle)
    except IntegrityError:
        # The local cache was altered; the store's blobs are verified on download, so a
        # fresh copy is trustworthy. A second failure is the store's and is raised.
        shutil.rmtree(folder, ignore_errors=True)
        return load_model_dir(materialize(backend, resolved), allow_pickle=allow_pickle)
