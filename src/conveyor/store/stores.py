"""``Stores``: the metadata store, the artifact store and the actor, as one value.

What a service receives when it must open its own transactions around artifact I/O or
compilation (``tx="stores"`` operations): registering a model reads its manifest blob,
logging a dataset writes Parquet, deploying compiles to ONNX outside the write transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from conveyor.store.projects import project_scope

if TYPE_CHECKING:
    import sqlalchemy as sa

    from conveyor.artifacts import ArtifactStore
    from conveyor.governance.identity import Actor
    from conveyor.store.engine import MetadataStore
    from conveyor.store.uow import UnitOfWork

__all__ = ["Stores"]


@dataclass(frozen=True)
class Stores:
    """Both stores and who is acting; ``read()`` / ``write()`` open the transactions (in
    the actor's project: ``conveyor.store.projects``)."""

    meta: MetadataStore
    artifacts: ArtifactStore
    actor: Actor

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read-only transaction, in the actor's project."""
        with project_scope(self.meta.engine, self.actor.project), self.meta.read() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[UnitOfWork]:
        """A write transaction as the actor, in its project."""
        with (
            project_scope(self.meta.engine, self.actor.project),
            self.meta.write(self.actor) as uow,
        ):
            yield uow

    def iter_blob(self, sha256: str) -> Iterator[bytes]:
        """The verified bytes of a stored blob."""
        return self.artifacts.iter_chunks(sha256)

    def download_blob(self, sha256: str, dest: Path) -> Path:
        """The verified blob written to ``dest`` atomically."""
        return self.artifacts.download(sha256, dest)
