"""Object references for lineage: ``model:churn/3``, ``dataset:customers/2``, ``run:<id>`` …

:func:`parse_ref` turns what a user typed into a :class:`~conveyor.lineage.graph.Node`
(type and key), or says which forms are accepted.
"""

from __future__ import annotations

from conveyor.errors import ValidationFailed
from conveyor.lineage.graph import NODE_TYPES, Node

__all__ = ["ACCEPTED", "parse_ref"]

#: The accepted forms, as the error message lists them.
ACCEPTED = (
    "model:<name>/<version>",
    "dataset:<name>/<version>",
    "run:<run_id>",
    "pipeline-run:<run_id>",
    "prediction:<prediction_id>",
    "deployment:<endpoint>[/<revision>]",
    "rollout:<rollout_id>",
    "alert:<alert_id>",
    "trigger:<name>",
    "gate-report:<report_id>",
    "approval:<approval_id>",
    "commit:<sha>",
)

_TYPE_OF = {prefix: type_ for type_, prefix in NODE_TYPES.items()}
_VERSIONED = {"model_version", "dataset_version"}


def _bad(ref: str, why: str) -> ValidationFailed:
    return ValidationFailed(
        f"bad lineage reference {ref!r}: {why}; use one of: {', '.join(ACCEPTED)}",
        details={"ref": ref, "accepted": list(ACCEPTED)},
    )


def parse_ref(ref: str) -> Node:
    """The node ``ref`` names. ``deployment:<endpoint>`` without a revision keeps the key
    ``<endpoint>`` (the walk resolves it to the current revision)."""
    if not isinstance(ref, str) or ":" not in ref:
        raise _bad(str(ref), "expected <kind>:<identifier>")
    prefix, _, key = ref.partition(":")
    type_ = _TYPE_OF.get(prefix.strip().lower())
    key = key.strip()
    if type_ is None:
        raise _bad(ref, f"unknown kind {prefix!r}")
    if not key:
        raise _bad(ref, "the identifier after ':' is empty")
    if type_ in _VERSIONED:
        name, sep, version = key.rpartition("/")
        if not sep or not name or not version.isdigit():
            raise _bad(ref, f"{prefix}: needs <name>/<version> with a version number")
    if type_ == "deployment_revision" and key.startswith("/"):
        raise _bad(ref, "deployment: needs <endpoint>[/<revision>]")
    return Node(type_, key)
