"""``LocalBackend``: the operation table over a ``LocalTransport`` (embedded stores).

Nothing here per operation: every operation is declared once in ``conveyor.client.Client``.
This class only keeps the constructor the SDK, the server and the tests use.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import sqlalchemy as sa

from conveyor.artifacts import ArtifactStore
from conveyor.client import Client
from conveyor.client.local import LocalTransport
from conveyor.config import Settings
from conveyor.governance.identity import Actor
from conveyor.store import MetadataStore, UnitOfWork
from conveyor.store.stores import Stores

__all__ = ["LocalBackend"]


class LocalBackend(Client):
    """``Client(LocalTransport(meta, artifacts, actor))``, with the stores at hand."""

    transport: LocalTransport

    def __init__(
        self,
        meta: MetadataStore,
        artifacts: ArtifactStore,
        actor: Actor | None = None,
    ) -> None:
        super().__init__(LocalTransport(meta, artifacts, actor))

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> LocalBackend:
        """Open the stores named by the settings (embedded defaults under CONVEYOR_HOME)."""
        t = LocalTransport.from_settings(settings)
        return cls(t.meta, t.artifacts, t.actor)

    @property
    def stores(self) -> Stores:
        return self.transport.stores

    @property
    def meta(self) -> MetadataStore:
        return self.transport.meta

    @property
    def artifacts(self) -> ArtifactStore:
        return self.transport.artifacts

    @property
    def actor(self) -> Actor:
        return self.transport.actor

    def read(self) -> AbstractContextManager[sa.Connection]:
        """A read transaction (so code written for ``Stores`` takes this client too)."""
        return self.stores.read()

    def write(self) -> AbstractContextManager[UnitOfWork]:
        """A write transaction as this client's actor."""
        return self.stores.write()

    def as_actor(self, actor: Actor) -> LocalBackend:
        """The same stores acting as another identity (used per request by the server)."""
        return LocalBackend(self.meta, self.artifacts, actor)
