"""Parameter types that carry the rules a service enforces, for the generated OpenAPI.

A service declares ``name: ModelName`` instead of ``name: str``; mypy still sees ``str``.
The REST generator (``conveyor.api._operations``) copies the :class:`Rule` keywords into
the request schema, so clients and fuzzers know the contract. The service keeps checking
the value itself (``check_name``, ``check_endpoint`` ...): those checks give the precise
message, and they also guard the SDK's local path, where no schema is involved. Each
pattern here is written to accept exactly what its check accepts (tests compare them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

__all__ = [
    "END",
    "ENDPOINT_PATTERN",
    "INT64_MAX",
    "JSON_INT_MAX",
    "MAX_LIMIT",
    "NAME_PATTERN",
    "NUMBER",
    "SHA256_PATTERN",
    "AliasName",
    "DatasetVersionRef",
    "Duration",
    "EndpointName",
    "Limit",
    "Name",
    "NonEmpty",
    "NonNegativeInt",
    "PositiveInt",
    "Rule",
    "Sha256",
    "Tags",
    "VersionNumber",
    "VersionRef",
    "check_limit",
    "rule_of",
]

INT64_MAX = 2**63 - 1
# Integers in JSON bodies and queries stay within what parsers that read numbers as doubles
# (JavaScript, many schema tools) keep exact (RFC 7493); the store itself holds 64 bits.
JSON_INT_MAX = 2**53 - 1

# End of input. Not "$": in Python's re (which fuzzers use to generate values) "$" also
# matches before a final newline, in ECMA-262 (the JSON Schema dialect) it does not.
END = r"(?![\s\S])"
# check_name: 1-250 of [A-Za-z0-9_.-/ ], starting with a letter or digit, no surrounding
# whitespace, no empty, "." or ".." part between slashes.
_NAME_RULES = rf"(?![\s\S]*\s{END})(?![\s\S]*//)(?![\s\S]*/{END})(?![\s\S]*/\.{{1,2}}(?:/|{END}))"
_NAME_BODY = rf"[A-Za-z0-9][A-Za-z0-9_.\-/ ]{{0,249}}{END}"
# a name that is one URL path segment (aliases): no slash
_SEGMENT = rf"(?![\s\S]*\s{END})[A-Za-z0-9][A-Za-z0-9_.\- ]{{0,249}}{END}"
NAME_PATTERN = f"^{_NAME_RULES}{_NAME_BODY}"
# a version number as text: positive, and small enough for the store's 64-bit integers
NUMBER = "[1-9][0-9]{0,17}"
ENDPOINT_PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9._\-]{{0,127}}{END}"
SHA256_PATTERN = rf"^[0-9a-f]{{64}}{END}"


@dataclass(frozen=True, eq=False)  # hashed by identity: typing hashes Annotated metadata
class Rule:
    """JSON-schema keywords (``pattern``, ``minimum`` ...) describing a value.

    Pydantic adds them to the schema of any field typed with the alias (dataclass fields,
    wire types) without enforcing them: the service's own check answers, with its message.
    """

    keywords: Mapping[str, Any]

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> Any:
        schema = handler(core_schema)
        schema.update(self.keywords)
        return schema


Name = Annotated[str, Rule({"pattern": NAME_PATTERN, "minLength": 1, "maxLength": 250})]
"""A human name checked by ``check_name`` (experiments, models, datasets, tags ...)."""
AliasName = Annotated[
    str, Rule({"pattern": f"^(?!latest{END})(?![0-9]+{END}){_SEGMENT}", "maxLength": 250})
]
"""A model alias: a name without slashes that is neither ``latest`` nor a number (those
mean versions)."""
VersionNumber = Annotated[
    int | str, Rule({"pattern": f"^{NUMBER}{END}", "minimum": 1, "maximum": JSON_INT_MAX})
]
"""A version number, also as digits (path segments)."""
VersionRef = Annotated[
    str | int,
    Rule(
        {
            "pattern": f"^(?!0+{END})(?![0-9]{{19}}){_SEGMENT}",
            "maxLength": 250,
            "minimum": 1,
            "maximum": JSON_INT_MAX,
        }
    ),
]
"""A version by number, alias or ``latest``."""
DatasetVersionRef = Annotated[
    int | str | None,
    Rule({"pattern": f"^(latest|{NUMBER}){END}", "minimum": 1, "maximum": JSON_INT_MAX}),
]
"""A dataset version number, or ``latest`` (None: latest too)."""
NonEmpty = Annotated[str, Rule({"minLength": 1})]
Tags = Annotated[
    dict[str, str] | None,
    Rule(
        {
            "propertyNames": {"pattern": NAME_PATTERN, "maxLength": 250},
            "additionalProperties": {"type": "string", "maxLength": 6000},
        }
    ),
]
"""Tags (or params): names as ``check_name`` takes them, values of up to 6,000 characters."""
Duration = Annotated[
    str | float,
    Rule(
        {
            "pattern": r"^\s*\d+(?:\.\d+)?\s*"
            rf"(?:[mM][sS]|[sS]|[mM][iI][nN]|[mM]|[hH]|[dD]|[wW])?\s*{END}",
            "minimum": 0,
        }
    ),
]
"""A duration as ``parse_duration`` takes it: ``"90s"``, ``"15m"``, ``"7d"`` or seconds."""
NonNegativeInt = Annotated[int, Rule({"minimum": 0, "maximum": JSON_INT_MAX})]
MAX_LIMIT = 10_000
Limit = Annotated[int, Rule({"minimum": 1, "maximum": MAX_LIMIT})]
"""How many rows a listing returns (:func:`check_limit`)."""


def check_limit(value: object, what: str = "limit", maximum: int = MAX_LIMIT) -> int:
    """``value`` as a row count between 1 and ``maximum``, else ValidationFailed."""
    from conveyor.errors import ValidationFailed

    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise ValidationFailed(f"{what} must be an integer from 1 to {maximum}, got {value!r:.50}")
    return value


EndpointName = Annotated[str, Rule({"pattern": ENDPOINT_PATTERN, "maxLength": 128})]
Sha256 = Annotated[str, Rule({"pattern": SHA256_PATTERN})]
PositiveInt = Annotated[int, Rule({"minimum": 1, "maximum": JSON_INT_MAX})]


def rule_of(hint: Any) -> Rule | None:
    """The :class:`Rule` in an ``Annotated`` hint (also inside ``X | None``; for
    ``list[X]`` the rule of its items), else None."""
    import types
    import typing

    origin = typing.get_origin(hint)
    if origin is Annotated:
        return next((m for m in hint.__metadata__ if isinstance(m, Rule)), None)
    args = typing.get_args(hint)
    if origin is list and args:  # list[RoleName]: the rule is the items'
        inner = rule_of(args[0])
        return Rule({"items": dict(inner.keywords)}) if inner is not None else None
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            found = rule_of(arg)
            if found is not None:
                return found
    return None
