"""Validation gates: versioned policies per model, pluggable checks, stored gate reports,
and enforcement on protected aliases and deployments' primary routes.

See docs/gates.md. Service functions are in :mod:`conveyor.gates.service`;
:func:`run_gates` scores a version and stores its :class:`GateReport`.
"""

from conveyor.gates._registry import Check, available_checks, get_check, register_check
from conveyor.gates.context import GateContext, Scored
from conveyor.gates.policy import CheckSpec, Policy, PolicyError, parse_policy
from conveyor.gates.report import CheckOutcome, CheckResult, GateReport, render_html, render_table
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
