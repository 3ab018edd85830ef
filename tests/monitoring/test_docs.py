"""docs/monitoring.md documents every built-in drift method and every drift_report option."""

from __future__ import annotations

import inspect
from pathlib import Path

from conveyor.monitoring import available_methods, drift_report, quality_report

DOC = Path(__file__).resolve().parents[2] / "docs" / "monitoring.md"


def test_every_method_and_option_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for names in available_methods().values():
        for name in names:
            if not name.startswith("test_"):
                assert f"`{name}`" in text, name
    for fn in (drift_report, quality_report):
        for param in inspect.signature(fn).parameters:
            if param not in ("reference", "current"):
                assert f"{param}=" in text, (fn.__name__, param)
