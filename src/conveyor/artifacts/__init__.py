"""Content-addressed artifact storage on a local folder or any fsspec URL."""

from conveyor.artifacts.store import ArtifactStore, BlobInfo

__all__ = ["ArtifactStore", "BlobInfo"]
