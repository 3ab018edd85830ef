"""SDK: ``conveyor.run_gates("churn/4")`` and the policy calls, on either transport."""

from __future__ import annotations

from typing import Any

from conveyor.errors import ValidationFailed
from conveyor.gates.report import GateReport
from conveyor.gates.service import StoredPolicy

__all__ = ["get_gate_policy", "parse_model_version", "run_gates", "set_gate_policy"]


def parse_model_version(ref: str, version: int | str | None = None) -> tuple[str, int | str]:
    """``("churn", 4)`` from ``"churn/4"`` or from ``("churn", 4)``."""
    if version is not None:
        return ref, version
    name, sep, number = ref.rpartition("/")
    if not sep or not name or not number:
        raise ValidationFailed(
            f"expected <model>/<version> (e.g. churn/4), got {ref!r}", details={"ref": ref}
        )
    return name, number


def run_gates(model: str, version: int | str | None = None) -> GateReport:
    """Run ``model``'s gate policy on a version (``"churn/4"`` or ``("churn", 4)``); the
    stored :class:`~conveyor.gates.GateReport`. Conveyor scores the version itself."""
    import conveyor

    name, number = parse_model_version(model, version)
    report: GateReport = conveyor.connect().run_gates(name, number)
    return report


def set_gate_policy(model: str, policy: str | dict[str, Any], *, source: str = "policy") -> Any:
    """Attach a gate policy (YAML text or a dict) to ``model`` as its next policy version."""
    import conveyor

    stored: StoredPolicy = conveyor.connect().set_gate_policy(model, policy, source=source)
    return stored


def get_gate_policy(model: str, version: int | None = None) -> StoredPolicy:
    """The model's current gate policy (or policy ``version``)."""
    import conveyor

    stored: StoredPolicy = conveyor.connect().get_gate_policy(model, version)
    return stored
