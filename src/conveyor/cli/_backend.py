"""The client every command talks to: ``conveyor.connect()`` (embedded or server)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import conveyor

if TYPE_CHECKING:  # the table imports every service; commands load it on first call
    from conveyor.client import Client

__all__ = ["backend"]


def backend() -> Client:
    """The embedded store, or the server named by ``CONVEYOR_URI``."""
    return conveyor.connect()
