"""``Stores``: the metadata store, the artifact store and the actor, as one value.

What a service receives when it must open its own transactions around artifact I/O or
compilation (``tx="stores"`` operations): registering a model reads its manifest blob,
logging a dataset writes Parquet, deploying compiles to ONNX outside the write transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlalchemy as sa

    from conveyor.artifacts import ArtifactStore
    from conveyor.governance.identity import Actor
    from conveyor.store.engine import MetadataStore
    from conveyor.store.uow import UnitOfWork

__all__ = ["Stores"]


@dataclass(frozen=True)
class Stores:
    """Both stores and who is acting; ``read()`` / ``write()`` open the transactions."""

    meta: MetadataStore
    artifacts: ArtifactStore
    actor: Actor

    def read(self) -> AbstractContextManager[sa.Connection]:
        """A read-only transaction."""
        return self.meta.read()

    def write(self) -> AbstractContextManager[UnitOfWork]:
        """A write transaction as the actor."""
        return self.meta.write(self.actor)

    def iter_blob(self, sha256: str) -> Iterator[bytes]:
        """The verified bytes of a stored blob."""
        return self.artifacts.iter_chunks(sha256)

    def download_blob(self, sha256: str, dest: Path) -> Path:
        """The verified blob written to ``dest`` atomically."""
        return self.artifacts.download(sha256, dest)
