"""Schemas as plain JSON: ``[{"name", "type", "nullable", "arrow_type"}]``, and their diff.

Logical ``type`` is one of: ``double`` (floats), ``long`` (signed and unsigned integers),
``decimal``, ``boolean``, ``string``, ``binary``, ``category`` (dictionary-encoded, e.g.
pandas ``Categorical``), ``datetime`` (timestamps), ``date``, ``time``, ``duration``,
``list``, ``struct``, ``map``, ``null`` or ``other``. ``arrow_type`` keeps the exact
Arrow type text for humans; comparisons use the logical type only, so ``int32`` ->
``int64`` or ``string`` -> ``large_string`` is not a change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa

from conveyor.errors import ValidationFailed

__all__ = ["SchemaDiff", "compare_schemas", "infer_schema", "logical_type"]

_PREDICATES: tuple[tuple[str, Any], ...] = (
    ("category", pa.types.is_dictionary),
    ("boolean", pa.types.is_boolean),
    ("long", pa.types.is_integer),
    ("double", pa.types.is_floating),
    ("decimal", pa.types.is_decimal),
    (
        "string",
        lambda t: (
            pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)
        ),
    ),
    (
        "binary",
        lambda t: (
            pa.types.is_binary(t)
            or pa.types.is_large_binary(t)
            or pa.types.is_binary_view(t)
            or pa.types.is_fixed_size_binary(t)
        ),
    ),
    ("datetime", pa.types.is_timestamp),
    ("date", pa.types.is_date),
    ("time", pa.types.is_time),
    ("duration", pa.types.is_duration),
    ("map", pa.types.is_map),
    (
        "list",
        lambda t: (
            pa.types.is_list(t)
            or pa.types.is_large_list(t)
            or pa.types.is_fixed_size_list(t)
            or pa.types.is_list_view(t)
            or pa.types.is_large_list_view(t)
        ),
    ),
    ("struct", pa.types.is_struct),
    ("null", pa.types.is_null),
)


def logical_type(dtype: pa.DataType) -> str:
    """The logical type name of an Arrow type (see the module docstring)."""
    for name, predicate in _PREDICATES:
        if predicate(dtype):
            return name
    return "other"


def infer_schema(table: pa.Table | pa.Schema) -> list[dict[str, Any]]:
    """The JSON schema of a table: one ``{name, type, nullable, arrow_type}`` per column."""
    schema = table if isinstance(table, pa.Schema) else table.schema
    return [
        {
            "name": f.name,
            "type": logical_type(f.type),
            "nullable": bool(f.nullable),
            "arrow_type": str(f.type),
        }
        for f in schema
    ]


@dataclass(frozen=True)
class SchemaDiff:
    """How ``actual`` differs from ``expected``: missing, extra and retyped columns."""

    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    type_changed: list[dict[str, str]] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        """No missing, extra or retyped column."""
        return not (self.missing or self.extra or self.type_changed)

    @property
    def compatible(self) -> bool:
        """Nothing missing or retyped (extra columns allowed)."""
        return not (self.missing or self.type_changed)

    def describe(self) -> str:
        parts = []
        if self.missing:
            parts.append(f"missing columns {self.missing}")
        if self.extra:
            parts.append(f"extra columns {self.extra}")
        for change in self.type_changed:
            parts.append(
                f"column {change['name']!r} is {change['actual']}, expected {change['expected']}"
            )
        return "; ".join(parts) or "schemas match"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _as_entries(schema: Any, what: str) -> list[dict[str, Any]]:
    if isinstance(schema, pa.Schema | pa.Table):
        return infer_schema(schema)
    if not isinstance(schema, Sequence) or isinstance(schema, str):
        raise ValidationFailed(f"{what} schema must be a list of {{name, type}} entries")
    entries = []
    for item in schema:
        if not isinstance(item, dict) or "name" not in item or "type" not in item:
            raise ValidationFailed(f"{what} schema entry {item!r} needs 'name' and 'type' keys")
        entries.append(item)
    return entries


def compare_schemas(expected: Any, actual: Any) -> SchemaDiff:
    """Compare two schemas (JSON lists as from ``infer_schema``, or Arrow schemas/tables)."""
    exp = {e["name"]: e for e in _as_entries(expected, "expected")}
    act = {e["name"]: e for e in _as_entries(actual, "actual")}
    return SchemaDiff(
        missing=[n for n in exp if n not in act],
        extra=[n for n in act if n not in exp],
        type_changed=[
            {"name": n, "expected": str(exp[n]["type"]), "actual": str(act[n]["type"])}
            for n in exp
            if n in act and exp[n]["type"] != act[n]["type"]
        ],
    )
