"""The one seam between the table and where operations run: ``Transport.invoke``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from conveyor.client.op import Op

__all__ = ["Transport"]


class Transport(Protocol):
    """Runs one declared operation: ``LocalTransport`` (embedded) or ``HttpTransport``."""

    kind: str

    @property
    def location(self) -> str:
        """Where the data lives (store URLs, or the server URL); for messages."""
        ...

    def invoke(self, op: Op[Any, Any], args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
        """Run ``op`` with the caller's arguments; return its typed result."""
        ...

    def close(self) -> None:
        """Release pools and connections."""
        ...
