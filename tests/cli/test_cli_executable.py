"""The real ``conveyor`` executable in a subprocess, on a store seeded through the backend."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.cli.conftest import Seeded


def conveyor(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("conveyor", path=str(Path(sys.executable).parent))
    command = [exe] if exe else [sys.executable, "-m", "conveyor.cli.main"]
    return subprocess.run(
        [*command, *args], env=os.environ, capture_output=True, text=True, timeout=120
    )


def test_executable_search_json_and_table(seeded: Seeded) -> None:
    found = conveyor(
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

    shown = conveyor("models", "show", "churn-model")
    assert shown.returncode == 0, shown.stderr
    assert "@champion" in shown.stdout and seeded.run_ids[0] in shown.stdout


def test_executable_errors_are_one_line(seeded: Seeded) -> None:
    bad = conveyor("runs", "search", "--filter", "metrics.auc >> 1")
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("Invalid input: bad filter")

    missing = conveyor("runs", "show", "feedface")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "Not found: run 'feedface' does not exist"


def test_executable_audit_verify(seeded: Seeded) -> None:
    result = conveyor("audit", "verify")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Audit chain intact:")
