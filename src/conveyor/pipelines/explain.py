"""Why a step was a cache hit or a miss: the cache key's parts, compared.

A key is made of five parts (``key_parts``): ``code`` (qualified function → source
digest, the step and every project function it reaches), ``constants`` (project module
constants it reads), ``params`` (JSON arguments), ``inputs`` (content hashes of data
arguments) and ``packages`` (distribution → version). A miss is explained against the
closest of the step's recent successful computations: each entry that differs is named.
"""

from __future__ import annotations

import json
from typing import Any

from conveyor._util import digest

__all__ = ["PARTS", "cache_key", "explain_rows", "miss_reason"]

PARTS = ("code", "constants", "params", "inputs", "packages")
_SHORT = 12


def cache_key(step_id: str, parts: dict[str, Any]) -> str:
    """sha256 of the step's identity and its key parts."""
    return digest({"step": step_id, **{p: parts[p] for p in PARTS}})


def _show(value: Any, part: str) -> str:
    text = json.dumps(value) if part == "params" else str(value)
    return text[:_SHORT] + "…" if len(text) > 40 else text


def _diff(part: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    out = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            out.append(f"{part} {key} added")
        elif key not in new:
            out.append(f"{part} {key} removed")
        elif old[key] != new[key]:
            if part == "code":
                out.append(f"source of {key} changed")
            else:
                out.append(
                    f"{part[:-1] if part.endswith('s') else part} {key} changed "
                    f"({_show(old[key], part)} → {_show(new[key], part)})"
                )
    return out


def _changes(previous: dict[str, Any], parts: dict[str, Any]) -> list[str]:
    changes: list[str] = []
    for part in PARTS:
        changes.extend(_diff(part, previous.get(part, {}), parts[part]))
    return changes


def miss_reason(previous: list[dict[str, Any]], parts: dict[str, Any]) -> str:
    """What changed, against the closest of the ``previous`` computations' key parts
    (newest first; the closest is the one with the fewest changed entries)."""
    if not previous:
        return "no earlier successful run of this step"
    changes = min((_changes(p, parts) for p in previous), key=len)
    if not changes:
        return "same key as an earlier computation whose outputs are not available"
    return "; ".join(changes)


def explain_rows(steps: list[Any]) -> list[dict[str, str]]:
    """The ``explain`` JSON: ``[{"step", "cache": "hit"|"miss", "reason"}]``."""
    return [
        {"step": s.name, "cache": "hit" if s.cache == "hit" else "miss", "reason": s.reason}
        for s in steps
    ]
