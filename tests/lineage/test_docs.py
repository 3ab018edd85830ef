"""The Python snippets of docs/lineage.md and docs/model-cards.md run as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from conveyor.lineage import providers

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'meta.db'}"


@pytest.mark.parametrize("page", ["lineage.md", "model-cards.md"])
def test_snippets_run(
    looped: Any, page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = looped.get_model_version("churn", 1)
    for _ in range(2):  # churn/3, as the pages name it
        looped.register_model(model_uri=first.source, name="churn")
    looped.run_gates("churn", 3)
    monkeypatch.chdir(tmp_path)
    before = dict(providers.SECTIONS), list(providers.APPROVAL_LOOKUP)
    namespace: dict[str, Any] = {}
    try:
        blocks = BLOCK.findall((DOCS / page).read_text(encoding="utf-8"))
        assert blocks
        for block in blocks:
            exec(compile(block, page, "exec"), namespace)
    finally:
        providers.SECTIONS.update(before[0])
        providers.APPROVAL_LOOKUP[:] = before[1]
    if page == "lineage.md":
        assert namespace["svg"].startswith("<svg") and namespace["datasets"]
    else:
        assert (tmp_path / "card.html").exists() and (tmp_path / "bundle.zip").exists()
