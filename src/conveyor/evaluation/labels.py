"""How labels compare: one class per value across JSON types, and a total order for sorting."""

from __future__ import annotations

from typing import Any

__all__ = ["label_key", "label_sort_key", "plain_value"]


def label_sort_key(v: Any) -> tuple[str, Any]:
    """A sort key that orders numbers first, then values grouped by type name."""
    return (type(v).__name__ if not isinstance(v, int | float) else "0num", v)


def label_key(v: Any) -> Any:
    """Labels compare across JSON types: 1, 1.0 and True are one class."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def plain_value(v: Any) -> Any:
    """A numpy scalar as the Python value (anything else unchanged)."""
    return v.item() if hasattr(v, "item") else v
