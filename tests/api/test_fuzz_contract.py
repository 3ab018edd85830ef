"""The REST API keeps its OpenAPI contract: schemathesis, every default check, every operation.

Runs the stock ``st`` CLI against a real server on loopback with a fixed seed (the same
inputs every run, so a failure reproduces with the command it prints) and the config in
``tests/api/schemathesis.toml``. ``CONVEYOR_FUZZ_EXAMPLES`` raises the examples per
operation for a longer hunt (the default keeps the test well under two minutes).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.server, pytest.mark.slow]

CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.fixture
def server(api_server: tuple[str, Any]) -> Iterator[str]:
    url, _backend = api_server
    yield url


def test_every_operation_keeps_the_contract(server: str, tmp_path: Path) -> None:
    st = Path(sys.executable).with_name("st")
    examples = os.environ.get("CONVEYOR_FUZZ_EXAMPLES", "8")
    command = [
        str(st), "--no-color", "--config-file", str(CONFIG), "run",
        f"{server}/api/v1/openapi.json",
        "--max-examples", examples, "--seed", "20261204", "--workers", "1",
        "--report", "junit", "--report-dir", str(tmp_path),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    summary = done.stdout[done.stdout.find("FAILURES") :] if "FAILURES" in done.stdout else ""
    assert done.returncode == 0, (summary or done.stdout[-6000:]) + done.stderr[-2000:]
