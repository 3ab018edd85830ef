"""The Python snippet of docs/governance.md runs as written and prints what it says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "governance.md"


def test_the_python_snippet_runs(capsys: pytest.CaptureFixture[str]) -> None:
    text = DOC.read_text(encoding="utf-8")
    (snippet,) = re.findall(r"```python\n(.*?)```", text, re.S)
    exec(compile(snippet, str(DOC), "exec"), {})
    assert capsys.readouterr().out.split("\n")[:3] == [
        "models:write",
        "approval_required",
        "['champion']",
    ]
