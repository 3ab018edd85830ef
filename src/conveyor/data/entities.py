"""Dataset records returned by the data services, the SDK and the API."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from conveyor._util import to_iso
from conveyor.data.checks import CheckReport
from conveyor.data.profile import Profile

__all__ = ["Dataset", "DatasetVersion", "RunInput"]


@dataclass(frozen=True)
class Dataset:
    """A named dataset in a project; its versions are immutable."""

    id: str
    project_id: str
    name: str
    description: str
    latest_version: int
    created_at: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DatasetVersion:
    """One immutable version of a dataset, addressed by the sha256 of its logical content.

    ``sha256`` is the content hash (``conveyor.data.frames.content_hash``);
    ``file_sha256`` is the artifact-store address of its Parquet file (``num_bytes``
    long). ``checks`` is the stored check report (``CheckReport.to_dict()``) or None.
    """

    id: str
    dataset_id: str
    project_id: str
    name: str
    version: int
    sha256: str
    file_sha256: str
    num_rows: int
    num_bytes: int
    schema: list[dict[str, Any]]
    profile: dict[str, Any]
    checks: dict[str, Any] | None
    source: str
    description: str
    created_by: str
    created_at: int

    @property
    def uri(self) -> str:
        return f"datasets:/{self.name}/{self.version}"

    @property
    def checks_passed(self) -> bool | None:
        """True/False from the stored check report; None when no checks ran."""
        return None if self.checks is None else bool(self.checks.get("passed"))

    def check_report(self) -> CheckReport | None:
        return None if self.checks is None else CheckReport.from_dict(self.checks)

    def profile_object(self) -> Profile:
        """The stored profile as a mergeable ``Profile``."""
        return Profile.from_dict(self.profile)

    def to_dict(self, *, include_profile: bool = True) -> dict[str, Any]:
        data = asdict(self)
        data["uri"] = self.uri
        data["created_at_iso"] = to_iso(self.created_at)
        if not include_profile:
            data.pop("profile")
        return data


@dataclass(frozen=True)
class RunInput:
    """A dataset version used by a run (``context``: training, validation, test ...)."""

    run_id: str
    dataset_version_id: str
    context: str
    created_at: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
