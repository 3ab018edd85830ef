"""Run search: parse ``metrics.auc > 0.8 and params.model = 'rf'`` and ``metrics.auc DESC``.

Grammar (case-insensitive keywords)::

    filter  := clause ("and" clause)*
    clause  := entity op value
    entity  := ("metrics" | "params" | "tags" | "attributes") "." key  |  attribute
    key     := identifier | `back quoted` | "double quoted"
    op      := = | != | > | >= | < | <= | like | ilike | in | not in
    value   := number | 'string' | "string" | ( value, ... )

Attributes: ``status``, ``run_name``/``name``, ``user``, ``start_time``, ``end_time``,
``run_id``/``id``, ``parent_run_id``. Metrics compare numerically; params and tags compare
as strings (``=``, ``!=``, ``like``, ``ilike``, ``in``, ``not in``).

Bounds (each a 400 ``LimitExceeded`` naming it, checked before any work is done): a
filter is at most ``MAX_FILTER_CHARS`` characters and ``MAX_CLAUSES`` clauses, an IN list
at most ``MAX_IN_VALUES`` values, and ``order_by`` at most ``MAX_ORDER_TERMS`` terms. The
grammar has no grouping, so nesting is bounded by construction: the only parentheses are
one level of IN list. Every clause is a sub-query, and planning cost grows faster than
linearly with their number (PostgreSQL: 50 clauses plan in ~0.5 s, 200 in ~13 s).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from conveyor.errors import LimitExceeded, ValidationFailed

__all__ = [
    "MAX_CLAUSES",
    "MAX_FILTER_CHARS",
    "MAX_IN_VALUES",
    "MAX_ORDER_TERMS",
    "Clause",
    "OrderKey",
    "parse_filter",
    "parse_order_by",
]

MAX_FILTER_CHARS = 16_384
MAX_CLAUSES = 50
MAX_IN_VALUES = 1_000
MAX_ORDER_TERMS = 10

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?))(?![\w.])
      | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<backtick>`[^`]*`)
      | (?P<op>!=|>=|<=|=|>|<)
      | (?P<punct>[(),.])
      | (?P<word>[A-Za-z_][\w\-/]*)
    )""",
    re.VERBOSE,
)

_ENTITIES = {
    "metrics": "metric",
    "metric": "metric",
    "params": "param",
    "param": "param",
    "parameters": "param",
    "tags": "tag",
    "tag": "tag",
    "attributes": "attribute",
    "attribute": "attribute",
    "attr": "attribute",
    "run": "attribute",
}
ATTRIBUTES = {
    "status": "status",
    "run_name": "name",
    "name": "name",
    "user": "user",
    "start_time": "start_time",
    "end_time": "end_time",
    "run_id": "id",
    "id": "id",
    "parent_run_id": "parent_run_id",
}
_NUMERIC_ATTRS = {"start_time", "end_time"}
_STRING_OPS = {"=", "!=", "like", "ilike", "in", "not in"}
_NUMERIC_OPS = {"=", "!=", ">", ">=", "<", "<="}


@dataclass(frozen=True)
class Clause:
    """One comparison: ``kind`` is metric, param, tag or attribute."""

    kind: str
    key: str
    op: str
    value: Any


@dataclass(frozen=True)
class OrderKey:
    """One ordering term."""

    kind: str
    key: str
    descending: bool


def _limit(what: str, limit: int, got: int, hint: str) -> LimitExceeded:
    return LimitExceeded(
        f"{what}: {got:,} is over the limit of {limit:,}; {hint}",
        details={"limit": what, "max": limit, "got": got},
    )


def _tokens(text: str, starts: list[int] | None = None) -> list[tuple[str, str]]:
    """The tokens of ``text``; their offsets in ``text`` are appended to ``starts``.

    Errors carry ``details["position"]``: the offset in ``text`` where parsing failed.
    """
    out: list[tuple[str, str]] = []
    lead = len(text) - len(text.lstrip())
    pos = lead
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ValidationFailed(
                f"cannot parse filter at position {pos - lead}: {text[pos : pos + 20]!r}. "
                "Example: metrics.auc > 0.8 and params.model = 'rf'",
                details={"position": len(text) - len(text[pos:].lstrip())},
            )
        kind = match.lastgroup or ""
        token = match.group(kind)
        if starts is not None:
            starts.append(pos + len(match.group(0)) - len(match.group(0).lstrip()))
        out.append((kind, token))
        pos = match.end()
    return out


def _unquote(raw: str) -> str:
    return raw[1:-1].replace("\\'", "'").replace('\\"', '"')


class _Parser:
    def __init__(self, text: str, what: str = "filter") -> None:
        self.text = text
        self.what = what
        self.starts: list[int] = []
        self.toks = _tokens(text, self.starts)
        self.i = 0

    def position(self) -> int:
        """The offset in the text of the next token (the end when none is left)."""
        return self.starts[self.i] if self.i < len(self.starts) else len(self.text.rstrip())

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise ValidationFailed(
                f"filter {self.text!r} ends too early", details={"position": self.position()}
            )
        self.i += 1
        return tok

    def fail(self, what: str) -> ValidationFailed:
        tok = self.peek()
        got = tok[1] if tok else "end of filter"
        return ValidationFailed(
            f"bad {self.what} {self.text!r}: expected {what}, got {got!r}",
            details={"position": self.position()},
        )

    def entity(self) -> tuple[str, str]:
        kind, word = self.take()
        if kind == "backtick":
            word = word[1:-1]
        elif kind not in ("word", "string"):
            self.i -= 1
            raise self.fail("metrics.<key>, params.<key>, tags.<key> or an attribute")
        elif kind == "string":
            word = _unquote(word)
        nxt = self.peek()
        if nxt == ("punct", ".") and word.lower() in _ENTITIES:
            self.i += 1
            kkind, key = self.take()
            if kkind == "backtick":
                key = key[1:-1]
            elif kkind == "string":
                key = _unquote(key)
            elif kkind != "word":
                raise self.fail("a key after '.'")
            while self.peek() == ("punct", ".") and self.i + 1 < len(self.toks):
                self.i += 1
                key += "." + self.take()[1]
            entity = _ENTITIES[word.lower()]
            if entity == "attribute":
                return "attribute", self._attribute(key)
            return entity, key
        return "attribute", self._attribute(word)

    def _attribute(self, name: str) -> str:
        attr = ATTRIBUTES.get(name.lower())
        if attr is None:
            raise ValidationFailed(
                f"unknown run attribute {name!r}; use one of {', '.join(sorted(ATTRIBUTES))}, "
                "or metrics.<key>, params.<key>, tags.<key>"
            )
        return attr

    def op(self) -> str:
        kind, word = self.take()
        if kind == "op":
            return word
        low = word.lower() if kind == "word" else ""
        if low in ("like", "ilike", "in"):
            return low
        if low == "not" and self.peek() and self.peek()[1].lower() == "in":  # type: ignore[index]
            self.i += 1
            return "not in"
        self.i -= 1
        raise self.fail("a comparison (=, !=, >, >=, <, <=, like, ilike, in, not in)")

    def scalar(self) -> Any:
        kind, word = self.take()
        if kind == "number":
            return float(word) if any(c in word for c in ".eE") else int(word)
        if kind == "string":
            return _unquote(word)
        self.i -= 1
        raise self.fail("a number or a quoted string")

    def value(self, op: str) -> Any:
        if op in ("in", "not in"):
            if self.take() != ("punct", "("):
                self.i -= 1
                raise self.fail("'(' after IN")
            items = [self.scalar()]
            while self.peek() == ("punct", ","):
                self.i += 1
                items.append(self.scalar())
                if len(items) > MAX_IN_VALUES:
                    raise _limit(
                        "values in an IN list",
                        MAX_IN_VALUES,
                        len(items),
                        "search in several pages of values",
                    )
            if self.take() != ("punct", ")"):
                self.i -= 1
                raise self.fail("')' closing the IN list")
            return items
        return self.scalar()


def _check(clause: Clause) -> Clause:
    numeric = clause.kind == "metric" or (
        clause.kind == "attribute" and clause.key in _NUMERIC_ATTRS
    )
    allowed = _NUMERIC_OPS if numeric else _STRING_OPS
    if clause.op not in allowed:
        raise ValidationFailed(
            f"operator {clause.op!r} is not supported for {clause.kind} {clause.key!r}; "
            f"use one of {', '.join(sorted(allowed))}"
        )
    if numeric and not isinstance(clause.value, int | float):
        raise ValidationFailed(
            f"{clause.kind} {clause.key!r} compares with a number, got {clause.value!r}"
        )
    if not numeric and clause.op not in ("in", "not in"):
        return Clause(clause.kind, clause.key, clause.op, str(clause.value))
    return clause


def parse_filter(text: str | None, *, dialect: type[_Parser] | None = None) -> list[Clause]:
    """Parse a filter string into clauses joined by AND; '' or None means no filter.

    ``dialect``: a subclass of the parser for a dialect of the grammar (MLflow's names its
    attributes differently: :mod:`conveyor.tracking.mlflow_filter`)."""
    if text is None or not text.strip():
        return []
    if not isinstance(text, str):
        raise ValidationFailed(f"filter must be a string, got {type(text).__name__}")
    if len(text) > MAX_FILTER_CHARS:
        raise _limit(
            "filter length in characters",
            MAX_FILTER_CHARS,
            len(text),
            "shorten the filter (an IN list replaces repeated clauses on one key)",
        )
    parser = (dialect or _Parser)(text)
    clauses: list[Clause] = []
    while True:
        if len(clauses) == MAX_CLAUSES:
            raise _limit(
                "clauses in a filter",
                MAX_CLAUSES,
                1
                + sum(1 for kind, word in parser.toks if kind == "word" and word.lower() == "and"),
                "combine clauses on one key with IN (...), or narrow with experiment_ids",
            )
        kind, key = parser.entity()
        op = parser.op()
        clauses.append(_check(Clause(kind, key, op, parser.value(op))))
        tok = parser.peek()
        if tok is None:
            return clauses
        if tok[0] == "word" and tok[1].lower() == "and":
            parser.i += 1
            continue
        if tok[0] == "word" and tok[1].lower() == "or":
            raise ValidationFailed(
                f"bad filter {text!r}: OR is not supported; run two searches, or use IN (...)"
            )
        raise parser.fail("'and' or the end of the filter")


def parse_order_by(
    items: list[str] | str | None, *, dialect: type[_Parser] | None = None
) -> list[OrderKey]:
    """Parse ``["metrics.auc DESC", "start_time"]`` into order keys."""
    if not items:
        return []
    if isinstance(items, str):
        items = [items]
    if len(items) > MAX_ORDER_TERMS:
        raise _limit("order_by terms", MAX_ORDER_TERMS, len(items), "order by fewer keys")
    keys: list[OrderKey] = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ValidationFailed(f"bad order_by term {item!r}: e.g. 'metrics.auc DESC'")
        text = item.strip()
        descending = False
        low = text.lower()
        if low.endswith(" desc"):
            descending, text = True, text[:-5].strip()
        elif low.endswith(" asc"):
            text = text[:-4].strip()
        parser = (dialect or _Parser)(text, "order_by term")
        kind, key = parser.entity()
        if parser.peek() is not None:
            raise parser.fail("ASC, DESC or the end of the term")
        keys.append(OrderKey(kind, key, descending))
    return keys
