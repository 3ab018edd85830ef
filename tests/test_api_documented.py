"""docs/api.md has a row for every operation of the table (method and path)."""

from __future__ import annotations

import re
from pathlib import Path

from conveyor.api._operations import operations
from conveyor.client import Client

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"
ROW = re.compile(r"^\| (GET|POST|PUT|PATCH|DELETE) \| `/api/v1([^`?]*)[^`]*` \|", re.M)


def test_every_operation_has_a_row_in_docs_api() -> None:
    rows = {(m, p) for m, p in ROW.findall(DOC.read_text(encoding="utf-8"))}
    assert rows, "no route rows found in docs/api.md"
    missing = []
    for op in operations(Client):
        path = re.sub(r"{(\w+)(:path)?}", r"{\1}", op.path)
        documented = {(m, re.sub(r"{(\w+)}", "{}", p)) for m, p in rows}
        if (op.method, re.sub(r"{(\w+)}", "{}", path)) not in documented:
            missing.append(f"{op.method} /api/v1{path} ({op.name})")
    assert not missing, "operations missing from docs/api.md:\n" + "\n".join(missing)
