"""Validation gates: versioned policies per model, pluggable checks, stored gate reports,
and enforcement on protected aliases and deployments' primary routes.

See docs/gates.md. Service functions are in :mod:`conveyor.gates.service`;
:func:`run_gates` scores a version and stores its :class:`GateReport`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conveyor._lazy import lazy_getattr

# Names load on first use: the operation table imports gates, and the CLI must not pay
# for pandas/pyarrow (the evaluation context) when it never runs a gate.
_LAZY = {
    **dict.fromkeys(
        ["Check", "available_checks", "get_check", "register_check"], "conveyor.gates._registry"
    ),
    **dict.fromkeys(["GateContext", "Scored"], "conveyor.gates.context"),
    **dict.fromkeys(
        ["CheckSpec", "Policy", "PolicyError", "parse_policy"], "conveyor.gates.policy"
    ),
    **dict.fromkeys(
        ["CheckOutcome", "CheckResult", "GateReport", "render_html", "render_table"],
        "conveyor.gates.report",
    ),
    "run_gates": "conveyor.gates.runner",
    "require_passing": "conveyor.gates.service",
}
__getattr__ = lazy_getattr(__name__, _LAZY)

if TYPE_CHECKING:
    from conveyor.gates._registry import Check, available_checks, get_check, register_check
    from conveyor.gates.context import GateContext, Scored
    from conveyor.gates.policy import CheckSpec, Policy, PolicyError, parse_policy
    from conveyor.gates.report import (
        CheckOutcome,
        CheckResult,
        GateReport,
        render_html,
        render_table,
    )
    from conveyor.gates.runner import run_gates
    from conveyor.gates.service import require_passing

__all__ = [
    "Check",
    "CheckOutcome",
    "CheckResult",
    "CheckSpec",
    "GateContext",
    "GateReport",
    "Policy",
    "PolicyError",
    "Scored",
    "available_checks",
    "get_check",
    "parse_policy",
    "register_check",
    "render_html",
    "render_table",
    "require_passing",
    "run_gates",
]
