"""docs/cli.md documents every command with an example."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from conveyor.cli.main import app

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def _paths(command: Any, prefix: str) -> list[str]:
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        return [prefix]
    out = []
    for name, sub in subcommands.items():
        if not getattr(sub, "hidden", False):  # deprecated spellings are not documented
            out += _paths(sub, f"{prefix} {name}")
    return out


def test_every_command_has_an_example_in_the_docs() -> None:
    text = DOCS.read_text(encoding="utf-8")
    paths = _paths(typer.main.get_command(app), "conveyor")
    assert "conveyor runs search" in paths and "conveyor version" in paths
    examples: list[str] = []
    for line in text.splitlines():
        if line.startswith("$ conveyor "):
            # "$ conveyor deployments list | show x" documents "conveyor deployments show" too
            first, *more = line[2:].split(" | ")
            group = first.split()[:2]
            examples += [first, *(" ".join(group + m.split()) for m in more)]
    missing = [p for p in paths if not any(f"{e} ".startswith(f"{p} ") for e in examples)]
    assert not missing, f"commands without an example in {DOCS}: {missing}"
