"""The real ``conveyor`` executable in a subprocess, on a store seeded through the backend."""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.cli.conftest import Seeded

    RunExe = Callable[..., subprocess.CompletedProcess[str]]


def test_executable_search_json_and_table(seeded: Seeded, run_exe: RunExe) -> None:
    found = run_exe(
        "--json",
        "runs",
        "search",
        "--filter",
        "params.model = 'rf'",
        "--order-by",
        "metrics.auc ASC",
    )
    assert found.returncode == 0, found.stderr
    assert [r["id"] for r in json.loads(found.stdout)] == [seeded.run_ids[2], seeded.run_ids[0]]

    shown = run_exe("models", "show", "churn-model")
    assert shown.returncode == 0, shown.stderr
    assert "@champion" in shown.stdout and seeded.run_ids[0] in shown.stdout


def test_executable_errors_are_one_line(seeded: Seeded, run_exe: RunExe) -> None:
    bad = run_exe("runs", "search", "--filter", "metrics.auc >> 1")
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("Invalid input: bad filter")

    missing = run_exe("runs", "show", "feedface")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "Not found: run 'feedface' does not exist"


def test_executable_audit_verify(seeded: Seeded, run_exe: RunExe) -> None:
    result = run_exe("audit", "verify")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Audit chain intact:")
