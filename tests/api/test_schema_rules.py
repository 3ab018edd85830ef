"""The patterns in the OpenAPI document accept exactly what the services' checks accept."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from conveyor._schema import ENDPOINT_PATTERN, NAME_PATTERN, AliasName, Duration
from conveyor._util import check_name, parse_duration
from conveyor.deployments.service import check_endpoint
from conveyor.errors import ValidationFailed

# names are mostly built from the characters that matter, plus anything else
_PIECES = st.sampled_from(["a", "Z", "0", "9", "_", "-", ".", "/", " ", "..", "\n", "é", "*"])
NAMES = st.one_of(st.lists(_PIECES, max_size=12).map("".join), st.text(max_size=12))


def _accepts(check: object, value: str) -> bool:
    try:
        check(value)  # type: ignore[operator]
    except ValidationFailed:
        return False
    return True


def _pattern(alias: object) -> re.Pattern[str]:
    return re.compile(alias.__metadata__[0].keywords["pattern"])  # type: ignore[attr-defined]


@settings(max_examples=400, deadline=None)
@given(NAMES)
def test_name_pattern_is_check_name(value: str) -> None:
    assert bool(re.match(NAME_PATTERN, value)) == _accepts(lambda v: check_name(v, "x"), value)


@settings(max_examples=200, deadline=None)
@given(NAMES)
def test_endpoint_pattern_is_check_endpoint(value: str) -> None:
    assert bool(re.match(ENDPOINT_PATTERN, value)) == _accepts(check_endpoint, value)


@settings(max_examples=200, deadline=None)
@given(st.one_of(NAMES, st.sampled_from(["latest", "12", "champion", "a/b"])))
def test_alias_pattern_is_what_set_alias_takes(value: str) -> None:
    ok = _accepts(lambda v: check_name(v, "alias"), value)
    ok = ok and "/" not in value and value != "latest" and not value.isdigit()
    assert bool(_pattern(AliasName).match(value)) == ok


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.from_regex(r"\s?[0-9]{1,4}(\.[0-9]{1,2})?\s?(ms|s|min|m|h|d|w|MS|H)?", fullmatch=True),
        st.text(max_size=6),
    )
)
def test_duration_pattern_is_parse_duration(value: str) -> None:
    assert bool(_pattern(Duration).match(value)) == _accepts(parse_duration, value)
