"""The backend every command talks to: ``conveyor.connect()`` (embedded or server)."""

from __future__ import annotations

from typing import Any, cast

import conveyor
from conveyor.backend.base import Backend
from conveyor.errors import ConveyorError

__all__ = ["backend", "data_backend"]


def backend() -> Backend:
    """The embedded store, or the server named by ``CONVEYOR_URI``."""
    return cast(Backend, conveyor.connect())


def data_backend() -> Any:
    """The same backend, for the dataset methods (not yet on the ``Backend`` protocol)."""
    api = conveyor.connect()
    if not hasattr(api, "get_dataset_version"):
        raise ConveyorError(
            f"the {getattr(api, 'kind', '')} backend has no dataset operations yet "
            "(list_datasets, list_dataset_versions, get_dataset_version)"
        )
    return api
