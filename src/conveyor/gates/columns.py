"""Which evaluation-dataset columns a policy relies on: the label and each check's columns."""

from __future__ import annotations

from collections.abc import Sequence

from conveyor.gates.policy import Policy, PolicyError

__all__ = ["LABEL_NAMES", "label_column", "policy_columns"]

LABEL_NAMES = ("label", "target", "y")


def label_column(
    declared: str | None, columns: Sequence[str], inputs: Sequence[str], where: str
) -> str:
    """The label column: ``declared``, else ``label``/``target``/``y``, else the one column
    that is not a model input. PolicyError says how to declare it otherwise."""
    if declared is not None:
        if declared not in columns:
            raise PolicyError(
                f"label: column {declared!r} is not in {where} (columns: {', '.join(columns)})",
                details={"path": "label", "column": declared},
            )
        return declared
    for name in LABEL_NAMES:
        if name in columns:
            return name
    rest = [c for c in columns if c not in inputs] if inputs else []
    if len(rest) == 1:
        return rest[0]
    raise PolicyError(
        f"label: cannot tell which column of {where} holds the labels; add `label: <column>` "
        f"to the policy (columns: {', '.join(columns)})",
        details={"path": "label"},
    )


def policy_columns(policy: Policy) -> list[tuple[str, str]]:
    """``(key path, column)`` for every column the policy's checks name."""
    from conveyor.gates._registry import get_check

    out = []
    for i, spec in enumerate(policy.checks):
        for path, column in get_check(spec.kind).columns(spec.params):
            out.append((f"checks[{i}].{spec.kind}.{path}", column))
    return out
