"""Rendering shared by every command: JSON for scripts, rich tables for people.

``state`` holds the global options (``--json``, ``--debug``) set by the root callback;
commands take their own ``--json`` too, so both ``conveyor --json runs list`` and
``conveyor runs list --json`` work.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from conveyor._util import to_iso
from conveyor.tracking.entities import encode_float

__all__ = [
    "JsonOption",
    "ReasonOpt",
    "compact",
    "console",
    "debug_enabled",
    "emit",
    "err_console",
    "fmt_float",
    "fmt_time",
    "jsonable",
    "kv_table",
    "print_json",
    "state",
    "table",
]


@dataclass
class _State:
    json: bool = False
    debug: bool = False


state = _State()

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON on stdout instead of a table.")
]

#: ``--reason``: why an operator intervenes (required by rollback, rollout pause/abort/promote).
ReasonOpt = Annotated[
    str, typer.Option("--reason", help="Why you intervene (required; recorded in the audit).")
]

_WIDE = 200  # when stdout is not a terminal, do not squeeze ids into 80 columns


def console() -> Console:
    """A console on the current stdout (created per call: tests swap sys.stdout)."""
    return Console(width=None if sys.stdout.isatty() else _WIDE, highlight=False)


def err_console() -> Console:
    return Console(stderr=True, width=None if sys.stderr.isatty() else _WIDE, highlight=False)


def jsonable(value: Any) -> Any:
    """``value`` with NaN/±inf as the strings "NaN"/"Infinity"/"-Infinity", objects as dicts."""
    if isinstance(value, float):
        return encode_float(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return jsonable(to_dict())
    return value


def print_json(data: Any) -> None:
    typer.echo(json.dumps(jsonable(data), indent=2, allow_nan=False, default=str))


def emit(data: Any, render: Callable[[], None], as_json: bool) -> None:
    """JSON when asked (per command or globally), else the rich rendering."""
    if as_json or state.json:
        print_json(data)
    else:
        render()


def fmt_time(ms: int | None) -> str:
    """Epoch milliseconds as 'YYYY-MM-DD HH:MM:SS' UTC ('' for None)."""
    return to_iso(ms)[:19].replace("T", " ")


def fmt_float(value: Any) -> str:
    """A table cell: floats to 6 significant digits, NaN/±inf spelled as in JSON."""
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(encode_float(value))
    return "" if value is None else str(value)


def compact(items: Mapping[str, Any], limit: int = 4) -> str:
    """'a=1, b=2, … (+3)': a few key/value pairs for one table cell."""
    parts = [f"{k}={fmt_float(v)}" for k, v in list(items.items())[:limit]]
    if len(items) > limit:
        parts.append(f"… (+{len(items) - limit})")
    return ", ".join(parts)


def table(title: str | None, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> Table:
    """A rich table; every cell rendered as plain text (no markup interpretation)."""
    out = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        out.add_column(column, overflow="fold")
    for row in rows:
        out.add_row(*(_cell(c) for c in row))
    return out


def kv_table(title: str | None, items: Mapping[str, Any]) -> Table:
    """A two-column field/value table."""
    out = Table(title=title, title_justify="left", show_header=False)
    out.add_column("field", style="bold")
    out.add_column("value", overflow="fold")
    for key, value in items.items():
        out.add_row(key, _cell(value))
    return out


def _cell(value: Any) -> Any:
    from rich.text import Text

    if isinstance(value, Table | Text):
        return value
    if isinstance(value, dict):
        value = compact(value, limit=len(value)) if value else ""
    elif isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    return Text(fmt_float(value))


def debug_enabled() -> bool:
    return state.debug or os.environ.get("CONVEYOR_DEBUG", "").strip().lower() in {
        "1",
        "true",
        "yes",
        "on",
    }
