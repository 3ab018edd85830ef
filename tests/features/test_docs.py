"""docs/features.md runs as written: its Python blocks in order (``# defs.py`` is written
to that file) and its ``$ conveyor`` lines through the CLI."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from typer.testing import CliRunner

from conveyor.cli.main import app

DOC = Path(__file__).resolve().parents[2] / "docs" / "features.md"
BLOCK = re.compile(r"```(python|console)\n(.*?)```", re.S)


def test_the_worked_example_runs_as_written(tmp_path: Path) -> None:
    runner = CliRunner()
    namespace: dict[str, object] = {"__name__": "docs_features"}
    for kind, code in BLOCK.findall(DOC.read_text(encoding="utf-8")):
        if kind == "python" and code.startswith("# defs.py"):
            (tmp_path / "defs.py").write_text(code)
        elif kind == "python":
            exec(compile(code, str(DOC), "exec"), namespace)
        else:
            for line in code.splitlines():
                if line.startswith("$ conveyor "):
                    result = runner.invoke(app, shlex.split(line[len("$ conveyor ") :]))
                    assert result.exit_code == 0, (line, result.output)
    frame = namespace["frame"]
    assert {"orders_7d", "spend_7d", "spend_per_order", "churned"} <= set(frame.columns)  # type: ignore[attr-defined]
